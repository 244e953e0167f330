"""Hypothesis strategies for random, valid instruction programs with random data.

A generated :class:`RandomProgram` is a self-contained pool image: instructions, a
micro-op table and a data area that every LOAD reads from and every STORE writes to
(so later loads may read what earlier stores wrote). Indices are drawn so that every
GEMM/ALU loop nest stays inside its buffers for any micro-op the program can load, and
every reset write is followed by an ALU write of the same elements, so no STORE reads a
poisoned OUT element. Token flags are left clear: these programs test data semantics.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

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
)
from canopy_mlir.isa_semantics import dram_elem_bytes

DATA_ALIGNMENTS = 48
"""The data area holds this many pool-alignment units (a few KiB at intelfocl)."""
MAX_UOPS = 16
INTERESTING_IMMEDIATES = [0, 1, -1, 2, 7, 8, 31, 32, 33, -31, -32, -33, 127, -128, 255,
                          32767, -32768]


@dataclass(frozen=True)
class RandomProgram:
    """A pool image: instructions at byte 0, micro-ops at ``uop_offset``, then the data
    area, then a dump area that the program's last STORE fills with the whole OUT buffer
    (so every OUT element the program computed is observable)."""

    config: HardwareConfig
    instructions: list[Instruction]
    uops: list[Uop]
    data: bytes
    uop_offset: int
    data_offset: int
    dump_bytes: int

    @property
    def observable_bytes(self) -> int:
        """Bytes from ``data_offset`` to the image's end: data area plus dump area."""
        return len(self.data) + self.dump_bytes

    def image(self) -> bytes:
        insns = encode_instructions(self.instructions, self.config).astype("<u8").tobytes()
        uops = encode_uops(self.uops, self.config).astype("<u4").tobytes()
        assert len(insns) <= self.uop_offset and self.uop_offset + len(uops) <= self.data_offset
        head = insns.ljust(self.uop_offset, b"\0") + uops
        return head.ljust(self.data_offset, b"\0") + self.data + bytes(self.dump_bytes)


def _align(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


class _Context:
    """What instruction strategies need to know: config and where each area starts.

    The image layout is fixed before drawing instructions by reserving room for the
    maximum instruction count, so DRAM addresses are known while drawing.
    """

    def __init__(self, config: HardwareConfig, max_insns: int):
        self.config = config
        self.insn_area = _align((max_insns + 1) * INSN_BYTES, config.pool_alignment)
        self.uop_base_bytes = self.insn_area
        self.data_base_bytes = _align(self.insn_area + MAX_UOPS * UOP_BYTES, config.pool_alignment)
        self.data_bytes = DATA_ALIGNMENTS * config.pool_alignment
        self.dump_base_bytes = self.data_base_bytes + self.data_bytes
        self.dump_bytes = config.out_depth * config.out_elem_bytes
        # Index limits that keep every loop nest inside its buffer.
        self.uop_dst_limit = config.acc_depth // 4
        self.uop_src_limit = min(config.inp_depth, config.acc_depth) // 4
        self.uop_wgt_limit = max(config.wgt_depth // 4, 1)
        self.table_size = MAX_UOPS  # set to the drawn table's size before drawing loops

    def data_elements(self, memory_type: MemoryType) -> tuple[int, int]:
        """``[first, end)`` element indices of the data area in ``memory_type`` units."""
        elem = dram_elem_bytes(memory_type, self.config)
        return self.data_base_bytes // elem, (self.data_base_bytes + self.data_bytes) // elem


@st.composite
def _window(draw, ctx: _Context, memory_type: MemoryType, depth: int, pads: bool, store: bool):
    """A 2-D copy whose SRAM window fits ``depth`` and whose DRAM rows fit the data area."""
    first, end = ctx.data_elements(memory_type)
    span = end - first
    y_pad0, y_pad1, x_pad0, x_pad1 = (draw(st.integers(0, 2)) if pads else 0 for _ in range(4))
    x_size = draw(st.integers(0 if not store else 1, min(8, span, depth)))
    max_rows = max(1, (depth // max(1, x_pad0 + x_size + x_pad1)) - y_pad0 - y_pad1)
    y_size = draw(st.integers(1, min(4, max_rows)))
    rows, width = y_pad0 + y_size + y_pad1, x_pad0 + x_size + x_pad1
    if rows * width > depth:  # padding alone can overflow a tiny buffer
        y_pad0 = y_pad1 = x_pad0 = x_pad1 = 0
        rows, width = y_size, x_size
    sram_base = draw(st.integers(0, depth - rows * width))
    x_stride = draw(st.integers(x_size if store else 0, x_size + 3)) if y_size > 1 else x_size
    extent = (y_size - 1) * x_stride + x_size
    if extent > span:
        y_size, extent = 1, x_size
    dram_base = first + draw(st.integers(0, span - extent))
    return dict(memory_type=memory_type, sram_base=sram_base, dram_base=dram_base,
                y_size=y_size, x_size=x_size, x_stride=x_stride,
                y_pad0=y_pad0, y_pad1=y_pad1, x_pad0=x_pad0, x_pad1=x_pad1)


@st.composite
def _load(draw, ctx: _Context):
    memory_type = draw(st.sampled_from(
        [MemoryType.INP, MemoryType.WGT, MemoryType.ACC, MemoryType.ACC_8BIT]))
    depth = {MemoryType.INP: ctx.config.inp_depth, MemoryType.WGT: ctx.config.wgt_depth}.get(
        memory_type, ctx.config.acc_depth)
    fields = draw(_window(ctx, memory_type, depth, pads=memory_type == MemoryType.INP,
                          store=False))
    return [LoadInsn(**fields)]


@st.composite
def _uop_load(draw, ctx: _Context, table_size: int):
    count = draw(st.integers(1, table_size))
    first = draw(st.integers(0, table_size - count))
    sram = draw(st.integers(0, min(ctx.config.uop_depth, MAX_UOPS) - count))
    return [LoadInsn(memory_type=MemoryType.UOP, sram_base=sram,
                     dram_base=ctx.uop_base_bytes // UOP_BYTES + first,
                     x_size=count, x_stride=count)]


@st.composite
def _loop(draw, ctx: _Context, src_depth: int, wgt: bool):
    """Loop fields whose offsets keep indices below 3/4 of each depth (uops use the rest)."""
    config = ctx.config
    uop_bgn = draw(st.integers(0, ctx.table_size - 1))
    uop_end = draw(st.integers(uop_bgn + 1, min(ctx.table_size, uop_bgn + 4)))
    iter_out, iter_in = draw(st.integers(1, 4)), draw(st.integers(1, 4))

    def factors(depth):
        room = max(depth - depth // 4 - 1, 0)
        f_out = draw(st.integers(0, room // max(iter_out - 1, 1) // 2))
        f_in = draw(st.integers(0, (room - f_out * (iter_out - 1)) // max(iter_in - 1, 1)))
        return f_out, f_in

    dst_out, dst_in = factors(config.acc_depth)
    src_out, src_in = factors(src_depth)
    fields = dict(uop_bgn=uop_bgn, uop_end=uop_end, iter_out=iter_out, iter_in=iter_in,
                  dst_factor_out=dst_out, dst_factor_in=dst_in,
                  src_factor_out=src_out, src_factor_in=src_in)
    if wgt:
        fields["wgt_factor_out"], fields["wgt_factor_in"] = factors(config.wgt_depth)
    return fields


def _unpoison(loop: dict) -> AluInsn:
    """ALU ADD 0 over the same ACC elements: defines the OUT elements a reset poisoned."""
    fields = {k: v for k, v in loop.items() if not k.startswith(("src_", "wgt_"))}
    return AluInsn(alu_opcode=AluOpcode.ADD, use_imm=True, imm=0, **fields)


@st.composite
def _gemm(draw, ctx: _Context):
    loop = draw(_loop(ctx, ctx.config.inp_depth, wgt=True))
    if draw(st.booleans()):
        return [GemmInsn(reset=True, **loop), _unpoison(loop)]
    return [GemmInsn(**loop)]


@st.composite
def _alu(draw, ctx: _Context):
    loop = draw(_loop(ctx, ctx.config.acc_depth, wgt=False))
    use_imm = draw(st.booleans())
    imm = draw(st.sampled_from(INTERESTING_IMMEDIATES) | st.integers(-(1 << 15), (1 << 15) - 1))
    opcode = draw(st.sampled_from(list(AluOpcode)))
    if draw(st.integers(0, 9)) == 0:
        return [AluInsn(reset=True, **loop), _unpoison(loop)]
    return [AluInsn(alu_opcode=opcode, use_imm=use_imm, imm=imm if use_imm else 0, **loop)]


@st.composite
def _store(draw, ctx: _Context):
    fields = draw(_window(ctx, MemoryType.OUT, ctx.config.out_depth, pads=False, store=True))
    return [StoreInsn(**fields)]


@st.composite
def random_programs(draw, config: HardwareConfig, max_insns: int = 24) -> RandomProgram:
    """A valid random program for ``config`` with random data (see module docstring)."""
    ctx = _Context(config, max_insns)
    table_size = draw(st.integers(1, MAX_UOPS))
    uops = draw(st.lists(st.builds(
        Uop, st.integers(0, ctx.uop_dst_limit - 1), st.integers(0, ctx.uop_src_limit - 1),
        st.integers(0, ctx.uop_wgt_limit - 1)), min_size=table_size, max_size=table_size))
    pieces = st.one_of(_load(ctx), _uop_load(ctx, table_size), _gemm(ctx), _alu(ctx), _store(ctx))
    ctx.table_size = table_size
    # The whole table goes to UOP[0, table_size) first: loops only use loaded micro-ops
    # (the isa dialect rejects reading entries no LOAD UOP filled).
    insns: list[Instruction] = [LoadInsn(
        memory_type=MemoryType.UOP, dram_base=ctx.uop_base_bytes // UOP_BYTES,
        x_size=table_size, x_stride=table_size)]
    for group in draw(st.lists(pieces, min_size=1, max_size=max_insns // 2)):
        if len(insns) + len(group) > max_insns - 3:
            break
        insns += group
    insns += draw(_store(ctx))
    insns.append(_dump_out_buffer(ctx))
    insns.append(FinishInsn())
    seed = draw(st.integers(0, 2**32 - 1))
    data = np.random.default_rng(seed).integers(0, 256, ctx.data_bytes, dtype=np.uint8)
    return RandomProgram(config, insns, uops, data.tobytes(), ctx.uop_base_bytes,
                         ctx.data_base_bytes, ctx.dump_bytes)


def _dump_out_buffer(ctx: _Context) -> StoreInsn:
    """STORE the whole OUT buffer to the dump area."""
    depth = ctx.config.out_depth
    return StoreInsn(dram_base=ctx.dump_base_bytes // ctx.config.out_elem_bytes,
                     x_size=depth, x_stride=depth)
