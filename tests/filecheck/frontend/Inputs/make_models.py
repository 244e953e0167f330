"""Write the small ONNX models the frontend lit tests import: make_models.py OUTDIR.

Built with onnx.helper each run (no binary files checked in); weights are fixed small
values so that the printed constants are stable.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

F = TensorProto.FLOAT


def _tensor(name, shape, dtype=F):
    return helper.make_tensor_value_info(name, dtype, shape)


def _init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def _model(nodes, inputs, outputs, inits=(), opset=13, name="net"):
    graph = helper.make_graph(nodes, name, inputs, outputs, list(inits))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = 8
    return model


def conv_net():
    """Conv (SAME_UPPER, stride 2) + Relu + MaxPool + shape-chain Reshape + Gemm + Softmax."""
    n = helper.make_node
    nodes = [
        n("Conv", ["input/0", "w", "b"], ["conv"], auto_pad="SAME_UPPER", strides=[2, 2]),
        n("Relu", ["conv"], ["relu"]),
        n("MaxPool", ["relu"], ["pool"], kernel_shape=[2, 2], strides=[2, 2]),
        n("Shape", ["pool"], ["shape"]),
        n("Gather", ["shape", "zero"], ["batch"], axis=0),
        n("Unsqueeze", ["batch", "axis0"], ["batch1"]),
        n("Concat", ["batch1", "minus1"], ["spec"], axis=0),
        n("Reshape", ["pool", "spec"], ["flat"]),
        n("Gemm", ["flat", "fc", "fc_b"], ["logits"], transB=1),
        n("Softmax", ["logits"], ["prob"], axis=1),
    ]
    inits = [
        _init("w", np.full((4, 3, 3, 3), 0.5, np.float32)),
        _init("b", np.zeros(4, np.float32)),
        _init("zero", np.array(0)),
        _init("axis0", np.array([0])),
        _init("minus1", np.array([-1])),
        _init("fc", np.ones((10, 16), np.float32)),
        _init("fc_b", np.ones(10, np.float32)),
    ]
    return _model(nodes, [_tensor("input/0", [1, 3, 8, 8])], [_tensor("prob", [1, 10])], inits)


def softmax_opset11():
    nodes = [helper.make_node("Softmax", ["x"], ["y"], axis=1)]
    return _model(nodes, [_tensor("x", [2, 3, 4])], [_tensor("y", [2, 3, 4])], opset=11)


def light_weights():
    """Weights as ConstantOfShape (like the onnx wheel's light zoo models)."""
    n = helper.make_node
    fill = helper.make_tensor("fill", F, [1], [0.25])
    nodes = [
        n("ConstantOfShape", ["w_shape"], ["w"], value=fill),
        n("Conv", ["x", "w"], ["y"], pads=[1, 1, 1, 1]),
        n("Dropout", ["y"], ["z", "mask"], ratio=0.5),
    ]
    inits = [_init("w_shape", np.array([8, 2, 3, 3]))]
    return _model(nodes, [_tensor("x", [1, 2, 5, 5])], [_tensor("z", [1, 8, 5, 5])], inits, opset=9)


def qdq():
    n = helper.make_node
    nodes = [
        n("QuantizeLinear", ["x", "s", "zp"], ["q"]),
        n("DequantizeLinear", ["q", "s", "zp"], ["y"]),
    ]
    inits = [_init("s", np.float32(0.5)), _init("zp", np.int8(-3))]
    return _model(nodes, [_tensor("x", [2, 4])], [_tensor("y", [2, 4])], inits)


def unsupported():
    """Three different problems; all must be reported at once."""
    n = helper.make_node
    nodes = [
        n("Relu", ["x"], ["a"], name="first"),
        n("Tanh", ["a"], ["b"], name="tanh"),
        n("Erf", ["b"], ["c"], name="erf"),
        n("MaxPool", ["c"], ["d"], name="pool", kernel_shape=[2, 2], storage_order=1),
    ]
    return _model(nodes, [_tensor("x", [1, 1, 4, 4])], [_tensor("d", [1, 1, 3, 3])])


def dynamic():
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    return _model(nodes, [_tensor("x", ["batch", 3])], [_tensor("y", ["batch", 3])])


def float16():
    nodes = [helper.make_node("Relu", ["h"], ["y"])]
    return _model(
        nodes, [_tensor("h", [2], TensorProto.FLOAT16)], [_tensor("y", [2], TensorProto.FLOAT16)]
    )


def opset22():
    nodes = [helper.make_node("Relu", ["x"], ["y"])]
    return _model(nodes, [_tensor("x", [2])], [_tensor("y", [2])], opset=22)


MODELS = {
    "conv_net": conv_net,
    "softmax_opset11": softmax_opset11,
    "light_weights": light_weights,
    "qdq": qdq,
    "unsupported": unsupported,
    "dynamic": dynamic,
    "float16": float16,
    "opset22": opset22,
}


def main(out_dir: str) -> None:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, build in MODELS.items():
        onnx.save(build(), out / f"{name}.onnx")


if __name__ == "__main__":
    main(sys.argv[1])
