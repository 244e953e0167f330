// graph-partition: every graph op (constants excepted) gets canopy.placement = "card" /
// "host", host ops a canopy.placement_reason.
// RUN: canopy-opt %s -p graph-partition | filecheck %s
// RUN: canopy-opt %s -p 'graph-partition{config=tiny}' | filecheck %s --check-prefix=TINY
// RUN: canopy-opt %s -p 'graph-partition{first-conv-min-channels=2}' | filecheck %s --check-prefix=MINCH
// RUN: canopy-opt %s -p graph-partition --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS
// RUN: canopy-opt %s -p 'graph-partition{report="-"}' 2>&1 >/dev/null | filecheck %s --check-prefix=REPORT

// intelfocl: BLOCK_IN = 16, so 3 input channels fill 3/16 = 0.19 < 0.25 of the core: the
// entry conv stays on the host. On 'tiny' (BLOCK_IN = 4) they fill 0.75: card.
// Its bias add and requantize read the host's i32 accumulator: host too (only i8 crosses).
// With the conv on the card (tiny, or a lower channel threshold) they follow it.
// The depthwise conv's input comes from the card, so the first-conv rule does not apply.
// The second requantize's multiplier 40000 does not fit the ALU's signed 16-bit immediate.
// MACs: conv0 1*8*4*4 outputs * 3*3*3 = 3456, conv1 (depthwise) 8*2*2 * 1*3*3 = 288.
// CHECK-LABEL: func.func @net
func.func @net(%x: tensor<1x3x4x4xi8>) -> tensor<1x32xf32> {
  %w0 = graph.constant dense<1> : tensor<8x3x3x3xi8>
  %b0 = graph.constant dense<5> : tensor<1x8x1x1xi32>
  %c0 = graph.conv_integer %x, %w0 {pads = [1, 1, 1, 1]} : (tensor<1x3x4x4xi8>, tensor<8x3x3x3xi8>) -> tensor<1x8x4x4xi32>
  %a0 = graph.add %c0, %b0 : (tensor<1x8x4x4xi32>, tensor<1x8x1x1xi32>) -> tensor<1x8x4x4xi32>
  %q0 = graph.requantize %a0 {multiplier = [3], shift = [4], output_zero_point = 0} : (tensor<1x8x4x4xi32>) -> tensor<1x8x4x4xi8>
  %r0 = graph.relu %q0 : (tensor<1x8x4x4xi8>) -> tensor<1x8x4x4xi8>
  %p0 = graph.max_pool %r0 {kernel_shape = [2, 2], strides = [2, 2]} : (tensor<1x8x4x4xi8>) -> tensor<1x8x2x2xi8>
  %w1 = graph.constant dense<2> : tensor<8x1x3x3xi8>
  %c1 = graph.conv_integer %p0, %w1 {pads = [1, 1, 1, 1], group = 8} attributes {fused_activation = "relu"} : (tensor<1x8x2x2xi8>, tensor<8x1x3x3xi8>) -> tensor<1x8x2x2xi32>
  %q1 = graph.requantize %c1 {multiplier = [40000], shift = [20], output_zero_point = 0} : (tensor<1x8x2x2xi32>) -> tensor<1x8x2x2xi8>
  %s = graph.constant dense<0.5> : tensor<f32>
  %f = graph.dequantize_linear %q1, %s : (tensor<1x8x2x2xi8>, tensor<f32>) -> tensor<1x8x2x2xf32>
  %flat = graph.reshape %f {shape = [1, 32]} : (tensor<1x8x2x2xf32>) -> tensor<1x32xf32>
  %y = graph.softmax %flat : (tensor<1x32xf32>) -> tensor<1x32xf32>
  func.return %y : tensor<1x32xf32>
  // CHECK-NOT:  graph.constant {{.*}}canopy.placement
  // CHECK:      graph.conv_integer %x, %w0 {{.*}}canopy.placement = "host", canopy.placement_reason = "first conv: 3 input channels use 0.19 of BLOCK_IN 16 (< 0.25)"
  // CHECK-NEXT: graph.add %c0, %b0 {{.*}}canopy.placement = "host", canopy.placement_reason = "i32 input from host op graph.conv_integer (epilogue stays with its producer)"
  // CHECK-NEXT: graph.requantize %a0 {{.*}}canopy.placement = "host", canopy.placement_reason = "i32 input from host op graph.add (epilogue stays with its producer)"
  // CHECK-NEXT: graph.relu %q0 attributes {canopy.placement = "card"}
  // CHECK-NEXT: graph.max_pool %r0 {{.*}} attributes {canopy.placement = "card"}
  // CHECK:      graph.conv_integer %p0, %w1 {{.*}} attributes {fused_activation = "relu", canopy.placement = "card"}
  // CHECK-NEXT: graph.requantize %c1 {{.*}}canopy.placement = "host", canopy.placement_reason = "requantize multiplier does not fit the ALU's 16-bit immediate"
  // CHECK:      graph.dequantize_linear {{.*}}canopy.placement = "host", canopy.placement_reason = "quantization boundary (float <-> integer)"
  // CHECK-NEXT: graph.reshape {{.*}}canopy.placement = "host", canopy.placement_reason = "layout glue"
  // CHECK-NEXT: graph.softmax {{.*}}canopy.placement = "host", canopy.placement_reason = "softmax: exp/div have no ALU op"
  // TINY:       graph.conv_integer %x, %w0 {{.*}} attributes {canopy.placement = "card"}
  // TINY-NEXT:  graph.add %c0, %b0 attributes {canopy.placement = "card"}
  // TINY-NEXT:  graph.requantize %a0 {{.*}} attributes {canopy.placement = "card"}
  // MINCH:      graph.conv_integer %x, %w0 {{.*}} attributes {canopy.placement = "card"}
  // MINCH-NEXT: graph.add %c0, %b0 attributes {canopy.placement = "card"}
}

// A float relu, a ui8 add and a float global average pool: all host.
// Statistics over both functions: card relu, max_pool, depthwise conv (3); host conv0,
// its add and requantize, requantize, dequantize, reshape, softmax + the 3 below (10).
// CHECK-LABEL: func.func @host_only
func.func @host_only(%a: tensor<2x4xf32>, %b: tensor<2x4xui8>, %p: tensor<1x1x3x3xf32>) -> (tensor<2x4xf32>, tensor<2x4xui8>, tensor<1x1x1x1xf32>) {
  %r = graph.relu %a : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %s = graph.add %b, %b : (tensor<2x4xui8>, tensor<2x4xui8>) -> tensor<2x4xui8>
  %g = graph.global_average_pool %p : (tensor<1x1x3x3xf32>) -> tensor<1x1x1x1xf32>
  func.return %r, %s, %g : tensor<2x4xf32>, tensor<2x4xui8>, tensor<1x1x1x1xf32>
  // CHECK:      graph.relu {{.*}}canopy.placement = "host", canopy.placement_reason = "float op: the core computes integers only"
  // CHECK-NEXT: graph.add {{.*}}canopy.placement = "host", canopy.placement_reason = "add on ui8: the ALU adds i32/i8 only"
  // CHECK-NEXT: graph.global_average_pool {{.*}}canopy.placement = "host", canopy.placement_reason = "float op: the core computes integers only"
}

// STATS:      graph-partition
// STATS-DAG:  3 ops-on-card
// STATS-DAG:  10 ops-on-host
// STATS-DAG:  288 macs-on-card
// STATS-DAG:  3456 macs-on-host

// Crossings: the host requantize's i8 result (1x8x4x4, 128 bytes) goes to the card; the
// depthwise conv's i32 accumulator (1x8x2x2 x 4 bytes) comes back for the host requantize.
// REPORT:      card: 3 ops, 288 MACs
// REPORT-NEXT: host: 10 ops, 3456 MACs
// REPORT-NEXT: card share of MACs: 7.7%
// REPORT-NEXT: host-to-card: 1 tensors, 128 bytes per run
// REPORT-NEXT: card-to-host: 1 tensors, 128 bytes per run
// REPORT-NEXT:   host graph.conv_integer (first conv: 3 input channels use 0.19 of BLOCK_IN 16 (< 0.25))
