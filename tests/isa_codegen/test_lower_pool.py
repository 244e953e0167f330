"""lower_pool: generated tile.pool programs (max/sum, pads, tails) equal the tile
interpreter bit for bit, tokens clean. About 5 s.
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
    AluStep,
    PackOp,
    PoolOp,
    blocked_type_for,
    conv_output_hw,
    i8,
    pool_footprint,
)
from canopy_mlir.hw import load_config
from canopy_mlir.isa_codegen import (
    DramPlacement,
    IsaCodegenError,
    PoolSpec,
    lower_pool,
    run_pool_on_card,
    unsupported_pool,
)
from canopy_mlir.isa_format import AluInsn, AluOpcode
from canopy_mlir.runtime.card import SimulatedCard

CONFIGS = ("tiny", "tiny-b2", "intelfocl")
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def pool_case(config_name, shape, input_kind, kind, kernel, strides, pads, tile, buffers,
              steps, specs, element, seed=0):
    rng = np.random.default_rng(seed)
    if input_kind == "act":
        x = rng.integers(-128, 127, shape, endpoint=True, dtype=np.int8)
    else:
        x = rng.integers(INT32_MIN, INT32_MAX, shape, endpoint=True, dtype=np.int32)
    out_h, out_w = conv_output_hw(shape[2:], kernel, strides, pads)
    out_shape = (shape[0], shape[1], out_h, out_w)
    operands = _operand_arrays(rng, specs, out_shape)
    in_type = TensorType(i8 if input_kind == "act" else i32, list(shape))
    holder = {}

    def build(args):
        pack = PackOp(args[0], blocked_type_for(input_kind, in_type, config_name, block="out"))
        tail_ops, values = _tail_operand_ops(args[1:], specs, config_name)
        holder["pool"] = PoolOp(pack.result, kind=kind, kernel=kernel, strides=strides, pads=pads,
                                tile=tile, buffers=buffers, tail=steps, tail_operands=values,
                                result_element=element)
        return [pack, *tail_ops, holder["pool"]]

    module = compute_module(build, [in_type, *(_arg_type(s, out_shape) for s in specs)], config_name)
    return module, holder["pool"], [x, *operands]


def run_and_compare(card, module, pool, inputs, specs):
    return run_acc_op_and_compare(card, module, pool, inputs, specs, run_pool_on_card)


@pytest.mark.parametrize("config_name", CONFIGS)
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_random_pools_match_the_interpreter(config_name, data):
    config = load_config(config_name)
    draw = data.draw
    steps, specs, element = draw(st.one_of(requant_tails(max_operands=1),
                                           tails(max_operands=1)))
    kind = draw(st.sampled_from(["max", "sum"]))
    input_kind = draw(st.sampled_from(["act", "acc"]))
    kernel = [draw(st.integers(1, 3)), draw(st.integers(1, 3))]
    strides = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    pads = [draw(st.integers(0, k)) for k in kernel * 2]
    shape = (draw(st.integers(1, 3)), draw(st.integers(1, 20)), draw(st.integers(1, 6)), draw(st.integers(1, 6)))
    out_h, out_w = conv_output_hw(shape[2:], kernel, strides, pads)
    assume(out_h >= 1 and out_w >= 1)
    tile = [draw(st.integers(1, out_h)), draw(st.integers(1, out_w)),
            draw(st.integers(1, -(-shape[1] // config.block_out)))]
    buffers = draw(st.integers(1, 2))
    full = sum(s != "chan" for s in specs)
    assume(_fits(pool_footprint(kernel, strides, tile, buffers, tail_steps=len(steps),
                                full_operands=full, channel_operands=len(specs) - full), config))
    module, pool, inputs = pool_case(config_name, shape, input_kind, kind, kernel, strides, pads,
                                     tile, buffers, steps, specs, element,
                                     seed=draw(st.integers(0, 2**32 - 1)))
    if unsupported_pool(PoolSpec.from_op(pool, config), config) is not None:
        with pytest.raises(IsaCodegenError, match="tile.pool: cannot lower"):
            lower_pool(pool, config, DramPlacement(0, 0, 0, 0, (0,) * len(specs), mask=0))
        return
    run_and_compare(SimulatedCard(config, 1 << 20), module, pool, inputs, specs)


def test_padded_max_pool_prefills_the_window_with_int32_min():
    # 3x3 stride-2 max pool with pads 1 (ResNet's stem pool) on an i8 input, tiny-b2.
    steps = [AluStep("max", imm=-128), AluStep("min", imm=127)]
    module, pool, inputs = pool_case("tiny-b2", (1, 8, 7, 7), "act", "max", [3, 3], [2, 2],
                                     [1, 1, 1, 1], [2, 2, 1], 2, steps, [], i8, seed=4)
    run = run_and_compare(SimulatedCard(load_config("tiny-b2"), 1 << 20), module, pool, inputs, [])
    shifts = [i for i in run.program.instructions
              if isinstance(i, AluInsn) and i.alu_opcode == AluOpcode.SHR and i.use_imm]
    assert shifts and all(i.imm == -31 for i in shifts)


def test_sum_pool_starts_from_its_first_full_operand():
    """A padded average pool with an input zero point (convert-graph-to-tile's map as the
    tail's first add): the output region is loaded with the map instead of reset, the
    taps add to it; exact."""
    from canopy_mlir.isa_format import LoadInsn, MemoryType

    steps = [AluStep("add", operand=0), AluStep("mul", imm=7), AluStep("shr", imm=6),
             AluStep("max", imm=-128), AluStep("min", imm=127)]
    config = load_config("tiny")
    module, pool, inputs = pool_case("tiny", (1, 8, 5, 6), "act", "sum", [3, 3], [2, 2],
                                     [1, 1, 1, 1], [3, 3, 1], 1, steps, ["acc"], i8, seed=5)
    run = run_and_compare(SimulatedCard(config, 1 << 20), module, pool, inputs, ["acc"])
    out_region = 3 * 3  # tile_h x tile_w x tile_c (1): a tile's output region (one slot)
    init = [i for i in run.program.instructions if isinstance(i, LoadInsn)
            and i.memory_type == MemoryType.ACC and i.sram_base < out_region]
    operand_slot = [i for i in run.program.instructions if isinstance(i, LoadInsn)
                    and i.memory_type == MemoryType.ACC and out_region <= i.sram_base < 2 * out_region]
    assert init and not operand_slot
