"""The numpy reference of every graph op against onnx.reference on one-node ONNX models.

Integer outputs must match exactly, float outputs within float32 tolerance. Shapes stay
small because onnx.reference pools and convolutions are pure-Python loops.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from onnx import helper
from onnx.reference import ReferenceEvaluator

from canopy_mlir.interpreters import graph_reference as ref
from canopy_mlir.interpreters.graph_reference import GraphReferenceError

OPSET = 21


def run_onnx(
    op_type: str, inputs: list[np.ndarray | None], opset: int = OPSET, **attrs
) -> np.ndarray:
    """Run one ONNX node on ``inputs`` (None = absent optional input) with onnx.reference."""
    names, infos, feeds = [], [], {}
    for index, value in enumerate(inputs):
        if value is None:
            names.append("")
            continue
        name = f"in{index}"
        names.append(name)
        feeds[name] = value
        infos.append(
            helper.make_tensor_value_info(
                name, helper.np_dtype_to_tensor_dtype(value.dtype), value.shape
            )
        )
    while names and names[-1] == "":
        names.pop()
    node = helper.make_node(op_type, names, ["out"], **attrs)
    graph = helper.make_graph(
        [node], "one_node", infos, [helper.make_empty_tensor_value_info("out")]
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    return ReferenceEvaluator(model).run(None, feeds)[0]


def assert_exact(actual: np.ndarray, expected: np.ndarray) -> None:
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_array_equal(actual, expected)


def assert_close(actual: np.ndarray, expected: np.ndarray, tol: float = 1e-5) -> None:
    assert actual.dtype == np.float32, actual.dtype
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def randf(shape, seed: int = 0) -> np.ndarray:
    return rng(seed).standard_normal(shape).astype(np.float32)


def randq(shape, dtype, seed: int = 0) -> np.ndarray:
    info = np.iinfo(dtype)
    return rng(seed).integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)


def scalar(value, dtype) -> np.ndarray:
    return np.array(value, dtype=dtype)


def onnx_conv_attrs(strides, pads, dilations, group) -> dict:
    return {
        "strides": list(strides),
        "pads": list(pads),
        "dilations": list(dilations),
        "group": group,
    }


# Shapes: (input shape, weight shape, strides, pads, dilations, group)
CONV_CASES = [
    ((1, 3, 7, 7), (4, 3, 3, 3), (1, 1), (0, 0, 0, 0), (1, 1), 1),
    ((2, 4, 8, 9), (6, 2, 3, 2), (2, 2), (1, 0, 2, 1), (1, 1), 2),  # groups, asym pads
    ((1, 4, 9, 8), (4, 1, 3, 3), (1, 2), (1, 1, 1, 1), (2, 1), 4),  # depthwise, dilation
    ((1, 2, 6, 6), (3, 2, 1, 1), (2, 1), (0, 0, 0, 0), (1, 1), 1),  # 1x1 stride 2
    ((1, 6, 10, 7), (6, 3, 2, 3), (2, 1), (0, 2, 1, 0), (2, 2), 2),  # everything at once
]


# ---------------------------------------------------------------------------------------
# Convolutions
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_matches_onnx(case, with_bias):
    x_shape, w_shape, strides, pads, dilations, group = case
    x, w = randf(x_shape, 1), randf(w_shape, 2)
    b = randf((w_shape[0],), 3) if with_bias else None
    expected = run_onnx("Conv", [x, w, b], **onnx_conv_attrs(strides, pads, dilations, group))
    actual = ref.conv(x, w, b, strides=strides, pads=pads, dilations=dilations, group=group)
    assert_close(actual, expected, 1e-4)


@st.composite
def conv_problems(draw):
    group = draw(st.sampled_from([1, 2, 3]))
    cin, cout = group * draw(st.integers(1, 2)), group * draw(st.integers(1, 2))
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    dilations = (draw(st.integers(1, 2)), draw(st.integers(1, 2)))
    pads = tuple(draw(st.integers(0, 2)) for _ in range(4))
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    hw = [draw(st.integers(max(1, spans[i] - pads[i] - pads[i + 2]), 8)) for i in range(2)]
    return (
        (draw(st.integers(1, 2)), cin, *hw),
        (cout, cin // group, *kernel),
        strides,
        pads,
        dilations,
        group,
    )


@given(problem=conv_problems(), seed=st.integers(0, 2**16))
def test_conv_random_shapes_match_onnx(problem, seed):
    x_shape, w_shape, strides, pads, dilations, group = problem
    x, w = randf(x_shape, seed), randf(w_shape, seed + 1)
    expected = run_onnx("Conv", [x, w], **onnx_conv_attrs(strides, pads, dilations, group))
    assert_close(
        ref.conv(x, w, strides=strides, pads=pads, dilations=dilations, group=group), expected, 1e-4
    )


@pytest.mark.parametrize(
    "x_dtype,w_dtype", [(np.uint8, np.int8), (np.int8, np.int8), (np.uint8, np.uint8)]
)
@pytest.mark.parametrize("zero_points", ["none", "scalar", "per_channel"])
@pytest.mark.parametrize("case", CONV_CASES)
def test_conv_integer_is_bit_exact(case, x_dtype, w_dtype, zero_points):
    x_shape, w_shape, strides, pads, dilations, group = case
    x, w = randq(x_shape, x_dtype, 1), randq(w_shape, w_dtype, 2)
    x_zp = w_zp = None
    if zero_points != "none":
        x_zp = randq((), x_dtype, 3)
        w_zp = randq((w_shape[0],) if zero_points == "per_channel" else (), w_dtype, 4)
    expected = run_onnx(
        "ConvInteger", [x, w, x_zp, w_zp], **onnx_conv_attrs(strides, pads, dilations, group)
    )
    actual = ref.conv_integer(
        x, w, x_zp, w_zp, strides=strides, pads=pads, dilations=dilations, group=group
    )
    assert_exact(actual, expected)


def qlinear_conv_operands(case, x_dtype, w_dtype, per_channel, with_bias, seed=0):
    x_shape, w_shape = case[0], case[1]
    r = rng(seed)
    x, w = randq(x_shape, x_dtype, seed + 1), randq(w_shape, w_dtype, seed + 2)
    w_scale_shape = (w_shape[0],) if per_channel else ()
    x_scale = r.uniform(0.005, 0.05, ()).astype(np.float32)
    w_scale = r.uniform(0.001, 0.02, w_scale_shape).astype(np.float32)
    y_scale = r.uniform(0.05, 0.5, ()).astype(np.float32)
    x_zp, w_zp, y_zp = (
        randq((), x_dtype, seed + 3),
        randq((), w_dtype, seed + 4),
        randq((), x_dtype, seed + 5),
    )
    bias = r.integers(-5000, 5000, w_shape[0]).astype(np.int32) if with_bias else None
    return [x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, bias]


@pytest.mark.parametrize("with_bias", [False, True])
@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize(
    "x_dtype,w_dtype", [(np.uint8, np.int8), (np.int8, np.int8), (np.uint8, np.uint8)]
)
@pytest.mark.parametrize("case", CONV_CASES)
def test_qlinear_conv_is_bit_exact(case, x_dtype, w_dtype, per_channel, with_bias):
    _, _, strides, pads, dilations, group = case
    operands = qlinear_conv_operands(case, x_dtype, w_dtype, per_channel, with_bias)
    expected = run_onnx("QLinearConv", operands, **onnx_conv_attrs(strides, pads, dilations, group))
    actual = ref.qlinear_conv(
        *operands, strides=strides, pads=pads, dilations=dilations, group=group
    )
    assert_exact(actual, expected)


def test_qlinear_conv_rounds_half_to_even_and_saturates():
    # 1x1 conv of a single pixel: acc = x * w; multiplier 0.5 makes exact .5 ties.
    x = np.array([[[[1]], [[3]], [[5]], [[255]]]], dtype=np.uint8).reshape(1, 1, 2, 2)
    w = np.ones((1, 1, 1, 1), dtype=np.uint8)
    one, half = np.float32(1.0), np.float32(0.5)
    zp0 = np.uint8(0)
    y = ref.qlinear_conv(x, one, zp0, w, half, zp0, one, np.uint8(10))
    # 0.5 -> 0, 1.5 -> 2, 2.5 -> 2, 127.5 -> 128; plus zero point 10
    np.testing.assert_array_equal(y.ravel(), [10, 12, 12, 138])
    y = ref.qlinear_conv(x, one, zp0, w, one, zp0, one, np.int8(0))
    np.testing.assert_array_equal(y.ravel(), [1, 3, 5, 127])  # 255 saturates to 127
    assert y.dtype == np.int8


@pytest.mark.parametrize("op", ["QLinearConv", "QLinearMatMul"])
def test_qlinear_rescale_is_applied_in_float64_like_onnx(op):
    # float32(0.1) * 5 is 0.50000000745 in float64 (rounds to 1) but exactly 0.5 in
    # float32 (rounds to 0): the float64 product is what onnx.reference computes.
    x = np.arange(256, dtype=np.uint8).reshape(1, 1, 16, 16)
    one, zp0 = np.float32(1.0), np.uint8(0)
    if op == "QLinearConv":
        operands = [x, np.float32(0.1), zp0, np.ones((1, 1, 1, 1), np.uint8), one, zp0, one, zp0]
        actual = ref.qlinear_conv(*operands)
    else:
        operands = [x[0, 0], np.float32(0.1), zp0, np.eye(16, dtype=np.uint8), one, zp0, one, zp0]
        actual = ref.qlinear_matmul(*operands)
    assert actual.ravel()[5] == 1
    assert_exact(actual, run_onnx(op, operands))


def test_integer_conv_exact_beyond_float32_range():
    # 3*3*64 taps of 255*127 = 18.6M: far beyond float32's 24-bit mantissa.
    x = np.full((1, 64, 3, 3), 255, dtype=np.uint8)
    w = np.full((2, 64, 3, 3), 127, dtype=np.int8)
    w[1] = -128
    y = ref.conv_integer(x, w)
    np.testing.assert_array_equal(y.ravel(), [576 * 255 * 127, -576 * 255 * 128])


def test_conv_integer_wraps_like_int32():
    # Direct int64 path (operands too large for the float64 shortcut) and the wrap.
    x = np.full((1, 1, 1, 2), 2**31 - 1, dtype=np.int64)
    w = np.full((1, 1, 1, 2), 2**31 - 1, dtype=np.int64)
    expected = np.int64(2 * (2**31 - 1) ** 2).astype(np.int32)
    assert ref.conv_integer(x, w)[0, 0, 0, 0] == expected


# ---------------------------------------------------------------------------------------
# Matrix products
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("trans_a", [0, 1])
@pytest.mark.parametrize("trans_b", [0, 1])
@pytest.mark.parametrize("c_shape", [None, (), (5,), (1, 5), (3, 5)])
def test_gemm_matches_onnx(trans_a, trans_b, c_shape):
    a = randf((4, 3) if trans_a else (3, 4), 1)
    b = randf((5, 4) if trans_b else (4, 5), 2)
    c = None if c_shape is None else randf(c_shape, 3)
    attrs = {"alpha": 0.75, "beta": 1.5, "transA": trans_a, "transB": trans_b}
    expected = run_onnx("Gemm", [a, b, c], **attrs)
    actual = ref.gemm(a, b, c, alpha=0.75, beta=1.5, trans_a=trans_a, trans_b=trans_b)
    assert_close(actual, expected)


@pytest.mark.parametrize(
    "a_shape,b_shape",
    [
        ((3, 4), (4, 5)),
        ((2, 3, 4), (4, 2)),
        ((2, 1, 3, 4), (3, 4, 2)),
        ((4,), (4, 3)),
        ((3, 4), (4,)),
    ],
)
def test_matmul_matches_onnx(a_shape, b_shape):
    a, b = randf(a_shape, 1), randf(b_shape, 2)
    assert_close(ref.matmul(a, b), run_onnx("MatMul", [a, b]))


@pytest.mark.parametrize(
    "a_dtype,b_dtype", [(np.uint8, np.int8), (np.int8, np.int8), (np.uint8, np.uint8)]
)
@pytest.mark.parametrize("zero_points", ["none", "scalar", "per_column_b"])
@pytest.mark.parametrize("a_shape,b_shape", [((3, 40), (40, 5)), ((2, 3, 7), (7, 4))])
def test_matmul_integer_is_bit_exact(a_shape, b_shape, a_dtype, b_dtype, zero_points):
    a, b = randq(a_shape, a_dtype, 1), randq(b_shape, b_dtype, 2)
    a_zp = b_zp = None
    if zero_points != "none":
        a_zp = randq((), a_dtype, 3)
        b_zp = randq((b_shape[-1],) if zero_points == "per_column_b" else (), b_dtype, 4)
    assert_exact(
        ref.matmul_integer(a, b, a_zp, b_zp), run_onnx("MatMulInteger", [a, b, a_zp, b_zp])
    )


def test_matmul_integer_per_row_a_zero_point_follows_onnx_spec():
    a, b = randq((3, 4), np.uint8, 1), randq((4, 2), np.int8, 2)
    a_zp = np.array([1, 2, 3], dtype=np.uint8)
    expected = (a.astype(np.int64) - a_zp[:, None]) @ b.astype(np.int64)
    assert_exact(ref.matmul_integer(a, b, a_zp), expected.astype(np.int32))


@pytest.mark.parametrize("dtype", [np.uint8, np.int8])
@pytest.mark.parametrize("per_column", [False, True])
@pytest.mark.parametrize("a_shape,b_shape", [((3, 40), (40, 5)), ((2, 3, 7), (7, 4))])
def test_qlinear_matmul_is_bit_exact(a_shape, b_shape, dtype, per_column):
    r = rng(5)
    a, b = randq(a_shape, dtype, 1), randq(b_shape, dtype, 2)
    a_scale = r.uniform(0.01, 0.05, ()).astype(np.float32)
    b_scale = r.uniform(0.01, 0.05, (b_shape[-1],) if per_column else ()).astype(np.float32)
    y_scale = r.uniform(0.05, 0.5, ()).astype(np.float32)
    zps = [randq((), dtype, seed) for seed in (3, 4, 6)]
    b_zp = randq((b_shape[-1],), dtype, 4) if per_column else zps[1]
    operands = [a, a_scale, zps[0], b, b_scale, b_zp, y_scale, zps[2]]
    assert_exact(ref.qlinear_matmul(*operands), run_onnx("QLinearMatMul", operands))


# ---------------------------------------------------------------------------------------
# Element-wise
# ---------------------------------------------------------------------------------------

BINARY = [("Add", ref.add), ("Sub", ref.sub), ("Mul", ref.mul), ("Div", ref.div)]


@pytest.mark.parametrize("onnx_op,fn", BINARY)
@pytest.mark.parametrize("shapes", [((2, 3), (2, 3)), ((2, 1, 4), (3, 1)), ((1, 4, 2, 2), ())])
def test_binary_float_matches_onnx(onnx_op, fn, shapes):
    lhs, rhs = randf(shapes[0], 1), randf(shapes[1], 2) + np.float32(3.0)
    assert_close(fn(lhs, rhs), run_onnx(onnx_op, [lhs, rhs]))


@pytest.mark.parametrize("onnx_op,fn", BINARY)
@pytest.mark.parametrize("dtype", [np.int8, np.uint8, np.int32])
def test_binary_integer_matches_onnx(onnx_op, fn, dtype):
    lhs = randq((4, 6), dtype, 1)
    rhs = randq((6,), dtype, 2)
    rhs[rhs == 0] = 7
    assert_exact(fn(lhs, rhs), run_onnx(onnx_op, [lhs, rhs]))


def test_integer_div_truncates_toward_zero():
    lhs = np.array([7, -7, 7, -7, 6, -128], dtype=np.int8)
    rhs = np.array([2, 2, -2, -2, 3, -1], dtype=np.int8)
    np.testing.assert_array_equal(
        ref.div(lhs, rhs), np.array([3, -3, -3, 3, 2, -128], dtype=np.int8)
    )


def test_sum_matches_onnx():
    inputs = [randf((2, 3, 4), 1), randf((3, 1), 2), randf((4,), 3)]
    assert_close(ref.sum(*inputs), run_onnx("Sum", inputs))
    single = randf((2, 2), 4)
    assert_close(ref.sum(single), single)


@pytest.mark.parametrize("dtype", [np.float32, np.int8])
def test_relu_matches_onnx(dtype):
    x = randf((3, 5), 1) if dtype == np.float32 else randq((3, 5), dtype, 1)
    actual, expected = ref.relu(x), run_onnx("Relu", [x])
    assert_exact(actual, expected)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid value:RuntimeWarning")
def test_float_activations_match_onnx():
    x = randf((4, 7), 1) * np.float32(8)
    x[0, 0], x[0, 1] = 100.0, -100.0  # far tails, where a naive sigmoid overflows
    assert_close(ref.sigmoid(x), run_onnx("Sigmoid", [x]))
    assert_close(ref.leaky_relu(x), run_onnx("LeakyRelu", [x]))
    assert_close(ref.leaky_relu(x, alpha=0.3), run_onnx("LeakyRelu", [x], alpha=0.3))
    assert_close(ref.hard_sigmoid(x), run_onnx("HardSigmoid", [x]))
    assert_close(
        ref.hard_sigmoid(x, alpha=0.1, beta=0.6), run_onnx("HardSigmoid", [x], alpha=0.1, beta=0.6)
    )


@pytest.mark.parametrize(
    "lo,hi", [(-1.0, 1.0), (0.0, 6.0), (-math.inf, 0.5), (-0.5, math.inf), (2.0, 1.0)]
)
def test_clip_float_matches_onnx(lo, hi):
    x = randf((3, 6), 1) * np.float32(4)
    bounds = [
        None if math.isinf(lo) else scalar(lo, np.float32),
        None if math.isinf(hi) else scalar(hi, np.float32),
    ]
    assert_close(ref.clip(x, min=lo, max=hi), run_onnx("Clip", [x, *bounds]))


@pytest.mark.parametrize("lo,hi", [(-10, 20), (0, 255), (-math.inf, 5), (-300, 300)])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_clip_integer_matches_onnx(dtype, lo, hi):
    x = randq((4, 8), dtype, 1)
    info = np.iinfo(dtype)
    onnx_lo = None if math.isinf(lo) else scalar(max(lo, info.min), dtype)
    onnx_hi = scalar(min(hi, info.max), dtype)
    assert_exact(ref.clip(x, min=lo, max=hi), run_onnx("Clip", [x, onnx_lo, onnx_hi]))


# ---------------------------------------------------------------------------------------
# Pooling and reductions
# ---------------------------------------------------------------------------------------

# (input shape, kernel, strides, pads, dilations, ceil_mode)
POOL_CASES = [
    ((1, 2, 6, 6), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), 0),
    ((1, 2, 7, 7), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1), 0),
    ((2, 1, 7, 8), (3, 2), (2, 2), (1, 0, 0, 1), (1, 1), 1),  # asym pads, ceil
    ((1, 2, 5, 5), (2, 2), (2, 2), (0, 0, 0, 0), (1, 1), 1),  # ceil adds a half window
    ((1, 2, 6, 5), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 0),  # stride 1
    ((1, 1, 9, 9), (2, 3), (2, 1), (1, 0, 1, 1), (1, 1), 1),
]


@pytest.mark.parametrize(
    "case", POOL_CASES + [((1, 2, 9, 8), (2, 2), (2, 2), (1, 0, 0, 1), (2, 3), 1)]
)
def test_max_pool_float_matches_onnx(case):
    shape, kernel, strides, pads, dilations, ceil_mode = case
    x = randf(shape, 1)
    attrs = {
        "kernel_shape": list(kernel),
        "strides": list(strides),
        "pads": list(pads),
        "dilations": list(dilations),
        "ceil_mode": ceil_mode,
    }
    expected = run_onnx("MaxPool", [x], **attrs)
    actual = ref.max_pool(
        x, kernel_shape=kernel, strides=strides, pads=pads, dilations=dilations, ceil_mode=ceil_mode
    )
    assert_exact(actual, expected)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
def test_max_pool_integer_matches_onnx(dtype):
    # onnx.reference pads with NaN for stride 1 (impossible for ints), so use stride 2.
    x = randq((1, 3, 7, 7), dtype, 1)
    attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1}
    actual = ref.max_pool(x, kernel_shape=(3, 3), strides=(2, 2), pads=(1, 1, 1, 1), ceil_mode=1)
    assert_exact(actual, run_onnx("MaxPool", [x], **attrs))


@pytest.mark.parametrize("count_include_pad", [0, 1])
@pytest.mark.parametrize("case", POOL_CASES)
def test_average_pool_matches_onnx(case, count_include_pad):
    shape, kernel, strides, pads, _, ceil_mode = case
    x = randf(shape, 1)
    attrs = {
        "kernel_shape": list(kernel),
        "strides": list(strides),
        "pads": list(pads),
        "ceil_mode": ceil_mode,
        "count_include_pad": count_include_pad,
    }
    expected = run_onnx("AveragePool", [x], **attrs)
    actual = ref.average_pool(
        x,
        kernel_shape=kernel,
        strides=strides,
        pads=pads,
        ceil_mode=ceil_mode,
        count_include_pad=count_include_pad,
    )
    assert_close(actual, expected)


def test_average_pool_ceil_mode_divisor_ignores_overhang():
    # 1x1x1x5, kernel 2 stride 2 ceil: windows [0,1], [2,3], [4] (+ overhang, not counted)
    x = np.arange(5, dtype=np.float32).reshape(1, 1, 1, 5)
    for include in (0, 1):
        y = ref.average_pool(
            x, kernel_shape=(1, 2), strides=(1, 2), ceil_mode=1, count_include_pad=include
        )
        np.testing.assert_array_equal(y.ravel(), [0.5, 2.5, 4.0])
    # with a pad of 1 at the end: the last window is [4, pad] -> 2.0 when pads count
    y = ref.average_pool(
        x, kernel_shape=(1, 2), strides=(1, 2), pads=(0, 0, 0, 1), count_include_pad=1
    )
    np.testing.assert_array_equal(y.ravel(), [0.5, 2.5, 2.0])


def pool_oracle(x, kernel, strides, pads, dilations, ceil_mode, kind, count_include_pad=0):
    """Brute-force ONNX/onnxruntime pooling, one window at a time with Python loops."""
    out = []
    for d in range(2):
        size, span = x.shape[2 + d], (kernel[d] - 1) * dilations[d] + 1
        length = (size + pads[d] + pads[d + 2] - span) / strides[d] + 1
        n = math.ceil(length) if ceil_mode else math.floor(length)
        if ceil_mode and (n - 1) * strides[d] >= size + pads[d]:
            n -= 1
        out.append(n)
    y = np.zeros(x.shape[:2] + tuple(out), dtype=np.float64)
    for oh in range(out[0]):
        for ow in range(out[1]):
            values, padded_taps = [], 0
            for i in range(kernel[0]):
                for j in range(kernel[1]):
                    h = oh * strides[0] - pads[0] + i * dilations[0]
                    w = ow * strides[1] - pads[1] + j * dilations[1]
                    if (
                        -pads[0] <= h < x.shape[2] + pads[2]
                        and -pads[1] <= w < x.shape[3] + pads[3]
                    ):
                        padded_taps += 1
                    if 0 <= h < x.shape[2] and 0 <= w < x.shape[3]:
                        values.append(x[:, :, h, w].astype(np.float64))
            if kind == "max":
                y[:, :, oh, ow] = np.max(values, axis=0)
            else:
                y[:, :, oh, ow] = np.sum(values, axis=0) / (
                    padded_taps if count_include_pad else len(values)
                )
    return y.astype(x.dtype)


@st.composite
def pool_problems(draw):
    kernel = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    strides = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    pads = tuple(draw(st.integers(0, kernel[i % 2] - 1)) for i in range(4))
    hw = [draw(st.integers(max(1, kernel[i] - pads[i] - pads[i + 2]), 7)) for i in range(2)]
    return (1, draw(st.integers(1, 2)), *hw), kernel, strides, pads, draw(st.integers(0, 1))


@given(problem=pool_problems(), count_include_pad=st.integers(0, 1), seed=st.integers(0, 2**16))
def test_average_pool_random_shapes(problem, count_include_pad, seed):
    shape, kernel, strides, pads, ceil_mode = problem
    x = randf(shape, seed)
    geometry = {"kernel_shape": kernel, "strides": strides, "pads": pads, "ceil_mode": ceil_mode}
    actual = ref.average_pool(x, **geometry, count_include_pad=count_include_pad)
    assert_close(
        actual, pool_oracle(x, kernel, strides, pads, (1, 1), ceil_mode, "avg", count_include_pad)
    )
    # onnx.reference shifts ceil-mode windows when the overhang is >= 2 (stride >= 3).
    if max(strides) <= 2:
        expected = run_onnx(
            "AveragePool",
            [x],
            **{k: list(v) if isinstance(v, tuple) else v for k, v in geometry.items()},
            count_include_pad=count_include_pad,
        )
        assert_close(actual, expected)


@given(
    problem=pool_problems(),
    dilations=st.tuples(st.integers(1, 2), st.integers(1, 2)),
    seed=st.integers(0, 2**16),
)
def test_max_pool_random_shapes(problem, dilations, seed):
    shape, kernel, strides, pads, ceil_mode = problem
    spans = [(k - 1) * d + 1 for k, d in zip(kernel, dilations)]
    shape = shape[:2] + tuple(max(s, span) for s, span in zip(shape[2:], spans))
    x = randf(shape, seed)
    actual = ref.max_pool(
        x, kernel_shape=kernel, strides=strides, pads=pads, dilations=dilations, ceil_mode=ceil_mode
    )
    assert_exact(actual, pool_oracle(x, kernel, strides, pads, dilations, ceil_mode, "max"))
    # onnx.reference's stride-1/dilation-1 MaxPool path misreads pads (top, bottom, ...) and
    # ceil_mode; its general path (any stride or dilation != 1) is the trustworthy one.
    if max(strides) > 1 or max(dilations) > 1:
        attrs = {
            "kernel_shape": list(kernel),
            "strides": list(strides),
            "pads": list(pads),
            "dilations": list(dilations),
            "ceil_mode": ceil_mode,
        }
        assert_exact(actual, run_onnx("MaxPool", [x], **attrs))


def test_global_pools_match_onnx():
    x = randf((2, 3, 5, 4), 1)
    assert_close(ref.global_average_pool(x), run_onnx("GlobalAveragePool", [x]))
    assert_exact(ref.global_max_pool(x), run_onnx("GlobalMaxPool", [x]))
    q = randq((1, 4, 3, 3), np.int8, 2)
    assert_exact(ref.global_max_pool(q), run_onnx("GlobalMaxPool", [q]))


@pytest.mark.parametrize("axes", [None, (1,), (-1,), (0, 2), (2, 3)])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_mean_matches_onnx(axes, keepdims):
    x = randf((2, 3, 4, 5), 1)
    onnx_axes = None if axes is None else np.array(axes, dtype=np.int64)
    expected = run_onnx("ReduceMean", [x, onnx_axes], keepdims=keepdims)
    assert_close(np.asarray(ref.reduce_mean(x, axes=axes, keepdims=keepdims)), np.asarray(expected))


# ---------------------------------------------------------------------------------------
# Normalisation, shapes, data movement
# ---------------------------------------------------------------------------------------


def test_batch_norm_matches_onnx():
    x = randf((2, 3, 4, 4), 1)
    scale, bias, mean = randf((3,), 2), randf((3,), 3), randf((3,), 4)
    var = np.abs(randf((3,), 5)) + np.float32(0.1)
    for epsilon in (1e-5, 1e-3):
        expected = run_onnx("BatchNormalization", [x, scale, bias, mean, var], epsilon=epsilon)
        assert_close(ref.batch_norm(x, scale, bias, mean, var, epsilon=epsilon), expected)


@pytest.mark.parametrize("axis", [0, 1, 2, 4, -1, -4])
def test_flatten_matches_onnx(axis):
    x = randf((2, 3, 4, 5), 1)
    assert_exact(ref.flatten(x, axis=axis), run_onnx("Flatten", [x], axis=axis))


def test_reshape_matches_onnx():
    x = randq((2, 3, 4), np.int8, 1)
    shape = (4, 1, 6)
    assert_exact(
        ref.reshape(x, shape=shape), run_onnx("Reshape", [x, np.array(shape, dtype=np.int64)])
    )


@pytest.mark.parametrize("perm", [None, (0, 2, 3, 1), (3, 2, 1, 0), (1, 0, 2, 3)])
def test_transpose_matches_onnx(perm):
    x = randf((2, 3, 4, 5), 1)
    attrs = {} if perm is None else {"perm": list(perm)}
    assert_exact(ref.transpose(x, perm=perm), run_onnx("Transpose", [x], **attrs))


@pytest.mark.parametrize("axis", [0, 1, 3, -1])
def test_concat_matches_onnx(axis):
    shapes = [[2, 3, 4, 5], [2, 3, 4, 5], [2, 3, 4, 5]]
    for i, shape in enumerate(shapes):
        shape[axis] += i
    inputs = [randq(tuple(s), np.uint8, i) for i, s in enumerate(shapes)]
    assert_exact(ref.concat(*inputs, axis=axis), run_onnx("Concat", inputs, axis=axis))


@pytest.mark.parametrize("axis", [-1, 0, 1, 2])
def test_softmax_matches_onnx(axis):
    x = randf((2, 3, 4), 1) * np.float32(10)
    assert_close(ref.softmax(x, axis=axis), run_onnx("Softmax", [x], axis=axis))


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
@pytest.mark.parametrize(
    "pads", [(0, 0, 1, 2, 0, 0, 2, 1), (0, 1, 0, 0, 0, 0, 3, 1), (1, 0, 0, 3, 0, 2, 1, 0)]
)
def test_pad_matches_onnx(mode, pads):
    x = randf((1, 2, 4, 5), 1)
    expected = run_onnx(
        "Pad", [x, np.array(pads, dtype=np.int64), scalar(1.5, np.float32)], mode=mode
    )
    assert_exact(ref.pad(x, pads=pads, mode=mode, value=1.5), expected)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_negative_pads_crop(mode):
    # onnx.reference's np.pad rejects negative pads; ONNX defines them as cropping.
    x = randf((1, 2, 4, 5), 1)
    actual = ref.pad(x, pads=(0, 0, -1, 1, 0, 0, 1, -2), mode=mode, value=1.5)
    expected = np.pad(
        x[:, :, 1:, :3],
        ((0, 0), (0, 0), (0, 1), (1, 0)),
        mode=mode,
        **({"constant_values": 1.5} if mode == "constant" else {}),
    )
    assert_exact(actual, expected)


def test_pad_integer_constant_matches_onnx():
    x = randq((2, 3), np.int8, 1)
    pads = (1, 0, 0, 2)
    expected = run_onnx("Pad", [x, np.array(pads, dtype=np.int64), scalar(-3, np.int8)])
    assert_exact(ref.pad(x, pads=pads, value=-3.0), expected)


# ---------------------------------------------------------------------------------------
# Quantization
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, None])
@pytest.mark.parametrize("axis,per_axis", [(1, False), (1, True), (0, True), (-1, True)])
def test_quantize_linear_matches_onnx(dtype, axis, per_axis):
    x = randf((3, 4, 5), 1) * np.float32(20)
    channels = x.shape[axis]
    r = rng(2)
    scale = r.uniform(0.02, 0.2, (channels,) if per_axis else ()).astype(np.float32)
    zp = None if dtype is None else randq(scale.shape, dtype, 3)
    expected = run_onnx("QuantizeLinear", [x, scale, zp], axis=axis)
    assert_exact(ref.quantize_linear(x, scale, zp, axis=axis), expected)


def test_quantize_linear_int32_input_matches_onnx():
    x = rng(1).integers(-100000, 100000, (4, 6)).astype(np.int32)
    scale, zp = np.float32(37.5), np.int8(-3)
    expected = run_onnx("QuantizeLinear", [x, np.asarray(scale), np.asarray(zp)])
    assert_exact(ref.quantize_linear(x, np.asarray(scale), np.asarray(zp)), expected)


def test_quantize_linear_rounds_half_to_even_and_saturates():
    x = np.array([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 1000.0, -1000.0, 3.4e38], dtype=np.float32)
    y = ref.quantize_linear(x, np.float32(1.0), np.int8(0), axis=0)
    np.testing.assert_array_equal(y, np.array([0, 2, 2, 0, -2, -2, 127, -128, 127], dtype=np.int8))
    u = ref.quantize_linear(x, np.float32(1.0), axis=0)  # no zero point: uint8 zero
    assert u.dtype == np.uint8
    np.testing.assert_array_equal(u, [0, 2, 2, 0, 0, 0, 255, 0, 255])


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int32])
@pytest.mark.parametrize("per_axis", [False, True])
def test_dequantize_linear_matches_onnx(dtype, per_axis):
    x = (
        randq((2, 3, 4), dtype, 1)
        if dtype != np.int32
        else rng(1).integers(-(2**20), 2**20, (2, 3, 4)).astype(np.int32)
    )
    scale = rng(2).uniform(0.01, 0.1, (3,) if per_axis else ()).astype(np.float32)
    zp = None if dtype == np.int32 else randq(scale.shape, dtype, 3)
    expected = run_onnx("DequantizeLinear", [x, scale, zp])
    assert_close(ref.dequantize_linear(x, scale, zp), expected, 0)


def requantize_oracle(
    x: int, multiplier: int, shift: int, zero_point: int, lo: int, hi: int
) -> int:
    """One element with Python's unbounded integers (>> floors, like an arithmetic shift)."""
    value = x * multiplier + ((1 << (shift - 1)) if shift > 0 else 0)
    return min(hi, max(lo, (value >> shift) + zero_point))


@given(
    data=st.data(),
    channels=st.integers(1, 4),
    per_channel=st.booleans(),
    out_dtype=st.sampled_from([np.int8, np.uint8]),
    zero_point=st.integers(-20, 20),
)
def test_requantize_matches_integer_oracle(data, channels, per_channel, out_dtype, zero_point):
    count = channels if per_channel else 1
    multipliers = data.draw(
        st.lists(st.integers(-(2**31) + 1, 2**31 - 1), min_size=count, max_size=count)
    )
    shifts = data.draw(st.lists(st.integers(0, 63), min_size=count, max_size=count))
    values = data.draw(
        st.lists(st.integers(-(2**31), 2**31 - 1), min_size=2 * channels, max_size=2 * channels)
    )
    x = np.array(values, dtype=np.int32).reshape(2, channels)
    y = ref.requantize(
        x,
        multiplier=multipliers,
        shift=shifts,
        output_zero_point=zero_point,
        axis=1,
        out_dtype=out_dtype,
    )
    info = np.iinfo(out_dtype)
    expected = [
        [
            requantize_oracle(
                int(x[n, c]),
                multipliers[c % count],
                shifts[c % count],
                zero_point,
                int(info.min),
                int(info.max),
            )
            for c in range(channels)
        ]
        for n in range(2)
    ]
    assert y.dtype == out_dtype
    np.testing.assert_array_equal(y, np.array(expected))


def test_requantize_hand_values():
    x = np.array([100, -100, 3, -3, 1000], dtype=np.int32)
    # multiplier 1, shift 1: round-half-up of x/2 (floor after +1): 50, -50, 2, -1, 500->127
    y = ref.requantize(x, multiplier=[1], shift=[1], axis=0)
    np.testing.assert_array_equal(y, [50, -50, 2, -1, 127])
    y = ref.requantize(
        x, multiplier=[3], shift=[0], output_zero_point=128, axis=0, out_dtype=np.uint8
    )
    np.testing.assert_array_equal(y, [255, 0, 137, 119, 255])


# ---------------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call,message",
    [
        (lambda: ref.conv(randf((1, 3, 5, 5)), randf((2, 2, 3, 3))), "group 1"),
        (
            lambda: ref.conv(randf((1, 3, 2, 2)), randf((2, 3, 3, 3))),
            "larger than the padded input",
        ),
        (
            lambda: ref.conv(randf((1, 3, 5, 5)), randf((2, 3, 3, 3)), pads=(1, 1)),
            "'pads' needs 4 values",
        ),
        (
            lambda: ref.conv_integer(randf((1, 1, 3, 3)), randq((1, 1, 1, 1), np.int8)),
            "must be an integer tensor",
        ),
        (lambda: ref.add(randf((2,)), randq((2,), np.int8)), "share one element type"),
        (lambda: ref.add(randf((2,)), randf((3,))), "do not broadcast"),
        (lambda: ref.div(np.array([1], np.int32), np.array([0], np.int32)), "division by zero"),
        (lambda: ref.reshape(randf((2, 3)), shape=(4, 2)), "cannot reshape"),
        (lambda: ref.reshape(randf((2, 3)), shape=(-1, 2)), "no -1"),
        (lambda: ref.transpose(randf((2, 3)), perm=(0, 0)), "not a permutation"),
        (lambda: ref.pad(randf((2, 3)), pads=(1, 1, 1, 1), mode="wrap"), "mode 'wrap'"),
        (
            lambda: ref.quantize_linear(randf((2, 3)), np.ones(2, np.float32)),
            "must be a scalar or have 3 elements",
        ),
        (lambda: ref.quantize_linear(np.array([np.nan], np.float32), np.float32(1), axis=0), "NaN"),
        (
            lambda: ref.requantize(np.ones((1, 3), np.int32), multiplier=[1, 2], shift=[0, 0]),
            "3 elements",
        ),
        (lambda: ref.requantize(np.ones(2, np.int32), multiplier=[1], shift=[64]), "shift"),
        (
            lambda: ref.requantize(
                np.full(2, 2**31 - 1, np.int32), multiplier=[2**40], shift=[0], axis=0
            ),
            "overflows 64 bits",
        ),
        (
            lambda: ref.max_pool(randf((1, 1, 4, 4)), kernel_shape=(2, 2), pads=(2, 0, 0, 0)),
            "entirely in padding",
        ),
        (
            lambda: ref.qlinear_conv(
                *qlinear_conv_operands(CONV_CASES[0], np.uint8, np.int8, False, False)[:7],
                np.int32(0),
            ),
            "int8 or uint8",
        ),
        (lambda: ref.concat(randf((2, 3)), randf((3, 4)), axis=0), "differ outside axis 0"),
        (lambda: ref.sum(), "at least one input"),
    ],
)
def test_bad_inputs_raise_graph_reference_error(call, message):
    with pytest.raises(GraphReferenceError, match=message) as info:
        call()
    assert str(info.value).startswith("graph.")


def test_every_documented_op_has_a_reference_function():
    documented = [
        "conv",
        "conv_integer",
        "qlinear_conv",
        "gemm",
        "matmul",
        "matmul_integer",
        "qlinear_matmul",
        "add",
        "sub",
        "mul",
        "div",
        "relu",
        "sigmoid",
        "clip",
        "leaky_relu",
        "hard_sigmoid",
        "max_pool",
        "average_pool",
        "global_average_pool",
        "global_max_pool",
        "reduce_mean",
        "sum",
        "batch_norm",
        "lrn",
        "flatten",
        "reshape",
        "transpose",
        "concat",
        "softmax",
        "pad",
        "quantize_linear",
        "dequantize_linear",
        "requantize",
        "cast",
    ]
    assert sorted(documented) == sorted(
        name for name in ref.__all__ if name != "GraphReferenceError"
    )
    for name in documented:
        assert callable(getattr(ref, name))
