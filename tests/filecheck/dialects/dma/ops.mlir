// The dma dialect in custom form: every op prints back unchanged, survives a second
// round trip, and the generic form round-trips too.
// RUN: canopy-opt %s | filecheck %s
// RUN: canopy-opt %s | canopy-opt | filecheck %s
// RUN: canopy-opt %s --print-op-generic | canopy-opt | filecheck %s
// RUN: canopy-opt %s --print-op-generic | filecheck %s --check-prefix=GENERIC
// Large constants (instruction streams, weights) are elided like graph.constant's; splats never.
// RUN: canopy-opt %s --mlir-elide-elementsattrs-if-larger=4 | filecheck %s --check-prefix=ELIDE
// ELIDE: %insns = dma.constant instructions align 16 dense<"0x00"> : tensor<32xui8> -> !dma.buffer<64>
// ELIDE: %w = dma.constant weights align 16 dense_resource<__elided__> : tensor<4x4xi8> {note = "w"} -> !dma.buffer<64>

// CHECK-LABEL: func.func @gemm
func.func @gemm(%x: tensor<4x16xf32>) -> tensor<4x4xf32> attributes {tile.config = "tiny"} {
  // Bytes placed once: instructions (16-byte items), micro-ops (4-byte items), weights.
  %insns = dma.constant instructions align 16 dense<0> : tensor<32xui8> -> !dma.buffer<64>
  // CHECK-NEXT: %insns = dma.constant instructions align 16 dense<"0x00"> : tensor<32xui8> -> !dma.buffer<64>
  // GENERIC: %insns = "dma.constant"() <{kind = "instructions", alignment = 16 : i64, value = dense<0> : tensor<32xui8>}> : () -> !dma.buffer<64>
  %u = dma.constant uops align 4 offset 64 dense<"0x0100000002000000"> : tensor<2xi32> -> !dma.buffer<8>
  // CHECK-NEXT: %u = dma.constant uops align 4 offset 64 dense<"0x0100000002000000"> : tensor<2xi32> -> !dma.buffer<8>
  %w = dma.constant weights align 16 dense<"0x0102030405060708090A0B0C0D0E0F10"> : tensor<4x4xi8> {note = "w"} -> !dma.buffer<64>
  // CHECK-NEXT: %w = dma.constant weights align 16 dense<"0x0102030405060708090A0B0C0D0E0F10"> : tensor<4x4xi8> {note = "w"} -> !dma.buffer<64>
  // A pool buffer whose space is reused once dead; the planner fills in `offset`.
  %a = dma.alloc activation align 4 : !dma.buffer<64>
  // CHECK-NEXT: %a = dma.alloc activation align 4 : !dma.buffer<64>
  // GENERIC: %a = "dma.alloc"() <{kind = "activation", alignment = 4 : i64}> : () -> !dma.buffer<64>
  %o = dma.alloc scratch align 16 offset 128 : !dma.buffer<16>
  // CHECK-NEXT: %o = dma.alloc scratch align 16 offset 128 : !dma.buffer<16>
  // GENERIC: %o = "dma.alloc"() <{kind = "scratch", alignment = 16 : i64, offset = 128 : i64}> : () -> !dma.buffer<16>
  %s = graph.constant dense<"0x0000803F"> : tensor<f32>
  %z = graph.constant dense<"0x00"> : tensor<i8>
  %q = graph.quantize_linear %x, %s, %z : (tensor<4x16xf32>, tensor<f32>, tensor<i8>) -> tensor<4x16xi8>
  %q4 = graph.reshape %q {shape = [4, 16, 1, 1]} : (tensor<4x16xi8>) -> tensor<4x16x1x1xi8>
  %p = tile.pack %q4 : tensor<4x16x1x1xi8> -> !tile.act<4x4x1x1x1x4xi8, n = 4, c = 16>
  // Host -> card: a blocked host value (packed on the host) or a plain tensor, at an offset.
  dma.copy_to_card %p, %a : !tile.act<4x4x1x1x1x4xi8, n = 4, c = 16> -> !dma.buffer<64>
  // CHECK: dma.copy_to_card %p, %a : !tile.act<4x4x1x1x1x4xi8, n = 4, c = 16> -> !dma.buffer<64>
  // GENERIC: "dma.copy_to_card"(%p, %a) <{offset = 0 : i64}> : (!tile.act<4x4x1x1x1x4xi8, n = 4, c = 16>, !dma.buffer<64>) -> ()
  dma.copy_to_card %z, %o at 15 : tensor<i8> -> !dma.buffer<16>
  // CHECK-NEXT: dma.copy_to_card %z, %o at 15 : tensor<i8> -> !dma.buffer<16>
  %t = dma.launch %insns[0, 3] uops %u : !dma.buffer<64>, !dma.buffer<8> reads(%a : !dma.buffer<64>, %w : !dma.buffer<64>) writes(%o : !dma.buffer<16>)
  // CHECK-NEXT: %t = dma.launch %insns[0, 3] uops %u : !dma.buffer<64>, !dma.buffer<8> reads(%a : !dma.buffer<64>, %w : !dma.buffer<64>) writes(%o : !dma.buffer<16>)
  // GENERIC: %t = "dma.launch"(%insns, %u, %a, %w, %o) <{first = 0 : i64, count = 3 : i64, operandSegmentSizes = array<i32: 1, 1, 2, 1>}> : (!dma.buffer<64>, !dma.buffer<8>, !dma.buffer<64>, !dma.buffer<64>, !dma.buffer<16>) -> !dma.token
  %t2 = dma.launch %insns[3, 1] uops %u : !dma.buffer<64>, !dma.buffer<8> writes(%o : !dma.buffer<16>) {stage = 2 : i64}
  // CHECK-NEXT: %t2 = dma.launch %insns[3, 1] uops %u : !dma.buffer<64>, !dma.buffer<8> writes(%o : !dma.buffer<16>) {stage = 2 : i64}
  %t3 = dma.launch %insns[0, 4] uops %u : !dma.buffer<64>, !dma.buffer<8>
  // CHECK-NEXT: %t3 = dma.launch %insns[0, 4] uops %u : !dma.buffer<64>, !dma.buffer<8>
  dma.wait %t
  // CHECK-NEXT: dma.wait %t
  // GENERIC: "dma.wait"(%t) : (!dma.token) -> ()
  dma.wait %t2
  dma.wait %t3
  %r = dma.copy_to_host %o : !dma.buffer<16> -> !tile.act<4x1x1x1x1x4xi8, n = 4, c = 4>
  // CHECK: %r = dma.copy_to_host %o : !dma.buffer<16> -> !tile.act<4x1x1x1x1x4xi8, n = 4, c = 4>
  // GENERIC: %r = "dma.copy_to_host"(%o) <{offset = 0 : i64}> : (!dma.buffer<16>) -> !tile.act<4x1x1x1x1x4xi8, n = 4, c = 4>
  %r2 = dma.copy_to_host %a at 60 : !dma.buffer<64> -> tensor<2x2xi8>
  // CHECK-NEXT: %r2 = dma.copy_to_host %a at 60 : !dma.buffer<64> -> tensor<2x2xi8>
  %r3 = dma.copy_to_host %a at 32 byte_planes : !dma.buffer<64> -> tensor<2x4xi32>
  // CHECK-NEXT: %r3 = dma.copy_to_host %a at 32 byte_planes : !dma.buffer<64> -> tensor<2x4xi32>
  // GENERIC: %r3 = "dma.copy_to_host"(%a) <{offset = 32 : i64, byte_planes}> : (!dma.buffer<64>) -> tensor<2x4xi32>
  %y = tile.unpack %r : !tile.act<4x1x1x1x1x4xi8, n = 4, c = 4> -> tensor<4x4x1x1xi8>
  %y2 = graph.reshape %y {shape = [4, 4]} : (tensor<4x4x1x1xi8>) -> tensor<4x4xi8>
  %d = graph.dequantize_linear %y2, %s, %z : (tensor<4x4xi8>, tensor<f32>, tensor<i8>) -> tensor<4x4xf32>
  %sm = graph.softmax %d : (tensor<4x4xf32>) -> tensor<4x4xf32>
  func.return %sm : tensor<4x4xf32>
}
