isa.program @p config("intelfocl") {
  isa.load foo sram 0 dram 0 size 1x1 stride 1
  isa.finish
}
