// Named pipelines: -p canopy-cleanup is graph-fold-constants,canonicalize,cse,graph-fold-batchnorm,graph-fuse-activations,cse
// (only canonicalize and cse change this arith input); names mix with passes.
// RUN: canopy-opt %s -p canopy-cleanup --mlir-print-ir-after-all 2>&1 | filecheck %s
// RUN: canopy-opt %s -p canonicalize,cse > %t.expected
// RUN: canopy-opt %s -p canopy-cleanup | diff - %t.expected
// RUN: canopy-opt %s -p 'canopy-cleanup,dce' | diff - %t.expected
// RUN: canopy-opt --list-pipelines | filecheck %s --check-prefix=LIST
// RUN: canopy-opt --list-pipelines | filecheck %s --check-prefix=DEFAULT
// RUN: canopy-opt --help | filecheck %s --check-prefix=HELP
// RUN: not canopy-opt %s -p 'canopy-cleanup{x=1}' 2>&1 | filecheck %s --check-prefix=OPTIONS
// RUN: canopy-opt --list-passes | filecheck %s --check-prefix=PASSES

func.func @f(%a: i32) -> i32 {
  %c0 = arith.constant 0 : i32
  %0 = arith.addi %a, %c0 : i32
  %1 = arith.muli %0, %0 : i32
  %2 = arith.muli %0, %0 : i32
  %3 = arith.addi %1, %2 : i32
  func.return %3 : i32
}

// CHECK:      IR Dump After GraphFoldConstants (graph-fold-constants)
// CHECK:      IR Dump After CanonicalizePass (canonicalize)
// CHECK:      IR Dump After CommonSubexpressionElimination (cse)
// CHECK:      IR Dump After GraphFoldBatchNorm (graph-fold-batchnorm)
// CHECK:      IR Dump After GraphFuseActivations (graph-fuse-activations)
// CHECK:      IR Dump After CommonSubexpressionElimination (cse)
// CHECK-NOT:  IR Dump
// CHECK:        %0 = arith.muli %a, %a : i32
// CHECK-NEXT:   %1 = arith.addi %0, %0 : i32

// LIST: canopy-cleanup = graph-fold-constants,canonicalize,cse,graph-fold-batchnorm,graph-fuse-activations,cse  (canopy_mlir's graph clean-up: fold constants, canonicalize, cse, fold batch norms, fuse activations, cse)

// DEFAULT: canopy-default = graph-canonicalize,graph-batched-matmul-to-conv,graph-fold-qdq,{{.*}},convert-graph-to-tile,canonicalize,cse,dce,convert-tile-to-dma
// DEFAULT: canopy-to-dma = graph-canonicalize,graph-batched-matmul-to-conv,graph-fold-qdq,{{.*}},convert-tile-to-dma

// HELP: named pipelines (-p NAME):
// HELP-NEXT: canopy-cleanup = graph-fold-constants,canonicalize,cse,graph-fold-batchnorm,graph-fuse-activations,cse

// OPTIONS: canopy-opt: error: pipeline 'canopy-cleanup' takes no options (it stands for 'graph-fold-constants,canonicalize,cse,graph-fold-batchnorm,graph-fuse-activations,cse': spell the passes out to give them options)

// PASSES: canonicalize
// PASSES: cse
// PASSES: dce
