// graph-fold-qdq: dequantize -> conv/gemm/matmul -> [relu/clip] -> quantize becomes
// conv_integer/matmul_integer (i32) + i32 bias add + requantize (+ integer clip).
// RUN: canopy-opt %s -p graph-fold-qdq | filecheck %s
// RUN: canopy-opt %s -p graph-fold-qdq --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// Per-channel conv, power-of-two scales: s = 0.5 * [0.25, 0.125] / 1.0 = [2^-3, 2^-4], so
// multiplier [1, 1], shift [3, 4] (exact). The bias is already at scale x_s * w_s:
// [4 * 0.125, -8 * 0.0625] / [0.125, 0.0625] = [4, -8]. The relu keeps values >= real 0,
// i.e. >= the zero point -10: an integer clip, since -10 is not the i8 minimum.
// CHECK-LABEL: func.func @conv
func.func @conv(%xq: tensor<1x1x2x2xi8>) -> tensor<1x2x2x2xi8> {
  %xs = graph.constant dense<0.5> : tensor<f32>
  %xz = graph.constant dense<0> : tensor<i8>
  %w = graph.constant dense<[[[[3]]], [[[-2]]]]> : tensor<2x1x1x1xi8>
  %ws = graph.constant dense<[0.25, 0.125]> : tensor<2xf32>
  %wz = graph.constant dense<0> : tensor<2xi8>
  %b = graph.constant dense<[4, -8]> : tensor<2xi32>
  %bs = graph.constant dense<[0.125, 0.0625]> : tensor<2xf32>
  %ys = graph.constant dense<1.0> : tensor<f32>
  %yz = graph.constant dense<-10> : tensor<i8>
  %x = graph.dequantize_linear %xq, %xs, %xz : (tensor<1x1x2x2xi8>, tensor<f32>, tensor<i8>) -> tensor<1x1x2x2xf32>
  %wf = graph.dequantize_linear %w, %ws, %wz {axis = 0} : (tensor<2x1x1x1xi8>, tensor<2xf32>, tensor<2xi8>) -> tensor<2x1x1x1xf32>
  %bf = graph.dequantize_linear %b, %bs {axis = 0} : (tensor<2xi32>, tensor<2xf32>) -> tensor<2xf32>
  %c = graph.conv %x, %wf, %bf : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x2x2xf32>
  %r = graph.relu %c : (tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %y = graph.quantize_linear %r, %ys, %yz : (tensor<1x2x2x2xf32>, tensor<f32>, tensor<i8>) -> tensor<1x2x2x2xi8>
  func.return %y : tensor<1x2x2x2xi8>
  // CHECK:      %y_weight = graph.constant dense<"0x03FE"> : tensor<2x1x1x1xi8>
  // CHECK:      %y_acc = graph.conv_integer %xq, %y_weight, %{{.*}}, %{{.*}} : (tensor<1x1x2x2xi8>, tensor<2x1x1x1xi8>, tensor<i8>, tensor<2xi8>) -> tensor<1x2x2x2xi32>
  // Bias [4, -8] as i32 little-endian hex.
  // CHECK-NEXT: %y_bias = graph.constant dense<"0x04000000F8FFFFFF"> : tensor<1x2x1x1xi32>
  // CHECK-NEXT: %y_biased = graph.add %y_acc, %y_bias : (tensor<1x2x2x2xi32>, tensor<1x2x1x1xi32>) -> tensor<1x2x2x2xi32>
  // CHECK-NEXT: %y_requantized = graph.requantize %y_biased {multiplier = [1, 1], shift = [3, 4], output_zero_point = -10} : (tensor<1x2x2x2xi32>) -> tensor<1x2x2x2xi8>
  // CHECK-NEXT: %y = graph.clip %y_requantized {min = -10.0} : (tensor<1x2x2x2xi8>) -> tensor<1x2x2x2xi8>
  // CHECK-NEXT: func.return %y
  // CHECK-NOT:  graph.dequantize_linear
}

// Gemm, per tensor, trans_b: the weight is transposed to [K, N] for matmul_integer.
// s = 0.02 * 0.01 / 0.003 = 1/15; |acc| <= 4 * 100 * 128 = 51200; the 16-bit multiplier
// allows shift 18: m = rint(2^18 / 15) = 17476 = 4 * 4369, normalised to (4369, 16).
// CHECK-LABEL: func.func @gemm
func.func @gemm(%aq: tensor<1x4xui8>) -> tensor<1x3xi8> {
  %as = graph.constant dense<0.02> : tensor<f32>
  %az = graph.constant dense<128> : tensor<ui8>
  %b = graph.constant dense<100> : tensor<3x4xi8>
  %bs = graph.constant dense<0.01> : tensor<f32>
  %ys = graph.constant dense<0.003> : tensor<f32>
  %yz = graph.constant dense<0> : tensor<i8>
  %a = graph.dequantize_linear %aq, %as, %az : (tensor<1x4xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x4xf32>
  %bf = graph.dequantize_linear %b, %bs : (tensor<3x4xi8>, tensor<f32>) -> tensor<3x4xf32>
  %g = graph.gemm %a, %bf {trans_b = 1} : (tensor<1x4xf32>, tensor<3x4xf32>) -> tensor<1x3xf32>
  %y = graph.quantize_linear %g, %ys, %yz : (tensor<1x3xf32>, tensor<f32>, tensor<i8>) -> tensor<1x3xi8>
  func.return %y : tensor<1x3xi8>
  // CHECK:      %y_acc = graph.matmul_integer %aq, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<1x4xui8>, tensor<4x3xi8>, tensor<ui8>, tensor<i8>) -> tensor<1x3xi32>
  // CHECK-NEXT: %y = graph.requantize %y_acc {multiplier = [4369], shift = [16]} : (tensor<1x3xi32>) -> tensor<1x3xi8>
  // CHECK-NOT:  graph.gemm
}

// A float Add of two dequantized tensors stays (no integer widening op): counted, not folded,
// with a remark (see STATS' stderr).
// CHECK-LABEL: func.func @add
func.func @add(%a: tensor<4xi8>, %b: tensor<4xi8>) -> tensor<4xi8> {
  %s = graph.constant dense<0.1> : tensor<f32>
  %z = graph.constant dense<0> : tensor<i8>
  %af = graph.dequantize_linear %a, %s, %z : (tensor<4xi8>, tensor<f32>, tensor<i8>) -> tensor<4xf32>
  %bf = graph.dequantize_linear %b, %s, %z : (tensor<4xi8>, tensor<f32>, tensor<i8>) -> tensor<4xf32>
  %c = graph.add %af, %bf : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %y = graph.quantize_linear %c, %s, %z : (tensor<4xf32>, tensor<f32>, tensor<i8>) -> tensor<4xi8>
  func.return %y : tensor<4xi8>
  // CHECK: graph.add %af, %bf
}

// STATS: remark: graph-fold-qdq left this add alone: the graph dialect has no i8 -> i32 widening op yet
// STATS: graph-fold-qdq
// STATS-DAG: 1 folded-conv
// STATS-DAG: 1 folded-matmul
// STATS-DAG: 1 skipped-add
