// -t opencl-host: a planned dma-level module as a C++ host program (OpenCL C API) beside
// its canopy-artifact. The step list is baked into host.cpp: constants written into the
// pool once, then host ops, copies, launches and waits in program order.
// RUN: rm -rf %t && canopy-opt %s -t opencl-host -o %t
// RUN: filecheck %s < %t/host.cpp
// RUN: ls %t | filecheck %s --check-prefix=FILES
// RUN: ls %t/artifact | filecheck %s --check-prefix=ARTIFACT
// A host op the C++ runtime lacks is an error naming it; nothing is written.
// RUN: sed 's/graph.relu/graph.sigmoid/' %s > %t.bad.mlir
// RUN: rm -rf %t.out && not canopy-opt %t.bad.mlir -t opencl-host -o %t.out 2>&1 | filecheck %s --check-prefix=BAD-OP
// RUN: not ls %t.out/host.cpp
// It writes a directory, never a stream.
// RUN: not canopy-opt %s -t opencl-host 2>&1 | filecheck %s --check-prefix=NO-DIR

// CHECK:      // host.cpp: @main for config 'tiny', emitted by canopy-opt -t opencl-host.
// CHECK:      static const size_t kPoolBytes = 128;
// CHECK:      static const char *kKernelOptions = "-DVTA_BATCH=1 -DVTA_BLOCK_IN=4 -DVTA_BLOCK_OUT=4
// CHECK:      canopy::parse_arguments(argc, argv, {"x"}, {"y"});
// CHECK:      card.write_file(0, args.artifact + "/c000_instructions.bin", 32, "{{[0-9a-f]+}}");  // %insns
// CHECK-NEXT: card.write_file(32, args.artifact + "/c001_uops.bin", 4, "{{[0-9a-f]+}}");  // %u
// CHECK-NEXT: const auto [[S:v[0-9]+]] = canopy::tensor_from_bytes<float>({}, k_[[S]], sizeof(k_[[S]]));  // %s
// CHECK-NEXT: const auto [[Z:v[0-9]+]] = canopy::tensor_from_bytes<int8_t>({}, k_[[Z]], sizeof(k_[[Z]]));  // %z
// CHECK:      auto infer = [&](const canopy::Tensor<float> &[[X:v0]]) -> std::tuple<canopy::Tensor<float>> {
// CHECK:        const auto [[R:v[0-9]+]] = canopy::relu([[X]]);
// CHECK:        const auto [[Q:v[0-9]+]] = canopy::quantize_linear<float, int8_t>([[R]], [[S]], &[[Z]], 0);
// CHECK:        const auto [[P:v[0-9]+]] = canopy::pack({{v[0-9]+}}, {1, 1, 1, 1, 1, 4});
// CHECK:        card.write_tensor(64 + 0, [[P]]);
// CHECK:        cl_event [[T:v[0-9]+]] = card.launch(0, 2);
// CHECK:        card.wait([[T]]);
// CHECK:        const auto [[H:v[0-9]+]] = card.read_tensor<int8_t>(64 + 0, {1, 1, 1, 1, 1, 4});
// CHECK:        const auto [[U:v[0-9]+]] = canopy::unpack([[H]], {1, 3, 1, 1});
// CHECK:        const auto [[Y:v[0-9]+]] = canopy::dequantize_linear<int8_t>({{v[0-9]+}}, [[S]], &[[Z]], 0);
// CHECK:        return {[[Y]]};

// FILES:      artifact
// FILES-NEXT: build.sh
// FILES-NEXT: canopy_host.hpp
// FILES-NEXT: host.cpp
// FILES-NEXT: vta_core.cl
// ARTIFACT:   c000_instructions.bin
// ARTIFACT:   manifest.json

// BAD-OP: canopy-opt: error: opencl-host: host op 'graph.sigmoid' (result %r) in @main is not supported by the C++ runtime (supported: graph.add, graph.constant, graph.conv_integer, graph.dequantize_linear, graph.flatten, graph.max_pool, graph.pad, graph.quantize_linear, graph.relu, graph.requantize, graph.reshape, tile.alu, tile.conv, tile.pack, tile.pool, tile.unpack); use -t canopy-artifact and the Python runtime
// NO-DIR: canopy-opt: error: target 'opencl-host' writes a directory; give -o DIR

builtin.module attributes {tile.config = "tiny"} {
  func.func @main(%x: tensor<1x3xf32> {onnx.name = "x"}) -> (tensor<1x3xf32> {onnx.name = "y"}) attributes {dma.pool_bytes = 128 : i64} {
    %insns = dma.constant instructions align 16 offset 0 dense<0> : tensor<32xui8> -> !dma.buffer<32>
    %u = dma.constant uops align 4 offset 32 dense<0> : tensor<4xui8> -> !dma.buffer<4>
    %s = graph.constant dense<"0x0000003F"> : tensor<f32>
    %z = graph.constant dense<"0x00"> : tensor<i8>
    %r = graph.relu %x : (tensor<1x3xf32>) -> tensor<1x3xf32>
    %q = graph.quantize_linear %r, %s, %z : (tensor<1x3xf32>, tensor<f32>, tensor<i8>) -> tensor<1x3xi8>
    %q4 = graph.reshape %q {shape = [1, 3, 1, 1]} : (tensor<1x3xi8>) -> tensor<1x3x1x1xi8>
    %p = tile.pack %q4 : tensor<1x3x1x1xi8> -> !tile.act<1x1x1x1x1x4xi8, n = 1, c = 3>
    %a = dma.alloc activation align 16 offset 64 : !dma.buffer<16>
    dma.copy_to_card %p, %a : !tile.act<1x1x1x1x1x4xi8, n = 1, c = 3> -> !dma.buffer<16>
    %t = dma.launch %insns[0, 2] uops %u : !dma.buffer<32>, !dma.buffer<4> writes(%a : !dma.buffer<16>)
    dma.wait %t
    %h = dma.copy_to_host %a : !dma.buffer<16> -> !tile.act<1x1x1x1x1x4xi8, n = 1, c = 3>
    %o = tile.unpack %h : !tile.act<1x1x1x1x1x4xi8, n = 1, c = 3> -> tensor<1x3x1x1xi8>
    %o2 = graph.reshape %o {shape = [1, 3]} : (tensor<1x3x1x1xi8>) -> tensor<1x3xi8>
    %y = graph.dequantize_linear %o2, %s, %z : (tensor<1x3xi8>, tensor<f32>, tensor<i8>) -> tensor<1x3xf32>
    func.return %y : tensor<1x3xf32>
  }
}
