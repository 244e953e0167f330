isa.program @a config("intelfocl") {
  isa.finish
}
isa.program @b config("intelfocl") {
  isa.finish deps [pop_next]
}
