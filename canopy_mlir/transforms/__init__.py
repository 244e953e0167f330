"""canopy_mlir.transforms: our passes, and the registry canopy-opt loads them from.

Add a pass as ``ALL_PASSES["kebab-name"] = lambda: PassClass`` (a factory, so that the
pass module is imported only when a pipeline names it).

Pass statistics (``canopy-opt --mlir-pass-statistics``): a pass counts what it did with
``record_statistic(self, "folded-constants")`` (or ``..., n)``). Declaring the counters
with a description makes them print even when zero::

    @dataclass(frozen=True)
    class FoldConstants(ModulePass):
        name = "fold-constants"
        declared_statistics: ClassVar[dict[str, str]] = {"folded": "constants folded"}

        def apply(self, ctx, op):
            ...
            record_statistic(self, "folded")

Recording costs a context-variable lookup and does nothing when no tool collects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from xdsl.passes import ModulePass

ALL_PASSES: dict[str, Callable[[], type[ModulePass]]] = {}


@dataclass
class PassStatistics:
    """The counters one pass recorded during one run (or a sum over several runs)."""

    pass_name: str
    counters: dict[str, int] = field(default_factory=dict)
    descriptions: dict[str, str] = field(default_factory=dict)

    @classmethod
    def for_pass(cls, pass_: ModulePass) -> PassStatistics:
        """Empty statistics for ``pass_``, with its declared counters at zero."""
        declared: dict[str, str] = dict(getattr(type(pass_), "declared_statistics", None) or {})
        return cls(pass_.name, dict.fromkeys(declared, 0), declared)

    def add(self, name: str, value: int) -> None:
        self.counters[name] = self.counters.get(name, 0) + value

    def merge(self, other: PassStatistics) -> None:
        """Add ``other``'s counters to these (same pass, another input chunk)."""
        for name, value in other.counters.items():
            self.add(name, value)
        self.descriptions.update(other.descriptions)


_COLLECTING: ContextVar[dict[int, tuple[ModulePass, PassStatistics]] | None] = ContextVar(
    "canopy_pass_statistics", default=None
)


def record_statistic(pass_: ModulePass, name: str, value: int = 1) -> None:
    """Add ``value`` to counter ``name`` of ``pass_``; a no-op unless a tool collects.

    Several passes may record at once (a pass running another pass inside itself);
    each keeps its own counters, keyed by the pass object.
    """
    collecting = _COLLECTING.get()
    if collecting is None:
        return
    entry = collecting.get(id(pass_))
    if entry is None:
        # Keeping the pass object alive keeps its id unique while we collect.
        entry = collecting[id(pass_)] = (pass_, PassStatistics.for_pass(pass_))
    entry[1].add(name, value)


@contextmanager
def collecting_statistics(pass_: ModulePass) -> Iterator[list[PassStatistics]]:
    """Collect the statistics recorded while the block runs ``pass_``.

    Yields a list that, after the block, holds ``pass_``'s statistics first, then those
    of any pass it ran inside itself, in the order they first recorded.
    """
    collected = {id(pass_): (pass_, PassStatistics.for_pass(pass_))}
    result: list[PassStatistics] = []
    token = _COLLECTING.set(collected)
    try:
        yield result
    finally:
        _COLLECTING.reset(token)
        result.extend(stats for _, stats in collected.values())


# ------------------------------------------------------------------ graph passes
def _graph_canonicalize() -> type[ModulePass]:
    from canopy_mlir.transforms.graph_canonicalize import GraphCanonicalize

    return GraphCanonicalize


def _graph_fold_constants() -> type[ModulePass]:
    from canopy_mlir.transforms.graph_fold_constants import GraphFoldConstants

    return GraphFoldConstants


def _graph_fold_batchnorm() -> type[ModulePass]:
    from canopy_mlir.transforms.graph_fold_batchnorm import GraphFoldBatchNorm

    return GraphFoldBatchNorm


def _graph_fuse_activations() -> type[ModulePass]:
    from canopy_mlir.transforms.graph_fuse_activations import GraphFuseActivations

    return GraphFuseActivations


def _graph_fold_qdq() -> type[ModulePass]:
    from canopy_mlir.transforms.graph_fold_qdq import GraphFoldQdq

    return GraphFoldQdq


def _graph_quantize() -> type[ModulePass]:
    from canopy_mlir.transforms.graph_quantize import GraphQuantize

    return GraphQuantize


def _graph_uint8_to_int8() -> type[ModulePass]:
    from canopy_mlir.transforms.graph_uint8_to_int8 import GraphUint8ToInt8

    return GraphUint8ToInt8


def _graph_split_wide_weights() -> type[ModulePass]:
    from canopy_mlir.transforms.graph_split_wide_weights import GraphSplitWideWeights

    return GraphSplitWideWeights


def _graph_batched_matmul_to_conv() -> type[ModulePass]:
    from canopy_mlir.transforms.graph_batched_matmul_to_conv import (
        GraphBatchedMatmulToConv,
    )

    return GraphBatchedMatmulToConv


def _graph_partition() -> type[ModulePass]:
    from canopy_mlir.transforms.graph_partition import GraphPartition

    return GraphPartition


# ------------------------------------------------------------------ conversions
def _convert_graph_to_tile() -> type[ModulePass]:
    from canopy_mlir.transforms.convert_graph_to_tile import ConvertGraphToTile

    return ConvertGraphToTile


ALL_PASSES["graph-canonicalize"] = _graph_canonicalize
ALL_PASSES["graph-fold-constants"] = _graph_fold_constants
ALL_PASSES["graph-fold-batchnorm"] = _graph_fold_batchnorm
ALL_PASSES["graph-fuse-activations"] = _graph_fuse_activations
ALL_PASSES["graph-fold-qdq"] = _graph_fold_qdq
ALL_PASSES["graph-partition"] = _graph_partition
ALL_PASSES["graph-quantize"] = _graph_quantize
ALL_PASSES["graph-uint8-to-int8"] = _graph_uint8_to_int8
ALL_PASSES["graph-split-wide-weights"] = _graph_split_wide_weights
ALL_PASSES["graph-batched-matmul-to-conv"] = _graph_batched_matmul_to_conv
ALL_PASSES["convert-graph-to-tile"] = _convert_graph_to_tile


# ------------------------------------------------------------------ dma level
def _dma_plan_memory() -> type[ModulePass]:
    from canopy_mlir.transforms.dma_plan_memory import DmaPlanMemory

    return DmaPlanMemory


ALL_PASSES["dma-plan-memory"] = _dma_plan_memory


def _convert_tile_to_dma() -> type[ModulePass]:
    from canopy_mlir.transforms.convert_tile_to_dma import ConvertTileToDma

    return ConvertTileToDma


ALL_PASSES["convert-tile-to-dma"] = _convert_tile_to_dma


__all__ = ["ALL_PASSES", "PassStatistics", "collecting_statistics", "record_statistic"]
