"""Lower one ``tile.pool`` (max or sum, with its tail) to instructions.

Everything runs on the ALU, in ACC. Per output tile: the output region is reset (the
first ALU, which pops store->compute for slot reuse); the tile's input window (halo
included) is placed in ACC after the tail operands: where the window leaves the image
its padding bands (above, below, left and right of the image part) are filled by ALU
with the pad value (INT32_MIN for max, via reset, add -1, shr -31; 0 for sum), and the
real rows are loaded beside them (LOAD ACC / ACC_8BIT: loads
into ACC cannot pad); then one ALU per kernel tap (ADD for the first, MAX or ADD for the
others) with the two loops walking the output rows (src factor stride*row width) and
columns (src factor stride). Then the tail, the padding mask if needed and the stores,
as for a conv. Schedule: channel tiles, batch blocks, spatial tiles row-major.
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
    with_flags,
)
from canopy_mlir.isa_codegen.tail import (
    OutputTile,
    TailOperands,
    TileLowering,
    channel_tiles,
    checked_spec,
    tail_kind,
    tail_problem,
    window_span,
    with_padding_mask,
    without_noop_clamps,
)
from canopy_mlir.isa_format import AluInsn, AluOpcode, LoadInsn, Uop


def _tail_of(op: tile.PoolOp, x: tile.BlockedType, kind: str, kernel: tuple[int, ...],
             pads: tuple[int, ...]) -> tuple[tile.AluStep, ...]:
    """The op's tail; for an i8 input (LOAD ACC_8BIT sign-extends, zero padding lanes)
    without the clamps that cannot change a value: a max whose every window touches the
    image (pads below the kernel) stays in [-128, 127], a sum of k taps in k times it."""
    steps = op.tail_steps()
    if not (isinstance(x, tile.ActType) and x.element_type == i8):
        return steps
    taps = kernel[0] * kernel[1]
    if kind == "max" and max(pads[0], pads[2]) < kernel[0] and max(pads[1], pads[3]) < kernel[1]:
        return without_noop_clamps(steps, -128, 127)
    if kind == "sum":
        return without_noop_clamps(steps, -128 * taps, 127 * taps)
    return steps


@dataclass(frozen=True)
class PoolSpec(TailOperands):
    """A ``tile.pool`` as plain values; ``tile`` is ``(tile_h, tile_w, tile_c)``."""

    batch_blocks: int
    out_blocks: int
    in_hw: tuple[int, int]
    kind: str
    kernel: tuple[int, int]
    strides: tuple[int, int]
    pads: tuple[int, int, int, int]
    tile: tuple[int, int, int]
    buffers: int
    logical: tuple[int, int]
    input_kind: str = "acc"
    tail: tuple[tile.AluStep, ...] = ()
    tail_kinds: tuple[str, ...] = ()
    result_element: str | None = "i8"
    name: str = "tile.pool"

    @classmethod
    def from_op(cls, op: tile.PoolOp, config: HardwareConfig) -> PoolSpec:
        x, result = acc_input_types(op, config)
        p = op.params()
        element = op.result_element
        return cls(
            batch_blocks=x.blocked_shape[0], out_blocks=x.blocked_shape[1],
            in_hw=tuple(x.blocked_shape[2:4]), kind=str(p["kind"]),
            kernel=tuple(p["kernel"]), strides=tuple(p["strides"]),  # type: ignore[arg-type]
            pads=tuple(p["pads"]), tile=tuple(p["tile"]),  # type: ignore[arg-type]
            buffers=int(p["buffers"]), logical=result.logical_extents,  # type: ignore[arg-type]
            input_kind=tail_kind(x), tail=_tail_of(op, x, str(p["kind"]), tuple(p["kernel"]),
                                                   tuple(p["pads"])),
            tail_kinds=tuple(tail_kind(v.type) for v in op.tail_values()),
            result_element=None if element is None else str(element))

    @property
    def out_hw(self) -> tuple[int, int]:
        return tile.conv_output_hw(self.in_hw, self.kernel, self.strides, self.pads)

    def window(self, tile_h: int, tile_w: int) -> tuple[int, int]:
        (kh, kw), (sh, sw) = self.kernel, self.strides
        return (tile_h - 1) * sh + kh, (tile_w - 1) * sw + kw

    def dram_elements(self) -> dict[str, int]:
        (h, w), (oh, ow), nb, cb = self.in_hw, self.out_hw, self.batch_blocks, self.out_blocks
        sizes = {"input": nb * cb * h * w, "output": nb * cb * oh * ow * self.output_planes}
        for j, kind in enumerate(self.tail_kinds):
            sizes[f"tail{j}"] = nb * cb * (1 if kind == "chan" else oh * ow)
        return sizes


@dataclass(frozen=True)
class PoolSlotLayout:
    """One ACC slot: the output tile and tail operands (as for a conv), then the input
    window, channel block ``o`` at ``o * window_h * ww`` (= pool_footprint)."""

    out_tile: int
    window_base: int
    window_h: int
    acc_slot: int

    @classmethod
    def of(cls, spec: PoolSpec) -> PoolSlotLayout:
        tile_h, tile_w, tile_c = spec.tile
        window_h, window_w = spec.window(tile_h, tile_w)
        out_tile = tile_c * tile_h * tile_w
        base = out_tile * (1 + spec.full_operands) + tile_c * spec.channel_operands
        return cls(out_tile, base, window_h, base + tile_c * window_h * window_w)


def pool_tiles(spec: PoolSpec) -> Iterator[OutputTile]:
    return channel_tiles(spec)


def unsupported_pool(spec: PoolSpec, config: HardwareConfig) -> str | None:
    """Why ``spec`` cannot be lowered (naming the property), or None."""
    problem = tail_problem(spec.tail, spec.tail_kinds, spec.result_element, spec.logical, config)
    if problem is not None:
        return problem
    if spec.kind not in ("max", "sum"):
        return f"kind {spec.kind!r}: only max and sum pools exist"
    if spec.input_kind not in ("acc", "act"):
        return f"input: kind {spec.input_kind!r} is neither an !tile.acc nor an i8 !tile.act"
    if spec.buffers not in (1, 2):
        return f"buffers = {spec.buffers}: must be 1 or 2"
    if max(*spec.in_hw, *spec.out_hw) > MAX_MEM_SIZE:
        return f"spatial size {spec.in_hw}: a row stride above {MAX_MEM_SIZE} does not encode"
    masked, _ = with_padding_mask(spec, DramPlacement(0, 0, 0, 0, (), mask=0), config)
    slot = PoolSlotLayout.of(masked).acc_slot
    if spec.buffers * slot > config.acc_depth:
        mask = " (with the padding mask the tail needs)" if masked is not spec else ""
        return (f"tile {list(spec.tile)}: {spec.buffers} x {slot} ACC elements{mask} do not "
                f"fit the ACC buffer ({config.acc_depth})")
    return None


def lower_pool(op: tile.PoolOp | PoolSpec, config: HardwareConfig,
               placement: DramPlacement) -> KernelProgram:
    """The instruction stream and micro-op table computing a ``tile.pool``.

    ``placement.input`` is in ACC (i32 input) or ACC_8BIT (i8) elements;
    ``placement.weight`` is unused. Raises :class:`IsaCodegenError` as lower_conv does.
    """
    spec = op if isinstance(op, PoolSpec) else PoolSpec.from_op(op, config)
    spec, placement = checked_spec(spec, unsupported_pool(spec, config), placement, config)
    return _PoolLowering(spec, config, placement).run()


class _PoolLowering(TileLowering):
    def __init__(self, spec: PoolSpec, config: HardwareConfig, placement: DramPlacement):
        super().__init__(spec, config, placement, PoolSlotLayout.of(spec), list(pool_tiles(spec)))

    def run(self) -> KernelProgram:
        for t in self.tiles:
            # A sum starts from the tail's first add (a bias, or convert-graph-to-tile's
            # input zero-point map) when that is cheaper: the taps add to it as to 0.
            init = self.tile_init_loads(t) if self.spec.kind == "sum" else None
            if init is None:
                self._emit_reset(t)
            else:
                init[0] = with_flags(init[0], pop_next=t.index >= self.nbuf)
                for insn in init:
                    self._emit(insn)
            self._emit_window(t)
            self._emit_taps(t)
            self._emit_tail(t, skip_first=init is not None)
            self._emit_stores(t)
        return finish_program(self.spec.name, self.config, self.at, self.out, self.table)

    def _alu(self, uops: list[Uop], insn: AluInsn) -> None:
        self._emit(insn, self.table.kernel(uops))

    def _emit_reset(self, t: OutputTile) -> None:
        """Zero the output region; the first OUT write of the tile waits for its slot."""
        self._alu([Uop(dst=self._acc_base(t))], AluInsn(
            reset=True, iter_out=t.toc * self.spec.tile[0], iter_in=t.tw, dst_factor_out=t.tw,
            dst_factor_in=1, pop_next=t.index >= self.nbuf))

    def _window_geometry(self, t: OutputTile):
        spec = self.spec
        (h, w), (sh, sw) = spec.in_hw, spec.strides
        wh, ww = spec.window(t.th, t.tw)
        rows = window_span(t.y0 * sh - spec.pads[0], wh, h)
        cols = window_span(t.x0 * sw - spec.pads[1], ww, w)
        return wh, ww, rows, cols

    def _window_base(self, t: OutputTile, o: int, ww: int) -> int:
        return self._acc_base(t) + self.layout.window_base + o * self.layout.window_h * ww

    def _emit_window(self, t: OutputTile) -> None:
        spec = self.spec
        (h, w) = spec.in_hw
        wh, ww, (y_lo, y_size, y_pad0, y_pad1), (x_lo, x_size, x_pad0, x_pad1) = self._window_geometry(t)
        real = y_size > 0 and x_size > 0
        if not real:
            self._prefill(t, ww, [(0, 0, wh, ww)])
            return
        # Only the part of the window outside the image needs the pad value: the real
        # part is loaded over it (a band above and below, then left and right of it).
        middle = (y_pad0, wh - y_pad1)
        bands = [(0, 0, y_pad0, ww), (wh - y_pad1, 0, y_pad1, ww),
                 (middle[0], 0, middle[1] - middle[0], x_pad0),
                 (middle[0], ww - x_pad1, middle[1] - middle[0], x_pad1)]
        self._prefill(t, ww, [b for b in bands if b[2] > 0 and b[3] > 0])
        for o in range(t.toc):
            base = self._window_base(t, o, ww) + y_pad0 * ww + x_pad0
            dram = self.at.input + ((t.nb * spec.out_blocks + t.ob0 + o) * h + y_lo) * w + x_lo
            if x_size == ww:
                self._emit(LoadInsn(memory_type=spec.input_memory, sram_base=base, dram_base=dram,
                                    y_size=y_size, x_size=x_size, x_stride=w))
                continue
            for r in range(y_size):
                self._emit(LoadInsn(memory_type=spec.input_memory, sram_base=base + r * ww,
                                    dram_base=dram + r * w, y_size=1, x_size=x_size,
                                    x_stride=x_size))

    def _prefill(self, t: OutputTile, ww: int, bands: list[tuple[int, int, int, int]]) -> None:
        """The pad value, 0 (sum) or INT32_MIN (max: reset, add -1, shr -31), in each band
        ``(row, column, rows, columns)`` of the window of every channel block."""
        for row, column, rows, columns in bands:
            uops = [Uop(dst=self._window_base(t, o, ww) + row * ww + column) for o in range(t.toc)]
            loop = {"iter_out": rows, "iter_in": columns, "dst_factor_out": ww if rows > 1 else 0,
                    "dst_factor_in": 1 if columns > 1 else 0}
            self._alu(uops, AluInsn(reset=True, **loop))
            if self.spec.kind == "max":
                self._alu(uops, AluInsn(alu_opcode=AluOpcode.ADD, use_imm=True, imm=-1, **loop))
                self._alu(uops, AluInsn(alu_opcode=AluOpcode.SHR, use_imm=True, imm=-31, **loop))

    def _emit_taps(self, t: OutputTile) -> None:
        spec = self.spec
        (kh, kw), (sh, sw) = spec.kernel, spec.strides
        _, ww, _, _ = self._window_geometry(t)
        acc, stride = self._acc_base(t), self._oc_stride(t)
        loop = {"iter_out": t.th, "iter_in": t.tw,
                "dst_factor_out": t.tw if t.th > 1 else 0, "dst_factor_in": 1 if t.tw > 1 else 0,
                "src_factor_out": sh * ww if t.th > 1 else 0, "src_factor_in": sw if t.tw > 1 else 0}
        for tap in range(kh * kw):
            dy, dx = divmod(tap, kw)
            opcode = AluOpcode.ADD if tap == 0 or spec.kind == "sum" else AluOpcode.MAX
            uops = [Uop(dst=acc + o * stride, src=self._window_base(t, o, ww) + dy * ww + dx)
                    for o in range(t.toc)]
            self._alu(uops, AluInsn(alu_opcode=opcode, **loop))


__all__ = ["PoolSpec", "lower_pool", "unsupported_pool"]
