"""canopy_mlir.compile and CompiledModel: levels, run, save, check, errors.

The small CNN of tests/filecheck/tools/Inputs/make_small_cnn.py (QDQ and float) at the
tiny config. Oracles independent of the API: the graph interpreter on the quantized
graph, ``run_dma`` on the module the one-shot ``canopy-to-dma`` pipeline gives, the
artifact runtime on what ``save`` wrote. Takes about 6 s.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

import canopy_mlir
from canopy_mlir.api import LEVELS, CompileError, pipeline_spec, pipeline_stages
from canopy_mlir.dialects import dma
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.runtime.artifact import load_artifact
from canopy_mlir.runtime.card import open_card
from canopy_mlir.runtime.dma_executor import run_dma
from canopy_mlir.tools.pipelines import NAMED_PIPELINES, apply_pipeline, expand_pipeline

pytest.importorskip("onnxruntime.quantization")



@pytest.fixture(scope="module")
def models(small_cnn_paths: dict[str, Path]) -> dict[str, Path]:
    return small_cnn_paths


@pytest.fixture(scope="module")
def qdq(models):
    with canopy_mlir.compile(models["qdq"], config="tiny") as compiled:
        yield compiled


@pytest.fixture()
def x() -> np.ndarray:
    return np.random.default_rng(3).normal(size=(1, 3, 8, 8)).astype(np.float32)


def _names(module) -> set[str]:
    return {op.name for op in module.walk()}


def test_the_levels(qdq) -> None:
    assert list(qdq.ir) == list(LEVELS)
    assert {"graph.quantize_linear", "graph.conv"} <= _names(qdq.ir["graph"])
    assert {"graph.conv_integer", "graph.requantize"} <= _names(qdq.ir["quantized"])
    assert "canopy.placement" in qdq.ir_text("quantized", elide=4)
    assert {"tile.conv", "tile.pool"} <= _names(qdq.ir["tile"]) and "graph.conv_integer" not in _names(qdq.ir["tile"])
    assert "dma.launch" in _names(qdq.ir["dma"]) and "tile.conv" not in _names(qdq.ir["dma"])
    assert "dense_resource<__elided__>" in qdq.ir_text("tile", elide=4)
    assert "dense_resource<__elided__>" not in qdq.ir_text("tile")
    assert not qdq.float_model
    with pytest.raises(KeyError, match="no level 'isa'"):
        qdq.ir_text("isa")


def test_summary_counts_what_the_dma_module_holds(qdq) -> None:
    launches = [op for op in qdq.ir["dma"].walk() if isinstance(op, dma.LaunchOp)]
    summary = qdq.summary()
    assert summary["launches"] == len(launches) == 6
    assert summary["instructions"] == sum(op.insn_count for op in launches)
    assert summary["card_layers"] == 6 and summary["card_layer_kinds"] == {"tile.conv": 4, "tile.pool": 2}
    assert summary["config"] == "tiny" and summary["pool_bytes"] > 0
    assert any(line.startswith("card: 6 layers") for line in qdq.summary_lines())


def test_stages_cut_the_pipeline_without_repeating_it() -> None:
    spec = pipeline_spec("tiny", calibration_random=4)
    stages = pipeline_stages(spec)
    assert [s.level for s in stages] == ["quantized", "tile", "tile", "dma"]
    assert ",".join(s.spec for s in stages) == ",".join(str(a) for a in expand_pipeline(spec, NAMED_PIPELINES))
    assert stages[0].spec.endswith('graph-partition{config="tiny"}')
    assert stages[-1].spec == 'convert-tile-to-dma{config="tiny"}'


def test_run_equals_the_quantized_graph_and_the_one_shot_pipeline(qdq, models, x) -> None:
    expected = run_graph(qdq.ir["quantized"], [x])
    one_shot = apply_pipeline(import_onnx(onnx.load(models["qdq"])), 'canopy-to-dma{config="tiny"}')
    (by_pipeline,) = run_dma(one_shot, [x], open_card("tiny", backend="sim"))
    (on_sim,) = qdq.run([x], backend="sim")
    (on_pocl,) = qdq.run({"x": x})
    assert np.array_equal(on_sim, expected[0]) and np.array_equal(on_sim, by_pipeline)
    assert np.array_equal(on_pocl, on_sim)
    assert qdq.output_names == ["y"] and qdq.input_names == ["x"]


def test_the_card_is_opened_once_and_closed(models, x) -> None:
    compiled = canopy_mlir.compile(models["qdq"], config="tiny")
    first = compiled.run([x], backend="sim")
    card = compiled.card("sim")
    program = compiled._programs[("sim", None)]
    writes = program.stats.constant_writes
    second = compiled.run([x + 1], backend="sim")
    assert compiled.card("sim") is card and program.stats.constant_writes == writes
    assert program.stats.launches == 12 and not np.array_equal(first[0], second[0])
    compiled.close()
    assert program.region is None and not compiled._programs
    assert np.array_equal(compiled.run([x], backend="sim")[0], first[0])  # opens a new one
    compiled.close()


def test_save_writes_a_runnable_artifact_and_the_levels(qdq, x, tmp_path) -> None:
    manifest = qdq.save(tmp_path / "out")
    assert manifest["instructions"] == qdq.summary()["instructions"]
    for level in ("graph", "quantized", "tile"):
        assert (tmp_path / "out" / "levels" / f"{level}.mlir").is_file()
    (loaded,) = load_artifact(tmp_path / "out").run([x], backend="sim")
    assert np.array_equal(loaded, qdq.run([x], backend="sim")[0])
    qdq.save(tmp_path / "out", levels=False)  # again, into the same directory
    assert not (tmp_path / "out" / "levels").exists()
    (tmp_path / "out" / "levels").mkdir()
    (tmp_path / "out" / "levels" / "notes.txt").write_text("mine")
    with pytest.raises(CompileError, match="notes.txt, which save"):
        qdq.save(tmp_path / "out")


def test_calibration_forms_agree(models, x, tmp_path) -> None:
    samples = np.random.default_rng(5).normal(size=(4, 1, 3, 8, 8)).astype(np.float32)
    np.savez(tmp_path / "cal.npz", x=samples)
    by_dict = canopy_mlir.compile(models["float"], config="tiny", calibration={"x": samples})
    by_path = canopy_mlir.compile(models["float"], config="tiny", calibration=str(tmp_path / "cal.npz"))
    assert by_dict.float_model and by_dict.summary()["launches"] == 6
    assert by_dict.ir_text("dma") == by_path.ir_text("dma")
    by_random = canopy_mlir.compile(models["float"], config="tiny", calibration=4)
    assert by_random.summary()["launches"] == 6
    host_only = canopy_mlir.compile(models["float"], config="tiny")
    assert host_only.summary()["launches"] == 0
    reference = run_graph(host_only.ir["graph"], [x])[0]
    assert np.allclose(host_only.run([x], backend="sim")[0], reference, rtol=1e-5, atol=1e-5)
    report = by_dict.check([x])
    assert report.ok, report.text()
    assert [level.level for level in report.levels] == ["graph", "quantized", "tile", "sim"]


@pytest.mark.parametrize("kwargs, message", [
    ({"model": "missing.onnx"}, "missing.onnx: no such file"),
    ({"calibration": 0}, "needs N >= 1"),
    ({"calibration": "nope.npz"}, "nope.npz: no such calibration file"),
    ({"calibration": 1.5}, "calibration must be None, an int"),
    ({"config": "nonesuch"}, "nonesuch"),
    ({"config": "missing.json"}, "missing.json: no such hardware-config file"),
    ({"method": "bogus", "calibration": 2}, "quantized: "),
])
def test_user_errors_are_compile_errors(models, kwargs, message) -> None:
    kwargs = {"model": models["float"], "config": "tiny", **kwargs}
    with pytest.raises(CompileError, match=message.replace("(", r"\(")):
        canopy_mlir.compile(**kwargs)


def test_not_an_onnx_file(tmp_path) -> None:
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(CompileError, match="not a readable ONNX model") as error:
        canopy_mlir.compile(tmp_path / "junk.onnx")
    assert error.value.stage == "import"
