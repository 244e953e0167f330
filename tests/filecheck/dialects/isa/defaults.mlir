// Clauses at their default may be left out of the input; the printer writes the
// canonical form (LOAD/STORE always show sram/dram/size/stride, loops their range).
// `0x16` in a size is 0 by 16 (shape syntax), not hexadecimal.
// RUN: canopy-opt %s | filecheck %s

isa.program @defaults config("tiny") {
  isa.uops at 0 {
    isa.uop
    isa.uop src 3
  }
  isa.load uop size 1x2 stride 2
  isa.load wgt
  isa.load inp pad [0, 0, 0, 1]
  isa.store out dram 9 size 0x16
  isa.gemm
  isa.gemm reset iter 1x1 dst (0, 0) src (0, 0) wgt (0, 0)
  isa.alu add
  isa.alu shr unused_imm 0 uops [1, 2)
  isa.finish deps []
}

// CHECK:      isa.program @defaults config("tiny") {
// CHECK-NEXT:   isa.uops at 0 {
// CHECK-NEXT:     isa.uop dst 0 src 0 wgt 0
// CHECK-NEXT:     isa.uop dst 0 src 3 wgt 0
// CHECK-NEXT:   }
// CHECK-NEXT:   isa.load uop sram 0 dram 0 size 1x2 stride 2
// CHECK-NEXT:   isa.load wgt sram 0 dram 0 size 1x1 stride 1
// CHECK-NEXT:   isa.load inp sram 0 dram 0 size 1x1 stride 1 pad [0, 0, 0, 1]
// CHECK-NEXT:   isa.store out sram 0 dram 9 size 0x16 stride 1
// CHECK-NEXT:   isa.gemm uops [0, 1) iter 1x1
// CHECK-NEXT:   isa.gemm reset uops [0, 1) iter 1x1
// CHECK-NEXT:   isa.alu add uops [0, 1) iter 1x1
// CHECK-NEXT:   isa.alu shr uops [1, 2) iter 1x1
// CHECK-NEXT:   isa.finish
// CHECK-NEXT: }
