// --mlir-timing and --mlir-pass-statistics: reports on stderr, after the output.
// RUN: canopy-opt %s --split-input-file --load-plugin %S/../../tools/faulty_passes.py -p 'count-ops{weight=2},cse,count-ops' --mlir-timing --mlir-pass-statistics 2>%t.err | filecheck %s --check-prefix=OUT
// RUN: filecheck %s --check-prefix=REPORTS --input-file %t.err
// OUT: func.func @one
// OUT: func.func @two
// OUT-NOT: Execution time report
//
// Two chunks: counts add up over them. Chunk 1 has 4 ops (module, func, constant,
// return), chunk 2 has 5 with 2 constants; weight=2 doubles "ops" in the first run.
// Declared counters print even at zero; cse records none.
// REPORTS:      ===-------------------------------------------------------------------------===
// REPORTS-NEXT:                          ... Pass statistics report ...
// REPORTS-NEXT: ===-------------------------------------------------------------------------===
// REPORTS-NEXT: count-ops
// REPORTS-NEXT:   (S) 18 ops - operations seen
// REPORTS-NEXT:   (S) 3 constants - arith.constant ops seen
// REPORTS-NEXT:   (S) 0 never - a counter nothing increments
// REPORTS-NEXT: cse
// REPORTS-NEXT: count-ops
// REPORTS-NEXT:   (S) 8 ops - operations seen
// REPORTS-NEXT:   (S) 2 constants - arith.constant ops seen
// REPORTS-NEXT:   (S) 0 never - a counter nothing increments
// REPORTS-NEXT: ===-------------------------------------------------------------------------===
// REPORTS-NEXT:                          ... Execution time report ...
// REPORTS-NEXT: ===-------------------------------------------------------------------------===
// REPORTS-NEXT:   Total Execution Time: {{[0-9]+\.[0-9]+}} seconds
// REPORTS-EMPTY:
// REPORTS-NEXT:   ----Wall Time----  ----Name----
// REPORTS-NEXT:   {{ *[0-9]+\.[0-9]{4} \( *[0-9]+\.[0-9]%\)}}  Parser
// REPORTS-NEXT:   {{.*}}  Verifier
// REPORTS-NEXT:   {{.*}}  count-ops
// REPORTS-NEXT:   {{.*}}  cse
// REPORTS-NEXT:   {{.*}}  count-ops (2)
// REPORTS-NEXT:   {{.*}}  Output
// REPORTS-NEXT:   {{.*}}  Rest
// REPORTS-NEXT:   {{ *[0-9]+\.[0-9]{4} \(100\.0%\)}}  Total
// REPORTS-NOT:  {{.}}

func.func @one() -> i32 {
  %0 = arith.constant 1 : i32
  func.return %0 : i32
}

// -----
func.func @two() -> i32 {
  %0 = arith.constant 1 : i32
  %1 = arith.constant 2 : i32
  func.return %1 : i32
}
