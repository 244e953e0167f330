// Every graph op in custom form: it prints back unchanged (defaults omitted), survives a
// second round trip, and the generic form round-trips to the same custom form.
// RUN: canopy-opt %s | filecheck %s
// RUN: canopy-opt %s | canopy-opt | filecheck %s
// RUN: canopy-opt %s --print-op-generic | canopy-opt | filecheck %s
// RUN: canopy-opt %s --print-op-generic | canopy-opt --print-op-generic | filecheck %s --check-prefix=GENERIC

// CHECK-LABEL: func.func @float_ops
func.func @float_ops(%x: tensor<1x3x8x8xf32>, %v: tensor<1x4xf32>) -> tensor<1x4xf32> {
  %w = graph.constant dense<"0x0000803F0000004000004040000080400000A0400000C0400000E0400000004100001041000020410000304100004041000050410000604100007041000080410000884100009041000098410000A0410000A8410000B0410000B8410000C041"> : tensor<2x3x2x2xf32>
  // CHECK: %w = graph.constant dense<"0x0000803F0000004000004040000080400000A0400000C0400000E0400000004100001041000020410000304100004041000050410000604100007041000080410000884100009041000098410000A0410000A8410000B0410000B8410000C041"> : tensor<2x3x2x2xf32>
  %b = graph.constant dense<1.5> : tensor<2xf32>
  // CHECK-NEXT: %b = graph.constant dense<"0x0000C03F"> : tensor<2xf32>
  %conv = graph.conv %x, %w, %b {strides = [2, 2], pads = [1, 1, 1, 1], dilations = [1, 1], group = 1} : (tensor<1x3x8x8xf32>, tensor<2x3x2x2xf32>, tensor<2xf32>) -> tensor<1x2x5x5xf32>
  // CHECK-NEXT: %conv = graph.conv %x, %w, %b {strides = [2, 2], pads = [1, 1, 1, 1]} : (tensor<1x3x8x8xf32>, tensor<2x3x2x2xf32>, tensor<2xf32>) -> tensor<1x2x5x5xf32>
  %conv_nobias = graph.conv %x, %w {dilations = [2, 3]} : (tensor<1x3x8x8xf32>, tensor<2x3x2x2xf32>) -> tensor<1x2x6x5xf32>
  // CHECK-NEXT: %conv_nobias = graph.conv %x, %w {dilations = [2, 3]} : (tensor<1x3x8x8xf32>, tensor<2x3x2x2xf32>) -> tensor<1x2x6x5xf32>
  %relu = graph.relu %conv : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  // CHECK-NEXT: %relu = graph.relu %conv : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %sig = graph.sigmoid %relu : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  // CHECK-NEXT: %sig = graph.sigmoid %relu : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %clip = graph.clip %sig {min = 0.0, max = 6.0} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  // CHECK-NEXT: %clip = graph.clip %sig {min = 0.0, max = 6.0} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %clip_low = graph.clip %clip {min = -inf, max = 1.0e-07} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  // CHECK-NEXT: %clip_low = graph.clip %clip {max = 1.0e-07} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %leaky = graph.leaky_relu %clip_low {alpha = 0.1} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  // CHECK-NEXT: %leaky = graph.leaky_relu %clip_low {alpha = 0.1} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %hsig = graph.hard_sigmoid %leaky {alpha = 0.2, beta = 0.25} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  // CHECK-NEXT: %hsig = graph.hard_sigmoid %leaky {beta = 0.25} : (tensor<1x2x5x5xf32>) -> tensor<1x2x5x5xf32>
  %mp = graph.max_pool %hsig {kernel_shape = [2, 2], strides = [2, 2], ceil_mode = 1} : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32>
  // CHECK-NEXT: %mp = graph.max_pool %hsig {kernel_shape = [2, 2], strides = [2, 2], ceil_mode = 1} : (tensor<1x2x5x5xf32>) -> tensor<1x2x3x3xf32>
  %ap = graph.average_pool %mp {kernel_shape = [3, 3], pads = [1, 1, 1, 1], count_include_pad = 1} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  // CHECK-NEXT: %ap = graph.average_pool %mp {kernel_shape = [3, 3], pads = [1, 1, 1, 1], count_include_pad = 1} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %gap = graph.global_average_pool %ap : (tensor<1x2x3x3xf32>) -> tensor<1x2x1x1xf32>
  // CHECK-NEXT: %gap = graph.global_average_pool %ap : (tensor<1x2x3x3xf32>) -> tensor<1x2x1x1xf32>
  %gmp = graph.global_max_pool %ap : (tensor<1x2x3x3xf32>) -> tensor<1x2x1x1xf32>
  // CHECK-NEXT: %gmp = graph.global_max_pool %ap : (tensor<1x2x3x3xf32>) -> tensor<1x2x1x1xf32>
  %mean = graph.reduce_mean %ap {axes = [2, 3], keepdims = 0} : (tensor<1x2x3x3xf32>) -> tensor<1x2xf32>
  // CHECK-NEXT: %mean = graph.reduce_mean %ap {axes = [2, 3], keepdims = 0} : (tensor<1x2x3x3xf32>) -> tensor<1x2xf32>
  %mean_all = graph.reduce_mean %ap : (tensor<1x2x3x3xf32>) -> tensor<1x1x1x1xf32>
  // CHECK-NEXT: %mean_all = graph.reduce_mean %ap : (tensor<1x2x3x3xf32>) -> tensor<1x1x1x1xf32>
  %sum = graph.sum %gap, %gmp, %mean_all : (tensor<1x2x1x1xf32>, tensor<1x2x1x1xf32>, tensor<1x1x1x1xf32>) -> tensor<1x2x1x1xf32>
  // CHECK-NEXT: %sum = graph.sum %gap, %gmp, %mean_all : (tensor<1x2x1x1xf32>, tensor<1x2x1x1xf32>, tensor<1x1x1x1xf32>) -> tensor<1x2x1x1xf32>
  %bn = graph.batch_norm %sum, %b, %b, %b, %b {epsilon = 1.0e-03} : (tensor<1x2x1x1xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x1x1xf32>
  // CHECK-NEXT: %bn = graph.batch_norm %sum, %b, %b, %b, %b {epsilon = 0.001} : (tensor<1x2x1x1xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x1x1xf32>
  %lrn = graph.lrn %x {size = 3, alpha = 2.0e-04, beta = 0.75, bias = 2.0} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
  // CHECK-NEXT: %lrn = graph.lrn %x {size = 3, alpha = 0.0002, bias = 2.0} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
  %lrn_default = graph.lrn %lrn {size = 5} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
  // CHECK-NEXT: %lrn_default = graph.lrn %lrn {size = 5} : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
  %flat = graph.flatten %bn : (tensor<1x2x1x1xf32>) -> tensor<1x2xf32>
  // CHECK-NEXT: %flat = graph.flatten %bn : (tensor<1x2x1x1xf32>) -> tensor<1x2xf32>
  %flat0 = graph.flatten %bn {axis = 0} : (tensor<1x2x1x1xf32>) -> tensor<1x2xf32>
  // CHECK-NEXT: %flat0 = graph.flatten %bn {axis = 0} : (tensor<1x2x1x1xf32>) -> tensor<1x2xf32>
  %resh = graph.reshape %flat {shape = [2, 1]} : (tensor<1x2xf32>) -> tensor<2x1xf32>
  // CHECK-NEXT: %resh = graph.reshape %flat {shape = [2, 1]} : (tensor<1x2xf32>) -> tensor<2x1xf32>
  %tr = graph.transpose %resh {perm = [1, 0]} : (tensor<2x1xf32>) -> tensor<1x2xf32>
  // CHECK-NEXT: %tr = graph.transpose %resh : (tensor<2x1xf32>) -> tensor<1x2xf32>
  %tr3 = graph.transpose %x {perm = [0, 2, 3, 1]} : (tensor<1x3x8x8xf32>) -> tensor<1x8x8x3xf32>
  // CHECK-NEXT: %tr3 = graph.transpose %x {perm = [0, 2, 3, 1]} : (tensor<1x3x8x8xf32>) -> tensor<1x8x8x3xf32>
  %cat = graph.concat %tr, %flat0 {axis = 1} : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x4xf32>
  // CHECK-NEXT: %cat = graph.concat %tr, %flat0 {axis = 1} : (tensor<1x2xf32>, tensor<1x2xf32>) -> tensor<1x4xf32>
  %sm = graph.softmax %cat : (tensor<1x4xf32>) -> tensor<1x4xf32>
  // CHECK-NEXT: %sm = graph.softmax %cat : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %sm0 = graph.softmax %sm {axis = 0} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  // CHECK-NEXT: %sm0 = graph.softmax %sm {axis = 0} : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %pad = graph.pad %sm0 {pads = [0, 1, 0, 2], mode = "reflect"} : (tensor<1x4xf32>) -> tensor<1x7xf32>
  // CHECK-NEXT: %pad = graph.pad %sm0 {pads = [0, 1, 0, 2], mode = "reflect"} : (tensor<1x4xf32>) -> tensor<1x7xf32>
  %pad_c = graph.pad %sm0 {pads = [1, 0, 0, -1], value = -2.5} : (tensor<1x4xf32>) -> tensor<2x3xf32>
  // CHECK-NEXT: %pad_c = graph.pad %sm0 {pads = [1, 0, 0, -1], value = -2.5} : (tensor<1x4xf32>) -> tensor<2x3xf32>
  %pad_none = graph.pad %sm0 : (tensor<1x4xf32>) -> tensor<1x4xf32>
  // CHECK-NEXT: %pad_none = graph.pad %sm0 : (tensor<1x4xf32>) -> tensor<1x4xf32>
  %m = graph.constant dense<"0x0000803F"> : tensor<4x3xf32>
  // CHECK-NEXT: %m = graph.constant dense<"0x0000803F"> : tensor<4x3xf32>
  %b3 = graph.constant dense<"0x000080BF0000000000008000"> : tensor<3xf32>
  // CHECK-NEXT: %b3 = graph.constant dense<"0x000080BF0000000000008000"> : tensor<3xf32>
  %gemm = graph.gemm %v, %m, %b3 {alpha = 0.5, beta = 2.0, trans_a = 0, trans_b = 0} : (tensor<1x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  // CHECK-NEXT: %gemm = graph.gemm %v, %m, %b3 {alpha = 0.5, beta = 2.0} : (tensor<1x4xf32>, tensor<4x3xf32>, tensor<3xf32>) -> tensor<1x3xf32>
  %gemm_t = graph.gemm %m, %m {trans_a = 1} : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  // CHECK-NEXT: %gemm_t = graph.gemm %m, %m {trans_a = 1} : (tensor<4x3xf32>, tensor<4x3xf32>) -> tensor<3x3xf32>
  %mm = graph.matmul %v, %m : (tensor<1x4xf32>, tensor<4x3xf32>) -> tensor<1x3xf32>
  // CHECK-NEXT: %mm = graph.matmul %v, %m : (tensor<1x4xf32>, tensor<4x3xf32>) -> tensor<1x3xf32>
  %k = graph.constant dense<"0x00000000"> : tensor<3x2x5xf32>
  // CHECK-NEXT: %k = graph.constant dense<"0x00000000"> : tensor<3x2x5xf32>
  %mm_b = graph.matmul %w, %k : (tensor<2x3x2x2xf32>, tensor<3x2x5xf32>) -> tensor<2x3x2x5xf32>
  // CHECK-NEXT: %mm_b = graph.matmul %w, %k : (tensor<2x3x2x2xf32>, tensor<3x2x5xf32>) -> tensor<2x3x2x5xf32>
  %add = graph.add %v, %sm : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  // CHECK-NEXT: %add = graph.add %v, %sm : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  %sub = graph.sub %add, %resh : (tensor<1x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  // CHECK-NEXT: %sub = graph.sub %add, %resh : (tensor<1x4xf32>, tensor<2x1xf32>) -> tensor<2x4xf32>
  %mul = graph.mul %sub, %v : (tensor<2x4xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  // CHECK-NEXT: %mul = graph.mul %sub, %v : (tensor<2x4xf32>, tensor<1x4xf32>) -> tensor<2x4xf32>
  %div = graph.div %add, %v : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  // CHECK-NEXT: %div = graph.div %add, %v : (tensor<1x4xf32>, tensor<1x4xf32>) -> tensor<1x4xf32>
  func.return %div : tensor<1x4xf32>
}

// CHECK-LABEL: func.func @quantized_ops
func.func @quantized_ops(%xq: tensor<1x2x4x4xui8>, %acc: tensor<1x3x3x3xi32>, %f: tensor<1x3x4x4xf32>) -> tensor<1x3x3x3xi8> {
  %wq = graph.constant dense<"0x0102030405060708090A0B0C0D0E0F101112131415161718"> : tensor<3x2x2x2xi8>
  // CHECK: %wq = graph.constant dense<"0x0102030405060708090A0B0C0D0E0F101112131415161718"> : tensor<3x2x2x2xi8>
  %xzp = graph.constant dense<"0x80"> : tensor<ui8>
  // CHECK-NEXT: %xzp = graph.constant dense<"0x80"> : tensor<ui8>
  %wzp = graph.constant dense<"0x000102"> : tensor<3xi8>
  // CHECK-NEXT: %wzp = graph.constant dense<"0x000102"> : tensor<3xi8>
  %ci = graph.conv_integer %xq, %wq, %xzp, %wzp : (tensor<1x2x4x4xui8>, tensor<3x2x2x2xi8>, tensor<ui8>, tensor<3xi8>) -> tensor<1x3x3x3xi32>
  // CHECK-NEXT: %ci = graph.conv_integer %xq, %wq, %xzp, %wzp : (tensor<1x2x4x4xui8>, tensor<3x2x2x2xi8>, tensor<ui8>, tensor<3xi8>) -> tensor<1x3x3x3xi32>
  %ci_w = graph.conv_integer %xq, %wq, %wzp {operandSegmentSizes = [1, 1, 0, 1]} : (tensor<1x2x4x4xui8>, tensor<3x2x2x2xi8>, tensor<3xi8>) -> tensor<1x3x3x3xi32>
  // CHECK-NEXT: %ci_w = graph.conv_integer %xq, %wq, %wzp {operandSegmentSizes = [1, 1, 0, 1]} : (tensor<1x2x4x4xui8>, tensor<3x2x2x2xi8>, tensor<3xi8>) -> tensor<1x3x3x3xi32>
  %ci_none = graph.conv_integer %xq, %wq {pads = [0, 0, 1, 1]} : (tensor<1x2x4x4xui8>, tensor<3x2x2x2xi8>) -> tensor<1x3x4x4xi32>
  // CHECK-NEXT: %ci_none = graph.conv_integer %xq, %wq {pads = [0, 0, 1, 1]} : (tensor<1x2x4x4xui8>, tensor<3x2x2x2xi8>) -> tensor<1x3x4x4xi32>
  %s = graph.constant dense<"0x0000803E"> : tensor<f32>
  // CHECK-NEXT: %s = graph.constant dense<"0x0000803E"> : tensor<f32>
  %ws = graph.constant dense<"0x0000803E0000003E0000803D"> : tensor<3xf32>
  // CHECK-NEXT: %ws = graph.constant dense<"0x0000803E0000003E0000803D"> : tensor<3xf32>
  %yzp = graph.constant dense<"0x00"> : tensor<i8>
  // CHECK-NEXT: %yzp = graph.constant dense<"0x00"> : tensor<i8>
  %bias = graph.constant dense<"0x010000000200000003000000"> : tensor<3xi32>
  // CHECK-NEXT: %bias = graph.constant dense<"0x010000000200000003000000"> : tensor<3xi32>
  %qc = graph.qlinear_conv %xq, %s, %xzp, %wq, %ws, %wzp, %s, %yzp, %bias {group = 1} : (tensor<1x2x4x4xui8>, tensor<f32>, tensor<ui8>, tensor<3x2x2x2xi8>, tensor<3xf32>, tensor<3xi8>, tensor<f32>, tensor<i8>, tensor<3xi32>) -> tensor<1x3x3x3xi8>
  // CHECK-NEXT: %qc = graph.qlinear_conv %xq, %s, %xzp, %wq, %ws, %wzp, %s, %yzp, %bias : (tensor<1x2x4x4xui8>, tensor<f32>, tensor<ui8>, tensor<3x2x2x2xi8>, tensor<3xf32>, tensor<3xi8>, tensor<f32>, tensor<i8>, tensor<3xi32>) -> tensor<1x3x3x3xi8>
  %aq = graph.constant dense<"0x0102030405060708"> : tensor<2x4xui8>
  // CHECK-NEXT: %aq = graph.constant dense<"0x0102030405060708"> : tensor<2x4xui8>
  %bq = graph.constant dense<"0x0102030405060708090A0B0C"> : tensor<4x3xi8>
  // CHECK-NEXT: %bq = graph.constant dense<"0x0102030405060708090A0B0C"> : tensor<4x3xi8>
  %mi = graph.matmul_integer %aq, %bq, %xzp, %wzp : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<ui8>, tensor<3xi8>) -> tensor<2x3xi32>
  // CHECK-NEXT: %mi = graph.matmul_integer %aq, %bq, %xzp, %wzp : (tensor<2x4xui8>, tensor<4x3xi8>, tensor<ui8>, tensor<3xi8>) -> tensor<2x3xi32>
  %mi_none = graph.matmul_integer %aq, %bq : (tensor<2x4xui8>, tensor<4x3xi8>) -> tensor<2x3xi32>
  // CHECK-NEXT: %mi_none = graph.matmul_integer %aq, %bq : (tensor<2x4xui8>, tensor<4x3xi8>) -> tensor<2x3xi32>
  %qmm = graph.qlinear_matmul %aq, %s, %xzp, %bq, %ws, %wzp, %s, %xzp : (tensor<2x4xui8>, tensor<f32>, tensor<ui8>, tensor<4x3xi8>, tensor<3xf32>, tensor<3xi8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xui8>
  // CHECK-NEXT: %qmm = graph.qlinear_matmul %aq, %s, %xzp, %bq, %ws, %wzp, %s, %xzp : (tensor<2x4xui8>, tensor<f32>, tensor<ui8>, tensor<4x3xi8>, tensor<3xf32>, tensor<3xi8>, tensor<f32>, tensor<ui8>) -> tensor<2x3xui8>
  %q = graph.quantize_linear %f, %ws, %wzp : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xi8>) -> tensor<1x3x4x4xi8>
  // CHECK-NEXT: %q = graph.quantize_linear %f, %ws, %wzp : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xi8>) -> tensor<1x3x4x4xi8>
  %q_u = graph.quantize_linear %f, %s {axis = 0} : (tensor<1x3x4x4xf32>, tensor<f32>) -> tensor<1x3x4x4xui8>
  // CHECK-NEXT: %q_u = graph.quantize_linear %f, %s {axis = 0} : (tensor<1x3x4x4xf32>, tensor<f32>) -> tensor<1x3x4x4xui8>
  %dq = graph.dequantize_linear %q, %ws, %wzp : (tensor<1x3x4x4xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<1x3x4x4xf32>
  // CHECK-NEXT: %dq = graph.dequantize_linear %q, %ws, %wzp : (tensor<1x3x4x4xi8>, tensor<3xf32>, tensor<3xi8>) -> tensor<1x3x4x4xf32>
  %dq_acc = graph.dequantize_linear %acc, %s : (tensor<1x3x3x3xi32>, tensor<f32>) -> tensor<1x3x3x3xf32>
  // CHECK-NEXT: %dq_acc = graph.dequantize_linear %acc, %s : (tensor<1x3x3x3xi32>, tensor<f32>) -> tensor<1x3x3x3xf32>
  %mpq = graph.max_pool %xq {kernel_shape = [2, 2], strides = [2, 2], dilations = [1, 1]} : (tensor<1x2x4x4xui8>) -> tensor<1x2x2x2xui8>
  // CHECK-NEXT: %mpq = graph.max_pool %xq {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x2x4x4xui8>) -> tensor<1x2x2x2xui8>
  %rq = graph.requantize %acc {multiplier = [1073741824], shift = [31], output_zero_point = -3} : (tensor<1x3x3x3xi32>) -> tensor<1x3x3x3xi8>
  // CHECK-NEXT: %rq = graph.requantize %acc {multiplier = [1073741824], shift = [31], output_zero_point = -3} : (tensor<1x3x3x3xi32>) -> tensor<1x3x3x3xi8>
  %rq_u = graph.requantize %acc {multiplier = [3, 5, 7], shift = [0, 1, 2], output_zero_point = 0, axis = 1} : (tensor<1x3x3x3xi32>) -> tensor<1x3x3x3xui8>
  // CHECK-NEXT: %rq_u = graph.requantize %acc {multiplier = [3, 5, 7], shift = [0, 1, 2]} : (tensor<1x3x3x3xi32>) -> tensor<1x3x3x3xui8>
  %iadd = graph.add %acc, %ci : (tensor<1x3x3x3xi32>, tensor<1x3x3x3xi32>) -> tensor<1x3x3x3xi32>
  // CHECK-NEXT: %iadd = graph.add %acc, %ci : (tensor<1x3x3x3xi32>, tensor<1x3x3x3xi32>) -> tensor<1x3x3x3xi32>
  %mask = graph.constant dense<"0x0100"> : tensor<2xi1>
  // CHECK-NEXT: %mask = graph.constant dense<"0x0100"> : tensor<2xi1>
  %mask2 = graph.reshape %mask {shape = [1, 2]} : (tensor<2xi1>) -> tensor<1x2xi1>
  // CHECK-NEXT: %mask2 = graph.reshape %mask {shape = [1, 2]} : (tensor<2xi1>) -> tensor<1x2xi1>
  %big = graph.constant dense<"0x0100000000000000FFFFFFFFFFFFFFFF"> : tensor<2xi64>
  // CHECK-NEXT: %big = graph.constant dense<"0x0100000000000000FFFFFFFFFFFFFFFF"> : tensor<2xi64>
  %dbl = graph.constant dense<"0x000000000000F03F"> : tensor<1xf64>
  // CHECK-NEXT: %dbl = graph.constant dense<"0x000000000000F03F"> : tensor<1xf64>
  %named = graph.relu %f attributes {onnx.name = "relu_7"} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  // CHECK-NEXT: %named = graph.relu %f attributes {onnx.name = "relu_7"} : (tensor<1x3x4x4xf32>) -> tensor<1x3x4x4xf32>
  func.return %qc : tensor<1x3x3x3xi8>
}

// The generic form stores every property, defaults included.
// GENERIC: "graph.conv"(%x, %w, %b) <{strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, dilations = array<i64: 1, 1>, group = 1 : i64, operandSegmentSizes = array<i32: 1, 1, 1>}>
// GENERIC: "graph.clip"(%clip) <{min = 0xfff0000000000000 : f64, max = 1.000000e-07 : f64}>
// GENERIC: "graph.reduce_mean"(%ap) <{axes = array<i64: 0, 1, 2, 3>, keepdims = 1 : i64}>
// GENERIC: "graph.lrn"(%lrn) <{size = 5 : i64, alpha = 1.000000e-04 : f64, beta = 7.500000e-01 : f64, bias = 1.000000e+00 : f64}>
// GENERIC: "graph.conv_integer"(%xq, %wq, %wzp) <{{.*}}operandSegmentSizes = array<i32: 1, 1, 0, 1>}>
// GENERIC: "graph.requantize"(%acc) <{multiplier = array<i64: 3, 5, 7>, shift = array<i64: 0, 1, 2>, output_zero_point = 0 : i64, axis = 1 : i64}>
