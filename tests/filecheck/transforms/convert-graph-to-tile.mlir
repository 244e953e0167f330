// convert-graph-to-tile: card chains become tile.pack / tile.conv (tail fused) / tile.unpack.
// RUN: canopy-opt %s -p 'graph-partition{config=tiny first-conv-min-channels=0},convert-graph-to-tile{config=tiny},canonicalize' | filecheck %s
// RUN: canopy-opt %s -p 'graph-partition{config=tiny first-conv-min-channels=0},convert-graph-to-tile,canonicalize' | filecheck %s --check-prefix=DEFAULT
// RUN: not canopy-opt %s -p convert-graph-to-tile 2>&1 | filecheck %s --check-prefix=UNPLACED
// RUN: canopy-opt %s -p 'graph-partition{config=tiny first-conv-min-channels=0},convert-graph-to-tile{config=tiny}' --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS

// conv 5 -> 7 (3x3, pad 1) + per-channel bias + requantize (multiplier 3, shift 4,
// zero point -5) + relu: one tile.conv on tiny (BLOCK 4: 2 input and 2 output blocks),
// the bias a per-channel tensor<7xi32> operand holding bias + K, where K * 3 = 8 - (5 << 4)
// (the rounding 1 << 3 and the zero point): K = -24, relu merged into the requantize
// clamp [max(0, -128), 127].
// Then a gemm 7*4*4 = 112 -> 10 on the flattened result: reshape to 1x112x1x1, 1x1 conv,
// reshape back; bias 1000 + K with K * 7 = 1 << 19 (mod 2**32): 1840776168, uniform but
// too wide for the 16-bit immediate, so a vector operand.
// CHECK-LABEL: builtin.module attributes {tile.config = "tiny"}
// CHECK:       func.func @net
// [76, 176, -324, -24, -19, -18, -17] as little-endian int32 hex:
// CHECK:         %[[BIAS:.*]] = graph.constant dense<"0x4C000000B0000000BCFEFFFFE8FFFFFFEDFFFFFFEEFFFFFFEFFFFFFF"> : tensor<7xi32>
// CHECK:         %[[X:.*]] = tile.pack %x : tensor<1x5x4x4xi8> -> !tile.act<1x2x4x4x1x4xi8, n = 1, c = 5>
// CHECK:         %[[W:.*]] = tile.pack %{{.*}} : tensor<7x5x3x3xi8> -> !tile.wgt<2x2x3x3x4x4xi8, o = 7, i = 5>
// CHECK:         %[[C:.*]] = tile.conv %[[X]], %[[W]] tail(%[[BIAS]])
// CHECK-SAME:      pads = array<i64: 1, 1, 1, 1>
// CHECK-SAME:      tile = array<i64: 4, 4, 2, 1>, buffers = 2 : i64
// CHECK-SAME:      tail = [#tile.step<add operand 0>, #tile.step<mul 3>, #tile.step<shr 4>, #tile.step<max 0>, #tile.step<min 127>]
// CHECK-SAME:      -> !tile.act<1x2x4x4x1x4xi8, n = 1, c = 7>
// CHECK:         %[[Y:.*]] = tile.unpack %[[C]] : !tile.act<1x2x4x4x1x4xi8, n = 1, c = 7> -> tensor<1x7x4x4xi8>
// CHECK:         %[[FLAT:.*]] = graph.reshape %[[Y]] {shape = [1, 112, 1, 1]}
// CHECK:         %[[A:.*]] = tile.pack %[[FLAT]] : tensor<1x112x1x1xi8> -> !tile.act<1x28x1x1x1x4xi8, n = 1, c = 112>
// CHECK:         %[[B:.*]] = tile.pack %{{.*}} : tensor<10x112x1x1xi8> -> !tile.wgt<3x28x1x1x4x4xi8, o = 10, i = 112>
// CHECK:         %[[G:.*]] = tile.conv %[[A]], %[[B]] tail(%{{[0-9]+}})
// CHECK-SAME:      tail = [#tile.step<add operand 0>, #tile.step<mul 7>, #tile.step<shr 20>, #tile.step<max -128>, #tile.step<min 127>]
// CHECK-SAME:      -> !tile.act<1x3x1x1x1x4xi8, n = 1, c = 10>
// CHECK:         %[[U:.*]] = tile.unpack %[[G]]
// CHECK:         %[[R:.*]] = graph.reshape %[[U]] {shape = [1, 10]}
// CHECK:         func.return %[[R]] : tensor<1x10xi8>
// CHECK-NOT:     graph.conv_integer
// CHECK-NOT:     graph.requantize

// Without a config option the pass uses the module's tile.config, else intelfocl.
// DEFAULT: builtin.module attributes {tile.config = "intelfocl"}
// DEFAULT: tile.conv {{.*}} -> !tile.act<1x1x4x4x1x16xi8, n = 1, c = 7>

// STATS:      convert-graph-to-tile
// STATS-NEXT:   (S) 2 converted-conv
// STATS-NEXT:   (S) 0 converted-pool
// STATS-NEXT:   (S) 0 converted-alu
// STATS-NEXT:   (S) 5 fused-ops
// STATS-NEXT:   (S) 0 left-on-host

// UNPLACED: no op has a 'canopy.placement' attribute; run graph-partition first
func.func @net(%x: tensor<1x5x4x4xi8>) -> tensor<1x10xi8> {
  %w0 = graph.constant dense<2> : tensor<7x5x3x3xi8>
  %b0 = graph.constant dense<[[[[100]], [[200]], [[-300]], [[0]], [[5]], [[6]], [[7]]]]> : tensor<1x7x1x1xi32>
  %c0 = graph.conv_integer %x, %w0 {pads = [1, 1, 1, 1]} : (tensor<1x5x4x4xi8>, tensor<7x5x3x3xi8>) -> tensor<1x7x4x4xi32>
  %a0 = graph.add %c0, %b0 : (tensor<1x7x4x4xi32>, tensor<1x7x1x1xi32>) -> tensor<1x7x4x4xi32>
  %q0 = graph.requantize %a0 {multiplier = [3], shift = [4], output_zero_point = -5} : (tensor<1x7x4x4xi32>) -> tensor<1x7x4x4xi8>
  %r0 = graph.relu %q0 : (tensor<1x7x4x4xi8>) -> tensor<1x7x4x4xi8>
  %flat = graph.reshape %r0 {shape = [1, 112]} : (tensor<1x7x4x4xi8>) -> tensor<1x112xi8>
  %w1 = graph.constant dense<-1> : tensor<112x10xi8>
  %m1 = graph.matmul_integer %flat, %w1 : (tensor<1x112xi8>, tensor<112x10xi8>) -> tensor<1x10xi32>
  %b1 = graph.constant dense<1000> : tensor<1x10xi32>
  %a1 = graph.add %m1, %b1 : (tensor<1x10xi32>, tensor<1x10xi32>) -> tensor<1x10xi32>
  %q1 = graph.requantize %a1 {multiplier = [7], shift = [20], output_zero_point = 0} : (tensor<1x10xi32>) -> tensor<1x10xi8>
  func.return %q1 : tensor<1x10xi8>
}
