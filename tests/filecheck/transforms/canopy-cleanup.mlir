// The canopy-cleanup pipeline on a residual block as an importer emits it: the weight
// transpose folds, the batch norm folds into its conv, relus fuse, flatten becomes a
// reshape, and the identity ops go.
// RUN: canopy-opt %s -p canopy-cleanup | filecheck %s
// RUN: canopy-opt %s -p canopy-cleanup --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// CHECK-LABEL: func.func @block
func.func @block(%x: tensor<1x2x4x4xf32>) -> tensor<1x3xf32> {
  %w_oihw = graph.constant dense<[[[[1.0]], [[2.0]]], [[[3.0]], [[4.0]]]]> : tensor<2x2x1x1xf32>
  %w = graph.transpose %w_oihw {perm = [1, 0, 2, 3]} : (tensor<2x2x1x1xf32>) -> tensor<2x2x1x1xf32>
  %p = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %conv = graph.conv %x, %w : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %bn = graph.batch_norm %conv, %p, %p, %p, %p : (tensor<1x2x4x4xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x4x4xf32>
  %relu = graph.relu %bn : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %sum = graph.sum %relu : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %res = graph.add %sum, %x : (tensor<1x2x4x4xf32>, tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %out = graph.relu %res : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %gap = graph.global_average_pool %out : (tensor<1x2x4x4xf32>) -> tensor<1x2x1x1xf32>
  %flat = graph.flatten %gap : (tensor<1x2x1x1xf32>) -> tensor<1x2xf32>
  %fc_w = graph.constant dense<0.5> : tensor<3x2xf32>
  %fc = graph.gemm %flat, %fc_w {trans_b = 1} : (tensor<1x2xf32>, tensor<3x2xf32>) -> tensor<1x3xf32>
  %fc_relu = graph.relu %fc : (tensor<1x3xf32>) -> tensor<1x3xf32>
  func.return %fc_relu : tensor<1x3xf32>
  // CHECK-NEXT:  %w = graph.constant dense<"{{0x[0-9A-F]+}}"> : tensor<2x2x1x1xf32>
  // CHECK-NEXT:  %bn_bias = graph.constant dense<"{{0x[0-9A-F]+}}"> : tensor<2xf32>
  // CHECK-NEXT:  %bn = graph.conv %x, %w, %bn_bias attributes {fused_activation = "relu"}
  // CHECK-NEXT:  %res = graph.add %bn, %x
  // CHECK-NEXT:  %out = graph.relu %res
  // CHECK-NEXT:  %gap = graph.global_average_pool %out
  // CHECK-NEXT:  %flat = graph.reshape %gap {shape = [1, 2]}
  // CHECK-NEXT:  %fc_w = graph.constant
  // CHECK-NEXT:  %fc = graph.gemm %flat, %fc_w {trans_b = 1} attributes {fused_activation = "relu"}
  // CHECK-NEXT:  func.return %fc
}

// STATS-DAG:  1 folded - ops replaced by constants
// STATS-DAG:  1 folded - batch norms folded into a conv or gemm
// STATS-DAG:  2 fused - activations fused into their producer
