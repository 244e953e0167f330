"""Generated conv programs on the OpenCL core (PoCL): equal to the tile interpreter.

A handful of lowered convs (grouped, padded, strided, double-buffered, with tails)
run on the OpenCL card; skipped without an OpenCL device. About 3 s on PoCL.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from isa_codegen.test_lower_conv import (
    REQUANT,
    _conv,
    conv_cases,
    requant_tails,
    run_and_compare,
)

from canopy_mlir.hw import load_config
from canopy_mlir.isa_codegen import ConvSpec, unsupported
from canopy_mlir.runtime.card import OpenCLCard, opencl_devices

pytestmark = pytest.mark.skipif(not opencl_devices(), reason="no OpenCL device")
CONFIGS = ("tiny-b2", "intelfocl")


@pytest.fixture(scope="module")
def cards():
    cards = {name: OpenCLCard(load_config(name), pool_bytes=1 << 22) for name in CONFIGS}
    yield cards
    for card in cards.values():
        card.close()


def _fresh(card):
    for buffer in card.live_buffers:
        card.free(buffer)
    return card


@pytest.mark.parametrize("config_name", CONFIGS)
@settings(max_examples=6, deadline=None, database=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_random_convs_on_the_opencl_core(cards, config_name, data):
    module, conv, inputs, specs = data.draw(conv_cases(config_name, requant_tails()))
    config = load_config(config_name)
    assert unsupported(ConvSpec.from_op(conv, config), config) is None
    run_and_compare(_fresh(cards[config_name]), module, conv, inputs, specs)


def test_depthwise_double_buffered_conv_on_the_opencl_core(cards):
    module, conv, inputs, specs = _conv(
        "intelfocl", (1, 32, 10, 10), (32, 1, 3, 3), groups=32, pads=(1, 1, 1, 1),
        strides=(2, 2), tile=[3, 2, 2, 1], buffers=2, steps=REQUANT, specs=["chan"])
    run_and_compare(_fresh(cards["intelfocl"]), module, conv, inputs, specs)


def test_masked_ui8_conv_and_alu_tile_on_the_opencl_core(cards):
    from isa_codegen import test_lower_alu

    from canopy_mlir.dialects.tile import AluStep, i8

    steps = [AluStep("add", operand=0), AluStep("shr", imm=6), AluStep("add", imm=3),
             AluStep("max", imm=0), AluStep("min", imm=255)]
    module, conv, inputs, specs = _conv(
        "tiny-b2", (3, 6, 5, 5), (10, 6, 3, 3), pads=(1, 1, 1, 1), tile=[2, 5, 1, 1],
        buffers=2, steps=steps, specs=["act"], element="ui8")
    run = run_and_compare(_fresh(cards["tiny-b2"]), module, conv, inputs, specs)
    assert run.placement.mask is not None
    alu_steps = [AluStep("add", operand=1), AluStep("mul", operand=0), AluStep("shr", imm=9),
                 AluStep("max", imm=-100), AluStep("min", imm=100)]
    module, alu, inputs = test_lower_alu.alu_case("tiny-b2", (2, 16, 5, 7), "acc", [2, 3, 1], 2,
                                                  alu_steps, ["chan", "act"], i8, seed=3)
    test_lower_alu.run_and_compare(_fresh(cards["tiny-b2"]), module, alu, inputs, ["chan", "act"])


def test_padded_pools_on_the_opencl_core(cards):
    from isa_codegen import test_lower_pool

    from canopy_mlir.dialects.tile import AluStep, i8

    steps = [AluStep("add", imm=5), AluStep("max", imm=-128), AluStep("min", imm=127)]
    for kind in ("max", "sum"):
        module, pool, inputs = test_lower_pool.pool_case(
            "tiny-b2", (1, 6, 7, 6), "act", kind, [3, 2], [2, 1], [1, 1, 2, 1], [2, 3, 1], 2,
            steps, [], i8, seed=6)
        test_lower_pool.run_and_compare(_fresh(cards["tiny-b2"]), module, pool, inputs, [])
