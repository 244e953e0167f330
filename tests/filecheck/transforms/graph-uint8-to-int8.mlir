// graph-uint8-to-int8: ui8 quantized values become i8 (v - 128, zero point z - 128), so
// that their GEMMs can run on the card; the rest of the graph sees the same integers.
// RUN: canopy-opt %s -p graph-uint8-to-int8 | filecheck %s
// RUN: canopy-opt %s -p graph-uint8-to-int8 --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// A QUInt8 conv chain: quantize -> conv_integer -> requantize (ui8) -> max_pool ->
// conv_integer, a residual cast, and a dequantize at the end. Zero points 121 -> -7,
// 147 -> 19, 0 -> -128; the cast to i32 gets + 128 back.
// CHECK-LABEL: func.func @chain
func.func @chain(%x: tensor<1x16x4x4xf32>) -> (tensor<1x16x2x2xf32>, tensor<1x16x4x4xi32>) {
  %s = graph.constant dense<0.05> : tensor<f32>
  %z = graph.constant dense<121> : tensor<ui8>
  %z0 = graph.constant dense<0> : tensor<ui8>
  %w = graph.constant dense<1> : tensor<16x16x1x1xi8>
  %q = graph.quantize_linear %x, %s, %z : (tensor<1x16x4x4xf32>, tensor<f32>, tensor<ui8>) -> tensor<1x16x4x4xui8>
  %acc = graph.conv_integer %q, %w, %z : (tensor<1x16x4x4xui8>, tensor<16x16x1x1xi8>, tensor<ui8>) -> tensor<1x16x4x4xi32>
  %r = graph.requantize %acc {multiplier = [1], shift = [4], output_zero_point = 147} : (tensor<1x16x4x4xi32>) -> tensor<1x16x4x4xui8>
  %wide = graph.cast %r {to = "i32"} : (tensor<1x16x4x4xui8>) -> tensor<1x16x4x4xi32>
  %p = graph.max_pool %r {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x16x4x4xui8>) -> tensor<1x16x2x2xui8>
  %acc2 = graph.conv_integer %p, %w, %z0 : (tensor<1x16x2x2xui8>, tensor<16x16x1x1xi8>, tensor<ui8>) -> tensor<1x16x2x2xi32>
  %r2 = graph.requantize %acc2 {multiplier = [1], shift = [4]} : (tensor<1x16x2x2xi32>) -> tensor<1x16x2x2xui8>
  %y = graph.dequantize_linear %r2, %s, %z0 : (tensor<1x16x2x2xui8>, tensor<f32>, tensor<ui8>) -> tensor<1x16x2x2xf32>
  func.return %y, %wide : tensor<1x16x2x2xf32>, tensor<1x16x4x4xi32>
  // CHECK:      %[[ZQ:.*]] = graph.constant dense<"0xF9"> : tensor<i8>
  // CHECK-NEXT: %q_i8 = graph.quantize_linear %x, %s, %[[ZQ]] : (tensor<1x16x4x4xf32>, tensor<f32>, tensor<i8>) -> tensor<1x16x4x4xi8>
  // CHECK:      %acc = graph.conv_integer %q_i8, %w, %{{.*}} : (tensor<1x16x4x4xi8>, tensor<16x16x1x1xi8>, tensor<i8>) -> tensor<1x16x4x4xi32>
  // CHECK-NEXT: %r_i8 = graph.requantize %acc {multiplier = [1], shift = [4], output_zero_point = 19} : (tensor<1x16x4x4xi32>) -> tensor<1x16x4x4xi8>
  // CHECK-NEXT: %[[W:.*]] = graph.cast %r_i8 {to = "i32"} : (tensor<1x16x4x4xi8>) -> tensor<1x16x4x4xi32>
  // CHECK-NEXT: %[[C128:.*]] = graph.constant dense<"0x80000000"> : tensor<i32>
  // CHECK-NEXT: %wide = graph.add %[[W]], %[[C128]]
  // CHECK-NEXT: %p_i8 = graph.max_pool %r_i8 {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x16x4x4xi8>) -> tensor<1x16x2x2xi8>
  // CHECK:      %acc2 = graph.conv_integer %p_i8, %w, %{{.*}} : (tensor<1x16x2x2xi8>, tensor<16x16x1x1xi8>, tensor<i8>) -> tensor<1x16x2x2xi32>
  // CHECK-NEXT: %r2_i8 = graph.requantize %acc2 {multiplier = [1], shift = [4], output_zero_point = -128} : (tensor<1x16x2x2xi32>) -> tensor<1x16x2x2xi8>
  // CHECK:      %[[Z2:.*]] = graph.constant dense<"0x80"> : tensor<i8>
  // CHECK-NEXT: %y = graph.dequantize_linear %r2_i8, %s, %[[Z2]] : (tensor<1x16x2x2xi8>, tensor<f32>, tensor<i8>) -> tensor<1x16x2x2xf32>
  // CHECK-NOT:  ui8
  // CHECK:      func.return %y, %wide
}

// A ui8 argument feeding a GEMM: converted at the boundary by host ops (the signature
// stays); a ui8 weight constant is re-centred with its zero point (200 -> 72 = 0x48,
// 130 -> 2; the same constant is both zero points here).
// CHECK-LABEL: func.func @argument
func.func @argument(%a: tensor<2x3xui8>) -> tensor<2x4xi32> {
  %b = graph.constant dense<200> : tensor<3x4xui8>
  %bz = graph.constant dense<130> : tensor<ui8>
  %y = graph.matmul_integer %a, %b, %bz, %bz : (tensor<2x3xui8>, tensor<3x4xui8>, tensor<ui8>, tensor<ui8>) -> tensor<2x4xi32>
  func.return %y : tensor<2x4xi32>
  // CHECK:      %[[A32:.*]] = graph.cast %a {to = "i32"} : (tensor<2x3xui8>) -> tensor<2x3xi32>
  // CHECK-NEXT: %[[M128:.*]] = graph.constant dense<"0x80FFFFFF"> : tensor<i32>
  // CHECK-NEXT: %[[C:.*]] = graph.add %[[A32]], %[[M128]]
  // CHECK-NEXT: %a_i8 = graph.cast %[[C]] {to = "i8"} : (tensor<2x3xi32>) -> tensor<2x3xi8>
  // CHECK-NEXT: %b_i8 = graph.constant dense<"0x48"> : tensor<3x4xi8>
  // CHECK-NEXT: graph.constant dense<"0x02"> : tensor<i8>
  // CHECK:      %y = graph.matmul_integer %a_i8, %{{.*}}, %{{.*}}, %{{.*}} : (tensor<2x3xi8>, tensor<3x4xi8>, tensor<i8>, tensor<i8>) -> tensor<2x4xi32>
}

// A zero point that is not a constant cannot be shifted: the GEMM stays as it is.
// CHECK-LABEL: func.func @unknown_zero_point
func.func @unknown_zero_point(%a: tensor<2x3xui8>, %z: tensor<ui8>) -> tensor<2x4xi32> {
  %b = graph.constant dense<3> : tensor<3x4xi8>
  %y = graph.matmul_integer %a, %b, %z : (tensor<2x3xui8>, tensor<3x4xi8>, tensor<ui8>) -> tensor<2x4xi32>
  func.return %y : tensor<2x4xi32>
  // CHECK-NEXT: %b = graph.constant
  // CHECK-NEXT: %y = graph.matmul_integer %a, %b, %z : (tensor<2x3xui8>, tensor<3x4xi8>, tensor<ui8>) -> tensor<2x4xi32>
  // CHECK-NEXT: func.return %y
}

// STATS: graph-uint8-to-int8
// STATS-NEXT: 3 rewritten-gemms
// STATS-NEXT: 2 rewritten-consumers
// STATS-NEXT: 5 rewritten-producers
// STATS-NEXT: 1 boundary-conversions
