// graph.constant always prints its data as one hex string (a single element when all
// elements are bitwise equal); dense_resource values keep their handle and the module's
// blob section round-trips.
// RUN: canopy-opt %s | filecheck %s
// RUN: canopy-opt %s | canopy-opt | filecheck %s
// RUN: canopy-opt %s --print-op-generic | canopy-opt | filecheck %s

// CHECK-LABEL: func.func @constants
func.func @constants() -> tensor<2xf32> {
  %list = graph.constant dense<[[1, -2], [3, 127]]> : tensor<2x2xi8>
  // CHECK:      %list = graph.constant dense<"0x01FE037F"> : tensor<2x2xi8>
  %splat = graph.constant dense<"0x0000C03F0000C03F0000C03F"> : tensor<3xf32>
  // CHECK-NEXT: %splat = graph.constant dense<"0x0000C03F"> : tensor<3xf32>
  %u8 = graph.constant dense<[0, 255]> : tensor<2xui8>
  // CHECK-NEXT: %u8 = graph.constant dense<"0x00FF"> : tensor<2xui8>
  %i32 = graph.constant dense<[-1, 65536]> : tensor<2xi32>
  // CHECK-NEXT: %i32 = graph.constant dense<"0xFFFFFFFF00000100"> : tensor<2xi32>
  %bools = graph.constant dense<[true, false, true]> : tensor<3xi1>
  // CHECK-NEXT: %bools = graph.constant dense<"0x010001"> : tensor<3xi1>
  %scalar = graph.constant dense<"0x000000000000F0BF"> : tensor<f64>
  // CHECK-NEXT: %scalar = graph.constant dense<"0x000000000000F0BF"> : tensor<f64>
  %empty = graph.constant dense<"0x"> : tensor<0x3xf32>
  // CHECK-NEXT: %empty = graph.constant dense<"0x"> : tensor<0x3xf32>
  %blob = graph.constant dense_resource<conv_w> : tensor<2xf32>
  // CHECK-NEXT: %blob = graph.constant dense_resource<conv_w> : tensor<2xf32>
  func.return %blob : tensor<2xf32>
}

// CHECK:      {-#
// CHECK-NEXT:   dialect_resources: {
// CHECK-NEXT:     builtin: {
// CHECK-NEXT:       conv_w: "0x040000000000803F00000040"
{-#
  dialect_resources: {
    builtin: {
      conv_w: "0x040000000000803F00000040"
    }
  }
#-}
