// IR dumps on stderr under mlir-opt's headers; stdout keeps only the result.
// RUN: canopy-opt %s -p canonicalize,cse,dce --mlir-print-ir-before=cse --mlir-print-ir-after=canonicalize,dce 2>%t.err | filecheck %s --check-prefix=OUT
// RUN: filecheck %s --check-prefix=NAMED --input-file %t.err
// RUN: canopy-opt %s -p canonicalize,cse --mlir-print-ir-after=cse --mlir-print-ir-after=canonicalize 2>&1 >/dev/null | filecheck %s --check-prefix=REPEAT
// RUN: canopy-opt %s -p canonicalize,cse --mlir-print-ir-before-all 2>&1 >/dev/null | filecheck %s --check-prefix=BEFORE-ALL
// RUN: canopy-opt %s -p canonicalize,cse --mlir-print-ir-after-all --print-op-generic 2>&1 >/dev/null | filecheck %s --check-prefix=AFTER-ALL
// RUN: not canopy-opt %s --load-plugin %S/../../tools/faulty_passes.py -p cse,break-ir --mlir-print-ir-after-failure --mlir-reproducer=%t.repro 2>&1 | filecheck %s --check-prefix=FAILURE
// RUN: not canopy-opt %s -p cse --mlir-print-ir-after=cse,no-such-pass 2>&1 | filecheck %s --check-prefix=UNKNOWN

func.func @f(%a: i32) -> i32 {
  %c0 = arith.constant 0 : i32
  %0 = arith.addi %a, %c0 : i32
  %1 = arith.muli %0, %0 : i32
  %2 = arith.muli %0, %0 : i32
  %3 = arith.addi %1, %2 : i32
  func.return %3 : i32
}

// OUT:      func.func @f(%a: i32) -> i32 {
// OUT-NEXT:   %0 = arith.muli %a, %a : i32
// OUT-NEXT:   %1 = arith.addi %0, %0 : i32
// OUT-NEXT:   func.return %1 : i32
// OUT-NOT:  IR Dump

// canonicalize folds the + 0; cse then merges the two products; dce has nothing to do.
// NAMED:      // -----// IR Dump After CanonicalizePass (canonicalize) //----- //
// NAMED-NEXT: builtin.module {
// NAMED-NEXT:   func.func @f(%a: i32) -> i32 {
// NAMED-NEXT:     %0 = arith.muli %a, %a : i32
// NAMED-NEXT:     %1 = arith.muli %a, %a : i32
// NAMED:      // -----// IR Dump Before CommonSubexpressionElimination (cse) //----- //
// NAMED-NEXT: builtin.module {
// NAMED:      // -----// IR Dump After DeadCodeElimination (dce) //----- //
// NAMED-NEXT: builtin.module {
// NAMED-NEXT:   func.func @f(%a: i32) -> i32 {
// NAMED-NEXT:     %0 = arith.muli %a, %a : i32
// NAMED-NEXT:     %1 = arith.addi %0, %0 : i32
// NAMED-NOT:  IR Dump

// REPEAT: IR Dump After CanonicalizePass (canonicalize)
// REPEAT: IR Dump After CommonSubexpressionElimination (cse)
// REPEAT-NOT: IR Dump

// BEFORE-ALL:     IR Dump Before CanonicalizePass (canonicalize)
// BEFORE-ALL:       %c0 = arith.constant 0 : i32
// BEFORE-ALL:     IR Dump Before CommonSubexpressionElimination (cse)
// BEFORE-ALL-NOT: IR Dump

// AFTER-ALL:     IR Dump After CanonicalizePass (canonicalize)
// AFTER-ALL-NEXT: "builtin.module"() ({
// AFTER-ALL:     IR Dump After CommonSubexpressionElimination (cse)
// AFTER-ALL-NOT: IR Dump

// The failed pass's IR: break-ir removed the return.
// FAILURE:      // -----// IR Dump After BreakIrPass Failed (break-ir) //----- //
// FAILURE-NEXT: builtin.module {
// FAILURE-NEXT:   func.func @f(%a: i32) -> i32 {
// FAILURE:          %{{[0-9]+}} = arith.addi %{{[0-9]+}}, %{{[0-9]+}} : i32
// FAILURE-NEXT:   }
// FAILURE-NEXT: }
// FAILURE:      canopy-opt: error: pass 'break-ir' failed: left IR that does not verify: Operation arith.addi terminates block in single-block region but is not a terminator

// UNKNOWN: canopy-opt: error: --mlir-print-ir-after: no pass named no-such-pass
