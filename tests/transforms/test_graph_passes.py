"""The graph passes preserve what programs compute and leave none of their patterns behind.

Random programs (tests/graph_program_strategies.py) run through the interpreter before
and after each pass (and the ``canopy-cleanup`` pipeline). Integer programs must agree
bit for bit; float programs within float32 rounding (batch-norm folding re-rounds the
weights, so it gets a looser 1e-4). Each pass must also have done its job: the
predicates below, written independently of the passes, find any op a pass should have
rewritten and did not.
"""

from __future__ import annotations

import math
from io import StringIO

import numpy as np
import pytest
from graph_program_strategies import graph_programs
from hypothesis import given, settings
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.ir import Operation, SSAValue
from xdsl.parser import Parser
from xdsl.passes import ModulePass
from xdsl.printer import Printer
from xdsl.transforms import get_all_passes

from canopy_mlir.dialects import graph, make_context
from canopy_mlir.interpreters.graph_interpreter import GraphInterpreterError, run_graph
from canopy_mlir.tools.pipelines import (
    NAMED_PIPELINES,
    expand_pipeline,
    instantiate_passes,
)
from canopy_mlir.transforms import ALL_PASSES
from canopy_mlir.transforms.graph_canonicalize import GraphCanonicalize
from canopy_mlir.transforms.graph_fold_batchnorm import GraphFoldBatchNorm
from canopy_mlir.transforms.graph_fold_constants import GraphFoldConstants
from canopy_mlir.transforms.graph_fuse_activations import (
    FusedActivationError,
    GraphFuseActivations,
    get_fused_activation,
)

EXAMPLES = settings().max_examples  # 100 by default; HYPOTHESIS_PROFILE=thorough: 1000
FUSED = "fused_activation"

# ----------------------------------------------------------------------- helpers


def parse(text: str) -> ModuleOp:
    module = Parser(make_context(), text).parse_module()
    module.verify()
    return module


def print_module(module: ModuleOp) -> str:
    out = StringIO()
    Printer(stream=out).print_op(module)
    return out.getvalue()


def run_passes(module: ModuleOp, passes: list[ModulePass]) -> ModuleOp:
    """A transformed, verified copy of ``module`` (the original is left as it was)."""
    result = module.clone()
    ctx = make_context()
    for pass_ in passes:
        pass_.apply(ctx, result)
        result.verify()
    return result


def default_pipeline() -> list[ModulePass]:
    available = {**ALL_PASSES, **{n: f for n, f in get_all_passes().items() if n in ("canonicalize", "cse", "dce")}}
    return list(instantiate_passes(expand_pipeline("canopy-cleanup", NAMED_PIPELINES), available))


def canonicalize() -> ModulePass:
    return get_all_passes()["canonicalize"]()()


def assert_same_outputs(before: list[np.ndarray], after: list[np.ndarray], *, exact: bool, rtol: float) -> None:
    assert len(before) == len(after)
    for index, (expected, actual) in enumerate(zip(before, after)):
        assert expected.shape == actual.shape and expected.dtype == actual.dtype, index
        if exact or expected.dtype.kind != "f":
            np.testing.assert_array_equal(actual, expected, err_msg=f"output {index}")
        else:
            atol = rtol * (1.0 + float(np.max(np.abs(expected), initial=0.0)))
            np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=f"output {index}")


def check_pass(program, passes: list[ModulePass], *, exact: bool, rtol: float = 1e-6) -> tuple[ModuleOp, ModuleOp]:
    module, inputs = program
    transformed = run_passes(module, passes)
    assert_same_outputs(run_graph(module, inputs), run_graph(transformed, inputs), exact=exact, rtol=rtol)
    return module, transformed


def graph_ops(module: ModuleOp) -> list[graph.GraphOp]:
    return [op for op in module.walk() if isinstance(op, graph.GraphOp)]


def count(module: ModuleOp, op_class: type) -> int:
    return sum(isinstance(op, op_class) for op in module.walk())


def is_fused(op: Operation) -> bool:
    return any(key.startswith(FUSED) for key in op.attributes)


def constant_data(value: SSAValue | None) -> np.ndarray | None:
    owner = value.owner if value is not None else None
    return owner.value_array() if isinstance(owner, graph.ConstantOp) else None


def single_use(op: Operation) -> bool:
    return op.results[0].has_one_use()


# ---------------------------------------------- what each pass must leave behind


def _all_const(value: SSAValue, target: float, sign: bool | None) -> bool:
    array = constant_data(value)
    if array is None or not np.all(array == target):
        return False
    return sign is None or array.dtype.kind != "f" or bool(np.all(np.signbit(array) == sign))


def _identity_binary(op: Operation) -> bool:
    if not isinstance(op, graph.AddOp | graph.SubOp | graph.MulOp | graph.DivOp):
        return False
    result = op.results[0].type
    lhs, rhs = op.operands
    if isinstance(op, graph.AddOp):
        return any(_all_const(c, 0, True) and x.type == result for c, x in ((rhs, lhs), (lhs, rhs)))
    if isinstance(op, graph.SubOp):
        return _all_const(rhs, 0, False) and lhs.type == result
    if isinstance(op, graph.MulOp):
        return any(_all_const(c, 1, None) and x.type == result for c, x in ((rhs, lhs), (lhs, rhs)))
    if isinstance(op, graph.DivOp):
        return _all_const(rhs, 1, None) and lhs.type == result
    return False


def _identity_clip(op: graph.ClipOp) -> bool:
    props = op.props_dict()
    element = op.input.type.element_type  # type: ignore[attr-defined]
    if element in graph.FLOAT:
        return props["min"] == -math.inf and props["max"] == math.inf
    info = np.iinfo({graph.i8: np.int8, graph.ui8: np.uint8}.get(element, np.int32))
    return props["min"] <= info.min and props["max"] >= info.max


def canonical_violations(module: ModuleOp) -> list[str]:
    """Ops that a graph canonicalization pattern should have rewritten."""
    found = []
    for op in graph_ops(module):
        if is_fused(op):
            continue
        inner = op.operands[0].owner if op.operands else None
        bad = (
            (isinstance(op, graph.TransposeOp) and (
                op.props_dict()["perm"] == sorted(op.props_dict()["perm"])
                or isinstance(inner, graph.TransposeOp)))
            or isinstance(op, graph.FlattenOp)
            or (isinstance(op, graph.ReshapeOp) and (
                op.input.type == op.result.type or isinstance(inner, graph.ReshapeOp | graph.FlattenOp)))
            or _identity_binary(op)
            or (isinstance(op, graph.SumOp | graph.ConcatOp) and len(op.operands) == 1)
            or (isinstance(op, graph.ConcatOp) and any(
                isinstance(v.owner, graph.ConcatOp) and v.owner.props_dict()["axis"] == op.props_dict()["axis"]
                for v in op.operands))
            or (isinstance(op, graph.ClipOp) and _identity_clip(op))
            or (isinstance(op, graph.ReluOp) and isinstance(inner, graph.ReluOp))
            or (isinstance(op, graph.PadOp) and not any(op.props_dict()["pads"]))
        )
        if bad:
            found.append(op.name)
    return found


def foldable_constants(module: ModuleOp, max_elements: int = 1 << 24) -> list[str]:
    return [
        op.name
        for op in graph_ops(module)
        if not isinstance(op, graph.ConstantOp)
        and all(isinstance(v.owner, graph.ConstantOp) for v in op.operands)
        and math.prod(op.result.type.get_shape()) <= max_elements  # type: ignore[attr-defined]
    ]


def foldable_batch_norms(module: ModuleOp) -> list[str]:
    found = []
    for op in graph_ops(module):
        if not isinstance(op, graph.BatchNormOp) or any(constant_data(v) is None for v in op.operands[1:]):
            continue
        producer = op.input.owner
        if isinstance(producer, graph.ConvOp):
            weights = (producer.weight, producer.bias)
        elif isinstance(producer, graph.GemmOp):
            weights = (producer.b, producer.c)
        else:
            continue
        if single_use(producer) and not is_fused(producer) and constant_data(weights[0]) is not None and (
            weights[1] is None or constant_data(weights[1]) is not None
        ):
            found.append(f"{op.name} of {producer.name}")
    return found


PRODUCERS = (graph.ConvOp, graph.ConvIntegerOp, graph.GemmOp, graph.MatMulOp, graph.MatMulIntegerOp)


def fusable_activations(module: ModuleOp) -> list[str]:
    return [
        f"{op.name} of {op.input.owner.name}"
        for op in graph_ops(module)
        if isinstance(op, graph.ReluOp | graph.ClipOp)
        and isinstance(op.input.owner, PRODUCERS)
        and single_use(op.input.owner)
        and not is_fused(op.input.owner)
    ]


def fused_count(module: ModuleOp) -> int:
    return sum(FUSED in op.attributes for op in module.walk())


# ============================================================ property tests

def programs(family: str, **kwargs):
    return graph_programs(dtype_family=family, max_ops=kwargs.pop("max_ops", 10), **kwargs)


@settings(max_examples=EXAMPLES)
@given(program=programs("float"))
def test_canonicalize_float(program):
    _, after = check_pass(program, [canonicalize()], exact=False)
    assert canonical_violations(after) == []


@settings(max_examples=EXAMPLES)
@given(program=programs("int8"))
def test_canonicalize_int8(program):
    _, after = check_pass(program, [canonicalize()], exact=True)
    assert canonical_violations(after) == []


@settings(max_examples=20)
@given(program=programs("float"))
def test_graph_canonicalize_matches_canonicalize(program):
    module, _ = program
    generic = run_passes(module, [canonicalize()])
    ours = run_passes(module, [GraphCanonicalize()])
    assert print_module(ours) == print_module(generic)


@pytest.mark.parametrize("family", ["float", "int8"])
def test_fold_constants(family):
    @settings(max_examples=EXAMPLES)
    @given(program=programs(family))
    def check(program):
        before, after = check_pass(program, [GraphFoldConstants()], exact=family == "int8")
        assert foldable_constants(after) == []
        if foldable_constants(before):
            assert non_constant_ops(after) < non_constant_ops(before)
            assert all(c.result.uses for c in constants(after))  # no dead constants left
        else:
            assert print_module(after) == print_module(before)  # nothing to do: untouched

    check()


def non_constant_ops(module: ModuleOp) -> int:
    return sum(not isinstance(op, graph.ConstantOp) for op in graph_ops(module))


def constants(module: ModuleOp) -> list[graph.ConstantOp]:
    return [op for op in module.walk() if isinstance(op, graph.ConstantOp)]


@settings(max_examples=EXAMPLES)
@given(program=programs("float", ops=["conv", "gemm", "batch_norm", "relu", "reshape", "add", "constant_subgraph"]))
def test_fold_batchnorm(program):
    before, after = check_pass(program, [GraphFoldBatchNorm()], exact=False, rtol=1e-4)
    expected = len(foldable_batch_norms(before))
    assert foldable_batch_norms(after) == []
    # (at least: a batch norm of a folded one folds too)
    assert count(after, graph.BatchNormOp) <= count(before, graph.BatchNormOp) - expected


@settings(max_examples=EXAMPLES)
@given(program=programs("float", ops=["conv", "gemm", "batch_norm", "relu", "sigmoid", "flatten", "add"]))
def test_fold_batchnorm_standalone(program):
    _, after = check_pass(program, [GraphFoldBatchNorm(standalone=True)], exact=False, rtol=1e-4)
    assert count(after, graph.BatchNormOp) == 0  # every batch norm has constant parameters


@pytest.mark.parametrize("family", ["float", "int8"])
def test_fuse_activations(family):
    ops = (
        ["conv", "gemm", "matmul", "relu", "clip", "batch_norm", "add", "sigmoid"]
        if family == "float"
        else ["conv_integer", "matmul_integer", "relu", "clip", "requantize", "add", "dequantize_linear"]
    )

    @settings(max_examples=EXAMPLES)
    @given(program=programs(family, ops=ops))
    def check(program):
        before, after = check_pass(program, [GraphFuseActivations()], exact=True)
        activations = lambda m: count(m, graph.ReluOp) + count(m, graph.ClipOp)
        fused = len(fusable_activations(before))
        assert fusable_activations(after) == []
        assert activations(before) - activations(after) == fused
        assert fused_count(after) - fused_count(before) == fused

    check()


@pytest.mark.parametrize("family", ["float", "int8"])
def test_default_pipeline(family):
    passes = default_pipeline()

    @settings(max_examples=EXAMPLES)
    @given(program=programs(family))
    def check(program):
        _, after = check_pass(program, passes, exact=family == "int8", rtol=1e-4)
        assert canonical_violations(after) == []
        assert foldable_constants(after) == []
        assert foldable_batch_norms(after) == []
        assert fusable_activations(after) == []
        # the result prints and parses back to the same module
        text = print_module(after)
        assert print_module(parse(text)) == text

    check()


# ================================================================ unit tests


CONV_RELU = """
func.func @main(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
  %w = graph.constant dense<0.5> : tensor<2x2x1x1xf32>
  %b = graph.constant dense<[-1.0, 0.25]> : tensor<2xf32>
  %y = graph.conv %x, %w, %b : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
  %r = graph.clip %y {min = 0.0, max = 0.5} : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  func.return %r : tensor<1x2x3x3xf32>
}
"""


def _conv_relu_expected(x: np.ndarray) -> np.ndarray:
    y = 0.5 * x.sum(axis=1, keepdims=True) + np.array([-1.0, 0.25], np.float32).reshape(1, 2, 1, 1)
    return np.clip(y, 0.0, 0.5).astype(np.float32)


def test_fused_clip_is_honoured_by_the_interpreter():
    module = parse(CONV_RELU)
    fused = run_passes(module, [GraphFuseActivations()])
    (conv,) = [op for op in fused.walk() if isinstance(op, graph.ConvOp)]
    assert count(fused, graph.ClipOp) == 0
    activation = get_fused_activation(conv)
    assert activation is not None and activation.name == "clip"
    assert dict(activation.params) == {"min": 0.0, "max": 0.5}
    x = np.random.default_rng(0).uniform(-2, 2, (1, 2, 3, 3)).astype(np.float32)
    (result,) = run_graph(fused, [x])
    np.testing.assert_allclose(result, _conv_relu_expected(x), rtol=1e-6)
    assert result.min() == 0.0 and result.max() == 0.5  # the clip really happened
    # and it survives printing
    assert 'fused_activation = "clip"' in print_module(fused)
    np.testing.assert_array_equal(run_graph(parse(print_module(fused)), [x])[0], result)


def test_fused_activation_is_not_fused_twice_nor_into_multi_use_producers():
    text = CONV_RELU.replace(
        "func.return %r : tensor<1x2x3x3xf32>",
        "%s = graph.relu %r : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>\n"
        "  %t = graph.relu %y : (tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>\n"
        "  func.return %s : tensor<1x2x3x3xf32>",
    ).replace("-> tensor<1x2x3x3xf32> {\n  %w", "-> tensor<1x2x3x3xf32> {\n  %w", 1)
    module = parse(text)
    fused = run_passes(module, [GraphFuseActivations()])
    assert count(fused, graph.ClipOp) == 1 and count(fused, graph.ReluOp) == 2  # %y has two users


@pytest.mark.parametrize(
    "attributes, message",
    [
        ({FUSED: StringAttr("sigmoid")}, "is not one of 'relu', 'clip'"),
        ({FUSED: StringAttr("relu"), "fused_activation_min": StringAttr("x")}, "not a parameter of the fused relu"),
        ({"fused_activation_max": StringAttr("x")}, "but no 'fused_activation'"),
    ],
)
def test_malformed_fused_activation_is_an_error(attributes, message):
    module = parse(CONV_RELU)
    (conv,) = [op for op in module.walk() if isinstance(op, graph.ConvOp)]
    conv.attributes.update(attributes)
    with pytest.raises(FusedActivationError, match=message):
        get_fused_activation(conv)
    with pytest.raises(GraphInterpreterError, match=message):
        run_graph(module, [np.zeros((1, 2, 3, 3), np.float32)])


def test_fold_constants_respects_max_elements():
    text = """
    func.func @main() -> (tensor<2x3xf32>, tensor<64x64xf32>) {
      %a = graph.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
      %t = graph.transpose %a : (tensor<2x3xf32>) -> tensor<3x2xf32>
      %u = graph.transpose %t : (tensor<3x2xf32>) -> tensor<2x3xf32>
      %s = graph.constant dense<1.5> : tensor<64x1xf32>
      %r = graph.constant dense<2.0> : tensor<64xf32>
      %big = graph.mul %s, %r : (tensor<64x1xf32>, tensor<64xf32>) -> tensor<64x64xf32>
      func.return %u, %big : tensor<2x3xf32>, tensor<64x64xf32>
    }
    """
    module = parse(text)
    folded = run_passes(module, [GraphFoldConstants(max_elements=100)])
    assert count(folded, graph.TransposeOp) == 0 and count(folded, graph.MulOp) == 1
    assert run_graph(folded, [])[0].tolist() == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]
    everything = run_passes(module, [GraphFoldConstants()])
    assert count(everything, graph.MulOp) == 0
    np.testing.assert_array_equal(run_graph(everything, [])[1], np.full((64, 64), 3.0, np.float32))


def test_fold_constants_leaves_ops_the_reference_rejects():
    text = """
    func.func @main() -> tensor<2xi32> {
      %a = graph.constant dense<[7, 8]> : tensor<2xi32>
      %z = graph.constant dense<[1, 0]> : tensor<2xi32>
      %d = graph.div %a, %z : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
      func.return %d : tensor<2xi32>
    }
    """
    folded = run_passes(parse(text), [GraphFoldConstants()])
    assert count(folded, graph.DivOp) == 1
    with pytest.raises(GraphInterpreterError, match="division by zero"):
        run_graph(folded, [])


def test_fold_batchnorm_into_gemm_with_transposed_b_matches_numpy():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((3, 4)).astype(np.float32)
    b = rng.standard_normal((5, 4)).astype(np.float32)  # trans_b: N x K
    c = rng.standard_normal((3, 1)).astype(np.float32)
    scale, bias, mean = (rng.standard_normal(5).astype(np.float32) for _ in range(3))
    var = rng.uniform(0.5, 2, 5).astype(np.float32)
    from xdsl.dialects.builtin import f32
    from xdsl.dialects.func import FuncOp, ReturnOp
    from xdsl.ir import Block, Region

    block = Block(arg_types=[TensorType(f32, [3, 4])])
    consts = [graph.ConstantOp.from_array(v) for v in (b, c, scale, bias, mean, var)]
    gemm = graph.GemmOp.create(block.args[0], consts[0], consts[1], alpha=0.5, beta=2.0, trans_b=1)
    bn = graph.BatchNormOp.create(gemm, *consts[2:], epsilon=1e-3)
    block.add_ops([*consts, gemm, bn, ReturnOp(bn.result)])
    module = ModuleOp([FuncOp("main", ([block.args[0].type], [bn.result.type]), Region(block))])
    module.verify()
    folded = run_passes(module, [GraphFoldBatchNorm()])
    assert count(folded, graph.BatchNormOp) == 0 and count(folded, graph.GemmOp) == 1
    y = 0.5 * a.astype(np.float64) @ b.T + 2.0 * c
    expected = scale * (y - mean) / np.sqrt(var + 1e-3) + bias
    np.testing.assert_allclose(run_graph(folded, [a])[0], expected, rtol=1e-5, atol=1e-5)


def test_batch_norm_after_a_fused_conv_is_not_folded():
    text = """
    func.func @main(%x: tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> {
      %w = graph.constant dense<0.5> : tensor<2x2x1x1xf32>
      %p = graph.constant dense<[1.0, 2.0]> : tensor<2xf32>
      %y = graph.conv %x, %w attributes {fused_activation = "relu"} : (tensor<1x2x3x3xf32>, tensor<2x2x1x1xf32>) -> tensor<1x2x3x3xf32>
      %n = graph.batch_norm %y, %p, %p, %p, %p : (tensor<1x2x3x3xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>, tensor<2xf32>) -> tensor<1x2x3x3xf32>
      func.return %n : tensor<1x2x3x3xf32>
    }
    """
    module = parse(text)
    folded = run_passes(module, [GraphFoldBatchNorm()])
    assert count(folded, graph.BatchNormOp) == 1
    x = np.random.default_rng(2).standard_normal((1, 2, 3, 3)).astype(np.float32)
    np.testing.assert_array_equal(run_graph(folded, [x])[0], run_graph(module, [x])[0])


def test_dce_removes_dead_graph_ops():
    text = """
    func.func @main(%x: tensor<2x2xf32>) -> tensor<2x2xf32> {
      %c = graph.constant dense<1.0> : tensor<2x2xf32>
      %dead = graph.add %x, %c : (tensor<2x2xf32>, tensor<2x2xf32>) -> tensor<2x2xf32>
      %dead2 = graph.relu %dead : (tensor<2x2xf32>) -> tensor<2x2xf32>
      %live = graph.sigmoid %x : (tensor<2x2xf32>) -> tensor<2x2xf32>
      func.return %live : tensor<2x2xf32>
    }
    """
    cleaned = run_passes(parse(text), [get_all_passes()["dce"]()()])
    assert [op.name for op in graph_ops(cleaned)] == ["graph.sigmoid"]


def test_passes_are_registered_and_in_the_default_pipeline():
    for name in ("graph-canonicalize", "graph-fold-constants", "graph-fold-batchnorm", "graph-fuse-activations"):
        assert ALL_PASSES[name]().name == name
    names = [p.name for p in default_pipeline()]
    assert names.index("graph-fold-constants") < names.index("graph-fold-batchnorm") < names.index(
        "graph-fuse-activations"
    )
    assert "canonicalize" in names and names[-1] == "cse"


def test_strategy_rejects_unknown_op_kinds():
    @given(graph_programs(ops=["nonsense"]))
    def draw(program):  # pragma: no cover - never reached
        pass

    with pytest.raises(ValueError, match="unknown op kinds"):
        draw()

