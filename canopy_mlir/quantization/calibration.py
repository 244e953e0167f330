"""Calibration for post-training quantization: inputs, observed ranges, and int8 parameters.

``graph-quantize`` runs the float graph on calibration inputs and needs, for every tensor
it quantizes, a real range ``[lo, hi]`` and from it a scale and zero point:

- inputs come from an ``.npz`` (:func:`load_calibration`: arrays named by the function's
  input names) or are drawn at random for smoke tests (:func:`random_calibration`);
- :func:`observe_values` runs a ``graph`` function through the reference interpreter and
  returns the values of chosen SSA values per sample (the function is cloned and made to
  return them, so the module itself is not touched);
- :class:`RangeObserver` turns the observed values into a range, ``minmax`` (the extremes)
  or ``percentile`` (clips outliers: the ``p``-th and ``(100 - p)``-th percentiles);
- :func:`activation_params` / :func:`weight_params` give onnxruntime-style parameters:
  symmetric int8 (zero point 0, ``scale = max|x| / 127``, the card's natural form) or
  asymmetric uint8 (the range widened to include 0, so real 0 is exactly representable).

Every user error (a missing array, a wrong shape or dtype, an unknown method) raises
:class:`CalibrationError` naming the file, the input and what was expected.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from xdsl.dialects import func
from xdsl.dialects.builtin import FunctionType, ModuleOp, TensorType
from xdsl.ir import BlockArgument, SSAValue

METHODS = ("minmax", "percentile")
MAX_KEPT_VALUES = 1 << 20
"""Per tensor, the percentile method keeps at most this many values (a random subset)."""


class CalibrationError(ValueError):
    """Calibration inputs or options that cannot be used; the message says which and why."""


@dataclass(frozen=True)
class InputSpec:
    """One function input: its name (ONNX name or ``arg<i>``), shape and numpy dtype."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype


Sample = dict[str, np.ndarray]
"""One set of function inputs, by input name."""


# ------------------------------------------------------------------------ inputs
def _samples_of(array: np.ndarray, spec: InputSpec, source: str) -> list[np.ndarray]:
    """``array`` as samples of ``spec``: exactly its shape (one sample), ``[N, *shape]``
    (N samples), or ``[M, *shape[1:]]`` with M a multiple of the batch ``shape[0]``
    (a batch along axis 0, cut into samples of the input's batch size)."""
    shape = spec.shape
    if array.dtype != spec.dtype:
        raise CalibrationError(
            f"{source}: array '{spec.name}' has dtype {array.dtype}, but the input is {spec.dtype}"
        )
    if array.shape == shape:
        return [array]
    if array.ndim == len(shape) + 1 and array.shape[1:] == shape and array.shape[0] > 0:
        return list(array)
    if shape and array.ndim == len(shape) and array.shape[1:] == shape[1:] and shape[0] > 0:
        count, rest = divmod(array.shape[0], shape[0])
        if count > 0 and rest == 0:
            return [array[i * shape[0] : (i + 1) * shape[0]] for i in range(count)]
    expected = f"{list(shape)}, [N, {', '.join(map(str, shape))}]"
    if shape:
        expected += f" or [k * {shape[0]}, {', '.join(map(str, shape[1:]))}]"
    raise CalibrationError(
        f"{source}: array '{spec.name}' has shape {list(array.shape)}; the input is {list(shape)}, "
        f"so expected {expected}"
    )


def load_calibration(path: str | Path, specs: Sequence[InputSpec]) -> list[Sample]:
    """The samples in the ``.npz`` at ``path``: one array per input, named like it."""
    path = Path(path)
    source = str(path)
    if not path.is_file():
        raise CalibrationError(f"calibration file {source} does not exist")
    try:
        archive = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as error:
        raise CalibrationError(f"{source} is not a readable .npz file: {error}") from None
    with archive:
        if not hasattr(archive, "files"):
            raise CalibrationError(f"{source} holds a single array, not an .npz archive of named inputs")
        names = [spec.name for spec in specs]
        missing = [name for name in names if name not in archive.files]
        if missing:
            raise CalibrationError(
                f"{source} has no array named '{missing[0]}' (the function's inputs: {', '.join(names)}; "
                f"the file has: {', '.join(archive.files) or 'nothing'})"
            )
        per_input = {spec.name: _samples_of(archive[spec.name], spec, source) for spec in specs}
    counts = {name: len(samples) for name, samples in per_input.items()}
    if len(set(counts.values())) > 1:
        raise CalibrationError(f"{source}: the inputs hold different numbers of samples: {counts}")
    count = next(iter(counts.values()), 0)
    return [{name: samples[i] for name, samples in per_input.items()} for i in range(count)]


def save_calibration(path: str | Path, samples: Sequence[Sample]) -> None:
    """Write ``samples`` as an ``.npz`` that :func:`load_calibration` reads back
    (each input stacked along a new axis 0)."""
    if not samples:
        raise CalibrationError("no samples to save")
    names = list(samples[0])
    np.savez(Path(path), **{name: np.stack([s[name] for s in samples]) for name in names})


def random_calibration(specs: Sequence[InputSpec], count: int, seed: int = 0) -> list[Sample]:
    """``count`` samples of standard-normal floats (integers: uniform over the type)."""
    if count <= 0:
        raise CalibrationError(f"calibration-random must be a positive sample count, got {count}")
    rng = np.random.default_rng(seed)
    samples = []
    for _ in range(count):
        sample = {}
        for spec in specs:
            if spec.dtype.kind == "f":
                sample[spec.name] = rng.standard_normal(spec.shape).astype(spec.dtype)
            elif spec.dtype.kind in "iu":
                info = np.iinfo(spec.dtype)
                sample[spec.name] = rng.integers(info.min, info.max, spec.shape, endpoint=True).astype(spec.dtype)
            else:
                raise CalibrationError(f"input '{spec.name}' has dtype {spec.dtype}; cannot draw random values")
        samples.append(sample)
    return samples


# ----------------------------------------------------------------- observing values
def observe_values(
    module: ModuleOp, function: func.FuncOp, values: Sequence[SSAValue], samples: Sequence[Sample]
) -> list[list[np.ndarray]]:
    """For each sample, the arrays ``values`` (SSA values of ``function``) take.

    The module is cloned and the clone's function returns ``values`` too; the original
    is not modified.
    """
    from canopy_mlir.interpreters.graph_interpreter import run_graph

    clone = module.clone()
    originals = [op for op in module.walk()]
    copies = [op for op in clone.walk()]
    index = {id(op): i for i, op in enumerate(originals)}
    target = copies[index[id(function)]]
    assert isinstance(target, func.FuncOp)
    mapped: list[SSAValue] = []
    for value in values:
        if isinstance(value, BlockArgument):
            mapped.append(target.body.blocks[0].args[value.index])
        else:
            mapped.append(copies[index[id(value.owner)]].results[value.index])  # type: ignore[attr-defined]
    ret = target.body.blocks[0].last_op
    assert isinstance(ret, func.ReturnOp)
    outputs = list(ret.arguments)
    new_ret = func.ReturnOp(*outputs, *mapped)
    target.body.blocks[0].insert_op_before(new_ret, ret)
    target.body.blocks[0].erase_op(ret)
    target.properties["function_type"] = FunctionType.from_lists(
        list(target.function_type.inputs), [v.type for v in (*outputs, *mapped)]
    )
    name = target.sym_name.data
    results = []
    for sample in samples:
        arrays = run_graph(clone, sample, function=name)
        results.append(arrays[len(outputs) :])
    return results


# ------------------------------------------------------------------------ ranges
@dataclass
class RangeObserver:
    """Accumulates a tensor's values over samples; ``range()`` gives ``[lo, hi]``."""

    method: str = "minmax"
    percentile: float = 99.99
    seed: int = 0
    _lo: float = np.inf
    _hi: float = -np.inf
    _kept: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise CalibrationError(f"method must be one of {', '.join(METHODS)}, got '{self.method}'")
        if not 50.0 < self.percentile <= 100.0:
            raise CalibrationError(f"percentile must lie in (50, 100], got {self.percentile}")

    def observe(self, array: np.ndarray) -> None:
        values = np.asarray(array, dtype=np.float64).reshape(-1)
        if values.size == 0:
            return
        if not np.isfinite(values).all():
            raise CalibrationError("a calibration run produced NaN or infinite values")
        self._lo, self._hi = min(self._lo, float(values.min())), max(self._hi, float(values.max()))
        if self.method == "percentile":
            self._kept.append(values.astype(np.float32))

    def range(self) -> tuple[float, float]:
        if self._lo > self._hi:
            raise CalibrationError("no values were observed")
        if self.method == "minmax":
            return self._lo, self._hi
        values = np.concatenate(self._kept)
        if values.size > MAX_KEPT_VALUES:
            values = np.random.default_rng(self.seed).choice(values, MAX_KEPT_VALUES, replace=False)
        return float(np.percentile(values, 100.0 - self.percentile)), float(np.percentile(values, self.percentile))


# -------------------------------------------------------------- quantization params
@dataclass(frozen=True)
class QuantParams:
    """float32 scale(s) and zero point(s) in the quantized dtype (arrays, 0-d or 1-d)."""

    scale: np.ndarray
    zero_point: np.ndarray

    @property
    def dtype(self) -> np.dtype:
        return self.zero_point.dtype


def _positive(scale: np.ndarray) -> np.ndarray:
    """A zero range (a constant tensor) still needs a positive scale: use 1."""
    return np.where(scale > 0, scale, 1.0).astype(np.float32)


def activation_params(lo: float, hi: float, symmetric: bool) -> QuantParams:
    """Symmetric: int8, zero point 0, ``max(|lo|, |hi|) / 127``. Asymmetric: uint8 over
    ``[min(lo, 0), max(hi, 0)]`` with the zero point rounded to an integer."""
    if symmetric:
        scale = _positive(np.asarray(max(abs(lo), abs(hi)) / 127.0))
        return QuantParams(scale.reshape(()), np.zeros((), np.int8))
    lo, hi = min(lo, 0.0), max(hi, 0.0)
    scale = _positive(np.asarray((hi - lo) / 255.0))
    zero_point = np.clip(np.rint(-lo / float(scale)), 0, 255).astype(np.uint8)
    return QuantParams(scale.reshape(()), zero_point.reshape(()))


def weight_params(weight: np.ndarray, axis: int | None) -> QuantParams:
    """Symmetric int8 per tensor (``axis`` None) or per channel along ``axis``."""
    w = np.asarray(weight, dtype=np.float64)
    if axis is None:
        scale = _positive(np.asarray(np.abs(w).max() / 127.0 if w.size else 0.0)).reshape(())
        return QuantParams(scale, np.zeros((), np.int8))
    moved = np.moveaxis(w, axis, 0).reshape(w.shape[axis], -1)
    scale = _positive(np.abs(moved).max(axis=1) / 127.0)
    return QuantParams(scale, np.zeros(scale.shape, np.int8))


def quantize_weight(weight: np.ndarray, params: QuantParams, axis: int | None) -> np.ndarray:
    """``weight`` in int8 with ``params`` (round half to even, saturating, as QuantizeLinear)."""
    scale = params.scale.astype(np.float32)
    if axis is not None:
        shape = [1] * weight.ndim
        shape[axis] = -1
        scale = scale.reshape(shape)
    return np.clip(np.rint(weight.astype(np.float32) / scale), -128, 127).astype(np.int8)


def input_specs(function: func.FuncOp) -> list[InputSpec]:
    """The function's inputs, named as the interpreter names them."""
    from canopy_mlir.interpreters.graph_interpreter import argument_names, element_dtype

    specs = []
    for name, type_ in zip(argument_names(function), function.function_type.inputs, strict=True):
        if not isinstance(type_, TensorType):
            raise CalibrationError(f"input '{name}' of @{function.sym_name.data} is {type_}, not a tensor")
        specs.append(InputSpec(name, tuple(type_.get_shape()), element_dtype(type_.element_type)))
    return specs


__all__ = [
    "METHODS",
    "CalibrationError",
    "InputSpec",
    "QuantParams",
    "RangeObserver",
    "Sample",
    "activation_params",
    "input_specs",
    "load_calibration",
    "observe_values",
    "quantize_weight",
    "random_calibration",
    "save_calibration",
    "weight_params",
]
