"""Fixed-point requantization: a real scale as an integer multiplier and rounding shift.

A quantized conv/gemm accumulates ``acc`` in int32; its output in the next layer's int8
steps is ``acc * s`` with ``s = in_scale * w_scale / out_scale`` (per tensor or per
output channel). The core's ALU cannot multiply by a real number, only by an integer
immediate (signed 16-bit) or a vector loaded into ACC, then shift right, so we use::

    fixed(acc) = (acc * m + 2^(shift-1)) >> shift          (no rounding term if shift == 0)

which is ``round_half_up(acc * m / 2^shift)``. The ALU computes in 32 bits and wraps, so
``acc * m + 2^(shift-1)`` must stay inside int32 for every ``acc`` in the accumulator
range ``[acc_min, acc_max]`` (from ``K * 127 * 128``-style bounds or a measured range).

Choice (per channel): the largest ``shift`` in 0..31 whose ``m = round(s * 2^shift)``
fits the multiplier width and keeps ``A * m + 2^(shift-1) <= 2^31 - 1`` with ``A =
max(|acc_min|, |acc_max|)``; then common factors of two are cancelled (same results, less
headroom used). A power-of-two ``s = 2^-k`` gives ``m = 1, shift = k``: no approximation.

Error, in output steps: with ``delta = m / 2^shift - s``, ``|fixed(acc) - acc * s| <=
0.5 + A * |delta|`` (the 0.5 is the final rounding, which float requantization has too).
The integer result differs from float requantization's ``rint(acc * s)`` by at most one
step whenever ``A * |delta| < 1`` (each rounding moves at most 0.5); we require that, and
raise :class:`RequantizationError` otherwise. Since ``|delta| <= 2^-(shift+1)`` and the
overflow limit forces ``2^shift ~ 2^31 / (A * s)``, this fails only when ``A * (A * s)``
(accumulator magnitude times output range in steps) approaches ``2^32``, when ``s`` is
too large for the multiplier (``s > 2^(bits-1) - 1``), or when ``A`` alone overflows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1
MAX_SHIFT = 31
EXHAUSTIVE_LIMIT = 1 << 20
"""Accumulator ranges up to this many values are checked exhaustively, wider ones sampled."""


class RequantizationError(ValueError):
    """No multiplier/shift represents the scale within one step without overflowing."""


@dataclass(frozen=True)
class Requantization:
    """Multiplier and shift per channel (1-D int64 arrays, one element for per-tensor).

    ``max_abs_error_steps`` bounds ``|fixed(acc) - acc * s|`` over the accumulator range
    (analytic: 0.5 rounding plus the multiplier's approximation), maximum over channels.
    """

    multiplier: np.ndarray
    shift: np.ndarray
    max_abs_error_steps: float

    @property
    def exact(self) -> bool:
        """True when ``m / 2^shift == s`` exactly on every channel (power-of-two scales)."""
        return self.max_abs_error_steps == 0.5


@dataclass(frozen=True)
class RequantizationErrorReport:
    """Error of a fixed-point requantization against float requantization, in steps.

    ``analytic_bound``: bound on ``|fixed(acc) - acc * s|``; ``measured``: the largest
    ``|fixed(acc) - rint(acc * s)|`` found (integer steps); ``checked``: how many
    accumulator values were checked per channel; ``exhaustive``: all of them.
    """

    analytic_bound: float
    measured: int
    checked: int
    exhaustive: bool


def _as_channels(value: float | np.ndarray, channels: int, what: str) -> np.ndarray:
    array = np.asarray(value, dtype=np.float64).reshape(-1)
    if array.size == 1:
        return np.full(channels, array[0])
    if array.size != channels:
        raise RequantizationError(f"{what} has {array.size} values; expected 1 or {channels} (one per channel)")
    return array


def _check_inputs(scale: np.ndarray, acc_min: np.ndarray, acc_max: np.ndarray, bits: int, product_bits: int) -> None:
    if bits not in (16, 32):
        raise RequantizationError(f"multiplier_bits must be 16 (ALU immediate) or 32 (host), got {bits}")
    if product_bits not in (32, 64):
        raise RequantizationError(f"product_bits must be 32 (the core's ALU) or 64 (host), got {product_bits}")
    bad = np.flatnonzero(~np.isfinite(scale) | (scale <= 0))
    if bad.size:
        c = int(bad[0])
        raise RequantizationError(f"scale of channel {c} is {scale[c]}; requantization needs a finite positive scale")
    bad = np.flatnonzero(acc_min > acc_max)
    if bad.size:
        c = int(bad[0])
        raise RequantizationError(f"channel {c}: acc_min {int(acc_min[c])} > acc_max {int(acc_max[c])}")
    if acc_min.min() < INT32_MIN or acc_max.max() > INT32_MAX:
        raise RequantizationError(
            f"accumulator range [{int(acc_min.min())}, {int(acc_max.max())}] exceeds int32 already"
        )


def _normalise(multiplier: int, shift: int) -> tuple[int, int]:
    """Cancel common factors of two: ``(2m, s+1)`` and ``(m, s)`` give identical results."""
    while shift > 0 and multiplier != 0 and multiplier % 2 == 0:
        multiplier //= 2
        shift -= 1
    return multiplier, shift


def _accurate_magnitude(scale: float, magnitude: int, output_steps: float | None) -> int:
    """The |acc| up to which accuracy matters: beyond ``(output_steps + 1) / s`` both
    fixed and float results saturate (``m >= 0`` makes ``fixed`` monotone in ``acc``)."""
    if output_steps is None:
        return magnitude
    return min(magnitude, int(np.ceil((output_steps + 1.0) / scale)))


def _choose_channel(
    scale: float, magnitude: int, bits: int, product_limit: int, channel: int, output_steps: float | None
) -> tuple[int, int, float]:
    """(multiplier, shift, analytic error bound) for one channel, largest feasible shift."""
    accurate = _accurate_magnitude(scale, magnitude, output_steps)
    max_multiplier = (1 << (bits - 1)) - 1
    for shift in range(MAX_SHIFT, -1, -1):
        multiplier = int(np.rint(scale * 2.0**shift))
        if multiplier > max_multiplier:
            continue
        rounding = (1 << (shift - 1)) if shift else 0
        if magnitude * multiplier + rounding > product_limit:
            continue
        excess = accurate * abs(multiplier / 2.0**shift - scale)
        if excess >= 1.0:
            raise RequantizationError(
                f"channel {channel}: scale {scale!r} over accumulators up to |{accurate}| needs "
                f"{excess:.3f} steps of approximation at the largest safe shift {shift} "
                f"(multiplier {multiplier}, {bits}-bit, products within {product_limit.bit_length() + 1} bits); "
                "one int8 step needs A * |m / 2^shift - s| < 1, i.e. a narrower accumulator range "
                "or a smaller output range A * s"
            )
        multiplier, shift = _normalise(multiplier, shift)
        return multiplier, shift, 0.5 + excess
    raise RequantizationError(
        f"channel {channel}: scale {scale!r} does not fit a {bits}-bit multiplier with shift >= 0 "
        f"without overflowing (accumulators up to |{magnitude}|; largest multiplier {max_multiplier})"
    )


def choose_requantization(
    scale: float | np.ndarray,
    acc_min: int | np.ndarray,
    acc_max: int | np.ndarray,
    *,
    multiplier_bits: int = 16,
    product_bits: int = 32,
    output_steps: float | None = None,
) -> Requantization:
    """Multiplier and shift approximating ``acc * scale`` within one step, never overflowing.

    ``scale``: one positive real or one per channel; ``acc_min``/``acc_max``: the
    accumulator range (scalars or per channel, within int32). ``multiplier_bits`` 16 is
    the ALU's signed immediate, 32 a host-side int32 multiplier; ``product_bits`` 32 is
    the ALU's wrapping arithmetic (64 for a host computing in int64). ``output_steps``
    (e.g. 255, enough for any int8/uint8 zero point): accuracy is only required where
    ``|acc * s| <= output_steps + 1``, since beyond it both results saturate; overflow is
    still excluded over the whole range. The error bound then holds for that part.
    """
    scales = np.asarray(scale, dtype=np.float64).reshape(-1)
    channels = scales.size
    lows = _as_channels(acc_min, channels, "acc_min")
    highs = _as_channels(acc_max, channels, "acc_max")
    _check_inputs(scales, lows, highs, multiplier_bits, product_bits)
    product_limit = (1 << (product_bits - 1)) - 1
    chosen = [
        _choose_channel(float(s), int(max(abs(lo), abs(hi))), multiplier_bits, product_limit, c, output_steps)
        for c, (s, lo, hi) in enumerate(zip(scales, lows, highs, strict=True))
    ]
    return Requantization(
        multiplier=np.asarray([m for m, _, _ in chosen], dtype=np.int64),
        shift=np.asarray([s for _, s, _ in chosen], dtype=np.int64),
        max_abs_error_steps=max(e for _, _, e in chosen),
    )


def fixed_point_requantize(acc: np.ndarray, multiplier: int, shift: int) -> np.ndarray:
    """``(acc * m + 2^(shift-1)) >> shift`` in int64 (exact; no zero point, no clipping)."""
    wide = np.asarray(acc, dtype=np.int64) * np.int64(multiplier)
    if shift:
        wide = wide + np.int64(1 << (shift - 1))
    return wide >> np.int64(shift)


def _accumulators(lo: int, hi: int, samples: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    if hi - lo + 1 <= EXHAUSTIVE_LIMIT:
        return np.arange(lo, hi + 1, dtype=np.int64), True
    edges = np.asarray([lo, lo + 1, -1, 0, 1, hi - 1, hi], dtype=np.int64)
    drawn = rng.integers(lo, hi, size=samples, endpoint=True, dtype=np.int64)
    values = np.concatenate([edges[(edges >= lo) & (edges <= hi)], drawn])
    return values, False


def requantize_error(
    scale: float | np.ndarray,
    requantization: Requantization,
    acc_min: int | np.ndarray,
    acc_max: int | np.ndarray,
    *,
    samples: int = 1 << 16,
    seed: int = 0,
    output_steps: float | None = None,
) -> RequantizationErrorReport:
    """Worst error of ``requantization`` against float requantization over the range.

    Checks every accumulator value when the range has at most 2^20 values, else the
    range's ends, zero and ``samples`` random values (``seed``); returns the analytic bound
    alongside the measurement. With ``output_steps`` both results are clipped to
    ``[-output_steps, output_steps]`` first (what saturation does to them).
    """
    scales = np.asarray(scale, dtype=np.float64).reshape(-1)
    channels = requantization.multiplier.size
    scales = _as_channels(scales, channels, "scale")
    lows = _as_channels(acc_min, channels, "acc_min").astype(np.int64)
    highs = _as_channels(acc_max, channels, "acc_max").astype(np.int64)
    rng = np.random.default_rng(seed)
    measured, checked, exhaustive, bound = 0, 0, True, 0.0
    for c in range(channels):
        m, sh = int(requantization.multiplier[c]), int(requantization.shift[c])
        acc, complete = _accumulators(int(lows[c]), int(highs[c]), samples, rng)
        fixed = fixed_point_requantize(acc, m, sh)
        reference = np.rint(acc.astype(np.float64) * scales[c])
        if output_steps is not None:
            fixed = np.clip(fixed, -output_steps, output_steps)
            reference = np.clip(reference, -output_steps, output_steps)
        measured = max(measured, int(np.max(np.abs(fixed - reference))))
        checked, exhaustive = max(checked, acc.size), exhaustive and complete
        magnitude = _accurate_magnitude(scales[c], max(abs(int(lows[c])), abs(int(highs[c]))), output_steps)
        bound = max(bound, 0.5 + magnitude * abs(m / 2.0**sh - scales[c]))
    return RequantizationErrorReport(bound, measured, checked, exhaustive)


__all__ = [
    "Requantization",
    "RequantizationError",
    "RequantizationErrorReport",
    "choose_requantization",
    "fixed_point_requantize",
    "requantize_error",
]
