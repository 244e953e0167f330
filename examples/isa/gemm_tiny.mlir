// A 48x8x12 int8 GEMM with ReLU and requantization (x3, >>2) on the `tiny` core, as
// canopy_mlir.isa_programs writes it: the micro-op table and the weights are loaded
// once, then 3 tiles of up to 21 rows alternate between two INP/ACC buffer halves,
// with dependency tokens so that the load, compute and store modules overlap.
// DRAM element addresses: inputs at INP element 64, weights at WGT element
// 16, outputs at OUT element 128, micro-op table at UOP element 512.
//
//   canopy-opt examples/isa/gemm_tiny.mlir -t isa-bin -o gemm.bin
//   canopy-disasm gemm.bin --uops gemm.uops.bin --uop-base 512 --config tiny
isa.program @gemm_48x8x12 config("tiny") {
  isa.uops at 512 {
    isa.uop dst 0 src 0 wgt 0
    isa.uop dst 0 src 1 wgt 1
    isa.uop dst 0 src 2 wgt 2
    isa.uop dst 64 src 64 wgt 0
    isa.uop dst 64 src 65 wgt 1
    isa.uop dst 64 src 66 wgt 2
    isa.uop dst 0 src 0 wgt 0
    isa.uop dst 64 src 64 wgt 0
  }
  isa.load uop sram 0 dram 512 size 1x8 stride 8
  isa.load wgt sram 0 dram 16 size 1x6 stride 6
  isa.load inp sram 0 dram 64 size 1x63 stride 63 deps [push_next]
  isa.gemm reset uops [0, 1) iter 21x2 dst (2, 1)
  isa.gemm uops [0, 3) iter 21x2 dst (2, 1) src (3, 0) wgt (0, 3) deps [pop_prev, push_prev]
  isa.alu max imm 0 uops [6, 7) iter 21x2 dst (2, 1) src (2, 1)
  isa.alu mul imm 3 uops [6, 7) iter 21x2 dst (2, 1) src (2, 1)
  isa.alu add imm 2 uops [6, 7) iter 21x2 dst (2, 1) src (2, 1)
  isa.alu shr imm 2 uops [6, 7) iter 21x2 dst (2, 1) src (2, 1)
  isa.alu min imm 127 uops [6, 7) iter 21x2 dst (2, 1) src (2, 1)
  isa.alu max imm -128 uops [6, 7) iter 21x2 dst (2, 1) src (2, 1) deps [push_next]
  isa.store out sram 0 dram 128 size 1x42 stride 42 deps [pop_prev, push_prev]
  isa.load inp sram 64 dram 127 size 1x63 stride 63 deps [push_next]
  isa.gemm reset uops [3, 4) iter 21x2 dst (2, 1)
  isa.gemm uops [3, 6) iter 21x2 dst (2, 1) src (3, 0) wgt (0, 3) deps [pop_prev]
  isa.alu max imm 0 uops [7, 8) iter 21x2 dst (2, 1) src (2, 1)
  isa.alu mul imm 3 uops [7, 8) iter 21x2 dst (2, 1) src (2, 1)
  isa.alu add imm 2 uops [7, 8) iter 21x2 dst (2, 1) src (2, 1)
  isa.alu shr imm 2 uops [7, 8) iter 21x2 dst (2, 1) src (2, 1)
  isa.alu min imm 127 uops [7, 8) iter 21x2 dst (2, 1) src (2, 1)
  isa.alu max imm -128 uops [7, 8) iter 21x2 dst (2, 1) src (2, 1) deps [push_next]
  isa.store out sram 64 dram 170 size 1x42 stride 42 deps [pop_prev]
  isa.load inp sram 0 dram 190 size 1x18 stride 18 deps [pop_next, push_next]
  isa.gemm reset uops [0, 1) iter 6x2 dst (2, 1) deps [pop_next]
  isa.gemm uops [0, 3) iter 6x2 dst (2, 1) src (3, 0) wgt (0, 3) deps [pop_prev]
  isa.alu max imm 0 uops [6, 7) iter 6x2 dst (2, 1) src (2, 1)
  isa.alu mul imm 3 uops [6, 7) iter 6x2 dst (2, 1) src (2, 1)
  isa.alu add imm 2 uops [6, 7) iter 6x2 dst (2, 1) src (2, 1)
  isa.alu shr imm 2 uops [6, 7) iter 6x2 dst (2, 1) src (2, 1)
  isa.alu min imm 127 uops [6, 7) iter 6x2 dst (2, 1) src (2, 1)
  isa.alu max imm -128 uops [6, 7) iter 6x2 dst (2, 1) src (2, 1) deps [push_next]
  isa.store out sram 0 dram 212 size 1x12 stride 12 deps [pop_prev, push_prev]
  isa.finish deps [pop_next]
}
