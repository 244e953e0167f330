// graph.cast verifier errors, one per case.
// RUN: canopy-opt --split-input-file --verify-diagnostics %s
// RUN: canopy-opt --split-input-file --verify-diagnostics %s | filecheck %s --check-prefix=NONE-VALID
// NONE-VALID-NOT: {{^}}builtin.module

func.func @f(%x: tensor<1x3xi8>) {
  // expected-error@+1 {{graph.cast: property 'to' = 'i64' is not one of i8, ui8, i32, f32}}
  %y = graph.cast %x {to = "i64"} : (tensor<1x3xi8>) -> tensor<1x3xi64>
  func.return
}

// -----
func.func @f(%x: tensor<1x3xi8>) {
  // expected-error@+1 {{graph.cast: result type tensor<1x3xi8> does not match the inferred type tensor<1x3xi32>}}
  %y = graph.cast %x {to = "i32"} : (tensor<1x3xi8>) -> tensor<1x3xi8>
  func.return
}

// -----
func.func @f(%x: tensor<2xi64>) {
  // expected-error@+1 {{graph.cast: input element type must be i8/ui8/i32/f32, got i64 (tensor<2xi64>)}}
  %y = graph.cast %x {to = "i32"} : (tensor<2xi64>) -> tensor<2xi32>
  func.return
}

// -----
func.func @f(%x: tensor<2xi8>) {
  // expected-error@+1 {{property 'to' expected in operation 'graph.cast'}}
  %y = graph.cast %x : (tensor<2xi8>) -> tensor<2xi32>
  func.return
}
