// The named pipeline canopy-default (also named canopy-to-dma): canopy-to-tile, then
// convert-tile-to-dma (card programs, buffers, copies, launches), from `canopy-opt -f onnx`;
// its options reach graph-quantize, the config every pass that takes one, card-memory the
// dma conversion, the first-conv thresholds graph-partition. Both names give the same module.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/make_small_cnn.py %t/float.onnx
// RUN: canopy-opt -f onnx %t/float.onnx -p 'canopy-default{calibration-random=2 config="tiny"}' --mlir-elide-elementsattrs-if-larger=4 | filecheck %s
// RUN: canopy-opt -f onnx %t/float.onnx -p 'canopy-default{calibration-random=2 config="tiny"}' > %t/default.mlir
// RUN: canopy-opt -f onnx %t/float.onnx -p 'canopy-to-dma{calibration-random=2 config="tiny"}' | diff - %t/default.mlir
// RUN: not canopy-opt -f onnx %t/float.onnx -p 'canopy-to-dma{calibration-random=2 config="tiny" card-memory=1000}' 2>&1 | filecheck %s --check-prefix=MEMORY
// RUN: canopy-opt -f onnx %t/float.onnx -p 'canopy-default{calibration-random=2 config="tiny" first-conv-min-channels=100}' --mlir-elide-elementsattrs-if-larger=4 | filecheck %s --check-prefix=FIRST

// The quantized input crosses once; every conv / pool is a launch; activations made and
// used on the card are never copied; only the logits come back.
// CHECK:      builtin.module attributes {tile.config = "tiny"}
// CHECK:        dma.copy_to_card
// CHECK-NOT:    dma.copy_to_
// CHECK:        dma.launch
// CHECK:        dma.launch
// CHECK:        dma.launch
// CHECK:        dma.launch
// CHECK:        dma.launch
// CHECK-NOT:    dma.copy_to_card
// CHECK:        dma.copy_to_host
// CHECK-NOT:    dma.copy_to_
// CHECK:        func.return

// MEMORY: canopy-opt: error: pass 'convert-tile-to-dma' failed: convert-tile-to-dma: @main needs a {{[0-9]+}}-byte pool but card-memory is 1000 bytes

// FIRST: graph.conv_integer
// FIRST-SAME: canopy.placement_reason = "first conv: 3 input channels < first-conv-min-channels 100 (BLOCK_IN 4)"
