// A failing pass: one error line naming it (no traceback), exit 1, no partial output,
// and a reproducer (the IR the pass got + the pipeline from it on) that reruns the failure.
// RUN: rm -rf %t && mkdir -p %t
// RUN: not canopy-opt %s --load-plugin %S/../../tools/faulty_passes.py -p muli-to-addi,reject-addi,cse --mlir-reproducer=%t/repro.mlir -o %t/out.mlir 2>&1 | filecheck %s --check-prefix=ERROR
// RUN: not ls %t/out.mlir
// ERROR-NOT:  Traceback
// ERROR:      canopy-opt: error: pass 'reject-addi' failed: reject-addi: arith.addi is not allowed here
// ERROR-NEXT: canopy-opt: note: reproducer written to {{.*}}.mlir (rerun: canopy-opt {{.*}}.mlir --run-reproducer)
// ERROR-NOT:  {{.}}
//
// The reproducer holds the IR after muli-to-addi, in generic form, and the rest of the pipeline.
// RUN: filecheck %s --check-prefix=REPRO --input-file %t/repro.mlir
// REPRO:      // canopy-opt reproducer: pass 'reject-addi' failed: reject-addi: arith.addi is not allowed here
// REPRO-NEXT: // configuration: --load-plugin {{.*}}faulty_passes.py -p reject-addi,cse
// REPRO-NEXT: // rerun: canopy-opt THIS_FILE --run-reproducer
// REPRO-NEXT: "builtin.module"() ({
// REPRO-NOT:  arith.muli
// REPRO:      %0 = "arith.addi"(%a, %c) <{overflowFlags = #arith.overflow<none>}> : (i32, i32) -> i32
//
// Rerunning it fails the same way (from another directory: the plugin path is absolute).
// RUN: cd %t && not canopy-opt repro.mlir --run-reproducer --mlir-reproducer=%t/again.mlir 2>&1 | filecheck %s --check-prefix=ERROR
// RUN: tail -n +2 %t/repro.mlir > %t/repro.body && tail -n +2 %t/again.mlir > %t/again.body
// RUN: diff %t/repro.body %t/again.body
//
// A plain Python exception from a buggy pass keeps its type; the default reproducer goes
// to a temporary file (TMPDIR here) whose path is printed.
// RUN: env TMPDIR=%t not canopy-opt %s --load-plugin %S/../../tools/faulty_passes.py -p cse,divide-by-zero 2>&1 | filecheck %s --check-prefix=BUG
// BUG-NOT:  Traceback
// BUG:      canopy-opt: error: pass 'divide-by-zero' failed: ZeroDivisionError: integer division or modulo by zero
// BUG-NEXT: canopy-opt: note: reproducer written to {{.*}}.tmp/canopy-reproducer-{{.*}}.mlir (rerun: canopy-opt {{.*}} --run-reproducer)
// RUN: env TMPDIR=%t not canopy-opt %t/canopy-reproducer-*.mlir --run-reproducer --mlir-reproducer=%t/bug2.mlir 2>&1 | filecheck %s --check-prefix=BUG-AGAIN
// BUG-AGAIN: canopy-opt: error: pass 'divide-by-zero' failed: ZeroDivisionError: integer division or modulo by zero
//
// ... and its traceback on request.
// RUN: env CANOPY_TRACEBACK=1 not canopy-opt %s --load-plugin %S/../../tools/faulty_passes.py -p divide-by-zero --mlir-reproducer=%t/trace.mlir 2>&1 | filecheck %s --check-prefix=TRACE
// TRACE: Traceback
// TRACE: ZeroDivisionError
//
// The same pass succeeds once earlier passes removed what it trips on.
// RUN: canopy-opt %s --load-plugin %S/../../tools/faulty_passes.py -p muli-to-addi,divide-by-zero | filecheck %s --check-prefix=FIXED
// FIXED: arith.addi %a, %c : i32
//
// A pass that leaves IR that does not verify fails too, and its reproducer reruns.
// RUN: not canopy-opt %s --load-plugin %S/../../tools/faulty_passes.py -p break-ir --mlir-reproducer=%t/broken.mlir 2>&1 | filecheck %s --check-prefix=BROKEN
// RUN: not canopy-opt %t/broken.mlir --run-reproducer --mlir-reproducer=%t/broken2.mlir 2>&1 | filecheck %s --check-prefix=BROKEN
// BROKEN: canopy-opt: error: pass 'break-ir' failed: left IR that does not verify: Operation arith.addi terminates block in single-block region but is not a terminator
//
// A file that is not a reproducer.
// RUN: not canopy-opt %s --run-reproducer 2>&1 | filecheck %s --check-prefix=NOT-REPRO
// NOT-REPRO: canopy-opt: error: {{.*}}pass_failure.mlir: no '// configuration:' line in its first 20 lines (is it a canopy-opt reproducer?)

func.func @f(%a: i32, %b: i32) -> i32 {
  %c = arith.constant 2 : i32
  %0 = arith.muli %a, %c : i32
  %1 = arith.addi %0, %b : i32
  func.return %1 : i32
}
