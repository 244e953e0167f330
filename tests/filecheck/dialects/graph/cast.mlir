// graph.cast in custom form prints back unchanged, survives a second round trip, and the
// generic form (with its `to` property) round-trips to the same custom form.
// RUN: canopy-opt %s | filecheck %s
// RUN: canopy-opt %s | canopy-opt | filecheck %s
// RUN: canopy-opt %s --print-op-generic | canopy-opt | filecheck %s
// RUN: canopy-opt %s --print-op-generic | filecheck %s --check-prefix=GENERIC

// CHECK-LABEL: func.func @casts
func.func @casts(%x: tensor<1x3xi8>, %f: tensor<2xf32>) -> (tensor<1x3xi32>, tensor<1x3xui8>, tensor<2xi8>, tensor<1x3xf32>) {
  %wide = graph.cast %x {to = "i32"} : (tensor<1x3xi8>) -> tensor<1x3xi32>
  // CHECK-NEXT: %wide = graph.cast %x {to = "i32"} : (tensor<1x3xi8>) -> tensor<1x3xi32>
  %narrow = graph.cast %wide {to = "ui8"} : (tensor<1x3xi32>) -> tensor<1x3xui8>
  // CHECK-NEXT: %narrow = graph.cast %wide {to = "ui8"} : (tensor<1x3xi32>) -> tensor<1x3xui8>
  %trunc = graph.cast %f {to = "i8"} : (tensor<2xf32>) -> tensor<2xi8>
  // CHECK-NEXT: %trunc = graph.cast %f {to = "i8"} : (tensor<2xf32>) -> tensor<2xi8>
  %float = graph.cast %narrow {to = "f32"} : (tensor<1x3xui8>) -> tensor<1x3xf32>
  // CHECK-NEXT: %float = graph.cast %narrow {to = "f32"} : (tensor<1x3xui8>) -> tensor<1x3xf32>
  func.return %wide, %narrow, %trunc, %float : tensor<1x3xi32>, tensor<1x3xui8>, tensor<2xi8>, tensor<1x3xf32>
}
// GENERIC: "graph.cast"(%x) <{to = "i32"}> : (tensor<1x3xi8>) -> tensor<1x3xi32>
