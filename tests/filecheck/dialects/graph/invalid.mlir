// One case per graph verifier (and custom-syntax parse) error. Each case states its
// message with an expected-error directive; --verify-diagnostics fails on a missing or
// an extra error.
// RUN: canopy-opt --split-input-file --verify-diagnostics %s
// Every case must fail: no chunk may print a (custom-form) module.
// RUN: canopy-opt --split-input-file --verify-diagnostics %s | filecheck %s --check-prefix=NONE-VALID
// NONE-VALID-NOT: {{^}}builtin.module

// ======== graph.constant ========
func.func @f() {
  // expected-error@+1 {{graph.constant: result type tensor<2xf32> does not match the inferred type tensor<1xf32>}}
  %c = "graph.constant"() <{value = dense<"0x0000803F"> : tensor<1xf32>}> : () -> tensor<2xf32>
  func.return
}

// -----
func.func @f() {
  // expected-error@+1 {{graph.constant: value element type must be f32/f64/i8/ui8/i32/i64/i1, got f16 (tensor<1xf16>)}}
  %c = graph.constant dense<"0x003C"> : tensor<1xf16>
  func.return
}

// -----
func.func @f() {
  // expected-error@+1 {{graph.constant takes a dense<...> or dense_resource<...> value, got 1.000000e+00 : f32}}
  %c = graph.constant 1.0 : f32
  func.return
}

// ======== graph.conv ========
// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x2x3x3xf32>) {
  // expected-error@+1 {{graph.conv: input has 3 channels but weight shape [4, 2, 3, 3] with group = 1 expects 2 (weight dimension 1 x group)}}
  %y = graph.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x4x8x8xf32>, %w: tensor<3x2x3x3xf32>) {
  // expected-error@+1 {{graph.conv: weight output channels 3 are not divisible by group = 2}}
  %y = graph.conv %x, %w {group = 2} : (tensor<1x4x8x8xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x6x6xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x4x8x8xf32>, %w: tensor<4x4x3x3xf32>) {
  // expected-error@+1 {{graph.conv: group must be positive, got 0}}
  %y = graph.conv %x, %w {group = 0} : (tensor<1x4x8x8xf32>, tensor<4x4x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3xf32>) {
  // expected-error@+1 {{graph.conv: weight must have rank 4 (M x C/group x kernel...) like the input, got shape [4, 3, 3]}}
  %y = graph.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----
func.func @f(%x: tensor<3x8xf32>, %w: tensor<4x3xf32>) {
  // expected-error@+1 {{graph.conv: input must be N x C x spatial... (rank >= 3), got shape [3, 8]}}
  %y = graph.conv %x, %w : (tensor<3x8xf32>, tensor<4x3xf32>) -> tensor<3x4xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{graph.conv: strides has 1 values [2], expected 2 (one per spatial axis)}}
  %y = graph.conv %x, %w {strides = [2]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x3x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{graph.conv: pads has 2 values [1, 1], expected 4 (begin then end for each spatial axis)}}
  %y = graph.conv %x, %w {pads = [1, 1]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{graph.conv: pads [0, -1, 0, 0] must all be >= 0, got -1}}
  %y = graph.conv %x, %w {pads = [0, -1, 0, 0]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x5xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{graph.conv: strides [1, 0] must all be positive, got 0}}
  %y = graph.conv %x, %w {strides = [1, 0]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{graph.conv: dilations [0, 1] must all be positive, got 0}}
  %y = graph.conv %x, %w {dilations = [0, 1]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x4x4xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{graph.conv: kernel extent 5 (kernel 3, dilation 2) exceeds the padded input size 4 (input 4, pads 0+0) along spatial axis 0}}
  %y = graph.conv %x, %w {dilations = [2, 1]} : (tensor<1x3x4x4xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x1x2xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{graph.conv: bias must have shape [4] (one per output channel), got tensor<3xf32>}}
  %y = graph.conv %x, %w, %b : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xi8>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{graph.conv: input element type must be f32, got i8 (tensor<1x3x8x8xi8>)}}
  %y = graph.conv %x, %w : (tensor<1x3x8x8xi8>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{graph.conv: result type tensor<1x4x8x8xf32> does not match the inferred type tensor<1x4x6x6xf32>}}
  %y = graph.conv %x, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x?x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{graph.conv: operand 'input' must have a static shape, got tensor<1x3x?x8xf32>}}
  %y = graph.conv %x, %w : (tensor<1x3x?x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// ======== graph.conv_integer ========
// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xi8>) {
  // expected-error@+1 {{graph.conv_integer: input element type must be i8/ui8, got f32 (tensor<1x3x8x8xf32>)}}
  %y = graph.conv_integer %x, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xui8>, %w: tensor<4x3x3x3xi8>, %zp: tensor<i8>) {
  // expected-error@+1 {{graph.conv_integer: input_zero_point element type i8 differs from input element type ui8}}
  %y = graph.conv_integer %x, %w, %zp : (tensor<1x3x8x8xui8>, tensor<4x3x3x3xi8>, tensor<i8>) -> tensor<1x4x6x6xi32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xui8>, %w: tensor<4x3x3x3xi8>, %zp: tensor<3xui8>) {
  // expected-error@+1 {{graph.conv_integer: input_zero_point must be a scalar (shape [] or [1]), got tensor<3xui8>}}
  %y = graph.conv_integer %x, %w, %zp : (tensor<1x3x8x8xui8>, tensor<4x3x3x3xi8>, tensor<3xui8>) -> tensor<1x4x6x6xi32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xui8>, %w: tensor<4x3x3x3xi8>, %zp: tensor<3xi8>) {
  // expected-error@+1 {{graph.conv_integer: weight_zero_point must be a scalar or have shape [4] (one per output channel), got tensor<3xi8>}}
  %y = graph.conv_integer %x, %w, %zp {operandSegmentSizes = [1, 1, 0, 1]} : (tensor<1x3x8x8xui8>, tensor<4x3x3x3xi8>, tensor<3xi8>) -> tensor<1x4x6x6xi32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xui8>, %w: tensor<4x3x3x3xi8>) {
  // expected-error@+1 {{graph.conv_integer: result type tensor<1x4x6x6xi8> does not match the inferred type tensor<1x4x6x6xi32>}}
  %y = graph.conv_integer %x, %w : (tensor<1x3x8x8xui8>, tensor<4x3x3x3xi8>) -> tensor<1x4x6x6xi8>
  func.return
}

// ======== graph.qlinear_conv ========
// -----
func.func @f(%x: tensor<1x3x8x8xui8>, %s: tensor<f32>, %xzp: tensor<ui8>, %w: tensor<4x3x3x3xi8>, %wzp: tensor<i8>, %b: tensor<4xf32>) {
  // expected-error@+1 {{graph.qlinear_conv: bias element type must be i32, got f32 (tensor<4xf32>)}}
  %y = graph.qlinear_conv %x, %s, %xzp, %w, %s, %wzp, %s, %xzp, %b : (tensor<1x3x8x8xui8>, tensor<f32>, tensor<ui8>, tensor<4x3x3x3xi8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<ui8>, tensor<4xf32>) -> tensor<1x4x6x6xui8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xui8>, %s: tensor<f32>, %xzp: tensor<ui8>, %w: tensor<4x3x3x3xi8>, %wzp: tensor<i8>) {
  // expected-error@+1 {{graph.qlinear_conv: output_zero_point element type must be i8/ui8, got f32 (tensor<f32>)}}
  %y = graph.qlinear_conv %x, %s, %xzp, %w, %s, %wzp, %s, %s : (tensor<1x3x8x8xui8>, tensor<f32>, tensor<ui8>, tensor<4x3x3x3xi8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<f32>) -> tensor<1x4x6x6xui8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xui8>, %s: tensor<f32>, %ws: tensor<2xf32>, %xzp: tensor<ui8>, %w: tensor<4x3x3x3xi8>, %wzp: tensor<i8>) {
  // expected-error@+1 {{graph.qlinear_conv: weight_scale must be a scalar or have shape [4] (one per output channel), got tensor<2xf32>}}
  %y = graph.qlinear_conv %x, %s, %xzp, %w, %ws, %wzp, %s, %xzp : (tensor<1x3x8x8xui8>, tensor<f32>, tensor<ui8>, tensor<4x3x3x3xi8>, tensor<2xf32>, tensor<i8>, tensor<f32>, tensor<ui8>) -> tensor<1x4x6x6xui8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xui8>, %s: tensor<f32>, %xs: tensor<3xf32>, %xzp: tensor<ui8>, %w: tensor<4x3x3x3xi8>, %wzp: tensor<i8>) {
  // expected-error@+1 {{graph.qlinear_conv: input_scale must be a scalar (shape [] or [1]), got tensor<3xf32>}}
  %y = graph.qlinear_conv %x, %xs, %xzp, %w, %s, %wzp, %s, %xzp : (tensor<1x3x8x8xui8>, tensor<3xf32>, tensor<ui8>, tensor<4x3x3x3xi8>, tensor<f32>, tensor<i8>, tensor<f32>, tensor<ui8>) -> tensor<1x4x6x6xui8>
  func.return
}

// ======== graph.gemm ========
// -----
func.func @f(%a: tensor<2x3xf32>, %b: tensor<2x4xf32>) {
  // expected-error@+1 {{graph.gemm: inner dimensions differ: a [2, 3] (trans_a = 0) gives K = 3, b [2, 4] (trans_b = 0) gives K = 2}}
  %y = graph.gemm %a, %b : (tensor<2x3xf32>, tensor<2x4xf32>) -> tensor<2x4xf32>
  func.return
}

// -----
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error@+1 {{graph.gemm: trans_a must be 0 or 1, got 2}}
  %y = graph.gemm %a, %b {trans_a = 2} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  func.return
}

// -----
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>, %c: tensor<3xf32>) {
  // expected-error@+1 {{graph.gemm: c [3] does not broadcast to the result [2, 4]}}
  %y = graph.gemm %a, %b, %c : (tensor<2x3xf32>, tensor<3x4xf32>, tensor<3xf32>) -> tensor<2x4xf32>
  func.return
}

// -----
func.func @f(%a: tensor<1x2x3xf32>, %b: tensor<3x4xf32>) {
  // expected-error@+1 {{graph.gemm: a must be 2-D, got rank 3 (tensor<1x2x3xf32>)}}
  %y = graph.gemm %a, %b : (tensor<1x2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  func.return
}

// ======== graph.matmul, graph.matmul_integer, graph.qlinear_matmul ========
// -----
func.func @f(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) {
  // expected-error@+1 {{graph.matmul: inner dimensions differ: a [2, 3] has 3 columns, b [4, 5] has 4 rows}}
  %y = graph.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  func.return
}

// -----
func.func @f(%a: tensor<2x2x3xf32>, %b: tensor<3x3x5xf32>) {
  // expected-error@+1 {{graph.matmul: shapes are not broadcastable (a batch [2], b batch [3]): dimension -1 is 2 vs 3}}
  %y = graph.matmul %a, %b : (tensor<2x2x3xf32>, tensor<3x3x5xf32>) -> tensor<3x2x5xf32>
  func.return
}

// -----
func.func @f(%a: tensor<f32>, %b: tensor<3xf32>) {
  // expected-error@+1 {{graph.matmul: matmul operands must have rank >= 1, got [] and [3]}}
  %y = graph.matmul %a, %b : (tensor<f32>, tensor<3xf32>) -> tensor<f32>
  func.return
}

// -----
func.func @f(%a: tensor<2x3xui8>, %b: tensor<3x4xi8>, %zp: tensor<i8>) {
  // expected-error@+1 {{graph.matmul_integer: a_zero_point element type i8 differs from a element type ui8}}
  %y = graph.matmul_integer %a, %b, %zp : (tensor<2x3xui8>, tensor<3x4xi8>, tensor<i8>) -> tensor<2x4xi32>
  func.return
}

// -----
func.func @f(%a: tensor<2x3xui8>, %b: tensor<3x4xi8>, %zp: tensor<3xi8>) {
  // expected-error@+1 {{graph.matmul_integer: b_zero_point must be a scalar or have shape [4] (one per column), got tensor<3xi8>}}
  %y = graph.matmul_integer %a, %b, %zp {operandSegmentSizes = [1, 1, 0, 1]} : (tensor<2x3xui8>, tensor<3x4xi8>, tensor<3xi8>) -> tensor<2x4xi32>
  func.return
}

// -----
func.func @f(%a: tensor<2x3xui8>, %s: tensor<f32>, %zp: tensor<ui8>, %b: tensor<3x4xui8>, %yzp: tensor<2xui8>) {
  // expected-error@+1 {{graph.qlinear_matmul: output_zero_point must be a scalar (shape [] or [1]), got tensor<2xui8>}}
  %y = graph.qlinear_matmul %a, %s, %zp, %b, %s, %zp, %s, %yzp : (tensor<2x3xui8>, tensor<f32>, tensor<ui8>, tensor<3x4xui8>, tensor<f32>, tensor<ui8>, tensor<f32>, tensor<2xui8>) -> tensor<2x4xui8>
  func.return
}

// -----
func.func @f(%a: tensor<2x3xui8>, %s: tensor<f32>, %zp: tensor<ui8>, %b: tensor<3x4xui8>) {
  // expected-error@+1 {{graph.qlinear_matmul: a_scale element type must be f32, got ui8 (tensor<ui8>)}}
  %y = graph.qlinear_matmul %a, %zp, %zp, %b, %s, %zp, %s, %zp : (tensor<2x3xui8>, tensor<ui8>, tensor<ui8>, tensor<3x4xui8>, tensor<f32>, tensor<ui8>, tensor<f32>, tensor<ui8>) -> tensor<2x4xui8>
  func.return
}

// ======== elementwise ========
// -----
func.func @f(%a: tensor<4xf32>, %b: tensor<4xi32>) {
  // expected-error@+1 {{graph.add: rhs element type i32 differs from lhs element type f32}}
  %y = graph.add %a, %b : (tensor<4xf32>, tensor<4xi32>) -> tensor<4xf32>
  func.return
}

// -----
func.func @f(%a: tensor<2x4xf32>, %b: tensor<3x1xf32>) {
  // expected-error@+1 {{graph.mul: shapes are not broadcastable (lhs [2, 4], rhs [3, 1]): dimension -2 is 2 vs 3}}
  %y = graph.mul %a, %b : (tensor<2x4xf32>, tensor<3x1xf32>) -> tensor<2x4xf32>
  func.return
}

// -----
func.func @f(%a: tensor<4xi1>) {
  // expected-error@+1 {{graph.sub: lhs element type must be f32/f64/i8/ui8/i32/i64, got i1 (tensor<4xi1>)}}
  %y = graph.sub %a, %a : (tensor<4xi1>, tensor<4xi1>) -> tensor<4xi1>
  func.return
}

// -----
func.func @f(%a: tensor<2x4xf32>, %b: tensor<4xf32>) {
  // expected-error@+1 {{graph.div: result type tensor<4xf32> does not match the inferred type tensor<2x4xf32>}}
  %y = graph.div %a, %b : (tensor<2x4xf32>, tensor<4xf32>) -> tensor<4xf32>
  func.return
}

// -----
func.func @f(%a: tensor<4xi32>) {
  // expected-error@+1 {{graph.sigmoid: input element type must be f32/f64, got i32 (tensor<4xi32>)}}
  %y = graph.sigmoid %a : (tensor<4xi32>) -> tensor<4xi32>
  func.return
}

// -----
func.func @f(%a: tensor<4xui8>) {
  // expected-error@+1 {{graph.relu: input element type must be f32/f64/i8/i32/i64, got ui8 (tensor<4xui8>)}}
  %y = graph.relu %a : (tensor<4xui8>) -> tensor<4xui8>
  func.return
}

// -----
func.func @f(%a: tensor<4xf32>) {
  // expected-error@+1 {{graph.leaky_relu: result type tensor<4xf64> does not match the inferred type tensor<4xf32>}}
  %y = graph.leaky_relu %a : (tensor<4xf32>) -> tensor<4xf64>
  func.return
}

// ======== pooling and reductions ========
// -----
func.func @f(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+1 {{property 'kernel_shape' expected in operation 'graph.max_pool'}}
  %y = graph.max_pool %x : (tensor<1x3x8x8xf32>) -> tensor<1x3x8x8xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+1 {{graph.max_pool: kernel_shape has 1 values [2], expected 2 (one per spatial axis)}}
  %y = graph.max_pool %x {kernel_shape = [2]} : (tensor<1x3x8x8xf32>) -> tensor<1x3x7x7xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+1 {{graph.max_pool: ceil_mode must be 0 or 1, got 2}}
  %y = graph.max_pool %x {kernel_shape = [2, 2], ceil_mode = 2} : (tensor<1x3x8x8xf32>) -> tensor<1x3x7x7xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xi32>) {
  // expected-error@+1 {{graph.max_pool: input element type must be f32/i8/ui8, got i32 (tensor<1x3x8x8xi32>)}}
  %y = graph.max_pool %x {kernel_shape = [2, 2]} : (tensor<1x3x8x8xi32>) -> tensor<1x3x7x7xi32>
  func.return
}

// -----
// ceil_mode gives ceil((5 + 2 - 1) / 2) + 1 = 4 windows, but the 4th would start at 6,
// past the input and its begin padding (5 + 0): ONNX's reference (and ORT) drop it.
func.func @f(%x: tensor<1x1x5x5xf32>) {
  // expected-error@+1 {{graph.max_pool: result type tensor<1x1x4x4xf32> does not match the inferred type tensor<1x1x3x3xf32>}}
  %y = graph.max_pool %x {kernel_shape = [1, 1], strides = [2, 2], pads = [0, 0, 2, 2], ceil_mode = 1} : (tensor<1x1x5x5xf32>) -> tensor<1x1x4x4xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>) {
  // expected-error@+1 {{graph.average_pool: count_include_pad must be 0 or 1, got 3}}
  %y = graph.average_pool %x {kernel_shape = [2, 2], count_include_pad = 3} : (tensor<1x3x8x8xf32>) -> tensor<1x3x7x7xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x2x2xf32>) {
  // expected-error@+1 {{graph.average_pool: kernel extent 3 (kernel 3, dilation 1) exceeds the padded input size 2 (input 2, pads 0+0) along spatial axis 0}}
  %y = graph.average_pool %x {kernel_shape = [3, 3]} : (tensor<1x3x2x2xf32>) -> tensor<1x3x0x0xf32>
  func.return
}

// -----
func.func @f(%x: tensor<3x8xf32>) {
  // expected-error@+1 {{graph.global_average_pool: input must be N x C x spatial... (rank >= 3), got rank 2 (tensor<3x8xf32>)}}
  %y = graph.global_average_pool %x : (tensor<3x8xf32>) -> tensor<3x8xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.reduce_mean: axes element = 2 is out of range [-2, 1] for rank 2}}
  %y = graph.reduce_mean %x {axes = [2]} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.reduce_mean: axes [1, -1] name an axis twice}}
  %y = graph.reduce_mean %x {axes = [1, -1]} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.reduce_mean: axes is empty; leave it out to reduce over all axes}}
  %y = graph.reduce_mean %x {axes = []} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.reduce_mean: keepdims must be 0 or 1, got 5}}
  %y = graph.reduce_mean %x {keepdims = 5} : (tensor<2x3xf32>) -> tensor<1x1xf32>
  func.return
}

// -----
func.func @f() {
  // expected-error@+1 {{graph.sum needs at least one input}}
  %y = graph.sum : () -> tensor<2xf32>
  func.return
}

// -----
func.func @f(%a: tensor<2xf32>, %b: tensor<2xi32>) {
  // expected-error@+1 {{graph.sum: inputs[1] element type i32 differs from inputs[0] element type f32}}
  %y = graph.sum %a, %b : (tensor<2xf32>, tensor<2xi32>) -> tensor<2xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x4x4xf32>, %p: tensor<3xf32>, %q: tensor<4xf32>) {
  // expected-error@+1 {{graph.batch_norm: variance must have shape [3] (one per channel of tensor<1x3x4x4xf32>), got tensor<4xf32>}}
  %y = graph.batch_norm %x, %p, %p, %p, %q : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<4xf32>) -> tensor<1x3x4x4xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x4x4xf32>, %p: tensor<3xf32>) {
  // expected-error@+1 {{graph.batch_norm: epsilon must be finite and >= 0, got -0.001}}
  %y = graph.batch_norm %x, %p, %p, %p, %p {epsilon = -1.0e-03} : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>, tensor<3xf32>) -> tensor<1x3x4x4xf32>
  func.return
}

// ======== shape ops ========
// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.flatten: axis = 3 is out of range [-2, 2] for rank 2}}
  %y = graph.flatten %x {axis = 3} : (tensor<2x3xf32>) -> tensor<6x1xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.reshape: shape [4, 2] has 8 elements but the input tensor<2x3xf32> has 6}}
  %y = graph.reshape %x {shape = [4, 2]} : (tensor<2x3xf32>) -> tensor<4x2xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.reshape: shape [-1, 2] must all be >= 0, got -1}}
  %y = graph.reshape %x {shape = [-1, 2]} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3x4xf32>) {
  // expected-error@+1 {{graph.transpose: perm [0, 2, 2] is not a permutation of 0..2 (input tensor<2x3x4xf32>)}}
  %y = graph.transpose %x {perm = [0, 2, 2]} : (tensor<2x3x4xf32>) -> tensor<2x4x4xf32>
  func.return
}

// -----
func.func @f(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.concat: axis = -1 must be non-negative (the importer normalises ONNX's negative axes)}}
  %y = graph.concat %a, %a {axis = -1} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x6xf32>
  func.return
}

// -----
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x3xf32>) {
  // expected-error@+1 {{graph.concat: inputs[1] tensor<3x3xf32> does not match inputs[0] tensor<2x3xf32> outside axis 1}}
  %y = graph.concat %a, %b {axis = 1} : (tensor<2x3xf32>, tensor<3x3xf32>) -> tensor<2x6xf32>
  func.return
}

// -----
func.func @f(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.concat: axis = 2 is out of range [-2, 1] for rank 2}}
  %y = graph.concat %a, %a {axis = 2} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}

// -----
func.func @f(%a: tensor<2x3xf32>) {
  // expected-error@+1 {{property 'axis' expected in operation 'graph.concat'}}
  %y = graph.concat %a, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.softmax: axis = 2 is out of range [-2, 1] for rank 2}}
  %y = graph.softmax %x {axis = 2} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.pad: pads has 2 values [1, 1], expected 4 (all begins then all ends, 2 x rank)}}
  %y = graph.pad %x {pads = [1, 1]} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.pad: mode 'wrap' is not one of constant, reflect, edge}}
  %y = graph.pad %x {mode = "wrap"} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{graph.pad: pads -2, -2 crop axis 1 of size 3 below zero}}
  %y = graph.pad %x {pads = [0, -2, 0, -2]} : (tensor<2x3xf32>) -> tensor<2x0xf32>
  func.return
}

// ======== quantization ========
// -----
func.func @f(%x: tensor<1x3x4x4xf32>, %s: tensor<4xf32>) {
  // expected-error@+1 {{graph.quantize_linear: per-axis scale has 4 values but input dimension 1 (axis = 1) of tensor<1x3x4x4xf32> has 3}}
  %y = graph.quantize_linear %x, %s : (tensor<1x3x4x4xf32>, tensor<4xf32>) -> tensor<1x3x4x4xui8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x4x4xf32>, %s: tensor<3xf32>, %zp: tensor<i8>) {
  // expected-error@+1 {{graph.quantize_linear: zero_point shape [] differs from scale shape [3]}}
  %y = graph.quantize_linear %x, %s, %zp : (tensor<1x3x4x4xf32>, tensor<3xf32>, tensor<i8>) -> tensor<1x3x4x4xi8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x4x4xi8>, %s: tensor<f32>) {
  // expected-error@+1 {{graph.quantize_linear: input element type must be f32/i32, got i8 (tensor<1x3x4x4xi8>)}}
  %y = graph.quantize_linear %x, %s : (tensor<1x3x4x4xi8>, tensor<f32>) -> tensor<1x3x4x4xui8>
  func.return
}

// -----
// Without a zero point the result is ui8.
func.func @f(%x: tensor<1x3x4x4xf32>, %s: tensor<f32>) {
  // expected-error@+1 {{graph.quantize_linear: result type tensor<1x3x4x4xi8> does not match the inferred type tensor<1x3x4x4xui8>}}
  %y = graph.quantize_linear %x, %s : (tensor<1x3x4x4xf32>, tensor<f32>) -> tensor<1x3x4x4xi8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x4x4xf32>, %s: tensor<3x1xf32>) {
  // expected-error@+1 {{graph.quantize_linear: scale must be a scalar or a 1-D per-axis tensor, got tensor<3x1xf32>}}
  %y = graph.quantize_linear %x, %s : (tensor<1x3x4x4xf32>, tensor<3x1xf32>) -> tensor<1x3x4x4xui8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3xi8>, %s: tensor<f32>, %zp: tensor<ui8>) {
  // expected-error@+1 {{graph.dequantize_linear: zero_point element type ui8 differs from input element type i8}}
  %y = graph.dequantize_linear %x, %s, %zp : (tensor<1x3xi8>, tensor<f32>, tensor<ui8>) -> tensor<1x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3xf32>, %s: tensor<f32>) {
  // expected-error@+1 {{graph.dequantize_linear: input element type must be i8/ui8/i32, got f32 (tensor<1x3xf32>)}}
  %y = graph.dequantize_linear %x, %s : (tensor<1x3xf32>, tensor<f32>) -> tensor<1x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3xi8>) {
  // expected-error@+1 {{graph.requantize: input element type must be i32, got i8 (tensor<1x3xi8>)}}
  %y = graph.requantize %x {multiplier = [1], shift = [0]} : (tensor<1x3xi8>) -> tensor<1x3xi8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3xi32>) {
  // expected-error@+1 {{graph.requantize: multiplier has 2 values; expected 1 or 3 (input dimension 1, axis = 1, of tensor<1x3xi32>)}}
  %y = graph.requantize %x {multiplier = [1, 2], shift = [0, 0]} : (tensor<1x3xi32>) -> tensor<1x3xi8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3xi32>) {
  // expected-error@+1 {{graph.requantize: shift has 3 values but multiplier has 1}}
  %y = graph.requantize %x {multiplier = [1], shift = [0, 0, 0]} : (tensor<1x3xi32>) -> tensor<1x3xi8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3xi32>) {
  // expected-error@+1 {{graph.requantize: shift 64 is outside [0, 63]}}
  %y = graph.requantize %x {multiplier = [1], shift = [64]} : (tensor<1x3xi32>) -> tensor<1x3xi8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3xi32>) {
  // expected-error@+1 {{graph.requantize: multiplier 2147483648 is outside the i32 range (x * multiplier must fit 64 bits)}}
  %y = graph.requantize %x {multiplier = [2147483648], shift = [31]} : (tensor<1x3xi32>) -> tensor<1x3xi8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3xi32>) {
  // expected-error@+1 {{graph.requantize: result type tensor<1x3xi32> must be a tensor of i8 or ui8 with shape [1, 3]}}
  %y = graph.requantize %x {multiplier = [1], shift = [0]} : (tensor<1x3xi32>) -> tensor<1x3xi32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3xi32>) {
  // expected-error@+1 {{graph.requantize: output_zero_point = -1 is outside the ui8 range [0, 255]}}
  %y = graph.requantize %x {multiplier = [1], shift = [0], output_zero_point = -1} : (tensor<1x3xi32>) -> tensor<1x3xui8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3xi32>) {
  // expected-error@+1 {{graph.requantize: output_zero_point = 300 fits neither i8 nor ui8}}
  %y = graph.requantize %x {multiplier = [1], shift = [0], output_zero_point = 300} : (tensor<1x3xi32>) -> tensor<1x3xui8>
  func.return
}

// ======== custom syntax ========
// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{unknown property 'stride' for graph.conv (its properties: strides, pads, dilations, group)}}
  %y = graph.conv %x, %w {stride = [2, 2]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x3x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2x3xf32>) {
  // expected-error@+1 {{property 'axis' is given twice}}
  %y = graph.softmax %x {axis = 0, axis = 1} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{Expected integer literal in property 'strides'}}
  %y = graph.conv %x, %w {strides = [2.5, 2]} : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x3x3xf32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xui8>, %w: tensor<4x3x3x3xi8>, %zp: tensor<i8>) {
  // expected-error@+1 {{operandSegmentSizes [1, 1, 1] does not fit graph.conv_integer(input, weight, [input_zero_point], [weight_zero_point]) with 3 operands}}
  %y = graph.conv_integer %x, %w, %zp {operandSegmentSizes = [1, 1, 1]} : (tensor<1x3x8x8xui8>, tensor<4x3x3x3xi8>, tensor<i8>) -> tensor<1x4x6x6xi32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xf32>, %w: tensor<4x3x3x3xf32>) {
  // expected-error@+1 {{graph.conv takes 2 to 3 operands (graph.conv(input, weight, [bias])), got 4}}
  %y = graph.conv %x, %w, %w, %w : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>, tensor<4x3x3x3xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x6x6xf32>
  func.return
}

// -----
func.func @f(%x: tensor<2xf32>) {
  // expected-error@+1 {{graph.relu has one result, got 2 types}}
  %y = graph.relu %x : (tensor<2xf32>) -> (tensor<2xf32>, tensor<2xf32>)
  func.return
}

// -----
func.func @f(%x: tensor<2xf32>) {
  // expected-error@+1 {{Expected integer literal for property 'axis'}}
  %y = graph.softmax %x {axis = "last"} : (tensor<2xf32>) -> tensor<2xf32>
  func.return
}
