"""``-t isa-listing``: each launch of a compiled model back at the isa level.

The small residual CNN (tests/filecheck/tools/Inputs/make_small_cnn.py, QDQ model) goes
down to the dma level on two configs; every listed program must verify (field widths,
loop bounds against its micro-ops, FINISH last) and assemble back to exactly the bytes of
its launch's instruction range and micro-op table, the table at its planned address.
About 2 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from xdsl.dialects.builtin import ModuleOp

from canopy_mlir.dialects import dma
from canopy_mlir.dialects.isa import program_to_binary
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.hw import INSN_BYTES
from canopy_mlir.targets.isa_listing import launch_programs, listing_module
from canopy_mlir.tools.pipelines import apply_pipeline

pytest.importorskip("onnxruntime.quantization")



@pytest.fixture(scope="module")
def qdq_model(small_cnn_paths: dict[str, Path]) -> onnx.ModelProto:
    return onnx.load(small_cnn_paths["qdq"])


def _compile(model: onnx.ModelProto, config: str) -> ModuleOp:
    return apply_pipeline(import_onnx(model), f'canopy-default{{config="{config}"}}')


@pytest.mark.parametrize("config", ["tiny", "intelfocl"])
def test_every_listed_program_assembles_to_its_launch_bytes(qdq_model: onnx.ModelProto, config: str) -> None:
    module = _compile(qdq_model, config)
    launches = [op for op in module.walk() if isinstance(op, dma.LaunchOp)]
    programs = launch_programs(module)
    assert len(programs) == len(launches) >= 4
    for launch, program in zip(launches, programs, strict=True):
        program.verify()
        words, uop_words = program_to_binary(program)
        start = launch.first_index * INSN_BYTES
        expected_insns = launch.instructions.owner.data()[start:start + launch.insn_count * INSN_BYTES]
        assert words.tobytes() == expected_insns
        assert uop_words.tobytes() == launch.uops.owner.data()
        assert program.uop_table().base.value.data * 4 == launch.uops.owner.planned_offset
    assert [p.sym_name.data for p in programs][0].startswith("launch0_tile_")


def test_listing_is_one_module_of_programs(qdq_model: onnx.ModelProto) -> None:
    listing = listing_module(_compile(qdq_model, "tiny"))
    listing.verify()
    names = [op.sym_name.data for op in listing.ops]
    assert names == [f"launch{i}_{name.split('_', 1)[1]}" for i, name in enumerate(names)]
    assert np.all([name.split("_", 1)[1].startswith("tile_") for name in names])
