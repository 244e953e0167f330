isa.program @t config("intelfocl") {
  isa.uops at 0 {
    isa.uop dst 0 src 0 wgt 0
  }
  isa.finish
}
