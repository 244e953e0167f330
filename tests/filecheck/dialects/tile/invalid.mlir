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
  // expected-error@+1 {{tile.conv: the padded [2, 2] input is smaller than the dilated [3, 3] kernel}}
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

// ======== ALU tail steps (#tile.step) ========
// -----
// expected-error@+1 {{tile.step: unknown ALU opcode 'sub' (one of min, max, add, mul, shr)}}
func.func @f() attributes {s = #tile.step<sub 1>} {
  func.return
}

// -----
// expected-error@+1 {{tile.step: 'shr' immediate 32 is outside [-31, 31]}}
func.func @f() attributes {s = #tile.step<shr 32>} {
  func.return
}

// -----
// expected-error@+1 {{tile.step: 'mul' immediate 32768 is outside [-32768, 32767]}}
func.func @f() attributes {s = #tile.step<mul 32768>} {
  func.return
}

// -----
// expected-error@+1 {{tile.step: 'add' operand index -1 is negative}}
func.func @f() attributes {s = #tile.step<add operand -1>} {
  func.return
}

// ======== compute op tails and results ========
// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: tail step 0 (add) uses operand 0, but there are 0 tail operands}}
  %r = tile.alu %y {tile = array<i64: 2, 2, 1>, buffers = 1 : i64, tail = [#tile.step<add operand 0>]} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>, %b: tensor<4xi32>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: tail operand 0: a per-channel operand must be tensor<3xi32>, got tensor<4xi32>}}
  %r = tile.alu %y tail(%b) {tile = array<i64: 2, 2, 1>, buffers = 1 : i64, tail = [#tile.step<add operand 0>]} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>, tensor<4xi32>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>, %u: !tile.act<1x1x2x2x1x4xui8, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: tail operand 0: !tile.act<1x1x2x2x1x4xui8, n = 1, c = 3> enters ACC sign-extended (as LOAD ACC_8BIT does), so its element must be i8, not ui8}}
  %r = tile.alu %y tail(%u) {tile = array<i64: 2, 2, 1>, buffers = 1 : i64, tail = [#tile.step<add operand 0>]} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>, !tile.act<1x1x2x2x1x4xui8, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>, %z: !tile.acc<1x1x2x1x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: tail operand 0: a full-tensor operand must have the result's logical shape [1, 3, 2, 2], got [1, 3, 2, 1]}}
  %r = tile.alu %y tail(%z) {tile = array<i64: 2, 2, 1>, buffers = 1 : i64, tail = [#tile.step<add operand 0>]} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>, !tile.acc<1x1x2x1x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
// tiny-b2: a residual blocked by BLOCK_IN = 4 is not in the result's BLOCK_OUT = 8 layout.
func.func @f(%y: !tile.acc<1x1x2x2x2x8xi32, n = 1, c = 3>, %z: !tile.act<1x1x2x2x2x4xi8, n = 1, c = 3>) attributes {tile.config = "tiny-b2"} {
  // expected-error@+1 {{tile.alu: tail operand 0: a full-tensor operand must be blocked like the result (2x8), got 2x4}}
  %r = tile.alu %y tail(%z) {tile = array<i64: 2, 2, 1>, buffers = 1 : i64, tail = [#tile.step<add operand 0>]} : (!tile.acc<1x1x2x2x2x8xi32, n = 1, c = 3>, !tile.act<1x1x2x2x2x4xi8, n = 1, c = 3>) -> !tile.acc<1x1x2x2x2x8xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: a i8 result keeps the low 8 bits of ACC, so the tail must end with a max and a min by immediates clamping into [-128, 127] (no value may be silently truncated)}}
  %r = tile.alu %y {tile = array<i64: 2, 2, 1>, buffers = 1 : i64, tail = [#tile.step<max -128>, #tile.step<shr 3>]} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) -> !tile.act<1x1x2x2x1x4xi8, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: the tail's final 'max -1' does not clamp into the ui8 range [0, 255]}}
  %r = tile.alu %y {tile = array<i64: 2, 2, 1>, buffers = 1 : i64, tail = [#tile.step<min 255>, #tile.step<max -1>]} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) -> !tile.act<1x1x2x2x1x4xui8, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: result type !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 4> should be !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>}}
  %r = tile.alu %y {tile = array<i64: 2, 2, 1>, buffers = 1 : i64, tail = [#tile.step<add 1>]} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 4>
  func.return
}

// ======== tile.alu ========
// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: needs at least one tail step (an ALU tile with no step does nothing)}}
  %r = tile.alu %y {tile = array<i64: 2, 2, 1>, buffers = 1 : i64} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.act<1x1x2x2x1x4xui8, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: the input !tile.act<1x1x2x2x1x4xui8, n = 1, c = 3> enters ACC sign-extended (as LOAD ACC_8BIT does), so its element must be i8, not ui8}}
  %r = tile.alu %y {tile = array<i64: 2, 2, 1>, buffers = 1 : i64, tail = [#tile.step<add 1>]} : (!tile.act<1x1x2x2x1x4xui8, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
// tiny-b2: an activation blocked by BLOCK_IN = 4 is a GEMM input, not an ACC-side value.
func.func @f(%y: !tile.act<1x1x2x2x2x4xi8, n = 1, c = 3>) attributes {tile.config = "tiny-b2"} {
  // expected-error@+1 {{tile.alu: the result's channel block 4 is not BLOCK_OUT = 8 of config 'tiny-b2'}}
  %r = tile.alu %y {tile = array<i64: 2, 2, 1>, buffers = 1 : i64, tail = [#tile.step<add 1>]} : (!tile.act<1x1x2x2x2x4xi8, n = 1, c = 3>) -> !tile.acc<1x1x2x2x2x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: tile_c = 2 is outside [1, 1]}}
  %r = tile.alu %y {tile = array<i64: 2, 2, 2>, buffers = 1 : i64, tail = [#tile.step<add 1>]} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: tile must be [tile_h, tile_w, tile_c], got [2, 2, 1, 1]}}
  %r = tile.alu %y {tile = array<i64: 2, 2, 1, 1>, buffers = 1 : i64, tail = [#tile.step<add 1>]} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) {
  // expected-error@+1 {{tile.alu: needs a 'tile.config' on an enclosing op to check its buffer footprint}}
  %r = tile.alu %y {tile = array<i64: 2, 2, 1>, buffers = 1 : i64, tail = [#tile.step<add 1>]} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
// 8x8 pixels of one block, with two full-tensor operands: 3 * 64 = 192 ACC elements > 128.
func.func @f(%y: !tile.acc<1x1x8x8x1x4xi32, n = 1, c = 3>, %z: !tile.acc<1x1x8x8x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.alu: a tile [8, 8, 1] needs 192 ACC elements; config 'tiny' has 128}}
  %r = tile.alu %y tail(%z, %z) {tile = array<i64: 8, 8, 1>, buffers = 1 : i64, tail = [#tile.step<add operand 0>, #tile.step<add operand 1>]} : (!tile.acc<1x1x8x8x1x4xi32, n = 1, c = 3>, !tile.acc<1x1x8x8x1x4xi32, n = 1, c = 3>, !tile.acc<1x1x8x8x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x8x8x1x4xi32, n = 1, c = 3>
  func.return
}

// ======== tile.pool ========
// -----
func.func @f(%y: !tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.pool: kind must be one of max, sum, got 'avg'}}
  %r = tile.pool %y {kind = "avg", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 2, 2, 1>, buffers = 1 : i64} : (!tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.pool: kernel must be 2 positive integers, got [0, 2]}}
  %r = tile.pool %y {kind = "max", kernel = array<i64: 0, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 2, 2, 1>, buffers = 1 : i64} : (!tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.pool: strides must be 2 positive integers, got [2]}}
  %r = tile.pool %y {kind = "max", kernel = array<i64: 2, 2>, strides = array<i64: 2>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 2, 2, 1>, buffers = 1 : i64} : (!tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.pool: pads must be 4 non-negative integers [top, left, bottom, right], got [0, -1, 0, 0]}}
  %r = tile.pool %y {kind = "max", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, -1, 0, 0>, tile = array<i64: 2, 2, 1>, buffers = 1 : i64} : (!tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.act<1x1x4x4x1x4xui8, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.pool: the input !tile.act<1x1x4x4x1x4xui8, n = 1, c = 3> enters ACC sign-extended (as LOAD ACC_8BIT does), so its element must be i8, not ui8}}
  %r = tile.pool %y {kind = "max", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 2, 2, 1>, buffers = 1 : i64} : (!tile.act<1x1x4x4x1x4xui8, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.pool: the padded [2, 2] input is smaller than the [3, 3] kernel}}
  %r = tile.pool %y {kind = "max", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1>, buffers = 1 : i64} : (!tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x1x1x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.pool: result type !tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3> should be !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>}}
  %r = tile.pool %y {kind = "sum", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 2, 2, 1>, buffers = 1 : i64} : (!tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
func.func @f(%y: !tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.pool: tile_h = 3 is outside [1, 2]}}
  %r = tile.pool %y {kind = "sum", kernel = array<i64: 2, 2>, strides = array<i64: 2, 2>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 3, 2, 1>, buffers = 1 : i64} : (!tile.acc<1x1x4x4x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x2x2x1x4xi32, n = 1, c = 3>
  func.return
}

// -----
// 8x8 stride-1 outputs of a 3x3 window: 10x10 + 64 = 164 ACC elements > 128 on tiny.
func.func @f(%y: !tile.acc<1x1x8x8x1x4xi32, n = 1, c = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.pool: a tile [8, 8, 1] needs 164 ACC elements; config 'tiny' has 128}}
  %r = tile.pool %y {kind = "max", kernel = array<i64: 3, 3>, strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, tile = array<i64: 8, 8, 1>, buffers = 1 : i64} : (!tile.acc<1x1x8x8x1x4xi32, n = 1, c = 3>) -> !tile.acc<1x1x8x8x1x4xi32, n = 1, c = 3>
  func.return
}

// ======== tile.conv: groups, dilations, tail ========
// -----
// expected-error@+1 {{tile.wgt: o = 8, i = 2, groups = 4 (C = 8) in 4x4 blocks need R = 1 reduction blocks, but dimension I/BLOCK_IN is 2}}
func.func @f(%w: !tile.wgt<2x2x3x3x4x4xi8, o = 8, i = 2, groups = 4>) {
  func.return
}

// -----
// expected-error@+1 {{tile.wgt: o = 6 output channels do not split into groups = 4}}
func.func @f(%w: !tile.wgt<2x1x3x3x4x4xi8, o = 6, i = 2, groups = 4>) {
  func.return
}

// -----
func.func @f(%x: !tile.act<1x2x8x8x1x4xi8, n = 1, c = 8>, %w: !tile.wgt<2x1x3x3x4x4xi8, o = 8, i = 2, groups = 4>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: the weight type has groups = 4, the op groups = 2}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 2 : i64, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x2x8x8x1x4xi8, n = 1, c = 8>, !tile.wgt<2x1x3x3x4x4xi8, o = 8, i = 2, groups = 4>) -> !tile.acc<1x2x6x6x1x4xi32, n = 1, c = 8>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x2x8x8x1x4xi8, n = 1, c = 6>, %w: !tile.wgt<2x1x3x3x4x4xi8, o = 8, i = 2, groups = 4>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: input has 6 channels, weight expects 8 (2 per group x 4 groups)}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 4 : i64, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x2x8x8x1x4xi8, n = 1, c = 6>, !tile.wgt<2x1x3x3x4x4xi8, o = 8, i = 2, groups = 4>) -> !tile.acc<1x2x6x6x1x4xi32, n = 1, c = 8>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x2x8x8x1x4xi8, n = 1, c = 8>, %w: !tile.wgt<2x1x3x3x4x4xi8, o = 8, i = 2, groups = 4>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: tile_ic = 2 is outside [1, 1]}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 4 : i64, tile = array<i64: 1, 1, 1, 2>, buffers = 1 : i64} : (!tile.act<1x2x8x8x1x4xi8, n = 1, c = 8>, !tile.wgt<2x1x3x3x4x4xi8, o = 8, i = 2, groups = 4>) -> !tile.acc<1x2x6x6x1x4xi32, n = 1, c = 8>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: dilations must be 2 positive integers, got [0, 1]}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 0, 1>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: groups must be positive, got 0}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, groups = 0 : i64, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
// Dilation 2 makes the 3x3 kernel span 5x5: 8x8 -> 4x4, not 6x6.
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: result type !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4> should be !tile.acc<1x1x4x4x1x4xi32, n = 1, c = 4>}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, dilations = array<i64: 2, 2>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xui8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: the input must be i8 (the GEMM is signed int8), got ui8}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xui8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
// A residual doubles the output tile's ACC: 2 * (1*6*6) + ... = 72 + 72 = 144 > 128.
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>, %r: !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: a tile [6, 6, 1, 1] needs 144 ACC elements; config 'tiny' has 128}}
  %y = tile.conv %x, %w tail(%r) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 6, 6, 1, 1>, buffers = 2 : i64, tail = [#tile.step<add operand 0>]} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>, !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>) -> !tile.acc<1x1x6x6x1x4xi32, n = 1, c = 4>
  func.return
}

// -----
func.func @f(%x: !tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, %w: !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: a i8 result keeps the low 8 bits of ACC}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 1, 1, 1, 1>, buffers = 1 : i64} : (!tile.act<1x1x8x8x1x4xi8, n = 1, c = 3>, !tile.wgt<1x1x3x3x4x4xi8, o = 4, i = 3>) -> !tile.act<1x1x6x6x1x4xi8, n = 1, c = 4>
  func.return
}

// -----
// Depthwise on tiny: the tile's two output blocks read two different input blocks
// (diagonal weights), so INP holds 2 * 10 * 10 = 200 > 128, although tile_ic = 1.
func.func @f(%x: !tile.act<1x2x8x8x1x4xi8, n = 1, c = 8>, %w: !tile.wgt<2x1x3x3x4x4xi8, o = 8, i = 1, groups = 8>) attributes {tile.config = "tiny"} {
  // expected-error@+1 {{tile.conv: a tile [8, 8, 2, 1] needs 200 INP elements; config 'tiny' has 128}}
  %y = tile.conv %x, %w {strides = array<i64: 1, 1>, pads = array<i64: 1, 1, 1, 1>, groups = 8 : i64, tile = array<i64: 8, 8, 2, 1>, buffers = 1 : i64} : (!tile.act<1x2x8x8x1x4xi8, n = 1, c = 8>, !tile.wgt<2x1x3x3x4x4xi8, o = 8, i = 1, groups = 8>) -> !tile.acc<1x2x8x8x1x4xi32, n = 1, c = 8>
  func.return
}
