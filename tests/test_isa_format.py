"""The binary encoding: bit positions of the intelfocl table, round trips, range errors."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from canopy_mlir.hw import PRESETS
from canopy_mlir.isa_format import (
    AluInsn,
    AluOpcode,
    EncodingError,
    FinishInsn,
    GemmInsn,
    LoadInsn,
    MemoryType,
    StoreInsn,
    Uop,
    decode_instructions,
    decode_uops,
    encode_instructions,
    encode_uops,
    instructions_to_bytes,
    layouts_for,
)
from canopy_mlir.isa_semantics import join_byte_planes

INTELFOCL = PRESETS["intelfocl"]


def bits(word: int, lo: int, hi: int) -> int:
    return (word >> lo) & ((1 << (hi - lo)) - 1)


def test_load_fields_sit_where_the_vta_table_says():
    insn = LoadInsn(memory_type=MemoryType.INP, sram_base=0x1234, dram_base=0xDEADBEEF,
                    y_size=7, x_size=300, x_stride=301, y_pad0=1, y_pad1=2, x_pad0=3,
                    x_pad1=15, pop_next=True, push_next=True)
    w0, w1 = (int(w) for w in encode_instructions([insn], INTELFOCL)[0])
    assert bits(w0, 0, 3) == 0 and bits(w0, 3, 7) == 0b1010
    assert bits(w0, 7, 10) == 2 and bits(w0, 10, 26) == 0x1234
    assert bits(w0, 26, 58) == 0xDEADBEEF and bits(w0, 58, 64) == 0
    assert [bits(w1, lo, hi) for lo, hi in
            [(0, 16), (16, 32), (32, 48), (48, 52), (52, 56), (56, 60), (60, 64)]] == \
        [7, 300, 301, 1, 2, 3, 15]


def test_gemm_fields_sit_where_the_vta_table_says():
    insn = GemmInsn(reset=True, uop_bgn=8191, uop_end=8192, iter_out=16383, iter_in=5,
                    dst_factor_out=2047, dst_factor_in=3, src_factor_out=1000,
                    src_factor_in=2, wgt_factor_out=1023, wgt_factor_in=513, push_prev=True)
    w0, w1 = (int(w) for w in encode_instructions([insn], INTELFOCL)[0])
    assert bits(w0, 0, 3) == 2 and bits(w0, 5, 6) == 1 and bits(w0, 7, 8) == 1
    assert (bits(w0, 8, 21), bits(w0, 21, 35), bits(w0, 35, 49), bits(w0, 49, 63)) == \
        (8191, 8192, 16383, 5)
    assert [bits(w1, lo, hi) for lo, hi in
            [(0, 11), (11, 22), (22, 33), (33, 44), (44, 54), (54, 64)]] == \
        [2047, 3, 1000, 2, 1023, 513]


def test_alu_fields_and_negative_immediate():
    insn = AluInsn(uop_bgn=1, uop_end=2, iter_out=3, iter_in=4, dst_factor_out=5,
                   dst_factor_in=6, src_factor_out=7, src_factor_in=2047,
                   alu_opcode=AluOpcode.SHR, use_imm=True, imm=-2)
    w0, w1 = (int(w) for w in encode_instructions([insn], INTELFOCL)[0])
    assert bits(w0, 0, 3) == 4
    assert [bits(w1, lo, hi) for lo, hi in
            [(0, 11), (11, 22), (22, 33), (33, 44), (44, 47), (47, 48)]] == \
        [5, 6, 7, 2047, 3, 1]
    assert bits(w1, 48, 64) == 0xFFFE


def test_uop_fields():
    word = int(encode_uops([Uop(dst=2047, src=1, wgt=1023)], INTELFOCL)[0])
    assert (bits(word, 0, 11), bits(word, 11, 22), bits(word, 22, 32)) == (2047, 1, 1023)


def test_bytes_are_two_little_endian_words():
    raw = instructions_to_bytes([FinishInsn(pop_next=True)], INTELFOCL)
    assert raw == bytes([3 | 1 << 4]) + bytes(15)


@pytest.mark.parametrize(("insn", "field", "limit"), [
    (GemmInsn(iter_out=1 << 14), "gemm.iter_out", "[0, 16383]"),
    (AluInsn(imm=40000), "alu.imm", "[-32768, 32767]"),
    (LoadInsn(dram_base=-1), "mem.dram_base", "[0, 4294967295]"),
    (StoreInsn(x_pad0=16), "mem.x_pad0", "[0, 15]"),
])
def test_out_of_range_field_is_named_never_truncated(insn, field, limit):
    with pytest.raises(EncodingError) as err:
        encode_instructions([FinishInsn(), insn], INTELFOCL)
    assert f"instruction 1: {field} = " in str(err.value)
    assert limit in str(err.value)


def test_decode_rejects_unknown_opcode_and_memory_type():
    with pytest.raises(EncodingError, match="instruction 0: opcode 7"):
        decode_instructions(np.array([[7, 0]], dtype=np.uint64), INTELFOCL)
    with pytest.raises(EncodingError, match="memory_type 6"):
        decode_instructions(np.array([[6 << 7, 0]], dtype=np.uint64), INTELFOCL)
    with pytest.raises(EncodingError, match="not a multiple of 16"):
        decode_instructions(b"\0" * 17, INTELFOCL)


def _field_values(layout):
    return st.fixed_dictionaries({
        f.name: st.integers(f.min_value, f.max_value) for f in layout.fields if f.name != "opcode"
    })


@st.composite
def instructions(draw, config):
    layouts = layouts_for(config)
    kind = draw(st.sampled_from(["load", "store", "gemm", "alu", "finish"]))
    cls, layout = {
        "load": (LoadInsn, layouts.mem), "store": (StoreInsn, layouts.mem),
        "gemm": (GemmInsn, layouts.gemm), "alu": (AluInsn, layouts.alu),
        "finish": (FinishInsn, layouts.finish),
    }[kind]
    values = draw(_field_values(layout))
    if "memory_type" in values:
        values["memory_type"] = draw(st.sampled_from(list(MemoryType)))
    if "alu_opcode" in values:
        values["alu_opcode"] = draw(st.sampled_from(list(AluOpcode)))
    for flag in ("pop_prev", "pop_next", "push_prev", "push_next", "reset", "use_imm"):
        if flag in values:
            values[flag] = bool(values[flag])
    return cls(**values)


@pytest.mark.parametrize("name", sorted(PRESETS))
@given(data=st.data())
def test_round_trip_any_encodable_instruction(name, data):
    config = PRESETS[name]
    insns = data.draw(st.lists(instructions(config), min_size=1, max_size=20))
    words = encode_instructions(insns, config)
    assert decode_instructions(words, config) == insns
    assert decode_instructions(words.astype("<u8").tobytes(), config) == insns


@pytest.mark.parametrize("name", sorted(PRESETS))
@given(data=st.data())
def test_uop_round_trip(name, data):
    config = PRESETS[name]
    layout = layouts_for(config).uop
    uops = data.draw(st.lists(st.builds(
        Uop, *(st.integers(0, layout.field(f).max_value) for f in ("dst", "src", "wgt"))),
        max_size=20))
    assert decode_uops(encode_uops(uops, config).astype("<u4").tobytes(), config) == uops


@settings(max_examples=50, deadline=None)
@given(values=hnp.arrays(np.int32, st.integers(1, 40)))
def test_byte_planes_join_to_the_little_endian_words(values):
    """join_byte_planes (how the host reads an i32 card result) against numpy's own
    little-endian view: plane k = byte k of every word."""
    planes = np.ascontiguousarray(values.astype("<i4").view(np.uint8).reshape(-1, 4).T).view(np.int8)
    np.testing.assert_array_equal(join_byte_planes(planes), values)
