// One case per dma type and op verifier error (and custom-syntax parse error). Each case
// states its message with an expected-error directive; --verify-diagnostics fails on a
// missing or an extra error.
// RUN: canopy-opt --split-input-file --verify-diagnostics %s
// Every case must fail: no chunk may print a module.
// RUN: canopy-opt --split-input-file --verify-diagnostics %s | filecheck %s --check-prefix=NONE-VALID
// NONE-VALID-NOT: {{^}}builtin.module

// ======== types ========
// expected-error@+1 {{dma.buffer: size must be at least 1 byte, got 0}}
func.func @f(%b: !dma.buffer<0>) {
  func.return
}

// ======== dma.alloc ========
// -----
func.func @f() {
  // expected-error@+1 {{dma.alloc: alignment 3 is not a power of two}}
  %a = dma.alloc activation align 3 : !dma.buffer<64>
  func.return
}

// -----
func.func @f() {
  // expected-error@+1 {{dma.alloc: offset 6 is not a non-negative multiple of the alignment 4}}
  %a = dma.alloc activation align 4 offset 6 : !dma.buffer<64>
  func.return
}

// -----
func.func @f() {
  // expected-error@+1 {{dma.alloc: kind 'weights' is not one of activation, scratch ('weights' is a dma.constant kind)}}
  %a = dma.alloc weights align 4 : !dma.buffer<64>
  func.return
}

// -----
func.func @f() {
  // expected-error@+1 {{dma.alloc: kind 'stack' is not one of activation, scratch}}
  %a = dma.alloc stack align 4 : !dma.buffer<64>
  func.return
}

// -----
func.func @f() {
  // expected-error@+1 {{Expected 'align'}}
  %a = dma.alloc activation : !dma.buffer<64>
  func.return
}

// ======== dma.constant ========
// -----
func.func @f() {
  // expected-error@+1 {{dma.constant: kind 'activation' is not one of weights, uops, instructions, data ('activation' is a dma.alloc kind)}}
  %c = dma.constant activation align 4 dense<0> : tensor<4xi8> -> !dma.buffer<4>
  func.return
}

// -----
func.func @f() {
  // expected-error@+1 {{dma.constant: a 'instructions' buffer holds 16-byte items, but its size 20 is not a multiple of 16}}
  %c = dma.constant instructions align 16 dense<0> : tensor<20xui8> -> !dma.buffer<20>
  func.return
}

// -----
func.func @f() {
  // expected-error@+1 {{dma.constant: a 'uops' buffer must be aligned to its 4-byte items, got alignment 2}}
  %c = dma.constant uops align 2 dense<0> : tensor<4xui8> -> !dma.buffer<4>
  func.return
}

// -----
func.func @f() {
  // expected-error@+1 {{dma.constant: value tensor<2x4xi32> holds 32 bytes, more than the 16-byte buffer}}
  %c = dma.constant weights align 16 dense<1> : tensor<2x4xi32> -> !dma.buffer<16>
  func.return
}

// -----
func.func @f() {
  // expected-error@+1 {{dma.constant takes a dense<...> or dense_resource<...> value, got 5 : i32}}
  %c = dma.constant weights align 16 5 : i32 -> !dma.buffer<16>
  func.return
}

// ======== copies ========
// -----
func.func @f(%x: tensor<4x8xi8>) {
  %a = dma.alloc activation align 4 : !dma.buffer<16>
  // expected-error@+1 {{dma.copy_to_card: 32 bytes at offset 0 do not fit the 16-byte buffer}}
  dma.copy_to_card %x, %a : tensor<4x8xi8> -> !dma.buffer<16>
  func.return
}

// -----
func.func @f(%x: tensor<4xi8>) {
  %a = dma.alloc activation align 4 : !dma.buffer<16>
  // expected-error@+1 {{dma.copy_to_card: 4 bytes at offset 13 do not fit the 16-byte buffer}}
  dma.copy_to_card %x, %a at 13 : tensor<4xi8> -> !dma.buffer<16>
  func.return
}

// -----
func.func @f(%x: tensor<4xi8>) {
  %w = dma.constant weights align 4 dense<0> : tensor<4xi8> -> !dma.buffer<4>
  // expected-error@+1 {{dma.copy_to_card: the destination is a dma.constant ('weights'), which is read-only}}
  dma.copy_to_card %x, %w : tensor<4xi8> -> !dma.buffer<4>
  func.return
}

// -----
func.func @f(%x: i32) {
  %a = dma.alloc activation align 4 : !dma.buffer<16>
  // expected-error@+1 {{dma.copy_to_card: i32 cannot be copied to the card: only tensors and tile blocked values move as bytes}}
  dma.copy_to_card %x, %a : i32 -> !dma.buffer<16>
  func.return
}

// -----
func.func @f() {
  %a = dma.alloc activation align 4 : !dma.buffer<16>
  // expected-error@+1 {{dma.copy_to_host: 64 bytes at offset 0 do not fit the 16-byte buffer}}
  %r = dma.copy_to_host %a : !dma.buffer<16> -> tensor<4x4xi32>
  func.return
}

// -----
func.func @f() {
  %a = dma.alloc activation align 4 : !dma.buffer<16>
  // expected-error@+1 {{dma.copy_to_host: 4 bytes at offset -4 do not fit the 16-byte buffer}}
  %r = dma.copy_to_host %a at -4 : !dma.buffer<16> -> tensor<4xi8>
  func.return
}

// -----
func.func @f() {
  %a = dma.alloc activation align 4 : !dma.buffer<16>
  // expected-error@+1 {{dma.copy_to_host: byte_planes reassembles 32-bit elements, but the result type is tensor<16xi8>}}
  %r = dma.copy_to_host %a byte_planes : !dma.buffer<16> -> tensor<16xi8>
  func.return
}

// ======== dma.launch ========
// -----
func.func @f() {
  %i = dma.constant instructions align 16 dense<0> : tensor<32xui8> -> !dma.buffer<32>
  %u = dma.constant uops align 4 dense<0> : tensor<4xui8> -> !dma.buffer<4>
  // expected-error@+1 {{dma.launch: needs first >= 0 and count >= 1 instructions, got [0, 0]}}
  %t = dma.launch %i[0, 0] uops %u : !dma.buffer<32>, !dma.buffer<4>
  func.return
}

// -----
func.func @f() {
  %i = dma.constant instructions align 16 dense<0> : tensor<32xui8> -> !dma.buffer<32>
  %u = dma.constant uops align 4 dense<0> : tensor<4xui8> -> !dma.buffer<4>
  // expected-error@+1 {{dma.launch: instructions [1, 3) need 48 bytes but the instruction buffer has 32}}
  %t = dma.launch %i[1, 2] uops %u : !dma.buffer<32>, !dma.buffer<4>
  func.return
}

// -----
func.func @f() {
  %i = dma.alloc activation align 16 : !dma.buffer<32>
  %u = dma.constant uops align 4 dense<0> : tensor<4xui8> -> !dma.buffer<4>
  // expected-error@+1 {{dma.launch: the instruction buffer must be a 'instructions' buffer, got 'activation'}}
  %t = dma.launch %i[0, 1] uops %u : !dma.buffer<32>, !dma.buffer<4>
  func.return
}

// -----
func.func @f(%i: !dma.buffer<32>) {
  %u = dma.constant uops align 4 dense<0> : tensor<4xui8> -> !dma.buffer<4>
  // expected-error@+1 {{dma.launch: the instruction buffer must come from a dma.constant}}
  %t = dma.launch %i[0, 1] uops %u : !dma.buffer<32>, !dma.buffer<4>
  func.return
}

// -----
func.func @f() {
  %i = dma.constant instructions align 16 dense<0> : tensor<32xui8> -> !dma.buffer<32>
  %u = dma.constant weights align 4 dense<0> : tensor<4xui8> -> !dma.buffer<4>
  // expected-error@+1 {{dma.launch: the uop buffer must be a 'uops' buffer, got 'weights'}}
  %t = dma.launch %i[0, 1] uops %u : !dma.buffer<32>, !dma.buffer<4>
  func.return
}

// -----
func.func @f() {
  %i = dma.constant instructions align 16 dense<0> : tensor<32xui8> -> !dma.buffer<32>
  %u = dma.constant uops align 4 dense<0> : tensor<4xui8> -> !dma.buffer<4>
  %a = dma.alloc activation align 4 : !dma.buffer<16>
  // expected-error@+1 {{dma.launch: %a is listed twice (in reads and writes); list a buffer the program reads and writes once, in writes}}
  %t = dma.launch %i[0, 1] uops %u : !dma.buffer<32>, !dma.buffer<4> reads(%a : !dma.buffer<16>) writes(%a : !dma.buffer<16>)
  func.return
}

// -----
func.func @f() {
  %i = dma.constant instructions align 16 dense<0> : tensor<32xui8> -> !dma.buffer<32>
  %u = dma.constant uops align 4 dense<0> : tensor<4xui8> -> !dma.buffer<4>
  %w = dma.constant weights align 4 dense<0> : tensor<4xui8> -> !dma.buffer<4>
  // expected-error@+1 {{dma.launch: writes a dma.constant ('weights'), which is read-only}}
  %t = dma.launch %i[0, 1] uops %u : !dma.buffer<32>, !dma.buffer<4> writes(%w : !dma.buffer<4>)
  func.return
}

// -----
func.func @f() {
  %i = dma.constant instructions align 16 dense<0> : tensor<32xui8> -> !dma.buffer<32>
  %u = dma.constant uops align 4 dense<0> : tensor<4xui8> -> !dma.buffer<4>
  %i2 = dma.constant instructions align 16 dense<0> : tensor<32xui8> -> !dma.buffer<32>
  // expected-error@+1 {{dma.launch: a 'instructions' buffer cannot be in reads}}
  %t = dma.launch %i[0, 1] uops %u : !dma.buffer<32>, !dma.buffer<4> reads(%i2 : !dma.buffer<32>)
  func.return
}

// -----
func.func @f() {
  %i = dma.constant instructions align 16 dense<0> : tensor<32xui8> -> !dma.buffer<32>
  // expected-error@+1 {{Expected 'uops'}}
  %t = dma.launch %i[0, 1] %i : !dma.buffer<32>, !dma.buffer<4>
  func.return
}
