// graph-batched-matmul-to-conv: a matmul with a constant batched b (Y[i] = A[i] @ b[i])
// becomes one grouped 1x1 conv (group = batch) between transposes and reshapes; the
// rewrite is exact, so graph-fold-qdq can then fold the conv.
// RUN: canopy-opt %s -p graph-batched-matmul-to-conv | filecheck %s
// RUN: canopy-opt %s -p graph-batched-matmul-to-conv --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS
// RUN: canopy-opt %s -p graph-batched-matmul-to-conv 2>&1 >/dev/null | filecheck %s --check-prefix=REMARK

// b [2, 3, 2]: W[i*2 + n, k] = b[i, k, n] (batch 0: [[0, 2, 4], [1, 3, 5]], batch 1:
// [[6, 8, 10], [7, 9, 11]], hex 0A, 0B); per-tensor parameters stay as they are.
// CHECK-LABEL: func.func @qlinear
func.func @qlinear(%a: tensor<2x4x3xi8>) -> tensor<2x4x2xi8> {
  %as = graph.constant dense<0.5> : tensor<f32>
  %az = graph.constant dense<1> : tensor<i8>
  %b = graph.constant dense<[[[0, 1], [2, 3], [4, 5]], [[6, 7], [8, 9], [10, 11]]]> : tensor<2x3x2xi8>
  %bs = graph.constant dense<0.25> : tensor<f32>
  %bz = graph.constant dense<-1> : tensor<i8>
  %ys = graph.constant dense<2.0> : tensor<f32>
  %yz = graph.constant dense<3> : tensor<i8>
  %y = graph.qlinear_matmul %a, %as, %az, %b, %bs, %bz, %ys, %yz : (tensor<2x4x3xi8>, tensor<f32>, tensor<i8>, tensor<2x3x2xi8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<i8>) -> tensor<2x4x2xi8>
  func.return %y : tensor<2x4x2xi8>
  // CHECK-NOT:  tensor<2x3x2xi8>
  // CHECK:      %y_weight = graph.constant dense<"0x00020401030506080A07090B"> : tensor<4x3x1x1xi8>
  // CHECK-NEXT: %y_a_t = graph.transpose %a {perm = [0, 2, 1]} : (tensor<2x4x3xi8>) -> tensor<2x3x4xi8>
  // CHECK-NEXT: %y_x = graph.reshape %y_a_t {shape = [1, 6, 4, 1]} : (tensor<2x3x4xi8>) -> tensor<1x6x4x1xi8>
  // CHECK-NEXT: %y_conv = graph.qlinear_conv %y_x, %as, %az, %y_weight, %bs, %bz, %ys, %yz {group = 2} : {{.*}} -> tensor<1x4x4x1xi8>
  // CHECK-NEXT: %y_conv_t = graph.reshape %y_conv {shape = [2, 2, 4]} : (tensor<1x4x4x1xi8>) -> tensor<2x2x4xi8>
  // CHECK-NEXT: %y = graph.transpose %y_conv_t {perm = [0, 2, 1]} : (tensor<2x2x4xi8>) -> tensor<2x4x2xi8>
  // CHECK-NEXT: func.return %y
}

// Two batch dimensions [2, 3] flatten into group 6; a per-column b zero point [N = 2]
// is tiled to one per output channel [12].
// CHECK-LABEL: func.func @integer
func.func @integer(%a: tensor<2x3x5x4xui8>) -> tensor<2x3x5x2xi32> {
  %az = graph.constant dense<7> : tensor<ui8>
  %b = graph.constant dense<9> : tensor<2x3x4x2xi8>
  %bz = graph.constant dense<[1, -2]> : tensor<2xi8>
  %y = graph.matmul_integer %a, %b, %az, %bz : (tensor<2x3x5x4xui8>, tensor<2x3x4x2xi8>, tensor<ui8>, tensor<2xi8>) -> tensor<2x3x5x2xi32>
  func.return %y : tensor<2x3x5x2xi32>
  // CHECK:      %[[BZ:.*]] = graph.constant dense<"0x01FE01FE01FE01FE01FE01FE"> : tensor<12xi8>
  // CHECK-NEXT: %y_weight = graph.constant dense<"0x09"> : tensor<12x4x1x1xi8>
  // CHECK-NEXT: %y_a_t = graph.transpose %a {perm = [0, 1, 3, 2]}
  // CHECK-NEXT: %y_x = graph.reshape %y_a_t {shape = [1, 24, 5, 1]}
  // CHECK-NEXT: %y_conv = graph.conv_integer %y_x, %y_weight, %az, %[[BZ]] {group = 6} : (tensor<1x24x5x1xui8>, tensor<12x4x1x1xi8>, tensor<ui8>, tensor<12xi8>) -> tensor<1x12x5x1xi32>
  // CHECK-NEXT: %y_conv_t = graph.reshape %y_conv {shape = [2, 3, 2, 5]}
  // CHECK-NEXT: %y = graph.transpose %y_conv_t {perm = [0, 1, 3, 2]} : (tensor<2x3x2x5xi32>) -> tensor<2x3x5x2xi32>
  // CHECK-NOT:  tensor<2xi8>
}

// Left alone: a 2-D b (graph-fold-qdq's case), a b that is not a constant, a batch that
// broadcasts (2-D a against 3-D b), a per-row a zero point.
// CHECK-LABEL: func.func @untouched
func.func @untouched(%a: tensor<2x3x4xi8>, %b2: tensor<2x4x5xi8>, %a2: tensor<3x4xi8>) -> (tensor<2x3x5xi32>, tensor<2x3x5xi32>, tensor<2x3x5xi32>, tensor<2x3x5xi32>) {
  %w2 = graph.constant dense<1> : tensor<4x5xi8>
  %w3 = graph.constant dense<1> : tensor<2x4x5xi8>
  %rz = graph.constant dense<[1, 2, 3]> : tensor<3xi8>
  %y1 = graph.matmul_integer %a, %w2 : (tensor<2x3x4xi8>, tensor<4x5xi8>) -> tensor<2x3x5xi32>
  %y2 = graph.matmul_integer %a, %b2 : (tensor<2x3x4xi8>, tensor<2x4x5xi8>) -> tensor<2x3x5xi32>
  %y3 = graph.matmul_integer %a2, %w3 : (tensor<3x4xi8>, tensor<2x4x5xi8>) -> tensor<2x3x5xi32>
  %y4 = graph.matmul_integer %a, %w3, %rz : (tensor<2x3x4xi8>, tensor<2x4x5xi8>, tensor<3xi8>) -> tensor<2x3x5xi32>
  func.return %y1, %y2, %y3, %y4 : tensor<2x3x5xi32>, tensor<2x3x5xi32>, tensor<2x3x5xi32>, tensor<2x3x5xi32>
  // CHECK-NOT:  graph.conv_integer
  // CHECK:      %y1 = graph.matmul_integer %a, %w2
  // CHECK-NEXT: %y2 = graph.matmul_integer %a, %b2
  // CHECK-NEXT: %y3 = graph.matmul_integer %a2, %w3
  // CHECK-NEXT: %y4 = graph.matmul_integer %a, %w3, %rz
}

// STATS: graph-batched-matmul-to-conv
// STATS-DAG: 1 rewritten-qlinear-matmuls
// STATS-DAG: 1 rewritten-matmul-integers
// STATS-DAG: 2 skipped-unsupported

// REMARK: remark: graph-batched-matmul-to-conv left this matmul alone: batch dimensions of a [3, 4] and b [2, 4, 5] differ (broadcast)
// REMARK: remark: graph-batched-matmul-to-conv left this matmul alone: a has per-row scales or zero points
