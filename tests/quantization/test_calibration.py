"""Calibration helpers of graph-quantize: input files, observed ranges, parameters.

Expected values are worked out by hand or with numpy directly. Takes well under 1 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from xdsl.parser import Parser

from canopy_mlir.dialects import make_context
from canopy_mlir.quantization.calibration import (
    CalibrationError,
    InputSpec,
    RangeObserver,
    activation_params,
    input_specs,
    load_calibration,
    observe_values,
    quantize_weight,
    random_calibration,
    save_calibration,
    weight_params,
)

SPEC = InputSpec("x", (2, 3), np.dtype(np.float32))


def test_activation_params_by_hand() -> None:
    sym = activation_params(-2.54, 1.0, symmetric=True)
    assert sym.dtype == np.int8 and sym.zero_point == 0
    assert sym.scale == np.float32(0.02)  # 2.54 / 127
    asym = activation_params(-1.0, 4.1, symmetric=False)
    assert asym.dtype == np.uint8 and asym.scale == np.float32(0.02)  # 5.1 / 255
    assert asym.zero_point == 50  # real 0 is exactly 50 steps above -1.0
    positive = activation_params(0.5, 2.55, symmetric=False)  # range widened to include 0
    assert positive.zero_point == 0 and positive.scale == np.float32(0.01)
    flat = activation_params(0.0, 0.0, symmetric=True)
    assert flat.scale == 1.0  # a constant-zero tensor still gets a usable scale


def test_weight_params_and_quantization_per_channel() -> None:
    w = np.asarray([[1.27, -0.5], [0.1, -2.54]], np.float32)
    per_channel = weight_params(w, axis=0)
    np.testing.assert_allclose(per_channel.scale, [0.01, 0.02], rtol=1e-6)
    assert per_channel.zero_point.tolist() == [0, 0] and per_channel.dtype == np.int8
    assert quantize_weight(w, per_channel, 0).tolist() == [[127, -50], [5, -127]]
    along_columns = weight_params(w, axis=1)
    np.testing.assert_allclose(along_columns.scale, [0.01, 0.02], rtol=1e-6)
    assert quantize_weight(w, along_columns, 1).tolist() == [[127, -25], [10, -127]]
    per_tensor = weight_params(w, axis=None)
    assert per_tensor.scale.shape == () and quantize_weight(w, per_tensor, None).tolist() == [[64, -25], [5, -127]]


def test_minmax_and_percentile_ranges() -> None:
    rng = np.random.default_rng(0)
    data = [rng.normal(size=1000) for _ in range(3)]
    data[1][7] = 50.0  # one outlier
    minmax, percentile = RangeObserver("minmax"), RangeObserver("percentile", 99.0)
    for d in data:
        minmax.observe(d)
        percentile.observe(d)
    every = np.concatenate(data)
    assert minmax.range() == (every.min(), 50.0)
    lo, hi = percentile.range()
    np.testing.assert_allclose([lo, hi], np.percentile(every.astype(np.float32), [1.0, 99.0]), rtol=1e-6)
    assert hi < 3.0  # the outlier is clipped away


@pytest.mark.parametrize(
    "kwargs, message",
    [({"method": "kl"}, "method must be one of minmax, percentile, got 'kl'"),
     ({"method": "percentile", "percentile": 30.0}, r"percentile must lie in \(50, 100\], got 30.0")],
)
def test_observer_rejects_bad_options(kwargs: dict, message: str) -> None:
    with pytest.raises(CalibrationError, match=message):
        RangeObserver(**kwargs)


def test_observer_rejects_nan_and_empty() -> None:
    observer = RangeObserver()
    with pytest.raises(CalibrationError, match="no values were observed"):
        observer.range()
    with pytest.raises(CalibrationError, match="NaN or infinite"):
        observer.observe(np.asarray([1.0, np.nan]))


def test_npz_layouts(tmp_path: Path) -> None:
    """One sample of the input's shape, N stacked on a new axis, or a batch along axis 0
    cut into the input's batch size."""
    a = np.arange(24, dtype=np.float32).reshape(4, 2, 3)
    np.savez(tmp_path / "one.npz", x=a[0])
    np.savez(tmp_path / "stacked.npz", x=a)
    np.savez(tmp_path / "batch.npz", x=a.reshape(8, 3))
    assert [s["x"].tolist() for s in load_calibration(tmp_path / "one.npz", [SPEC])] == [a[0].tolist()]
    stacked = load_calibration(tmp_path / "stacked.npz", [SPEC])
    batch = load_calibration(tmp_path / "batch.npz", [SPEC])
    assert len(stacked) == len(batch) == 4
    for s, b, expected in zip(stacked, batch, a, strict=True):
        np.testing.assert_array_equal(s["x"], expected)
        np.testing.assert_array_equal(b["x"], expected)


def test_save_and_load_round_trip(tmp_path: Path) -> None:
    specs = [SPEC, InputSpec("mask", (3,), np.dtype(np.int32))]
    samples = random_calibration(specs, 5, seed=3)
    assert samples[0]["mask"].dtype == np.int32 and samples[0]["x"].dtype == np.float32
    save_calibration(tmp_path / "c.npz", samples)
    loaded = load_calibration(tmp_path / "c.npz", specs)
    assert len(loaded) == 5
    for a, b in zip(samples, loaded, strict=True):
        for name in ("x", "mask"):
            np.testing.assert_array_equal(a[name], b[name])
    again = random_calibration(specs, 5, seed=3)
    np.testing.assert_array_equal(again[4]["x"], samples[4]["x"])


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"x": np.zeros((3, 3), np.float32)}, r"array 'x' has shape \[3, 3\]; the input is \[2, 3\], so expected "
                                               r"\[2, 3\], \[N, 2, 3\] or \[k \* 2, 3\]"),
        ({"x": np.zeros((2, 3), np.int32)}, "array 'x' has dtype int32, but the input is float32"),
        ({"y": np.zeros((2, 3), np.float32)}, r"has no array named 'x' \(the function's inputs: x; the file has: y\)"),
    ],
)
def test_load_errors(arrays: dict, message: str, tmp_path: Path) -> None:
    np.savez(tmp_path / "c.npz", **arrays)
    with pytest.raises(CalibrationError, match=message):
        load_calibration(tmp_path / "c.npz", [SPEC])


def test_load_rejects_unequal_sample_counts_and_non_npz(tmp_path: Path) -> None:
    specs = [SPEC, InputSpec("y", (1,), np.dtype(np.float32))]
    np.savez(tmp_path / "c.npz", x=np.zeros((3, 2, 3), np.float32), y=np.zeros((2, 1), np.float32))
    with pytest.raises(CalibrationError, match="different numbers of samples"):
        load_calibration(tmp_path / "c.npz", specs)
    (tmp_path / "bad.npz").write_text("not a zip")
    with pytest.raises(CalibrationError, match="is not a readable .npz file"):
        load_calibration(tmp_path / "bad.npz", [SPEC])
    with pytest.raises(CalibrationError, match="positive sample count"):
        random_calibration([SPEC], 0)


def test_observe_values_returns_intermediates_without_touching_the_module() -> None:
    text = """
    func.func @main(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
      %r = graph.relu %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
      %s = graph.add %r, %x : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
      func.return %s : tensor<2x3xf32>
    }
    """
    module = Parser(make_context(), text).parse_module()
    before = str(module)
    function = next(op for op in module.walk() if op.name == "func.func")
    assert input_specs(function) == [InputSpec("arg0", (2, 3), np.dtype(np.float32))]
    relu = next(op for op in module.walk() if op.name == "graph.relu")
    x = np.asarray([[-1, 2, -3], [4, -5, 6]], np.float32)
    (values,) = observe_values(module, function, [relu.results[0], function.body.blocks[0].args[0]], [{"arg0": x}])
    np.testing.assert_array_equal(values[0], np.maximum(x, 0))
    np.testing.assert_array_equal(values[1], x)
    assert str(module) == before
