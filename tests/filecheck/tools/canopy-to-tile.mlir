// The named pipeline canopy-to-tile: an ONNX model straight from `canopy-opt -f onnx` down
// to tile ops. Inputs/make_small_cnn.py writes a float CNN (conv+relu, conv+residual add,
// relu, max pool, 1x1 conv+relu, global average pool, flatten, gemm) and its onnxruntime
// quantize_static QDQ model.
// RUN: rm -rf %t && mkdir -p %t
// RUN: %python %S/Inputs/make_small_cnn.py %t/float.onnx %t/qdq.onnx
// RUN: canopy-opt -f onnx %t/qdq.onnx -p canopy-to-tile --mlir-elide-elementsattrs-if-larger=4 | filecheck %s --check-prefix=QDQ
// RUN: canopy-opt -f onnx %t/float.onnx -p 'canopy-to-tile{calibration-random=4 config="tiny"}' --mlir-elide-elementsattrs-if-larger=4 | filecheck %s --check-prefix=FLOAT
// RUN: not canopy-opt -f onnx %t/float.onnx -p 'canopy-to-tile{calibration-randm=4}' 2>&1 | filecheck %s --check-prefix=OPTION
// RUN: canopy-opt --list-pipelines | filecheck %s --check-prefix=LIST

// QDQ (intelfocl): the 3-channel first conv stays on the host (3/16 of BLOCK_IN); the
// rest is tiles: the residual conv with its tail, max pool, the 1x1 conv, the average
// pool as a window sum, the gemm as a 1x1 conv. Zero points of the asymmetric int8
// activations are padded explicitly on the host (the card pads with 0).
// QDQ:      builtin.module attributes {tile.config = "intelfocl"}
// QDQ:        graph.conv_integer {{.*}}canopy.placement = "host"
// QDQ:        tile.conv
// QDQ-SAME:     tail(
// QDQ:        tile.pool {{.*}}{kind = "max"
// QDQ:        tile.conv
// QDQ:        tile.pool {{.*}}{kind = "sum"
// QDQ:        tile.conv
// QDQ:        tile.unpack
// QDQ-NOT:    = tile.
// QDQ:        func.return

// Float with random calibration on `tiny` (BLOCK 4: 3 channels fill 0.75, so the first
// conv is on the card too); symmetric int8 activations need no zero-point padding.
// FLOAT:      builtin.module attributes {tile.config = "tiny"}
// FLOAT:        graph.quantize_linear
// FLOAT-NOT:    graph.pad
// FLOAT-NOT:    graph.conv
// FLOAT:        tile.pack
// FLOAT:        tile.conv
// FLOAT:        tile.conv
// FLOAT:        tile.pool {{.*}}{kind = "max"
// FLOAT:        tile.conv
// FLOAT:        tile.pool {{.*}}{kind = "sum"
// FLOAT:        tile.conv
// FLOAT:        tile.unpack
// FLOAT:        graph.dequantize_linear

// OPTION: canopy-opt: error: pipeline 'canopy-to-tile' has no option 'calibration-randm' (its options: calibration, calibration-random, seed, method, percentile, per-channel, symmetric, config, first-conv-min-utilisation, first-conv-min-channels)

// LIST: canopy-to-tile = graph-canonicalize,graph-batched-matmul-to-conv,graph-fold-qdq,graph-fold-constants,canonicalize,cse,graph-fold-batchnorm,graph-quantize,graph-uint8-to-int8,graph-split-wide-weights,cse,dce,graph-partition,convert-graph-to-tile,canonicalize,cse,dce
// LIST-NEXT: calibration: an .npz of calibration inputs for a float model (to graph-quantize)
