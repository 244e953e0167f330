// graph-split-wide-weights: a constant GEMM weight whose w - w_zp leaves int8 becomes a
// sum of int8 terms along the reduction (the input repeated), so the card's int8 GEMM
// can run it; weights already in range are left alone.
// RUN: canopy-opt %s -p graph-split-wide-weights | filecheck %s
// RUN: canopy-opt %s -p graph-split-wide-weights --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// ONNX test_qlinearconv's weight: ui8 0 with zero point 255, w' = -255 = -128 - 127
// (0x80, 0x81): two terms, x repeated along the channels, no weight zero point.
// CHECK-LABEL: func.func @conv
func.func @conv(%x: tensor<1x1x4x4xui8>) -> tensor<1x1x4x4xi32> {
  %w = graph.constant dense<0> : tensor<1x1x1x1xui8>
  %wz = graph.constant dense<255> : tensor<ui8>
  %xz = graph.constant dense<3> : tensor<ui8>
  %y = graph.conv_integer %x, %w, %xz, %wz : (tensor<1x1x4x4xui8>, tensor<1x1x1x1xui8>, tensor<ui8>, tensor<ui8>) -> tensor<1x1x4x4xi32>
  func.return %y : tensor<1x1x4x4xi32>
  // CHECK:      %[[X2:.*]] = graph.concat %x, %x {axis = 1} : (tensor<1x1x4x4xui8>, tensor<1x1x4x4xui8>) -> tensor<1x2x4x4xui8>
  // CHECK-NEXT: %[[W2:.*]] = graph.constant dense<"0x8081"> : tensor<1x2x1x1xi8>
  // CHECK-NEXT: %y = graph.conv_integer %[[X2]], %[[W2]], %xz : (tensor<1x2x4x4xui8>, tensor<1x2x1x1xi8>, tensor<ui8>) -> tensor<1x1x4x4xi32>
  // CHECK-NOT:  dense<255>
  // CHECK:      func.return %y
}

// A per-column zero point: column 0 (255 - 0 = 127 + 127 + 1) needs three terms, column 1
// (200 - 200 = 0) none; b becomes [t_1; t_2; t_3] along K, a is repeated along its last
// axis, and a's zero point stays.
// CHECK-LABEL: func.func @matmul
func.func @matmul(%a: tensor<3x1xi8>) -> tensor<3x2xi32> {
  %b = graph.constant dense<[[255, 200]]> : tensor<1x2xui8>
  %bz = graph.constant dense<[0, 200]> : tensor<2xui8>
  %az = graph.constant dense<-5> : tensor<i8>
  %y = graph.matmul_integer %a, %b, %az, %bz : (tensor<3x1xi8>, tensor<1x2xui8>, tensor<i8>, tensor<2xui8>) -> tensor<3x2xi32>
  func.return %y : tensor<3x2xi32>
  // CHECK:      %[[A3:.*]] = graph.concat %a, %a, %a {axis = 1} : (tensor<3x1xi8>, tensor<3x1xi8>, tensor<3x1xi8>) -> tensor<3x3xi8>
  // CHECK-NEXT: %[[B3:.*]] = graph.constant dense<"0x7F007F000100"> : tensor<3x2xi8>
  // CHECK-NEXT: %y = graph.matmul_integer %[[A3]], %[[B3]], %az : (tensor<3x3xi8>, tensor<3x2xi8>, tensor<i8>) -> tensor<3x2xi32>
}

// In range (200 - 130 = 70), not a constant zero point, and a grouped conv: untouched.
// CHECK-LABEL: func.func @untouched
func.func @untouched(%a: tensor<2x3xi8>, %z: tensor<ui8>) -> (tensor<2x4xi32>, tensor<2x4xi32>) {
  %b = graph.constant dense<200> : tensor<3x4xui8>
  %bz = graph.constant dense<130> : tensor<ui8>
  %wz = graph.constant dense<127> : tensor<i8>
  %y = graph.matmul_integer %a, %b, %wz, %bz : (tensor<2x3xi8>, tensor<3x4xui8>, tensor<i8>, tensor<ui8>) -> tensor<2x4xi32>
  %y2 = graph.matmul_integer %a, %b, %wz, %z : (tensor<2x3xi8>, tensor<3x4xui8>, tensor<i8>, tensor<ui8>) -> tensor<2x4xi32>
  func.return %y, %y2 : tensor<2x4xi32>, tensor<2x4xi32>
  // CHECK-NOT:  graph.concat
  // CHECK:      %y = graph.matmul_integer %a, %b, %wz, %bz
  // CHECK-NEXT: %y2 = graph.matmul_integer %a, %b, %wz, %z
}

// A depthwise conv (group 2): each group's channels are repeated in place (reshape to
// (N, groups, C/groups, H, W), concat along axis 2, reshape back), so group j reads its
// own channel twice against its two weight terms.
// CHECK-LABEL: func.func @grouped
func.func @grouped(%x: tensor<1x2x3x3xi8>) -> tensor<1x2x3x3xi32> {
  %w = graph.constant dense<-128> : tensor<2x1x1x1xi8>
  %wz = graph.constant dense<127> : tensor<i8>
  %c = graph.conv_integer %x, %w, %wz, %wz {group = 2} : (tensor<1x2x3x3xi8>, tensor<2x1x1x1xi8>, tensor<i8>, tensor<i8>) -> tensor<1x2x3x3xi32>
  func.return %c : tensor<1x2x3x3xi32>
  // CHECK:      %[[G:.*]] = graph.reshape %x {shape = [1, 2, 1, 3, 3]}
  // CHECK-NEXT: %[[R:.*]] = graph.concat %[[G]], %[[G]] {axis = 2}
  // CHECK-NEXT: %x_x2 = graph.reshape %[[R]] {shape = [1, 4, 3, 3]}
  // CHECK-NEXT: %w_split2 = graph.constant dense<"0x80818081"> : tensor<2x2x1x1xi8>
  // CHECK-NEXT: %c = graph.conv_integer %x_x2, %w_split2, %wz {group = 2}
}

// STATS: graph-split-wide-weights
// STATS-DAG: 3 split-gemms
// STATS-DAG: 4 extra-weight-terms
