"""The canopy-to-tile pipeline keeps the quantized program's meaning.

The small CNN of tests/filecheck/tools/Inputs/make_small_cnn.py (a residual block, max
pool, 1x1 conv, global average pool, gemm), as onnxruntime's QDQ model and as a float
model quantized by graph-quantize, goes down to tile ops. The tile interpreter must give
the same bits as the graph interpreter on the integer graph just before the partition
(everything after it only changes where and in what layout ops run), on two hardware
configs, and some of the work must really be in tile ops.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import onnx
import pytest
from pipeline_parts import split_pipeline
from xdsl.dialects.builtin import ModuleOp, StringAttr

from canopy_mlir.dialects import tile
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.interpreters.tile_interpreter import run_tile
from canopy_mlir.tools.pipelines import NAMED_PIPELINES, apply_pipeline

pytest.importorskip("onnxruntime.quantization")

_SCRIPT = Path(__file__).parents[1] / "filecheck" / "tools" / "Inputs" / "make_small_cnn.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("make_small_cnn", _SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, onnx.ModelProto]:
    tmp = tmp_path_factory.mktemp("cnn")
    _load_script().main(str(tmp / "float.onnx"), str(tmp / "qdq.onnx"))
    return {"float": onnx.load(tmp / "float.onnx"), "qdq": onnx.load(tmp / "qdq.onnx")}


CASES = [
    ("qdq", "intelfocl", ""),
    ("qdq", "tiny-b2", ""),
    ("float", "tiny", "graph-quantize{calibration-random=4 seed=3}"),
    ("float", "intelfocl", 'graph-quantize{calibration-random=4 seed=3 method="percentile"}'),
]


@pytest.mark.parametrize(("model", "config", "quantize"), CASES, ids=[f"{m}-{c}" for m, c, _ in CASES])
def test_tile_level_equals_integer_graph(models: dict, model: str, config: str, quantize: str) -> None:
    integer_part, tile_part = split_pipeline("canopy-to-tile", config, quantize or None)
    integer: ModuleOp = apply_pipeline(import_onnx(models[model]), integer_part)
    lowered = apply_pipeline(integer.clone(), tile_part)
    tile_ops = [op for op in lowered.walk() if isinstance(op, tile.TILE_COMPUTE_OPS)]
    assert len(tile_ops) >= 4, "most of the CNN should be tile ops"
    rng = np.random.default_rng(5)
    for _ in range(3):
        x = rng.normal(size=(1, 3, 8, 8)).astype(np.float32)
        expected, got = run_graph(integer, [x]), run_tile(lowered, [x])
        for e, g in zip(expected, got, strict=True):
            np.testing.assert_array_equal(g, e)


def test_pipeline_expansion_routes_options() -> None:
    """The same pipeline as the lit test spells it: options reach graph-quantize and the
    config reaches graph-partition and convert-graph-to-tile."""
    from canopy_mlir.tools.pipelines import expand_pipeline

    specs = [str(s) for s in expand_pipeline('canopy-to-tile{calibration-random=2 config="tiny"}', NAMED_PIPELINES)]
    assert "graph-quantize{calibration-random=2}" in specs
    assert 'graph-partition{config="tiny"}' in specs and 'convert-graph-to-tile{config="tiny"}' in specs
    assert "graph-quantize" not in [str(s) for s in expand_pipeline("canopy-to-tile", NAMED_PIPELINES)]


def test_unsigned_activations_reach_the_card(models: dict) -> None:
    """uint8 activations (symmetric=false) cannot feed the signed int8 GEMM core as they
    are: graph-uint8-to-int8 moves them to int8 (exactly), so the partition makes
    tile.convs of all but the RGB stem; the result equals the ui8 integer graph's."""
    integer_part, tile_part = split_pipeline("canopy-to-tile",
                                             quantize="graph-quantize{calibration-random=4 symmetric=false}")
    assert "graph-uint8-to-int8" in integer_part
    unsigned = apply_pipeline(import_onnx(models["float"]), integer_part.replace("graph-uint8-to-int8,", ""))
    assert "ui8" in str(unsigned)
    integer = apply_pipeline(import_onnx(models["float"]), integer_part)
    lowered = apply_pipeline(integer.clone(), tile_part)
    from canopy_mlir.dialects import graph
    from canopy_mlir.transforms.graph_partition import PLACEMENT_REASON

    gemms = [op for op in lowered.walk() if isinstance(op, graph.ConvIntegerOp | graph.MatMulIntegerOp)]
    assert not any("ui8 input" in op.attributes.get(PLACEMENT_REASON, StringAttr("")).data for op in gemms)
    assert any(isinstance(op, tile.ConvOp) for op in lowered.walk())
    x = np.random.default_rng(9).normal(size=(1, 3, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(run_tile(lowered, [x])[0], run_graph(unsigned, [x])[0])


def test_canopy_to_dma_runs_on_the_card_like_the_tile_level(models: dict) -> None:
    """The named canopy-default pipeline, run by the dma executor on the simulated card,
    gives the tile level's (and so the integer graph's) bits."""
    from canopy_mlir.runtime.card import open_card
    from canopy_mlir.runtime.dma_executor import run_dma

    options = 'calibration-random=2 seed=3 config="tiny"'
    tiled = apply_pipeline(import_onnx(models["float"]), f"canopy-to-tile{{{options}}}")
    lowered = apply_pipeline(import_onnx(models["float"]), f"canopy-default{{{options}}}")
    rng = np.random.default_rng(13)
    for _ in range(2):
        x = rng.normal(size=(1, 3, 8, 8)).astype(np.float32)
        card = open_card("tiny", backend="sim")
        np.testing.assert_array_equal(run_dma(lowered, [x], card)[0], run_tile(tiled, [x])[0])
