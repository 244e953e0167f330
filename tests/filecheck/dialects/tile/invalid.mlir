// One case per tile type and op verifier error (and custom-syntax parse error). Each case
// states its message with an expected-error directive; --verify-diagnostics fails on a
// missing or an extra error.
// RUN: canopy-opt --split-input-file --verify-diagnostics %s
// Every case must fail: no chunk may print a module.
// RUN: canopy-opt --split-input-file --verify-diagnostics %s | filecheck %s --check-prefix=NONE-VALID
// NONE-VALID-NOT: {{^}}builtin.module

// ======== blocked types ========
// expected-error@+1 {{tile.act: needs 6 blocked dimensions (N/BATCH, C/BLOCK, H, W, BATCH, BLOCK), got [1, 1, 8, 1, 16]}}
func.func @f(%x: !tile.act<1x1x8x1x16xi8, n = 1, c = 3>) {
  func.return
}

// -----
// expected-error@+1 {{tile.act: element type must be i8/ui8, got f32}}
func.func @f(%x: !tile.act<1x1x8x8x1x16xf32, n = 1, c = 3>) {
  func.return
}

// -----
// expected-error@+1 {{tile.wgt: element type must be i8, got ui8}}
func.func @f(%x: !tile.wgt<1x1x3x3x16x16xui8, o = 3, i = 3>) {
  func.return
}

// -----
// expected-error@+1 {{tile.acc: element type must be i32, got i8}}
func.func @f(%x: !tile.acc<1x1x8x8x1x16xi8, n = 1, c = 3>) {
  func.return
}

// -----
// expected-error@+1 {{tile.act: dimensions must be positive, got [1, 1, 0, 8, 1, 16]}}
func.func @f(%x: !tile.act<1x1x0x8x1x16xi8, n = 1, c = 3>) {
  func.return
}

// -----
// expected-error@+1 {{tile.act: block size BLOCK = 12 is not a power of two}}
func.func @f(%x: !tile.act<1x1x8x8x1x12xi8, n = 1, c = 3>) {
  func.return
}

// -----
// expected-error@+1 {{tile.wgt: block size BLOCK_OUT = 3 is not a power of two}}
func.func @f(%x: !tile.wgt<1x1x3x3x3x16xi8, o = 3, i = 3>) {
  func.return
}

// -----
// expected-error@+1 {{tile.act: c = 0 must be positive}}
func.func @f(%x: !tile.act<1x1x8x8x1x16xi8, n = 1, c = 0>) {
  func.return
}

// -----
// expected-error@+1 {{tile.act: c = 40 in blocks of 16 needs ceil(40/16) = 3 blocks (48 padded), but dimension C/BLOCK is 2}}
func.func @f(%x: !tile.act<1x2x8x8x1x16xi8, n = 1, c = 40>) {
  func.return
}

// -----
// Padding a whole extra block is not allowed either: the block count is exactly ceil(C/BLOCK).
// expected-error@+1 {{tile.wgt: o = 16 in blocks of 16 needs ceil(16/16) = 1 blocks (16 padded), but dimension O/BLOCK_OUT is 2}}
func.func @f(%x: !tile.wgt<2x1x3x3x16x16xi8, o = 16, i = 3>) {
  func.return
}

// -----
// expected-error@+1 {{tile.act: n = 3 in blocks of 2 needs ceil(3/2) = 2 blocks (4 padded), but dimension N/BATCH is 1}}
func.func @f(%x: !tile.act<1x1x8x8x2x16xi8, n = 3, c = 3>) {
  func.return
}

// -----
// expected-error@+1 {{Expected 'i'}}
func.func @f(%x: !tile.wgt<1x1x3x3x16x16xi8, o = 3, c = 3>) {
  func.return
}

// ======== tile.pack / tile.unpack ========
// -----
func.func @f(%x: tensor<3x8x8xi8>) {
  // expected-error@+1 {{tile.pack: the tensor must be rank 4 (NCHW / OIHW), got tensor<3x8x8xi8>}}
  %p = tile.pack %x : tensor<3x8x8xi8> -> !tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xui8>) {
  // expected-error@+1 {{tile.pack: element types differ: tensor ui8, blocked i8}}
  %p = tile.pack %x : tensor<1x3x8x8xui8> -> !tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xi8>) {
  // expected-error@+1 {{tile.pack: tensor shape [1, 3, 8, 8] is not the logical shape [1, 4, 8, 8] of !tile.act<1x1x8x8x1x16xi8, n = 1, c = 4>}}
  %p = tile.pack %x : tensor<1x3x8x8xi8> -> !tile.act<1x1x8x8x1x16xi8, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%y: !tile.wgt<1x1x3x3x16x16xi8, o = 3, i = 3>) {
  // expected-error@+1 {{tile.unpack: tensor shape [3, 3, 1, 3] is not the logical shape [3, 3, 3, 3] of !tile.wgt<1x1x3x3x16x16xi8, o = 3, i = 3>}}
  %t = tile.unpack %y : !tile.wgt<1x1x3x3x16x16xi8, o = 3, i = 3> -> tensor<3x3x1x3xi8>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x16xi32, n = 1, c = 3>) {
  // expected-error@+1 {{tile.unpack: element types differ: tensor i8, blocked i32}}
  %t = tile.unpack %y : !tile.acc<1x1x2x2x1x16xi32, n = 1, c = 3> -> tensor<1x3x2x2xi8>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xi8>) {
  // expected-error@+1 {{operand 'input' at position 0 does not verify}}
  %t = "tile.unpack"(%x) : (tensor<1x3x8x8xi8>) -> tensor<1x3x8x8xi8>
  func.return
}

// ======== tile.config ========
// -----
func.func @f(%x: tensor<1x3x8x8xi8>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.pack: tile.act has channel block 16 but config 'tiny' has 4}}
  %p = tile.pack %x : tensor<1x3x8x8xi8> -> !tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>
  func.return
}

// -----
builtin.module attributes {tile.config = "tiny-b2"} {
  func.func @f(%x: tensor<1x3x8x8xi8>) {
    // expected-error@+1 {{tile.pack: tile.act has BATCH block 1 but config 'tiny-b2' has BATCH = 2}}
    %p = tile.pack %x : tensor<1x3x8x8xi8> -> !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>
    func.return
  }
}

// -----
// The function's config overrides the module's.
builtin.module attributes {tile.config = "intelfocl"} {
  func.func @f(%y: !tile.wgt<1x1x3x3x4x4xi8, o = 3, i = 3>) attributes {tile.config = "tiny-b2"} {
    // expected-error@+1 {{tile.unpack: tile.wgt has blocks BLOCK_OUT x BLOCK_IN = 4x4 but config 'tiny-b2' has 8x4}}
    %t = tile.unpack %y : !tile.wgt<1x1x3x3x4x4xi8, o = 3, i = 3> -> tensor<3x3x3x3xi8>
    func.return
  }
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x2x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny-b2"} {
  // expected-error@+1 {{tile.unpack: tile.acc has channel block 4 but config 'tiny-b2' has 8}}
  %t = tile.unpack %y : !tile.acc<1x1x2x2x2x4xi32, n = 1, c = 3> -> tensor<1x3x2x2xi32>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xi8>) attributes {tile.config = "no-such-card"} {
  // expected-error@+1 {{tile.pack: 'tile.config' on 'func.func': hardware config 'no-such-card' is neither a preset}}
  %p = tile.pack %x : tensor<1x3x8x8xi8> -> !tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%x: tensor<1x3x8x8xi8>) attributes {tile.config = 16 : i64} {
  // expected-error@+1 {{tile.pack: 'tile.config' on 'func.func' must be a string, got 16 : i64}}
  %p = tile.pack %x : tensor<1x3x8x8xi8> -> !tile.act<1x1x8x8x1x16xi8, n = 1, c = 3>
  func.return
}

// ======== tile.conv ========
// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) {
  // expected-error@+1 {{tile.conv: needs a 'tile.config' on an enclosing op to check its buffer footprint}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 2>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: input has 3 channels, weight expects 2}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 2>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x8xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: input channel block 8 differs from the weight's BLOCK_IN 4}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x8xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x2x2x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: the padded [2, 2] input is smaller than the [3, 3] kernel}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x2x2x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x1x1x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: result type !tile.acc<1x1x8x8x1x4xi32, n = 1, c = 4> should be !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x8x8x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: strides must be 2 positive integers, got [0, 1]}}
  %y = tile.conv %x, %w {strides = array<i64: 0, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: pads must be 4 non-negative integers [top, left, bottom, right], got [0, 0]}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: tile must be [tile_h, tile_w, tile_oc, tile_ic], got [1, 1, 1]}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: buffers must be 1 or 2 (double buffering), got 3}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 3 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: tile_w = 7 is outside [1, 6]}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 7, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x8xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x8xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: tile.act has channel block 8 but config 'tiny' has 4}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x8xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x8xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
// tiny-b2: BLOCK_IN = 4, BLOCK_OUT = 8; an input blocked by BLOCK_OUT is an OUT-layout
// activation, valid in itself but not a GEMM input: its weight cannot match the config.
func.func @f(%x: !tile.act<1x1x8x8x2x8xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x8x8xi8, o = 4, i = 3>) attributes {tile.config = "tiny-b2"} {
  // expected-error@+1 {{tile.conv: tile.wgt has blocks BLOCK_OUT x BLOCK_IN = 8x8 but config 'tiny-b2' has 8x4}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x2x8xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x8x8xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x2x8xi32, n = 1, c = 4>
  func.return
}

// -----
// 6x6 outputs read an 8x8 input window of one BLOCK_IN block: 64 INP elements, doubled
// 128 > 64 on tiny-b2.
func.func @f(%x: !tile.act<1x1x8x8x2x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x8x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny-b2"} {
  // expected-error@+1 {{tile.conv: a tile [6, 6, 1, 1] needs 128 INP elements; config 'tiny-b2' has 64}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 6, 6, 1, 1>, buffers = 2 : i64} : (!tile.act<1x1x8x8x2x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x8x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x2x8xi32, n = 1, c = 4>
  func.return
}

// -----
// Single buffered, 6x6 outputs of two BLOCK_OUT blocks: 72 ACC elements > 64.
func.func @f(%x: !tile.act<1x1x8x8x2x4xi8, n = 1, c = 3>, %w: !tile.wgt<2x1x3x3x8x4xi8, o = 16, i = 3>) attributes {tile.config = "tiny-b2"} {
  // expected-error@+1 {{tile.conv: a tile [6, 6, 2, 1] needs 72 ACC elements; config 'tiny-b2' has 64}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 6, 6, 2, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x2x4xi8, n = 1, c = 3>, !tile.wgt<2x1x3x3x8x4xi8, o = 16, i = 3>) -> !tile.acc<1x2x6x6x2x8xi32, n = 1, c = 16>
  func.return
}
