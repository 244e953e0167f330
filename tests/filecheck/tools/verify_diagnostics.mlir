// --verify-diagnostics checks MLIR's expected-* directives: every form is used below, on
// parse errors, verifier errors, pass errors (OpError) and pass remarks and warnings.
// The check passes (exit 0) and chunks without errors still print their output.
// RUN: canopy-opt %s --split-input-file --verify-diagnostics --load-plugin %S/../../tools/faulty_passes.py -p note-constants,reject-addi | filecheck %s
//
// A mismatch lists the unexpected diagnostics and the missing ones, located, exit 1.
// RUN: not canopy-opt %S/Inputs/diagnostics_mismatch.mlir --split-input-file --verify-diagnostics --load-plugin %S/../../tools/faulty_passes.py -p note-constants 2> %t.err
// RUN: filecheck %s --check-prefix=MISMATCH --input-file %t.err
// MISMATCH-NOT: Traceback
// MISMATCH:      diagnostics_mismatch.mlir:6:3: error: unexpected error: Expected arguments to have the same types as the function output types: expected [i32], got []
// MISMATCH-NEXT: diagnostics_mismatch.mlir:5:6: error: expected error "not the real message" was not produced
// MISMATCH-NEXT: diagnostics_mismatch.mlir:11:3: error: unexpected remark: a constant
// MISMATCH-NEXT: diagnostics_mismatch.mlir:17:6: error: 'remark' diagnostic emitted when expecting a 'warning': a constant
// MISMATCH-NEXT: diagnostics_mismatch.mlir:17:6: error: expected warning "a constant" was not produced
// MISMATCH-NEXT: diagnostics_mismatch.mlir:22:4: error: expected error "never reported" was not produced
// MISMATCH-NOT: {{.}}
//
// Malformed directives are errors of their own.
// RUN: not canopy-opt %S/Inputs/diagnostics_malformed.mlir --verify-diagnostics 2>&1 | filecheck %s --check-prefix=MALFORMED
// MALFORMED: canopy-opt: error: {{.*}}diagnostics_malformed.mlir: line 3: malformed directive

func.func @pass_diagnostics(%a: i32, %b: i32) -> i32 {
  // expected-remark@+1 {{a constant}}
  %c = arith.constant 2 : i32
  // expected-remark@below {{a constant}}
  // expected-warning@below {{an i1 constant}}
  %t = arith.constant true
  %0 = arith.muli %a, %c : i32
  %1 = arith.addi %0, %b : i32
  // expected-error@-1 {{reject-addi: arith.addi is not allowed here}}
  func.return %1 : i32
}

// -----
// A chunk without errors prints its output; a directive may share the op's line.
func.func @clean() -> i32 {
  %0 = arith.constant 7 : i32 // expected-remark {{constant}}
  func.return %0 : i32
}
// CHECK:      func.func @clean() -> i32 {
// CHECK-NEXT:   %0 = arith.constant 7 : i32
// CHECK-NEXT:   func.return %0 : i32

// -----
// Parse errors are located at the token the parser stopped at.
func.func @parse_error() {
  // expected-error@+1 {{attribute expected}}
  %0 = arith.constant : i32
  func.return
}

// -----
// Verifier errors are located at the op that does not verify (and stop the chunk
// before any pass runs: no remarks here).
func.func @verify_error() -> i32 {
  %0 = arith.constant 1 : i64
  func.return %0 : i64
  // expected-error@above {{Expected arguments to have the same types as the function output types}}
}

// -----
// -re: {{...}} inside the text is a regular expression. @above names the closest line
// above that holds no directive.
func.func @regex() -> i1 {
  %0 = arith.constant false
  // expected-remark-re@above {{a {{[a-z]+}}t}}
  // expected-warning@above {{i1}}
  func.return %0 : i1
}
// CHECK-NOT: parse_error
// CHECK-NOT: verify_error
