// graph-fold-constants: ops on constants become the constant the interpreter computes.
// RUN: canopy-opt %s -p graph-fold-constants | filecheck %s
// RUN: canopy-opt %s -p 'graph-fold-constants{max-elements=4}' | filecheck %s --check-prefix=SMALL
// RUN: canopy-opt %s -p graph-fold-constants --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// CHECK-LABEL: func.func @weights
// SMALL-LABEL: func.func @weights
func.func @weights(%x: tensor<1x2xf32>) -> tensor<1x3xf32> {
  // [[1, 2], [3, 4], [5, 6]] stored transposed, as importers of Gemm(trans_b) produce.
  %w = graph.constant dense<[[1.0, 3.0, 5.0], [2.0, 4.0, 6.0]]> : tensor<2x3xf32>
  %wt = graph.transpose %w : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %two = graph.constant dense<2.0> : tensor<1xf32>
  %scaled = graph.mul %wt, %two : (tensor<3x2xf32>, tensor<1xf32>) -> tensor<3x2xf32>
  %y = graph.gemm %x, %scaled {trans_b = 1} : (tensor<1x2xf32>, tensor<3x2xf32>) -> tensor<1x3xf32>
  func.return %y : tensor<1x3xf32>
  // 2 * [[1, 2], [3, 4], [5, 6]]; the operand constants are gone.
  // CHECK-NEXT:  %scaled = graph.constant dense<"0x00000040000080400000C040000000410000204100004041"> : tensor<3x2xf32>
  // CHECK-NEXT:  %y = graph.gemm %x, %scaled {trans_b = 1}
  // CHECK-NEXT:  func.return %y
  // Six elements are over the limit of four: nothing folds.
  // SMALL:       %wt = graph.transpose %w
  // SMALL:       %scaled = graph.mul %wt, %two
}

// CHECK-LABEL: func.func @integers
func.func @integers() -> (tensor<3xi8>, tensor<3xi32>, tensor<2xi32>) {
  %acc = graph.constant dense<[100, -300, 1000]> : tensor<3xi32>
  %q = graph.requantize %acc {multiplier = [1], shift = [2]} : (tensor<3xi32>) -> tensor<3xi8>
  %sh = graph.constant dense<[7, -7, 9]> : tensor<3xi32>
  %three = graph.constant dense<3> : tensor<i32>
  %quot = graph.div %sh, %three : (tensor<3xi32>, tensor<i32>) -> tensor<3xi32>
  %zero = graph.constant dense<[1, 0]> : tensor<2xi32>
  %bad = graph.div %zero, %zero : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  func.return %q, %quot, %bad : tensor<3xi8>, tensor<3xi32>, tensor<2xi32>
  // requantize: (x + 2) >> 2, saturated: 25, -75, 127. Integer division truncates: 2, -2, 3.
  // CHECK-NEXT:  %q = graph.constant dense<"0x19B57F"> : tensor<3xi8>
  // CHECK-NEXT:  %quot = graph.constant dense<"0x02000000FEFFFFFF03000000"> : tensor<3xi32>
  // Division by zero fails at run time, so it is left to do so.
  // CHECK-NEXT:  %zero = graph.constant
  // CHECK-NEXT:  %bad = graph.div %zero, %zero
}

// A fused activation is part of what the op computes.
// CHECK-LABEL: func.func @fused
func.func @fused() -> tensor<2x1xf32> {
  %a = graph.constant dense<[[1.0], [-1.0]]> : tensor<2x1xf32>
  %b = graph.constant dense<[[3.0]]> : tensor<1x1xf32>
  %y = graph.matmul %a, %b attributes {fused_activation = "clip", fused_activation_min = 0.0 : f64, fused_activation_max = 2.5 : f64} : (tensor<2x1xf32>, tensor<1x1xf32>) -> tensor<2x1xf32>
  func.return %y : tensor<2x1xf32>
  // clip([3, -3], 0, 2.5) = [2.5, 0]
  // CHECK-NEXT:  %y = graph.constant dense<"0x0000204000000000"> : tensor<2x1xf32>
  // CHECK-NEXT:  func.return %y
}

// STATS:      graph-fold-constants
// STATS-DAG:  5 folded
// STATS-DAG:  1 rejected
// STATS-DAG:  0 too-large
