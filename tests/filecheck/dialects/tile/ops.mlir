// The tile dialect's blocked types and pack/unpack in custom form: they print back
// unchanged, survive a second round trip, and the generic form round-trips too.
// RUN: canopy-opt %s | filecheck %s
// RUN: canopy-opt %s | canopy-opt | filecheck %s
// RUN: canopy-opt %s --print-op-generic | canopy-opt | filecheck %s
// RUN: canopy-opt %s --print-op-generic | canopy-opt --print-op-generic | filecheck %s --check-prefix=GENERIC
// canonicalize cancels unpack(pack(x)) and pack(unpack(y)) when the types match.
// RUN: canopy-opt %s -p canonicalize | filecheck %s --check-prefix=CANON

// CHECK-LABEL: func.func @layouts
// CANON-LABEL: func.func @layouts
func.func @layouts(%x: tensor<1x3x8x8xi8>, %w: tensor<20x3x3x3xi8>, %a: tensor<1x40x4x4xi32>, %u: tensor<1x17x2x2xui8>) -> (!tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>, !tile.wgt<2x1x3x3x16x16xi8, o = 20, i = 3>, tensor<1x40x4x4xi32>, tensor<1x17x2x2xui8>) attributes {tile.config = "intelfocl"} {
  %p = tile.pack %x : tensor<1x3x8x8xi8> -> !tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>
  // CHECK-NEXT: %p = tile.pack %x : tensor<1x3x8x8xi8> -> !tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>
  // GENERIC: %p = "tile.pack"(%x) : (tensor<1x3x8x8xi8>) -> !tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>
  %q = tile.pack %w : tensor<20x3x3x3xi8> -> !tile.wgt<2x1x3x3x16x16xi8, o = 20, i = 3>
  // CHECK-NEXT: %q = tile.pack %w : tensor<20x3x3x3xi8> -> !tile.wgt<2x1x3x3x16x16xi8, o = 20, i = 3>
  // GENERIC-NEXT: %q = "tile.pack"(%w) : (tensor<20x3x3x3xi8>) -> !tile.wgt<2x1x3x3x16x16xi8, o = 20, i = 3>
  %acc = tile.pack %a : tensor<1x40x4x4xi32> -> !tile.acc<1x3x4x4x1x16xi32, n = 1, c = 40>
  // CHECK-NEXT: %acc = tile.pack %a : tensor<1x40x4x4xi32> -> !tile.acc<1x3x4x4x1x16xi32, n = 1, c = 40>
  %a2 = tile.unpack %acc : !tile.acc<1x3x4x4x1x16xi32, n = 1, c = 40> -> tensor<1x40x4x4xi32>
  // CHECK-NEXT: %a2 = tile.unpack %acc : !tile.acc<1x3x4x4x1x16xi32, n = 1, c = 40> -> tensor<1x40x4x4xi32>
  // GENERIC: %a2 = "tile.unpack"(%acc) : (!tile.acc<1x3x4x4x1x16xi32, n = 1, c = 40>) -> tensor<1x40x4x4xi32>
  %up = tile.pack %u : tensor<1x17x2x2xui8> -> !tile.act<1x2x2x2x1x16xui8, n = 1, c = 17>
  %u2 = tile.unpack %up : !tile.act<1x2x2x2x1x16xui8, n = 1, c = 17> -> tensor<1x17x2x2xui8>
  // CHECK-NEXT: %up = tile.pack %u : tensor<1x17x2x2xui8> -> !tile.act<1x2x2x2x1x16xui8, n = 1, c = 17>
  // CHECK-NEXT: %u2 = tile.unpack %up : !tile.act<1x2x2x2x1x16xui8, n = 1, c = 17> -> tensor<1x17x2x2xui8>
  // CANON-NEXT: %p = tile.pack %x
  // CANON-NEXT: %q = tile.pack %w
  // CANON-NEXT: func.return %p, %q, %a, %u : !tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>, !tile.wgt<2x1x3x3x16x16xi8, o = 20, i = 3>, tensor<1x40x4x4xi32>, tensor<1x17x2x2xui8>
  func.return %p, %q, %a2, %u2 : !tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>, !tile.wgt<2x1x3x3x16x16xi8, o = 20, i = 3>, tensor<1x40x4x4xi32>, tensor<1x17x2x2xui8>
}

// pack(unpack(y)) -> y (exact: the padding of y is zero by the type's invariant).
// CHECK-LABEL: func.func @repack
// CANON-LABEL: func.func @repack
func.func @repack(%y: !tile.act<1x2x8x8x1x16xi8, n = 1, c = 20>) -> !tile.act<1x2x8x8x1x16xi8, n = 1, c = 20> attributes {tile.config = "intelfocl"} {
  %t = tile.unpack %y : !tile.act<1x2x8x8x1x16xi8, n = 1, c = 20> -> tensor<1x20x8x8xi8>
  %r = tile.pack %t : tensor<1x20x8x8xi8> -> !tile.act<1x2x8x8x1x16xi8, n = 1, c = 20>
  // CHECK: %t = tile.unpack %y
  // CHECK-NEXT: %r = tile.pack %t
  // CANON-NEXT: func.return %y : !tile.act<1x2x8x8x1x16xi8, n = 1, c = 20>
  func.return %r : !tile.act<1x2x8x8x1x16xi8, n = 1, c = 20>
}

// Other configs, set on the function: tiny-b2 has BATCH = 2, so one image is padded to a
// batch block of 2. unpack(pack(x)) cancels; re-blocking from BLOCK_IN = 4 to
// BLOCK_OUT = 8 (pack(unpack(y)) with different types) is a real layout change and stays.
// CHECK-LABEL: func.func @batched
// CANON-LABEL: func.func @batched
func.func @batched(%x: tensor<1x5x3x3xi8>) -> (tensor<1x5x3x3xi8>, !tile.act<1x1x3x3x2x8xi8, n = 1, c = 5>) attributes {tile.config = "tiny-b2"} {
  %p = tile.pack %x : tensor<1x5x3x3xi8> -> !tile.act<1x2x3x3x2x4xi8, n = 1, c = 5>
  // CHECK-NEXT: %p = tile.pack %x : tensor<1x5x3x3xi8> -> !tile.act<1x2x3x3x2x4xi8, n = 1, c = 5>
  %t = tile.unpack %p : !tile.act<1x2x3x3x2x4xi8, n = 1, c = 5> -> tensor<1x5x3x3xi8>
  // CHECK-NEXT: %t = tile.unpack %p
  %r = tile.pack %t : tensor<1x5x3x3xi8> -> !tile.act<1x1x3x3x2x8xi8, n = 1, c = 5>
  // CHECK-NEXT: %r = tile.pack %t : tensor<1x5x3x3xi8> -> !tile.act<1x1x3x3x2x8xi8, n = 1, c = 5>
  // CANON-NEXT: %r = tile.pack %x : tensor<1x5x3x3xi8> -> !tile.act<1x1x3x3x2x8xi8, n = 1, c = 5>
  // CANON-NEXT: func.return %x, %r : tensor<1x5x3x3xi8>, !tile.act<1x1x3x3x2x8xi8, n = 1, c = 5>
  func.return %t, %r : tensor<1x5x3x3xi8>, !tile.act<1x1x3x3x2x8xi8, n = 1, c = 5>
}

// CHECK-LABEL: func.func @no_config
// CANON-LABEL: func.func @no_config
// Without tile.config only the type's own checks run (any power-of-two blocks).
func.func @no_config(%w: !tile.wgt<1x1x1x1x32x8xi8, o = 32, i = 8>) -> !tile.wgt<1x1x1x1x8x8xi8, o = 8, i = 8> {
%t = tile.unpack %w : !tile.wgt<1x1x1x1x32x8xi8, o = 32, i = 8> -> tensor<32x8x1x1xi8>
// CHECK-NEXT: %t = tile.unpack %w : !tile.wgt<1x1x1x1x32x8xi8, o = 32, i = 8> -> tensor<32x8x1x1xi8>
%x = graph.constant dense<1> : tensor<8x8x1x1xi8>
%r = tile.pack %x : tensor<8x8x1x1xi8> -> !tile.wgt<1x1x1x1x8x8xi8, o = 8, i = 8>
// CANON-NEXT: %x = graph.constant
// CANON-NEXT: %r = tile.pack %x
// CANON-NEXT: func.return %r
func.return %r : !tile.wgt<1x1x1x1x8x8xi8, o = 8, i = 8>
}

// A tiled conv: 2x4 output pixels and one block of 16 output and input channels per
// tile, double buffered.
// CHECK-LABEL: func.func @conv
// GENERIC-LABEL: "func.func"() <{sym_name = "conv"
func.func @conv(%x: !tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>, %w: !tile.wgt<2x1x3x3x16x16xi8, o = 20, i = 3>) -> !tile.acc<1x2x4x4x1x16xi32, n = 1, c = 20> attributes {tile.config = "intelfocl"} {
  %y = tile.conv %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, tile = array<i64: 2, 4, 1, 1>, buffers = 2 : i64} : (!tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>, !tile.wgt<2x1x3x3x16x16xi8, o = 20, i = 3>) -> !tile.acc<1x2x4x4x1x16xi32, n = 1, c = 20>
  // CHECK-NEXT: %y = tile.conv %x, %w {strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, tile = array<i64: 2, 4, 1, 1>, buffers = 2 : i64} : (!tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>, !tile.wgt<2x1x3x3x16x16xi8, o = 20, i = 3>) -> !tile.acc<1x2x4x4x1x16xi32, n = 1, c = 20>
  // GENERIC: %y = "tile.conv"(%x, %w) <{strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 0, 0>, tile = array<i64: 2, 4, 1, 1>, buffers = 2 : i64}> : (!tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>, !tile.wgt<2x1x3x3x16x16xi8, o = 20, i = 3>) -> !tile.acc<1x2x4x4x1x16xi32, n = 1, c = 20>
  func.return %y : !tile.acc<1x2x4x4x1x16xi32, n = 1, c = 20>
}

// A grouped weight type prints its groups (only when != 1); a depthwise 3x3 conv with
// dilation 2 and a fused tail: per-channel bias (operand 0), i8 residual (operand 1),
// requantize (mul, shr) and the clamp that makes the i8 result exact.
// CHECK-LABEL: func.func @conv_tail
// GENERIC-LABEL: "func.func"() <{sym_name = "conv_tail"
func.func @conv_tail(%x: !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>, %w: !tile.wgt<2x1x3x3x16x16xi8, o = 32, i = 1, groups = 32>, %b: tensor<32xi32>, %r: !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>) -> !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32> attributes {tile.config = "intelfocl"} {
  %y = tile.conv %x, %w tail(%b, %r) {strides = array<i64: 1, 1>, pads = array<i64: 2, 2, 2, 2>, dilations = array<i64: 2, 2>, groups = 32 : i64, tile = array<i64: 4, 8, 1, 1>, buffers = 2 : i64, tail = [#tile.step<add operand 0>, #tile.step<add operand 1>, #tile.step<mul 3>, #tile.step<shr 2>, #tile.step<max -128>, #tile.step<min 127>]} : (!tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>, !tile.wgt<2x1x3x3x16x16xi8, o = 32, i = 1, groups = 32>, tensor<32xi32>, !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>) -> !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>
  // CHECK-NEXT: %y = tile.conv %x, %w tail(%b, %r) {strides = array<i64: 1, 1>, pads = array<i64: 2, 2, 2, 2>, dilations = array<i64: 2, 2>, groups = 32 : i64, tile = array<i64: 4, 8, 1, 1>, buffers = 2 : i64, tail = [#tile.step<add operand 0>, #tile.step<add operand 1>, #tile.step<mul 3>, #tile.step<shr 2>, #tile.step<max -128>, #tile.step<min 127>]} : (!tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>, !tile.wgt<2x1x3x3x16x16xi8, o = 32, i = 1, groups = 32>, tensor<32xi32>, !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>) -> !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>
  // GENERIC: %y = "tile.conv"(%x, %w, %b, %r) <{strides = array<i64: 1, 1>, pads = array<i64: 2, 2, 2, 2>, dilations = array<i64: 2, 2>, groups = 32 : i64, tile = array<i64: 4, 8, 1, 1>, buffers = 2 : i64, tail = [#tile.step<add operand 0>, #tile.step<add operand 1>, #tile.step<mul 3>, #tile.step<shr 2>, #tile.step<max -128>, #tile.step<min 127>]}> : (!tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>, !tile.wgt<2x1x3x3x16x16xi8, o = 32, i = 1, groups = 32>, tensor<32xi32>, !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>) -> !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>
  %p = tile.pool %y {kind = "max", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, tile = array<i64: 4, 4, 2>, buffers = 1 : i64} : (!tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>) -> !tile.acc<1x2x4x4x1x16xi32, n = 1, c = 32>
  // CHECK-NEXT: %p = tile.pool %y {kind = "max", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, tile = array<i64: 4, 4, 2>, buffers = 1 : i64} : (!tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>) -> !tile.acc<1x2x4x4x1x16xi32, n = 1, c = 32>
  // GENERIC: %p = "tile.pool"(%y) <{kind = "max", kernel = array<i64: 3, 3>, strides = array<i64: 2, 2>, pads = array<i64: 1, 1, 1, 1>, tile = array<i64: 4, 4, 2>, buffers = 1 : i64}>
  %s = tile.pool %p tail(%b) {kind = "sum", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 2, 2, 1>, buffers = 2 : i64, tail = [#tile.step<add operand 0>, #tile.step<shr 2>, #tile.step<min 255>, #tile.step<max 0>]} : (!tile.acc<1x2x4x4x1x16xi32, n = 1, c = 32>, tensor<32xi32>) -> !tile.act<1x2x2x2x1x16xui8, n = 1, c = 32>
  // CHECK-NEXT: %s = tile.pool %p tail(%b) {kind = "sum", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 2, 2, 1>, buffers = 2 : i64, tail = [#tile.step<add operand 0>, #tile.step<shr 2>, #tile.step<min 255>, #tile.step<max 0>]} : (!tile.acc<1x2x4x4x1x16xi32, n = 1, c = 32>, tensor<32xi32>) -> !tile.act<1x2x2x2x1x16xui8, n = 1, c = 32>
  %p2 = tile.alu %y {tile = array<i64: 8, 8, 2>, buffers = 1 : i64, tail = [#tile.step<shr -3>]} : (!tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>) -> !tile.acc<1x2x8x8x1x16xi32, n = 1, c = 32>
  // CHECK-NEXT: %p2 = tile.alu %y {tile = array<i64: 8, 8, 2>, buffers = 1 : i64, tail = [#tile.step<shr -3>]} : (!tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>) -> !tile.acc<1x2x8x8x1x16xi32, n = 1, c = 32>
  %a = tile.alu %y tail(%b, %p2) {tile = array<i64: 8, 8, 2>, buffers = 1 : i64, tail = [#tile.step<add operand 0>, #tile.step<add operand 1>, #tile.step<max 0>, #tile.step<min 127>]} : (!tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>, tensor<32xi32>, !tile.acc<1x2x8x8x1x16xi32, n = 1, c = 32>) -> !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>
  // CHECK-NEXT: %a = tile.alu %y tail(%b, %p2) {tile = array<i64: 8, 8, 2>, buffers = 1 : i64, tail = [#tile.step<add operand 0>, #tile.step<add operand 1>, #tile.step<max 0>, #tile.step<min 127>]} : (!tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>, tensor<32xi32>, !tile.acc<1x2x8x8x1x16xi32, n = 1, c = 32>) -> !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>
  // GENERIC: %a = "tile.alu"(%y, %b, %p2) <{tile = array<i64: 8, 8, 2>, buffers = 1 : i64, tail = [#tile.step<add operand 0>, #tile.step<add operand 1>, #tile.step<max 0>, #tile.step<min 127>]}>
  func.return %a : !tile.act<1x2x8x8x1x16xi8, n = 1, c = 32>
}

// A gemm is a 1x1 conv on a 1x1 image: 3 x 40 times 40 -> 10 on tiny-b2 (BATCH 2,
// BLOCK_IN 4, BLOCK_OUT 8), bias and an int32 result.
// CHECK-LABEL: func.func @gemm
func.func @gemm(%x: !tile.act<2x10x1x1x2x4xi8, n = 3, c = 40>, %w: !tile.wgt<2x10x1x1x8x4xi8, o = 10, i = 40>, %b: tensor<10xi32>) -> !tile.acc<2x2x1x1x2x8xi32, n = 3, c = 10> attributes {tile.config = "tiny-b2"} {
  %y = tile.conv %x, %w tail(%b) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 2, 5>, buffers = 1 : i64, tail = [#tile.step<add operand 0>]} : (!tile.act<2x10x1x1x2x4xi8, n = 3, c = 40>, !tile.wgt<2x10x1x1x8x4xi8, o = 10, i = 40>, tensor<10xi32>) -> !tile.acc<2x2x1x1x2x8xi32, n = 3, c = 10>
  // CHECK-NEXT: %y = tile.conv %x, %w tail(%b) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 2, 5>, buffers = 1 : i64, tail = [#tile.step<add operand 0>]} : (!tile.act<2x10x1x1x2x4xi8, n = 3, c = 40>, !tile.wgt<2x10x1x1x8x4xi8, o = 10, i = 40>, tensor<10xi32>) -> !tile.acc<2x2x1x1x2x8xi32, n = 3, c = 10>
  func.return %y : !tile.acc<2x2x1x1x2x8xi32, n = 3, c = 10>
}
