// graph-fold-batchnorm: batch norms after a single-use conv/gemm with constant weights
// fold into them; with standalone=true the others become mul + add.
// RUN: canopy-opt %s -p graph-fold-batchnorm | filecheck %s
// RUN: canopy-opt %s -p 'graph-fold-batchnorm{standalone=true}' | filecheck %s --check-prefix=STANDALONE

// s = scale / sqrt(var + eps) = [4, 3] / sqrt([4, 1]) = [2, 3]
// weight' = 1 * s = [2, 3]; bias' = (bias - mean) * s + beta = [(1 - 0.5) * 2 + 0.25, (0.5 - 1) * 3 - 1] = [1.25, -2.5]
// CHECK-LABEL: func.func @conv
func.func @conv(%x: tensor<1x1x2x2xf32>) -> tensor<1x2x2x2xf32> {
  %w = graph.constant dense<1.0> : tensor<2x1x1x1xf32>
  %b = graph.constant dense<[1.0, 0.5]> : tensor<2xf32>
  %scale = graph.constant dense<[4.0, 3.0]> : tensor<2xf32>
  %beta = graph.constant dense<[0.25, -1.0]> : tensor<2xf32>
  %mean = graph.constant dense<[0.5, 1.0]> : tensor<2xf32>
  %var = graph.constant dense<[4.0, 1.0]> : tensor<2xf32>
  %y = graph.conv %x, %w, %b {pads = [1, 0, 0, 1]} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %n = graph.batch_norm %y, %scale, %beta, %mean, %var {epsilon = 0.0} : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %r = graph.max_pool %n {kernel_shape = [2, 2]} : (tensor<1x2x3x3xf32>) -> tensor<1x2x2x2xf32>
  func.return %r : tensor<1x2x2x2xf32>
  // The parameters' constants go too.
  // CHECK-NEXT:  %w = graph.constant dense<"0x0000004000004040"> : tensor<2x1x1x1xf32>
  // CHECK-NEXT:  %b = graph.constant dense<"0x0000A03F000020C0"> : tensor<2xf32>
  // CHECK-NEXT:  %n = graph.conv %x, %w, %b {pads = [1, 0, 0, 1]} : (tensor<1x1x2x2xf32>, tensor<2x1x1x1xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  // CHECK-NEXT:  %r = graph.max_pool %n
  // CHECK-NOT:   graph.batch_norm
}

// Gemm with trans_b: s = [2, 0.5] scales the rows of b ([N, K]); c' = s * (beta * c - mean) + bias
// = [2 * (2 * 1 - 1) + 0, 0.5 * (2 * 3 - 2) + 1] = [2, 3], and beta becomes 1.
// CHECK-LABEL: func.func @gemm
func.func @gemm(%a: tensor<1x2xf32>) -> tensor<1x2xf32> {
  %b = graph.constant dense<[[1.0, 2.0], [4.0, 8.0]]> : tensor<2x2xf32>
  %c = graph.constant dense<[1.0, 3.0]> : tensor<2xf32>
  %scale = graph.constant dense<[2.0, 1.0]> : tensor<2xf32>
  %beta = graph.constant dense<[0.0, 1.0]> : tensor<2xf32>
  %mean = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %var = graph.constant dense<[1.0, 4.0]> : tensor<2xf32>
  %y = graph.gemm %a, %b, %c {alpha = 0.5, beta = 2.0, trans_b = 1} : (tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  %n = graph.batch_norm %y, %scale, %beta, %mean, %var {epsilon = 0.0} : (tensor<1x2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  func.return %n : tensor<1x2xf32>
  // b' = [[2, 4], [2, 4]]
  // CHECK-NEXT:  %b = graph.constant dense<"0x00000040000080400000004000008040"> : tensor<2x2xf32>
  // CHECK-NEXT:  %c = graph.constant dense<"0x0000004000004040"> : tensor<2xf32>
  // CHECK-NEXT:  %n = graph.gemm %a, %b, %c {alpha = 0.5, trans_b = 1} : (tensor<1x2xf32>, tensor<2x2xf32>, tensor<2xf32>) -> tensor<1x2xf32>
  // CHECK-NEXT:  func.return %n
}

// Not folded: the conv has a second user; the weight is not a constant; a parameter is
// not a constant; the conv carries a fused activation.
// CHECK-LABEL: func.func @kept
// STANDALONE-LABEL: func.func @kept
func.func @kept(%x: tensor<1x1x1x1xf32>, %p: tensor<1xf32>) -> (tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>) {
  %w = graph.constant dense<2.0> : tensor<1x1x1x1xf32>
  %one = graph.constant dense<1.0> : tensor<1xf32>
  %shared = graph.conv %x, %w : (tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x1x1xf32>
  %n1 = graph.batch_norm %shared, %one, %one, %one, %one : (tensor<1x1x1x1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x1x1xf32>
  %dynamic = graph.conv %x, %x : (tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x1x1xf32>
  %n2 = graph.batch_norm %dynamic, %one, %one, %one, %one : (tensor<1x1x1x1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x1x1xf32>
  %c3 = graph.conv %x, %w : (tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x1x1xf32>
  %n3 = graph.batch_norm %c3, %one, %p, %one, %one : (tensor<1x1x1x1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x1x1xf32>
  %c4 = graph.conv %x, %w attributes {fused_activation = "relu"} : (tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>) -> tensor<1x1x1x1xf32>
  %n4 = graph.batch_norm %c4, %one, %one, %one, %one : (tensor<1x1x1x1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>, tensor<1xf32>) -> tensor<1x1x1x1xf32>
  func.return %shared, %n1, %n2, %n3, %n4 : tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>, tensor<1x1x1x1xf32>
  // CHECK:       %n1 = graph.batch_norm %shared
  // CHECK:       %n2 = graph.batch_norm %dynamic
  // CHECK:       %n3 = graph.batch_norm %c3
  // CHECK:       %n4 = graph.batch_norm %c4
  // s = 1 / sqrt(1 + 1e-5), offset = 1 - s: constant parameters decompose, %n3's do not.
  // STANDALONE:      %n1_multiplier = graph.constant dense<"0xACFF7F3F"> : tensor<1x1x1xf32>
  // STANDALONE-NEXT: %n1_offset = graph.constant dense<"0xADFFA736"> : tensor<1x1x1xf32>
  // STANDALONE-NEXT: %n1_scaled = graph.mul %shared, %n1_multiplier : (tensor<1x1x1x1xf32>, tensor<1x1x1xf32>) -> tensor<1x1x1x1xf32>
  // STANDALONE-NEXT: %n1 = graph.add %n1_scaled, %n1_offset : (tensor<1x1x1x1xf32>, tensor<1x1x1xf32>) -> tensor<1x1x1x1xf32>
  // STANDALONE:      %n3 = graph.batch_norm %c3, %one, %p, %one, %one
  // STANDALONE:      %n4 = graph.add
  // STANDALONE-NOT:  graph.batch_norm
}
