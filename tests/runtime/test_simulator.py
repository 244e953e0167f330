"""The reference simulator against docs/isa.md.

Expected values are computed here, per element, straight from the text of docs/isa.md
(plain Python integers, or plain numpy on whole matrices for the large GEMM), never
from the simulator's own helpers.
"""

from __future__ import annotations

import time
from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from canopy_mlir.hw import PRESETS, HardwareConfig
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
    encode_instructions,
    encode_uops,
    layouts_for,
)
from canopy_mlir.isa_semantics import IsaError, mnemonic
from canopy_mlir.runtime.simulator import (
    RunStats,
    SimulationError,
    Simulator,
    SramState,
    simulate,
)
from sim_helpers import PoolBuilder

CONFIG_NAMES = ["tiny", "tiny-b2", "intelfocl"]
POOL_BYTES = 1 << 17
INT32_MIN, INT32_MAX = -(1 << 31), (1 << 31) - 1

INP, WGT, ACC, OUT, UOP, ACC_8BIT = (MemoryType.INP, MemoryType.WGT, MemoryType.ACC,
                                     MemoryType.OUT, MemoryType.UOP, MemoryType.ACC_8BIT)


# ------------------------------------------------------------------ reference maths
def wrap32(value: int) -> int:
    """Low 32 bits of an exact integer, as two's complement."""
    return (value + (1 << 31)) % (1 << 32) - (1 << 31)


def low8(value: int) -> int:
    return (value + 128) % 256 - 128


def alu_reference(op: AluOpcode, a: int, b: int) -> int:
    """One ALU element operation, written from the bullet list in docs/isa.md."""
    if op == AluOpcode.MIN:
        return min(a, b)
    if op == AluOpcode.MAX:
        return max(a, b)
    if op == AluOpcode.ADD:
        return wrap32(a + b)
    if op == AluOpcode.MUL:
        return wrap32(a * b)
    if b >= 0:
        return a >> min(b, 31)  # Python's >> on ints is arithmetic
    return 0 if -b >= 32 else wrap32(a << -b)


# ------------------------------------------------------------------------- helpers
@pytest.fixture(params=CONFIG_NAMES)
def config(request) -> HardwareConfig:
    return PRESETS[request.param]


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(1234)


def row_load(memory: MemoryType, dram_base: int, count: int, sram_base: int = 0) -> LoadInsn:
    return LoadInsn(memory_type=memory, sram_base=sram_base, dram_base=dram_base,
                    y_size=1, x_size=count, x_stride=count)


def row_store(dram_base: int, count: int, sram_base: int = 0) -> StoreInsn:
    return StoreInsn(sram_base=sram_base, dram_base=dram_base, y_size=1, x_size=count,
                     x_stride=count)


def uop_load(builder: PoolBuilder, uops: list[Uop]) -> LoadInsn:
    return row_load(UOP, builder.place_uops(uops), len(uops))


def run(builder: PoolBuilder, insns) -> tuple[Simulator, RunStats]:
    start = builder.place_instructions(insns)
    simulator = Simulator(builder.config, builder.pool)
    stats = simulator.run(start, len(insns))
    return simulator, stats


def random_int8(rng, shape) -> np.ndarray:
    return rng.integers(-128, 128, size=shape, dtype=np.int8)


def acc_shape(config, count):
    return (count, config.batch, config.block_out)


def inp_shape(config, count):
    return (count, config.batch, config.block_in)


def wgt_shape(config, count):
    return (count, config.block_out, config.block_in)


def expect_error(builder: PoolBuilder, insns, position: int, name: str,
                 *fragments: str) -> SimulationError:
    """Run ``insns``; the instruction at ``position`` must fail, named by its pool index."""
    start = builder.place_instructions(insns)
    with pytest.raises(SimulationError) as info:
        Simulator(builder.config, builder.pool).run(start, len(insns))
    error = info.value
    assert (error.index, error.mnemonic) == (start + position, name)
    assert str(error).startswith(f"instruction {start + position} ({name}): "), str(error)
    for fragment in fragments:
        assert fragment in str(error), (fragment, str(error))
    return error


# --------------------------------------------------------------------------- LOAD
def test_padded_inp_load_writes_zeros_on_all_four_sides(config, rng):
    builder = PoolBuilder(config, POOL_BYTES)
    y_size, x_size, x_stride = 3, 2, 5
    y_pad0, y_pad1, x_pad0, x_pad1 = 1, 2, 2, 1
    rows, width = y_pad0 + y_size + y_pad1, x_pad0 + x_size + x_pad1
    sram_base = 3
    data = random_int8(rng, inp_shape(config, (y_size - 1) * x_stride + x_size))
    ones = np.ones(inp_shape(config, rows * width), dtype=np.int8)
    insns = [
        # Fill the window with ones first, so padding has to be written, not left alone.
        row_load(INP, builder.place_elements(ones, INP), rows * width, sram_base),
        LoadInsn(memory_type=INP, sram_base=sram_base, dram_base=builder.place_elements(data, INP),
                 y_size=y_size, x_size=x_size, x_stride=x_stride,
                 y_pad0=y_pad0, y_pad1=y_pad1, x_pad0=x_pad0, x_pad1=x_pad1),
    ]
    simulator, _ = run(builder, insns)

    expected = np.zeros_like(simulator.state.inp)
    for y in range(rows):
        for x in range(width):
            inside = y_pad0 <= y < y_pad0 + y_size and x_pad0 <= x < x_pad0 + x_size
            if inside:
                expected[sram_base + y * width + x] = data[(y - y_pad0) * x_stride + (x - x_pad0)]
    np.testing.assert_array_equal(simulator.state.inp, expected)


def test_strided_wgt_load(config, rng):
    builder = PoolBuilder(config, POOL_BYTES)
    y_size, x_size, x_stride, sram_base = 3, 2, 4, 5
    data = random_int8(rng, wgt_shape(config, (y_size - 1) * x_stride + x_size))
    insn = LoadInsn(memory_type=WGT, sram_base=sram_base,
                    dram_base=builder.place_elements(data, WGT),
                    y_size=y_size, x_size=x_size, x_stride=x_stride)
    simulator, stats = run(builder, [insn])
    expected = np.zeros_like(simulator.state.wgt)
    for y in range(y_size):
        for x in range(x_size):
            expected[sram_base + y * x_size + x] = data[y * x_stride + x]
    np.testing.assert_array_equal(simulator.state.wgt, expected)
    assert stats.dram_bytes_read == y_size * x_size * config.block_out * config.block_in


def test_strided_acc_load_is_little_endian_int32(config, rng):
    builder = PoolBuilder(config, POOL_BYTES)
    y_size, x_size, x_stride = 2, 3, 7
    data = rng.integers(INT32_MIN, INT32_MAX, size=acc_shape(config, 10), dtype=np.int32)
    data[0, 0, 0], data[1, 0, 0] = INT32_MIN, INT32_MAX
    base = builder.place_elements(data, ACC)
    insn = LoadInsn(memory_type=ACC, sram_base=1, dram_base=base, y_size=y_size, x_size=x_size,
                    x_stride=x_stride)
    simulator, _ = run(builder, [insn])
    acc = simulator.state.acc
    for y in range(y_size):
        for x in range(x_size):
            element = data[y * x_stride + x]
            raw = builder.pool[(base + y * x_stride + x) * element.nbytes:][:element.nbytes]
            little_endian = [int.from_bytes(raw[i:i + 4].tobytes(), "little", signed=True)
                             for i in range(0, raw.size, 4)]
            assert acc[1 + y * x_size + x].reshape(-1).tolist() == little_endian
    assert acc[0].tolist() == np.zeros_like(acc[0]).tolist()


def test_acc_8bit_load_sign_extends(config):
    builder = PoolBuilder(config, POOL_BYTES)
    values = [-128, -1, 127, 0, 1, -2, 100, -100]
    data = np.resize(np.array(values, dtype=np.int8), acc_shape(config, 2))
    simulator, _ = run(builder, [row_load(ACC_8BIT, builder.place_elements(data, ACC_8BIT), 2, 4)])
    acc = simulator.state.acc
    assert acc.dtype == np.int32
    assert acc[4:6].reshape(-1).tolist() == [int(v) for v in data.reshape(-1)]
    assert acc[4, 0, 0] == -128 and acc[4, 0, 1] == -1


def test_uop_load_copies_raw_words(config):
    builder = PoolBuilder(config, POOL_BYTES)
    uops = [Uop(dst=1, src=2, wgt=3), Uop(dst=7, src=0, wgt=1), Uop(dst=0, src=5, wgt=0)]
    words = encode_uops(uops, config)
    simulator, stats = run(builder, [row_load(UOP, builder.place_uops(uops), 3, 2)])
    assert simulator.state.uop[2:5].tolist() == words.tolist()
    assert simulator.state.uop[:2].tolist() == [0, 0] and not simulator.state.uop[5:].any()
    assert stats.dram_bytes_read == 12


def test_loads_never_write_out(config, rng):
    builder = PoolBuilder(config, POOL_BYTES)
    data = rng.integers(-1000, 1000, size=acc_shape(config, 4), dtype=np.int32)
    insns = [row_load(ACC, builder.place_elements(data, ACC), 4),
             row_load(ACC_8BIT, builder.place_elements(random_int8(rng, acc_shape(config, 4)),
                                                        ACC_8BIT), 4, 4)]
    simulator, _ = run(builder, insns)
    assert not simulator.state.out.any() and not simulator.state.out_poisoned.any()


def test_zero_sized_load_and_store_move_nothing(config):
    builder = PoolBuilder(config, POOL_BYTES)
    insns = [LoadInsn(memory_type=INP, dram_base=1 << 30, y_size=0, x_size=4, x_stride=4),
             StoreInsn(dram_base=1 << 30, y_size=3, x_size=0, x_stride=0)]
    start = builder.place_instructions(insns)
    before = builder.pool.copy()
    simulator = Simulator(config, builder.pool)
    stats = simulator.run(start, len(insns))
    assert not simulator.state.inp.any()
    np.testing.assert_array_equal(builder.pool, before)
    assert stats.dram_bytes_read == stats.dram_bytes_written == 0


# -------------------------------------------------------------------------- GEMM
def gemm_reference(config, inp, wgt, acc, uops, insn):
    """The GEMM loop of docs/isa.md on nested lists, one element at a time."""
    acc = [[list(row) for row in element] for element in acc]
    for o in range(insn.iter_out):
        for i in range(insn.iter_in):
            for u in range(insn.uop_bgn, insn.uop_end):
                dst = uops[u].dst + o * insn.dst_factor_out + i * insn.dst_factor_in
                src = uops[u].src + o * insn.src_factor_out + i * insn.src_factor_in
                w = uops[u].wgt + o * insn.wgt_factor_out + i * insn.wgt_factor_in
                for b in range(config.batch):
                    for oc in range(config.block_out):
                        if insn.reset:
                            acc[dst][b][oc] = 0
                            continue
                        total = sum(int(inp[src][b][ic]) * int(wgt[w][oc][ic])
                                    for ic in range(config.block_in))
                        acc[dst][b][oc] = wrap32(acc[dst][b][oc] + total)
    return acc


def gemm_setup(config, rng, uops, n_inp=8, n_wgt=8, n_acc=8):
    builder = PoolBuilder(config, POOL_BYTES)
    inp = random_int8(rng, inp_shape(config, n_inp))
    wgt = random_int8(rng, wgt_shape(config, n_wgt))
    acc = rng.integers(INT32_MIN, INT32_MAX, size=acc_shape(config, n_acc), dtype=np.int32)
    loads = [uop_load(builder, uops),
             row_load(INP, builder.place_elements(inp, INP), n_inp),
             row_load(WGT, builder.place_elements(wgt, WGT), n_wgt),
             row_load(ACC, builder.place_elements(acc, ACC), n_acc)]
    return builder, loads, inp, wgt, acc.tolist()


def test_gemm_reset_then_accumulate_with_repeated_dst(config, rng):
    uops = [Uop(dst=1, src=0, wgt=0), Uop(dst=1, src=1, wgt=2), Uop(dst=2, src=3, wgt=1),
            Uop(dst=1, src=2, wgt=1), Uop(dst=2, src=3, wgt=1)]
    builder, loads, inp, wgt, acc = gemm_setup(config, rng, uops)
    reset = GemmInsn(reset=True, uop_bgn=0, uop_end=3)
    accumulate = GemmInsn(uop_bgn=0, uop_end=5)
    simulator, stats = run(builder, loads + [reset, accumulate, accumulate])

    expected = acc
    for insn in (reset, accumulate, accumulate):
        expected = gemm_reference(config, inp, wgt, expected, uops, insn)
    state = simulator.state
    assert state.acc[:8].tolist() == expected
    assert state.acc[3][0][0] == acc[3][0][0]  # never written: still the loaded value
    for dst in (1, 2):
        assert state.out[dst].tolist() == [[low8(v) for v in row] for row in expected[dst]]
    assert not state.out_poisoned.any()
    assert not state.out[0].any() and not state.out[3:].any()
    assert stats.gemm_steps == 3 + 5 + 5
    assert stats.macs == 10 * config.batch * config.block_in * config.block_out


def test_gemm_accumulation_wraps_at_32_bits(config):
    builder = PoolBuilder(config, POOL_BYTES)
    near_max = np.full(acc_shape(config, 1), INT32_MAX - 10, dtype=np.int32)
    ones = np.full(inp_shape(config, 1), 127, dtype=np.int8)
    weights = np.full(wgt_shape(config, 1), 127, dtype=np.int8)
    insns = [uop_load(builder, [Uop()]),
             row_load(INP, builder.place_elements(ones, INP), 1),
             row_load(WGT, builder.place_elements(weights, WGT), 1),
             row_load(ACC, builder.place_elements(near_max, ACC), 1),
             GemmInsn(uop_bgn=0, uop_end=1)]
    simulator, _ = run(builder, insns)
    expected = wrap32(INT32_MAX - 10 + 127 * 127 * config.block_in)
    assert expected < 0
    assert (simulator.state.acc[0] == expected).all()
    assert (simulator.state.out[0] == low8(expected)).all()


def test_gemm_loop_factors(config, rng):
    uops = [Uop(dst=0, src=1, wgt=0), Uop(dst=1, src=0, wgt=2)]
    insn = GemmInsn(uop_bgn=0, uop_end=2, iter_out=3, iter_in=2,
                    dst_factor_out=5, dst_factor_in=2, src_factor_out=4, src_factor_in=1,
                    wgt_factor_out=1, wgt_factor_in=3)
    builder, loads, inp, wgt, acc = gemm_setup(config, rng, uops, n_inp=16, n_wgt=8, n_acc=16)
    simulator, stats = run(builder, loads + [insn])
    expected = gemm_reference(config, inp, wgt, acc, uops, insn)
    assert simulator.state.acc[:16].tolist() == expected
    written = {u.dst + o * 5 + i * 2 for u in uops for o in range(3) for i in range(2)}
    for element in range(16):
        if element in written:
            assert simulator.state.out[element].tolist() == \
                [[low8(v) for v in row] for row in expected[element]]
        else:
            assert not simulator.state.out[element].any()
    assert stats.gemm_steps == 12


def test_gemm_256_cube_matches_numpy_and_is_fast():
    """A 256x256x256 int8 matmul at intelfocl (65536 GEMM steps) in well under a second."""
    config = PRESETS["intelfocl"]
    block = config.block_in
    size = 256
    rng = np.random.default_rng(7)
    a = random_int8(rng, (size, size))
    b = random_int8(rng, (size, size))
    builder = PoolBuilder(config, 1 << 20)
    k_blocks = n_blocks = size // block
    a_base = builder.place_elements(a, INP)  # row r, k-block kb is INP element r*k_blocks+kb
    tiles = b.reshape(k_blocks, block, n_blocks, block).transpose(2, 0, 3, 1)  # [nb][kb][oc][ic]
    w_base = builder.place_elements(np.ascontiguousarray(tiles), WGT)
    c_base = builder.reserve_elements(size * n_blocks, OUT)
    uops = [Uop(dst=0, src=kb, wgt=kb) for kb in range(k_blocks)]
    rows = config.acc_depth // n_blocks  # rows of C per pass that fit ACC (and INP)
    insns = [uop_load(builder, uops), row_load(WGT, w_base, n_blocks * k_blocks)]
    for first in range(0, size, rows):
        insns += [
            row_load(INP, a_base + first * k_blocks, rows * k_blocks),
            GemmInsn(reset=True, uop_bgn=0, uop_end=1, iter_out=rows, iter_in=n_blocks,
                     dst_factor_out=n_blocks, dst_factor_in=1),
            GemmInsn(uop_bgn=0, uop_end=k_blocks, iter_out=rows, iter_in=n_blocks,
                     dst_factor_out=n_blocks, dst_factor_in=1, src_factor_out=k_blocks,
                     wgt_factor_in=k_blocks),
            row_store(c_base + first * n_blocks, rows * n_blocks),
        ]
    insns.append(FinishInsn())
    start = builder.place_instructions(insns)
    simulator = Simulator(config, builder.pool)
    elapsed = []
    for _ in range(2):
        began = time.perf_counter()
        stats = simulator.run(start, len(insns))
        elapsed.append(time.perf_counter() - began)
    exact = a.astype(np.int64) @ b.astype(np.int64)
    stored = builder.read_elements(c_base, size * n_blocks, OUT).reshape(size, size)
    np.testing.assert_array_equal(stored, (exact + 128) % 256 - 128)
    last_rows = exact[size - rows:]
    np.testing.assert_array_equal(simulator.state.acc.reshape(rows, size), last_rows)
    assert stats.macs == size ** 3
    print(f"256^3 GEMM on the simulator: {min(elapsed):.3f} s (printed, not asserted: wall times vary)")


# --------------------------------------------------------------------------- ALU
def alu_setup(config, values: list[int], count: int | None = None):
    """A pool whose ACC elements 0..count-1 are filled cyclically with ``values``."""
    builder = PoolBuilder(config, POOL_BYTES)
    count = count or len(values)
    data = np.resize(np.array(values, dtype=np.int64), acc_shape(config, count)).astype(np.int32)
    return builder, row_load(ACC, builder.place_elements(data, ACC), count), data.tolist()


EDGE_VALUES = [0, 1, -1, 5, -5, 127, -128, 255, 300, -300, 65536, -65536,
               INT32_MAX, INT32_MIN, INT32_MAX - 1, INT32_MIN + 1, 33, 31, 32, -33, -32, -31, 40]


@pytest.mark.parametrize("op", list(AluOpcode))
@pytest.mark.parametrize("imm", [None, 0, 3, -3, 31, 32, 40, -32, -40, 32767, -32768])
def test_alu_ops_elementwise(config, op, imm):
    """dst elements 0..3 combined with src elements 4..7 (or the immediate)."""
    builder, load, acc = alu_setup(config, EDGE_VALUES, 8)
    insn = AluInsn(uop_bgn=0, uop_end=1, iter_out=4, dst_factor_out=1, src_factor_out=1,
                   alu_opcode=op, use_imm=imm is not None, imm=imm or 0)
    simulator, stats = run(builder, [load, uop_load(builder, [Uop(dst=0, src=4)]), insn])
    for element in range(4):
        expected = [[alu_reference(op, a, imm if imm is not None else b)
                     for a, b in zip(row, src_row, strict=True)]
                    for row, src_row in zip(acc[element], acc[element + 4], strict=True)]
        assert simulator.state.acc[element].tolist() == expected
        assert simulator.state.out[element].tolist() == [[low8(v) for v in r] for r in expected]
    assert simulator.state.acc[4:8].tolist() == acc[4:8]
    assert not simulator.state.out[4:].any()
    assert stats.alu_steps == 4


def run_alu_on_values(config, op, a_values, b_values=None, imm=None):
    """Apply one ALU op to scalars: element 0 is all ``a``, element 1 all ``b``."""
    results = []
    for index, a in enumerate(a_values):
        builder = PoolBuilder(config, POOL_BYTES)
        data = np.zeros(acc_shape(config, 2), dtype=np.int32)
        data[0] = a
        data[1] = 0 if b_values is None else b_values[index]
        insn = AluInsn(uop_bgn=0, uop_end=1, alu_opcode=op, use_imm=imm is not None,
                       imm=imm or 0)
        simulator, _ = run(builder, [row_load(ACC, builder.place_elements(data, ACC), 2),
                                     uop_load(builder, [Uop(dst=0, src=1)]), insn])
        assert (simulator.state.acc[0] == simulator.state.acc[0, 0, 0]).all()
        results.append(int(simulator.state.acc[0, 0, 0]))
    return results


def test_shr_negative_amount_shifts_left_and_wraps(config):
    assert run_alu_on_values(config, AluOpcode.SHR, [5, -5, 0x10000001, -(1 << 30)], imm=-4) == \
        [80, -80, 0x10, 0]
    assert run_alu_on_values(config, AluOpcode.SHR, [1, 1, 1, 3], [-31, -32, -33, -1]) == \
        [INT32_MIN, 0, 0, 6]


def test_shr_amounts_of_32_and_more_clamp_to_31(config):
    assert run_alu_on_values(config, AluOpcode.SHR, [-5, INT32_MAX, INT32_MIN, 1 << 30],
                             imm=40) == [-1, 0, -1, 0]
    assert run_alu_on_values(config, AluOpcode.SHR, [INT32_MIN, -1, INT32_MAX],
                             [32, INT32_MAX, 31]) == [-1, -1, 0]


def test_add_and_mul_wrap_around(config):
    assert run_alu_on_values(config, AluOpcode.ADD, [INT32_MAX, INT32_MIN], imm=1) == \
        [INT32_MIN, INT32_MIN + 1]
    assert run_alu_on_values(config, AluOpcode.ADD, [INT32_MIN, INT32_MAX],
                             [-1, INT32_MAX]) == [INT32_MAX, -2]
    assert run_alu_on_values(config, AluOpcode.MUL, [65536, INT32_MAX, INT32_MIN],
                             [65536, 2, -1]) == [0, -2, INT32_MIN]
    assert run_alu_on_values(config, AluOpcode.MUL, [1 << 20], imm=-32768) == [wrap32(-(1 << 35))]


def test_relu_is_max_with_zero(config):
    values = [-300, -1, 0, 1, 300, INT32_MIN, INT32_MAX]
    assert run_alu_on_values(config, AluOpcode.MAX, values, imm=0) == [max(v, 0) for v in values]


def clip_program(count, low=-128, high=127):
    return [AluInsn(uop_bgn=0, uop_end=1, iter_out=count, dst_factor_out=1,
                    alu_opcode=AluOpcode.MIN, use_imm=True, imm=high),
            AluInsn(uop_bgn=0, uop_end=1, iter_out=count, dst_factor_out=1,
                    alu_opcode=AluOpcode.MAX, use_imm=True, imm=low)]


def test_clip_is_min_then_max(config):
    builder, load, acc = alu_setup(config, EDGE_VALUES, 4)
    simulator, _ = run(builder, [load, uop_load(builder, [Uop()])] + clip_program(4))
    expected = [[[max(min(v, 127), -128) for v in row] for row in e] for e in acc]
    assert simulator.state.acc[:4].tolist() == expected
    assert simulator.state.out[:4].tolist() == expected


def test_requantize_multiply_shift_clip_then_store(config, rng):
    """The usual int32 -> int8 requantization: (acc * m) >> s, clipped, stored."""
    count, multiplier, shift = 6, 77, 9
    values = rng.integers(-(1 << 20), 1 << 20, size=count * config.batch * config.block_out)
    builder, load, acc = alu_setup(config, values.tolist(), count)
    out_base = builder.reserve_elements(count, OUT)
    insns = [load, uop_load(builder, [Uop()]),
             AluInsn(uop_bgn=0, uop_end=1, iter_out=count, dst_factor_out=1,
                     alu_opcode=AluOpcode.MUL, use_imm=True, imm=multiplier),
             AluInsn(uop_bgn=0, uop_end=1, iter_out=count, dst_factor_out=1,
                     alu_opcode=AluOpcode.SHR, use_imm=True, imm=shift),
             *clip_program(count),
             row_store(out_base, count)]
    run(builder, insns)
    stored = builder.read_elements(out_base, count, OUT).reshape(-1).tolist()
    expected = [max(min(wrap32(v * multiplier) >> shift, 127), -128)
                for e in acc for row in e for v in row]
    assert stored == expected


# ------------------------------------------------------- ALU sequential semantics
def alu_sequence_reference(acc, uops, insn):
    """ALU steps in loop order, each seeing the writes of the earlier ones."""
    acc = [[list(row) for row in element] for element in acc]
    for o in range(insn.iter_out):
        for i in range(insn.iter_in):
            for u in range(insn.uop_bgn, insn.uop_end):
                dst = uops[u].dst + o * insn.dst_factor_out + i * insn.dst_factor_in
                src = uops[u].src + o * insn.src_factor_out + i * insn.src_factor_in
                for b, row in enumerate(acc[dst]):
                    for oc in range(len(row)):
                        if insn.reset:
                            row[oc] = 0
                        else:
                            operand = insn.imm if insn.use_imm else acc[src][b][oc]
                            row[oc] = alu_reference(insn.alu_opcode, row[oc], operand)
    return acc


@pytest.mark.parametrize(("case", "uops", "insn"), [
    # acc[k] += acc[k-1]: every step reads what the previous one wrote (prefix sums).
    ("prefix sum", [Uop(dst=1, src=0)],
     AluInsn(uop_bgn=0, uop_end=1, iter_out=7, dst_factor_out=1, src_factor_out=1)),
    # acc[k] += acc[k+1]: every step reads an element written only later (old values).
    ("read ahead", [Uop(dst=0, src=1)],
     AluInsn(uop_bgn=0, uop_end=1, iter_out=7, dst_factor_out=1, src_factor_out=1)),
    # acc[0] += acc[k]: one destination, operands never written (a reduction).
    ("reduction", [Uop(dst=0, src=1)],
     AluInsn(uop_bgn=0, uop_end=1, iter_out=7, src_factor_out=1)),
    ("max reduction", [Uop(dst=0, src=1)],
     AluInsn(uop_bgn=0, uop_end=1, iter_out=7, src_factor_out=1, alu_opcode=AluOpcode.MAX)),
    ("product", [Uop(dst=0, src=1)],
     AluInsn(uop_bgn=0, uop_end=1, iter_out=7, src_factor_out=1, alu_opcode=AluOpcode.MUL)),
    # acc[0] = acc[0] + acc[0], four times: doubling compounds.
    ("self doubling", [Uop()], AluInsn(uop_bgn=0, uop_end=1, iter_out=4)),
    # The same element shifted three times by an immediate.
    ("repeated shift", [Uop(dst=2)],
     AluInsn(uop_bgn=0, uop_end=1, iter_in=3, alu_opcode=AluOpcode.SHR, use_imm=True, imm=2)),
    ("repeated immediate add", [Uop(dst=2), Uop(dst=3), Uop(dst=2)],
     AluInsn(uop_bgn=0, uop_end=3, iter_out=2, use_imm=True, imm=-7)),
    # Shift amounts read from elements that earlier steps modified.
    ("shift chain", [Uop(dst=1, src=0), Uop(dst=0, src=1)],
     AluInsn(uop_bgn=0, uop_end=2, iter_out=3, alu_opcode=AluOpcode.SHR)),
])
def test_alu_steps_see_earlier_writes_of_the_same_instruction(config, case, uops, insn):
    values = [3, -5, 1000, -1000, 2, 7, -2, 11, 1 << 20, -(1 << 19)]
    builder, load, acc = alu_setup(config, values, 8)
    simulator, _ = run(builder, [load, uop_load(builder, uops), insn])
    expected = alu_sequence_reference(acc, uops, insn)
    assert simulator.state.acc[:8].tolist() == expected, case
    assert expected != acc, f"{case}: the case must change something"


# ------------------------------------------------------------ STORE and poisoning
def test_store_keeps_low_8_bits_without_saturation(config):
    values = [300, -129, 128, INT32_MAX, INT32_MIN, -1, 255, 44]
    builder, load, acc = alu_setup(config, values, 3)
    out_base = builder.reserve_elements(3, OUT)
    insns = [load, uop_load(builder, [Uop()]),
             AluInsn(uop_bgn=0, uop_end=1, iter_out=3, dst_factor_out=1, use_imm=True, imm=0),
             row_store(out_base, 3)]
    _, stats = run(builder, insns)
    stored = builder.read_elements(out_base, 3, OUT).reshape(-1).tolist()
    assert stored == [low8(v) for e in acc for row in e for v in row]
    assert stored[:4] == [44, 127, -128, -1]
    assert stats.dram_bytes_written == 3 * config.batch * config.block_out


def test_strided_store_leaves_gaps_untouched(config, rng):
    builder, load, acc = alu_setup(config, rng.integers(-500, 500, 64).tolist(), 6)
    elem = config.batch * config.block_out
    y_size, x_size, x_stride = 3, 2, 3
    out_base = builder.reserve_elements(9, OUT)
    builder.pool[out_base * elem:(out_base + 9) * elem] = 0xAB
    insns = [load, uop_load(builder, [Uop()]),
             AluInsn(uop_bgn=0, uop_end=1, iter_out=6, dst_factor_out=1, use_imm=True, imm=0),
             StoreInsn(sram_base=0, dram_base=out_base, y_size=y_size, x_size=x_size,
                       x_stride=x_stride)]
    run(builder, insns)
    stored = builder.read_elements(out_base, 9, OUT).reshape(9, config.batch, config.block_out)
    for y in range(y_size):
        for x in range(x_stride):
            if x < x_size:
                expected = [[low8(v) for v in row] for row in acc[y * x_size + x]]
                assert stored[y * x_stride + x].tolist() == expected
            else:
                assert (stored[y * x_stride + x].view(np.uint8) == 0xAB).all()


def test_store_of_poisoned_element_is_an_error(config):
    builder = PoolBuilder(config, POOL_BYTES)
    out_base = builder.reserve_elements(4, OUT)
    insns = [uop_load(builder, [Uop(dst=2)]),
             GemmInsn(reset=True, uop_bgn=0, uop_end=1),
             row_store(out_base, 2),           # elements 0, 1: fine
             row_store(out_base, 4)]           # element 2 was reset: poisoned
    elem = config.batch * config.block_out
    builder.pool[out_base * elem:(out_base + 4) * elem] = 0xAB
    expect_error(builder, insns, 3, "STORE OUT", "OUT[2]", "reset")
    # Program order: the first store ran before the failing one.
    stored = builder.pool[out_base * elem:(out_base + 4) * elem]
    assert not stored[:2 * elem].any() and (stored[2 * elem:] == 0xAB).all()


def test_alu_write_after_reset_clears_poison(config):
    builder = PoolBuilder(config, POOL_BYTES)
    out_base = builder.reserve_elements(2, OUT)
    builder.pool[:] = 0x5A  # so that the stored zeros are visible
    insns = [uop_load(builder, [Uop()]),
             AluInsn(reset=True, uop_bgn=0, uop_end=1, iter_out=2, dst_factor_out=1),
             AluInsn(uop_bgn=0, uop_end=1, iter_out=2, dst_factor_out=1, use_imm=True, imm=0),
             row_store(out_base, 2)]
    simulator, _ = run(builder, insns)
    assert not simulator.state.out_poisoned.any()
    assert not builder.read_elements(out_base, 2, OUT).any()


def test_reset_poisons_out(config):
    builder = PoolBuilder(config, POOL_BYTES)
    simulator, _ = run(builder, [uop_load(builder, [Uop(dst=1), Uop(dst=3)]),
                                 AluInsn(reset=True, uop_bgn=0, uop_end=2)])
    assert simulator.state.out_poisoned.tolist()[:5] == [False, True, False, True, False]


# ------------------------------------------------------------ whole runs, counters
def test_token_flags_and_finish_do_not_change_data(config):
    uops = [Uop(dst=0, src=0, wgt=0), Uop(dst=1, src=1, wgt=1)]
    results = []
    for flags in (False, True):
        builder, loads, *_ = gemm_setup(config, np.random.default_rng(5), uops)
        loads[1] = replace(loads[1], pop_next=flags, push_next=flags)
        insns = [*loads,
                 GemmInsn(uop_bgn=0, uop_end=2, pop_prev=flags, push_next=flags),
                 FinishInsn(pop_prev=flags, pop_next=flags)]
        simulator, stats = run(builder, insns)
        results.append(simulator.state.acc.copy())
        assert stats.instructions == len(insns)
    np.testing.assert_array_equal(*results)


def test_every_run_starts_from_zeroed_sram_and_keeps_the_pool(config):
    builder, load, acc = alu_setup(config, [9, -9, 300], 2)
    out_base = builder.reserve_elements(2, OUT)
    first_program = builder.place_instructions(
        [load, uop_load(builder, [Uop()]),
         AluInsn(uop_bgn=0, uop_end=1, iter_out=2, dst_factor_out=1, use_imm=True, imm=1),
         row_store(out_base, 2)])
    second_program = builder.place_instructions([row_store(out_base + 2, 2)])
    simulator = Simulator(config, builder.pool)
    simulator.run(first_program, 4)
    assert simulator.state.acc.any()
    simulator.run(second_program, 1)
    assert not simulator.state.acc.any() and not simulator.state.uop.any()
    first = builder.read_elements(out_base, 2, OUT).reshape(-1).tolist()
    assert first == [low8(v + 1) for e in acc for row in e for v in row]
    assert not builder.read_elements(out_base + 2, 2, OUT).any()


def test_simulate_returns_the_final_state(config):
    builder = PoolBuilder(config, POOL_BYTES)
    start = builder.place_instructions([uop_load(builder, [Uop(dst=1)]),
                                        AluInsn(reset=True, uop_bgn=0, uop_end=1)])
    state = simulate(config, builder.pool, start, 2)
    assert isinstance(state, SramState) and state.out_poisoned[1]
    zeros = SramState.zeros(config)
    assert zeros.acc.shape == (config.acc_depth, config.batch, config.block_out)
    assert zeros.inp.shape == (config.inp_depth, config.batch, config.block_in)
    assert zeros.wgt.shape == (config.wgt_depth, config.block_out, config.block_in)
    assert zeros.uop.shape == (config.uop_depth,)
    assert zeros.out_poisoned.shape == (config.acc_depth,)


def test_run_stats_count_what_ran(config, rng):
    uops = [Uop(dst=0, src=0, wgt=0), Uop(dst=1, src=1, wgt=1)]
    builder, loads, *_ = gemm_setup(config, rng, uops, n_inp=2, n_wgt=2, n_acc=2)
    out_base = builder.reserve_elements(2, OUT)
    insns = [*loads,
             GemmInsn(uop_bgn=0, uop_end=2, iter_out=3),
             AluInsn(uop_bgn=0, uop_end=2, iter_in=2, use_imm=True, imm=1),
             row_store(out_base, 2), FinishInsn()]
    _, stats = run(builder, insns)
    b, bi, bo = config.batch, config.block_in, config.block_out
    assert stats == RunStats(
        instructions=8, gemm_steps=6, alu_steps=4, macs=6 * b * bi * bo,
        dram_bytes_read=2 * 4 + 2 * b * bi + 2 * bo * bi + 2 * b * bo * 4,
        dram_bytes_written=2 * b * bo)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("kind", "fields", "factor", "buffer", "role"), [
    (GemmInsn, {"iter_out": 2}, "dst_factor_out", "ACC", "dst"),
    (GemmInsn, {"iter_in": 2}, "src_factor_in", "INP", "src"),
    (GemmInsn, {"iter_in": 2}, "wgt_factor_in", "WGT", "wgt"),
    (AluInsn, {"iter_out": 2}, "src_factor_out", "ACC", "src"),
    (AluInsn, {"iter_out": 2, "reset": True}, "dst_factor_out", "ACC", "dst"),
])
def test_sram_index_out_of_range_names_buffer_index_and_depth(config, kind, fields, factor,
                                                              buffer, role):
    """Step 1 lands exactly one past the buffer: index 1 + (depth - 1) == depth."""
    depth = config.depths()[buffer]
    insn = kind(uop_bgn=0, uop_end=1, **fields, **{factor: depth - 1})
    builder = PoolBuilder(config, POOL_BYTES)
    name = "GEMM" if kind is GemmInsn else "ALU ADD"
    expect_error(builder, [uop_load(builder, [Uop(dst=1, src=1, wgt=1)]), insn], 1, name,
                 "step 1", f"{role} index {depth} is outside the {buffer} buffer (depth {depth})")


def test_alu_with_immediate_does_not_read_src(config):
    """With use_imm the src index is unused, so its range does not matter."""
    builder = PoolBuilder(config, POOL_BYTES)
    insn = AluInsn(uop_bgn=0, uop_end=1, iter_out=2, src_factor_out=config.acc_depth - 1,
                   use_imm=True, imm=4)
    simulator, _ = run(builder, [uop_load(builder, [Uop(src=1)]), insn])
    assert (simulator.state.acc[0] == 8).all()  # both steps add 4 to element 0


def test_load_window_beyond_sram_is_an_error(config):
    builder = PoolBuilder(config, POOL_BYTES)
    insn = row_load(INP, 0, 2, sram_base=config.inp_depth - 1)
    error = expect_error(builder, [FinishInsn(), insn], 1, "LOAD INP",
                         f"depth {config.inp_depth}")
    assert isinstance(error.__cause__, IsaError)


@pytest.mark.parametrize("store", [False, True])
def test_dram_range_outside_the_pool_is_an_error_and_nothing_runs(config, store):
    builder = PoolBuilder(config, POOL_BYTES)
    elem = config.batch * config.block_out if store else config.batch * config.block_in
    last = POOL_BYTES // elem
    bad = (StoreInsn(dram_base=last - 1, y_size=2, x_size=1, x_stride=1) if store
           else LoadInsn(memory_type=INP, dram_base=last - 2, y_size=2, x_size=2, x_stride=1))
    insns = [uop_load(builder, [Uop()]),
             AluInsn(uop_bgn=0, uop_end=1, use_imm=True, imm=1), row_store(0, 1), bad]
    start = builder.place_instructions(insns)
    before = builder.pool.copy()
    with pytest.raises(SimulationError) as info:
        Simulator(config, builder.pool).run(start, len(insns))
    assert f"instruction {start + 3} ({'STORE OUT' if store else 'LOAD INP'})" in str(info.value)
    assert f"{POOL_BYTES}-byte device pool" in str(info.value)
    # Checked before anything ran: the earlier STORE to element 0 never happened.
    np.testing.assert_array_equal(builder.pool, before)


@pytest.mark.parametrize(("insn", "fragment"), [
    (LoadInsn(memory_type=OUT), "OUT cannot be loaded"),
    (StoreInsn(memory_type=INP), "only the OUT buffer can be stored"),
    (LoadInsn(memory_type=WGT, x_pad0=1), "padding is only supported on INP"),
    (LoadInsn(memory_type=INP, pop_prev=True), "pop_prev is not valid on the load module"),
    (StoreInsn(push_next=True), "push_next is not valid on the store module"),
    (StoreInsn(y_size=2, x_size=2, x_stride=1), "rows would overlap"),
    (GemmInsn(uop_bgn=1, uop_end=1), "empty micro-op range"),
    (AluInsn(iter_in=0), "loop extents must be >= 1"),
])
def test_malformed_instruction_is_an_error(config, insn, fragment):
    builder = PoolBuilder(config, POOL_BYTES)
    error = expect_error(builder, [FinishInsn(), insn], 1, mnemonic(insn), fragment)
    assert isinstance(error.__cause__, IsaError)


def raw_words(config, insn, field: str, value: int) -> np.ndarray:
    """The encoding of ``insn`` with one field's bits overwritten by ``value``."""
    words = encode_instructions([insn], config)
    layouts = layouts_for(config)
    spec = layouts.mem.field(field) if field == "memory_type" else layouts.finish.field(field)
    mask = np.uint64(((1 << spec.width) - 1) << spec.lo)
    words[0, spec.word] = (words[0, spec.word] & ~mask) | np.uint64(value << spec.lo)
    return words


@pytest.mark.parametrize(("field", "value", "name", "fragment"), [
    ("memory_type", 7, "LOAD", "memory_type 7"),
    ("opcode", 7, "opcode 7", "opcode 7 is not one of"),
])
def test_undecodable_instruction_is_an_error(config, field, value, name, fragment):
    builder = PoolBuilder(config, POOL_BYTES)
    start = builder.place_instructions([FinishInsn(), FinishInsn()])
    builder.place(raw_words(config, LoadInsn(memory_type=INP), field, value), align=16)
    with pytest.raises(SimulationError) as info:
        Simulator(config, builder.pool).run(start, 3)
    assert f"instruction {start + 2} ({name}): cannot be decoded" in str(info.value)
    assert fragment in str(info.value)
    assert isinstance(info.value.__cause__.__cause__, EncodingError)


def test_instruction_range_outside_the_pool_is_an_error(config):
    pool = np.zeros(1024, dtype=np.uint8)
    simulator = Simulator(config, pool)
    with pytest.raises(SimulationError, match=r"instructions \[60, 65\).*1024-byte device pool"):
        simulator.run(60, 5)
    with pytest.raises(SimulationError, match="must be a non-negative integer"):
        simulator.run(0, -1)
    assert simulator.run(64, 0) == RunStats()


@pytest.mark.parametrize("pool", [
    np.zeros(64, dtype=np.int8), np.zeros((4, 16), dtype=np.uint8), bytearray(64),
    np.zeros(128, dtype=np.uint8)[::2],
])
def test_pool_must_be_a_contiguous_byte_array(pool):
    with pytest.raises(SimulationError, match="device pool"):
        Simulator(PRESETS["tiny"], pool)


def test_store_into_read_only_pool_is_an_error(config):
    builder = PoolBuilder(config, POOL_BYTES)
    start = builder.place_instructions([row_store(0, 1)])
    builder.pool.flags.writeable = False
    with pytest.raises(SimulationError, match="read-only"):
        Simulator(config, builder.pool).run(start, 1)


# ---------------------------------------------------------------- random programs
SMALL_CONFIGS = ["tiny", "tiny-b2"]
N_ELEMENTS = 24  # >= the largest index drawn below (7 + 2*3 + 2*3 = 19)
int32s = st.one_of(st.integers(INT32_MIN, INT32_MAX), st.sampled_from(EDGE_VALUES),
                   st.integers(-40, 40))


@st.composite
def uop_tables(draw, limit=8, max_size=6):
    return draw(st.lists(st.builds(Uop, st.integers(0, limit - 1), st.integers(0, limit - 1),
                                   st.integers(0, limit - 1)), min_size=1, max_size=max_size))


@st.composite
def loops(draw, uop_count, factor_limit=3, extent_limit=3):
    bgn = draw(st.integers(0, uop_count - 1))
    end = draw(st.integers(bgn + 1, uop_count))
    factor = st.integers(0, factor_limit)
    return dict(reset=draw(st.integers(0, 3)) == 0,
                uop_bgn=bgn, uop_end=end,
                iter_out=draw(st.integers(1, extent_limit)),
                iter_in=draw(st.integers(1, extent_limit)),
                dst_factor_out=draw(factor), dst_factor_in=draw(factor),
                src_factor_out=draw(factor), src_factor_in=draw(factor))


def check_loop_results(simulator, acc, written, poisoned):
    state = simulator.state
    assert state.acc[:N_ELEMENTS].tolist() == acc
    assert not state.acc[N_ELEMENTS:].any()
    for element in range(N_ELEMENTS):
        if element in written:
            assert bool(state.out_poisoned[element]) == poisoned[element]
            if not poisoned[element]:
                assert state.out[element].tolist() == \
                    [[low8(v) for v in row] for row in acc[element]]
        else:
            assert not state.out_poisoned[element] and not state.out[element].any()


def track_writes(insn, uops, written, poisoned):
    for o in range(insn.iter_out):
        for i in range(insn.iter_in):
            for u in range(insn.uop_bgn, insn.uop_end):
                dst = uops[u].dst + o * insn.dst_factor_out + i * insn.dst_factor_in
                written.add(dst)
                poisoned[dst] = insn.reset


@pytest.mark.parametrize("name", SMALL_CONFIGS)
@settings(max_examples=60)
@given(data=st.data())
def test_random_gemm_programs_match_a_per_element_reference(name, data):
    config = PRESETS[name]
    uops = data.draw(uop_tables())
    shape_inp, shape_wgt = inp_shape(config, N_ELEMENTS), wgt_shape(config, N_ELEMENTS)
    inp = data.draw(hnp.arrays(np.int8, shape_inp))
    wgt = data.draw(hnp.arrays(np.int8, shape_wgt))
    acc0 = data.draw(hnp.arrays(np.int32, acc_shape(config, N_ELEMENTS), elements=int32s))
    gemms = [GemmInsn(**data.draw(loops(len(uops))),
                      wgt_factor_out=data.draw(st.integers(0, 3)),
                      wgt_factor_in=data.draw(st.integers(0, 3)))
             for _ in range(data.draw(st.integers(1, 3)))]

    builder = PoolBuilder(config, POOL_BYTES)
    insns = [uop_load(builder, uops),
             row_load(INP, builder.place_elements(inp, INP), N_ELEMENTS),
             row_load(WGT, builder.place_elements(wgt, WGT), N_ELEMENTS),
             row_load(ACC, builder.place_elements(acc0, ACC), N_ELEMENTS), *gemms]
    simulator, _ = run(builder, insns)

    acc, written, poisoned = acc0.tolist(), set(), {}
    for gemm in gemms:
        acc = gemm_reference(config, inp, wgt, acc, uops, gemm)
        track_writes(gemm, uops, written, poisoned)
    check_loop_results(simulator, acc, written, poisoned)


@pytest.mark.parametrize("name", SMALL_CONFIGS)
@settings(max_examples=80)
@given(data=st.data())
def test_random_alu_programs_match_a_sequential_reference(name, data):
    """Small index ranges make steps collide, exercising the sequential semantics."""
    config = PRESETS[name]
    uops = data.draw(uop_tables(limit=6))
    acc0 = data.draw(hnp.arrays(np.int32, acc_shape(config, N_ELEMENTS), elements=int32s))
    alus = []
    for _ in range(data.draw(st.integers(1, 3))):
        loop = data.draw(loops(len(uops), factor_limit=2))
        use_imm = data.draw(st.booleans())
        imm = data.draw(st.one_of(st.integers(-40, 40), st.integers(-(1 << 15), (1 << 15) - 1)))
        alus.append(AluInsn(**loop, alu_opcode=data.draw(st.sampled_from(list(AluOpcode))),
                            use_imm=use_imm, imm=imm))

    builder = PoolBuilder(config, POOL_BYTES)
    insns = [uop_load(builder, uops), row_load(ACC, builder.place_elements(acc0, ACC), N_ELEMENTS),
             *alus]
    simulator, _ = run(builder, insns)

    acc, written, poisoned = acc0.tolist(), set(), {}
    for alu in alus:
        acc = alu_sequence_reference(acc, uops, alu)
        track_writes(alu, uops, written, poisoned)
    check_loop_results(simulator, acc, written, poisoned)
