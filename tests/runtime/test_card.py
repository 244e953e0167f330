"""The card driver (OpenCL on PoCL, and the simulator behind the same interface) and the core.

Kernel checks are small hand-written programs, one per feature, laid out by
:class:`ImageBuilder`. Each runs on the simulated card and on the OpenCL card (both SRAM
placements); the pools must be identical, and the stored results must equal values this
file computes with numpy straight from docs/isa.md. Results wider than OUT's 8 bits are
made visible by storing a region four times with ``ALU SHR 8`` in between: store k holds
byte k of every accumulator (see :func:`store_acc_words`).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from canopy_mlir.hw import INSN_BYTES, PRESETS, UOP_BYTES, HardwareConfig
from canopy_mlir.isa_format import (
    AluInsn,
    AluOpcode,
    FinishInsn,
    GemmInsn,
    Instruction,
    LoadInsn,
    MemoryType,
    StoreInsn,
    Uop,
    encode_instructions,
    encode_uops,
)
from canopy_mlir.isa_semantics import dram_elem_bytes
from canopy_mlir.runtime import kernel_build
from canopy_mlir.runtime.card import (
    Card,
    CardError,
    DeviceBuffer,
    OpenCLCard,
    SimulatedCard,
    open_card,
    opencl_devices,
    select_device,
)

HAVE_OPENCL = bool(opencl_devices())
needs_opencl = pytest.mark.skipif(not HAVE_OPENCL, reason="no OpenCL platform is installed")

KERNEL_CONFIGS = ["tiny", "tiny-b2", "intelfocl"]
PLACEMENTS = ["local", "pool"]
POOL_BYTES = 64 << 10
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
EXTREMES = [INT32_MIN, INT32_MIN + 1, -65536, -129, -128, -1, 0, 1, 127, 128, 255, 65535,
            INT32_MAX - 1, INT32_MAX]


# ============================================================ program images
def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


class ImageBuilder:
    """A pool image built by hand: instructions from byte 0, then aligned data regions.

    The micro-op table collected with :meth:`uop` is loaded to UOP[0:n) by a LOAD UOP that
    :meth:`image` puts before the program; a FINISH ends it.
    """

    INSN_CAPACITY = 96

    def __init__(self, config: HardwareConfig, pool_bytes: int = POOL_BYTES):
        self.config = config
        self.pool = np.zeros(pool_bytes, dtype=np.uint8)
        self.insns: list[Instruction] = []
        self.uops: list[Uop] = []
        self.cursor = _align(self.INSN_CAPACITY * INSN_BYTES, config.pool_alignment)
        self.uop_table = self.reserve(64 * UOP_BYTES)

    def reserve(self, nbytes: int) -> int:
        offset = self.cursor
        self.cursor = _align(offset + nbytes, self.config.pool_alignment)
        assert self.cursor <= self.pool.size, "test image larger than its pool"
        return offset

    def place(self, data: np.ndarray) -> int:
        raw = np.ascontiguousarray(data).reshape(-1).view(np.uint8)
        offset = self.reserve(raw.size)
        self.pool[offset:offset + raw.size] = raw
        return offset

    def element(self, offset: int, memory: MemoryType) -> int:
        elem = dram_elem_bytes(memory, self.config)
        assert offset % elem == 0
        return offset // elem

    def uop(self, dst: int = 0, src: int = 0, wgt: int = 0) -> int:
        self.uops.append(Uop(dst, src, wgt))
        return len(self.uops) - 1

    def add(self, *insns: Instruction) -> None:
        self.insns += insns

    def program(self) -> list[Instruction]:
        load_uops = LoadInsn(memory_type=MemoryType.UOP, sram_base=0,
                             dram_base=self.uop_table // UOP_BYTES,
                             x_size=len(self.uops), x_stride=len(self.uops))
        return [load_uops, *self.insns, FinishInsn()]

    def image(self) -> tuple[np.ndarray, int]:
        """The pool image and its instruction count."""
        program = self.program()
        assert len(program) <= self.INSN_CAPACITY
        pool = self.pool.copy()
        insns = encode_instructions(program, self.config).astype("<u8").reshape(-1).view(np.uint8)
        pool[:insns.size] = insns
        uops = encode_uops(self.uops, self.config).astype("<u4").view(np.uint8)
        pool[self.uop_table:self.uop_table + uops.size] = uops
        return pool, len(program)


def run_image(card: Card, pool: np.ndarray, insn_count: int) -> np.ndarray:
    buf = card.alloc(pool.size)
    assert buf.offset == 0  # a fresh card's first buffer starts at the pool base
    card.write(buf, pool)
    card.run(0, insn_count)
    return card.read(buf)


def run_everywhere(builder: ImageBuilder) -> np.ndarray:
    """Run on the simulator and on OpenCL (both SRAM placements); pools must be identical."""
    pool, count = builder.image()
    expected = run_image(SimulatedCard(builder.config, pool.size), pool, count)
    if HAVE_OPENCL:
        for placement in PLACEMENTS:
            card = OpenCLCard(builder.config, pool.size, sram_placement=placement)
            result = run_image(card, pool, count)
            card.close()
            mismatch = np.flatnonzero(result != expected)
            assert mismatch.size == 0, (
                f"OpenCL core ({placement} SRAM) differs from the simulator at pool bytes "
                f"{mismatch[:16].tolist()}"
            )
    return expected


def store_acc_words(b: ImageBuilder, acc_base: int, count: int) -> list[int]:
    """Store ACC[acc_base : +count) as four byte planes; return their pool offsets.

    ``ALU ADD 0`` first mirrors the region into OUT (LOADs do not write OUT). Each store
    writes OUT (the low byte of the last write), then ``ALU SHR 8`` shifts the region,
    so plane k holds bits [8k, 8k+8) of every accumulator. Stores go out as
    ``rows`` rows with a gap of two elements between rows, to exercise x_stride.
    """
    cfg = b.config
    rows = 4 if count % 4 == 0 else 1
    width = count // rows
    stride = width + 2 if rows > 1 else width
    shift = b.uop(dst=acc_base, src=acc_base)
    b.add(AluInsn(alu_opcode=AluOpcode.ADD, use_imm=True, imm=0, uop_bgn=shift,
                  uop_end=shift + 1, iter_out=count, dst_factor_out=1, src_factor_out=1))
    planes = []
    for k in range(4):
        offset = b.reserve(((rows - 1) * stride + width) * cfg.out_elem_bytes)
        b.add(StoreInsn(sram_base=acc_base, dram_base=b.element(offset, MemoryType.OUT),
                        y_size=rows, x_size=width, x_stride=stride))
        if k < 3:
            b.add(AluInsn(alu_opcode=AluOpcode.SHR, use_imm=True, imm=8, uop_bgn=shift,
                          uop_end=shift + 1, iter_out=count, dst_factor_out=1,
                          src_factor_out=1))
        planes.append(offset)
    return planes


def read_acc_words(pool: np.ndarray, planes: list[int], count: int,
                   config: HardwareConfig) -> np.ndarray:
    """Reassemble the int32 accumulators that :func:`store_acc_words` stored."""
    rows = 4 if count % 4 == 0 else 1
    width = count // rows
    stride = width + 2 if rows > 1 else width
    elem = config.out_elem_bytes
    value = np.zeros((count, elem), dtype=np.uint32)
    for k, offset in enumerate(planes):
        plane = pool[offset:offset + ((rows - 1) * stride + width) * elem].copy()
        plane = np.resize(plane, rows * stride * elem).reshape(rows, stride, elem)[:, :width]
        value |= plane.reshape(count, elem).astype(np.uint32) << np.uint32(8 * k)
    return value.view(np.int32).reshape(count, config.batch, config.block_out)


def wrap32(values: np.ndarray) -> np.ndarray:
    """Low 32 bits, two's complement (ADD, MUL, GEMM accumulation wrap like this)."""
    return (np.asarray(values, dtype=np.int64) & 0xFFFFFFFF).astype(np.uint32).view(np.int32)


def shr_reference(a: np.ndarray, s: np.ndarray) -> np.ndarray:
    """docs/isa.md SHR: s >= 0 arithmetic right by min(s, 31); s < 0 left by -s, 0 from 32."""
    a, s = np.broadcast_arrays(np.asarray(a, np.int64), np.asarray(s, np.int64))
    right = a >> np.minimum(np.maximum(s, 0), 31)
    left = np.where(-s >= 32, 0, a << np.clip(-s, 0, 31))
    return wrap32(np.where(s >= 0, right, left))


def acc_tiles(config: HardwareConfig, count: int, values: list[int], rng) -> np.ndarray:
    """``count`` ACC elements holding ``values`` first, then random int32s."""
    n = count * config.batch * config.block_out
    data = rng.integers(INT32_MIN, INT32_MAX, n, endpoint=True, dtype=np.int64)
    data[:min(len(values), n)] = values[:n]
    return data.astype("<i4").reshape(count, config.batch, config.block_out)


def int8_tiles(rng, *shape: int) -> np.ndarray:
    return rng.integers(-128, 128, shape, dtype=np.int64).astype(np.int8)


# ============================================================ kernel vs simulator vs numpy
@pytest.mark.parametrize("name", KERNEL_CONFIGS)
def test_padded_inp_load_gemm_store(name):
    """Padded 2-D INP load, a token-only load, GEMM reset + two accumulating GEMMs, STORE."""
    cfg, rng = PRESETS[name], np.random.default_rng(1)
    b = ImageBuilder(cfg)
    x = int8_tiles(rng, 2, 4, cfg.batch, cfg.block_in)  # 2 rows of 4 INP elements in DRAM
    w = int8_tiles(rng, 2, cfg.block_out, cfg.block_in)
    x_at, w_at = b.place(x), b.place(w)
    base = 3  # INP SRAM base: padded window is 4 x 4 elements at [3, 19)
    b.add(LoadInsn(memory_type=MemoryType.INP, sram_base=base,
                   dram_base=b.element(x_at, MemoryType.INP), y_size=2, x_size=3, x_stride=4,
                   y_pad0=1, y_pad1=1, x_pad0=1, x_pad1=0))
    # A zero-sized load moves nothing, not even its padding.
    b.add(LoadInsn(memory_type=MemoryType.INP, sram_base=base,
                   dram_base=b.element(x_at, MemoryType.INP), y_size=0, x_size=3, x_stride=4,
                   y_pad0=2, x_pad0=2))
    b.add(LoadInsn(memory_type=MemoryType.WGT, sram_base=1,
                   dram_base=b.element(w_at, MemoryType.WGT), x_size=2, x_stride=2))
    # acc[2p + w] = padded[p] @ W[w]^T for every padded element p and weight w.
    u0 = b.uop(dst=0, src=base, wgt=1)
    b.add(GemmInsn(reset=True, uop_bgn=u0, uop_end=u0 + 1, iter_out=16, iter_in=2,
                   dst_factor_out=2, dst_factor_in=1))
    b.add(GemmInsn(uop_bgn=u0, uop_end=u0 + 1, iter_out=16, iter_in=2, dst_factor_out=2,
                   dst_factor_in=1, src_factor_out=1, wgt_factor_in=1))
    # Two micro-ops per step: acc[2p] += padded[p+4] @ W[1]^T, acc[2p+1] += padded[p+4] @ W[0]^T.
    u1 = b.uop(dst=0, src=base + 4, wgt=2)
    b.uop(dst=1, src=base + 4, wgt=1)
    b.add(GemmInsn(uop_bgn=u1, uop_end=u1 + 2, iter_out=12, dst_factor_out=2, src_factor_out=1))
    planes = store_acc_words(b, acc_base=0, count=32)

    pool = run_everywhere(b)

    padded = np.zeros((4, 4, cfg.batch, cfg.block_in), dtype=np.int64)
    padded[1:3, 1:4] = x[:, 0:3]
    padded = padded.reshape(16, cfg.batch, cfg.block_in)
    wt = w.astype(np.int64)
    acc = np.zeros((32, cfg.batch, cfg.block_out), dtype=np.int64)
    for p in range(16):
        for k in range(2):
            acc[2 * p + k] = padded[p] @ wt[k].T
    for p in range(12):
        acc[2 * p] += padded[p + 4] @ wt[1].T
        acc[2 * p + 1] += padded[p + 4] @ wt[0].T
    np.testing.assert_array_equal(read_acc_words(pool, planes, 32, cfg), wrap32(acc))


@pytest.mark.parametrize("name", KERNEL_CONFIGS)
def test_acc_loads_and_wrapping_accumulation(name):
    """2-D LOAD ACC (int32), LOAD ACC_8BIT (sign-extended), GEMM and ALU ADD wrapping at 32 bits."""
    cfg, rng = PRESETS[name], np.random.default_rng(2)
    b = ImageBuilder(cfg)
    near_max = rng.integers(INT32_MAX - 2**16, INT32_MAX, 2 * cfg.out_elem_bytes, endpoint=True)
    bias = acc_tiles(cfg, 6, list(near_max) + EXTREMES, rng)  # a 2 x 3 grid, 2 x 2 loaded
    small = int8_tiles(rng, 4, cfg.batch, cfg.block_out)
    inp = np.full((1, cfg.batch, cfg.block_in), 127, dtype=np.int8)
    wgt = rng.choice(np.array([127, -128], dtype=np.int8), (1, cfg.block_out, cfg.block_in))
    bias_at, small_at = b.place(bias), b.place(small)
    inp_at, wgt_at = b.place(inp), b.place(wgt)
    b.add(LoadInsn(memory_type=MemoryType.ACC, sram_base=0,
                   dram_base=b.element(bias_at, MemoryType.ACC), y_size=2, x_size=2, x_stride=3))
    b.add(LoadInsn(memory_type=MemoryType.ACC_8BIT, sram_base=4,
                   dram_base=b.element(small_at, MemoryType.ACC_8BIT), x_size=4, x_stride=4))
    b.add(LoadInsn(memory_type=MemoryType.INP, sram_base=0,
                   dram_base=b.element(inp_at, MemoryType.INP), x_size=1, x_stride=1))
    b.add(LoadInsn(memory_type=MemoryType.WGT, sram_base=0,
                   dram_base=b.element(wgt_at, MemoryType.WGT), x_size=1, x_stride=1))
    gemm = b.uop(dst=0, src=0, wgt=0)
    b.add(GemmInsn(uop_bgn=gemm, uop_end=gemm + 1, iter_out=4, dst_factor_out=1))
    add = b.uop(dst=0, src=4)
    b.add(AluInsn(alu_opcode=AluOpcode.ADD, uop_bgn=add, uop_end=add + 1, iter_out=4,
                  dst_factor_out=1, src_factor_out=1))
    planes = store_acc_words(b, acc_base=0, count=8)

    pool = run_everywhere(b)

    loaded = bias.astype(np.int64)[[0, 1, 3, 4]]
    product = inp[0].astype(np.int64) @ wgt[0].astype(np.int64).T
    expected = np.concatenate([wrap32(wrap32(loaded + product) + small.astype(np.int64)),
                               small.astype(np.int32)])
    np.testing.assert_array_equal(read_acc_words(pool, planes, 8, cfg), expected)


def _reference_alu(opcode: AluOpcode, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a, b = np.asarray(a, np.int64), np.asarray(b, np.int64)
    return {
        AluOpcode.MIN: lambda: wrap32(np.minimum(a, b)),
        AluOpcode.MAX: lambda: wrap32(np.maximum(a, b)),
        AluOpcode.ADD: lambda: wrap32(a + b),
        AluOpcode.MUL: lambda: wrap32((a * b) & 0xFFFFFFFF),
        AluOpcode.SHR: lambda: shr_reference(a, b),
    }[opcode]()


@pytest.mark.parametrize("name", KERNEL_CONFIGS)
def test_alu_vector_operands(name):
    """Every ALU opcode with an ACC operand, on extreme values (shift amounts past +-32)."""
    cfg, rng = PRESETS[name], np.random.default_rng(3)
    b = ImageBuilder(cfg)
    n = 2  # ACC elements per operand
    expected = []
    for k, opcode in enumerate(AluOpcode):
        a = acc_tiles(cfg, n, EXTREMES[::-1], rng)
        if opcode == AluOpcode.SHR:
            shifts = [0, 1, 7, 31, 32, 33, 1000, -1, -7, -31, -32, -33, -1000, INT32_MIN]
            amounts = rng.integers(-40, 41, a.size)
            amounts[:len(shifts)] = shifts[:a.size]
            operand = amounts.astype("<i4").reshape(a.shape)
        else:
            operand = acc_tiles(cfg, n, EXTREMES, rng)
        dst = 2 * n * k
        for tile, sram in ((a, dst), (operand, dst + n)):
            b.add(LoadInsn(memory_type=MemoryType.ACC, sram_base=sram,
                           dram_base=b.element(b.place(tile), MemoryType.ACC),
                           x_size=n, x_stride=n))
        u = b.uop(dst=dst, src=dst + n)
        b.add(AluInsn(alu_opcode=opcode, uop_bgn=u, uop_end=u + 1, iter_out=n,
                      dst_factor_out=1, src_factor_out=1))
        expected += [_reference_alu(opcode, a, operand), operand]
    count = 2 * n * len(AluOpcode)
    planes = store_acc_words(b, acc_base=0, count=count)

    pool = run_everywhere(b)
    np.testing.assert_array_equal(read_acc_words(pool, planes, count, cfg),
                                  np.concatenate(expected))


IMMEDIATE_CASES = [
    (AluOpcode.MIN, -5), (AluOpcode.MAX, 7), (AluOpcode.ADD, -32768), (AluOpcode.ADD, 32767),
    (AluOpcode.MUL, 32767), (AluOpcode.MUL, -32768), (AluOpcode.MUL, -1),
    (AluOpcode.SHR, 0), (AluOpcode.SHR, 3), (AluOpcode.SHR, 31), (AluOpcode.SHR, 32),
    (AluOpcode.SHR, 1000), (AluOpcode.SHR, -1), (AluOpcode.SHR, -31), (AluOpcode.SHR, -32),
    (AluOpcode.SHR, -33), (AluOpcode.SHR, -32768),
]


@pytest.mark.parametrize("name", KERNEL_CONFIGS)
def test_alu_immediates(name):
    """Immediates are sign-extended 16-bit values; one ACC element per (opcode, imm) case."""
    cfg, rng = PRESETS[name], np.random.default_rng(4)
    b = ImageBuilder(cfg)
    data = acc_tiles(cfg, len(IMMEDIATE_CASES), EXTREMES * 40, rng)
    b.add(LoadInsn(memory_type=MemoryType.ACC, sram_base=0,
                   dram_base=b.element(b.place(data), MemoryType.ACC),
                   x_size=len(IMMEDIATE_CASES), x_stride=len(IMMEDIATE_CASES)))
    expected = []
    for k, (opcode, imm) in enumerate(IMMEDIATE_CASES):
        u = b.uop(dst=k, src=k)
        b.add(AluInsn(alu_opcode=opcode, use_imm=True, imm=imm, uop_bgn=u, uop_end=u + 1))
        expected.append(_reference_alu(opcode, data[k], imm))
    planes = store_acc_words(b, acc_base=0, count=len(IMMEDIATE_CASES))

    pool = run_everywhere(b)
    np.testing.assert_array_equal(read_acc_words(pool, planes, len(IMMEDIATE_CASES), cfg),
                                  np.stack(expected))


@pytest.mark.parametrize("name", KERNEL_CONFIGS)
def test_alu_steps_run_in_loop_order(name):
    """Later steps see earlier writes (a running sum); dst == src; ALU reset then ADD."""
    cfg, rng = PRESETS[name], np.random.default_rng(5)
    b = ImageBuilder(cfg)
    data = acc_tiles(cfg, 12, EXTREMES, rng)
    b.add(LoadInsn(memory_type=MemoryType.ACC, sram_base=0,
                   dram_base=b.element(b.place(data), MemoryType.ACC), x_size=12, x_stride=12))
    # acc[k] += acc[k - 1] for k = 1..7, in order: prefix sums of acc[0:8].
    running = b.uop(dst=1, src=0)
    b.add(AluInsn(alu_opcode=AluOpcode.ADD, uop_bgn=running, uop_end=running + 1, iter_out=7,
                  dst_factor_out=1, src_factor_out=1))
    # acc[k] *= acc[k] for k = 8, 9, through a 2 x 1 loop nest using iter_in.
    square = b.uop(dst=8, src=8)
    b.add(AluInsn(alu_opcode=AluOpcode.MUL, uop_bgn=square, uop_end=square + 1, iter_in=2,
                  dst_factor_in=1, src_factor_in=1))
    # acc[10], acc[11] = 0, then + 5: OUT is defined again after the ADD.
    reset = b.uop(dst=10, src=10)
    b.add(AluInsn(reset=True, uop_bgn=reset, uop_end=reset + 1, iter_out=2, dst_factor_out=1))
    b.add(AluInsn(alu_opcode=AluOpcode.ADD, use_imm=True, imm=5, uop_bgn=reset,
                  uop_end=reset + 1, iter_out=2, dst_factor_out=1))
    planes = store_acc_words(b, acc_base=0, count=12)

    pool = run_everywhere(b)
    values = data.astype(np.int64)
    expected = np.concatenate([
        wrap32(np.cumsum(values[:8], axis=0)),
        wrap32(values[8:10] * values[8:10]),
        np.full((2, cfg.batch, cfg.block_out), 5, dtype=np.int32),
    ])
    np.testing.assert_array_equal(read_acc_words(pool, planes, 12, cfg), expected)


@needs_opencl
def test_out_of_range_sram_indices_are_wrapped_by_the_core():
    """The simulator refuses SRAM indices past the depth; the core wraps them and survives."""
    cfg = PRESETS["tiny"]
    b = ImageBuilder(cfg)
    u = b.uop(dst=cfg.acc_depth - 1, src=0)
    b.add(AluInsn(alu_opcode=AluOpcode.ADD, use_imm=True, imm=3, uop_bgn=u, uop_end=u + 1,
                  iter_out=2, dst_factor_out=1))  # dst = depth - 1, then depth (wraps to 0)
    b.add(StoreInsn(sram_base=0, dram_base=b.element(b.reserve(64), MemoryType.OUT),
                    x_size=1, x_stride=1))
    pool, count = b.image()
    with pytest.raises(CardError, match="simulation of instructions") as info:
        run_image(SimulatedCard(cfg, pool.size), pool, count)
    assert info.value.__cause__ is not None
    result = run_image(OpenCLCard(cfg, pool.size), pool, count)
    stored = result[b.cursor - 64:b.cursor - 64 + cfg.out_elem_bytes]
    np.testing.assert_array_equal(stored, 3)  # OUT[0] got the wrapped write


# ============================================================ GEMM speed
def gemm_program(cfg: HardwareConfig, a: np.ndarray,
                 w: np.ndarray) -> tuple[ImageBuilder, int, int]:
    """C = A @ W^T (int8, low byte stored) for batch-1 configs, tiled over rows of A.

    Each tile of rows: LOAD INP rows, GEMM reset, one GEMM over (row, column block) with a
    micro-op per K block, STORE. All weights stay in WGT. Returns the builder, C's pool
    offset and the number of GEMM micro-op steps.
    """
    assert cfg.batch == 1
    m, k = a.shape
    n = w.shape[0]
    kb, nb = k // cfg.block_in, n // cfg.block_out
    rows = min(cfg.inp_depth // kb, cfg.acc_depth // nb, m)
    assert nb * kb <= cfg.wgt_depth and m % rows == 0
    b = ImageBuilder(cfg, pool_bytes=_align(m * k + n * k + m * n, 4096) + 8192)
    tiles = w.reshape(nb, cfg.block_out, kb, cfg.block_in).transpose(0, 2, 1, 3)
    a_at, w_at, c_at = b.place(a), b.place(tiles), b.reserve(m * n)
    b.add(LoadInsn(memory_type=MemoryType.WGT, sram_base=0,
                   dram_base=b.element(w_at, MemoryType.WGT), x_size=nb * kb, x_stride=nb * kb))
    first = len(b.uops)
    for block in range(kb):  # uop per K block: src = row*kb + block, wgt = col*kb + block
        b.uop(dst=0, src=block, wgt=block)
    reset = b.uop()
    steps = 0
    for r0 in range(0, m, rows):
        b.add(LoadInsn(memory_type=MemoryType.INP, sram_base=0,
                       dram_base=b.element(a_at, MemoryType.INP) + r0 * kb,
                       x_size=rows * kb, x_stride=rows * kb))
        b.add(GemmInsn(reset=True, uop_bgn=reset, uop_end=reset + 1, iter_out=rows * nb,
                       dst_factor_out=1))
        b.add(GemmInsn(uop_bgn=first, uop_end=first + kb, iter_out=rows, iter_in=nb,
                       dst_factor_out=nb, dst_factor_in=1, src_factor_out=kb,
                       wgt_factor_in=kb))
        b.add(StoreInsn(sram_base=0, dram_base=b.element(c_at, MemoryType.OUT) + r0 * nb,
                        x_size=rows * nb, x_stride=rows * nb))
        steps += rows * nb * kb
    return b, c_at, steps


@needs_opencl
def test_gemm_256_cubed_on_intelfocl_is_fast_and_exact(capsys):
    cfg, rng = PRESETS["intelfocl"], np.random.default_rng(6)
    size = 256
    a, w = int8_tiles(rng, size, size), int8_tiles(rng, size, size)
    b, c_at, steps = gemm_program(cfg, a, w)
    pool, count = b.image()
    card = OpenCLCard(cfg, pool.size)
    buf = card.alloc(pool.size)
    card.write(buf, pool)
    card.run(0, count)  # warm-up: the first launch compiles the kernel for the device
    start = time.perf_counter()
    card.run(0, count)
    seconds = time.perf_counter() - start
    c = card.read(buf, np.int8, size * size, c_at).reshape(size, size)
    np.testing.assert_array_equal(c, (a.astype(np.int64) @ w.astype(np.int64).T).astype(np.int8))
    with capsys.disabled():
        print(f"\n256x256x256 GEMM on intelfocl ({steps} micro-op steps, {count} instructions): "
              f"{seconds * 1e3:.1f} ms on {card.device.name.strip()}")


# ============================================================ buffers and DMA
@pytest.fixture(params=["opencl", "sim"])
def card(request):
    if request.param == "opencl" and not HAVE_OPENCL:
        pytest.skip("no OpenCL platform is installed")
    with open_card("tiny-b2", 4096, backend=request.param) as card:
        yield card


def test_round_trip_of_several_dtypes(card):
    data = np.arange(-50, 50, dtype=np.int32)
    words = card.alloc(data.nbytes)
    card.write(words, data)
    np.testing.assert_array_equal(card.read(words, np.int32), data)
    np.testing.assert_array_equal(card.read(words, np.int32, count=3, offset=8), data[2:5])
    raw = card.alloc(100)
    card.write(raw, bytes(range(10)), offset=90)
    assert card.read(raw, count=10, offset=90).tolist() == list(range(10))
    assert card.read(raw, count=0).size == 0
    # Big-endian host data lands little-endian on the card.
    big = card.alloc(8)
    card.write(big, np.array([1, -2], dtype=">i4"))
    assert card.read(big, "<i4").tolist() == [1, -2]
    assert card.read(big, np.uint8)[:4].tolist() == [1, 0, 0, 0]


def test_buffers_are_aligned_for_every_element_kind(card):
    alignment = card.config.pool_alignment
    buffers = [card.alloc(n) for n in (1, 3, alignment + 1, 7)]
    for buf in buffers:
        assert buf.offset % alignment == 0
        for memory in MemoryType:
            buf.element_index(dram_elem_bytes(memory, card.config))
    ends = sorted((b.offset, b.end) for b in buffers)
    assert all(e1 <= s2 for (_, e1), (s2, _) in zip(ends, ends[1:]))
    with pytest.raises(CardError, match="not aligned to 64-byte"):
        DeviceBuffer(32, 8).element_index(64)


def test_out_of_buffer_access_is_refused(card):
    buf = card.alloc(16)
    with pytest.raises(CardError, match="write of 17 bytes at offset 0 does not fit the 16-byte"):
        card.write(buf, bytes(17))
    with pytest.raises(CardError, match="write of 4 bytes at offset 13 does not fit"):
        card.write(buf, np.zeros(1, np.int32), offset=13)
    with pytest.raises(CardError, match="at offset -1 does not fit"):
        card.write(buf, b"x", offset=-1)
    with pytest.raises(CardError, match="read of 20 bytes at offset 0 does not fit"):
        card.read(buf, np.int32, count=5)
    with pytest.raises(CardError, match="read count must be a non-negative integer"):
        card.read(buf, count=-1)
    with pytest.raises(CardError, match="can only write numpy arrays or bytes"):
        card.write(buf, [1, 2, 3])


def test_freed_and_foreign_buffers_are_refused(card):
    buf = card.alloc(16)
    card.free(buf)
    again = card.alloc(16)  # same offset, different allocation
    assert again.offset == buf.offset
    with pytest.raises(CardError, match="not a live buffer"):
        card.write(buf, b"stale")
    with pytest.raises(CardError, match="not a live buffer"):
        card.free(buf)
    with pytest.raises(CardError, match="not a live buffer"):
        card.read(DeviceBuffer(0, 16))
    card.free(again)
    with pytest.raises(CardError, match="not a DeviceBuffer"):
        card.free(0)


def test_pool_exhaustion_is_a_clear_error(card):
    card.alloc(1024)
    with pytest.raises(CardError, match=r"cannot allocate 4000 bytes.*largest free block is "
                                        r"3072 bytes of the 4096-byte pool"):
        card.alloc(4000)
    with pytest.raises(CardError, match="allocation size must be positive"):
        card.alloc(0)


# ============================================================ launch checks
def _launch_image(card: Card, insns: list[Instruction]) -> DeviceBuffer:
    buf = card.alloc(card.pool_bytes)
    image = np.zeros(card.pool_bytes, dtype=np.uint8)
    words = encode_instructions(insns, card.config).astype("<u8").reshape(-1).view(np.uint8)
    image[:words.size] = words
    card.write(buf, image)
    return buf


def test_run_rejects_malformed_instruction_before_launching(card):
    sentinel = card.pool_bytes // card.config.out_elem_bytes - 1
    buf = _launch_image(card, [
        StoreInsn(sram_base=0, dram_base=sentinel, x_size=1, x_stride=1),
        LoadInsn(memory_type=MemoryType.WGT, x_size=1, x_stride=1, x_pad0=1),
    ])
    elem = card.config.out_elem_bytes
    card.write(buf, b"\x55" * elem, offset=card.pool_bytes - elem)
    with pytest.raises(CardError, match=r"instruction 1 \(LOAD WGT\): padding is only "
                                        r"supported on INP loads"):
        card.run(0, 2)
    # Nothing ran: the valid STORE before the bad instruction did not write its zeros.
    assert card.read(buf, count=1, offset=card.pool_bytes - 1)[0] == 0x55


def test_run_rejects_undecodable_instruction(card):
    buf = _launch_image(card, [FinishInsn()])
    card.write(buf, np.array([7, 0], dtype="<u8"), offset=INSN_BYTES)  # opcode 7
    with pytest.raises(CardError, match=r"instruction 1 \(opcode 7\): cannot be decoded: opcode 7 is not one of"):
        card.run(0, 2)


def test_run_rejects_dram_range_outside_the_pool(card):
    elem = card.config.out_elem_bytes
    _launch_image(card, [FinishInsn(),
                         StoreInsn(sram_base=0, dram_base=card.pool_bytes // elem - 1,
                                   y_size=2, x_size=1, x_stride=1)])
    with pytest.raises(CardError, match=r"instruction 1 \(STORE OUT\): DRAM bytes "
                                        rf"\[{card.pool_bytes - elem}, {card.pool_bytes + elem}\) "
                                        r"lie outside the 4096-byte device pool"):
        card.run(0, 2)


def test_run_rejects_instruction_range_outside_the_pool(card):
    last = card.pool_bytes // INSN_BYTES
    end = card.pool_bytes
    with pytest.raises(CardError, match=rf"instructions \[{last - 1}, {last + 1}\) occupy "
                                        rf"pool bytes \[{end - 16}, {end + 16}\)"):
        card.run(last - 1, 2)
    with pytest.raises(CardError, match="insn_offset must be a non-negative integer"):
        card.run(-1, 1)
    card.run(last, 0)  # an empty launch is allowed and does nothing


def test_checked_programs_are_remembered_until_their_bytes_change(card, monkeypatch):
    """A launch run again is not re-read or re-decoded; a host write over its bytes, or
    a STORE of a launch over them, makes the next run check them again."""
    elem = card.config.out_elem_bytes
    buf = _launch_image(card, [StoreInsn(sram_base=0, dram_base=card.pool_bytes // elem - 1, x_size=1,
                                         x_stride=1), FinishInsn()])
    reads = []
    real_read = card._read_bytes
    monkeypatch.setattr(card, "_read_bytes", lambda offset, n: reads.append(offset) or real_read(offset, n))
    first = card.check_program(0, 2)
    card.run(0, 2)
    card.run(0, 2)
    assert card.check_program(0, 2) is first and reads == [0], "decoded once"
    # A host write over the instructions: the bad one is refused, not the cached good one.
    card.write(buf, np.array([7, 0], dtype="<u8"), offset=INSN_BYTES)
    with pytest.raises(CardError, match="opcode 7"):
        card.run(0, 2)
    # A STORE whose DRAM range covers a checked program's bytes forgets that program.
    out_elems = INSN_BYTES // elem
    for live in card.live_buffers:
        card.free(live)
    _launch_image(card, [FinishInsn()])
    writer = (4, 2)
    program = [StoreInsn(sram_base=0, dram_base=0, x_size=out_elems, x_stride=out_elems), FinishInsn()]
    words = encode_instructions(program, card.config).astype("<u8").reshape(-1).view(np.uint8)
    card.write(card.live_buffers[0], words, offset=writer[0] * INSN_BYTES)
    victim = card.check_program(0, 1)
    card.run(*writer)  # stores OUT (whatever it holds) over instruction 0
    try:
        again = card.check_program(0, 1)
    except CardError:
        again = None  # what the STORE wrote does not decode: checked again all the same
    assert again is not victim


# ============================================================ devices and builds
@needs_opencl
def test_device_selection():
    label, device = opencl_devices()[0]
    assert select_device(device) is device
    assert select_device(label) == device
    assert select_device(label.split(":")[0]) == device
    with pytest.raises(CardError) as info:
        select_device("no-such-accelerator")
    message = str(info.value)
    assert "no OpenCL device matches 'no-such-accelerator'" in message
    assert f"{label}: {device.platform.name}" in message
    with pytest.raises(CardError, match="no OpenCL device matches '9:9'"):
        select_device("9:9")


@needs_opencl
def test_device_from_environment(monkeypatch):
    monkeypatch.setenv("CANOPY_OPENCL_DEVICE", "no-such-accelerator")
    with pytest.raises(CardError, match=r"from the \$CANOPY_OPENCL_DEVICE"):
        OpenCLCard("tiny", 4096)
    monkeypatch.setenv("CANOPY_OPENCL_DEVICE", opencl_devices()[0][0])
    assert OpenCLCard("tiny", 4096).device == opencl_devices()[0][1]


def test_open_card_backends():
    assert isinstance(open_card("tiny", 4096, backend="sim"), SimulatedCard)
    with pytest.raises(CardError, match="unknown card backend 'fpga'"):
        open_card("tiny", 4096, backend="fpga")
    with pytest.raises(CardError, match="pool size must be a positive number of bytes"):
        SimulatedCard("tiny", 0)


@needs_opencl
def test_sram_placement_follows_the_device_local_memory():
    device = select_device()
    big = PRESETS["vitis"].with_changes(name="vitis-big-wgt", log_wgt_buff_size=22)
    needed = kernel_build.sram_bytes(big)
    if needed <= device.local_mem_size:
        pytest.skip(f"{device.name} has {device.local_mem_size} bytes of local memory")
    with pytest.raises(CardError, match=f"needs {needed} bytes of on-chip buffers but "
                                        f".* has {device.local_mem_size} bytes of local memory"):
        OpenCLCard(big, 4096, sram_placement="local")
    assert OpenCLCard(big, 4096).sram_placement == "pool"
    assert OpenCLCard("tiny", 4096).sram_placement == "local"
    with pytest.raises(CardError, match="sram_placement must be 'auto', 'local' or 'pool'"):
        OpenCLCard("tiny", 4096, sram_placement="global")


def test_build_options_carry_the_config_and_every_field():
    cfg = PRESETS["tiny-b2"]
    options = kernel_build.build_options(cfg)
    for macro in ("-DVTA_BATCH=2", "-DVTA_BLOCK_IN=4", "-DVTA_BLOCK_OUT=8",
                  f"-DVTA_UOP_DEPTH={2**10 // 4}", f"-DVTA_INP_DEPTH={2**9 // 8}",
                  f"-DVTA_WGT_DEPTH={2**10 // 32}", f"-DVTA_ACC_DEPTH={2**12 // 64}",
                  "-DMEM_OPCODE_LO=0", "-DMEM_OPCODE_WIDTH=3", "-DALU_IMM_WIDTH=16",
                  "-DVTA_OPCODE_ALU=4", "-DVTA_MEM_ACC_8BIT=5", "-DVTA_ALU_SHR=3"):
        assert macro in options
    names = {o.split("=")[0][2:] for o in options}
    for kind in ("MEM", "GEMM", "ALU", "FINISH", "UOP"):
        assert {f"{kind}_OPCODE_WORD", f"{kind}_OPCODE_LO"} <= names or kind == "UOP"
    assert {"UOP_DST_LO", "UOP_SRC_WIDTH", "UOP_WGT_WORD", "GEMM_WGT_FACTOR_IN_LO",
            "ALU_USE_IMM_WIDTH", "MEM_X_PAD1_LO"} <= names
    assert not any("VTA_SRAM_IN_POOL" in o for o in options)
    pooled = kernel_build.build_options(cfg, sram_pool_offset=4096)
    assert "-DVTA_SRAM_IN_POOL=1" in pooled and "-DVTA_SRAM_POOL_OFFSET=4096" in pooled


def test_kernel_source_override(tmp_path, monkeypatch):
    monkeypatch.setenv("CANOPY_KERNEL_DIR", str(tmp_path))
    with pytest.raises(kernel_build.KernelBuildError, match="set CANOPY_KERNEL_DIR"):
        kernel_build.kernel_source()
    (tmp_path / "vta_core.cl").write_text("// replacement core\n")
    assert kernel_build.kernel_source() == "// replacement core\n"


@needs_opencl
def test_build_errors_carry_the_compiler_log(tmp_path, monkeypatch):
    import pyopencl as cl

    (tmp_path / "vta_core.cl").write_text(
        "__kernel void vta_core(uint n) { int x = undeclared_thing_42; }\n")
    monkeypatch.setenv("CANOPY_KERNEL_DIR", str(tmp_path))
    context = cl.Context([select_device()])
    with pytest.raises(kernel_build.KernelBuildError) as info:
        kernel_build.build_program(context, PRESETS["tiny"])
    message = str(info.value)
    assert "config 'tiny'" in message and "undeclared_thing_42" in message


@needs_opencl
def test_a_closed_card_refuses_dma():
    card = OpenCLCard("tiny", 4096)
    buf = card.alloc(16)
    card.close()
    with pytest.raises(CardError, match="is closed"):
        card.write(buf, b"x")
