"""Fixed-point requantization: overflow safety, one-step accuracy, exact powers of two."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from canopy_mlir.interpreters import graph_reference
from canopy_mlir.quantization import (
    RequantizationError,
    choose_requantization,
    fixed_point_requantize,
    requantize_error,
)

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1


def _worst_products(acc_min: int, acc_max: int, m: int, shift: int) -> tuple[int, int]:
    """Extremes of acc * m + rounding over the range, in Python ints (no wrap)."""
    rounding = (1 << (shift - 1)) if shift else 0
    ends = [acc_min * m + rounding, acc_max * m + rounding]
    return min(ends), max(ends)


scales = st.floats(min_value=1e-6, max_value=4.0, allow_nan=False, allow_infinity=False)
# Accumulator bounds as a conv with K terms of int8 x int8 gives: |acc| <= K * 128 * 128.
terms = st.integers(min_value=1, max_value=4096)


@settings(max_examples=200, deadline=None)
@given(scale=scales, k=terms, low_fraction=st.floats(0, 1), bits=st.sampled_from([16, 32]))
def test_never_overflows_int32_and_within_one_step(scale: float, k: int, low_fraction: float, bits: int) -> None:
    acc_max = k * 128 * 128
    acc_min = -int(acc_max * low_fraction)
    try:
        rq = choose_requantization(scale, acc_min, acc_max, multiplier_bits=bits)
    except RequantizationError:
        # Allowed only where the analysis says one step is out of reach: the overflow limit
        # gives |delta| < A * s / 2^31 (so A * (A * s) near 2^31), or the multiplier width
        # gives |delta| <= s / 2^(bits-1) (so A * s near 2^(bits-1)).
        assert acc_max * acc_max * scale > 2**30 or acc_max * scale > 2 ** (bits - 2)
        return
    m, shift = int(rq.multiplier[0]), int(rq.shift[0])
    assert abs(m) <= 2 ** (bits - 1) - 1 and 0 <= shift <= 31
    low, high = _worst_products(acc_min, acc_max, m, shift)
    assert INT32_MIN <= low and high <= INT32_MAX
    report = requantize_error(scale, rq, acc_min, acc_max, samples=4096)
    assert report.measured <= 1
    assert report.analytic_bound < 1.5
    assert report.analytic_bound == pytest.approx(rq.max_abs_error_steps)


@settings(max_examples=100, deadline=None)
@given(
    channel_scales=st.lists(scales, min_size=1, max_size=6),
    k=st.integers(min_value=1, max_value=600),
    data=st.data(),
)
def test_per_channel_matches_graph_reference(channel_scales: list[float], k: int, data: st.DataObject) -> None:
    bound = k * 127 * 128
    try:
        rq = choose_requantization(np.asarray(channel_scales), -bound, bound, output_steps=255)
    except RequantizationError:
        # Legitimate: a large scale over a wide range leaves too few fraction bits below
        # the int32 overflow limit (test_error_message_when_one_step_is_unreachable covers the message).
        assume(False)
    report = requantize_error(np.asarray(channel_scales), rq, -bound, bound, samples=2048, output_steps=255)
    assert report.measured <= 1 and report.analytic_bound < 1.5
    acc = data.draw(
        st.lists(st.integers(-bound, bound), min_size=len(channel_scales) * 3, max_size=len(channel_scales) * 3)
    )
    acc = np.asarray(acc, dtype=np.int32).reshape(3, len(channel_scales))
    ours = np.stack(
        [fixed_point_requantize(acc[:, c], int(rq.multiplier[c]), int(rq.shift[c])) for c in range(acc.shape[1])],
        axis=1,
    )
    theirs = graph_reference.requantize(
        acc, multiplier=rq.multiplier.tolist(), shift=rq.shift.tolist(), axis=1, out_dtype=np.int32
    )
    np.testing.assert_array_equal(ours, theirs)
    floats = np.rint(acc.astype(np.float64) * np.asarray(channel_scales))
    assert np.max(np.abs(np.clip(ours, -255, 255) - np.clip(floats, -255, 255))) <= 1


@pytest.mark.parametrize("k", [-12, -7, 0, 3])
def test_power_of_two_is_exact(k: int) -> None:
    scale = 2.0**k
    rq = choose_requantization(scale, -30000, 30000)
    assert rq.exact
    assert int(rq.multiplier[0]) * 2.0 ** -int(rq.shift[0]) == scale
    acc = np.arange(-30000, 30001, dtype=np.int64)
    expected = np.floor(acc * scale + 0.5)  # round half up, the shift's rounding
    np.testing.assert_array_equal(fixed_point_requantize(acc, int(rq.multiplier[0]), int(rq.shift[0])), expected)


def test_power_of_two_uses_smallest_form() -> None:
    rq = choose_requantization(2.0**-5, -1000, 1000)
    assert (int(rq.multiplier[0]), int(rq.shift[0])) == (1, 5)


def test_known_value() -> None:
    # s = 0.3, |acc| <= 2^15: 16-bit multiplier bounds m <= 32767 -> shift 16 gives m = 19661.
    rq = choose_requantization(0.3, -(2**15), 2**15)
    assert (int(rq.multiplier[0]), int(rq.shift[0])) == (19661, 16)


def test_overflow_limits_shift() -> None:
    # A = 2^20 with a 16-bit multiplier: A * m + rounding < 2^31 forces m < 2^11.
    rq = choose_requantization(0.9, -(2**20), 2**20, output_steps=255)
    assert int(rq.multiplier[0]) * 2**20 + (1 << int(rq.shift[0]) - 1) <= INT32_MAX
    wide = choose_requantization(0.9, -(2**20), 2**20, multiplier_bits=32, product_bits=64, output_steps=255)
    assert int(wide.shift[0]) > int(rq.shift[0])


def test_error_message_when_one_step_is_unreachable() -> None:
    # A = 2^30 and A * s = 2^29 output steps: no shift keeps both headroom and accuracy.
    with pytest.raises(RequantizationError, match=r"channel 0: .* A \* \|m / 2\^shift - s\| < 1"):
        choose_requantization(0.5 + 1e-7, -(2**30), 2**30)


def test_scale_too_large_for_16_bits() -> None:
    with pytest.raises(RequantizationError, match="does not fit a 16-bit multiplier"):
        choose_requantization(40000.0, -1, 1)


@pytest.mark.parametrize("bad", [0.0, -1.0, float("nan"), float("inf")])
def test_rejects_non_positive_scale(bad: float) -> None:
    with pytest.raises(RequantizationError, match="finite positive scale"):
        choose_requantization(bad, -1, 1)


def test_rejects_mismatched_channels_and_ranges() -> None:
    with pytest.raises(RequantizationError, match="expected 1 or 3"):
        choose_requantization(np.ones(3), np.zeros(2), 5)
    with pytest.raises(RequantizationError, match="acc_min 5 > acc_max 1"):
        choose_requantization(1.0, 5, 1)
    with pytest.raises(RequantizationError, match="exceeds int32"):
        choose_requantization(1.0, 0, 2**31)


def test_sampled_check_for_wide_ranges() -> None:
    rq = choose_requantization(1e-4, -(2**24), 2**24, output_steps=255)
    report = requantize_error(1e-4, rq, -(2**24), 2**24, samples=1000, output_steps=255)
    assert not report.exhaustive and report.checked == 1007 and report.measured <= 1
