// Graph canonicalization patterns, through xDSL's generic canonicalize (the ops' trait)
// and through graph-canonicalize: both give the same IR. Only exact rewrites happen.
// RUN: canopy-opt %s -p canonicalize | filecheck %s
// RUN: canopy-opt %s -p graph-canonicalize | filecheck %s

// CHECK-LABEL: func.func @transposes
func.func @transposes(%x: tensor<1x3x4x5xf32>, %m: tensor<2x3xf32>) -> (tensor<1x3x4x5xf32>, tensor<1x5x3x4xf32>, tensor<2x3xf32>) {
  %nhwc = graph.transpose %x {perm = [0, 2, 3, 1]} : (tensor<1x3x4x5xf32>) -> tensor<1x4x5x3xf32>
  %back = graph.transpose %nhwc {perm = [0, 3, 1, 2]} : (tensor<1x4x5x3xf32>) -> tensor<1x3x4x5xf32>
  %t = graph.transpose %x {perm = [0, 2, 1, 3]} : (tensor<1x3x4x5xf32>) -> tensor<1x4x3x5xf32>
  %tt = graph.transpose %t {perm = [0, 3, 2, 1]} : (tensor<1x4x3x5xf32>) -> tensor<1x5x3x4xf32>
  %id = graph.transpose %m {perm = [0, 1]} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return %back, %tt, %id : tensor<1x3x4x5xf32>, tensor<1x5x3x4xf32>, tensor<2x3xf32>
  // The composition [0,2,1,3] then [0,3,2,1] is [0,3,1,2]; inverse pairs and identities vanish.
  // CHECK-NEXT:  %tt = graph.transpose %x {perm = [0, 3, 1, 2]} : (tensor<1x3x4x5xf32>) -> tensor<1x5x3x4xf32>
  // CHECK-NEXT:  func.return %x, %tt, %m
}

// CHECK-LABEL: func.func @reshapes
func.func @reshapes(%x: tensor<2x3x4xf32>) -> (tensor<4x6xf32>, tensor<2x12xf32>, tensor<2x3x4xf32>) {
  %flat = graph.flatten %x {axis = 2} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %r = graph.reshape %flat {shape = [4, 6]} : (tensor<6x4xf32>) -> tensor<4x6xf32>
  %f = graph.flatten %x : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  %a = graph.reshape %x {shape = [24]} : (tensor<2x3x4xf32>) -> tensor<24xf32>
  %b = graph.reshape %a {shape = [2, 3, 4]} : (tensor<24xf32>) -> tensor<2x3x4xf32>
  func.return %r, %f, %b : tensor<4x6xf32>, tensor<2x12xf32>, tensor<2x3x4xf32>
  // CHECK-NEXT:  %r = graph.reshape %x {shape = [4, 6]} : (tensor<2x3x4xf32>) -> tensor<4x6xf32>
  // CHECK-NEXT:  %f = graph.reshape %x {shape = [2, 12]} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
  // CHECK-NEXT:  func.return %r, %f, %x
}

// CHECK-LABEL: func.func @arithmetic_identities
func.func @arithmetic_identities(%x: tensor<2x3xf32>, %i: tensor<3xi32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<3xi32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %negzero = graph.constant dense<-0.0> : tensor<3xf32>
  %zero = graph.constant dense<0.0> : tensor<3xf32>
  %one = graph.constant dense<1.0> : tensor<1xf32>
  %izero = graph.constant dense<0> : tensor<3xi32>
  %a = graph.add %negzero, %x : (tensor<3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %s = graph.sub %a, %zero : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %m = graph.mul %one, %s : (tensor<1xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  %d = graph.div %m, %one : (tensor<2x3xf32>, tensor<1xf32>) -> tensor<2x3xf32>
  %ai = graph.add %i, %izero : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
  // Not identities: x + +0.0 turns -0.0 into +0.0; x - -0.0 likewise; 0 - x negates.
  %kept1 = graph.add %x, %zero : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %kept2 = graph.sub %x, %negzero : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  func.return %d, %d, %ai, %kept1, %kept2 : tensor<2x3xf32>, tensor<2x3xf32>, tensor<3xi32>, tensor<2x3xf32>, tensor<2x3xf32>
  // CHECK-NEXT:  %negzero = graph.constant dense<"0x00000080"> : tensor<3xf32>
  // CHECK-NEXT:  %zero = graph.constant dense<"0x00000000"> : tensor<3xf32>
  // CHECK-NEXT:  %kept1 = graph.add %x, %zero
  // CHECK-NEXT:  %kept2 = graph.sub %x, %negzero
  // CHECK-NEXT:  func.return %x, %x, %i, %kept1, %kept2
}

// A broadcast that grows the result is not an identity.
// CHECK-LABEL: func.func @growing_broadcast
func.func @growing_broadcast(%x: tensor<1x3xf32>) -> tensor<2x3xf32> {
  %one = graph.constant dense<1.0> : tensor<2x1xf32>
  %m = graph.mul %x, %one : (tensor<1x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  func.return %m : tensor<2x3xf32>
  // CHECK:       %m = graph.mul %x, %one
}

// CHECK-LABEL: func.func @variadic
func.func @variadic(%x: tensor<2x3xf32>, %y: tensor<2x1xf32>) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x6xf32>) {
  %s = graph.sum %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %c = graph.concat %s {axis = 1} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %inner = graph.concat %y, %y {axis = 1} : (tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x2xf32>
  %outer = graph.concat %x, %inner, %y {axis = 1} : (tensor<2x3xf32>, tensor<2x2xf32>, tensor<2x1xf32>) -> tensor<2x6xf32>
  func.return %s, %c, %outer : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x6xf32>
  // CHECK-NEXT:  %outer = graph.concat %x, %y, %y, %y {axis = 1} : (tensor<2x3xf32>, tensor<2x1xf32>, tensor<2x1xf32>, tensor<2x1xf32>) -> tensor<2x6xf32>
  // CHECK-NEXT:  func.return %x, %x, %outer
}

// CHECK-LABEL: func.func @activations
func.func @activations(%x: tensor<4xf32>, %q: tensor<4xi8>) -> (tensor<4xf32>, tensor<4xi8>, tensor<4xi8>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %all = graph.clip %x : (tensor<4xf32>) -> tensor<4xf32>
  %wide = graph.clip %q {min = -200.0, max = 127.0} : (tensor<4xi8>) -> tensor<4xi8>
  %narrow = graph.clip %q {min = -127.0, max = 127.0} : (tensor<4xi8>) -> tensor<4xi8>
  %huge = graph.clip %x {min = -3.4028234663852886e+38, max = 3.4028234663852886e+38} : (tensor<4xf32>) -> tensor<4xf32>
  %r1 = graph.relu %x : (tensor<4xf32>) -> tensor<4xf32>
  %r2 = graph.relu %r1 : (tensor<4xf32>) -> tensor<4xf32>
  %p = graph.pad %x {pads = [0, 0]} : (tensor<4xf32>) -> tensor<4xf32>
  func.return %all, %wide, %narrow, %huge, %r2, %p : tensor<4xf32>, tensor<4xi8>, tensor<4xi8>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
  // -128 is clipped to -127 and +-inf to the largest finite float: those clips stay.
  // CHECK-NEXT:  %narrow = graph.clip %q {min = -127.0, max = 127.0}
  // CHECK-NEXT:  %huge = graph.clip %x
  // CHECK-NEXT:  %r1 = graph.relu %x
  // CHECK-NEXT:  func.return %x, %q, %narrow, %huge, %r1, %x
}

// Values are never folded through quantization (dequantize(quantize(x)) rounds), and an
// op carrying a fused activation is left alone.
// CHECK-LABEL: func.func @not_rewritten
func.func @not_rewritten(%x: tensor<4xf32>, %m: tensor<2x3xf32>) -> (tensor<4xf32>, tensor<2x3xf32>) {
  %scale = graph.constant dense<0.5> : tensor<f32>
  %q = graph.quantize_linear %x, %scale : (tensor<4xf32>, tensor<f32>) -> tensor<4xui8>
  %dq = graph.dequantize_linear %q, %scale : (tensor<4xui8>, tensor<f32>) -> tensor<4xf32>
  %t = graph.transpose %m : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %tt = graph.transpose %t attributes {fused_activation = "relu"} : (tensor<3x2xf32>) -> tensor<2x3xf32>
  func.return %dq, %tt : tensor<4xf32>, tensor<2x3xf32>
  // CHECK:       %q = graph.quantize_linear %x, %scale
  // CHECK-NEXT:  %dq = graph.dequantize_linear %q, %scale
  // CHECK-NEXT:  %t = graph.transpose %m
  // CHECK-NEXT:  %tt = graph.transpose %t attributes {fused_activation = "relu"}
  // CHECK-NEXT:  func.return %dq, %tt
}

// A two-input sum is an add (the form graph-fold-qdq matches for residuals); ops rebuilt
// by a pattern keep the replaced op's discardable attributes (graph-partition's placement).
// CHECK-LABEL: func.func @rebuilt_ops_keep_attributes
func.func @rebuilt_ops_keep_attributes(%x: tensor<2x3xf32>, %y: tensor<1x3xf32>) -> (tensor<2x3xf32>, tensor<6xf32>) {
  %s = graph.sum %x, %y attributes {canopy.placement = "host"} : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xf32>
  %r = graph.reshape %x {shape = [3, 2]} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %rr = graph.reshape %r {shape = [6]} attributes {canopy.placement = "card"} : (tensor<3x2xf32>) -> tensor<6xf32>
  func.return %s, %rr : tensor<2x3xf32>, tensor<6xf32>
  // CHECK-NEXT:  %s = graph.add %x, %y attributes {canopy.placement = "host"} : (tensor<2x3xf32>, tensor<1x3xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT:  %rr = graph.reshape %x {shape = [6]} attributes {canopy.placement = "card"} : (tensor<2x3xf32>) -> tensor<6xf32>
  // CHECK-NEXT:  func.return %s, %rr
}
