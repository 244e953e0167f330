func.func @quadruple(%x: i32) -> i32 {
  %0 = demo.double %x : i32
  %1 = demo.double %0 : i32
  func.return %1 : i32
}
