// canopy-import on models it cannot import: the whole support report (every problem at
// once, each naming the node or input), exit status 1, no traceback, no output file.
// RUN: rm -rf %t && %python %S/Inputs/make_models.py %t
//
// RUN: not canopy-import %t/unsupported.onnx -o %t/out.mlir 2>&1 | filecheck %s --check-prefix=UNSUP
// RUN: not test -e %t/out.mlir
// UNSUP-NOT: Traceback
// UNSUP:      canopy-import: error: ONNX model 'net' (opset 13, 4 nodes): 3 problems prevent import:
// UNSUP-NEXT:   node 'tanh' (Tanh): unsupported op: operator Tanh is not supported
// UNSUP-NEXT:   node 'erf' (Erf): unsupported op: operator Erf is not supported
// UNSUP-NEXT:   node 'pool' (MaxPool): unsupported attribute: storage_order=1 (only row-major, 0)
// UNSUP-NEXT: unsupported operators: Erf (1), Tanh (1)
// UNSUP-NOT: {{.}}
//
// --check prints the same report on stdout.
// RUN: not canopy-import %t/unsupported.onnx --check | filecheck %s --check-prefix=CHECK-REPORT
// CHECK-REPORT: ONNX model 'net' (opset 13, 4 nodes): 3 problems prevent import:
// CHECK-REPORT: unsupported operators: Erf (1), Tanh (1)
//
// RUN: not canopy-import %t/dynamic.onnx 2>&1 | filecheck %s --check-prefix=DYN
// DYN: canopy-import: error: ONNX model 'net' (opset 13, 1 node): 1 problem prevents import:
// DYN-NEXT: graph input 'x': dynamic shape: has dynamic dimension 0 ('batch') of shape [?, 3]: pass input_shapes={'x': (1, 3)} (canopy-import --input-shape x=1,3)
//
// RUN: not canopy-import %t/dynamic.onnx --input-shape x=2,5 2>&1 | filecheck %s --check-prefix=CLASH
// CLASH: graph input 'x': bad input_shapes: input_shapes gives (2, 5) but the model fixes dimension 1 of [?, 3]
//
// RUN: not canopy-import %t/float16.onnx 2>&1 | filecheck %s --check-prefix=F16
// F16: graph input 'h': unsupported dtype: has element type float16 (supported: float32, int8, uint8, int32, int64)
//
// RUN: not canopy-import %t/opset22.onnx 2>&1 | filecheck %s --check-prefix=OPSET
// OPSET: model: unsupported opset: default-domain opset 22 is outside the supported range 7..21
//
// Unreadable files and bad arguments.
// RUN: not canopy-import %t/missing.onnx 2>&1 | filecheck %s --check-prefix=MISSING
// MISSING: canopy-import: error: cannot read ONNX model '{{.*}}missing.onnx': no such file
// RUN: not canopy-import %s 2>&1 | filecheck %s --check-prefix=GARBAGE
// GARBAGE: canopy-import: error: '{{.*}}import_errors.mlir' is not a valid ONNX model file
// RUN: not canopy-import %t/dynamic.onnx --input-shape x=a,b 2>&1 | filecheck %s --check-prefix=BADARG
// BADARG: canopy-import: error: argument --input-shape: dimensions of 'x' must be integers, got 'a,b'
