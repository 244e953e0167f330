isa.program @p config("intelfocl") {
  isa.load inp sram 65536 dram 0 size 1x1 stride 1
  isa.finish
}
