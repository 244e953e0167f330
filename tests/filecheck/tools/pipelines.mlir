// Named pipelines: -p canopy-default is graph-fold-constants,canonicalize,cse,graph-fold-batchnorm,graph-fuse-activations,cse
// (only canonicalize and cse change this arith input); names mix with passes.
// RUN: canopy-opt %s -p canopy-default --mlir-print-ir-after-all 2>&1 | filecheck %s
// RUN: canopy-opt %s -p canonicalize,cse > %t.expected
// RUN: canopy-opt %s -p canopy-default | diff - %t.expected
// RUN: canopy-opt %s -p 'canopy-default,dce' | diff - %t.expected
// RUN: canopy-opt --list-pipelines | filecheck %s --check-prefix=LIST
// RUN: canopy-opt --help | filecheck %s --check-prefix=HELP
// RUN: not canopy-opt %s -p 'canopy-default{x=1}' 2>&1 | filecheck %s --check-prefix=OPTIONS
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

// LIST: canopy-default = graph-fold-constants,canonicalize,cse,graph-fold-batchnorm,graph-fuse-activations,cse  (canopy_mlir's default clean-up: fold constants, canonicalize, cse, fold batch norms, fuse activations, cse)

// HELP: named pipelines (-p NAME):
// HELP-NEXT: canopy-default = graph-fold-constants,canonicalize,cse,graph-fold-batchnorm,graph-fuse-activations,cse

// OPTIONS: canopy-opt: error: pipeline 'canopy-default' takes no options (it stands for 'graph-fold-constants,canonicalize,cse,graph-fold-batchnorm,graph-fuse-activations,cse': spell the passes out to give them options)

// PASSES: canonicalize
// PASSES: cse
// PASSES: dce
