"""The canopy-artifact target and its runtime: write, load, run, bit for bit.

The small CNN of tests/filecheck/tools/Inputs/make_small_cnn.py (QDQ model) goes down to
the dma level; its artifact, loaded back, must give the same bits as ``run_dma`` on the
in-memory module, be byte-identical across compiles, and refuse a corrupted file.
Takes about 5 s.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from xdsl.dialects.builtin import ModuleOp

from canopy_mlir.dialects import dma
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.hw import PRESETS
from canopy_mlir.runtime.artifact import ArtifactLoadError, load_artifact
from canopy_mlir.runtime.card import CardError, open_card
from canopy_mlir.runtime.dma_executor import run_dma
from canopy_mlir.targets.canopy_artifact import (
    FORMAT_VERSION,
    ArtifactError,
    write_artifact,
)
from canopy_mlir.tools.opt import main as opt_main
from canopy_mlir.tools.pipelines import apply_pipeline

pytest.importorskip("onnxruntime.quantization")



@pytest.fixture(scope="module")
def qdq_path(small_cnn_paths: dict[str, Path]) -> Path:
    return small_cnn_paths["qdq"]


def _compile(path: Path, config: str = "tiny") -> ModuleOp:
    return apply_pipeline(import_onnx(onnx.load(path)), f'canopy-default{{config="{config}"}}')


@pytest.fixture(scope="module")
def module(qdq_path: Path) -> ModuleOp:
    return _compile(qdq_path)


def _inputs(count: int = 3) -> list[np.ndarray]:
    rng = np.random.default_rng(11)
    return [rng.normal(size=(1, 3, 8, 8)).astype(np.float32) for _ in range(count)]


def _files(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_artifact_runs_bit_exact_like_run_dma(module: ModuleOp, tmp_path: Path) -> None:
    write_artifact(module, tmp_path / "a")
    artifact = load_artifact(tmp_path / "a")
    for x in _inputs():
        expected = run_dma(module, [x], open_card("tiny", backend="sim"))
        got = artifact.run({"x": x}, backend="sim")
        assert len(got) == len(expected) == 1
        assert got[0].dtype == expected[0].dtype and np.array_equal(got[0], expected[0])


def test_constants_round_trip_through_bin_files(module: ModuleOp, tmp_path: Path) -> None:
    manifest = write_artifact(module, tmp_path / "a")
    original = [op.data() for op in module.walk() if isinstance(op, dma.ConstantOp)]
    files = [b["file"] for b in manifest["buffers"] if "file" in b]
    assert [(tmp_path / "a" / f).read_bytes() for f in files] == original
    assert "dense<" not in (tmp_path / "a" / "module.mlir").read_text().split("dma.constant")[-1].split("\n")[0]
    loaded = [op.data() for op in load_artifact(tmp_path / "a").module.walk() if isinstance(op, dma.ConstantOp)]
    assert loaded == original


def test_manifest_describes_the_program(module: ModuleOp, tmp_path: Path) -> None:
    directory = tmp_path / "a"
    write_artifact(module, directory)
    manifest = json.loads((directory / "manifest.json").read_text())
    assert manifest["format_version"] == FORMAT_VERSION
    assert manifest["config"] == {"name": "tiny", "parameters": PRESETS["tiny"].as_dict()}
    assert manifest["inputs"] == [{"name": "x", "shape": [1, 3, 8, 8], "dtype": "float32"}]
    assert manifest["outputs"] == [{"name": "y", "shape": [1, 10], "dtype": "float32"}]
    launches = [op for op in module.walk() if isinstance(op, dma.LaunchOp)]
    assert len(manifest["launches"]) == len(launches) >= 4
    assert manifest["instructions"] == sum(op.insn_count for op in launches)
    function = next(op for op in module.walk() if op.name == "func.func")
    assert manifest["pool_bytes"] == function.attributes["dma.pool_bytes"].value.data
    assert max(b["offset"] + b["nbytes"] for b in manifest["buffers"]) <= manifest["pool_bytes"]
    assert {"graph.quantize_linear", "graph.dequantize_linear"} <= set(manifest["host_ops"])
    on_disk = {p.name for p in directory.iterdir()} - {"manifest.json"}
    assert set(manifest["files"]) == on_disk
    for name, digest in manifest["files"].items():
        assert hashlib.sha256((directory / name).read_bytes()).hexdigest() == digest


def test_two_compiles_give_identical_bytes(qdq_path: Path, tmp_path: Path) -> None:
    write_artifact(_compile(qdq_path), tmp_path / "one")
    write_artifact(_compile(qdq_path), tmp_path / "two")
    assert _files(tmp_path / "one") == _files(tmp_path / "two")


def test_canopy_opt_target_writes_the_same_artifact(qdq_path: Path, module: ModuleOp, tmp_path: Path) -> None:
    status = opt_main(["-f", "onnx", str(qdq_path), "-p", 'canopy-default{config="tiny"}',
                       "-t", "canopy-artifact", "-o", str(tmp_path / "opt")])
    assert status == 0
    write_artifact(module, tmp_path / "api")
    assert _files(tmp_path / "opt") == _files(tmp_path / "api")


def test_canopy_opt_target_needs_a_directory(qdq_path: Path, capsys: pytest.CaptureFixture) -> None:
    status = opt_main(["-f", "onnx", str(qdq_path), "-p", 'canopy-default{config="tiny"}', "-t", "canopy-artifact"])
    assert status == 1
    assert "give -o DIR" in capsys.readouterr().err


def test_corrupted_bin_is_refused(module: ModuleOp, tmp_path: Path) -> None:
    manifest = write_artifact(module, tmp_path / "a")
    name = next(b["file"] for b in manifest["buffers"] if b["kind"] == "weights")
    path = tmp_path / "a" / name
    data = bytearray(path.read_bytes())
    data[0] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(ArtifactLoadError, match=f"{name}: checksum mismatch"):
        load_artifact(tmp_path / "a")


def test_missing_file_and_wrong_version_are_refused(module: ModuleOp, tmp_path: Path) -> None:
    manifest = write_artifact(module, tmp_path / "a")
    name = next(b["file"] for b in manifest["buffers"] if b["kind"] == "instructions")
    (tmp_path / "a" / name).unlink()
    with pytest.raises(ArtifactLoadError, match=f"{name} is missing"):
        load_artifact(tmp_path / "a")
    write_artifact(module, tmp_path / "b")
    manifest_path = tmp_path / "b" / "manifest.json"
    manifest_path.write_text(manifest_path.read_text().replace(
        f'"format_version": {FORMAT_VERSION}', '"format_version": 999'))
    with pytest.raises(ArtifactLoadError, match="format version 999"):
        load_artifact(tmp_path / "b")
    with pytest.raises(ArtifactLoadError, match="no such artifact directory"):
        load_artifact(tmp_path / "nowhere")


def test_changed_config_is_refused(module: ModuleOp, tmp_path: Path) -> None:
    write_artifact(module, tmp_path / "a")
    path = tmp_path / "a" / "manifest.json"
    manifest = json.loads(path.read_text())
    manifest["config"]["parameters"]["log_acc_buff_size"] += 1
    path.write_text(json.dumps(manifest))
    with pytest.raises(ArtifactLoadError, match="differs from the one it was compiled for"):
        load_artifact(tmp_path / "a")


def test_bad_inputs_are_refused(module: ModuleOp, tmp_path: Path) -> None:
    write_artifact(module, tmp_path / "a")
    artifact = load_artifact(tmp_path / "a")
    with pytest.raises(ArtifactLoadError, match="unknown input 'z'"):
        artifact.run({"z": _inputs(1)[0]}, backend="sim")
    with pytest.raises(ArtifactLoadError, match=r"input 'x' has shape \[1, 3, 4, 4\]"):
        artifact.run({"x": np.zeros((1, 3, 4, 4), np.float32)}, backend="sim")


def test_foreign_files_in_the_directory_are_not_deleted(module: ModuleOp, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "notes.txt").write_text("mine")
    with pytest.raises(ArtifactError, match="holds notes.txt"):
        write_artifact(module, tmp_path / "a")
    assert (tmp_path / "a" / "notes.txt").read_text() == "mine"


def test_config_file_travels_with_the_artifact(qdq_path: Path, tmp_path: Path) -> None:
    config = PRESETS["tiny"].with_changes(name="mine")
    config_path = tmp_path / "mine.json"
    config_path.write_text(json.dumps(config.to_vta_json()))
    lowered = _compile(qdq_path, str(config_path))
    write_artifact(lowered, tmp_path / "a")
    config_path.unlink()  # the artifact must not need the original file
    artifact = load_artifact(tmp_path / "a")
    assert artifact.config == config and (tmp_path / "a" / "config.json").is_file()
    x = _inputs(1)[0]
    expected = run_dma(_compile(qdq_path), [x], open_card("tiny", backend="sim"))
    assert np.array_equal(artifact.run([x], backend="sim")[0], expected[0])


def test_opencl_core_matches_simulator(module: ModuleOp, tmp_path: Path) -> None:
    write_artifact(module, tmp_path / "a")
    artifact = load_artifact(tmp_path / "a")
    try:
        card = open_card("tiny", backend="opencl")
    except CardError as error:
        pytest.skip(f"no OpenCL device: {error}")
    x = _inputs(1)[0]
    assert np.array_equal(artifact.run([x], card=card)[0], artifact.run([x], backend="sim")[0])
