"""convert-tile-to-dma over the property-test corpus: random int8 card programs, executed
before and after.

Each program of ``tests/tile_program_strategies.py`` (convs with random channels, kernels,
strides, pads, dilation and groups, matmuls, residual adds, pools, requantize / relu /
clip tails) goes through graph-partition, convert-graph-to-tile and convert-tile-to-dma,
then runs on the simulated card through the dma executor. The outputs must equal the
graph interpreter's on the program before lowering, bit for bit, and every program the
compiler emitted must pass the token checker (no deadlock, no hazard, no warning) as the
card holds it (read back from the pool after loading). Ops the instruction generator
refuses stay on the host with a reason, so a refusal never fails a case; a case where
nothing reached the card is still checked but then rejected (``assume``), so the example
counts are of programs with launches, and hypothesis's filter health check fails the test
if most programs never reach the card. About 20 s (360 programs).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from tile_program_strategies import (
    CardProgram,
    card_programs,
    lower_to_tile,
    run_token_checked,
)
from xdsl.dialects.builtin import ModuleOp

from canopy_mlir.dialects import dma, make_context
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.transforms.convert_tile_to_dma import ConvertTileToDma

_SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _lower_to_dma(program: CardProgram, config: str) -> ModuleOp:
    module = lower_to_tile(program.module.clone(), config)
    ConvertTileToDma(config=config).apply(make_context(), module)
    module.verify()
    return module


def _check(program: CardProgram, config: str) -> None:
    inputs = list(program.inputs.values())
    expected = run_graph(program.module, inputs)
    lowered = _lower_to_dma(program, config)
    launches = [op for op in lowered.walk() if isinstance(op, dma.LaunchOp)]
    actual = run_token_checked(lowered, config, inputs)
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.dtype == e.dtype and a.shape == e.shape
        np.testing.assert_array_equal(a, e)
    assume(launches)


@pytest.mark.parametrize("config", ["tiny", "tiny-b2"])
@settings(max_examples=150, **_SETTINGS)
@given(program=card_programs())
def test_random_programs_run_bit_exactly_and_token_clean(config: str, program: CardProgram) -> None:
    _check(program, config)


@settings(max_examples=60, **_SETTINGS)
@given(program=card_programs(max_layers=2))
def test_random_programs_intelfocl(program: CardProgram) -> None:
    _check(program, "intelfocl")

