"""DRAM-traffic cost model and tile-size search for ``tile.conv`` / ``tile.pool`` / ``tile.alu``.

A layer is described by plain numbers (:class:`ConvLayer`, :class:`PoolLayer`,
:class:`AluLayer`), so the model runs without IR (the ResNet-50 benchmark, the tests)
and the conversion pass builds the same description from the graph ops.

The schedule is the one of docs/tile-dialect.md (tile compute ops contract):

- conv: output-channel tiles outermost, then (batch block, spatial tiles row-major),
  then reduction chunks of ``tile_ic`` input blocks. An input tile (with its halo,
  clipped to the image: padding is generated on chip, not read) is loaded for every oc
  tile, spatial tile and chunk. When ``tile_ic`` covers the whole reduction (``R``) the
  weights of an oc tile are loaded once and stay resident; otherwise every (spatial
  tile, chunk) loads its weight chunk. Outputs are stored once. Tail operands: a
  per-channel vector (bias, multiplier, ...) once per oc tile (so once in all), a
  full-tensor operand (a residual) once, tile by tile.
- pool / alu: one pass over channel-block tiles and spatial tiles; a pool re-reads its
  window halo, an ALU tile reads its input once.

Every byte is counted in the blocked layout: padded channel and batch blocks are moved
like real data (int8: 1 byte, int32: 4 bytes). The *lower bound* moves every input,
weight, output and tail operand once in that padded layout; the *unpadded bound* moves
only the logical tensors once.

Choice (conv): the fewest cycles estimated with the load, compute and store modules
overlapping, as double buffering lets them (:func:`conv_overlapped_cycles`: the busiest
module's instructions, costed as :mod:`canopy_mlir.runtime.timing` does, DRAM latency
per instruction included); among the tiles within ``CYCLE_SLACK`` (1%) of the fewest
cycles, the one moving the fewest DRAM bytes, then the faster, then the larger tile (the
estimate is not exact to 1%, and bytes the card's DRAM does not move leave bandwidth to
the host's PCIe DMA and to narrower buses). Bytes
alone chose badly where they are not the bottleneck: a strided 1x1 projection's fewest
bytes come from 1x1 tiles paying the DRAM latency per pixel (16x its compute bound on
ResNet-18), and ResNet-50's residual 1x1 convs took column tiles whose residual loads
(on the compute module, one per oc block) cost more than re-reading the input on the
load module. Pool / alu: minimum DRAM bytes, ties to the smaller serial cycle estimate
(one cycle per GEMM step plus per-instruction overheads and DRAM latency). Double
buffering (``buffers = 2``) is tried first; single buffering only when no
double-buffered tile fits. A layer no tile fits raises :class:`TilingError` naming the
layer, the buffer and the smallest tile's need.

The search only visits tile sizes that give a distinct number of tiles along an axis
(``ceil(extent / k)`` for every tile count ``k``), and for a given ``tile_h`` the widest
``tile_w`` that fits (fewer instructions, never more bytes; every width for a conv
skipping input columns): ResNet-50's 53 convs take well under a second.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from canopy_mlir.dialects import tile as tile_dialect
from canopy_mlir.hw import HardwareConfig, load_config
from canopy_mlir.runtime.timing import (
    ALU_CYCLES_PER_STEP,
    ALU_OVERHEAD_CYCLES,
    GEMM_OVERHEAD_CYCLES,
)

ACC_BYTES = 4
"""Bytes of one int32 accumulator value."""


class TilingError(ValueError):
    """A layer that no tile fits, or a layer description that makes no sense."""


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# ------------------------------------------------------------------ grouped reduction
@lru_cache(maxsize=4096)
def grouped_reduction(out_channels: int, in_channels: int, groups: int, block_out: int,
                      block_in: int) -> tuple[int, tuple[int, ...]]:
    """``(R, starts)`` of the dialect (docs/tile-dialect.md, groups), cached; TilingError
    when ``groups`` does not divide the channels."""
    try:
        return tile_dialect.grouped_reduction(out_channels, in_channels, groups, block_out, block_in)
    except tile_dialect.TileError as error:
        raise TilingError(str(error)) from error


def _union_length(starts: Iterable[int], length: int) -> int:
    """Size of the union of the intervals ``[s, s + length)``."""
    total, end = 0, None
    for s in sorted(set(starts)):
        total += length if end is None else min(length, s + length - end)
        end = s + length
    return total


# ------------------------------------------------------------------ layer descriptions
@dataclass(frozen=True)
class Tail:
    """What a compute op's fused ALU tail adds: steps and operands (docs/tile-dialect.md)."""

    steps: int = 0
    channel_operands: int = 0
    """Per-channel ``tensor<Cxi32>`` operands (one ACC row per channel block)."""
    tensor_operands: int = 0
    """Full-tensor operands (residuals) with the result's shape."""
    tensor_operand_bytes: int = 1
    """1 for an i8 ``!tile.act`` operand, 4 for a ``!tile.acc``."""
    out_bytes: int = 1
    """1 for an i8/ui8 result, 4 for an int32 ``!tile.acc`` result."""


@dataclass(frozen=True)
class ConvLayer:
    """A conv (or a gemm as a 1x1 conv on a 1x1 image) as the cost model sees it."""

    name: str
    n: int
    c: int
    h: int
    w: int
    o: int
    kh: int
    kw: int
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    dilations: tuple[int, int] = (1, 1)
    groups: int = 1
    tail: Tail = field(default_factory=Tail)

    def output_hw(self) -> tuple[int, int]:
        spans = [(k - 1) * d + 1 for k, d in zip((self.kh, self.kw), self.dilations)]
        out = tuple(
            (size + self.pads[i] + self.pads[i + 2] - spans[i]) // self.strides[i] + 1
            for i, size in enumerate((self.h, self.w))
        )
        if min(out) < 1:
            raise TilingError(f"layer '{self.name}': the padded input is smaller than the kernel window")
        return out  # type: ignore[return-value]

    @property
    def macs(self) -> int:
        oh, ow = self.output_hw()
        return self.n * self.o * oh * ow * (self.c // self.groups) * self.kh * self.kw


@dataclass(frozen=True)
class PoolLayer:
    """A max / sum pool over an ``!tile.act`` (i8, ``in_bytes`` 1) or ``!tile.acc`` (4)."""

    name: str
    n: int
    c: int
    h: int
    w: int
    kh: int
    kw: int
    strides: tuple[int, int] = (1, 1)
    pads: tuple[int, int, int, int] = (0, 0, 0, 0)
    in_bytes: int = 1
    tail: Tail = field(default_factory=Tail)

    def output_hw(self) -> tuple[int, int]:
        out = tuple(
            (size + self.pads[i] + self.pads[i + 2] - k) // self.strides[i] + 1
            for i, (size, k) in enumerate(((self.h, self.kh), (self.w, self.kw)))
        )
        if min(out) < 1:
            raise TilingError(f"layer '{self.name}': the padded input is smaller than the pool window")
        return out  # type: ignore[return-value]


@dataclass(frozen=True)
class AluLayer:
    """A standalone elementwise ALU tile over an NCHW value."""

    name: str
    n: int
    c: int
    h: int
    w: int
    in_bytes: int = 1
    tail: Tail = field(default_factory=Tail)


@dataclass(frozen=True)
class TileChoice:
    """The chosen tile of one layer and what it costs."""

    layer: str
    tile: tuple[int, ...]
    buffers: int
    dram_bytes: int
    traffic: dict[str, int]
    """DRAM bytes per kind: ``inp``, ``wgt``, ``out``, ``tail``."""
    lower_bound: int
    """Every input, weight, output and tail operand moved once, padded blocked bytes."""
    unpadded_bound: int
    """The same with the logical (unpadded) tensors."""
    footprint: dict[str, int]
    cycles: int
    """Cycle estimate: for a conv the overlapped one that chooses the tile
    (:func:`conv_overlapped_cycles`), for pool / alu the serial one breaking DRAM ties."""

    @property
    def ratio(self) -> float:
        return self.dram_bytes / self.lower_bound if self.lower_bound else 1.0


# ------------------------------------------------------------------ shared helpers
def _tile_sizes(extent: int) -> list[int]:
    """The smallest tile size for every distinct tile count, largest first."""
    return sorted({ceil_div(extent, ceil_div(extent, s)) for s in range(1, extent + 1)}, reverse=True)


@lru_cache(maxsize=65536)
def _read_extent(out: int, tile: int, stride: int, span: int, pad_begin: int, size: int) -> int:
    """Input rows (or columns) all tiles of ``tile`` outputs read, halo included,
    clipped to the image (padding is generated on chip, not read from DRAM)."""
    total = 0
    for first in range(0, out, tile):
        last = min(first + tile, out) - 1
        lo, hi = first * stride - pad_begin, last * stride - pad_begin + span
        total += max(0, min(hi, size) - max(lo, 0))
    return total


@lru_cache(maxsize=4096)
def _needed_extent(out: int, kernel: int, stride: int, dilation: int, pad_begin: int, size: int) -> int:
    """Input rows (or columns) some output reads: a strided 1x1 conv skips the others,
    so they are not part of the lower bound."""
    touched = {y * stride - pad_begin + k * dilation for y in range(out) for k in range(kernel)}
    return sum(1 for t in touched if 0 <= t < size)


def _fits(footprint: dict[str, int], depths: dict[str, int]) -> bool:
    return all(need <= depths[buffer] for buffer, need in footprint.items())


def _widths_to_try(sizes: list[int], limit: int, skipping: bool) -> list[int]:
    """The widest size <= ``limit``; every such size when the conv skips columns (stride
    larger than the kernel span), where narrower tiles read fewer input columns."""
    fitting = [s for s in sizes if s <= limit]
    return fitting if skipping else fitting[:1]


def _no_fit(layer: str, config: HardwareConfig, smallest: Sequence[int], footprint: dict[str, int]) -> TilingError:
    depths = config.depths()
    over = [(b, need) for b, need in footprint.items() if need > depths[b]]
    buffer, need = max(over, key=lambda item: item[1] / depths[item[0]])
    return TilingError(
        f"layer '{layer}': no tile fits config '{config.name}': even the smallest tile "
        f"{list(smallest)} (single-buffered) needs {need} {buffer} elements, the {buffer} "
        f"buffer holds {depths[buffer]}"
    )


def _mem_cycles(bytes_: int, instructions: int, config: HardwareConfig) -> int:
    return ceil_div(bytes_, config.dram_bytes_per_cycle) + instructions * config.dram_latency_cycles


# ------------------------------------------------------------------ conv
@dataclass(frozen=True)
class _ConvGeometry:
    """Everything about a conv layer on a config that does not depend on the tile."""

    layer: ConvLayer
    config: HardwareConfig
    oh: int
    ow: int
    nb: int
    ob: int
    ib: int
    reduction: int
    starts: tuple[int, ...]
    span_h: int
    span_w: int

    @classmethod
    def of(cls, layer: ConvLayer, config: HardwareConfig) -> _ConvGeometry:
        oh, ow = layer.output_hw()
        reduction, starts = grouped_reduction(layer.o, layer.c, layer.groups, config.block_out, config.block_in)
        return cls(
            layer, config, oh, ow, ceil_div(layer.n, config.batch), ceil_div(layer.o, config.block_out),
            ceil_div(layer.c, config.block_in), reduction, starts,
            (layer.kh - 1) * layer.dilations[0] + 1, (layer.kw - 1) * layer.dilations[1] + 1,
        )

    def input_blocks(self, tile_oc: int, tile_ic: int) -> tuple[int, int]:
        """(most input blocks one tile's chunk needs, input blocks summed over all oc tiles
        and chunks). For group 1 these are ``tile_ic`` and ``#oc tiles * R``; grouped
        output blocks start their reduction at different input blocks."""
        if not any(self.starts):
            return min(tile_ic, self.reduction), ceil_div(self.ob, tile_oc) * self.reduction
        most = total = 0
        for first in range(0, self.ob, tile_oc):
            tile_starts = self.starts[first : first + tile_oc]
            for r0 in range(0, self.reduction, tile_ic):
                size = _union_length((s + r0 for s in tile_starts), min(tile_ic, self.reduction - r0))
                most, total = max(most, size), total + size
        return most, total


def _upper(footprint: dict[str, int]) -> dict[str, int]:
    """The dialect's footprint keys (``inp``) as ``HardwareConfig.depths()`` keys (``INP``)."""
    return {key.upper(): value for key, value in footprint.items()}


def conv_footprint(geometry: _ConvGeometry, tile: Sequence[int], buffers: int, inp_blocks: int) -> dict[str, int]:
    """Buffer elements of one conv tile: the dialect's ``conv_footprint``, with INP raised
    to ``inp_blocks`` input blocks for grouped convs whose output blocks start their
    reduction at different input blocks (the blocks such a tile really loads; the
    contract's formula counts ``tile_ic``, which is the same for group 1)."""
    layer = geometry.layer
    tail = layer.tail
    footprint = _upper(tile_dialect.conv_footprint(
        (layer.kh, layer.kw), layer.strides, tile, buffers, dilations=layer.dilations,
        tail_steps=tail.steps, full_operands=tail.tensor_operands, channel_operands=tail.channel_operands,
    ))
    rows = (tile[0] - 1) * layer.strides[0] + geometry.span_h
    cols = (tile[1] - 1) * layer.strides[1] + geometry.span_w
    footprint["INP"] = max(footprint["INP"], buffers * inp_blocks * rows * cols)
    return footprint


def _conv_bounds(g: _ConvGeometry) -> tuple[int, int]:
    """(padded blocked lower bound, unpadded lower bound) in bytes."""
    layer, cfg, tail = g.layer, g.config, g.layer.tail
    out_padded = g.nb * g.ob * g.oh * g.ow * cfg.batch * cfg.block_out
    out_logical = layer.n * layer.o * g.oh * g.ow
    pixels = (
        _needed_extent(g.oh, layer.kh, layer.strides[0], layer.dilations[0], layer.pads[0], layer.h)
        * _needed_extent(g.ow, layer.kw, layer.strides[1], layer.dilations[1], layer.pads[1], layer.w)
    )
    padded = (
        g.nb * g.ib * pixels * cfg.batch * cfg.block_in
        + g.ob * g.reduction * layer.kh * layer.kw * cfg.block_out * cfg.block_in
        + out_padded * tail.out_bytes
        + tail.channel_operands * g.ob * cfg.batch * cfg.block_out * ACC_BYTES
        + tail.tensor_operands * out_padded * tail.tensor_operand_bytes
    )
    unpadded = (
        layer.n * layer.c * pixels
        + layer.o * (layer.c // layer.groups) * layer.kh * layer.kw
        + out_logical * tail.out_bytes
        + tail.channel_operands * layer.o * ACC_BYTES
        + tail.tensor_operands * out_logical * tail.tensor_operand_bytes
    )
    return padded, unpadded


def conv_traffic(g: _ConvGeometry, tile: Sequence[int], input_blocks_total: int) -> dict[str, int]:
    """DRAM bytes per kind that ``tile`` moves under the module docstring's schedule."""
    layer, cfg, tail = g.layer, g.config, g.layer.tail
    th, tw, _, tic = tile
    rows = _read_extent(g.oh, th, layer.strides[0], g.span_h, layer.pads[0], layer.h)
    cols = _read_extent(g.ow, tw, layer.strides[1], g.span_w, layer.pads[1], layer.w)
    spatial_tiles = ceil_div(g.oh, th) * ceil_div(g.ow, tw)
    weights = g.ob * g.reduction * layer.kh * layer.kw * cfg.block_out * cfg.block_in
    out_padded = g.nb * g.ob * g.oh * g.ow * cfg.batch * cfg.block_out
    return {
        "inp": g.nb * input_blocks_total * rows * cols * cfg.batch * cfg.block_in,
        "wgt": weights if tic >= g.reduction else weights * g.nb * spatial_tiles,
        "out": out_padded * tail.out_bytes,
        "tail": tail.channel_operands * g.ob * cfg.batch * cfg.block_out * ACC_BYTES
        + tail.tensor_operands * out_padded * tail.tensor_operand_bytes,
    }


def conv_cycles(g: _ConvGeometry, tile: Sequence[int], dram: int) -> int:
    """Serial cycle estimate: GEMM steps and instruction overheads, ALU tail, DRAM."""
    layer, tail = g.layer, g.layer.tail
    th, tw, toc, tic = tile
    tiles = g.nb * ceil_div(g.ob, toc) * ceil_div(g.oh, th) * ceil_div(g.ow, tw)
    chunks = ceil_div(g.reduction, tic)
    pixels = g.nb * g.ob * g.oh * g.ow
    gemm = pixels * (1 + g.reduction * layer.kh * layer.kw) + GEMM_OVERHEAD_CYCLES * tiles * (1 + chunks)
    alu = ALU_CYCLES_PER_STEP * pixels * tail.steps + ALU_OVERHEAD_CYCLES * tiles * tail.steps
    weight_loads = ceil_div(g.ob, toc) if tic >= g.reduction else tiles * chunks
    # A full-tensor operand (a residual) is one LOAD per oc block of a tile, or one per
    # tile when the tile spans whole rows (isa_codegen's merged operand load); these
    # loads run on the compute module, in series with the GEMMs.
    operand_loads = tail.tensor_operands * tiles * (1 if tw >= g.ow else min(toc, g.ob))
    loads = tiles * chunks + weight_loads + tiles + operand_loads
    return gemm + alu + _mem_cycles(dram, loads, g.config)


def conv_overlapped_cycles(g: _ConvGeometry, tile: Sequence[int], traffic: dict[str, int],
                           most: int) -> int:
    """Cycles of ``tile`` with the three modules overlapping (double buffering): the
    busiest module's total, each instruction costing as in the timing model.

    - compute: GEMM steps and overheads, the ALU tail, and the LOAD ACC of the tail
      operands (they run on the compute module: the per-channel vectors once per tile,
      a full operand once per oc block of a tile or once per tile spanning whole rows);
    - load: an INP load per input block per chunk and the weight loads, plus their bytes;
    - store: a STORE per oc block of a tile, plus the output bytes.
    """
    layer, cfg, tail = g.layer, g.config, g.layer.tail
    th, tw, toc, tic = tile
    tiles = g.nb * ceil_div(g.ob, toc) * ceil_div(g.oh, th) * ceil_div(g.ow, tw)
    chunks = ceil_div(g.reduction, tic)
    pixels = g.nb * g.ob * g.oh * g.ow
    latency, bus = cfg.dram_latency_cycles, cfg.dram_bytes_per_cycle
    gemm = pixels * (1 + g.reduction * layer.kh * layer.kw) + GEMM_OVERHEAD_CYCLES * tiles * (1 + chunks)
    alu = ALU_CYCLES_PER_STEP * pixels * tail.steps + ALU_OVERHEAD_CYCLES * tiles * tail.steps
    operand_loads = tail.tensor_operands * tiles * (1 if tw >= g.ow else min(toc, g.ob))
    compute = gemm + alu + (tiles * tail.channel_operands + operand_loads) * latency \
        + ceil_div(traffic["tail"], bus)
    weight_loads = ceil_div(g.ob, toc) if tic >= g.reduction else tiles * chunks
    load = (tiles * chunks * most + weight_loads) * latency + ceil_div(traffic["inp"] + traffic["wgt"], bus)
    store = tiles * min(toc, g.ob) * latency + ceil_div(traffic["out"], bus)
    return max(compute, load, store)


def _conv_candidates(g: _ConvGeometry, buffers: int) -> Iterable[tuple[tuple[int, int, int, int], int, int]]:
    """(tile, most input blocks, input blocks total) of the fitting tiles worth evaluating."""
    layer, depths = g.layer, g.config.depths()
    sh, sw = layer.strides
    widths = _tile_sizes(g.ow)
    skipping = sw > g.span_w  # a strided 1x1 skips columns: narrower tiles read fewer
    for tic in _tile_sizes(g.reduction):
        for toc in _tile_sizes(g.ob):
            if buffers * toc * tic * layer.kh * layer.kw > depths["WGT"]:
                continue
            if toc * tic * layer.kh * layer.kw + toc * layer.tail.steps > depths["UOP"]:
                continue
            most, total = g.input_blocks(toc, tic)
            most = max(most, tic)
            acc_per_pixel = buffers * toc * (1 + layer.tail.tensor_operands)
            acc_free = depths["ACC"] - buffers * toc * layer.tail.channel_operands
            for th in _tile_sizes(g.oh):
                rows = (th - 1) * sh + g.span_h
                max_cols = depths["INP"] // (buffers * most * rows)
                limit = min((max_cols - g.span_w) // sw + 1, acc_free // (acc_per_pixel * th))
                # INP and ACC fit by construction of ``limit`` (the footprint formula solved
                # for tile_w), WGT and UOP by the checks above; choose_conv_tile re-checks
                # the chosen tile with the dialect's conv_footprint.
                for tw in _widths_to_try(widths, limit, skipping):
                    yield (th, tw, toc, tic), most, total


CYCLE_SLACK = 0.01
"""How much slower than the fastest conv tile a tile may be estimated and still win on
DRAM bytes (module docstring)."""


def choose_conv_tile(layer: ConvLayer, config: HardwareConfig | str) -> TileChoice:
    """The conv tile with the fewest overlapped cycles (module docstring), or TilingError."""
    config = load_config(config)
    g = _ConvGeometry.of(layer, config)
    lower, unpadded = _conv_bounds(g)
    for buffers in (2, 1):
        candidates = []
        for tile, most, total in _conv_candidates(g, buffers):
            traffic = conv_traffic(g, tile, total)
            candidates.append((conv_overlapped_cycles(g, tile, traffic, most), sum(traffic.values()),
                               tuple(-t for t in tile), tile, traffic, most))
        if candidates:
            fastest = min(c[0] for c in candidates)
            near = [c for c in candidates if c[0] <= fastest * (1 + CYCLE_SLACK)]
            dram, cycles, _, tile, traffic, most = min((c[1], c[0], *c[2:]) for c in near)
            footprint = conv_footprint(g, tile, buffers, most)
            if not _fits(footprint, config.depths()):  # the search's closed form disagrees: a bug
                raise AssertionError(f"layer '{layer.name}': tile {tile} needs {footprint}, over {config.depths()}")
            return TileChoice(layer.name, tile, buffers, dram, traffic, lower, unpadded, footprint, cycles)
    smallest = (1, 1, 1, 1)
    raise _no_fit(layer.name, config, smallest, conv_footprint(g, smallest, 1, g.input_blocks(1, 1)[0]))


# ------------------------------------------------------------------ pool
def pool_footprint(layer: PoolLayer, tile: Sequence[int], buffers: int) -> dict[str, int]:
    """Buffer elements of one pool tile (the dialect's ``pool_footprint``)."""
    tail = layer.tail
    return _upper(tile_dialect.pool_footprint(
        (layer.kh, layer.kw), layer.strides, tile, buffers, tail_steps=tail.steps,
        full_operands=tail.tensor_operands, channel_operands=tail.channel_operands,
    ))


def _elementwise_bounds(layer: PoolLayer | AluLayer, config: HardwareConfig, oh: int, ow: int) -> tuple[int, int]:
    tail = layer.tail
    nb, cb = ceil_div(layer.n, config.batch), ceil_div(layer.c, config.block_out)
    block = config.batch * config.block_out
    out_padded, out_logical = nb * cb * oh * ow * block, layer.n * layer.c * oh * ow
    padded = (
        nb * cb * layer.h * layer.w * block * layer.in_bytes
        + out_padded * (tail.out_bytes + tail.tensor_operands * tail.tensor_operand_bytes)
        + tail.channel_operands * cb * block * ACC_BYTES
    )
    unpadded = (
        layer.n * layer.c * layer.h * layer.w * layer.in_bytes
        + out_logical * (tail.out_bytes + tail.tensor_operands * tail.tensor_operand_bytes)
        + tail.channel_operands * layer.c * ACC_BYTES
    )
    return padded, unpadded


def choose_pool_tile(layer: PoolLayer, config: HardwareConfig | str) -> TileChoice:
    """The pool tile ``[tile_h, tile_w, tile_c]`` moving the fewest DRAM bytes."""
    config = load_config(config)
    oh, ow = layer.output_hw()
    nb, cb = ceil_div(layer.n, config.batch), ceil_div(layer.c, config.block_out)
    block = config.batch * config.block_out
    lower, unpadded = _elementwise_bounds(layer, config, oh, ow)
    tail = layer.tail
    fixed = lower - nb * cb * layer.h * layer.w * block * layer.in_bytes  # outputs + tail: once
    depths = config.depths()
    for buffers in (2, 1):
        best = None
        for tc in _tile_sizes(cb):
            for th in _tile_sizes(oh):
                for tw in _tile_sizes(ow):
                    footprint = pool_footprint(layer, (th, tw, tc), buffers)
                    if not _fits(footprint, depths):
                        continue
                    rows = _read_extent(oh, th, layer.strides[0], layer.kh, layer.pads[0], layer.h)
                    cols = _read_extent(ow, tw, layer.strides[1], layer.kw, layer.pads[1], layer.w)
                    inp = nb * cb * rows * cols * block * layer.in_bytes
                    tiles = nb * ceil_div(cb, tc) * ceil_div(oh, th) * ceil_div(ow, tw)
                    steps = nb * cb * oh * ow * (layer.kh * layer.kw + tail.steps)
                    cycles = (ALU_CYCLES_PER_STEP * steps + ALU_OVERHEAD_CYCLES * tiles * (layer.kh * layer.kw + tail.steps)
                              + _mem_cycles(inp + fixed, tiles * (2 + tail.tensor_operands), config))
                    key = (inp + fixed, cycles, (-th, -tw, -tc))
                    if best is None or key < best[0]:
                        best = (key, (th, tw, tc), inp, footprint)
                    if layer.strides[1] <= layer.kw:
                        break  # narrower tiles of this th only move more (unless they skip columns)
        if best is not None:
            (dram, cycles, _), tile, inp, footprint = best
            traffic = {"inp": inp, "wgt": 0, "out": nb * cb * oh * ow * block * tail.out_bytes}
            traffic["tail"] = dram - inp - traffic["out"]
            return TileChoice(layer.name, tile, buffers, dram, traffic, lower, unpadded, footprint, cycles)
    raise _no_fit(layer.name, config, (1, 1, 1), pool_footprint(layer, (1, 1, 1), 1))


# ------------------------------------------------------------------ alu
def alu_footprint(layer: AluLayer, tile: Sequence[int], buffers: int) -> dict[str, int]:
    """Buffer elements of one ALU tile (the dialect's ``alu_footprint``)."""
    tail = layer.tail
    return _upper(tile_dialect.alu_footprint(
        tile, buffers, tail_steps=tail.steps, full_operands=tail.tensor_operands,
        channel_operands=tail.channel_operands,
    ))


def choose_alu_tile(layer: AluLayer, config: HardwareConfig | str) -> TileChoice:
    """The ALU tile ``[tile_h, tile_w, tile_c]``: every choice moves the lower bound, so
    the fewest (largest) tiles win (fewer instructions, fewer DRAM latencies)."""
    config = load_config(config)
    nb, cb = ceil_div(layer.n, config.batch), ceil_div(layer.c, config.block_out)
    block = config.batch * config.block_out
    lower, unpadded = _elementwise_bounds(layer, config, layer.h, layer.w)
    tail = layer.tail
    depths = config.depths()
    for buffers in (2, 1):
        best = None
        for tc in _tile_sizes(cb):
            for th in _tile_sizes(layer.h):
                for tw in _tile_sizes(layer.w):
                    footprint = alu_footprint(layer, (th, tw, tc), buffers)
                    if not _fits(footprint, depths):
                        continue
                    tiles = nb * ceil_div(cb, tc) * ceil_div(layer.h, th) * ceil_div(layer.w, tw)
                    cycles = (ALU_CYCLES_PER_STEP * nb * cb * layer.h * layer.w * tail.steps
                              + ALU_OVERHEAD_CYCLES * tiles * tail.steps
                              + _mem_cycles(lower, tiles * (2 + tail.tensor_operands), config))
                    key = (cycles, (-th, -tw, -tc))
                    if best is None or key < best[0]:
                        best = (key, (th, tw, tc), footprint)
                    break
        if best is not None:
            (cycles, _), tile, footprint = best
            out = nb * cb * layer.h * layer.w * block * tail.out_bytes
            inp = nb * cb * layer.h * layer.w * block * layer.in_bytes
            traffic = {"inp": inp, "wgt": 0, "out": out, "tail": lower - inp - out}
            return TileChoice(layer.name, tile, buffers, lower, traffic, lower, unpadded, footprint, cycles)
    raise _no_fit(layer.name, config, (1, 1, 1), alu_footprint(layer, (1, 1, 1), 1))


__all__ = [
    "AluLayer",
    "ConvLayer",
    "PoolLayer",
    "Tail",
    "TileChoice",
    "TilingError",
    "alu_footprint",
    "choose_alu_tile",
    "choose_conv_tile",
    "choose_pool_tile",
    "conv_footprint",
    "grouped_reduction",
    "pool_footprint",
]
