"""lower_conv: generated programs equal the tile interpreter bit for bit, with clean tokens.

Expected values come from the tile interpreter (``run_tile``), an independent numpy
implementation of the op (einsum per tile); the programs run on the reference simulator
(or the OpenCL core on PoCL) from DRAM images built with ``pack_array``. Every program
is also checked by the token checker (no deadlock, no hazard, no leftover token).
Takes about 20 s (the ResNet layer under 1 s of it).
"""

from __future__ import annotations

import numpy as np
import pytest
from dialects.test_tile_compute_ops import (
    _arg_type,
    _fits,
    _most_input_blocks,
    _operand_arrays,
    _tail_operand_ops,
    compute_module,
    tails,
)
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import TensorType, i32

from canopy_mlir.dialects.tile import (
    AccType,
    AluStep,
    ConvOp,
    PackOp,
    blocked_type_for,
    conv_footprint,
    conv_output_hw,
    grouped_reduction,
    i8,
    ui8,
)
from canopy_mlir.hw import load_config
from canopy_mlir.interpreters.tile_interpreter import pack_array, run_tile
from canopy_mlir.isa_codegen import (
    ConvSpec,
    DramPlacement,
    IsaCodegenError,
    channel_vector_layout,
    lower_conv,
    needs_padding_mask,
    padding_mask_image,
    run_conv_on_card,
    unsupported,
)
from canopy_mlir.isa_format import (
    AluInsn,
    AluOpcode,
    GemmInsn,
    LoadInsn,
    MemoryType,
    Module,
    StoreInsn,
)
from canopy_mlir.runtime.card import SimulatedCard
from canopy_mlir.runtime.timing import estimate_cycles
from canopy_mlir.runtime.token_checker import ProgramView, check_tokens

CONFIGS = ("tiny", "tiny-b2", "intelfocl")
POOL_BYTES = 1 << 23


# --------------------------------------------------------------------------- strategies
@st.composite
def requant_tails(draw, max_operands=2):
    """Requantize-like tails (keep zero padding at zero): operands, mul, shr, clamp."""
    specs = draw(st.lists(st.sampled_from(["chan", "act", "acc"]), max_size=max_operands))
    steps = [AluStep(draw(st.sampled_from(["add", "mul", "max", "min"])), operand=j)
             for j in range(len(specs)) if draw(st.booleans())]
    steps.append(AluStep("mul", imm=draw(st.integers(-(2**15), 2**15 - 1))))
    steps.append(AluStep("shr", imm=draw(st.integers(0, 31))))
    element = draw(st.sampled_from([i8, ui8]))
    low, high = (-128, 127) if element == i8 else (0, 255)
    steps += [AluStep("max", imm=draw(st.integers(low, 0))), AluStep("min", imm=draw(st.integers(0, high)))]
    return steps, specs, element


@st.composite
def conv_cases(draw, config_name, tail_strategy=None):
    """A random tile.conv that fits ``config_name``, its inputs and its module."""
    config = load_config(config_name)
    if tail_strategy is None:  # tails() draws i32 results too: stored as byte planes
        tail_strategy = st.one_of(requant_tails(), tails())
    steps, specs, element = draw(tail_strategy)
    depthwise = draw(st.booleans())
    if depthwise:
        groups, per_in, per_out = draw(st.integers(1, 12)), 1, 1
    else:
        groups, per_in, per_out = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 6))
    n, c, o = draw(st.integers(1, 3)), per_in * groups, per_out * groups
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    strides = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    dilations = [draw(st.integers(1, 2)), draw(st.integers(1, 2))]
    pads = draw(st.lists(st.integers(0, 3), min_size=4, max_size=4))
    h, w = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    out_h, out_w = conv_output_hw((h, w), (kh, kw), strides, pads, dilations)
    assume(out_h >= 1 and out_w >= 1)
    reduction, starts = grouped_reduction(o, c, groups, config.block_out, config.block_in)
    tile = [draw(st.integers(1, out_h)), draw(st.integers(1, out_w)),
            draw(st.integers(1, -(-o // config.block_out))), draw(st.integers(1, reduction))]
    buffers = draw(st.integers(1, 2))
    full = sum(s != "chan" for s in specs)
    needs = conv_footprint((kh, kw), strides, tile, buffers, dilations=dilations,
                           tail_steps=len(steps), full_operands=full,
                           channel_operands=len(specs) - full,
                           inp_blocks=_most_input_blocks(starts, reduction, tile[2], tile[3]))
    assume(_fits(needs, config))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    x = rng.integers(-128, 127, (n, c, h, w), endpoint=True, dtype=np.int8)
    wt = rng.integers(-128, 127, (o, per_in, kh, kw), endpoint=True, dtype=np.int8)
    out_shape = (n, o, out_h, out_w)
    operands = _operand_arrays(rng, specs, out_shape)
    x_type, w_type = TensorType(i8, list(x.shape)), TensorType(i8, list(wt.shape))
    holder = {}

    def build(args):
        px = PackOp(args[0], blocked_type_for("act", x_type, config_name))
        pw = PackOp(args[1], blocked_type_for("wgt", w_type, config_name, groups=groups))
        tail_ops, values = _tail_operand_ops(args[2:], specs, config_name)
        holder["conv"] = ConvOp(px.result, pw.result, strides=strides, pads=pads,
                                dilations=dilations, groups=groups, tile=tile, buffers=buffers,
                                tail=steps, tail_operands=values, result_element=element)
        return [px, pw, *tail_ops, holder["conv"]]

    arg_types = [x_type, w_type, *(_arg_type(s, out_shape) for s in specs)]
    module = compute_module(build, arg_types, config_name)
    return module, holder["conv"], [x, wt, *operands], specs


# --------------------------------------------------------------------------- harness
def dram_images(conv: ConvOp, inputs, specs, config):
    """The blocked DRAM images of the conv's operands (pack_array; per-channel vectors
    through channel_vector_layout)."""
    x, wt, *operands = inputs
    tails = []
    for spec, array, value in zip(specs, operands, conv.tail_values(), strict=True):
        if spec == "chan":
            tails.append(channel_vector_layout(array, x.shape[0], config))
        else:
            tails.append(pack_array(array, value.type))
    return pack_array(x, conv.input.type), pack_array(wt, conv.weight.type), tails


def run_and_compare(card, module, conv: ConvOp, inputs, specs):
    """Run the lowered conv on ``card``; assert bit-exact and token-clean; return the run."""
    config = card.config
    (expected,) = run_tile(module, inputs)
    x_image, w_image, tail_images = dram_images(conv, inputs, specs, config)
    run = run_conv_on_card(card, conv, x_image, w_image, tail_images)
    np.testing.assert_array_equal(run.result, pack_array(expected, conv.result.type))
    assert_tokens_clean(card, run)
    return run


def assert_tokens_clean(card, run) -> None:
    """The token checker finds no error, hazard, warning or note in ``run``'s program
    (read back from the simulated pool, or as generated for another card)."""
    config = card.config
    if isinstance(card, SimulatedCard):
        view = ProgramView.from_pool(config, card.pool, run.insn_offset, len(run.program.instructions))
    else:
        view = ProgramView(config, run.program.instructions, run.program.uop_map())
    report = check_tokens(view)
    assert report.ok and not report.warnings and not report.notes, str(report)


def run_acc_op_and_compare(card, module, op, inputs, specs, run_on_card):
    """``run_and_compare`` for an op whose input is read into ACC (tile.alu, tile.pool):
    ``run_on_card(card, op, input_image, tail_images)`` runs it."""
    (expected,) = run_tile(module, inputs)
    x, *operands = inputs
    images = [channel_vector_layout(a, x.shape[0], card.config) if s == "chan"
              else pack_array(a, v.type) for s, a, v in zip(specs, operands, op.tail_values())]
    run = run_on_card(card, op, pack_array(x, op.input.type), images)
    np.testing.assert_array_equal(run.result, pack_array(expected, op.result.type))
    assert_tokens_clean(card, run)
    return run


@pytest.fixture(scope="module")
def sim_cards():
    return {name: SimulatedCard(load_config(name), POOL_BYTES) for name in CONFIGS}


def _fresh(card):
    for buffer in card.live_buffers:
        card.free(buffer)
    return card


# --------------------------------------------------------------------------- properties
@pytest.mark.parametrize("config_name", CONFIGS)
@settings(max_examples=120, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data())
def test_random_convs_match_the_interpreter(sim_cards, config_name, data):
    module, conv, inputs, specs = data.draw(conv_cases(config_name))
    config = load_config(config_name)
    problem = unsupported(ConvSpec.from_op(conv, config), config)
    card = _fresh(sim_cards[config_name])
    if problem is not None:
        x_image, w_image, tail_images = dram_images(conv, inputs, specs, config)
        with pytest.raises(IsaCodegenError, match="tile.conv: cannot lower"):
            run_conv_on_card(card, conv, x_image, w_image, tail_images)
        return
    run_and_compare(card, module, conv, inputs, specs)


def test_property_mostly_lowers():
    """Guard against a vacuous property: most drawn convs are lowered, not refused."""
    verdicts = []

    @settings(max_examples=60, database=None, deadline=None,
              suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
    @given(data=st.data())
    def draw(data):
        _, conv, _, _ = data.draw(conv_cases("tiny-b2"))
        config = load_config("tiny-b2")
        verdicts.append(unsupported(ConvSpec.from_op(conv, config), config) is None)

    draw()
    assert sum(verdicts) >= 0.9 * len(verdicts)


# --------------------------------------------------------------------------- specific
def _conv(config_name, shape_x, shape_w, *, groups=1, pads=(0, 0, 0, 0), strides=(1, 1),
          dilations=(1, 1), tile, buffers=1, steps=(), specs=(), element="i8", seed=0):
    """Module, conv, inputs for a given conv (tail operands of kinds ``specs``)."""
    rng = np.random.default_rng(seed)
    x = rng.integers(-128, 127, shape_x, endpoint=True, dtype=np.int8)
    wt = rng.integers(-128, 127, shape_w, endpoint=True, dtype=np.int8)
    x_type, w_type = TensorType(i8, list(shape_x)), TensorType(i8, list(shape_w))
    out_h, out_w = conv_output_hw(shape_x[2:], shape_w[2:], strides, pads, dilations)
    out_shape = (shape_x[0], shape_w[0], out_h, out_w)
    operands = _operand_arrays(rng, specs, out_shape)
    holder = {}

    def build(args):
        px = PackOp(args[0], blocked_type_for("act", x_type, config_name))
        pw = PackOp(args[1], blocked_type_for("wgt", w_type, config_name, groups=groups))
        tail_ops, values = _tail_operand_ops(args[2:], specs, config_name)
        holder["conv"] = ConvOp(px.result, pw.result, strides=strides, pads=pads,
                                dilations=dilations, groups=groups, tile=tile, buffers=buffers,
                                tail=list(steps), tail_operands=values, result_element=element)
        return [px, pw, *tail_ops, holder["conv"]]

    module = compute_module(build, [x_type, w_type, *(_arg_type(s, out_shape) for s in specs)],
                            config_name)
    return module, holder["conv"], [x, wt, *operands], list(specs)


REQUANT = [AluStep("add", operand=0), AluStep("mul", imm=19), AluStep("shr", imm=11),
           AluStep("max", imm=-128), AluStep("min", imm=127)]


def test_resnet18_3x3_layer_on_intelfocl_is_exact_and_reports_utilisation(capsys):
    config = load_config("intelfocl")
    module, conv, inputs, specs = _conv(
        "intelfocl", (1, 64, 56, 56), (64, 64, 3, 3), pads=(1, 1, 1, 1), tile=[7, 14, 4, 4],
        buffers=2, steps=REQUANT, specs=["chan"])
    card = SimulatedCard(config, 1 << 24)
    run = run_and_compare(card, module, conv, inputs, specs)
    summary = run.program.summary
    # 32 tiles, 4 oc blocks x 4 ic blocks x 9 taps = 144 GEMM micro-ops per kernel, two
    # buffer slots, one ALU kernel per slot (dst-only; the bias add is not an ALU step:
    # each tile's accumulator starts from the bias, one broadcasting LOAD ACC per oc block,
    # instead of a reset).
    assert summary.gemm_steps * config.macs_per_gemm_uop == conv.card_macs() == 115_605_504
    assert summary.uop_resident and summary.uops == 2 * (144 + 4)
    assert summary.by_kind["LOAD ACC"] == 32 * 4
    assert summary.by_kind["GEMM"] == 32  # no reset GEMMs
    assert summary.alu_steps == 4 * 56 * 56 * 4  # mul, shr, max, min per output element
    timing = estimate_cycles(ProgramView(config, run.program.instructions, run.program.uop_map()))
    with capsys.disabled():
        print(f"\nResNet-18 3x3 64->64 56x56 on intelfocl, tile [7,14,4,4], buffers 2: "
              f"{summary}\n{timing}")
    assert timing.gemm_utilization > 0.78  # 76.1% with a reset and an ALU add


def test_double_buffering_overlaps_loads_with_compute():
    """Same conv, buffers 1 vs 2: identical results; with two slots the cycles the
    compute module waits for loads and stores (total - compute busy) shrink by > 4x."""
    exposed = {}
    for buffers in (1, 2):
        module, conv, inputs, specs = _conv(
            "tiny", (1, 8, 12, 12), (8, 8, 3, 3), pads=(1, 1, 1, 1), tile=[3, 4, 1, 2],
            buffers=buffers, steps=REQUANT, specs=["chan"])
        run = run_and_compare(SimulatedCard(load_config("tiny"), POOL_BYTES), module, conv, inputs, specs)
        view = ProgramView(load_config("tiny"), run.program.instructions, run.program.uop_map())
        timing = estimate_cycles(view)
        exposed[buffers] = timing.total_cycles - timing.busy_cycles[Module.COMPUTE]
    assert exposed[2] * 4 < exposed[1], exposed


def test_padding_comes_from_inp_load_pads_and_edge_tiles_are_partial():
    module, conv, inputs, specs = _conv(
        "tiny-b2", (3, 6, 7, 5), (10, 6, 3, 3), pads=(2, 1, 0, 3), strides=(2, 1),
        tile=[2, 4, 1, 1], buffers=2, steps=[AluStep("max", imm=-128), AluStep("min", imm=127)])
    run = run_and_compare(SimulatedCard(load_config("tiny-b2"), POOL_BYTES), module, conv, inputs, specs)
    loads = [i for i in run.program.instructions if isinstance(i, LoadInsn) and i.memory_type == MemoryType.INP]
    assert any(i.y_pad0 or i.x_pad0 for i in loads) and any(i.x_pad1 for i in loads)
    gemms = [i for i in run.program.instructions if isinstance(i, GemmInsn) and not i.reset]
    assert {i.iter_in for i in gemms} == {4, 3}  # out_w = 7 = 4 + 3: a partial edge tile


def test_uop_table_is_paged_when_it_does_not_fit():
    # tiny with a 32-entry UOP buffer: kernels of 18 GEMM micro-ops (1 oc x 2 ic blocks x
    # 3x3) in two slots and two tile widths do not fit together, so they are paged in.
    config = load_config("tiny").with_changes(log_uop_buff_size=7)
    assert config.uop_depth == 32
    module, conv, inputs, specs = _conv(
        "tiny", (1, 8, 7, 7), (8, 8, 3, 3), pads=(1, 1, 1, 1), tile=[3, 3, 1, 2], buffers=2,
        steps=REQUANT, specs=["chan"])
    run = run_and_compare(SimulatedCard(config, POOL_BYTES), module, conv, inputs, specs)
    assert not run.program.summary.uop_resident
    assert len(run.program.uops) > config.uop_depth
    uop_loads = [i for i in run.program.instructions
                 if isinstance(i, LoadInsn) and i.memory_type == MemoryType.UOP and i.x_size]
    assert len(uop_loads) > 2


def test_tile_entirely_in_padding_skips_its_gemm():
    # pads 3 with a 1x1 kernel: the outer ring of outputs reads only padding.
    module, conv, inputs, specs = _conv(
        "tiny", (1, 4, 2, 2), (4, 4, 1, 1), pads=(3, 3, 3, 3), tile=[1, 1, 1, 1], buffers=2,
        steps=[AluStep("add", operand=0), AluStep("max", imm=-128), AluStep("min", imm=127)],
        specs=["chan"])
    run = run_and_compare(SimulatedCard(load_config("tiny"), POOL_BYTES), module, conv, inputs, specs)
    gemms = [i for i in run.program.instructions if isinstance(i, GemmInsn) and not i.reset]
    assert len(gemms) == 4  # 8x8 outputs, only the 2x2 centre touches the image


def test_what_cannot_be_lowered_is_refused_with_the_reason():
    config = load_config("tiny")
    placement = DramPlacement(0, 0, 0, 0)
    # 5 output channels: the padding channels 5..7 of tiny-b2's block of 8 would hold 3,
    # so the program needs a padding mask, and the placement must say where it is.
    _, conv, _, _ = _conv("tiny-b2", (1, 4, 4, 4), (5, 4, 1, 1), tile=[2, 2, 1, 1],
                          steps=[AluStep("add", imm=3), AluStep("max", imm=-128), AluStep("min", imm=127)])
    with pytest.raises(IsaCodegenError, match=r"zero padding non-zero \(\[3\]\).*no `mask` address"):
        lower_conv(conv, load_config("tiny-b2"), placement)
    spec = ConvSpec.from_op(conv, load_config("tiny-b2"))
    with pytest.raises(IsaCodegenError, match="pads"):
        lower_conv(spec.__class__(**{**spec.__dict__, "pads": (16, 0, 16, 0), "tail": ()}),
                   load_config("tiny-b2"), placement)
    with pytest.raises(IsaCodegenError, match="tail addresses"):
        _, conv, _, _ = _conv("tiny", (1, 4, 4, 4), (4, 4, 1, 1), tile=[2, 2, 1, 1],
                              steps=REQUANT, specs=["chan"])
        lower_conv(conv, config, placement)


def test_a_tail_that_makes_padding_nonzero_is_masked():
    # tiny-b2: 3 images (batch row 3 is padding), 10 channels (6..15 padding); "add 3"
    # and a ui8 zero point make every padding element non-zero before the mask.
    steps = [AluStep("add", operand=0), AluStep("shr", imm=6), AluStep("add", imm=3),
             AluStep("max", imm=0), AluStep("min", imm=255)]
    module, conv, inputs, specs = _conv(
        "tiny-b2", (3, 6, 5, 5), (10, 6, 3, 3), pads=(1, 1, 1, 1), tile=[2, 5, 1, 1],
        buffers=2, steps=steps, specs=["act"], element="ui8")
    config = load_config("tiny-b2")
    assert needs_padding_mask(conv.tail_steps(), (3, 10), config)
    run = run_and_compare(SimulatedCard(config, POOL_BYTES), module, conv, inputs, specs)
    assert run.placement.mask is not None and run.program.summary.by_kind["ALU MUL"] > 0
    np.testing.assert_array_equal(
        padding_mask_image((3, 10), config)[:, :, 0, 0].reshape(2, 2, -1).any(axis=2),
        [[True, True], [True, True]])


def test_channel_vector_layout_is_the_blocked_acc_of_the_broadcast_vector():
    config = load_config("tiny-b2")
    vector = np.arange(1, 11, dtype=np.int32)
    image = channel_vector_layout(vector, 3, config)
    type_ = AccType.for_tensor((3, 10, 1, 1), i32, (config.batch, config.block_out))
    broadcast = np.broadcast_to(vector.reshape(1, 10, 1, 1), (3, 10, 1, 1)).copy()
    np.testing.assert_array_equal(image, pack_array(broadcast, type_))
    assert image[1, 0, 0, 0, 1].tolist() == [0] * 8  # batch row 3 is padding


# ------------------------------------------------------------------ accumulator from the bias
def _bias_broadcasts(program) -> list[LoadInsn]:
    return [i for i in program.instructions if isinstance(i, LoadInsn)
            and i.memory_type == MemoryType.ACC and i.x_size == 1 and i.x_stride == 0]


def _resets(program) -> list[GemmInsn]:
    return [i for i in program.instructions if isinstance(i, GemmInsn) and i.reset]


def test_accumulator_starts_from_the_bias_vector_instead_of_a_reset():
    """A tail starting with ``add`` by a per-channel vector: each tile's accumulator is
    loaded with the vector (one broadcasting LOAD ACC per oc block) and the GEMMs add to
    it; the vector is still loaded as an operand when a later step uses it too."""
    steps = [AluStep("add", operand=0), AluStep("add", operand=0), AluStep("shr", imm=2),
             AluStep("max", imm=-128), AluStep("min", imm=127)]
    module, conv, inputs, specs = _conv("tiny", (1, 6, 6, 6), (6, 6, 3, 3), pads=(1, 1, 1, 1),
                                        tile=[3, 4, 1, 1], buffers=2, steps=steps, specs=["chan"])
    run = run_and_compare(SimulatedCard(load_config("tiny"), POOL_BYTES), module, conv, inputs, specs)
    tiles = 2 * 2 * 2  # oc tiles (6 channels: 2 blocks of 4) x row tiles x column tiles (6 = 4 + 2)
    assert len(_bias_broadcasts(run.program)) == tiles and not _resets(run.program)
    assert sum(1 for i in run.program.instructions if isinstance(i, LoadInsn)
               and i.memory_type == MemoryType.ACC and i.x_stride == 1) == tiles  # the reused operand
    assert run.program.summary.alu_steps == (len(steps) - 1) * 6 * 6 * 2  # 2 oc blocks


def test_reset_is_kept_where_the_bias_load_costs_more():
    """With one-pixel tiles on intelfocl (64-cycle DRAM latency) a reset and an ALU add
    are cheaper than a LOAD ACC: the program keeps them."""
    module, conv, inputs, specs = _conv("intelfocl", (1, 16, 2, 2), (16, 16, 1, 1), tile=[1, 1, 1, 1],
                                        buffers=2, steps=REQUANT, specs=["chan"])
    run = run_and_compare(SimulatedCard(load_config("intelfocl"), POOL_BYTES), module, conv, inputs, specs)
    assert not _bias_broadcasts(run.program) and len(_resets(run.program)) == 4


@pytest.mark.parametrize("config_name", ["tiny", "tiny-b2"])
def test_an_i32_result_is_stored_as_byte_planes(config_name):
    # ConvInteger's shape: no tail, an i32 result: the accumulator leaves as four byte
    # planes (STORE, then shr 8 + STORE three times), single-buffered so the shifts and
    # stores hand the slot back and forth through the tokens; values far outside int8.
    module, conv, inputs, specs = _conv(
        config_name, (2, 6, 5, 5), (10, 6, 3, 3), pads=(1, 1, 1, 1), tile=[2, 3, 1, 1],
        buffers=2, steps=[], specs=[], element=None)
    config = load_config(config_name)
    run = run_and_compare(SimulatedCard(config, POOL_BYTES), module, conv, inputs, specs)
    shifts = [i for i in run.program.instructions if isinstance(i, AluInsn)]
    stores = [i for i in run.program.instructions if isinstance(i, StoreInsn)]
    # per tile: "shr 0" (writes OUT: a tile wholly in the padding has only a reset), then
    # three "shr 8"; four plane STOREs per tile's channel block.
    assert shifts and all(i.alu_opcode == AluOpcode.SHR for i in shifts)
    assert [i.imm for i in shifts[:4]] == [0, 8, 8, 8]
    assert len(stores) == len(shifts)
    assert np.abs(run.result).max() > 1 << 16  # not just the int8 range
