// The isa-bin target and canopy-disasm: exact bytes, and mlir -> bin -> mlir -> bin.
// RUN: rm -rf %t && mkdir -p %t
// RUN: canopy-opt %s -t isa-bin -o %t/prog.bin
// RUN: od -An -tx1 -v %t/prog.bin | filecheck %s --check-prefix=BYTES
// RUN: od -An -tx4 -v %t/prog.uops.bin | filecheck %s --check-prefix=UOPS
// RUN: canopy-disasm %t/prog.bin --uops %t/prog.uops.bin --uop-base 64 --config tiny > %t/back.mlir
// RUN: filecheck %s --input-file %t/back.mlir --check-prefix=DISASM
// RUN: canopy-opt %t/back.mlir -t isa-bin -o %t/back.bin
// RUN: cmp %t/prog.bin %t/back.bin
// RUN: cmp %t/prog.uops.bin %t/back.uops.bin
// An explicit micro-op file, and the instruction bytes on stdout:
// RUN: canopy-opt %s -t 'isa-bin{uops="%t/explicit.uops"}' > %t/stdout.bin
// RUN: cmp %t/prog.bin %t/stdout.bin
// RUN: cmp %t/prog.uops.bin %t/explicit.uops

isa.program @prog config("tiny") {
  isa.uops at 64 {
    isa.uop dst 1 src 2 wgt 3
    isa.uop dst 127 src 127 wgt 63
  }
  isa.load uop sram 0 dram 64 size 1x2 stride 2
  isa.load inp sram 1 dram 2 size 3x4 stride 5 pad [1, 0, 0, 0] deps [push_next]
  isa.gemm uops [0, 1) iter 2x3 dst (4, 5) src (6, 7) wgt (8, 9) deps [pop_prev]
  isa.alu shr imm -2 uops [1, 2) iter 1x1
  isa.store out sram 0 dram 9 size 1x2 stride 2 deps [push_prev]
  isa.finish
}

// Worked out by hand from VTA's layout for tiny (UOP 256, INP 128, WGT 64, ACC 128, so
// uop_bgn 8 bits, ACC/INP factors 7, WGT factors 6): fields LSB first, opcode [0:3),
// pop_prev 3, pop_next 4, push_prev 5, push_next 6; a field that does not fit word 0
// starts word 1.
// LOAD UOP: dram_base 64 << 26 = 1 << 32; word 1 = y 1 | x 2 << 16 | stride 2 << 32.
// BYTES:      00 00 00 00 01 00 00 00 01 00 02 00 02 00 00 00
// LOAD INP: push_next 0x40 | INP 2 << 7 | sram 1 << 10 | dram 2 << 26 = 0x08000540;
// word 1 = 3 | 4 << 16 | 5 << 32 | y_pad0 1 << 48.
// BYTES-NEXT: 40 05 00 08 00 00 00 00 03 00 04 00 05 00 01 00
// GEMM: 2 | pop_prev 8 | uop_end 1 << 16 | iter_out 2 << 25 | iter_in 3 << 39 |
// dst_factor_out 4 << 53; word 1 = 5 | 6 << 7 | 7 << 14 | 8 << 21 | 9 << 27.
// BYTES-NEXT: 0a 00 01 04 80 01 80 00 05 c3 01 49 00 00 00 00
// ALU: 4 | uop_bgn 1 << 8 | uop_end 2 << 16 | 1 << 25 | 1 << 39; word 1 = SHR 3 << 21 |
// use_imm 1 << 24 | (-2 & 0xffff) << 25.
// BYTES-NEXT: 04 01 02 02 80 00 00 00 00 00 60 fd ff 01 00 00
// STORE: 1 | push_prev 0x20 | OUT 4 << 7 | dram 9 << 26; word 1 as the first LOAD.
// BYTES-NEXT: 21 02 00 24 00 00 00 00 01 00 02 00 02 00 00 00
// FINISH: opcode 3.
// BYTES-NEXT: 03 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
// BYTES-NOT: {{.}}

// Micro-ops: dst [0:7), src [7:14), wgt [14:20): 1 | 2 << 7 | 3 << 14; all ones.
// UOPS: 0000c101 000fffff

// DISASM:      isa.program @prog config("tiny") {
// DISASM-NEXT:   isa.uops at 64 {
// DISASM-NEXT:     isa.uop dst 1 src 2 wgt 3
// DISASM-NEXT:     isa.uop dst 127 src 127 wgt 63
// DISASM-NEXT:   }
// DISASM-NEXT:   isa.load uop sram 0 dram 64 size 1x2 stride 2
// DISASM-NEXT:   isa.load inp sram 1 dram 2 size 3x4 stride 5 pad [1, 0, 0, 0] deps [push_next]
// DISASM-NEXT:   isa.gemm uops [0, 1) iter 2x3 dst (4, 5) src (6, 7) wgt (8, 9) deps [pop_prev]
// DISASM-NEXT:   isa.alu shr imm -2 uops [1, 2) iter 1x1
// DISASM-NEXT:   isa.store out sram 0 dram 9 size 1x2 stride 2 deps [push_prev]
// DISASM-NEXT:   isa.finish
// DISASM-NEXT: }
