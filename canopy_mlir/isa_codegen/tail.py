"""What every tile compute op's lowering shares: output tiles, the ALU tail, the stores.

A compute op's result leaves the core the same way whatever computed it (GEMM for
``tile.conv``, loads for ``tile.alu``, ALU taps for ``tile.pool``): the output tile sits in an ACC slot (oc block
``o`` at ``o * tile_h * tw``), the tail operands are loaded beside it, one ALU
instruction per tail step runs over it, and one STORE per channel block writes the low
8 bits from OUT. :class:`TileLowering` holds that part; docs/isa-codegen.md.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

import numpy as np

from canopy_mlir.alu_semantics import alu_apply
from canopy_mlir.dialects import tile
from canopy_mlir.hw import HardwareConfig
from canopy_mlir.isa_codegen.program import (
    MAX_MEM_SIZE,
    DramPlacement,
    Emitted,
    IsaCodegenError,
    UopTableBuilder,
    token_only_load,
    with_flags,
)
from canopy_mlir.isa_format import (
    AluInsn,
    AluOpcode,
    Instruction,
    LoadInsn,
    MemoryType,
    StoreInsn,
    Uop,
)
from canopy_mlir.isa_semantics import BYTE_PLANES
from canopy_mlir.runtime.timing import (
    ALU_CYCLES_PER_STEP,
    ALU_OVERHEAD_CYCLES,
    GEMM_OVERHEAD_CYCLES,
    instruction_cycles,
)

ALU_OPCODE_OF = {"add": AluOpcode.ADD, "mul": AluOpcode.MUL, "shr": AluOpcode.SHR,
                 "min": AluOpcode.MIN, "max": AluOpcode.MAX}
TAIL_KINDS = ("chan", "acc", "act")
"""Tail operand kinds: a per-channel ``tensor<Cxi32>``, a full ``!tile.acc``, an i8
full ``!tile.act`` (loaded with LOAD ACC_8BIT)."""


class TailOperands:
    """Queries every op spec (conv, alu, pool) answers from its ``tail_kinds`` and
    ``input_kind`` ("chan": a per-channel vector; "acc": an i32 tensor; "act": an i8
    tensor, loaded sign-extended)."""

    tail_kinds: tuple[str, ...]
    input_kind: str

    @property
    def full_operands(self) -> int:
        return sum(k != "chan" for k in self.tail_kinds)

    @property
    def channel_operands(self) -> int:
        return sum(k == "chan" for k in self.tail_kinds)

    def tail_memory(self, index: int) -> MemoryType:
        return MemoryType.ACC_8BIT if self.tail_kinds[index] == "act" else MemoryType.ACC

    @property
    def input_memory(self) -> MemoryType:
        return MemoryType.ACC_8BIT if self.input_kind == "act" else MemoryType.ACC

    @property
    def output_planes(self) -> int:
        """STOREs per output element: 1 for an i8/ui8 result, BYTE_PLANES for an i32
        one (``result_element`` None), stored as byte planes."""
        return 1 if getattr(self, "result_element", "i8") is not None else BYTE_PLANES


def tail_kind(type_) -> str:
    """The kind (TAIL_KINDS) of a tail operand of type ``type_``."""
    if isinstance(type_, tile.AccType):
        return "acc"
    if isinstance(type_, tile.ActType):
        return "act"
    return "chan"


I32_MIN, I32_MAX = -(1 << 31), (1 << 31) - 1


def without_noop_clamps(tail: Sequence[tile.AluStep], lo: int, hi: int) -> tuple[tile.AluStep, ...]:
    """``tail`` less its ``max`` / ``min`` immediate steps that are the identity on every
    value the accumulator can hold there, given that it starts in ``[lo, hi]``.

    Each ALU step costs 2 cycles per pixel block on the compute module, in series with
    the GEMMs: an i8 input clamped to ``[-128, 127]`` (ResNet's max pool) or a relu's
    ``min 127`` on an i8 input are pure cost. The range is followed through immediate
    ``add`` / ``mul`` / ``shr`` (monotonic, while it stays inside int32 so no step
    wraps); an operand step makes it unknown. Dropping an identity step is exact, for
    padding elements too as long as they lie in ``[lo, hi]`` (the callers' inputs pad
    with 0 or lie in it).
    """
    kept: list[tile.AluStep] = []
    known = lo <= hi
    for step in tail:
        if not known or step.imm is None:
            known = False
            kept.append(step)
            continue
        imm = step.imm
        if step.opcode == "max" and imm <= lo or step.opcode == "min" and imm >= hi:
            continue
        if step.opcode == "max":
            lo, hi = max(lo, imm), max(hi, imm)
        elif step.opcode == "min":
            lo, hi = min(lo, imm), min(hi, imm)
        elif step.opcode == "add":
            lo, hi = lo + imm, hi + imm
        elif step.opcode == "mul":
            lo, hi = min(lo * imm, hi * imm), max(lo * imm, hi * imm)
        elif step.opcode == "shr" and imm >= 0:
            lo, hi = lo >> min(imm, 31), hi >> min(imm, 31)
        else:
            known = False
        known = known and I32_MIN <= lo and hi <= I32_MAX
        kept.append(step)
    return tuple(kept)


def tail_problem(tail: Sequence[tile.AluStep], kinds: Sequence[str], result_element: str | None,
                 logical: tuple[int, int], config: HardwareConfig) -> str | None:
    """Why a result with this tail cannot be stored exactly (naming the property), or None.

    Every result can: an i8/ui8 one as the low 8 bits of OUT, an i32 one (``None``) as
    BYTE_PLANES byte planes."""
    if any(k not in TAIL_KINDS for k in kinds):
        return f"tail operands: unknown kinds {tuple(kinds)}"
    return None


def needs_padding_mask(tail: Sequence[tile.AluStep], logical: tuple[int, int],
                       config: HardwareConfig, starts: Sequence[int] = (0,)) -> bool:
    """Does the result have padding (batch rows / channels past the logical extents)
    that the tail makes non-zero? STORE writes whole BATCH x BLOCK_OUT elements, so
    then a final ``mul`` by a 0/1 mask re-zeroes it. ``starts``: the values a padding
    element can hold before the tail (0; also INT32_MIN for a max pool, whose windows
    lying wholly in the spatial padding give it in every channel)."""
    n, c = logical
    has_padding = n % config.batch != 0 or c % config.block_out != 0
    return has_padding and any(padding_value(tail, start) != 0 for start in starts)


def padding_mask_image(logical: tuple[int, int], config: HardwareConfig) -> np.ndarray:
    """The mask's DRAM image: the per-channel layout of a vector of ones (1 on logical
    batch rows and channels, 0 on padding), NB x CB ACC elements."""
    n, c = logical
    return channel_vector_layout(np.ones(c, np.int32), n, config)


def padding_starts(spec) -> tuple[int, ...]:
    """The values a padding element of ``spec``'s result holds before the tail."""
    return (0, -(2**31)) if getattr(spec, "kind", None) == "max" else (0,)


def with_padding_mask(spec, placement: DramPlacement, config: HardwareConfig):
    """``(spec, placement)`` with the mask as one more per-channel tail operand and a
    final ``mul`` by it, when the result needs one (else unchanged)."""
    if not needs_padding_mask(spec.tail, spec.logical, config, padding_starts(spec)):
        return spec, placement
    if placement.mask is None:
        raise IsaCodegenError(
            f"{spec.name}: the tail makes the result's zero padding non-zero "
            f"({sorted({padding_value(spec.tail, v) for v in padding_starts(spec)} - {0})}), "
            "so the program multiplies by a padding mask, but the placement has no `mask` "
            "address (write padding_mask_image(...) there)")
    spec = replace(spec, tail=(*spec.tail, tile.AluStep("mul", operand=len(spec.tail_kinds))),
                   tail_kinds=(*spec.tail_kinds, "chan"))
    return spec, replace(placement, tail=(*placement.tail, placement.mask))


def checked_spec(spec, problem: str | None, placement: DramPlacement, config: HardwareConfig):
    """``with_padding_mask(spec, placement, config)`` after the checks every lowering
    shares: ``problem`` (the op's own "cannot lower" reason, or None) and one tail address
    per tail operand."""
    if problem is not None:
        raise IsaCodegenError(f"{spec.name}: cannot lower to instructions: {problem}")
    if spec.output_planes > 1 and spec.buffers != 1:
        # The byte planes of a tile alternate ALU shifts and STOREs, each waiting for
        # the other through the compute <-> store token queues; a second ACC/OUT slot
        # would leave the next tile's "slot free" token in the queue, which the first
        # shift would take instead of its plane's.
        spec = replace(spec, buffers=1)
    if spec.output_planes > 1 and not spec.tail:
        # Plane 0 is OUT as the last GEMM/ALU write left it; a tile whose window lies
        # wholly in the padding gets only a reset, which leaves OUT unspecified.
        spec = replace(spec, tail=(tile.AluStep("shr", imm=0),))
    if len(placement.tail) != len(spec.tail_kinds):
        raise IsaCodegenError(
            f"{spec.name}: the placement has {len(placement.tail)} tail addresses for "
            f"{len(spec.tail_kinds)} tail operands")
    return with_padding_mask(spec, placement, config)


def channel_vector_layout(vector: np.ndarray, batch: int, config: HardwareConfig) -> np.ndarray:
    """A per-channel ``(C,)`` int32 tail vector in its DRAM layout.

    The blocked ACC value of shape ``(N, C, 1, 1)`` (the vector broadcast over the
    logical batch, padding zero): ``NB x CB x 1 x 1 x BATCH x BLOCK_OUT`` int32, so
    element ``nb * CB + cb``. Zero rows for padding batch entries keep the result's
    padding zero after an ``add bias``.
    """
    vector = np.asarray(vector, dtype=np.int32)
    (c,) = vector.shape
    nb, cb = -(-batch // config.batch), -(-c // config.block_out)
    padded = np.zeros((nb * config.batch, cb * config.block_out), np.int32)
    padded[:batch, :c] = vector
    return np.ascontiguousarray(
        padded.reshape(nb, config.batch, cb, config.block_out).transpose(0, 2, 1, 3)
    ).reshape(nb, cb, 1, 1, config.batch, config.block_out)


def padding_value(tail: Sequence[tile.AluStep], start: int = 0) -> int:
    """What the tail makes of a padding element holding ``start`` (the op gives 0),
    every operand being 0 there."""
    value = np.full((), start, np.int64)
    for step in tail:
        value = alu_apply(step.opcode, value, step.imm if step.imm is not None else 0)
    return int(value)


@dataclass(frozen=True)
class OutputTile:
    """One output tile: oc tile ``oc_index`` (blocks ``ob0 .. ob0+toc``), batch block,
    rows ``y0 .. y0+th``, columns ``x0 .. x0+tw``; ``index`` counts tiles in schedule order."""

    index: int
    oc_index: int
    ob0: int
    toc: int
    nb: int
    y0: int
    th: int
    x0: int
    tw: int



def channel_tiles(spec) -> Iterator[OutputTile]:
    """The output tiles of a ``tile.alu`` / ``tile.pool`` spec (``tile = [tile_h, tile_w,
    tile_c]``): channel tiles outermost, then batch blocks, then spatial tiles."""
    tile_h, tile_w, tile_c = spec.tile
    index = 0
    for c_index, cb0 in enumerate(range(0, spec.out_blocks, tile_c)):
        tc = min(tile_c, spec.out_blocks - cb0)
        for nb in range(spec.batch_blocks):
            for y0, th, x0, tw in spatial_tiles(spec.out_hw, tile_h, tile_w):
                yield OutputTile(index, c_index, cb0, tc, nb, y0, th, x0, tw)
                index += 1


def spatial_tiles(out_hw: tuple[int, int], tile_h: int, tile_w: int):
    """(y0, th, x0, tw) of the output tiles, row-major; edge tiles partial."""
    out_h, out_w = out_hw
    for y0 in range(0, out_h, tile_h):
        for x0 in range(0, out_w, tile_w):
            yield y0, min(tile_h, out_h - y0), x0, min(tile_w, out_w - x0)


def window_span(start: int, length: int, limit: int) -> tuple[int, int, int, int]:
    """(first in-range index, in-range count, pad before, pad after) of [start, start+length)."""
    lo, hi = max(0, start), min(limit, start + length)
    if hi <= lo:
        return 0, 0, 0, 0
    return lo, hi - lo, lo - start, start + length - hi


class TileLowering:
    """Emission state shared by the lowerings: the instruction list, the micro-op table,
    ACC slots, the tail and the stores.

    ``spec`` must provide ``tail``, ``tail_kinds``, ``tail_memory(j)``, ``out_blocks``,
    ``out_hw``, ``full_operands``, ``buffers``, ``name`` and ``tile`` (tile_h first,
    the channel blocks of a tile at index 2); ``layout`` ``out_tile`` and ``acc_slot``.
    """

    def __init__(self, spec, config: HardwareConfig, placement: DramPlacement, layout,
                 tiles: list[OutputTile]) -> None:
        self.spec, self.config, self.at, self.layout = spec, config, placement, layout
        self.table = UopTableBuilder()
        self.out: list[Emitted] = []
        self.tiles = tiles
        self.nbuf = spec.buffers

    # ----------------------------------------------------------- helpers
    def _emit(self, insn: Instruction, kernel=None) -> None:
        self.out.append(Emitted(insn, kernel))

    def _flag_group(self, insns: list[Instruction], first: dict, last: dict) -> list[Instruction]:
        insns[0] = with_flags(insns[0], **first)
        insns[-1] = with_flags(insns[-1], **last)
        return insns

    def _slot(self, index: int) -> int:
        return index % self.nbuf

    def _acc_base(self, t: OutputTile) -> int:
        return self._slot(t.index) * self.layout.acc_slot

    def _oc_stride(self, t: OutputTile) -> int:
        """ACC distance between two oc blocks of a tile: tile_h rows of the tile's width."""
        return self.spec.tile[0] * t.tw

    def _emit_tail(self, t: OutputTile, pop_store: bool = False, skip_first: bool = False) -> None:
        """Tail operand loads, one ALU per step (the last pushes compute->store).

        ``pop_store``: the first ALU pops store->compute (the ACC/OUT slot is free), for
        lowerings whose first OUT write is the tail (tile.alu). ``skip_first``: the
        first step (an ``add`` by a per-channel operand) was done by starting the
        accumulator from that operand (``tile_init_loads``); its operand is then not
        loaded unless a later step uses it too.
        """
        spec, layout = self.spec, self.layout
        skipped = spec.tail[0].operand if skip_first else None
        later_uses = {step.operand for step in spec.tail[1:]}
        acc = self._acc_base(t)
        oc_stride = self._oc_stride(t)
        operand_base: list[int] = []
        full_seen = chan_seen = 0
        for j, kind in enumerate(spec.tail_kinds):
            memory = spec.tail_memory(j)
            if kind == "chan":
                base = acc + layout.out_tile * (1 + spec.full_operands) + chan_seen * spec.tile[2]
                chan_seen += 1
                if j == skipped and j not in later_uses:
                    operand_base.append(base)
                    continue
                self._emit(LoadInsn(memory_type=memory, sram_base=base,
                                    dram_base=self.at.tail[j] + t.nb * spec.out_blocks + t.ob0,
                                    x_size=t.toc, x_stride=t.toc))
            else:
                full_seen += 1
                base = acc + layout.out_tile * full_seen
                if not (j == skipped and j not in later_uses):
                    for load in self._full_operand_loads(t, j, base):
                        self._emit(load)
            operand_base.append(base)
        first = 1 if skip_first else 0
        for i, step in enumerate(spec.tail):
            if i < first:
                continue
            dsts = [acc + o * oc_stride for o in range(t.toc)]
            loop = {"iter_out": t.th, "iter_in": t.tw,
                    "dst_factor_out": t.tw if t.th > 1 else 0,
                    "dst_factor_in": 1 if t.tw > 1 else 0}
            if step.imm is not None:
                uops = [Uop(dst=d) for d in dsts]
                alu = AluInsn(alu_opcode=ALU_OPCODE_OF[step.opcode], use_imm=True,
                              imm=step.imm, **loop)
            else:
                assert step.operand is not None
                base = operand_base[step.operand]
                if spec.tail_kinds[step.operand] == "chan":
                    uops = [Uop(dst=d, src=base + o) for o, d in enumerate(dsts)]
                    factors = {"src_factor_out": 0, "src_factor_in": 0}
                else:
                    uops = [Uop(dst=d, src=base + o * oc_stride) for o, d in enumerate(dsts)]
                    factors = {"src_factor_out": loop["dst_factor_out"],
                               "src_factor_in": loop["dst_factor_in"]}
                alu = AluInsn(alu_opcode=ALU_OPCODE_OF[step.opcode], **loop, **factors)
            if i == first and pop_store:
                alu = with_flags(alu, pop_next=True)
            if i == len(spec.tail) - 1:
                alu = with_flags(alu, push_next=True)
            self._emit(alu, self.table.kernel(uops))
        if not spec.tail:  # a hand-built spec without a tail: carry the tokens alone
            self._emit(with_flags(token_only_load(MemoryType.UOP), push_next=True,
                                  pop_next=pop_store))

    def _full_operand_loads(self, t: OutputTile, j: int, base: int) -> list[LoadInsn]:
        """The LOADs placing tile ``t``'s part of full operand ``j`` at ACC ``base`` (oc
        block ``o`` at ``base + o * oc_stride``): one merged load when the tile spans
        whole rows, else one 2-D load per oc block."""
        merged = self._merged_operand_load(t, j, base)
        if merged is not None:
            return [merged]
        spec = self.spec
        out_h, out_w = spec.out_hw
        oc_stride = self._oc_stride(t)
        return [LoadInsn(memory_type=spec.tail_memory(j), sram_base=base + o * oc_stride,
                         dram_base=self.at.tail[j] + (((t.nb * spec.out_blocks + t.ob0 + o) * out_h
                                                       + t.y0) * out_w + t.x0),
                         y_size=t.th, x_size=t.tw, x_stride=out_w)
                for o in range(t.toc)]

    def _merged_operand_load(self, t: OutputTile, j: int, base: int) -> LoadInsn | None:
        """One 2-D LOAD of full operand ``j`` for all the tile's oc blocks, when the tile
        spans whole rows at full height: each block's part is then ``th * out_w``
        contiguous elements, blocks ``out_h * out_w`` apart in DRAM and ``oc_stride``
        (= ``th * tw``) apart in the slot. Saves the DRAM latency of ``toc - 1`` loads on
        the compute module (LOAD ACC / ACC_8BIT run there, in series with the GEMMs)."""
        spec = self.spec
        out_h, out_w = spec.out_hw
        if t.toc < 2 or t.x0 != 0 or t.tw != out_w or t.th != spec.tile[0]:
            return None
        size, stride = t.th * out_w, out_h * out_w
        if max(size, stride, t.toc) > MAX_MEM_SIZE:
            return None
        assert self._oc_stride(t) == size
        dram = self.at.tail[j] + ((t.nb * spec.out_blocks + t.ob0) * out_h + t.y0) * out_w
        return LoadInsn(memory_type=spec.tail_memory(j), sram_base=base, dram_base=dram,
                        y_size=t.toc, x_size=size, x_stride=stride)

    def tile_init_loads(self, t: OutputTile) -> list[Instruction] | None:
        """LOAD ACCs that start tile ``t``'s accumulator from the tail's first step, an
        ``add`` by an operand, when that is cheaper on the timing model than a reset and
        the ``add`` (with the operand's own loads, unless a later step needs them
        anyway); else None.

        A per-channel vector ``b``: one load per oc block broadcasting ``b[o]`` over the
        tile's pixels (``x_size = 1``, ``x_stride = 0``). A full operand (e.g.
        convert-graph-to-tile's input zero-point map, bias and zero-point correction per
        output pixel): the tile's part loaded straight into the output region, as the
        tail would load it into its slot (the same cycles as a broadcast). Exact: the
        GEMM then adds its products to the operand with the same 32-bit wrapping, so the
        accumulator ends as ``operand + sum`` either way; padding batch rows/channels
        start from the operand's zeros as from a reset. Only with at least one more
        tail step, which writes the OUT buffer (a LOAD does not; docs/isa.md).
        """
        spec = self.spec
        if len(spec.tail) < 2 or spec.tail[0].opcode != "add" or spec.tail[0].operand is None:
            return None
        j = spec.tail[0].operand
        acc, oc_stride, pixels = self._acc_base(t), self._oc_stride(t), t.th * t.tw
        if spec.tail_kinds[j] == "chan":
            loads: list[Instruction] = [
                LoadInsn(memory_type=spec.tail_memory(j), sram_base=acc + o * oc_stride,
                         dram_base=self.at.tail[j] + t.nb * spec.out_blocks + t.ob0 + o,
                         y_size=pixels, x_size=1, x_stride=0)
                for o in range(t.toc)]
            operand_loads = 0
        else:
            loads = list(self._full_operand_loads(t, j, acc))
            later = any(step.operand == j for step in spec.tail[1:])
            operand_loads = 0 if later else sum(instruction_cycles(load, self.config)
                                                for load in loads)
        reset_steps = t.toc * spec.tile[0] * t.tw
        replaced = (reset_steps + GEMM_OVERHEAD_CYCLES + operand_loads
                    + ALU_CYCLES_PER_STEP * t.toc * pixels + ALU_OVERHEAD_CYCLES)
        if sum(instruction_cycles(load, self.config) for load in loads) >= replaced:
            return None
        return loads

    # ----------------------------------------------------------- store module
    def _emit_stores(self, t: OutputTile) -> None:
        """The tile's STOREs (one per channel block), releasing its ACC/OUT slot.

        An i32 result goes out as byte planes: STORE plane 0 (OUT holds the low byte),
        then per further plane an ALU ``shr 8`` (it waits for the previous plane's
        STOREs, which hand the slot back, and rewrites OUT) and that plane's STOREs to
        the next plane of the output buffer (``plane_elements`` further on)."""
        spec = self.spec
        count = len(self.tiles)
        release = t.index + self.nbuf < count or t.index == count - 1
        planes = spec.output_planes
        for plane in range(planes):
            if plane:
                self._emit_shift(t, 8)
            last = plane == planes - 1
            stores = self._plane_stores(t, plane)
            for insn in self._flag_group(stores, {"pop_prev": True},
                                         {"push_prev": release if last else True}):
                self._emit(insn)

    def _plane_stores(self, t: OutputTile, plane: int) -> list[Instruction]:
        spec = self.spec
        out_h, out_w = spec.out_hw
        acc, oc_stride = self._acc_base(t), self._oc_stride(t)
        base = self.at.output + plane * spec.batch_blocks * spec.out_blocks * out_h * out_w
        return [StoreInsn(sram_base=acc + o * oc_stride,
                          dram_base=base + ((t.nb * spec.out_blocks + t.ob0 + o) * out_h + t.y0) * out_w + t.x0,
                          y_size=t.th, x_size=t.tw, x_stride=out_w)
                for o in range(t.toc)]

    def _emit_shift(self, t: OutputTile, bits: int) -> None:
        """ALU ``shr bits`` over the tile, after the store module hands the slot back
        (pop store->compute), before the next plane's STOREs (push compute->store)."""
        oc_stride = self._oc_stride(t)
        uops = [Uop(dst=self._acc_base(t) + o * oc_stride) for o in range(t.toc)]
        alu = AluInsn(alu_opcode=AluOpcode.SHR, use_imm=True, imm=bits,
                      iter_out=t.th, iter_in=t.tw,
                      dst_factor_out=t.tw if t.th > 1 else 0, dst_factor_in=1 if t.tw > 1 else 0,
                      pop_next=True, push_next=True)
        self._emit(alu, self.table.kernel(uops))
