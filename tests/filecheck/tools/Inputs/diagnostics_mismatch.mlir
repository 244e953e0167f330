// Wrong expectations for verify_diagnostics.mlir: each block gets one thing wrong.
// A wrong message: the error is unexpected, and the directive unmatched.
func.func @wrong_message() -> i32 {
  %0 = arith.constant 1 : i32
  // expected-error@+1 {{not the real message}}
  func.return
}
// -----
// A missing directive: the remark is unexpected.
func.func @missing() {
  %0 = arith.constant 1 : i32
  func.return
}
// -----
// The right text and line, but the wrong severity.
func.func @wrong_severity() {
  // expected-warning@+1 {{a constant}}
  %0 = arith.constant 1 : i32
  func.return
}
// -----
// expected-error@+1 {{never reported}}
func.func @quiet() {
  func.return
}
