// canopy-disasm on bad binaries: one diagnostic naming the instruction (or micro-op)
// index and byte offset, exit status 1, no traceback.
// RUN: rm -rf %t && mkdir -p %t
//
// 20 bytes: one instruction and 4 bytes of a second.
// RUN: %python -c "import sys; sys.stdout.buffer.write(bytes(20))" > %t/trunc.bin
// RUN: not canopy-disasm %t/trunc.bin 2>&1 | filecheck %s --check-prefix=TRUNC
// TRUNC-NOT: Traceback
// TRUNC: canopy-disasm: error: {{.*}}trunc.bin: instruction buffer of 20 bytes is truncated: instruction 1 at byte offset 16 has only 4 of its 16 bytes
// TRUNC-NOT: {{.}}
//
// Two FINISH, then opcode 7.
// RUN: %python -c "import sys; sys.stdout.buffer.write((bytes([3]) + bytes(15)) * 2 + bytes([7]) + bytes(15))" > %t/badop.bin
// RUN: not canopy-disasm %t/badop.bin 2>&1 | filecheck %s --check-prefix=BADOP
// BADOP-NOT: Traceback
// BADOP: canopy-disasm: error: {{.*}}badop.bin: instruction 2 at byte offset 32: opcode 7 is not one of LOAD=0, STORE=1, GEMM=2, FINISH=3, ALU=4
// BADOP-NOT: {{.}}
//
// FINISH, then a LOAD whose memory type (bits [7:10)) is 6.
// RUN: %python -c "import sys; sys.stdout.buffer.write(bytes([3]) + bytes(15) + bytes([0, 3]) + bytes(14))" > %t/badmem.bin
// RUN: not canopy-disasm %t/badmem.bin 2>&1 | filecheck %s --check-prefix=BADMEM
// BADMEM: canopy-disasm: error: {{.*}}badmem.bin: instruction 1 at byte offset 16: memory_type 6 is not one of UOP=0, WGT=1, INP=2, ACC=3, OUT=4, ACC_8BIT=5
//
// An ALU whose alu_opcode (intelfocl: word 1 bits [44:47)) is 5.
// RUN: %python -c "import sys; sys.stdout.buffer.write(bytes([4]) + bytes(12) + bytes([0x50, 0, 0]))" > %t/badalu.bin
// RUN: not canopy-disasm %t/badalu.bin 2>&1 | filecheck %s --check-prefix=BADALU
// BADALU: canopy-disasm: error: {{.*}}badalu.bin: instruction 0 at byte offset 0: alu_opcode 5 is not one of MIN=0, MAX=1, ADD=2, SHR=3, MUL=4
//
// A FINISH with a bit set in word 1, which no FINISH field covers.
// RUN: %python -c "import sys; sys.stdout.buffer.write(bytes([3]) + bytes(7) + bytes([1]) + bytes(7))" > %t/stray.bin
// RUN: not canopy-disasm %t/stray.bin 2>&1 | filecheck %s --check-prefix=STRAY
// STRAY: canopy-disasm: error: {{.*}}stray.bin: instruction 0 at byte offset 0: FINISH has bits set outside its fields (stray bits per word: 0x0000000000000000, 0x0000000000000001)
//
// Micro-op tables: 6 bytes; and on tiny (fields cover 20 bits) bit 31 set in micro-op 1.
// RUN: %python -c "import sys; sys.stdout.buffer.write(bytes([3]) + bytes(15))" > %t/finish.bin
// RUN: %python -c "import sys; sys.stdout.buffer.write(bytes(6))" > %t/trunc.uops
// RUN: not canopy-disasm %t/finish.bin --uops %t/trunc.uops 2>&1 | filecheck %s --check-prefix=UTRUNC
// UTRUNC: canopy-disasm: error: {{.*}}trunc.uops: micro-op buffer of 6 bytes is truncated: micro-op 1 at byte offset 4 has only 2 of its 4 bytes
// RUN: %python -c "import sys; sys.stdout.buffer.write(bytes(4) + bytes([0, 0, 0, 0x80]))" > %t/stray.uops
// RUN: not canopy-disasm %t/finish.bin --uops %t/stray.uops --config tiny 2>&1 | filecheck %s --check-prefix=USTRAY
// USTRAY: canopy-disasm: error: {{.*}}stray.uops: micro-op 1 at byte offset 4: bits set outside its fields (word 0x80000000, fields cover 0x000fffff)
//
// Unreadable input, unknown config, --uop-base without a table.
// RUN: not canopy-disasm %t/missing.bin 2>&1 | filecheck %s --check-prefix=MISSING
// MISSING: canopy-disasm: error: cannot read the instruction buffer: [Errno 2] No such file or directory: '{{.*}}missing.bin'
// RUN: not canopy-disasm %t/finish.bin --config nope 2>&1 | filecheck %s --check-prefix=CONFIG
// CONFIG: canopy-disasm: error: hardware config 'nope' is neither a preset (intelfocl, vitis, tiny, tiny-b2) nor a JSON file
// RUN: not canopy-disasm %t/finish.bin --uop-base 4 2>&1 | filecheck %s --check-prefix=BASE
// BASE: canopy-disasm: error: --uop-base places a micro-op table: give the table with --uops
//
// Bytes that decode but do not verify (LOAD OUT, then FINISH) still print, with a warning.
// RUN: %python -c "import sys; sys.stdout.buffer.write(bytes([0, 2]) + bytes(14) + bytes([3]) + bytes(15))" > %t/loadout.bin
// RUN: canopy-disasm %t/loadout.bin 2>&1 | filecheck %s --check-prefix=WARN
// WARN: canopy-disasm: warning: the disassembled program does not verify: instruction 0 (LOAD OUT) of @loadout: memory type OUT cannot be loaded
// WARN: isa.program @loadout config("intelfocl") {
// WARN-NEXT:   isa.load out sram 0 dram 0 size 0x0 stride 0
// WARN-NEXT:   isa.finish
// WARN-NEXT: }
