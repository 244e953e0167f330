// Every isa op and variant, in canonical custom form: printing reproduces the input
// exactly, directly, after a second round and through the generic form.
// RUN: canopy-opt %s | filecheck %s
// RUN: canopy-opt %s | canopy-opt | filecheck %s
// RUN: canopy-opt %s --print-op-generic | canopy-opt | filecheck %s
// RUN: canopy-opt %s --print-op-generic | filecheck %s --check-prefix=GENERIC
// RUN: canopy-opt %s --print-op-generic | canopy-opt --print-op-generic | filecheck %s --check-prefix=GENERIC

isa.program @all_ops config("intelfocl") {
  isa.uops at 4096 {
    isa.uop dst 0 src 0 wgt 0
    isa.uop dst 1 src 16 wgt 2
    isa.uop dst 2047 src 2047 wgt 1023
  }
  isa.load uop sram 0 dram 4096 size 1x3 stride 3 deps [pop_prev, pop_next, push_prev, push_next]
  isa.load wgt sram 0 dram 64 size 2x8 stride 8 deps [pop_next]
  isa.load inp sram 16 dram 128 size 4x4 stride 16 pad [1, 1, 2, 2] deps [push_next]
  isa.load acc sram 0 dram 256 size 1x16 stride 16
  isa.load acc_8bit sram 16 dram 512 size 0x0 stride 0
  isa.gemm reset uops [0, 1) iter 4x4 dst (16, 1) deps [pop_prev]
  isa.gemm uops [0, 2) iter 4x4 dst (16, 1) src (0, 1) wgt (1, 0) deps [push_prev]
  isa.alu min uops [0, 2) iter 1x1
  isa.alu max imm 0 uops [0, 1) iter 16x1 dst (1, 0)
  isa.alu add imm -32768 uops [0, 1) iter 1x1
  isa.alu shr imm 32767 uops [0, 1) iter 1x1
  isa.alu mul reset uops [0, 1) iter 1x1
  isa.alu add unused_imm 5 uops [0, 2) iter 1x2 dst (0, 1) src (1, 0)
  isa.store out sram 0 dram 8192 size 2x16 stride 32 deps [pop_prev, push_prev]
  isa.finish deps [pop_next]
}
isa.program @no_table config("tiny") {
  isa.gemm uops [5, 9) iter 2x3 wgt (0, 7)
  isa.finish
}
isa.program @"empty-table" config("vitis") {
  isa.uops at 0 {
  }
  isa.finish attributes {note = "end"}
}
isa.program @batch2 config("tiny-b2") attributes {origin = "test"} {
  isa.uops at 7 attributes {kind = "gemm"} {
    isa.uop dst 3 src 1 wgt 2 attributes {k = 0 : i64}
  }
  isa.load uop sram 5 dram 7 size 1x1 stride 1
  isa.gemm uops [5, 6) iter 2x2 dst (4, 1) src (2, 1) wgt (1, 3)
  isa.finish
}
isa.program @custom config({TARGET = "custom", LOG_BATCH = 1, LOG_BLOCK_IN = 2, LOG_BLOCK_OUT = 3, LOG_UOP_BUFF_SIZE = 10, LOG_INP_BUFF_SIZE = 9, LOG_WGT_BUFF_SIZE = 10, LOG_ACC_BUFF_SIZE = 12, CLOCK_MHZ = 150.5, DRAM_BYTES_PER_CYCLE = 8, DRAM_LATENCY_CYCLES = 8}) {
  isa.finish
}

// CHECK:      builtin.module {
// CHECK-NEXT:   isa.program @all_ops config("intelfocl") {
// CHECK-NEXT:     isa.uops at 4096 {
// CHECK-NEXT:       isa.uop dst 0 src 0 wgt 0
// CHECK-NEXT:       isa.uop dst 1 src 16 wgt 2
// CHECK-NEXT:       isa.uop dst 2047 src 2047 wgt 1023
// CHECK-NEXT:     }
// CHECK-NEXT:     isa.load uop sram 0 dram 4096 size 1x3 stride 3 deps [pop_prev, pop_next, push_prev, push_next]
// CHECK-NEXT:     isa.load wgt sram 0 dram 64 size 2x8 stride 8 deps [pop_next]
// CHECK-NEXT:     isa.load inp sram 16 dram 128 size 4x4 stride 16 pad [1, 1, 2, 2] deps [push_next]
// CHECK-NEXT:     isa.load acc sram 0 dram 256 size 1x16 stride 16
// CHECK-NEXT:     isa.load acc_8bit sram 16 dram 512 size 0x0 stride 0
// CHECK-NEXT:     isa.gemm reset uops [0, 1) iter 4x4 dst (16, 1) deps [pop_prev]
// CHECK-NEXT:     isa.gemm uops [0, 2) iter 4x4 dst (16, 1) src (0, 1) wgt (1, 0) deps [push_prev]
// CHECK-NEXT:     isa.alu min uops [0, 2) iter 1x1
// CHECK-NEXT:     isa.alu max imm 0 uops [0, 1) iter 16x1 dst (1, 0)
// CHECK-NEXT:     isa.alu add imm -32768 uops [0, 1) iter 1x1
// CHECK-NEXT:     isa.alu shr imm 32767 uops [0, 1) iter 1x1
// CHECK-NEXT:     isa.alu mul reset uops [0, 1) iter 1x1
// CHECK-NEXT:     isa.alu add unused_imm 5 uops [0, 2) iter 1x2 dst (0, 1) src (1, 0)
// CHECK-NEXT:     isa.store out sram 0 dram 8192 size 2x16 stride 32 deps [pop_prev, push_prev]
// CHECK-NEXT:     isa.finish deps [pop_next]
// CHECK-NEXT:   }
// CHECK-NEXT:   isa.program @no_table config("tiny") {
// CHECK-NEXT:     isa.gemm uops [5, 9) iter 2x3 wgt (0, 7)
// CHECK-NEXT:     isa.finish
// CHECK-NEXT:   }
// CHECK-NEXT:   isa.program @"empty-table" config("vitis") {
// CHECK-NEXT:     isa.uops at 0 {
// CHECK-NEXT:     }
// CHECK-NEXT:     isa.finish attributes {note = "end"}
// CHECK-NEXT:   }
// CHECK-NEXT:   isa.program @batch2 config("tiny-b2") attributes {origin = "test"} {
// CHECK-NEXT:     isa.uops at 7 attributes {kind = "gemm"} {
// CHECK-NEXT:       isa.uop dst 3 src 1 wgt 2 attributes {k = 0 : i64}
// CHECK-NEXT:     }
// CHECK-NEXT:     isa.load uop sram 5 dram 7 size 1x1 stride 1
// CHECK-NEXT:     isa.gemm uops [5, 6) iter 2x2 dst (4, 1) src (2, 1) wgt (1, 3)
// CHECK-NEXT:     isa.finish
// CHECK-NEXT:   }
// CHECK-NEXT:   isa.program @custom config({TARGET = "custom", LOG_BATCH = 1, LOG_BLOCK_IN = 2, LOG_BLOCK_OUT = 3, LOG_UOP_BUFF_SIZE = 10, LOG_INP_BUFF_SIZE = 9, LOG_WGT_BUFF_SIZE = 10, LOG_ACC_BUFF_SIZE = 12, CLOCK_MHZ = 150.5, DRAM_BYTES_PER_CYCLE = 8, DRAM_LATENCY_CYCLES = 8}) {
// CHECK-NEXT:     isa.finish
// CHECK-NEXT:   }
// CHECK-NEXT: }

// Every field is a property named after its isa_format field; fields at their default
// are omitted, the memory type and ALU opcode always present.
// GENERIC:      "isa.program"() <{sym_name = "all_ops", config = "intelfocl"}> ({
// GENERIC-NEXT:   "isa.uops"() <{base = 4096 : i64}> ({
// GENERIC-NEXT:     "isa.uop"() : () -> ()
// GENERIC-NEXT:     "isa.uop"() <{dst = 1 : i64, src = 16 : i64, wgt = 2 : i64}> : () -> ()
// GENERIC-NEXT:     "isa.uop"() <{dst = 2047 : i64, src = 2047 : i64, wgt = 1023 : i64}> : () -> ()
// GENERIC-NEXT:   }) : () -> ()
// GENERIC-NEXT:   "isa.load"() <{pop_prev, pop_next, push_prev, push_next, memory_type = #isa<memory uop>, dram_base = 4096 : i64, x_size = 3 : i64, x_stride = 3 : i64}> : () -> ()
// GENERIC-NEXT:   "isa.load"() <{pop_next, memory_type = #isa<memory wgt>, dram_base = 64 : i64, y_size = 2 : i64, x_size = 8 : i64, x_stride = 8 : i64}> : () -> ()
// GENERIC-NEXT:   "isa.load"() <{push_next, memory_type = #isa<memory inp>, sram_base = 16 : i64, dram_base = 128 : i64, y_size = 4 : i64, x_size = 4 : i64, x_stride = 16 : i64, y_pad0 = 1 : i64, y_pad1 = 1 : i64, x_pad0 = 2 : i64, x_pad1 = 2 : i64}> : () -> ()
// GENERIC-NEXT:   "isa.load"() <{memory_type = #isa<memory acc>, dram_base = 256 : i64, x_size = 16 : i64, x_stride = 16 : i64}> : () -> ()
// GENERIC-NEXT:   "isa.load"() <{memory_type = #isa<memory acc_8bit>, sram_base = 16 : i64, dram_base = 512 : i64, y_size = 0 : i64, x_size = 0 : i64, x_stride = 0 : i64}> : () -> ()
// GENERIC-NEXT:   "isa.gemm"() <{pop_prev, reset, iter_out = 4 : i64, iter_in = 4 : i64, dst_factor_out = 16 : i64, dst_factor_in = 1 : i64}> : () -> ()
// GENERIC-NEXT:   "isa.gemm"() <{push_prev, uop_end = 2 : i64, iter_out = 4 : i64, iter_in = 4 : i64, dst_factor_out = 16 : i64, dst_factor_in = 1 : i64, src_factor_in = 1 : i64, wgt_factor_out = 1 : i64}> : () -> ()
// GENERIC-NEXT:   "isa.alu"() <{uop_end = 2 : i64, alu_opcode = #isa<alu_op min>}> : () -> ()
// GENERIC-NEXT:   "isa.alu"() <{iter_out = 16 : i64, dst_factor_out = 1 : i64, alu_opcode = #isa<alu_op max>, use_imm}> : () -> ()
// GENERIC-NEXT:   "isa.alu"() <{alu_opcode = #isa<alu_op add>, use_imm, imm = -32768 : i64}> : () -> ()
// GENERIC-NEXT:   "isa.alu"() <{alu_opcode = #isa<alu_op shr>, use_imm, imm = 32767 : i64}> : () -> ()
// GENERIC-NEXT:   "isa.alu"() <{reset, alu_opcode = #isa<alu_op mul>}> : () -> ()
// GENERIC-NEXT:   "isa.alu"() <{uop_end = 2 : i64, iter_in = 2 : i64, dst_factor_in = 1 : i64, src_factor_out = 1 : i64, alu_opcode = #isa<alu_op add>, imm = 5 : i64}> : () -> ()
// GENERIC-NEXT:   "isa.store"() <{pop_prev, push_prev, memory_type = #isa<memory out>, dram_base = 8192 : i64, y_size = 2 : i64, x_size = 16 : i64, x_stride = 32 : i64}> : () -> ()
// GENERIC-NEXT:   "isa.finish"() <{pop_next}> : () -> ()
// GENERIC-NEXT: }) : () -> ()
// GENERIC:      "isa.program"() <{sym_name = "empty-table", config = "vitis"}> ({
// GENERIC:        "isa.finish"() {note = "end"} : () -> ()
// GENERIC:      "isa.uop"() <{dst = 3 : i64, src = 1 : i64, wgt = 2 : i64}> {k = 0 : i64} : () -> ()
// GENERIC-NEXT: }) {kind = "gemm"} : () -> ()
// GENERIC:      }) {origin = "test"} : () -> ()
// GENERIC-NEXT: "isa.program"() <{sym_name = "custom", config = {TARGET = "custom", LOG_BATCH = 1 : i64, LOG_BLOCK_IN = 2 : i64, LOG_BLOCK_OUT = 3 : i64, LOG_UOP_BUFF_SIZE = 10 : i64, LOG_INP_BUFF_SIZE = 9 : i64, LOG_WGT_BUFF_SIZE = 10 : i64, LOG_ACC_BUFF_SIZE = 12 : i64, CLOCK_MHZ = 1.505000e+02 : f64, DRAM_BYTES_PER_CYCLE = 8 : i64, DRAM_LATENCY_CYCLES = 8 : i64}}> ({
