// xDSL's dce removes unused graph ops (they are Pure), constants included, and keeps
// everything the results depend on.
// RUN: canopy-opt %s -p dce | filecheck %s

// CHECK-LABEL: func.func @main
func.func @main(%x: tensor<1x2x4x4xf32>) -> tensor<1x2x1x1xf32> {
  %w = graph.constant dense<0.5> : tensor<2x2x1x1xf32>
  %conv = graph.conv %x, %w : (tensor<1x2x4x4xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x4x4xf32>
  %dead_relu = graph.relu %conv : (tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %dead_pool = graph.max_pool %dead_relu {kernel_shape = [2, 2]} : (tensor<1x2x4x4xf32>) -> tensor<1x2x3x3xf32>
  %unused_c = graph.constant dense<1.0> : tensor<4xf32>
  %gap = graph.global_average_pool %conv : (tensor<1x2x4x4xf32>) -> tensor<1x2x1x1xf32>
  func.return %gap : tensor<1x2x1x1xf32>
  // CHECK-NEXT:  %w = graph.constant
  // CHECK-NEXT:  %conv = graph.conv %x, %w
  // CHECK-NEXT:  %gap = graph.global_average_pool %conv
  // CHECK-NEXT:  func.return %gap
}
