"""lower_alu: generated tile.alu programs equal the tile interpreter, tokens clean.

About 5 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from dialects.test_tile_compute_ops import (
    _arg_type,
    _fits,
    _operand_arrays,
    _tail_operand_ops,
    compute_module,
    tails,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from isa_codegen.test_lower_conv import requant_tails, run_acc_op_and_compare
from xdsl.dialects.builtin import TensorType, i32

from canopy_mlir.dialects.tile import (
    AluOp,
    AluStep,
    PackOp,
    alu_footprint,
    blocked_type_for,
    i8,
)
from canopy_mlir.hw import load_config
from canopy_mlir.isa_codegen import (
    AluSpec,
    DramPlacement,
    IsaCodegenError,
    lower_alu,
    run_alu_on_card,
    unsupported_alu,
)
from canopy_mlir.runtime.card import SimulatedCard

CONFIGS = ("tiny", "tiny-b2", "intelfocl")


def alu_case(config_name, shape, input_kind, tile, buffers, steps, specs, element, seed=0):
    rng = np.random.default_rng(seed)
    in_type = TensorType(i8 if input_kind == "act" else i32, list(shape))
    if input_kind == "act":
        x = rng.integers(-128, 127, shape, endpoint=True, dtype=np.int8)
    else:
        x = rng.integers(-(2**31), 2**31 - 1, shape, endpoint=True, dtype=np.int32)
    operands = _operand_arrays(rng, specs, shape)
    holder = {}

    def build(args):
        pack = PackOp(args[0], blocked_type_for(input_kind, in_type, config_name, block="out"))
        tail_ops, values = _tail_operand_ops(args[1:], specs, config_name)
        holder["alu"] = AluOp(pack.result, tile=tile, buffers=buffers, tail=steps,
                              tail_operands=values, result_element=element)
        return [pack, *tail_ops, holder["alu"]]

    module = compute_module(build, [in_type, *(_arg_type(s, shape) for s in specs)], config_name)
    return module, holder["alu"], [x, *operands]


def run_and_compare(card, module, alu, inputs, specs):
    return run_acc_op_and_compare(card, module, alu, inputs, specs, run_alu_on_card)


@pytest.mark.parametrize("config_name", CONFIGS)
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_random_alu_tiles_match_the_interpreter(config_name, data):
    config = load_config(config_name)
    draw = data.draw
    steps, specs, element = draw(st.one_of(requant_tails(), tails()))
    assume(steps)
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 20)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    blocks = -(-shape[1] // config.block_out)
    tile = [draw(st.integers(1, shape[2])), draw(st.integers(1, shape[3])), draw(st.integers(1, blocks))]
    buffers = draw(st.integers(1, 2))
    full = sum(s != "chan" for s in specs)
    assume(_fits(alu_footprint(tile, buffers, tail_steps=len(steps), full_operands=full,
                               channel_operands=len(specs) - full), config))
    input_kind = draw(st.sampled_from(["acc", "act"]))
    module, alu, inputs = alu_case(config_name, shape, input_kind, tile, buffers, steps, specs,
                                   element, seed=draw(st.integers(0, 2**32 - 1)))
    card = SimulatedCard(config, 1 << 20)
    if unsupported_alu(AluSpec.from_op(alu, config), config) is not None:
        with pytest.raises(IsaCodegenError, match="tile.alu: cannot lower"):
            lower_alu(alu, config, DramPlacement(0, 0, 0, 0, (0,) * len(specs)))
        return
    run_and_compare(card, module, alu, inputs, specs)


def test_residual_add_requantize_on_tiny_b2():
    steps = [AluStep("add", operand=1), AluStep("mul", operand=0), AluStep("shr", imm=9),
             AluStep("max", imm=-100), AluStep("min", imm=100)]
    module, alu, inputs = alu_case("tiny-b2", (2, 16, 5, 7), "acc", [2, 3, 1], 2, steps,
                                   ["chan", "act"], i8, seed=3)
    run = run_and_compare(SimulatedCard(load_config("tiny-b2"), 1 << 20), module, alu, inputs,
                          ["chan", "act"])
    kinds = run.program.summary.by_kind
    assert "GEMM" not in kinds and "LOAD INP" not in kinds and kinds["LOAD ACC"] > 0
