// A directive with an unclosed message.
func.func @f() {
  // expected-error@+1 {{unclosed }
  func.return
}
