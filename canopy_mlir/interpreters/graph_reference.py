"""The numpy reference semantics of every ``graph`` dialect op (docs/graph-dialect.md).

One pure function per op, named as the op without ``graph.`` (``graph.conv`` ->
:func:`conv`). Operands come positionally as numpy arrays (absent optional operands as
``None``); properties come as keyword arguments with exactly the dialect's names and
defaults. The interpreter (:mod:`canopy_mlir.interpreters.graph_interpreter`) calls
them generically, so the signatures *are* the contract between dialect and reference.

Semantics are ONNX's (opset 21):

- integer ops (``conv_integer``, ``matmul_integer``, the integer core of the
  ``qlinear_*`` ops) are bit-exact: products are accumulated exactly and the sum wraps to
  int32 like ONNX's int32 arithmetic. Float64 BLAS is used only when the operand bounds
  prove every partial sum below 2**53 (always true for 8-bit data), int64 otherwise;
- ``qlinear_conv`` / ``qlinear_matmul`` follow onnx.reference bit for bit: the rescale
  factor ``a_scale * b_scale / y_scale`` is computed in float32, applied to the int32
  accumulator in float64, then ``+ zero_point``, round half to even, saturate;
- ``quantize_linear`` rounds half to even and saturates (also where ONNX's reference
  would overflow int32); ``dequantize_linear`` computes in float32 like ONNX;
- float ops match ONNX within float tolerance (float32 results).

Anything the reference cannot give a defined answer for raises
:class:`GraphReferenceError` naming the op, the offending value and why.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Callable, Sequence

import numpy as np

__all__ = [
    "GraphReferenceError",
    "add",
    "average_pool",
    "batch_norm",
    "cast",
    "clip",
    "concat",
    "conv",
    "conv_integer",
    "dequantize_linear",
    "div",
    "flatten",
    "gemm",
    "global_average_pool",
    "global_max_pool",
    "hard_sigmoid",
    "leaky_relu",
    "lrn",
    "matmul",
    "matmul_integer",
    "max_pool",
    "mul",
    "pad",
    "qlinear_conv",
    "qlinear_matmul",
    "quantize_linear",
    "reduce_mean",
    "relu",
    "requantize",
    "reshape",
    "sigmoid",
    "softmax",
    "sub",
    "sum",
    "transpose",
]

_EXACT_FLOAT64_LIMIT = 2**53
"""Integers below this magnitude, and sums of them that stay below it, are exact in f64."""


class GraphReferenceError(ValueError):
    """An op's operands or properties are outside what the reference defines."""


def _fail(op: str, message: str) -> GraphReferenceError:
    return GraphReferenceError(f"graph.{op}: {message}")


# ---------------------------------------------------------------------------------------
# Small validation helpers
# ---------------------------------------------------------------------------------------


def _ints(values: Sequence[int] | np.ndarray, length: int, op: str, name: str) -> tuple[int, ...]:
    """``values`` as a tuple of Python ints of exactly ``length`` entries."""
    result = tuple(int(v) for v in values)
    if len(result) != length:
        raise _fail(op, f"'{name}' needs {length} values, got {len(result)}: {list(result)}")
    return result


def _require_rank(x: np.ndarray, rank: int, op: str, name: str) -> None:
    if x.ndim != rank:
        raise _fail(op, f"'{name}' must be {rank}-D, got shape {x.shape}")


def _require_float(x: np.ndarray, op: str, name: str) -> None:
    if x.dtype.kind != "f":
        raise _fail(op, f"'{name}' must be a float tensor, got {x.dtype}")


def _require_integer(x: np.ndarray, op: str, name: str) -> None:
    if x.dtype.kind not in "iu":
        raise _fail(op, f"'{name}' must be an integer tensor, got {x.dtype}")


def _same_dtype(arrays: Sequence[np.ndarray], op: str) -> np.dtype:
    dtypes = {a.dtype for a in arrays}
    if len(dtypes) != 1:
        raise _fail(op, f"operands must share one element type, got {sorted(map(str, dtypes))}")
    return arrays[0].dtype


def _normalize_axis(axis: int, rank: int, op: str, name: str = "axis") -> int:
    if not -rank <= axis < rank:
        raise _fail(op, f"'{name}' {axis} is out of range for a rank-{rank} tensor")
    return axis % rank


def _scalar(x: np.ndarray | None, op: str, name: str, default: float = 0) -> np.ndarray:
    """A one-element operand as a 0-d array (``default`` when absent)."""
    if x is None:
        return np.asarray(default)
    x = np.asarray(x)
    if x.size != 1:
        raise _fail(op, f"'{name}' must be a scalar (per-tensor), got shape {x.shape}")
    return x.reshape(())


def _per_axis(
    x: np.ndarray | None, rank: int, axis: int, channels: int, op: str, name: str
) -> np.ndarray | None:
    """A scalar or [channels] operand, shaped to broadcast along ``axis`` of a rank-``rank`` tensor."""
    if x is None:
        return None
    x = np.asarray(x)
    if x.size == 1:
        return x.reshape(())
    if x.ndim != 1 or x.size != channels:
        raise _fail(
            op,
            f"'{name}' must be a scalar or have {channels} elements (one per index of axis "
            f"{axis}), got shape {x.shape}",
        )
    shape = [1] * rank
    shape[axis] = channels
    return x.reshape(shape)


# ---------------------------------------------------------------------------------------
# Exact integer arithmetic
# ---------------------------------------------------------------------------------------


def _max_abs(x: np.ndarray) -> int:
    return int(np.abs(x).max()) if x.size else 0


def _exact_int_matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``np.matmul(a, b)`` of int64 arrays, exactly (int64 result).

    Float64 BLAS is far faster than numpy's integer matmul loop and exact while every
    partial sum stays below 2**53, which ``K * max|a| * max|b|`` bounds.
    """
    depth = a.shape[-1]
    if depth * _max_abs(a) * _max_abs(b) < _EXACT_FLOAT64_LIMIT:
        return np.matmul(a.astype(np.float64), b.astype(np.float64)).astype(np.int64)
    return np.matmul(a.astype(np.int64), b.astype(np.int64))


def _wrap_int32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap to int32, i.e. what ONNX's int32 accumulation produces."""
    return x.astype(np.int64).astype(np.int32)


def _saturate(values: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """Clip integral float/int ``values`` to ``dtype``'s range and cast."""
    info = np.iinfo(dtype)
    return np.clip(values, info.min, info.max).astype(dtype)


def _quantized_dtype(zero_point: np.ndarray | None, fallback: np.dtype, op: str) -> np.dtype:
    dtype = np.dtype(fallback) if zero_point is None else np.asarray(zero_point).dtype
    if dtype not in (np.dtype(np.int8), np.dtype(np.uint8)):
        raise _fail(op, f"quantized outputs must be int8 or uint8, got {dtype}")
    return dtype


# ---------------------------------------------------------------------------------------
# Sliding windows (conv and pools, NCHW)
# ---------------------------------------------------------------------------------------


def _window_offsets(
    out_size: int, kernel: int, stride: int, dilation: int, pad_begin: int
) -> np.ndarray:
    """[out, kernel] input coordinates (unpadded; may be negative) each window reads."""
    starts = np.arange(out_size) * stride - pad_begin
    return starts[:, None] + np.arange(kernel)[None, :] * dilation


def _conv_out_size(
    size: int, kernel: int, stride: int, dilation: int, pads: tuple[int, int], op: str
) -> int:
    span = (kernel - 1) * dilation + 1
    room = size + pads[0] + pads[1] - span
    if room < 0:
        raise _fail(
            op,
            f"the kernel window ({kernel} taps, dilation {dilation}: span {span}) is larger "
            f"than the padded input ({size} + pads {pads[0]}+{pads[1]})",
        )
    return room // stride + 1


def _pool_out_size(
    size: int,
    kernel: int,
    stride: int,
    dilation: int,
    pads: tuple[int, int],
    ceil_mode: int,
    op: str,
) -> int:
    """ONNX's pooled length; in ceil mode the last window must start inside input or begin pad."""
    floor_out = _conv_out_size(size, kernel, stride, dilation, pads, op)
    if not ceil_mode:
        return floor_out
    room = size + pads[0] + pads[1] - ((kernel - 1) * dilation + 1)
    out = -(-room // stride) + 1
    if (out - 1) * stride >= size + pads[0]:
        out -= 1
    return out


def _pad_spatial(
    x: np.ndarray,
    begins: Sequence[int],
    ends: Sequence[int],
    fill: float,
) -> np.ndarray:
    if not any(begins) and not any(ends):
        return x
    widths = ((0, 0), (0, 0), *zip(begins, ends))
    return np.pad(x, widths, mode="constant", constant_values=fill)


def _window_slices(
    kernel: tuple[int, int],
    strides: tuple[int, int],
    dilations: tuple[int, int],
    out: tuple[int, int],
):
    """(ki, kj, index) for every kernel tap; ``padded[index]`` is that tap over all windows."""
    for ki in range(kernel[0]):
        row0 = ki * dilations[0]
        rows = slice(row0, row0 + (out[0] - 1) * strides[0] + 1, strides[0])
        for kj in range(kernel[1]):
            col0 = kj * dilations[1]
            cols = slice(col0, col0 + (out[1] - 1) * strides[1] + 1, strides[1])
            yield ki, kj, (slice(None), slice(None), rows, cols)


def _conv_geometry(
    op: str,
    x: np.ndarray,
    w: np.ndarray,
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    group: int,
) -> tuple[tuple[int, int], tuple[int, int, int, int], tuple[int, int], int, tuple[int, int]]:
    """Validated (strides, pads, dilations, group, output HW) of a 2-D convolution."""
    _require_rank(x, 4, op, "input")
    _require_rank(w, 4, op, "weight")
    strides_ = _ints(strides, 2, op, "strides")
    pads_ = _ints(pads, 4, op, "pads")
    dilations_ = _ints(dilations, 2, op, "dilations")
    group = int(group)
    if min(strides_) < 1 or min(dilations_) < 1:
        raise _fail(op, f"strides {list(strides_)} and dilations {list(dilations_)} must be >= 1")
    if min(pads_) < 0:
        raise _fail(op, f"pads {list(pads_)} must be non-negative")
    if group < 1 or x.shape[1] != w.shape[1] * group or w.shape[0] % group:
        raise _fail(
            op,
            f"input channels {x.shape[1]} and weight shape {w.shape} do not fit group {group} "
            f"(need C == weight.shape[1] * group and O % group == 0)",
        )
    out = tuple(
        _conv_out_size(
            x.shape[2 + d], w.shape[2 + d], strides_[d], dilations_[d], (pads_[d], pads_[2 + d]), op
        )
        for d in range(2)
    )
    return strides_, pads_, dilations_, group, out  # type: ignore[return-value]


def _convolve(
    x: np.ndarray,
    w: np.ndarray,
    strides: tuple[int, int],
    pads: tuple[int, int, int, int],
    dilations: tuple[int, int],
    group: int,
    out: tuple[int, int],
    matmul: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Grouped 2-D convolution by im2col + one batched ``matmul``; zero padding."""
    n, channels = x.shape[:2]
    out_channels, group_channels, kh, kw = w.shape
    padded = _pad_spatial(x, pads[:2], pads[2:], 0)
    cols = np.empty((n, channels, kh, kw, out[0], out[1]), dtype=x.dtype)
    for ki, kj, index in _window_slices((kh, kw), strides, dilations, out):
        cols[:, :, ki, kj] = padded[index]
    depth = group_channels * kh * kw
    cols = cols.reshape(n, group, depth, out[0] * out[1])
    weights = w.reshape(1, group, out_channels // group, depth)
    return matmul(weights, cols).reshape(n, out_channels, out[0], out[1])


def _integer_conv(
    op: str,
    x: np.ndarray,
    x_zero_point: np.ndarray | None,
    w: np.ndarray,
    w_zero_point: np.ndarray | None,
    bias: np.ndarray | None,
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    group: int,
) -> np.ndarray:
    """Exact ``conv(x - x_zp, w - w_zp) + bias`` wrapped to int32, as ONNX computes it."""
    x, w = np.asarray(x), np.asarray(w)
    _require_integer(x, op, "input")
    _require_integer(w, op, "weight")
    geometry = _conv_geometry(op, x, w, strides, pads, dilations, group)
    xi = x.astype(np.int64) - _scalar(x_zero_point, op, "input zero point").astype(np.int64)
    w_zp = _per_axis(w_zero_point, 4, 0, w.shape[0], op, "weight zero point")
    wi = w.astype(np.int64) - (0 if w_zp is None else w_zp.astype(np.int64))
    acc = _convolve(xi, wi, *geometry, matmul=_exact_int_matmul)
    if bias is not None:
        bias = np.asarray(bias)
        _require_integer(bias, op, "bias")
        if bias.size not in (1, w.shape[0]):
            raise _fail(op, f"'bias' must have {w.shape[0]} elements, got shape {bias.shape}")
        acc = acc + bias.astype(np.int64).reshape(1, -1, 1, 1)
    return _wrap_int32(acc)


# ---------------------------------------------------------------------------------------
# Convolutions and matrix products
# ---------------------------------------------------------------------------------------


def conv(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    group: int = 1,
) -> np.ndarray:
    """ONNX Conv (2-D, NCHW/OIHW, explicit pads [top, left, bottom, right]); float32."""
    x, w = np.asarray(input), np.asarray(weight)
    _require_float(x, "conv", "input")
    _require_float(w, "conv", "weight")
    geometry = _conv_geometry("conv", x, w, strides, pads, dilations, group)
    y = _convolve(x.astype(np.float32), w.astype(np.float32), *geometry, matmul=np.matmul)
    if bias is not None:
        bias = np.asarray(bias, dtype=np.float32)
        if bias.size != w.shape[0]:
            raise _fail("conv", f"'bias' must have {w.shape[0]} elements, got shape {bias.shape}")
        y = y + bias.reshape(1, -1, 1, 1)
    return y.astype(np.float32, copy=False)


def conv_integer(
    input: np.ndarray,
    weight: np.ndarray,
    input_zero_point: np.ndarray | None = None,
    weight_zero_point: np.ndarray | None = None,
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    group: int = 1,
) -> np.ndarray:
    """ONNX ConvInteger: exact int32 ``conv(input - izp, weight - wzp)``.

    ``weight_zero_point`` is a scalar or one per output channel. Padding is with the
    (subtracted) zero point, i.e. real zero, as in ONNX.
    """
    return _integer_conv(
        "conv_integer",
        input,
        input_zero_point,
        weight,
        weight_zero_point,
        None,
        strides,
        pads,
        dilations,
        group,
    )


def _rescale_to_quantized(
    acc: np.ndarray, multiplier: np.ndarray, zero_point: np.ndarray, dtype: np.dtype
) -> np.ndarray:
    """ONNX reference requantization: f64(acc) * f64(f32 multiplier) + zp, round half even, saturate."""
    scaled = acc.astype(np.float64) * multiplier.astype(np.float64)
    scaled += zero_point.astype(np.float64)
    return _saturate(np.rint(scaled), dtype)


def qlinear_conv(
    input: np.ndarray,
    input_scale: np.ndarray,
    input_zero_point: np.ndarray,
    weight: np.ndarray,
    weight_scale: np.ndarray,
    weight_zero_point: np.ndarray,
    output_scale: np.ndarray,
    output_zero_point: np.ndarray,
    bias: np.ndarray | None = None,
    *,
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    group: int = 1,
) -> np.ndarray:
    """ONNX QLinearConv, bit-exact with onnx.reference.

    Integer accumulator ``conv(x - xzp, w - wzp) + bias`` (int32), times the float32
    factor ``input_scale * weight_scale / output_scale`` (weight scale per output
    channel allowed), plus ``output_zero_point``, rounded half to even, saturated to the
    zero point's type.
    """
    op = "qlinear_conv"
    w = np.asarray(weight)
    acc = _integer_conv(
        op, input, input_zero_point, w, weight_zero_point, bias, strides, pads, dilations, group
    )
    x_scale = _scalar(input_scale, op, "input scale").astype(np.float32)
    y_scale = _scalar(output_scale, op, "output scale").astype(np.float32)
    w_scale = _per_axis(weight_scale, 4, 1, w.shape[0], op, "weight scale").astype(np.float32)
    multiplier = x_scale * w_scale / y_scale
    dtype = _quantized_dtype(output_zero_point, np.asarray(input).dtype, op)
    y_zero_point = _scalar(output_zero_point, op, "output zero point")
    return _rescale_to_quantized(acc, multiplier, y_zero_point, dtype)


def gemm(
    a: np.ndarray,
    b: np.ndarray,
    c: np.ndarray | None = None,
    *,
    alpha: float = 1.0,
    beta: float = 1.0,
    trans_a: int = 0,
    trans_b: int = 0,
) -> np.ndarray:
    """ONNX Gemm: ``alpha * op(a) @ op(b) + beta * c`` (c unidirectionally broadcast)."""
    a, b = np.asarray(a, dtype=np.float32), np.asarray(b, dtype=np.float32)
    _require_rank(a, 2, "gemm", "a")
    _require_rank(b, 2, "gemm", "b")
    a = a.T if trans_a else a
    b = b.T if trans_b else b
    if a.shape[1] != b.shape[0]:
        raise _fail("gemm", f"inner dimensions differ: op(a) is {a.shape}, op(b) is {b.shape}")
    y = (a @ b) * np.float32(alpha)
    if c is not None and beta != 0:
        c = np.asarray(c, dtype=np.float32)
        try:
            np.broadcast_to(c, y.shape)
        except ValueError:
            raise _fail("gemm", f"'c' of shape {c.shape} does not broadcast to {y.shape}") from None
        y = y + c * np.float32(beta)
    return y.astype(np.float32, copy=False)


def _matmul_shapes(a: np.ndarray, b: np.ndarray, op: str) -> None:
    if a.ndim == 0 or b.ndim == 0:
        raise _fail(op, "operands must be at least 1-D")
    inner_a = a.shape[-1]
    inner_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if inner_a != inner_b:
        raise _fail(op, f"inner dimensions differ: a is {a.shape}, b is {b.shape}")
    try:
        np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    except ValueError:
        raise _fail(op, f"batch dimensions of {a.shape} and {b.shape} do not broadcast") from None


def matmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """ONNX MatMul (numpy matmul broadcasting); float32."""
    a, b = np.asarray(a), np.asarray(b)
    _matmul_shapes(a, b, "matmul")
    return np.matmul(a, b)


def _row_operand(x: np.ndarray | None, a: np.ndarray, op: str, name: str) -> np.ndarray | None:
    """A scalar or per-row ([M] for an [..., M, K] ``a``) operand, broadcastable against rows."""
    if x is None:
        return None
    x = np.asarray(x)
    if x.size == 1:
        return x.reshape(())
    if a.ndim >= 2 and x.ndim == 1 and x.size == a.shape[-2]:
        return x.reshape(-1, 1)
    raise _fail(
        op,
        f"'{name}' must be a scalar or have one value per row of a {a.shape}, got shape {x.shape}",
    )


def _column_operand(x: np.ndarray | None, b: np.ndarray, op: str, name: str) -> np.ndarray | None:
    """A scalar or per-column ([N] for an [..., K, N] ``b``) operand."""
    if x is None:
        return None
    x = np.asarray(x)
    if x.size == 1:
        return x.reshape(())
    if b.ndim >= 2 and x.ndim == 1 and x.size == b.shape[-1]:
        return x
    raise _fail(
        op,
        f"'{name}' must be a scalar or have one value per column of b {b.shape}, got shape {x.shape}",
    )


def _centered(x: np.ndarray, zero_point: np.ndarray | None) -> np.ndarray:
    xi = x.astype(np.int64)
    return xi if zero_point is None else xi - zero_point.astype(np.int64)


def _integer_matmul(
    op: str,
    a: np.ndarray,
    b: np.ndarray,
    a_zero_point: np.ndarray | None,
    b_zero_point: np.ndarray | None,
) -> np.ndarray:
    a, b = np.asarray(a), np.asarray(b)
    _require_integer(a, op, "a")
    _require_integer(b, op, "b")
    _matmul_shapes(a, b, op)
    a_zp = _row_operand(a_zero_point, a, op, "a zero point")
    b_zp = _column_operand(b_zero_point, b, op, "b zero point")
    return _wrap_int32(_exact_int_matmul(_centered(a, a_zp), _centered(b, b_zp)))


def matmul_integer(
    a: np.ndarray,
    b: np.ndarray,
    a_zero_point: np.ndarray | None = None,
    b_zero_point: np.ndarray | None = None,
) -> np.ndarray:
    """ONNX MatMulInteger: exact int32 ``(a - azp) @ (b - bzp)``.

    Zero points are scalars, or per row of ``a`` / per column of ``b`` as the ONNX spec
    says (onnx.reference broadcasts a 1-D ``a_zero_point`` along columns instead; the
    two agree for scalars, which is what importers produce).
    """
    return _integer_matmul("matmul_integer", a, b, a_zero_point, b_zero_point)


def qlinear_matmul(
    a: np.ndarray,
    a_scale: np.ndarray,
    a_zero_point: np.ndarray,
    b: np.ndarray,
    b_scale: np.ndarray,
    b_zero_point: np.ndarray,
    output_scale: np.ndarray,
    output_zero_point: np.ndarray,
) -> np.ndarray:
    """ONNX QLinearMatMul, bit-exact with onnx.reference for per-tensor / per-column b.

    int32 ``(a - azp) @ (b - bzp)`` times the float32 factor
    ``a_scale * b_scale / output_scale`` (in float64), plus the output zero point, round
    half to even, saturate to the output zero point's type.
    """
    op = "qlinear_matmul"
    a, b = np.asarray(a), np.asarray(b)
    acc = _integer_matmul(op, a, b, a_zero_point, b_zero_point)
    a_s = _row_operand(a_scale, a, op, "a scale").astype(np.float32)
    b_s = _column_operand(b_scale, b, op, "b scale").astype(np.float32)
    y_s = _scalar(output_scale, op, "output scale").astype(np.float32)
    dtype = _quantized_dtype(output_zero_point, a.dtype, op)
    return _rescale_to_quantized(
        acc, a_s * b_s / y_s, _scalar(output_zero_point, op, "output zero point"), dtype
    )


# ---------------------------------------------------------------------------------------
# Element-wise ops
# ---------------------------------------------------------------------------------------


def _broadcast_operands(op: str, *arrays: np.ndarray) -> tuple[list[np.ndarray], np.dtype]:
    arrays_ = [np.asarray(a) for a in arrays]
    dtype = _same_dtype(arrays_, op)
    try:
        np.broadcast_shapes(*(a.shape for a in arrays_))
    except ValueError:
        raise _fail(op, f"shapes {[a.shape for a in arrays_]} do not broadcast") from None
    return arrays_, dtype


def _binary(op: str, fn: Callable[[np.ndarray, np.ndarray], np.ndarray], lhs, rhs) -> np.ndarray:
    (lhs, rhs), dtype = _broadcast_operands(op, lhs, rhs)
    with np.errstate(over="ignore"):  # integer ops wrap like ONNX's fixed-width types
        return np.asarray(fn(lhs, rhs)).astype(dtype, copy=False)


def add(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """ONNX Add (broadcasting; integers wrap)."""
    return _binary("add", np.add, lhs, rhs)


def sub(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """ONNX Sub (broadcasting; integers wrap)."""
    return _binary("sub", np.subtract, lhs, rhs)


def mul(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """ONNX Mul (broadcasting; integers wrap)."""
    return _binary("mul", np.multiply, lhs, rhs)


def _truncating_divide(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Integer division rounding toward zero (C semantics), computed in int64."""
    if np.any(rhs == 0):
        raise _fail("div", "integer division by zero")
    x, y = lhs.astype(np.int64), rhs.astype(np.int64)
    quotient = np.floor_divide(x, y)
    inexact_negative = (x - quotient * y != 0) & ((x < 0) ^ (y < 0))
    return quotient + inexact_negative


def div(lhs: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """ONNX Div: true division for floats, truncation toward zero for integers."""
    (lhs_, rhs_), dtype = _broadcast_operands("div", lhs, rhs)
    if dtype.kind in "iu":
        return _truncating_divide(lhs_, rhs_).astype(dtype)
    with np.errstate(divide="ignore", invalid="ignore"):  # IEEE inf/nan, as ONNX
        return np.divide(lhs_, rhs_).astype(dtype, copy=False)


def sum(*inputs: np.ndarray) -> np.ndarray:
    """ONNX Sum: element-wise sum of one or more broadcasting tensors."""
    if not inputs:
        raise _fail("sum", "needs at least one input")
    arrays, dtype = _broadcast_operands("sum", *inputs)
    total = arrays[0]
    with np.errstate(over="ignore"):
        for array in arrays[1:]:
            total = np.add(total, array)
    return np.broadcast_to(total, np.broadcast_shapes(*(a.shape for a in arrays))).astype(dtype)


def relu(input: np.ndarray) -> np.ndarray:
    """ONNX Relu: ``max(x, 0)``, same element type."""
    x = np.asarray(input)
    return np.maximum(x, x.dtype.type(0))


def sigmoid(input: np.ndarray) -> np.ndarray:
    """ONNX Sigmoid, computed without overflow for large |x|."""
    x = np.asarray(input)
    _require_float(x, "sigmoid", "input")
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)


def clip(input: np.ndarray, *, min: float = -math.inf, max: float = math.inf) -> np.ndarray:
    """ONNX Clip with the bounds as properties; ``min > max`` gives ``max`` everywhere.

    For integer tensors the bounds are rounded inward (ceil / floor) and limited to the
    element type's range, so that an integer clip never wraps.
    """
    x = np.asarray(input)
    lo, hi = float(min), float(max)
    if math.isnan(lo) or math.isnan(hi):
        raise _fail("clip", f"bounds must not be NaN, got min={lo}, max={hi}")
    if x.dtype.kind in "iu":
        info = np.iinfo(x.dtype)
        lo_ = builtins.max(info.min, math.ceil(lo)) if lo != -math.inf else info.min
        hi_ = builtins.min(info.max, math.floor(hi)) if hi != math.inf else info.max
        lo_, hi_ = builtins.min(lo_, info.max), builtins.max(hi_, info.min)
        return np.minimum(np.maximum(x, x.dtype.type(lo_)), x.dtype.type(hi_))
    return np.minimum(np.maximum(x, x.dtype.type(lo)), x.dtype.type(hi))


def leaky_relu(input: np.ndarray, *, alpha: float = 0.01) -> np.ndarray:
    """ONNX LeakyRelu: ``x if x >= 0 else alpha * x``."""
    x = np.asarray(input)
    _require_float(x, "leaky_relu", "input")
    return np.where(x >= 0, x, x * x.dtype.type(alpha)).astype(x.dtype, copy=False)


def hard_sigmoid(input: np.ndarray, *, alpha: float = 0.2, beta: float = 0.5) -> np.ndarray:
    """ONNX HardSigmoid: ``clip(alpha * x + beta, 0, 1)``."""
    x = np.asarray(input)
    _require_float(x, "hard_sigmoid", "input")
    t = x.dtype.type
    return np.clip(x * t(alpha) + t(beta), t(0), t(1)).astype(x.dtype, copy=False)


# ---------------------------------------------------------------------------------------
# Pooling and reductions
# ---------------------------------------------------------------------------------------


def _pool_plan(
    op: str,
    x: np.ndarray,
    kernel_shape: Sequence[int],
    strides: Sequence[int],
    pads: Sequence[int],
    dilations: Sequence[int],
    ceil_mode: int,
):
    """Validated pooling geometry: kernel, strides, dilations, pads, output HW, end padding."""
    _require_rank(x, 4, op, "input")
    kernel = _ints(kernel_shape, 2, op, "kernel_shape")
    strides_ = _ints(strides, 2, op, "strides")
    pads_ = _ints(pads, 4, op, "pads")
    dilations_ = _ints(dilations, 2, op, "dilations")
    if min(kernel) < 1 or min(strides_) < 1 or min(dilations_) < 1:
        raise _fail(
            op,
            f"kernel_shape {list(kernel)}, strides {list(strides_)} and dilations "
            f"{list(dilations_)} must be >= 1",
        )
    if min(pads_) < 0:
        raise _fail(op, f"pads {list(pads_)} must be non-negative")
    out = tuple(
        _pool_out_size(
            x.shape[2 + d],
            kernel[d],
            strides_[d],
            dilations_[d],
            (pads_[d], pads_[2 + d]),
            ceil_mode,
            op,
        )
        for d in range(2)
    )
    # The padded array must hold every tap of the last window (ceil mode may overhang).
    ends = tuple(
        builtins.max(
            0,
            (out[d] - 1) * strides_[d]
            + (kernel[d] - 1) * dilations_[d]
            + 1
            - x.shape[2 + d]
            - pads_[d],
        )
        for d in range(2)
    )
    return kernel, strides_, dilations_, pads_, out, ends


def _taps_per_window(
    x: np.ndarray, kernel, strides, dilations, pads, out, count_padding: bool
) -> np.ndarray:
    """[OH, OW] number of taps per window inside the input (or inside input + explicit pads)."""
    counts = []
    for d in range(2):
        size = x.shape[2 + d]
        coords = _window_offsets(out[d], kernel[d], strides[d], dilations[d], pads[d])
        lo, hi = (-pads[d], size + pads[2 + d]) if count_padding else (0, size)
        counts.append(((coords >= lo) & (coords < hi)).sum(axis=1))
    return counts[0][:, None] * counts[1][None, :]


def max_pool(
    input: np.ndarray,
    *,
    kernel_shape: Sequence[int],
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    dilations: Sequence[int] = (1, 1),
    ceil_mode: int = 0,
) -> np.ndarray:
    """ONNX MaxPool (2-D): padding never wins; f32, int8 or uint8."""
    op = "max_pool"
    x = np.asarray(input)
    kernel, strides_, dilations_, pads_, out, ends = _pool_plan(
        op, x, kernel_shape, strides, pads, dilations, ceil_mode
    )
    if _taps_per_window(x, kernel, strides_, dilations_, pads_, out, False).min() == 0:
        raise _fail(
            op,
            f"some pooling window lies entirely in padding (pads {list(pads_)}, kernel {list(kernel)})",
        )
    lowest = -np.inf if x.dtype.kind == "f" else np.iinfo(x.dtype).min
    padded = _pad_spatial(x, pads_[:2], ends, lowest)
    result = None
    for _, _, index in _window_slices(kernel, strides_, dilations_, out):
        tap = padded[index]
        result = tap.copy() if result is None else np.maximum(result, tap, out=result)
    return result


def average_pool(
    input: np.ndarray,
    *,
    kernel_shape: Sequence[int],
    strides: Sequence[int] = (1, 1),
    pads: Sequence[int] = (0, 0, 0, 0),
    ceil_mode: int = 0,
    count_include_pad: int = 0,
) -> np.ndarray:
    """ONNX AveragePool (2-D).

    The divisor counts the window's taps inside the input, or with ``count_include_pad``
    inside input + explicit pads; taps that only exist because of ``ceil_mode`` never
    count (ONNX / onnxruntime / PyTorch semantics). Accumulates in float64.
    """
    op = "average_pool"
    x = np.asarray(input)
    _require_float(x, op, "input")
    kernel, strides_, dilations_, pads_, out, ends = _pool_plan(
        op, x, kernel_shape, strides, pads, (1, 1), ceil_mode
    )
    divisor = _taps_per_window(x, kernel, strides_, dilations_, pads_, out, bool(count_include_pad))
    if divisor.min() == 0:
        raise _fail(
            op,
            f"some pooling window lies entirely in padding (pads {list(pads_)}, kernel {list(kernel)})",
        )
    padded = _pad_spatial(x.astype(np.float64), pads_[:2], ends, 0.0)
    total = np.zeros(x.shape[:2] + out, dtype=np.float64)
    for _, _, index in _window_slices(kernel, strides_, dilations_, out):
        total += padded[index]
    return (total / divisor).astype(x.dtype)


def _require_spatial(x: np.ndarray, op: str) -> None:
    if x.ndim < 3:
        raise _fail(op, f"'input' must be N x C x spatial..., got shape {x.shape}")


def global_average_pool(input: np.ndarray) -> np.ndarray:
    """ONNX GlobalAveragePool: mean over all spatial axes, kept as size-1 axes."""
    x = np.asarray(input)
    _require_spatial(x, "global_average_pool")
    _require_float(x, "global_average_pool", "input")
    axes = tuple(range(2, x.ndim))
    return x.mean(axis=axes, dtype=np.float64, keepdims=True).astype(x.dtype)


def global_max_pool(input: np.ndarray) -> np.ndarray:
    """ONNX GlobalMaxPool: max over all spatial axes, kept as size-1 axes."""
    x = np.asarray(input)
    _require_spatial(x, "global_max_pool")
    return x.max(axis=tuple(range(2, x.ndim)), keepdims=True)


def reduce_mean(
    input: np.ndarray, *, axes: Sequence[int] | None = None, keepdims: int = 1
) -> np.ndarray:
    """ONNX ReduceMean; ``axes`` None or empty reduces every axis."""
    x = np.asarray(input)
    _require_float(x, "reduce_mean", "input")
    if axes is None or len(axes) == 0:
        axes_ = tuple(range(x.ndim))
    else:
        axes_ = tuple(
            sorted({_normalize_axis(int(a), x.ndim, "reduce_mean", "axes") for a in axes})
        )
        if len(axes_) != len(axes):
            raise _fail("reduce_mean", f"'axes' {list(axes)} names an axis twice")
    return np.asarray(x.mean(axis=axes_, dtype=np.float64, keepdims=bool(keepdims))).astype(x.dtype)


# ---------------------------------------------------------------------------------------
# Normalisation, shape and data movement
# ---------------------------------------------------------------------------------------


def batch_norm(
    input: np.ndarray,
    scale: np.ndarray,
    bias: np.ndarray,
    mean: np.ndarray,
    variance: np.ndarray,
    *,
    epsilon: float = 1e-5,
) -> np.ndarray:
    """ONNX BatchNormalization, inference mode: ``scale * (x - mean) / sqrt(var + eps) + bias``."""
    x = np.asarray(input)
    _require_float(x, "batch_norm", "input")
    if x.ndim < 2:
        raise _fail("batch_norm", f"'input' must be N x C x ..., got shape {x.shape}")
    channels = x.shape[1]
    params = []
    for name, value in (("scale", scale), ("bias", bias), ("mean", mean), ("variance", variance)):
        value = np.asarray(value, dtype=x.dtype)
        if value.size != channels:
            raise _fail(
                "batch_norm",
                f"'{name}' must have {channels} elements (one per channel), got shape {value.shape}",
            )
        params.append(value.reshape((channels,) + (1,) * (x.ndim - 2)))
    s, b, m, v = params
    return (s * (x - m) / np.sqrt(v + x.dtype.type(epsilon)) + b).astype(x.dtype, copy=False)


def lrn(
    input: np.ndarray,
    *,
    size: int,
    alpha: float = 0.0001,
    beta: float = 0.75,
    bias: float = 1.0,
) -> np.ndarray:
    """ONNX LRN (local response normalization across channels) on NCHW float32::

        square_sum[n, c, h, w] = sum(x[n, i, h, w] ** 2) for
            max(0, c - floor((size - 1) / 2)) <= i <= min(C - 1, c + ceil((size - 1) / 2))
        y = x / (bias + alpha / size * square_sum) ** beta

    The window sum adds ``size`` shifted slices of the zero-padded squares (no running
    sum, so one huge channel cannot swamp its far neighbours by cancellation), all in
    float64; the result has the input's float type.
    """
    op = "lrn"
    x = np.asarray(input)
    _require_float(x, op, "input")
    _require_rank(x, 4, op, "input")
    size = int(size)
    if size < 1:
        raise _fail(op, f"'size' must be positive, got {size}")
    channels = x.shape[1]
    before = (size - 1) // 2
    after = size - 1 - before
    squares = np.square(x, dtype=np.float64)
    padded = np.pad(squares, ((0, 0), (before, after), (0, 0), (0, 0)))
    square_sum = np.zeros_like(squares)
    for offset in range(size):
        square_sum += padded[:, offset : offset + channels]
    scale = (float(bias) + float(alpha) / size * square_sum) ** float(beta)
    return (x / scale).astype(x.dtype)


def flatten(input: np.ndarray, *, axis: int = 1) -> np.ndarray:
    """ONNX Flatten: 2-D ``(prod(shape[:axis]), prod(shape[axis:]))``; axis in [-r, r]."""
    x = np.asarray(input)
    if not -x.ndim <= axis <= x.ndim:
        raise _fail("flatten", f"'axis' {axis} is out of range for a rank-{x.ndim} tensor")
    axis = axis % x.ndim if axis < 0 else axis
    return x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))


def reshape(input: np.ndarray, *, shape: Sequence[int]) -> np.ndarray:
    """Reshape to the static ``shape`` (already resolved: no -1 or 0 placeholders)."""
    x = np.asarray(input)
    target = tuple(int(s) for s in shape)
    if any(s < 0 for s in target):
        raise _fail("reshape", f"'shape' {list(target)} must be fully resolved (no -1)")
    if math.prod(target) != x.size:
        raise _fail("reshape", f"cannot reshape {x.shape} ({x.size} elements) to {list(target)}")
    return x.reshape(target)


def transpose(input: np.ndarray, *, perm: Sequence[int] | None = None) -> np.ndarray:
    """ONNX Transpose; ``perm`` None reverses the axes (ONNX's default)."""
    x = np.asarray(input)
    if perm is None:
        return x.transpose().copy()
    perm_ = tuple(int(p) for p in perm)
    if sorted(perm_) != list(range(x.ndim)):
        raise _fail("transpose", f"'perm' {list(perm_)} is not a permutation of the {x.ndim} axes")
    return x.transpose(perm_).copy()  # copy, not ascontiguousarray: keeps rank 0


def concat(*inputs: np.ndarray, axis: int) -> np.ndarray:
    """ONNX Concat along ``axis`` (negative counts from the end)."""
    if not inputs:
        raise _fail("concat", "needs at least one input")
    arrays = [np.asarray(a) for a in inputs]
    _same_dtype(arrays, "concat")
    rank = arrays[0].ndim
    axis_ = _normalize_axis(int(axis), rank, "concat")
    for a in arrays:
        if (
            a.ndim != rank
            or a.shape[:axis_] + a.shape[axis_ + 1 :]
            != arrays[0].shape[:axis_] + arrays[0].shape[axis_ + 1 :]
        ):
            raise _fail("concat", f"shapes {[x.shape for x in arrays]} differ outside axis {axis_}")
    return np.concatenate(arrays, axis=axis_)


def softmax(input: np.ndarray, *, axis: int = -1) -> np.ndarray:
    """ONNX Softmax (opset 13: normalises along the single ``axis``)."""
    x = np.asarray(input)
    _require_float(x, "softmax", "input")
    axis_ = _normalize_axis(int(axis), x.ndim, "softmax")
    shifted = np.exp(x - x.max(axis=axis_, keepdims=True))
    return (shifted / shifted.sum(axis=axis_, keepdims=True)).astype(x.dtype, copy=False)


_PAD_MODES = ("constant", "reflect", "edge")


def _pad_value(value: float, dtype: np.dtype):
    """The constant-mode fill as a ``dtype`` scalar; integer tensors need a representable integer."""
    if dtype.kind == "f":
        return dtype.type(value)
    info = np.iinfo(dtype)
    if value != int(value) or not info.min <= value <= info.max:
        raise _fail("pad", f"'value' {value} is not representable in the {dtype} tensor")
    return dtype.type(int(value))


def pad(
    input: np.ndarray, *, pads: Sequence[int], mode: str = "constant", value: float = 0.0
) -> np.ndarray:
    """ONNX Pad: ``pads`` = all begins then all ends; negative pads crop."""
    x = np.asarray(input)
    widths = _ints(pads, 2 * x.ndim, "pad", "pads")
    if mode not in _PAD_MODES:
        raise _fail("pad", f"mode '{mode}' is not supported (supported: {', '.join(_PAD_MODES)})")
    begins, ends = widths[: x.ndim], widths[x.ndim :]
    crop = tuple(
        slice(builtins.max(0, -b), x.shape[d] - builtins.max(0, -e))
        for d, (b, e) in enumerate(zip(begins, ends))
    )
    x = x[crop]
    if any(s == 0 for s in x.shape) and mode != "constant":
        raise _fail(
            "pad", f"mode '{mode}' cannot pad an empty tensor (shape {x.shape} after cropping)"
        )
    grow = tuple((builtins.max(0, b), builtins.max(0, e)) for b, e in zip(begins, ends))
    if mode == "constant":
        return np.pad(x, grow, mode="constant", constant_values=_pad_value(value, x.dtype))
    return np.pad(x, grow, mode=mode)


# ---------------------------------------------------------------------------------------
# Quantization
# ---------------------------------------------------------------------------------------


def _quantization_axis(x: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None,
                       axis: int, op: str) -> tuple[int, int]:
    """The axis and channel count of a quantize/dequantize.

    ONNX ignores ``axis`` when scale and zero point are per-tensor (one element), so it
    is only checked against the input's rank for per-axis quantization.
    """
    per_tensor = np.size(scale) == 1 and (zero_point is None or np.size(zero_point) == 1)
    if per_tensor or x.ndim == 0:
        return 0, (x.shape[0] if x.ndim else 1)
    axis_ = _normalize_axis(int(axis), x.ndim, op)
    return axis_, x.shape[axis_]


def quantize_linear(
    input: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None = None, *, axis: int = 1
) -> np.ndarray:
    """ONNX QuantizeLinear: ``saturate(rint(x / scale) + zero_point)``, round half to even.

    Per-tensor or per-axis (``scale`` / ``zero_point`` of ``input.shape[axis]`` elements).
    float32 input divides in float32 (as ONNX); integer input in float64. The result type
    is the zero point's (uint8 without one).
    """
    op = "quantize_linear"
    x = np.asarray(input)
    if x.dtype.kind not in "fi":
        raise _fail(op, f"'input' must be float32 or int32, got {x.dtype}")
    dtype = _quantized_dtype(zero_point, np.uint8, op)
    axis_, channels = _quantization_axis(x, scale, zero_point, axis, op)
    s = _per_axis(np.asarray(scale), x.ndim, axis_, channels, op, "scale").astype(np.float32)
    zp = _per_axis(zero_point, x.ndim, axis_, channels, op, "zero point")
    quotient = x / s if x.dtype == np.float32 else x.astype(np.float64) / s.astype(np.float64)
    if np.isnan(quotient).any():
        raise _fail(op, "input / scale contains NaN, which has no quantized value")
    rounded = np.rint(quotient).astype(np.float64)
    if zp is not None:
        rounded += zp.astype(np.float64)
    return _saturate(rounded, dtype)


def dequantize_linear(
    input: np.ndarray, scale: np.ndarray, zero_point: np.ndarray | None = None, *, axis: int = 1
) -> np.ndarray:
    """ONNX DequantizeLinear: ``(float32(x) - zero_point) * scale`` in float32, per tensor or axis."""
    op = "dequantize_linear"
    x = np.asarray(input)
    _require_integer(x, op, "input")
    axis_, channels = _quantization_axis(x, scale, zero_point, axis, op)
    s = _per_axis(np.asarray(scale), x.ndim, axis_, channels, op, "scale").astype(np.float32)
    zp = _per_axis(zero_point, x.ndim, axis_, channels, op, "zero point")
    if zp is not None and zp.dtype != x.dtype:
        raise _fail(op, f"zero point type {zp.dtype} differs from input type {x.dtype}")
    centered = x.astype(np.float32)
    if zp is not None:
        centered = centered - zp.astype(np.float32)
    return (centered * s).astype(np.float32, copy=False)


def requantize(
    input: np.ndarray,
    *,
    multiplier: Sequence[int],
    shift: Sequence[int],
    output_zero_point: int = 0,
    axis: int = 1,
    out_dtype: np.dtype | type = np.int8,
) -> np.ndarray:
    """The accelerator's integer rescale (``graph.requantize``)::

        y = clip(((x * multiplier + (1 << (shift - 1) if shift > 0 else 0)) >> shift)
                 + output_zero_point, qmin, qmax)

    with an exact 64-bit ``x * multiplier`` and an arithmetic (flooring) right shift.
    ``multiplier`` / ``shift`` hold one value, or one per index of ``axis``. ``out_dtype``
    (the op's result type, int8 or uint8) sets ``[qmin, qmax]``; the interpreter passes it.
    """
    op = "requantize"
    x = np.asarray(input)
    _require_integer(x, op, "input")
    dtype = np.dtype(out_dtype)
    if dtype.kind not in "iu":
        raise _fail(op, f"out_dtype must be an integer type, got {dtype}")
    multipliers = np.asarray([int(m) for m in multiplier], dtype=np.int64)
    shifts = np.asarray([int(s) for s in shift], dtype=np.int64)
    if multipliers.size == 0 or multipliers.size != shifts.size:
        raise _fail(
            op,
            f"'multiplier' ({multipliers.size} values) and 'shift' ({shifts.size}) must be equally long and non-empty",
        )
    if shifts.min() < 0 or shifts.max() > 63:
        raise _fail(op, f"'shift' values {shifts.tolist()} must lie in [0, 63]")
    worst = _max_abs(x) * _max_abs(multipliers) + (1 << builtins.max(0, int(shifts.max()) - 1))
    if worst >= 2**63:
        raise _fail(
            op,
            f"x * multiplier + rounding overflows 64 bits (|x| <= {_max_abs(x)}, multipliers {multipliers.tolist()})",
        )
    if multipliers.size == 1:
        multipliers, shifts = multipliers.reshape(()), shifts.reshape(())
    else:
        axis_ = _normalize_axis(int(axis), x.ndim, op)
        multipliers = _per_axis(multipliers, x.ndim, axis_, x.shape[axis_], op, "multiplier")
        shifts = _per_axis(shifts, x.ndim, axis_, x.shape[axis_], op, "shift")
    rounding = np.where(shifts > 0, np.left_shift(np.int64(1), np.maximum(shifts - 1, 0)), 0)
    y = np.right_shift(x.astype(np.int64) * multipliers + rounding, shifts)
    return _saturate(y + int(output_zero_point), dtype)


# ---------------------------------------------------------------------------------------
# Cast
# ---------------------------------------------------------------------------------------

_CAST_DTYPES = {"i8": np.int8, "ui8": np.uint8, "i32": np.int32, "f32": np.float32}


def cast(input: np.ndarray, *, to: str) -> np.ndarray:
    """ONNX Cast between int8, uint8, int32 and float32: numpy ``astype``, as
    onnx.reference's Cast (``saturate`` only concerns float8 and does not apply).

    Integer -> integer wraps (two's complement); float -> integer truncates toward zero.
    ONNX leaves float -> integer undefined for NaN, infinities and values outside the
    target range (numpy's answer is platform-dependent), so those raise instead of
    giving a silently different number on another machine.
    """
    op = "cast"
    x = np.asarray(input)
    if to not in _CAST_DTYPES:
        raise _fail(op, f"'to' = {to!r} is not one of {', '.join(_CAST_DTYPES)}")
    dtype = np.dtype(_CAST_DTYPES[to])
    if x.dtype not in [np.dtype(t) for t in _CAST_DTYPES.values()]:
        raise _fail(op, f"input must be int8, uint8, int32 or float32, got {x.dtype}")
    if x.dtype.kind == "f" and dtype.kind in "iu" and x.size:
        info = np.iinfo(dtype)
        bad = ~np.isfinite(x) | (np.trunc(x) < info.min) | (np.trunc(x) > info.max)
        if bad.any():
            value = x.reshape(-1)[int(np.flatnonzero(bad.reshape(-1))[0])]
            raise _fail(
                op,
                f"float value {value!r} has no {dtype} value (ONNX leaves out-of-range and NaN "
                f"float -> integer casts undefined); clip before casting",
            )
    return x.astype(dtype)
