"""Write a small float CNN (and optionally its onnxruntime QDQ quantization) for lit tests.

    python make_small_cnn.py float.onnx [qdq.onnx]

The CNN: conv 3->16 3x3 + relu, conv 16->16 3x3 + bias, residual add, relu, max pool 2x2,
conv 16->32 1x1 stride 1, global average pool, flatten, gemm 32->10. Weights and the
calibration images are seeded, so both files are the same on every run.
"""

import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SHAPE = [1, 3, 8, 8]


def _cnn() -> onnx.ModelProto:
    rng = np.random.default_rng(7)

    def weight(*shape: int) -> np.ndarray:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
        return (rng.normal(size=shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    inits = {
        "W0": weight(16, 3, 3, 3), "B0": weight(16) * 0.1,
        "W1": weight(16, 16, 3, 3), "B1": weight(16) * 0.1,
        "W2": weight(32, 16, 1, 1), "B2": weight(32) * 0.1,
        "W3": weight(10, 32), "B3": weight(10) * 0.1,
    }
    nodes = [
        helper.make_node("Conv", ["x", "W0", "B0"], ["c0"], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c0"], ["r0"]),
        helper.make_node("Conv", ["r0", "W1", "B1"], ["c1"], pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c1", "r0"], ["s1"]),
        helper.make_node("Relu", ["s1"], ["r1"]),
        helper.make_node("MaxPool", ["r1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Conv", ["p1", "W2", "B2"], ["c2"]),
        helper.make_node("Relu", ["c2"], ["r2"]),
        helper.make_node("GlobalAveragePool", ["r2"], ["g"]),
        helper.make_node("Flatten", ["g"], ["f"]),
        helper.make_node("Gemm", ["f", "W3", "B3"], ["y"], transB=1),
    ]
    graph = helper.make_graph(
        nodes, "small_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, SHAPE)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 10])],
        [numpy_helper.from_array(v, k) for k, v in inits.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


class _Calibration:
    """Eight seeded random images for onnxruntime's calibrator."""

    def __init__(self) -> None:
        rng = np.random.default_rng(11)
        self._images = iter([{"x": rng.normal(size=SHAPE).astype(np.float32)} for _ in range(8)])

    def get_next(self):
        return next(self._images, None)


def main(float_path: str, qdq_path: str | None = None) -> None:
    onnx.save(_cnn(), float_path)
    if qdq_path is None:
        return
    from onnxruntime import quantization

    quantization.quantize_static(
        float_path, qdq_path, _Calibration(), quant_format=quantization.QuantFormat.QDQ,
        per_channel=True, activation_type=quantization.QuantType.QInt8,
        weight_type=quantization.QuantType.QInt8,
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
