"""convert-tile-to-isa's instruction generator: tile compute ops -> VTA programs.

``lower_conv(op, config, placement)`` gives a :class:`KernelProgram` (instructions and
micro-op table) computing a ``tile.conv`` with its ALU tail, bit-exact with the tile
interpreter; ``lower_alu`` and ``lower_pool`` do the same for ``tile.alu`` and
``tile.pool``; ``run_*_on_card`` place, lower, launch and read back. docs/isa-codegen.md describes the lowering scheme, DRAM layouts, micro-op
tables and the token protocol.
"""

from canopy_mlir.isa_codegen.alu import AluSpec, lower_alu, unsupported_alu
from canopy_mlir.isa_codegen.card_run import (
    ConvRun,
    OpRun,
    run_alu_on_card,
    run_conv_on_card,
    run_pool_on_card,
)
from canopy_mlir.isa_codegen.conv import (
    ConvSpec,
    channel_vector_layout,
    lower_conv,
    output_tiles,
    unsupported,
)
from canopy_mlir.isa_codegen.pool import PoolSpec, lower_pool, unsupported_pool
from canopy_mlir.isa_codegen.program import (
    DramPlacement,
    IsaCodegenError,
    KernelProgram,
    ProgramSummary,
)
from canopy_mlir.isa_codegen.tail import needs_padding_mask, padding_mask_image

__all__ = [
    "AluSpec",
    "ConvRun",
    "ConvSpec",
    "DramPlacement",
    "IsaCodegenError",
    "KernelProgram",
    "OpRun",
    "PoolSpec",
    "ProgramSummary",
    "channel_vector_layout",
    "lower_alu",
    "lower_conv",
    "lower_pool",
    "needs_padding_mask",
    "output_tiles",
    "padding_mask_image",
    "run_alu_on_card",
    "run_conv_on_card",
    "run_pool_on_card",
    "unsupported",
    "unsupported_alu",
    "unsupported_pool",
]
