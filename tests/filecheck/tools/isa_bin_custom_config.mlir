// A program with an inline (non-preset) config: disassembling with the same config as a
// JSON file prints it inline again, and the bytes survive the round trip.
// RUN: rm -rf %t && mkdir -p %t
// RUN: canopy-opt %s -t isa-bin -o %t/custom.bin
// RUN: canopy-disasm %t/custom.bin --uops %t/custom.uops.bin --uop-base 3 --config %S/Inputs/custom_config.json -o %t/back.mlir
// RUN: filecheck %s --input-file %t/back.mlir
// RUN: canopy-opt %t/back.mlir -t isa-bin -o %t/back.bin
// RUN: cmp %t/custom.bin %t/back.bin
// RUN: cmp %t/custom.uops.bin %t/back.uops.bin

isa.program @custom config({LOG_BATCH = 1, LOG_BLOCK_IN = 2, LOG_BLOCK_OUT = 3, LOG_UOP_BUFF_SIZE = 10, LOG_INP_BUFF_SIZE = 9, LOG_WGT_BUFF_SIZE = 10, LOG_ACC_BUFF_SIZE = 12, CLOCK_MHZ = 150.5}) {
  isa.uops at 3 {
    isa.uop dst 63 src 63 wgt 31
  }
  isa.load uop sram 9 dram 3 size 1x1 stride 1
  isa.gemm reset uops [9, 10) iter 1x1
  isa.finish
}

// CHECK:      isa.program @custom config({TARGET = "custom", LOG_INP_WIDTH = 3, LOG_WGT_WIDTH = 3, LOG_ACC_WIDTH = 5, LOG_BATCH = 1, LOG_BLOCK_IN = 2, LOG_BLOCK_OUT = 3, LOG_UOP_BUFF_SIZE = 10, LOG_INP_BUFF_SIZE = 9, LOG_WGT_BUFF_SIZE = 10, LOG_ACC_BUFF_SIZE = 12, CLOCK_MHZ = 150.5, DRAM_BYTES_PER_CYCLE = 64, DRAM_LATENCY_CYCLES = 64}) {
// CHECK-NEXT:   isa.uops at 3 {
// CHECK-NEXT:     isa.uop dst 63 src 63 wgt 31
// CHECK-NEXT:   }
// CHECK-NEXT:   isa.load uop sram 9 dram 3 size 1x1 stride 1
// CHECK-NEXT:   isa.gemm reset uops [9, 10) iter 1x1
// CHECK-NEXT:   isa.finish
// CHECK-NEXT: }
