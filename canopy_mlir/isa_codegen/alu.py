"""Lower one ``tile.alu`` (a standalone ALU tail) to instructions.

The input (an i32 ``!tile.acc`` with LOAD ACC, or an i8 ``!tile.act`` sign-extended by
LOAD ACC_8BIT) is loaded into the ACC slot of each output tile, the tail runs as ALU
instructions and the stores write the int8 result, exactly as a conv's epilogue
(:class:`~canopy_mlir.isa_codegen.tail.TileLowering`). Only the compute and store
modules work: with ``buffers = 2`` the stores of one tile overlap the next tile.
Schedule: channel tiles, batch blocks, spatial tiles row-major.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from xdsl.dialects.builtin import i8

from canopy_mlir.dialects import tile
from canopy_mlir.hw import HardwareConfig
from canopy_mlir.isa_codegen.program import (
    MAX_MEM_SIZE,
    DramPlacement,
    KernelProgram,
    acc_input_types,
    finish_program,
)
from canopy_mlir.isa_codegen.tail import (
    OutputTile,
    TailOperands,
    TileLowering,
    channel_tiles,
    checked_spec,
    tail_kind,
    tail_problem,
    with_padding_mask,
    without_noop_clamps,
)
from canopy_mlir.isa_format import LoadInsn


def _tail_of(op: tile.AluOp, x: tile.BlockedType) -> tuple[tile.AluStep, ...]:
    """The op's tail; for an i8 input (LOAD ACC_8BIT sign-extends: values and zero
    padding in [-128, 127]) without the clamps that cannot change a value."""
    if isinstance(x, tile.ActType) and x.element_type == i8:
        return without_noop_clamps(op.tail_steps(), -128, 127)
    return op.tail_steps()


@dataclass(frozen=True)
class AluSpec(TailOperands):
    """A ``tile.alu`` as plain values: blocked extents, tile, tail, result.

    ``input_kind`` is "acc" (i32) or "act" (i8); ``tile`` is ``(tile_h, tile_w,
    tile_c)``. ``out_blocks`` = channel blocks, ``out_hw`` = the image (= input).
    """

    batch_blocks: int
    out_blocks: int
    out_hw: tuple[int, int]
    tile: tuple[int, int, int]
    buffers: int
    logical: tuple[int, int]
    input_kind: str = "acc"
    tail: tuple[tile.AluStep, ...] = ()
    tail_kinds: tuple[str, ...] = ()
    result_element: str | None = "i8"
    name: str = "tile.alu"

    @classmethod
    def from_op(cls, op: tile.AluOp, config: HardwareConfig) -> AluSpec:
        x, result = acc_input_types(op, config)
        element = op.result_element
        return cls(
            batch_blocks=x.blocked_shape[0], out_blocks=x.blocked_shape[1],
            out_hw=tuple(x.blocked_shape[2:4]), tile=tuple(op.tile_sizes()),  # type: ignore[arg-type]
            buffers=op.buffer_count(), logical=result.logical_extents,
            input_kind=tail_kind(x), tail=_tail_of(op, x),
            tail_kinds=tuple(tail_kind(v.type) for v in op.tail_values()),
            result_element=None if element is None else str(element))

    def dram_elements(self) -> dict[str, int]:
        (h, w), nb, cb = self.out_hw, self.batch_blocks, self.out_blocks
        sizes = {"input": nb * cb * h * w, "output": nb * cb * h * w * self.output_planes}
        for j, kind in enumerate(self.tail_kinds):
            sizes[f"tail{j}"] = nb * cb * (1 if kind == "chan" else h * w)
        return sizes


@dataclass(frozen=True)
class AluSlotLayout:
    """One ACC slot: the tile (channel block stride ``tile_h x tw``), each full operand
    likewise, ``tile_c`` elements per per-channel operand (= alu_footprint)."""

    out_tile: int
    acc_slot: int

    @classmethod
    def of(cls, spec: AluSpec) -> AluSlotLayout:
        tile_h, tile_w, tile_c = spec.tile
        out_tile = tile_c * tile_h * tile_w
        return cls(out_tile, out_tile * (1 + spec.full_operands) + tile_c * spec.channel_operands)


def alu_tiles(spec: AluSpec) -> Iterator[OutputTile]:
    return channel_tiles(spec)


def unsupported_alu(spec: AluSpec, config: HardwareConfig) -> str | None:
    """Why ``spec`` cannot be lowered (naming the property), or None."""
    problem = tail_problem(spec.tail, spec.tail_kinds, spec.result_element, spec.logical, config)
    if problem is not None:
        return problem
    if spec.input_kind not in ("acc", "act"):
        return f"input: kind {spec.input_kind!r} is neither an !tile.acc nor an i8 !tile.act"
    if spec.buffers not in (1, 2):
        return f"buffers = {spec.buffers}: must be 1 or 2"
    if max(spec.out_hw) > MAX_MEM_SIZE:
        return f"spatial size {spec.out_hw}: a row stride above {MAX_MEM_SIZE} does not encode"
    masked, _ = with_padding_mask(spec, DramPlacement(0, 0, 0, 0, (), mask=0), config)
    slot = AluSlotLayout.of(masked).acc_slot
    if spec.buffers * slot > config.acc_depth:
        mask = " (with the padding mask the tail needs)" if masked is not spec else ""
        return (f"tile {list(spec.tile)}: {spec.buffers} x {slot} ACC elements{mask} do not "
                f"fit the ACC buffer ({config.acc_depth})")
    return None


def lower_alu(op: tile.AluOp | AluSpec, config: HardwareConfig,
              placement: DramPlacement) -> KernelProgram:
    """The instruction stream and micro-op table computing a ``tile.alu``.

    ``placement.input`` is in ACC elements (an i32 input) or ACC_8BIT elements (i8);
    ``placement.weight`` is unused. Raises :class:`IsaCodegenError` as lower_conv does.
    """
    spec = op if isinstance(op, AluSpec) else AluSpec.from_op(op, config)
    spec, placement = checked_spec(spec, unsupported_alu(spec, config), placement, config)
    return _AluLowering(spec, config, placement).run()


class _AluLowering(TileLowering):
    def __init__(self, spec: AluSpec, config: HardwareConfig, placement: DramPlacement):
        super().__init__(spec, config, placement, AluSlotLayout.of(spec), list(alu_tiles(spec)))

    def run(self) -> KernelProgram:
        for t in self.tiles:
            self._emit_input(t)
            self._emit_tail(t, pop_store=t.index >= self.nbuf)
            self._emit_stores(t)
        return finish_program(self.spec.name, self.config, self.at, self.out, self.table)

    def _emit_input(self, t: OutputTile) -> None:
        """LOAD ACC / ACC_8BIT of the input tile into the output region (compute module)."""
        spec = self.spec
        h, w = spec.out_hw
        acc, stride = self._acc_base(t), self._oc_stride(t)
        for o in range(t.toc):
            dram = self.at.input + ((t.nb * spec.out_blocks + t.ob0 + o) * h + t.y0) * w + t.x0
            self._emit(LoadInsn(memory_type=spec.input_memory, sram_base=acc + o * stride,
                                dram_base=dram, y_size=t.th, x_size=t.tw, x_stride=w))


__all__ = ["AluSpec", "lower_alu", "unsupported_alu"]
