"""Hand-written instruction programs: a tiled int8 GEMM with ReLU and requantize.

Until the compiler lowers models to the ``isa`` level, this is the program that the demo,
the benchmark and the end-to-end tests run on the card. It is written the way the
compiler will emit code: blocked DRAM layouts, a micro-op table reused through the two
hardware loop levels, double-buffered INP/ACC halves, and dependency tokens so that the
load, compute and store modules overlap.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from canopy_mlir.hw import INSN_BYTES, UOP_BYTES, HardwareConfig
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
    layouts_for,
)

INT32 = 1 << 32


class ProgramError(ValueError):
    """A GEMM shape or requantization the hand-written program cannot express."""


@dataclass(frozen=True)
class Requantize:
    """``out = clip((relu?(acc) * multiplier + 2^(shift-1)) >> shift, -128, 127)``.

    The multiplier is the ALU's signed 16-bit immediate; ``shift`` of 0 skips rounding.
    """

    multiplier: int = 1
    shift: int = 0
    relu: bool = True

    def __post_init__(self) -> None:
        if not -(1 << 15) <= self.multiplier < 1 << 15:
            raise ProgramError(f"requantize multiplier {self.multiplier} is not a signed 16-bit value")
        if not 0 <= self.shift <= 31:
            raise ProgramError(f"requantize shift {self.shift} is outside [0, 31]")


def _wrap32(values: np.ndarray) -> np.ndarray:
    return ((values.astype(np.int64) + (1 << 31)) % INT32 - (1 << 31)).astype(np.int64)


def reference_gemm(a: np.ndarray, w: np.ndarray, requant: Requantize) -> np.ndarray:
    """numpy reference: int8 ``a[M,K] @ w[N,K]^T``, then ReLU and requantize, as int8.

    Every step wraps at 32 bits exactly as the core's ALU does.
    """
    acc = _wrap32(a.astype(np.int64) @ w.astype(np.int64).T)
    if requant.relu:
        acc = np.maximum(acc, 0)
    acc = _wrap32(acc * requant.multiplier)
    if requant.shift:
        acc = _wrap32(acc + (1 << (requant.shift - 1))) >> requant.shift
    return np.clip(acc, -128, 127).astype(np.int8)


# ------------------------------------------------------------------- layouts
def pack_inputs(a: np.ndarray, config: HardwareConfig) -> np.ndarray:
    """``a[M,K]`` -> INP elements ``[M/BATCH][K/BLOCK_IN][BATCH][BLOCK_IN]`` (bytes)."""
    m, k = a.shape
    b, bi = config.batch, config.block_in
    return a.reshape(m // b, b, k // bi, bi).transpose(0, 2, 1, 3).astype(np.int8).copy()


def pack_weights(w: np.ndarray, config: HardwareConfig) -> np.ndarray:
    """``w[N,K]`` -> WGT elements ``[N/BLOCK_OUT][K/BLOCK_IN][BLOCK_OUT][BLOCK_IN]``."""
    n, k = w.shape
    bo, bi = config.block_out, config.block_in
    return w.reshape(n // bo, bo, k // bi, bi).transpose(0, 2, 1, 3).astype(np.int8).copy()


def unpack_outputs(packed: np.ndarray, m: int, n: int, config: HardwareConfig) -> np.ndarray:
    """OUT elements ``[M/BATCH][N/BLOCK_OUT][BATCH][BLOCK_OUT]`` -> ``out[M,N]``."""
    b, bo = config.batch, config.block_out
    return packed.view(np.int8).reshape(m // b, n // bo, b, bo).transpose(0, 2, 1, 3).reshape(m, n)


# ------------------------------------------------------------------- program
@dataclass(frozen=True)
class GemmPlan:
    """Blocked sizes and the row tile that fits half of INP and half of ACC."""

    config: HardwareConfig
    m_blocks: int
    n_blocks: int
    k_blocks: int
    tile_rows: int  # BATCH rows per tile (m blocks)

    @property
    def tiles(self) -> int:
        return -(-self.m_blocks // self.tile_rows)

    @property
    def inp_half(self) -> int:
        return self.config.inp_depth // 2

    @property
    def acc_half(self) -> int:
        return self.config.acc_depth // 2

    def rows_of(self, tile: int) -> int:
        return min(self.tile_rows, self.m_blocks - tile * self.tile_rows)


def plan_gemm(m: int, n: int, k: int, config: HardwareConfig) -> GemmPlan:
    """Choose the largest row tile that double-buffers in INP and ACC."""
    for dim, size, block in (("M", m, config.batch), ("N", n, config.block_out),
                             ("K", k, config.block_in)):
        if size <= 0 or size % block:
            raise ProgramError(f"GEMM {dim} = {size} must be a positive multiple of {block} "
                               f"for config '{config.name}'")
    mb, nb, kb = m // config.batch, n // config.block_out, k // config.block_in
    if nb * kb > config.wgt_depth:
        raise ProgramError(
            f"the weights need {nb * kb} WGT elements but the buffer holds "
            f"{config.wgt_depth}; the hand-written GEMM does not tile N or K"
        )
    rows = min(mb, (config.inp_depth // 2) // kb, (config.acc_depth // 2) // nb)
    if rows < 1:
        raise ProgramError(
            f"one row of the GEMM (K = {k}, N = {n}) does not fit half of the INP "
            f"({config.inp_depth}) or ACC ({config.acc_depth}) buffer"
        )
    layout = layouts_for(config)
    if rows > layout.gemm.field("iter_out").max_value:
        rows = layout.gemm.field("iter_out").max_value
    return GemmPlan(config, mb, nb, kb, rows)


@dataclass(frozen=True)
class GemmAddresses:
    """DRAM element indices (each in units of its own memory) of the program's operands."""

    inputs: int
    weights: int
    outputs: int
    uops: int


def gemm_uops(plan: GemmPlan) -> list[Uop]:
    """Micro-ops for both buffer halves: [GEMM over k for half h] then [one ALU uop per half].

    GEMM uop k of half h: dst = h*ACC/2, src = h*INP/2 + k, wgt = k; the hardware loops add
    row (iter_out) and output-block (iter_in) offsets, so the table stays 2*(K+1) long.
    """
    uops = []
    for half in range(2):
        uops += [Uop(dst=half * plan.acc_half, src=half * plan.inp_half + k, wgt=k)
                 for k in range(plan.k_blocks)]
    uops += [Uop(dst=half * plan.acc_half, src=half * plan.acc_half) for half in range(2)]
    return uops


def gemm_program(plan: GemmPlan, at: GemmAddresses, requant: Requantize) -> list[Instruction]:
    """The double-buffered instruction stream; tile t uses buffer half t % 2."""
    kb, nb = plan.k_blocks, plan.n_blocks
    alu_uop = 2 * kb
    tiles = plan.tiles
    insns: list[Instruction] = [
        LoadInsn(memory_type=MemoryType.UOP, dram_base=at.uops, x_size=2 * kb + 2, x_stride=2 * kb + 2),
        LoadInsn(memory_type=MemoryType.WGT, dram_base=at.weights, x_size=nb * kb, x_stride=nb * kb),
    ]
    for tile in range(tiles):
        half, rows = tile % 2, plan.rows_of(tile)
        first_row = tile * plan.tile_rows
        more_after = tile + 2 < tiles
        loop = dict(iter_out=rows, iter_in=nb, dst_factor_out=nb, dst_factor_in=1)
        insns.append(LoadInsn(
            memory_type=MemoryType.INP, sram_base=half * plan.inp_half,
            dram_base=at.inputs + first_row * kb, x_size=rows * kb, x_stride=rows * kb,
            pop_next=tile >= 2, push_next=True))
        insns.append(GemmInsn(reset=True, uop_bgn=half * kb, uop_end=half * kb + 1,
                              pop_next=tile >= 2, **loop))
        insns.append(GemmInsn(uop_bgn=half * kb, uop_end=(half + 1) * kb, src_factor_out=kb,
                              wgt_factor_in=kb, pop_prev=True, push_prev=more_after, **loop))
        alu = dict(uop_bgn=alu_uop + half, uop_end=alu_uop + half + 1, use_imm=True,
                   src_factor_out=nb, src_factor_in=1, **loop)
        steps = _requantize_steps(requant)
        for i, (opcode, imm) in enumerate(steps):
            insns.append(AluInsn(alu_opcode=opcode, imm=imm, push_next=i == len(steps) - 1, **alu))
        insns.append(StoreInsn(
            sram_base=half * plan.acc_half, dram_base=at.outputs + first_row * nb,
            x_size=rows * nb, x_stride=rows * nb, pop_prev=True,
            push_prev=more_after or tile == tiles - 1))
    insns.append(FinishInsn(pop_next=True))
    return insns


def _requantize_steps(requant: Requantize) -> list[tuple[AluOpcode, int]]:
    """ALU sequence: [MAX 0], MUL m, [ADD 2^(s-1), SHR s], MIN 127, MAX -128."""
    steps = [(AluOpcode.MAX, 0)] if requant.relu else []
    steps.append((AluOpcode.MUL, requant.multiplier))
    if requant.shift:
        rounding = 1 << (requant.shift - 1)
        steps += _add_large_immediate(rounding)
        steps.append((AluOpcode.SHR, requant.shift))
    steps += [(AluOpcode.MIN, 127), (AluOpcode.MAX, -128)]
    return steps


def _add_large_immediate(value: int) -> list[tuple[AluOpcode, int]]:
    """ADD a constant that may exceed the 16-bit immediate, as several ADDs."""
    steps = []
    while value > 0:
        part = min(value, (1 << 15) - 1)
        steps.append((AluOpcode.ADD, part))
        value -= part
    return steps


# ------------------------------------------------------------------ on a card
@dataclass
class GemmRun:
    """A GEMM placed on a card: everything needed to launch, inspect and read it back."""

    plan: GemmPlan
    addresses: GemmAddresses
    instructions: list[Instruction]
    uops: list[Uop]
    insn_offset: int
    out_buffer: object
    m: int
    n: int


def place_gemm(card, a: np.ndarray, w: np.ndarray, requant: Requantize) -> GemmRun:
    """Allocate pool buffers, write operands, micro-ops and instructions (host->card DMA)."""
    config = card.config
    (m, k), (n, k2) = a.shape, w.shape
    if k != k2:
        raise ProgramError(f"GEMM operands disagree on K: a is {a.shape}, w is {w.shape}")
    plan = plan_gemm(m, n, k, config)
    inputs, weights = pack_inputs(a, config), pack_weights(w, config)
    inp_buf = _alloc_write(card, inputs.tobytes())
    wgt_buf = _alloc_write(card, weights.tobytes())
    out_buf = card.alloc(m * n)
    uops = gemm_uops(plan)
    uop_buf = _alloc_write(card, encode_uops(uops, config).astype("<u4").tobytes())
    addresses = GemmAddresses(
        inputs=inp_buf.element_index(config.inp_elem_bytes),
        weights=wgt_buf.element_index(config.wgt_elem_bytes),
        outputs=out_buf.element_index(config.out_elem_bytes),
        uops=uop_buf.element_index(UOP_BYTES),
    )
    insns = gemm_program(plan, addresses, requant)
    insn_buf = _alloc_write(card, encode_instructions(insns, config).astype("<u8").tobytes())
    return GemmRun(plan, addresses, insns, uops, insn_buf.element_index(INSN_BYTES), out_buf, m, n)


def run_gemm(card, a: np.ndarray, w: np.ndarray, requant: Requantize) -> np.ndarray:
    """Place, launch and read back one GEMM; returns ``out[M,N]`` int8."""
    placed = place_gemm(card, a, w, requant)
    card.run(placed.insn_offset, len(placed.instructions))
    return read_gemm_output(card, placed)


def read_gemm_output(card, placed: GemmRun) -> np.ndarray:
    packed = card.read(placed.out_buffer, np.int8, placed.m * placed.n)
    return unpack_outputs(packed, placed.m, placed.n, card.config)


def _alloc_write(card, data: bytes):
    buffer = card.alloc(len(data))
    card.write(buffer, data)
    return buffer
