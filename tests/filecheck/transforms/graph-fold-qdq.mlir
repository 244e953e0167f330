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

// Add of two dequantized tensors (ResNet's residual, then relu): widened with graph.cast,
// scaled by 16-bit multipliers at one shift (s_a / s_y = 0.5, s_b / s_y = 0.25: [2, 1] at
// shift 2, exact), zero points folded into one constant C = -(2 * 2 + 1 * 128) = -132,
// requantized by the shift alone; the relu is a clip at the output zero point -5.
// CHECK-LABEL: func.func @add
func.func @add(%a: tensor<4xi8>, %b: tensor<1x4xui8>) -> tensor<1x4xi8> {
  %as = graph.constant dense<0.5> : tensor<f32>
  %az = graph.constant dense<2> : tensor<i8>
  %bs = graph.constant dense<0.25> : tensor<f32>
  %bz = graph.constant dense<128> : tensor<ui8>
  %ys = graph.constant dense<1.0> : tensor<f32>
  %yz = graph.constant dense<-5> : tensor<i8>
  %af = graph.dequantize_linear %a, %as, %az : (tensor<4xi8>, tensor<f32>, tensor<i8>) -> tensor<4xf32>
  %bf = graph.dequantize_linear %b, %bs, %bz : (tensor<1x4xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x4xf32>
  %c = graph.add %af, %bf : (tensor<4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %r = graph.relu %c : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %y = graph.quantize_linear %r, %ys, %yz : (tensor<1x4xf32>, tensor<f32>, tensor<i8>) -> tensor<1x4xi8>
  func.return %y : tensor<1x4xi8>
  // CHECK:      %y_cast = graph.cast %a {to = "i32"} : (tensor<4xi8>) -> tensor<4xi32>
  // CHECK-NEXT: %y_const = graph.constant dense<"0x02000000"> : tensor<i32>
  // CHECK-NEXT: %y_mul = graph.mul %y_cast, %y_const : (tensor<4xi32>, tensor<i32>) -> tensor<4xi32>
  // CHECK-NEXT: %y_cast_1 = graph.cast %b {to = "i32"} : (tensor<1x4xui8>) -> tensor<1x4xi32>
  // CHECK-NEXT: %{{.*}} = graph.constant dense<"0x01000000"> : tensor<i32>
  // CHECK-NEXT: %y_mul_1 = graph.mul %y_cast_1, %{{.*}} : (tensor<1x4xi32>, tensor<i32>) -> tensor<1x4xi32>
  // CHECK-NEXT: %y_add = graph.add %y_mul, %y_mul_1 : (tensor<4xi32>, tensor<1x4xi32>) -> tensor<1x4xi32>
  // -132 as little-endian i32
  // CHECK-NEXT: %y_const_2 = graph.constant dense<"0x7CFFFFFF"> : tensor<i32>
  // CHECK-NEXT: %y_add_1 = graph.add %y_add, %y_const_2 : (tensor<1x4xi32>, tensor<i32>) -> tensor<1x4xi32>
  // CHECK-NEXT: %y_requantize = graph.requantize %y_add_1 {multiplier = [1], shift = [2], output_zero_point = -5} : (tensor<1x4xi32>) -> tensor<1x4xi8>
  // CHECK-NEXT: %y = graph.clip %y_requantize {min = -5.0} : (tensor<1x4xi8>) -> tensor<1x4xi8>
  // CHECK-NEXT: func.return %y
  // CHECK-NOT:  f32
}

// Max pool and flatten with equal scale / zero point in and out: the op on the integers.
// Global average pool: a depthwise conv_integer of ones sums each channel's 2x2 window
// (minus the zero point), the requantize divides: 0.5 / (0.5 * 4) = 2^-2.
// CHECK-LABEL: func.func @pools
func.func @pools(%xq: tensor<1x2x4x4xi8>) -> tensor<1x2xi8> {
  %s = graph.constant dense<0.5> : tensor<f32>
  %z = graph.constant dense<-1> : tensor<i8>
  %x = graph.dequantize_linear %xq, %s, %z : (tensor<1x2x4x4xi8>, tensor<f32>, tensor<i8>) -> tensor<1x2x4x4xf32>
  %m = graph.max_pool %x {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x4x4xf32>) -> tensor<1x2x2x2xf32>
  %mq = graph.quantize_linear %m, %s, %z : (tensor<1x2x2x2xf32>, tensor<f32>, tensor<i8>) -> tensor<1x2x2x2xi8>
  %md = graph.dequantize_linear %mq, %s, %z : (tensor<1x2x2x2xi8>, tensor<f32>, tensor<i8>) -> tensor<1x2x2x2xf32>
  %g = graph.global_average_pool %md : (tensor<1x2x2x2xf32>) -> tensor<1x2x1x1xf32>
  %gq = graph.quantize_linear %g, %s, %z : (tensor<1x2x1x1xf32>, tensor<f32>, tensor<i8>) -> tensor<1x2x1x1xi8>
  %gd = graph.dequantize_linear %gq, %s, %z : (tensor<1x2x1x1xi8>, tensor<f32>, tensor<i8>) -> tensor<1x2x1x1xf32>
  %f = graph.flatten %gd : (tensor<1x2x1x1xf32>) -> tensor<1x2xf32>
  %y = graph.quantize_linear %f, %s, %z : (tensor<1x2xf32>, tensor<f32>, tensor<i8>) -> tensor<1x2xi8>
  func.return %y : tensor<1x2xi8>
  // CHECK:      %mq = graph.max_pool %xq {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x4x4xi8>) -> tensor<1x2x2x2xi8>
  // CHECK:      %{{.*}} = graph.constant dense<"0x01"> : tensor<2x1x2x2xi8>
  // CHECK:      %gq_conv_integer = graph.conv_integer %mq, %{{.*}}, %{{.*}} {group = 2} : (tensor<1x2x2x2xi8>, tensor<2x1x2x2xi8>, tensor<i8>) -> tensor<1x2x1x1xi32>
  // CHECK-NEXT: %gq = graph.requantize %gq_conv_integer {multiplier = [1], shift = [2], output_zero_point = -1} : (tensor<1x2x1x1xi32>) -> tensor<1x2x1x1xi8>
  // CHECK-NEXT: %y = graph.flatten %gq : (tensor<1x2x1x1xi8>) -> tensor<1x2xi8>
  // CHECK-NEXT: func.return %y
  // CHECK-NOT:  f32
}

// STATS: graph-fold-qdq
// STATS-DAG: 1 folded-conv
// STATS-DAG: 1 folded-matmul
// STATS-DAG: 1 folded-add
// STATS-DAG: 2 folded-pool
// STATS-DAG: 1 folded-layout
