// canopy-opt on bad input: one diagnostic on stderr, exit status 1, no traceback, and
// no partial output file left behind.
// RUN: rm -rf %t && mkdir -p %t
//
// RUN: not canopy-opt %S/Inputs/verify_error.mlir -o %t/verify.mlir 2>&1 | filecheck %s --check-prefix=VERIFY
// RUN: not ls %t/verify.mlir
// VERIFY-NOT: Traceback
// VERIFY: canopy-opt: error: instruction 0 (LOAD INP) of @p: mem.sram_base = 65536 does not fit its 16-bit field (word 0 bits [10:26)): allowed range is [0, 65535]
// VERIFY-NOT: {{.}}
//
// RUN: not canopy-opt %S/Inputs/verify_error.mlir -t isa-bin -o %t/verify.bin 2>&1 | filecheck %s --check-prefix=VERIFY
// RUN: not ls %t/verify.bin
//
// Parse errors keep the source line and a caret under the culprit.
// RUN: not canopy-opt %S/Inputs/parse_error.mlir 2>&1 | filecheck %s --check-prefix=PARSE
// PARSE-NOT: Traceback
// PARSE: {{.*}}parse_error.mlir:2:12: error: Expected `uop`, `wgt`, `inp`, `acc`, `out`, or `acc_8bit`.
// PARSE-NEXT: isa.load foo sram 0 dram 0 size 1x1 stride 1
// PARSE-NEXT: ^^^
// PARSE-NOT: {{.}}
//
// RUN: not canopy-opt %t/missing.mlir 2>&1 | filecheck %s --check-prefix=MISSING
// MISSING-NOT: Traceback
// MISSING: canopy-opt: error: [Errno 2] No such file or directory: '{{.*}}missing.mlir'
//
// RUN: not canopy-opt %S/Inputs/two_programs.mlir -p no-such-pass 2>&1 | filecheck %s --check-prefix=PASS
// PASS-NOT: Traceback
// PASS: canopy-opt: error: Unrecognized passes: ['no-such-pass']
//
// Target option errors.
// RUN: not canopy-opt %S/Inputs/two_programs.mlir -t 'isa-bin{uops=a.b}' 2>&1 | filecheck %s --check-prefix=SPEC
// SPEC-NOT: Traceback
// SPEC: Error parsing pass pipeline specification:
// RUN: not canopy-opt %S/Inputs/two_programs.mlir -t 'isa-bin{colour="red"}' -o %t/x.bin 2>&1 | filecheck %s --check-prefix=OPTION
// OPTION-NOT: Traceback
// OPTION: canopy-opt: error: Provided arguments ["colour"] not found in expected arguments ["uops", "program"]
//
// isa-bin assembles one program: pick it by name when there are several.
// RUN: not canopy-opt %S/Inputs/two_programs.mlir -t isa-bin -o %t/two.bin 2>&1 | filecheck %s --check-prefix=TWO
// RUN: not ls %t/two.bin
// TWO-NOT: Traceback
// TWO: canopy-opt: error: isa-bin: the input has 2 isa.program ops (@a, @b); pick one with -t 'isa-bin{program="NAME"}'
// RUN: canopy-opt %S/Inputs/two_programs.mlir -t 'isa-bin{program="b"}' -o %t/b.bin
// RUN: od -An -tx1 -v %t/b.bin | filecheck %s --check-prefix=PROGRAM-B
// FINISH with pop_next (bit 4): 0x13.
// PROGRAM-B: 13 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00
// RUN: not canopy-opt %S/Inputs/two_programs.mlir -t 'isa-bin{program="c"}' -o %t/c.bin 2>&1 | filecheck %s --check-prefix=NAMED
// NAMED: canopy-opt: error: isa-bin: no isa.program @c in the input (programs: @a, @b)
//
// A micro-op table needs somewhere to go when the instructions go to stdout.
// RUN: not canopy-opt %S/Inputs/with_table.mlir -t isa-bin > %t/stdout.bin 2> %t/stderr.txt
// RUN: filecheck %s --check-prefix=NOUOPS --input-file %t/stderr.txt
// NOUOPS: canopy-opt: error: isa-bin: @t has a micro-op table (1 x 4 bytes) but no file to write it to: give -t 'isa-bin{uops="FILE"}' or -o OUT (the table then goes to OUT's sibling .uops.bin)
