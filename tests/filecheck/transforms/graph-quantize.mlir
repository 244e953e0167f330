// graph-quantize: calibrate a float graph, insert quantize/dequantize pairs as onnxruntime
// does, fold them into the integer form (conv_integer / matmul_integer + requantize, the
// residual add as cast * multiplier + add + requantize, integer pools).
// RUN: canopy-opt %s -p 'graph-quantize{calibration-random=4}' | filecheck %s
// RUN: canopy-opt %s -p 'graph-quantize{calibration-random=4 symmetric=false per-channel=false method=percentile percentile=99.9}' | filecheck %s --check-prefix=ASYM
// RUN: canopy-opt %s -p 'graph-quantize{calibration-random=2}' --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS
// RUN: not canopy-opt %s -p graph-quantize --mlir-reproducer %t.repro.mlir 2>&1 | filecheck %s --check-prefix=NO-CALIBRATION
// RUN: not canopy-opt %s -p 'graph-quantize{calibration="%t.missing.npz"}' --mlir-reproducer %t.repro.mlir 2>&1 | filecheck %s --check-prefix=MISSING
// A float model from the ONNX frontend (conv + relu + global average pool + gemm):
// RUN: %python -c "import numpy as np, onnx; from onnx import helper as h, numpy_helper as nh; r = np.random.default_rng(0); n = [h.make_node('Conv', ['x', 'W', 'B'], ['c'], pads=[1, 1, 1, 1]), h.make_node('Relu', ['c'], ['r']), h.make_node('GlobalAveragePool', ['r'], ['g']), h.make_node('Flatten', ['g'], ['f']), h.make_node('Gemm', ['f', 'G', 'C'], ['y'], transB=1)]; i = {'W': r.normal(size=(4, 3, 3, 3)), 'B': r.normal(size=4), 'G': r.normal(size=(2, 4)), 'C': r.normal(size=2)}; g = h.make_graph(n, 'g', [h.make_tensor_value_info('x', 1, [1, 3, 6, 6])], [h.make_tensor_value_info('y', 1, [1, 2])], [nh.from_array(v.astype(np.float32), k) for k, v in i.items()]); onnx.save(h.make_model(g, opset_imports=[h.make_opsetid('', 13)]), '%t.onnx')"
// RUN: canopy-opt -f onnx %t.onnx -p 'graph-quantize{calibration-random=4}' | filecheck %s --check-prefix=ONNX

func.func @main(%x: tensor<1x2x4x4xf32>) -> tensor<1x3xf32> {
  %w = graph.constant dense<[[[[0.5]], [[-0.25]]], [[[0.125]], [[1.0]]]]> : tensor<2x2x1x1xf32>
  %b = graph.constant dense<[0.1, -0.2]> : tensor<2xf32>
  %c = graph.conv %x, %w, %b : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %r = graph.relu %c : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %s = graph.add %r, %x : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %p = graph.max_pool %s {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  %g = graph.global_average_pool %p : (tensor<1x2x2x2xf32>) -> tensor<1x2x1x1xf32>
  %f = graph.flatten %g : (tensor<1x2x1x1xf32>) -> tensor<1x2xf32>
  %m = graph.constant dense<[[1.0, -1.0, 0.5], [0.25, 2.0, -0.75]]> : tensor<2x3xf32>
  %y = graph.matmul %f, %m : (tensor<1x2xf32>, tensor<2x3xf32>) -> tensor<1x3xf32>
  %o = graph.softmax %y : (tensor<1x3xf32>) -> tensor<1x3xf32>
  func.return %o : tensor<1x3xf32>
}
// CHECK-LABEL: func.func @main
// CHECK:      graph.quantize_linear %x, %{{.*}}, %{{.*}} : (tensor<1x2x4x4xf32>, tensor<f32>, tensor<i8>) -> tensor<1x2x4x4xi8>
// CHECK:      graph.conv_integer {{.*}} -> tensor<1x2x4x4xi32>
// CHECK:      graph.requantize {{.*}} -> tensor<1x2x4x4xi8>
// CHECK:      graph.cast {{.*}} {to = "i32"}
// CHECK:      graph.mul
// CHECK:      graph.requantize {{.*}} {multiplier = [1], shift = [{{[0-9]+}}]} : (tensor<1x2x4x4xi32>) -> tensor<1x2x4x4xi8>
// CHECK:      graph.max_pool {{.*}} : (tensor<1x2x4x4xi8>) -> tensor<1x2x2x2xi8>
// CHECK:      graph.conv_integer {{.*}} {group = 2} : (tensor<1x2x2x2xi8>, tensor<2x1x2x2xi8>, tensor<i8>) -> tensor<1x2x1x1xi32>
// CHECK:      graph.flatten {{.*}} : (tensor<1x2x1x1xi8>) -> tensor<1x2xi8>
// CHECK:      graph.matmul_integer {{.*}} -> tensor<1x3xi32>
// CHECK:      graph.requantize {{.*}} -> tensor<1x3xi8>
// CHECK-NEXT: graph.dequantize_linear {{.*}} -> tensor<1x3xf32>
// CHECK-NEXT: graph.softmax
// CHECK-NOT:  graph.conv %
// CHECK-NOT:  graph.matmul %

// Asymmetric activations are uint8, per-tensor weights one multiplier.
// ASYM:       graph.quantize_linear %x, {{.*}} -> tensor<1x2x4x4xui8>
// ASYM:       graph.conv_integer {{.*}} : (tensor<1x2x4x4xui8>, tensor<2x2x1x1xi8>, tensor<ui8>, tensor<i8>) -> tensor<1x2x4x4xi32>
// ASYM:       graph.requantize {{.*}} {multiplier = [{{-?[0-9]+}}], shift = [{{[0-9]+}}], output_zero_point = {{[0-9]+}}} : (tensor<1x2x4x4xi32>) -> tensor<1x2x4x4xui8>

// STATS:      graph-quantize
// STATS-DAG:  2 calibration-samples
// STATS-DAG:  1 quantized-conv
// STATS-DAG:  1 quantized-add
// STATS-DAG:  2 quantized-pool
// STATS-DAG:  1 quantized-matmul
// STATS-DAG:  1 quantized-layout
// STATS-DAG:  1 float-softmax
// STATS-DAG:  1 folded-add

// NO-CALIBRATION: graph-quantize needs calibration inputs: give calibration=<file.npz> or calibration-random=<N>
// NO-CALIBRATION-NOT: Traceback
// MISSING: calibration file {{.*}}.missing.npz does not exist

// ONNX:       func.func @main
// ONNX:       graph.conv_integer
// ONNX:       graph.requantize
// ONNX:       graph.conv_integer {{.*}} {group = 4}
// ONNX:       graph.matmul_integer
// ONNX-NOT:   graph.conv %
// ONNX-NOT:   graph.gemm
