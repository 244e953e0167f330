// canopy-import on small ONNX models (written by Inputs/make_models.py): folding,
// normalisation of old opsets, names, and a round trip through canopy-opt.
// RUN: rm -rf %t && %python %S/Inputs/make_models.py %t
//
// Shape -> Gather -> Unsqueeze -> Concat -> Reshape folds into the reshape's shape
// property; SAME_UPPER becomes explicit pads [top, left, bottom, right]; "input/0" is
// recorded as onnx.name and sanitised for the SSA name.
// RUN: canopy-import %t/conv_net.onnx | filecheck %s --check-prefix=CONV
// CONV:      func.func @main(%input: tensor<1x3x8x8xf32> {onnx.name = "input/0"}) -> (tensor<1x10xf32> {onnx.name = "prob"}) {
// CONV-NEXT:   %w = graph.constant dense<"0x0000003F"> : tensor<4x3x3x3xf32>
// CONV-NEXT:   %b = graph.constant dense<"0x00000000"> : tensor<4xf32>
// CONV-NEXT:   %conv = graph.conv %input, %w, %b {strides = [2, 2], pads = [0, 0, 1, 1]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4xf32>) -> tensor<1x4x4x4xf32>
// CONV-NEXT:   %relu = graph.relu %conv
// CONV-NEXT:   %pool = graph.max_pool %relu {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x4x4x4xf32>) -> tensor<1x4x2x2xf32>
// CONV-NEXT:   %flat = graph.reshape %pool {shape = [1, 16]} : (tensor<1x4x2x2xf32>) -> tensor<1x16xf32>
// CONV-NEXT:   %fc = graph.constant
// CONV-NEXT:   %fc_b = graph.constant
// CONV-NEXT:   %logits = graph.gemm %flat, %fc, %fc_b {trans_b = 1}
// CONV-NEXT:   %prob = graph.softmax %logits {axis = 1} : (tensor<1x10xf32>) -> tensor<1x10xf32>
// CONV-NEXT:   func.return %prob : tensor<1x10xf32>
//
// The printed module parses, verifies and prints back the same.
// RUN: canopy-import %t/conv_net.onnx -o %t/conv_net.mlir
// RUN: canopy-opt %t/conv_net.mlir | filecheck %s --check-prefix=CONV
//
// Softmax before opset 13 normalises over all axes from `axis` on.
// RUN: canopy-import %t/softmax_opset11.onnx | filecheck %s --check-prefix=SOFTMAX
// SOFTMAX:      %y_2d = graph.flatten %x : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
// SOFTMAX-NEXT: %y_2d_softmax = graph.softmax %y_2d {axis = 1} : (tensor<2x12xf32>) -> tensor<2x12xf32>
// SOFTMAX-NEXT: %y = graph.reshape %y_2d_softmax {shape = [2, 3, 4]} : (tensor<2x12xf32>) -> tensor<2x3x4xf32>
// SOFTMAX-NEXT: func.return %y
//
// ConstantOfShape weights become one-element (splat) constants; inference Dropout vanishes.
// RUN: canopy-import %t/light_weights.onnx | filecheck %s --check-prefix=LIGHT
// LIGHT:      %w = graph.constant dense<"0x0000803E"> : tensor<8x2x3x3xf32>
// LIGHT-NEXT: %y = graph.conv %x, %w {pads = [1, 1, 1, 1]}
// LIGHT-NEXT: func.return %y : tensor<1x8x5x5xf32>
//
// Quantize/dequantize keep their constant operands (never folded).
// RUN: canopy-import %t/qdq.onnx | filecheck %s --check-prefix=QDQ
// QDQ:      %zp = graph.constant dense<"0xFD"> : tensor<i8>
// QDQ-NEXT: %q = graph.quantize_linear %x, %s, %zp : (tensor<2x4xf32>, tensor<f32>, tensor<i8>) -> tensor<2x4xi8>
// QDQ-NEXT: %y = graph.dequantize_linear %q, %s, %zp
//
// --function-name, --input-shape and the generic form.
// RUN: canopy-import %t/dynamic.onnx --input-shape x=4,3 --function-name net --print-op-generic | filecheck %s --check-prefix=GENERIC
// GENERIC: "func.func"() <{sym_name = "net", function_type = (tensor<4x3xf32>) -> tensor<4x3xf32>, arg_attrs = [{onnx.name = "x"}], res_attrs = [{onnx.name = "y"}]}>
// GENERIC: "graph.relu"(%{{.*}}) : (tensor<4x3xf32>) -> tensor<4x3xf32>
//
// --check on a supported model.
// RUN: canopy-import %t/qdq.onnx --check | filecheck %s --check-prefix=CHECKOK
// CHECKOK: ONNX model 'net' (opset 13, 2 nodes): supported
