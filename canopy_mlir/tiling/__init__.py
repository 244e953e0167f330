"""canopy_mlir.tiling: tile-size choice for the ``tile`` dialect's compute ops.

:mod:`canopy_mlir.tiling.cost_model` enumerates the tiles of a conv / pool / ALU layer
that fit a :class:`~canopy_mlir.hw.HardwareConfig`'s on-chip buffers and picks the one
that moves the fewest DRAM bytes (docs/convert-graph-to-tile.md).
"""

from canopy_mlir.tiling.cost_model import (
    AluLayer,
    ConvLayer,
    PoolLayer,
    Tail,
    TileChoice,
    TilingError,
    choose_alu_tile,
    choose_conv_tile,
    choose_pool_tile,
)

__all__ = [
    "AluLayer",
    "ConvLayer",
    "PoolLayer",
    "Tail",
    "TileChoice",
    "TilingError",
    "choose_alu_tile",
    "choose_conv_tile",
    "choose_pool_tile",
]
