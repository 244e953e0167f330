"""The ``isa`` dialect: text and binary round trips, and verifier errors.

Expected values come from docs/isa.md and VTA's encoding worked out by hand (field
widths, buffer depths) or from brute-force Python loops over the loop nests, not from
the dialect's own code.
"""

from __future__ import annotations

import io
from dataclasses import fields, replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.parser import Parser
from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from canopy_mlir.dialects import make_context
from canopy_mlir.dialects import isa as isa_dialect
from canopy_mlir.dialects.isa import (
    AluOp,
    FinishOp,
    GemmOp,
    IsaBinaryError,
    LoadOp,
    ProgramOp,
    StoreOp,
    UopOp,
    config_attr,
    loop_index_maxima,
    op_from_instruction,
    program_from_binary,
    program_from_instructions,
    program_to_binary,
)
from canopy_mlir.hw import PRESETS, HardwareConfig
from canopy_mlir.isa_format import (
    AluInsn,
    AluOpcode,
    FinishInsn,
    GemmInsn,
    Instruction,
    LoadInsn,
    LoopInstruction,
    MemoryType,
    StoreInsn,
    Uop,
    encode_instructions,
    encode_uops,
    layouts_for,
)
from canopy_mlir.isa_programs import GemmAddresses, Requantize, gemm_program, gemm_uops, plan_gemm
from canopy_mlir.tools import opt
from isa_program_strategies import random_programs

INTELFOCL = PRESETS["intelfocl"]
TINY = PRESETS["tiny"]
CONFIGS = list(PRESETS.values())
INSN_CLASSES = [LoadInsn, StoreInsn, GemmInsn, AluInsn, FinishInsn]
OP_CLASSES = {LoadInsn: LoadOp, StoreInsn: StoreOp, GemmInsn: GemmOp, AluInsn: AluOp,
              FinishInsn: FinishOp}
FLAGS = ("pop_prev", "pop_next", "push_prev", "push_next")


# ------------------------------------------------------------------------ helpers
def print_op(op, generic: bool = False) -> str:
    stream = io.StringIO()
    Printer(stream=stream, print_generic_format=generic).print_op(op)
    return stream.getvalue()


def parse_program(text: str) -> ProgramOp:
    """Parse (without verifying) a module holding one program."""
    module = Parser(make_context(), text).parse_module()
    program = module.body.block.first_op
    assert isinstance(program, ProgramOp)
    return program


def verify_error(program: ProgramOp) -> str | None:
    try:
        program.verify()
    except VerifyException as err:
        return str(err)
    return None


# --------------------------------------------------------------------- strategies
@st.composite
def encodable_instructions(draw, config: HardwareConfig, kinds=tuple(INSN_CLASSES)):
    """Any instruction whose fields fit their bit fields (not necessarily well-formed)."""
    kind = draw(st.sampled_from(kinds))
    layout = layouts_for(config).for_opcode(kind.OPCODE)
    values = {}
    for f in fields(kind):
        if f.name == "memory_type":
            values[f.name] = draw(st.sampled_from(list(MemoryType)))
        elif f.name == "alu_opcode":
            values[f.name] = draw(st.sampled_from(list(AluOpcode)))
        elif f.name in (*FLAGS, "reset", "use_imm"):
            values[f.name] = draw(st.booleans())
        else:
            field = layout.field(f.name)
            values[f.name] = draw(st.integers(field.min_value, field.max_value))
    return kind(**values)


@st.composite
def encodable_uops(draw, config: HardwareConfig):
    layout = layouts_for(config).uop
    return Uop(**{name: draw(st.integers(0, layout.field(name).max_value))
                  for name in ("dst", "src", "wgt")})


@st.composite
def encodable_programs(draw):
    config = draw(st.sampled_from(CONFIGS))
    insns = draw(st.lists(encodable_instructions(config), max_size=12))
    uops = draw(st.none() | st.lists(encodable_uops(config), max_size=6))
    base = draw(st.integers(0, 1 << 20))
    return config, insns, uops, base


# ------------------------------------------------------------------ every field
@pytest.mark.parametrize("insn_class", INSN_CLASSES, ids=lambda c: c.__name__)
def test_every_dataclass_field_is_a_property(insn_class):
    op_class = OP_CLASSES[insn_class]
    properties = set(op_class.get_irdl_definition().properties)
    assert properties == {f.name for f in fields(insn_class)}


def test_micro_op_fields_are_properties():
    assert set(UopOp.get_irdl_definition().properties) == {"dst", "src", "wgt"}


@given(st.data())
def test_op_and_instruction_convert_both_ways(data):
    config = data.draw(st.sampled_from(CONFIGS))
    insn = data.draw(encodable_instructions(config))
    op = op_from_instruction(insn)
    assert type(op) is OP_CLASSES[type(insn)]
    assert op.to_instruction() == insn


# -------------------------------------------------------------- text round trips
@settings(max_examples=60)
@given(encodable_programs())
def test_text_round_trip_custom_and_generic(program_spec):
    config, insns, uops, base = program_spec
    program = program_from_instructions(config, insns, uops, base, "p")
    for generic in (False, True):
        text = print_op(program, generic)
        parsed = parse_program(text)
        assert parsed.instructions() == insns
        assert (parsed.uop_table() is None) == (uops is None)
        if uops is not None:
            assert parsed.uop_table().uops() == uops
            assert parsed.uop_table().base_address == base
        assert parsed.hardware_config() == config
        assert print_op(parsed, generic) == text


@settings(max_examples=60)
@given(encodable_programs())
def test_binary_matches_the_encoder_and_round_trips(program_spec):
    config, insns, uops, base = program_spec
    program = parse_program(print_op(program_from_instructions(config, insns, uops, base)))
    words, uop_words = program_to_binary(program)
    assert np.array_equal(words, encode_instructions(insns, config))
    assert np.array_equal(uop_words, encode_uops(uops or [], config))
    again = program_from_binary(config, words.astype("<u8").tobytes(),
                                uop_words.astype("<u4").tobytes(), base)
    assert again.instructions() == insns
    assert again.uop_table().uops() == (uops or [])


def test_custom_configs_print_inline_and_presets_by_name():
    custom = replace(PRESETS["tiny-b2"], name="mine", clock_mhz=123.25)
    assert config_attr(INTELFOCL).data == "intelfocl"
    program = program_from_instructions(custom, [FinishInsn()])
    text = print_op(program)
    assert 'config({TARGET = "mine", ' in text and "CLOCK_MHZ = 123.25" in text
    assert parse_program(text).hardware_config() == custom


# ------------------------------------------------------------------ field ranges
# Field widths of intelfocl worked out from VTA's layout: UOP depth 8192 (13 bits, and
# 14 for uop_end), INP and ACC depth 2048 (11), WGT depth 1024 (10); fixed widths for
# SRAM (16) / DRAM (32) addresses, sizes, strides (16), pads (4), loop extents (14) and
# the signed 16-bit immediate.
INTELFOCL_RANGES = {
    LoadInsn: {"sram_base": (0, 65535), "dram_base": (0, 2**32 - 1), "y_size": (0, 65535),
               "x_size": (0, 65535), "x_stride": (0, 65535), "y_pad0": (0, 15),
               "y_pad1": (0, 15), "x_pad0": (0, 15), "x_pad1": (0, 15)},
    GemmInsn: {"uop_bgn": (0, 8191), "uop_end": (0, 16383), "iter_out": (0, 16383),
               "iter_in": (0, 16383), "dst_factor_out": (0, 2047), "dst_factor_in": (0, 2047),
               "src_factor_out": (0, 2047), "src_factor_in": (0, 2047),
               "wgt_factor_out": (0, 1023), "wgt_factor_in": (0, 1023)},
    AluInsn: {"src_factor_out": (0, 2047), "src_factor_in": (0, 2047), "imm": (-32768, 32767)},
}
RANGE_CASES = [(cls, name, lo, hi) for cls, table in INTELFOCL_RANGES.items()
               for name, (lo, hi) in table.items()]


@pytest.mark.parametrize("insn_class,name,lo,hi", RANGE_CASES,
                         ids=[f"{c.__name__}.{n}" for c, n, _, _ in RANGE_CASES])
def test_out_of_range_field_names_field_and_range(insn_class, name, lo, hi):
    for bad in (lo - 1, hi + 1):
        insn = insn_class(**{name: bad})
        program = program_from_instructions(INTELFOCL, [insn, FinishInsn()], name="p")
        message = verify_error(program)
        assert message is not None
        assert f".{name} = {bad} does not fit" in message
        assert f"allowed range is [{lo}, {hi}]" in message
        assert message.startswith(f"instruction 0 ({_mnemonic(insn)}) of @p:")


def _mnemonic(insn: Instruction) -> str:
    if isinstance(insn, LoadInsn | StoreInsn):
        kind = "LOAD" if isinstance(insn, LoadInsn) else "STORE"
        return f"{kind} {insn.memory_type.name}"
    if isinstance(insn, AluInsn):
        return f"ALU {insn.alu_opcode.name}"
    return "GEMM"


@given(st.data())
def test_any_out_of_range_field_is_reported(data):
    config = data.draw(st.sampled_from(CONFIGS))
    insn = data.draw(encodable_instructions(config, kinds=(LoadInsn, GemmInsn, AluInsn)))
    layout = layouts_for(config).for_opcode(insn.OPCODE)
    numeric = [f for f in layout.fields if f.width > 1 and f.name not in
               ("opcode", "memory_type", "alu_opcode")]
    field = data.draw(st.sampled_from(numeric))
    bad = data.draw(st.sampled_from([field.min_value - 1, field.max_value + 1]))
    program = program_from_instructions(config, [replace(insn, **{field.name: bad}),
                                                 FinishInsn()])
    message = verify_error(program)
    assert message is not None
    assert f"{field.name} = {bad} does not fit its {field.width}-bit field" in message
    assert f"[{field.min_value}, {field.max_value}]" in message


def test_micro_op_out_of_range():
    # tiny: ACC depth 2^11 / 16 = 128 -> 7-bit dst.
    program = program_from_instructions(TINY, [FinishInsn()], [Uop(dst=128)], name="p")
    assert verify_error(program) == ("micro-op 0 of @p: uop.dst = 128 does not fit its "
                                     "7-bit field (word 0 bits [0:7)): allowed range is [0, 127]")


# ----------------------------------------------------------- program verification
def gemm_case(config: HardwareConfig):
    """The hand-written double-buffered GEMM (canopy_mlir.isa_programs) at ``config``."""
    plan = plan_gemm(config.batch * 6, config.block_out * 2, config.block_in * 3, config)
    at = GemmAddresses(inputs=100, weights=200, outputs=300, uops=40)
    insns = gemm_program(plan, at, Requantize(multiplier=3, shift=2))
    return insns, gemm_uops(plan), at.uops


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: c.name)
def test_hand_written_gemm_program_verifies(config):
    insns, uops, base = gemm_case(config)
    program = program_from_instructions(config, insns, uops, base)
    assert verify_error(program) is None
    # Moving the table makes every LOAD UOP read outside it.
    moved = program_from_instructions(config, insns, uops, base + 1, name="g")
    assert "outside the program's micro-op table at [41, " in verify_error(moved)


@settings(max_examples=40)
@given(st.data())
def test_random_valid_programs_verify(data):
    config = data.draw(st.sampled_from(CONFIGS))
    generated = data.draw(random_programs(config))
    base = generated.uop_offset // 4
    program = program_from_instructions(config, generated.instructions, generated.uops, base)
    assert verify_error(program) is None


def test_reading_micro_ops_no_load_filled_is_rejected():
    config = CONFIGS[0]
    insns = [GemmInsn(uop_bgn=0, uop_end=2), FinishInsn()]
    message = verify_error(program_from_instructions(config, insns, [Uop(), Uop()], 0))
    assert message is not None and "which no earlier LOAD UOP filled" in message


def _brute_force_max(insn: LoopInstruction, uops: list[Uop], role: str) -> int:
    f_out, f_in = getattr(insn, f"{role}_factor_out"), getattr(insn, f"{role}_factor_in")
    return max(getattr(uops[u], role) + o * f_out + i * f_in
               for o in range(insn.iter_out) for i in range(insn.iter_in)
               for u in range(insn.uop_bgn, insn.uop_end))


@st.composite
def bounded_loops(draw, config: HardwareConfig):
    """A LOAD UOP of a small table and one GEMM/ALU over it, with random factors."""
    count = draw(st.integers(1, 6))
    uops = draw(st.lists(st.builds(Uop, st.integers(0, config.acc_depth - 1),
                                   st.integers(0, min(config.inp_depth, config.acc_depth) - 1),
                                   st.integers(0, config.wgt_depth - 1)),
                         min_size=count, max_size=count))
    bgn = draw(st.integers(0, count - 1))
    loop = dict(uop_bgn=bgn, uop_end=draw(st.integers(bgn + 1, count)),
                iter_out=draw(st.integers(1, 5)), iter_in=draw(st.integers(1, 5)),
                reset=draw(st.booleans()))
    depths = {"dst": config.acc_depth, "src": min(config.inp_depth, config.acc_depth),
              "wgt": config.wgt_depth}
    for role, depth in depths.items():
        for level in ("out", "in"):
            # Zero factors often, so that each role overflows on its own sometimes.
            loop[f"{role}_factor_{level}"] = draw(st.just(0) | st.integers(0, depth // 4))
    if draw(st.booleans()):
        insn = GemmInsn(**loop)
    else:
        loop = {k: v for k, v in loop.items() if not k.startswith("wgt")}
        insn = AluInsn(alu_opcode=draw(st.sampled_from(list(AluOpcode))),
                       use_imm=draw(st.booleans()), **loop)
    load = LoadInsn(memory_type=MemoryType.UOP, dram_base=10, x_size=count, x_stride=count)
    return uops, [load, insn, FinishInsn()]


@settings(max_examples=150)
@given(st.data())
def test_loop_bounds_match_brute_force(data):
    config = data.draw(st.sampled_from(CONFIGS))
    uops, insns = data.draw(bounded_loops(config))
    loop = insns[1]
    # docs/isa.md: reset uses only dst; GEMM src indexes INP, ALU src ACC (unless imm).
    used = {"dst": config.acc_depth}
    if not loop.reset and isinstance(loop, GemmInsn):
        used |= {"src": config.inp_depth, "wgt": config.wgt_depth}
    elif not loop.reset and not loop.use_imm:
        used["src"] = config.acc_depth
    overflow = [role for role, depth in used.items() if _brute_force_max(loop, uops, role) >= depth]
    message = verify_error(program_from_instructions(config, insns, uops, 10))
    if overflow:
        assert message is not None and f"{overflow[0]} index reaches " in message
    else:
        assert message is None


@given(st.data())
def test_closed_form_maxima_equal_enumerated_ones(data):
    config = data.draw(st.sampled_from(CONFIGS))
    uops, insns = data.draw(bounded_loops(config))
    loop = insns[1]
    columns = [np.zeros(config.uop_depth, np.int64) for _ in range(3)]
    for k, uop in enumerate(uops):
        columns[0][k], columns[1][k], columns[2][k] = uop.dst, uop.src, uop.wgt
    enumerated = loop_index_maxima(loop, *columns)
    limit = isa_dialect._LOOP_INDEX_STEP_LIMIT
    try:
        isa_dialect._LOOP_INDEX_STEP_LIMIT = 0
        closed = loop_index_maxima(loop, *columns)
    finally:
        isa_dialect._LOOP_INDEX_STEP_LIMIT = limit
    for role, (value, *_) in enumerated.items():
        assert value == closed[role][0] == _brute_force_max(loop, uops, role)


def test_program_must_end_with_finish():
    program = program_from_instructions(INTELFOCL, [FinishInsn(), LoadInsn()], name="p")
    assert verify_error(program) == (
        "isa.program @p must end with isa.finish, but its last instruction (1) is LOAD INP")


def test_programs_without_a_table_skip_micro_op_checks():
    gemm = GemmInsn(uop_bgn=3, uop_end=9, iter_out=100, dst_factor_out=100)
    assert verify_error(program_from_instructions(INTELFOCL, [gemm, FinishInsn()])) is None
    with_table = program_from_instructions(INTELFOCL, [gemm, FinishInsn()], [], 0, "p")
    assert "reads UOP buffer entry 3" in verify_error(with_table)


# --------------------------------------------------------------- binary errors
def test_truncated_and_undecodable_buffers_name_index_and_offset():
    finish = encode_instructions([FinishInsn()], INTELFOCL).astype("<u8").tobytes()
    with pytest.raises(IsaBinaryError, match=r"instruction 2 at byte offset 32 has only 5 of its 16"):
        program_from_binary(INTELFOCL, finish * 2 + bytes(5))
    bad = bytearray(finish * 3)
    bad[16] = 6  # opcode 6
    with pytest.raises(IsaBinaryError, match=r"^instruction 1 at byte offset 16: opcode 6 is not"):
        program_from_binary(INTELFOCL, bytes(bad))
    with pytest.raises(IsaBinaryError, match=r"micro-op 2 at byte offset 8 has only 3 of its 4"):
        program_from_binary(INTELFOCL, finish, bytes(11))


# ---------------------------------------------------------------------- the CLI
def test_canopy_opt_reports_bad_input_in_one_line(tmp_path, capsys):
    source = tmp_path / "bad.mlir"
    source.write_text('isa.program @p config("intelfocl") {\n  isa.gemm uops [2, 2) iter 1x1\n'
                      "  isa.finish\n}\n")
    assert opt.main([str(source), "-o", str(tmp_path / "out.mlir")]) == 1
    err = capsys.readouterr().err
    assert err == "canopy-opt: error: instruction 0 (GEMM) of @p: empty micro-op range [2, 2)\n"
    assert not (tmp_path / "out.mlir").exists()


def test_canopy_opt_assembles_like_the_encoder(tmp_path):
    insns, uops, base = gemm_case(TINY)
    source = tmp_path / "gemm.mlir"
    source.write_text(print_op(program_from_instructions(TINY, insns, uops, base)))
    assert opt.main([str(source), "-t", "isa-bin", "-o", str(tmp_path / "gemm.bin")]) == 0
    assert (tmp_path / "gemm.bin").read_bytes() == \
        encode_instructions(insns, TINY).astype("<u8").tobytes()
    assert (tmp_path / "gemm.uops.bin").read_bytes() == \
        encode_uops(uops, TINY).astype("<u4").tobytes()
