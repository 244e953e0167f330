// graph-fuse-activations: relu/clip of a single-use conv/gemm/matmul result becomes the
// producer's fused_activation attributes (clip keeps its finite bounds as f64 attributes).
// RUN: canopy-opt %s -p graph-fuse-activations | filecheck %s
// RUN: canopy-opt %s -p graph-fuse-activations | canopy-opt --print-op-generic | filecheck %s --check-prefix=GENERIC

// CHECK-LABEL: func.func @fused
func.func @fused(%x: tensor<1x2x3x3xf32>, %a: tensor<2x2xf32>, %q: tensor<1x2x3x3xi8>) -> (tensor<1x2x3x3xf32>, tensor<2x2xf32>, tensor<1x2x3x3xi32>) {
  %w = graph.constant dense<0.5> : tensor<2x2x1x1xf32>
  %y = graph.conv %x, %w : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  %r = graph.relu %y : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %g = graph.gemm %a, %a {trans_b = 1} : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %c = graph.clip %g {min = 0.0, max = 6.0} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %qw = graph.constant dense<3> : tensor<2x2x1x1xi8>
  %i = graph.conv_integer %q, %qw : (tensor<1x2x3x3xi8>, tensor<2x2x1x1xi8>) -> tensor<1x2x3x3xi32>
  %ic = graph.clip %i {min = -100.0} : (tensor<1x2x3x3xi32>) -> tensor<1x2x3x3xi32>
  func.return %r, %c, %ic : tensor<1x2x3x3xf32>, tensor<2x2xf32>, tensor<1x2x3x3xi32>
  // CHECK:       %y = graph.conv %x, %w attributes {fused_activation = "relu"} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
  // CHECK-NEXT:  %g = graph.gemm %a, %a {trans_b = 1} attributes {fused_activation = "clip", fused_activation_min = 0.000000e+00 : f64, fused_activation_max = 6.000000e+00 : f64}
  // CHECK:       %i = graph.conv_integer %q, %qw attributes {fused_activation = "clip", fused_activation_min = -1.000000e+02 : f64}
  // CHECK-NEXT:  func.return %y, %g, %i
  // GENERIC:     "graph.conv"(%{{.*}}, %{{.*}}) <{{.*}}> {fused_activation = "relu"}
}

// Not fused: the producer has another user; the activation is not relu/clip; the
// producer is not a matrix op; the producer already carries an activation.
// CHECK-LABEL: func.func @kept
func.func @kept(%a: tensor<2x2xf32>) -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>) {
  %m = graph.matmul %a, %a : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %r = graph.relu %m : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %m2 = graph.matmul %a, %a : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %s = graph.sigmoid %m2 : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %add = graph.add %a, %a : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %r2 = graph.relu %add : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %m3 = graph.matmul %a, %a : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
  %c3 = graph.clip %m3 {max = 1.0} : (tensor<2x2xf32>) -> tensor<2x2xf32>
  %r3 = graph.relu %c3 : (tensor<2x2xf32>) -> tensor<2x2xf32>
  func.return %m, %r, %s, %r2, %r3 : tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xf32>
  // CHECK:       %r = graph.relu %m
  // CHECK:       %s = graph.sigmoid %m2
  // CHECK:       %r2 = graph.relu %add
  // CHECK:       %m3 = graph.matmul %a, %a attributes {fused_activation = "clip", fused_activation_max = 1.000000e+00 : f64}
  // CHECK-NEXT:  %r3 = graph.relu %m3
}
