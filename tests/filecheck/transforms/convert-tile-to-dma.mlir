// convert-tile-to-dma: tile-level functions down to planned dma-level functions with
// encoded programs (docs/convert-tile-to-dma.md).
// RUN: canopy-opt %s -p convert-tile-to-dma --mlir-elide-elementsattrs-if-larger=16 | filecheck %s
// A later dma-plan-memory recomputes the same offsets (the programs stay valid).
// RUN: canopy-opt %s -p convert-tile-to-dma,dma-plan-memory --mlir-elide-elementsattrs-if-larger=16 | filecheck %s
// RUN: canopy-opt %s -p convert-tile-to-dma --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS
// RUN: not canopy-opt %s -p 'convert-tile-to-dma{card-memory=100}' 2>&1 | filecheck %s --check-prefix=BUDGET
// From ONNX: canopy-to-tile then this pass, on the QDQ small CNN.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/../tools/Inputs/make_small_cnn.py %t/float.onnx %t/qdq.onnx
// RUN: canopy-opt -f onnx %t/qdq.onnx -p 'canopy-to-tile{config="tiny"},convert-tile-to-dma' --mlir-elide-elementsattrs-if-larger=4 | filecheck %s --check-prefix=CNN

// A conv whose result feeds a card ALU op (no copy between them) and the host (one copy
// back). Constants (weights, the bias in its per-channel layout, the two programs) come
// first, then the input's copy, the launches and the copies back.
// CHECK:      builtin.module attributes {tile.config = "tiny"}
// CHECK-LABEL: func.func @chain
// CHECK-SAME:   dma.pool_bytes = {{[0-9]+}} : i64
// CHECK-NEXT:   %weights = dma.constant weights align 16 offset 0 dense<"0xF8F9FAFBFCFDFEFF0001020304050607"> : tensor<1x1x1x1x4x4xi8> -> !dma.buffer<16>
// CHECK-NEXT:   %vector = dma.constant data align 16 offset 16 dense<"0x01000000020000000300000004000000"> : tensor<1x1x1x1x1x4xi32> -> !dma.buffer<16>
// CHECK-NEXT:   %c_uops = dma.constant uops align 4 offset 32
// CHECK-NEXT:   %c_insns = dma.constant instructions align 16 offset {{[0-9]+}} {{.*}} -> !dma.buffer<[[CN:[0-9]+]]>
// CHECK-NEXT:   %a_uops = dma.constant uops align 4
// CHECK-NEXT:   %a_insns = dma.constant instructions align 16
// CHECK-NEXT:   %p = tile.pack %x
// CHECK-NEXT:   %p_card = dma.alloc activation align 16 offset {{[0-9]+}} : !dma.buffer<64>
// CHECK-NEXT:   dma.copy_to_card %p, %p_card : !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4> -> !dma.buffer<64>
// CHECK-NEXT:   %c = dma.alloc activation align 16 offset {{[0-9]+}} : !dma.buffer<64>
// CHECK-NEXT:   %[[T1:.+]] = dma.launch %c_insns[0, {{[0-9]+}}] uops %c_uops : !dma.buffer<[[CN]]>, {{.*}} reads(%p_card : !dma.buffer<64>, %weights : !dma.buffer<16>, %vector : !dma.buffer<16>) writes(%c : !dma.buffer<64>) {dma.kernel = "tile.conv"}
// CHECK-NEXT:   dma.wait %[[T1]]
// CHECK-NEXT:   %a = dma.alloc activation align 16 offset {{[0-9]+}} : !dma.buffer<64>
// CHECK-NEXT:   %[[T2:.+]] = dma.launch %a_insns[0, {{[0-9]+}}] uops %a_uops : {{.*}} reads(%c : !dma.buffer<64>) writes(%a : !dma.buffer<64>) {dma.kernel = "tile.alu"}
// CHECK-NEXT:   dma.wait %[[T2]]
// CHECK-NEXT:   %a_host = dma.copy_to_host %a : !dma.buffer<64> -> !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>
// CHECK-NEXT:   %u = tile.unpack %a_host
// CHECK-NEXT:   %c_host = dma.copy_to_host %c : !dma.buffer<64> -> !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>
// CHECK-NEXT:   %v = tile.unpack %c_host
// CHECK-NEXT:   func.return %u, %v

// STATS:      convert-tile-to-dma
// STATS-NEXT:   2 launches
// STATS-NEXT:   0 host-compute-ops
// STATS-NEXT:   1 copies-to-card
// STATS-NEXT:   2 copies-to-host
// STATS-NEXT:   2 constants

// BUDGET: error: pass 'convert-tile-to-dma' failed: convert-tile-to-dma: @chain needs a {{[0-9]+}}-byte pool but card-memory is 100 bytes; largest buffers live at the peak

// The small CNN on `tiny`: the quantized input is packed on the host and copied in.
// Its padded convs correct their input zero point on the card with constant maps
// (`dma.constant data`, placed once; no host pad), so every card value stays on the
// card up to the gemm's result: the residual conv reads the first conv's result as its
// input and as its i8 shortcut operand.
// CNN:       func.func @main
// CNN-SAME:    dma.pool_bytes
// CNN:         %[[MAP:map]] = dma.constant data {{.*}} : tensor<1x4x8x8x1x4xi32>
// CNN:         %[[IN:.+]] = dma.alloc activation
// CNN-NEXT:    dma.copy_to_card %{{.+}}, %[[IN]]
// CNN-NEXT:    %[[C0:[0-9]+]] = dma.alloc activation
// CNN-NEXT:    dma.launch {{.*}} reads(%[[IN]] : {{.*}}%[[MAP]] : {{.*}} writes(%[[C0]] : {{.*}} {dma.kernel = "tile.conv"}
// CNN-NEXT:    dma.wait
// CNN-NEXT:    %[[C1:[0-9]+]] = dma.alloc activation
// CNN-NEXT:    dma.launch {{.*}} reads({{.*}}%[[C0]] : {{.*}} writes(%[[C1]] : {{.*}} {dma.kernel = "tile.conv"}
// CNN-NEXT:    dma.wait
// CNN-NEXT:    %[[P1:[0-9]+]] = dma.alloc activation
// CNN-NEXT:    dma.launch {{.*}} reads(%[[C1]] : {{.*}}) writes(%[[P1]] : {{.*}} {dma.kernel = "tile.pool"}
// CNN-NEXT:    dma.wait
// CNN-NEXT:    %[[C2:[0-9]+]] = dma.alloc activation
// CNN-NEXT:    dma.launch {{.*}} reads(%[[P1]] : {{.*}} writes(%[[C2]] : {{.*}} {dma.kernel = "tile.conv"}
// CNN-NEXT:    dma.wait
// CNN-NEXT:    %[[P2:[0-9]+]] = dma.alloc activation
// CNN-NEXT:    dma.launch {{.*}} reads(%[[C2]] : {{.*}} writes(%[[P2]] : {{.*}} {dma.kernel = "tile.pool"}
// CNN-NEXT:    dma.wait
// CNN-NOT:     dma.copy_to_card
// CNN:         %[[C3:[0-9]+]] = dma.alloc activation
// CNN-NEXT:    dma.launch {{.*}} reads(%[[P2]] : {{.*}} writes(%[[C3]] : {{.*}} {dma.kernel = "tile.conv"}
// CNN-NEXT:    dma.wait
// CNN-NEXT:    %[[H3:.+]] = dma.copy_to_host %[[C3]]
// CNN-NEXT:    tile.unpack %[[H3]]
// CNN-NOT:     dma.copy_to_card
// CNN-NOT:     tile.conv
// CNN:         func.return

builtin.module attributes {tile.config = "tiny"} {
  func.func @chain(%x: tensor<1x4x4x4xi8>) -> (tensor<1x4x4x4xi8>, tensor<1x4x4x4xi8>) {
    %w = graph.constant dense<"0xF8F9FAFBFCFDFEFF0001020304050607"> : tensor<4x4x1x1xi8>
    %b = graph.constant dense<"0x01000000020000000300000004000000"> : tensor<4xi32>
    %p = tile.pack %x : tensor<1x4x4x4xi8> -> !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>
    %q = tile.pack %w : tensor<4x4x1x1xi8> -> !tile.wgt<1x1x1x1x4x4xi8, o = 4, i = 4>
    %c = tile.conv %p, %q tail(%b) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 4, 4, 1, 1>, buffers = 1 : i64, tail = [#tile.step<add operand 0>, #tile.step<max -128>, #tile.step<min 127>]} : (!tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>, !tile.wgt<1x1x1x1x4x4xi8, o = 4, i = 4>, tensor<4xi32>) -> !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>
    %a = tile.alu %c {tile = array<i64: 4, 4, 1>, buffers = 1 : i64, tail = [#tile.step<max 0>, #tile.step<min 127>]} : (!tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>) -> !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>
    %u = tile.unpack %a : !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4> -> tensor<1x4x4x4xi8>
    %v = tile.unpack %c : !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4> -> tensor<1x4x4x4xi8>
    func.return %u, %v : tensor<1x4x4x4xi8>, tensor<1x4x4x4xi8>
  }
}
