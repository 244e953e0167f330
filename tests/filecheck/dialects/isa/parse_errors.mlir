// Syntax errors of the isa custom formats, each naming what was expected.
// RUN: canopy-opt --split-input-file --parsing-diagnostics %s | filecheck %s

isa.program @p config("intelfocl") {
  isa.load foo sram 0 dram 0 size 1x1 stride 1
}
// CHECK: Expected `uop`, `wgt`, `inp`, `acc`, `out`, or `acc_8bit`.

// -----
isa.program @p config("intelfocl") {
  isa.gemm uops [0, 1] iter 1x1
}
// CHECK: Expected ')' (micro-op ranges are half-open: [bgn, end))

// -----
isa.program @p config("intelfocl") {
  isa.alu pow imm 1 uops [0, 1) iter 1x1
}
// CHECK: Expected `min`, `max`, `add`, `shr`, or `mul`.

// -----
isa.program @p config("intelfocl") {
  isa.finish deps [pop_prev, pop_prev]
}
// CHECK: deps [pop_prev, pop_prev] names a flag twice

// -----
isa.program @p config("intelfocl") {
  isa.finish deps [pop_now]
}
// CHECK: Expected one of 'pop_next', 'pop_prev', 'push_next', 'push_prev' (a dependency-token flag)

// -----
isa.program @p config("intelfocl") {
  isa.load inp sram 0 dram 0 size 1x1 stride 1 pad [1, 1, 1]
}
// CHECK: pad takes [y_pad0, y_pad1, x_pad0, x_pad1], got 3 values

// -----
isa.program @p config("intelfocl") {
  isa.gemm uops [0, 1) iter 1x1 dst (1, 2, 3)
}
// CHECK: dst takes (dst_factor_out, dst_factor_in), got 3 values

// -----
isa.program @p config("intelfocl") {
  isa.load inp sram 0 dram 0 size 1 stride 1
}
// CHECK: Expected 'x' in shape delimiter

// -----
isa.program @p config("intelfocl") {
  isa.load inp sram 0 dram 18446744073709551616 size 1x1 stride 1
}
// CHECK: dram_base = 18446744073709551616 does not fit in 64 bits

// -----
isa.program @p {
  isa.finish
}
// CHECK: Expected 'config'

// -----
isa.program @p config(7) {
  isa.finish
}
// CHECK: config takes a preset name or JSON path ("intelfocl") or a dictionary of VTA config keys ({LOG_BATCH = 0, ...})

// -----
isa.program @p config("intelfocl") {
  isa.uops {
  }
  isa.finish
}
// CHECK: Expected 'at' (isa.uops at <DRAM element> { ... })

// -----
isa.program @p config("intelfocl") {
  isa.uops at 0 {
    isa.uop dst x
  }
  isa.finish
}
// CHECK: Expected integer literal for dst
