"""Write a one-node ONNX model for the -f onnx tests: make_onnx.py OUT OP_TYPE."""

import sys

import onnx
from onnx import TensorProto, helper

out, op_type = sys.argv[1], sys.argv[2]
node = helper.make_node(op_type, ["x"], ["y"])
graph = helper.make_graph(
    [node],
    "one_node",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
)
onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), out)
