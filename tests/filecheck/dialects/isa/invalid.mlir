// One case per verifier error. Numbers are those of the presets (docs/isa.md, hw.py):
// intelfocl buffers hold UOP 8192, INP 2048, WGT 1024, ACC 2048 elements (2^15 B / 4 B,
// 2^15 B / 16 B, 2^18 B / 256 B, 2^17 B / 64 B); tiny (BATCH 1, BLOCK 4) holds UOP 256,
// INP 128, WGT 64, ACC 128 (2^10 / 4, 2^9 / 4, 2^10 / 16, 2^11 / 16).
// Each case states its error with an expected-error directive on the line above the op
// the error is reported at; --verify-diagnostics fails on a missing or an extra error.
// RUN: canopy-opt --split-input-file --verify-diagnostics %s
// Every case must fail: no chunk may print a (custom-form) module.
// RUN: canopy-opt --split-input-file --verify-diagnostics %s | filecheck %s --check-prefix=NONE-VALID
// NONE-VALID-NOT: {{^}}builtin.module

// ======== field widths ========
// sram_base is a 16-bit field after the 3-bit opcode, 4 token flags and 3-bit memory type.
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (LOAD INP) of @p: mem.sram_base = 65536 does not fit its 16-bit field (word 0 bits [10:26)): allowed range is [0, 65535]}}
  isa.load inp sram 65536 dram 0 size 1x1 stride 1
  isa.finish
}

// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (STORE OUT) of @p: mem.dram_base = -1 does not fit its 32-bit field (word 0 bits [26:58)): allowed range is [0, 4294967295]}}
  isa.store out sram 0 dram -1 size 1x1 stride 1
  isa.finish
}

// -----
// uop_end has log2(UOP depth) + 1 = 14 bits on intelfocl.
isa.program @p config("intelfocl") {
  // expected-error-re@+1 {{instruction 0 (GEMM) of @p: gemm.uop_end = 16384 does not fit its 14-bit field{{.*}}allowed range is [0, 16383]}}
  isa.gemm uops [0, 16384) iter 1x1
  isa.finish
}

// -----
// The ALU immediate is signed 16-bit.
isa.program @p config("intelfocl") {
  // expected-error-re@+1 {{instruction 0 (ALU ADD) of @p: alu.imm = 32768 does not fit its 16-bit field{{.*}}allowed range is [-32768, 32767]}}
  isa.alu add imm 32768 uops [0, 1) iter 1x1
  isa.finish
}

// -----
// Loop extents are 14-bit.
isa.program @p config("tiny") {
  // expected-error-re@+1 {{instruction 0 (ALU MAX) of @p: alu.iter_out = 16384 does not fit its 14-bit field{{.*}}allowed range is [0, 16383]}}
  isa.alu max imm 0 uops [0, 1) iter 16384x1
  isa.finish
}

// -----
// A micro-op's dst has log2(ACC depth) = 11 bits on intelfocl.
isa.program @p config("intelfocl") {
  isa.uops at 0 {
    isa.uop dst 0 src 0 wgt 0
    // expected-error@+1 {{micro-op 1 of @p: uop.dst = 2048 does not fit its 11-bit field (word 0 bits [0:11)): allowed range is [0, 2047]}}
    isa.uop dst 2048 src 0 wgt 0
  }
  isa.finish
}

// -----
// ... and wgt log2(WGT depth) = 6 bits on tiny.
isa.program @p config("tiny") {
  isa.uops at 0 {
    // expected-error-re@+1 {{micro-op 0 of @p: uop.wgt = 64 does not fit its 6-bit field{{.*}}allowed range is [0, 63]}}
    isa.uop dst 0 src 0 wgt 64
  }
  isa.finish
}

// ======== well-formedness ========
// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (LOAD OUT) of @p: memory type OUT cannot be loaded}}
  isa.load out sram 0 dram 0 size 1x1 stride 1
  isa.finish
}

// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (LOAD WGT) of @p: padding is only supported on INP loads, got {'x_pad0': 1} on WGT}}
  isa.load wgt sram 0 dram 0 size 1x1 stride 1 pad [0, 0, 1, 0]
  isa.finish
}

// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (STORE ACC) of @p: only the OUT buffer can be stored, got ACC}}
  isa.store acc sram 0 dram 0 size 1x1 stride 1
  isa.finish
}

// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (STORE OUT) of @p: stores cannot pad, got {'y_pad0': 1}}}
  isa.store out sram 0 dram 0 size 1x1 stride 1 pad [1, 0, 0, 0]
  isa.finish
}

// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (STORE OUT) of @p: x_stride = 8 < x_size = 16: stored rows would overlap}}
  isa.store out sram 0 dram 0 size 2x16 stride 8
  isa.finish
}

// -----
// With padding, the INP window is (1 + 8 + 1) x (2 + 12 + 2) = 160 elements > 128 on tiny.
isa.program @p config("tiny") {
  // expected-error@+1 {{instruction 0 (LOAD INP) of @p: SRAM window [0, 160) of 10 rows x 16 elements exceeds the INP buffer depth 128}}
  isa.load inp sram 0 dram 0 size 8x12 stride 12 pad [1, 1, 2, 2]
  isa.finish
}

// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (GEMM) of @p: empty micro-op range [3, 3)}}
  isa.gemm uops [3, 3) iter 1x1
  isa.finish
}

// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (GEMM) of @p: micro-op range [0, 8193) exceeds the UOP buffer depth 8192}}
  isa.gemm uops [0, 8193) iter 1x1
  isa.finish
}

// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (ALU ADD) of @p: loop extents must be >= 1, got iter_out = 0, iter_in = 1}}
  isa.alu add imm 1 uops [0, 1) iter 0x1
  isa.finish
}

// -----
// LOAD INP runs on the load module, which has no "prev" neighbour.
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (LOAD INP) of @p: pop_prev is not valid on the load module (allowed: pop_next, push_next)}}
  isa.load inp sram 0 dram 0 size 1x1 stride 1 deps [pop_prev]
  isa.finish
}

// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{instruction 0 (STORE OUT) of @p: push_next is not valid on the store module (allowed: pop_prev, push_prev)}}
  isa.store out sram 0 dram 0 size 1x1 stride 1 deps [push_next]
  isa.finish
}

// -----
// The index names the instruction within the program (micro-op tables do not count).
isa.program @p config("intelfocl") {
  isa.uops at 0 {
  }
  isa.finish
  // expected-error@+1 {{instruction 1 (LOAD WGT) of @p: SRAM window [1024, 1025) of 1 rows x 1 elements exceeds the WGT buffer depth 1024}}
  isa.load wgt sram 1024 dram 0 size 1x1 stride 1
  isa.finish
}

// ======== program structure ========
// -----
// expected-error@+1 {{isa.load must be directly inside an isa.program, which gives it its hardware config (it is in builtin.module)}}
isa.load inp sram 0 dram 0 size 1x1 stride 1

// -----
isa.program @p config("intelfocl") {
  isa.uops at 0 {
    // expected-error@+1 {{isa.finish must be directly inside an isa.program, which gives it its hardware config (it is in isa.uops)}}
    isa.finish
  }
  isa.finish
}

// -----
// expected-error@+1 {{isa.program @p has no instructions; a program ends with isa.finish}}
isa.program @p config("intelfocl") {
}

// -----
// expected-error@+1 {{isa.program @p must end with isa.finish, but its last instruction (1) is STORE OUT}}
isa.program @p config("intelfocl") {
  isa.finish
  isa.store out sram 0 dram 0 size 1x1 stride 1
}

// -----
// expected-error@+1 {{isa.program @p may only contain isa.uops and isa instructions, found arith.constant}}
isa.program @p config("intelfocl") {
  %0 = arith.constant 0 : i32
  isa.finish
}

// -----
// expected-error@+1 {{isa.program @p has 2 isa.uops tables; a program has at most one}}
isa.program @p config("intelfocl") {
  isa.uops at 0 {
  }
  isa.uops at 8 {
  }
  isa.finish
}

// -----
// expected-error@+1 {{isa.uops must be directly inside an isa.program}}
isa.uops at 0 {
}

// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{isa.uop must be inside an isa.uops table of an isa.program}}
  isa.uop dst 0 src 0 wgt 0
  isa.finish
}

// -----
isa.program @p config("intelfocl") {
  // expected-error@+1 {{micro-op table of @p at DRAM elements [-1, 0) is not addressable: LOAD dram_base allows [0, 4294967295]}}
  isa.uops at -1 {
    isa.uop dst 0 src 0 wgt 0
  }
  isa.finish
}

// -----
// expected-error@+1 {{isa.program @p: invalid hardware config: hardware config 'not-a-preset' is neither a preset (intelfocl, vitis, tiny, tiny-b2) nor a JSON file}}
isa.program @p config("not-a-preset") {
  isa.finish
}

// -----
// expected-error@+1 {{isa.program @p: invalid hardware config: inline config: missing hardware-config keys ['LOG_ACC_BUFF_SIZE', 'LOG_INP_BUFF_SIZE', 'LOG_UOP_BUFF_SIZE', 'LOG_WGT_BUFF_SIZE']}}
isa.program @p config({LOG_BATCH = 0, LOG_BLOCK = 4}) {
  isa.finish
}

// ======== micro-op usage ========
// -----
// The table holds DRAM micro-ops [100, 102); the load reads [101, 103).
// expected-error@+1 {{instruction 0 (LOAD UOP) of @p: reads DRAM micro-ops [101, 103) (dram_base = 101, size 1x2, stride 2), outside the program's micro-op table at [100, 102)}}
isa.program @p config("intelfocl") {
  isa.uops at 100 {
    isa.uop dst 0 src 0 wgt 0
    isa.uop dst 1 src 1 wgt 1
  }
  isa.load uop sram 0 dram 101 size 1x2 stride 2
  isa.finish
}

// -----
// Entries 0 and 1 are loaded; the GEMM reads [0, 3).
// expected-error@+1 {{instruction 1 (GEMM) of @p: reads UOP buffer entry 2 (micro-op range [0, 3)), which no earlier LOAD UOP filled}}
isa.program @p config("intelfocl") {
  isa.uops at 0 {
    isa.uop dst 0 src 0 wgt 0
    isa.uop dst 1 src 1 wgt 1
  }
  isa.load uop sram 0 dram 0 size 1x2 stride 2
  isa.gemm uops [0, 3) iter 1x1
  isa.finish
}

// -----
// A GEMM before the LOAD UOP reads an empty UOP buffer.
// expected-error@+1 {{instruction 0 (ALU ADD) of @p: reads UOP buffer entry 0 (micro-op range [0, 1)), which no earlier LOAD UOP filled}}
isa.program @p config("intelfocl") {
  isa.uops at 0 {
    isa.uop dst 0 src 0 wgt 0
  }
  isa.alu add imm 1 uops [0, 1) iter 1x1
  isa.load uop sram 0 dram 0 size 1x1 stride 1
  isa.finish
}

// -----
// dst = 120 + o * 3 + i * 1: iter 2x5 reaches 120 + 3 + 4 = 127 and iter 3x2 reaches
// 120 + 6 + 1 = 127, both inside tiny's ACC (128); iter 4x2 reaches 120 + 9 + 1 = 130.
// expected-error@+1 {{instruction 3 (GEMM) of @p: dst index reaches 130 (at o = 3, i = 1, micro-op 0: dst 120 + 3 * dst_factor_out 3 + 1 * dst_factor_in 1), outside the ACC buffer: allowed [0, 127]}}
isa.program @p config("tiny") {
  isa.uops at 0 {
    isa.uop dst 120 src 0 wgt 0
  }
  isa.load uop sram 0 dram 0 size 1x1 stride 1
  isa.gemm reset uops [0, 1) iter 2x5 dst (3, 1)
  isa.gemm reset uops [0, 1) iter 3x2 dst (3, 1)
  isa.gemm reset uops [0, 1) iter 4x2 dst (3, 1)
  isa.finish
}

// -----
// GEMM src indexes INP (128 on tiny): micro-op 1 has src 126, + 1 * 2 = 128.
// expected-error@+1 {{instruction 1 (GEMM) of @p: src index reaches 128 (at o = 1, i = 0, micro-op 1: src 126 + 1 * src_factor_out 2 + 0 * src_factor_in 0), outside the INP buffer: allowed [0, 127]}}
isa.program @p config("tiny") {
  isa.uops at 0 {
    isa.uop dst 0 src 0 wgt 0
    isa.uop dst 0 src 126 wgt 0
  }
  isa.load uop sram 0 dram 0 size 1x2 stride 2
  isa.gemm uops [0, 2) iter 2x1 src (2, 0)
  isa.finish
}

// -----
// GEMM wgt indexes WGT (64 on tiny).
// expected-error@+1 {{instruction 1 (GEMM) of @p: wgt index reaches 64 (at o = 0, i = 1, micro-op 0: wgt 63 + 0 * wgt_factor_out 0 + 1 * wgt_factor_in 1), outside the WGT buffer: allowed [0, 63]}}
isa.program @p config("tiny") {
  isa.uops at 0 {
    isa.uop dst 0 src 0 wgt 63
  }
  isa.load uop sram 0 dram 0 size 1x1 stride 1
  isa.gemm uops [0, 1) iter 1x2 wgt (0, 1)
  isa.finish
}

// -----
// A GEMM reset, or an ALU with an immediate, uses no src: a src beyond INP/ACC is fine
// there. An ALU without immediate reads ACC[src] (128 on tiny).
// expected-error@+1 {{instruction 3 (ALU ADD) of @p: src index reaches 130 (at o = 0, i = 3, micro-op 0: src 127 + 0 * src_factor_out 0 + 3 * src_factor_in 1), outside the ACC buffer: allowed [0, 127]}}
isa.program @p config("tiny") {
  isa.uops at 0 {
    isa.uop dst 0 src 127 wgt 63
  }
  isa.load uop sram 0 dram 0 size 1x1 stride 1
  isa.gemm reset uops [0, 1) iter 1x4 src (0, 1) wgt (0, 1)
  isa.alu add imm 3 uops [0, 1) iter 1x4 src (0, 1)
  isa.alu add uops [0, 1) iter 1x4 src (0, 1)
  isa.finish
}

// -----
// A 16383 x 16383 x 2 loop (5.4e8 steps) is bounded in closed form: the first micro-op
// has dst 1, so the maximum is 1 + 16382 * 0 + 16382 * 1 = 16383.
// expected-error@+1 {{instruction 1 (GEMM) of @p: dst index reaches 16383 (at o = 0, i = 16382, micro-op 0: dst 1 + 0 * dst_factor_out 0 + 16382 * dst_factor_in 1), outside the ACC buffer: allowed [0, 2047]}}
isa.program @p config("intelfocl") {
  isa.uops at 0 {
    isa.uop dst 1 src 0 wgt 0
    isa.uop dst 0 src 0 wgt 0
  }
  isa.load uop sram 0 dram 0 size 1x2 stride 2
  isa.gemm reset uops [0, 2) iter 16383x16383 dst (0, 1)
  isa.finish
}
