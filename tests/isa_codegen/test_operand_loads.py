"""A tile spanning whole rows loads a full tail operand (a residual) for all its oc blocks
with one 2-D LOAD (tail.TileLowering._merged_operand_load), bit for bit as before.

Expected values: the tile interpreter (run_and_compare); the load count is derived from
the tiling by hand. Takes ~2 s.
"""

from __future__ import annotations

from test_lower_conv import POOL_BYTES, _conv, run_and_compare

from canopy_mlir.dialects.tile import AluStep
from canopy_mlir.hw import load_config
from canopy_mlir.isa_format import LoadInsn, MemoryType
from canopy_mlir.runtime.card import SimulatedCard

RESIDUAL = [AluStep("mul", imm=19), AluStep("shr", imm=6), AluStep("add", operand=0),
            AluStep("max", imm=-128), AluStep("min", imm=127)]


def _residual_loads(program) -> list[LoadInsn]:
    return [i for i in program.instructions
            if isinstance(i, LoadInsn) and i.memory_type == MemoryType.ACC_8BIT]


def test_full_row_tiles_load_the_residual_once_per_tile() -> None:
    # tiny: BLOCK_OUT 4, so 12 channels are 3 oc blocks; 6x5 output in tiles of 2 rows
    # x 5 columns (whole rows) x 3 oc blocks: 3 tiles, the residual in one load each.
    config = load_config("tiny")
    module, conv, inputs, specs = _conv("tiny", (1, 4, 6, 5), (12, 4, 1, 1), tile=[2, 5, 3, 1],
                                        buffers=1, steps=RESIDUAL, specs=["act"])
    run = run_and_compare(SimulatedCard(config, POOL_BYTES), module, conv, inputs, specs)
    loads = _residual_loads(run.program)
    assert len(loads) == 3
    assert all((i.y_size, i.x_size, i.x_stride) == (3, 2 * 5, 6 * 5) for i in loads)


def test_partial_rows_keep_one_load_per_oc_block() -> None:
    # 7 output rows in tiles of 2: the last tile has 1 row (shorter than tile_h), and
    # tiles of 3 columns do not span the rows: per-block loads, still exact.
    config = load_config("tiny")
    module, conv, inputs, specs = _conv("tiny", (1, 4, 7, 5), (12, 4, 1, 1), tile=[2, 5, 3, 1],
                                        buffers=2, steps=RESIDUAL, specs=["act"], seed=1)
    run = run_and_compare(SimulatedCard(config, POOL_BYTES), module, conv, inputs, specs)
    assert len(_residual_loads(run.program)) == 3 + 3  # 3 merged tiles, the 1-row tile per block
    module, conv, inputs, specs = _conv("tiny", (1, 4, 6, 5), (12, 4, 1, 1), tile=[2, 3, 3, 1],
                                        buffers=1, steps=RESIDUAL, specs=["act"], seed=2)
    run = run_and_compare(SimulatedCard(config, POOL_BYTES), module, conv, inputs, specs)
    assert len(_residual_loads(run.program)) == 6 * 3  # 3 x 2 tiles, 3 blocks each


MAP_FIRST = [AluStep("add", operand=0), AluStep("mul", imm=19), AluStep("shr", imm=11),
             AluStep("max", imm=-128), AluStep("min", imm=127)]


def _acc_loads(program) -> list[LoadInsn]:
    return [i for i in program.instructions
            if isinstance(i, LoadInsn) and i.memory_type == MemoryType.ACC]


def test_accumulator_starts_from_a_full_operand_map() -> None:
    """A tail starting with ``add`` by a full i32 operand (convert-graph-to-tile's input
    zero-point map): each tile's part is loaded into the output region, the GEMMs add to
    it; no reset, no ALU add, no second load of the operand. Padded, strided, 2 batch
    rows per block."""
    from test_lower_conv import _resets

    config = load_config("tiny-b2")
    module, conv, inputs, specs = _conv("tiny-b2", (2, 4, 7, 6), (8, 4, 3, 3), pads=(1, 2, 1, 0),
                                        strides=(2, 1), tile=[2, 3, 1, 1], buffers=2,
                                        steps=MAP_FIRST, specs=["acc"], seed=3)
    run = run_and_compare(SimulatedCard(config, POOL_BYTES), module, conv, inputs, specs)
    # tiny-b2: BLOCK_OUT 8 -> 1 oc block; output 4 x 6 in tiles of 2 rows x 3 columns:
    # 2 x 2 tiles, one load each
    tiles = 2 * 2
    assert len(_acc_loads(run.program)) == tiles and not _resets(run.program)
    assert all(i.x_stride != 0 for i in _acc_loads(run.program))
    assert run.program.summary.alu_steps == (len(MAP_FIRST) - 1) * 4 * 6


def test_full_operand_used_again_is_also_loaded_into_its_slot() -> None:
    steps = [AluStep("add", operand=0), AluStep("add", operand=0), *MAP_FIRST[1:]]
    config = load_config("tiny")
    module, conv, inputs, specs = _conv("tiny", (1, 4, 6, 5), (4, 4, 3, 3), pads=(1, 1, 1, 1),
                                        tile=[3, 5, 1, 1], buffers=1, steps=steps, specs=["acc"], seed=4)
    run = run_and_compare(SimulatedCard(config, POOL_BYTES), module, conv, inputs, specs)
    assert len(_acc_loads(run.program)) == 2 * 2  # per tile: the init and the operand slot
