// The onnx frontend: a .onnx input (or -f onnx, also from stdin) goes through
// canopy_mlir.frontend.onnx_importer.import_onnx; --check-support prints the importer's
// support report and exits 0 when the model imports, 1 when it does not.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/make_onnx.py %t/relu.onnx Relu
// RUN: %python %S/Inputs/make_onnx.py %t/odd.onnx NoSuchOp
// RUN: canopy-opt %t/relu.onnx | filecheck %s
// RUN: canopy-opt -f onnx < %t/relu.onnx | filecheck %s
// RUN: cp %t/relu.onnx %t/relu.model && canopy-opt -f onnx %t/relu.model -p canopy-cleanup | filecheck %s
// RUN: canopy-opt %t/relu.onnx --check-support | filecheck %s --check-prefix=SUPPORTED
// RUN: not canopy-opt %t/odd.onnx --check-support | filecheck %s --check-prefix=UNSUPPORTED
// RUN: not canopy-opt %t/odd.onnx 2>&1 | filecheck %s --check-prefix=IMPORT-ERROR
// RUN: not canopy-opt %t/relu.onnx --split-input-file 2>&1 | filecheck %s --check-prefix=SPLIT
// RUN: not canopy-opt %s --check-support 2>&1 | filecheck %s --check-prefix=NOT-ONNX
// RUN: not canopy-opt -f onnx %s 2>&1 | filecheck %s --check-prefix=GARBAGE

// CHECK: func.func @main(
// CHECK: graph.relu

// SUPPORTED: supported
// UNSUPPORTED: NoSuchOp
// IMPORT-ERROR-NOT: Traceback
// IMPORT-ERROR: canopy-opt: error: {{.*}}odd.onnx: {{.*}}
// IMPORT-ERROR: NoSuchOp
// SPLIT: canopy-opt: error: --split-input-file does not apply to onnx input
// NOT-ONNX: canopy-opt: error: --check-support applies to ONNX input (-f onnx or a .onnx file)
// GARBAGE-NOT: Traceback
// GARBAGE: canopy-opt: error: {{.*}}onnx_frontend.mlir:
