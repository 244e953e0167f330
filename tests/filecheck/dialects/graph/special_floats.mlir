// NaN payloads, infinities and signed zeros survive graph.constant's hex form bit for
// bit. (Only the custom form is checked: xDSL 0.74's generic printer writes small float
// constants as literal lists, prints NaN/inf elements as hex integers that its parser
// then reads back as integers, and treats [0.0, -0.0] as a splat.)
// RUN: canopy-opt %s | filecheck %s
// RUN: canopy-opt %s | canopy-opt | filecheck %s

// CHECK-LABEL: func.func @special
func.func @special() {
  %nan = graph.constant dense<"0x0000C07F0100C07F0000807F000080FF"> : tensor<4xf32>
  // CHECK:      %nan = graph.constant dense<"0x0000C07F0100C07F0000807F000080FF"> : tensor<4xf32>
  %zeros = graph.constant dense<"0x0000000000000080"> : tensor<2xf32>
  // CHECK-NEXT: %zeros = graph.constant dense<"0x0000000000000080"> : tensor<2xf32>
  %splat_nan = graph.constant dense<"0x000000000000F87F000000000000F87F"> : tensor<2xf64>
  // CHECK-NEXT: %splat_nan = graph.constant dense<"0x000000000000F87F"> : tensor<2xf64>
  func.return
}
