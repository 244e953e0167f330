"""Dropping tail clamps that cannot change a value (tail.without_noop_clamps).

Expected values: the step lists written out by hand, and a brute-force check that the
shortened tail computes the same int32 result as the full one (alu_semantics, the
simulator's arithmetic) on every value of the input range. Takes < 1 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from canopy_mlir.alu_semantics import alu_apply
from canopy_mlir.dialects.tile import AluStep
from canopy_mlir.isa_codegen.tail import without_noop_clamps


def _run(tail, values: np.ndarray) -> np.ndarray:
    acc = values.astype(np.int32)
    for step in tail:
        acc = alu_apply(step.opcode, acc, step.imm)
    return acc


def test_relu_of_an_i8_input_needs_no_upper_clamp() -> None:
    tail = (AluStep("max", imm=0), AluStep("min", imm=127))
    assert without_noop_clamps(tail, -128, 127) == (AluStep("max", imm=0),)


def test_clamping_an_i8_max_pool_to_i8_is_dropped_entirely() -> None:
    assert without_noop_clamps((AluStep("max", imm=-128), AluStep("min", imm=127)), -128, 127) == ()


def test_a_clamp_after_an_operand_step_is_kept() -> None:
    tail = (AluStep("add", operand=0), AluStep("max", imm=-128), AluStep("min", imm=127))
    assert without_noop_clamps(tail, -128, 127) == tail


def test_the_range_follows_immediate_arithmetic() -> None:
    # [-128, 127] * 4 + 8 >> 4: [-32, 32]; clamping to [-128, 127] is then the identity,
    # clamping to [0, 16] is not.
    base = (AluStep("mul", imm=4), AluStep("add", imm=8), AluStep("shr", imm=4))
    clamps = (AluStep("max", imm=-128), AluStep("min", imm=127))
    assert without_noop_clamps(base + clamps, -128, 127) == base
    tight = (AluStep("max", imm=0), AluStep("min", imm=16))
    assert without_noop_clamps(base + tight, -128, 127) == base + tight


_STEPS = st.one_of(
    st.builds(AluStep, st.sampled_from(["max", "min"]), imm=st.integers(-300, 300)),
    st.builds(AluStep, st.just("add"), imm=st.integers(-(2**15), 2**15 - 1)),
    st.builds(AluStep, st.just("mul"), imm=st.integers(-(2**15), 2**15 - 1)),
    st.builds(AluStep, st.just("shr"), imm=st.integers(-31, 31)),
)


@settings(max_examples=300, deadline=None)
@given(tail=st.lists(_STEPS, max_size=6), wide=st.booleans())
def test_the_shortened_tail_computes_the_same(tail, wide) -> None:
    lo, hi = (-128 * 9, 127 * 9) if wide else (-128, 127)
    values = np.arange(lo, hi + 1)
    short = without_noop_clamps(tuple(tail), lo, hi)
    assert len(short) <= len(tail)
    np.testing.assert_array_equal(_run(short, values), _run(tail, values))


@pytest.mark.parametrize("lo, hi", [(0, -1)])
def test_an_empty_range_keeps_everything(lo, hi) -> None:
    tail = (AluStep("max", imm=0),)
    assert without_noop_clamps(tail, lo, hi) == tail


def test_resnet_stem_pool_drops_its_clamps_and_prefills_only_the_padding() -> None:
    """3x3/2 max pool, pads 1, i8 input, 7x7 -> 4x4 in 2x2 tiles: every 5x5 window has one
    padding row and one padding column (9 elements), which alone get the pad value."""
    from test_lower_pool import pool_case
    from xdsl.dialects.builtin import i8

    from canopy_mlir.hw import load_config
    from canopy_mlir.isa_codegen import DramPlacement, PoolSpec, lower_pool
    from canopy_mlir.isa_format import AluInsn

    config = load_config("tiny-b2")
    steps = [AluStep("max", imm=-128), AluStep("min", imm=127)]
    _, pool, _ = pool_case("tiny-b2", (1, 8, 7, 7), "act", "max", [3, 3], [2, 2], [1, 1, 1, 1],
                           [2, 2, 1], 2, steps, [], i8, seed=4)
    spec = PoolSpec.from_op(pool, config)
    assert spec.tail == ()
    program = lower_pool(spec, config, DramPlacement(0, 0, 0, 0, mask=0))
    tiles = 4 * -(-8 // config.block_out)
    resets = sum(i.iter_out * i.iter_in * (i.uop_end - i.uop_bgn)
                 for i in program.instructions if isinstance(i, AluInsn) and i.reset)
    assert resets == tiles * (2 * 2 + 9)  # the output region, then the padding
