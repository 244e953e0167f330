// dma-plan-memory: constants first (read-only image at the bottom of the pool), then
// activations greedy by size, reusing the space of dead buffers; alignment honoured.
// RUN: canopy-opt %s -p dma-plan-memory | filecheck %s
// Planning is idempotent: a second run gives the same offsets.
// RUN: canopy-opt %s -p dma-plan-memory,dma-plan-memory | filecheck %s
// RUN: canopy-opt %s -p dma-plan-memory --mlir-pass-statistics 2>&1 >/dev/null | filecheck %s --check-prefix=STATS
// A card with less memory than the peak: one error naming peak, limit and the largest live buffers.
// RUN: not canopy-opt %s -p 'dma-plan-memory{card-memory=1000}' 2>&1 | filecheck %s --check-prefix=BUDGET
// RUN: canopy-opt %s -p 'dma-plan-memory{card-memory=1024}' | filecheck %s

// CHECK-LABEL: func.func @two_launches
// CHECK-SAME:  dma.pool_bytes = 1024 : i64
func.func @two_launches(%x: tensor<512xi8>) -> tensor<128xi8> {
  // Constants: insns [0, 64), u [64, 72), w (256-aligned) [256, 512).
  %insns = dma.constant instructions align 16 dense<0> : tensor<64xui8> -> !dma.buffer<64>
  // CHECK: %insns = dma.constant instructions align 16 offset 0
  %u = dma.constant uops align 4 dense<0> : tensor<8xui8> -> !dma.buffer<8>
  // CHECK: %u = dma.constant uops align 4 offset 64
  %w = dma.constant weights align 256 dense<1> : tensor<256xi8> -> !dma.buffer<256>
  // CHECK: %w = dma.constant weights align 256 offset 256
  // The largest activation goes first, at the lowest offset above the constants
  // that fits: [512, 1024).
  %in = dma.alloc activation align 16 : !dma.buffer<512>
  // CHECK: %in = dma.alloc activation align 16 offset 512 : !dma.buffer<512>
  // Live with %in, so it fills the gap [80, 208) between %u and %w.
  %h = dma.alloc activation align 16 : !dma.buffer<128>
  // CHECK: %h = dma.alloc activation align 16 offset 80 : !dma.buffer<128>
  dma.copy_to_card %x, %in : tensor<512xi8> -> !dma.buffer<512>
  %t1 = dma.launch %insns[0, 2] uops %u : !dma.buffer<64>, !dma.buffer<8> reads(%in : !dma.buffer<512>, %w : !dma.buffer<256>) writes(%h : !dma.buffer<128>)
  dma.wait %t1
  // %in is dead after the wait: %out reuses its space.
  %out = dma.alloc activation align 64 : !dma.buffer<128>
  // CHECK: %out = dma.alloc activation align 64 offset 512 : !dma.buffer<128>
  %t2 = dma.launch %insns[2, 2] uops %u : !dma.buffer<64>, !dma.buffer<8> reads(%h : !dma.buffer<128>, %w : !dma.buffer<256>) writes(%out : !dma.buffer<128>)
  dma.wait %t2
  %r = dma.copy_to_host %out : !dma.buffer<128> -> tensor<128xi8>
  func.return %r : tensor<128xi8>
}

// STATS:      dma-plan-memory
// STATS-DAG:  1024 peak-bytes
// STATS-DAG:  968 lower-bound-bytes
// STATS-DAG:  328 constant-bytes
// STATS-DAG:  768 activation-bytes
// STATS-DAG:  6 buffers-placed

// BUDGET-NOT: Traceback
// BUDGET: canopy-opt: error: pass 'dma-plan-memory' failed: dma-plan-memory: @two_launches needs a 1024-byte pool but card-memory is 1000 bytes; largest buffers live at the peak (op #4): %in (512 bytes, activation), %w (256 bytes, weights), %h (128 bytes, activation)
