"""canopy-run --check and canopy_mlir.runtime.check: every level layer by layer.

A clean model must report every level equal (the integer levels bit-exact); a fault
injected at one level must be named at that level and at the layer it hits: a weight
of the second conv corrupted in a saved artifact (checksum fixed, so the loader takes
it) diverges at the simulator on the layer that conv computes (``r1``: conv + residual
add + relu are one card layer), and a tile interpreter that gets max pools wrong diverges
at the tile level on the pool. Takes about 6 s (PoCL's kernel build is cached).
"""

from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from canopy_mlir.interpreters import tile_interpreter
from canopy_mlir.runtime.artifact import load_artifact
from canopy_mlir.runtime.check import check_artifact
from canopy_mlir.tools import compile as compile_tool
from canopy_mlir.tools import run as run_tool

pytest.importorskip("onnxruntime.quantization")



@pytest.fixture(scope="module")
def models(small_cnn_paths: dict[str, Path]) -> dict[str, Path]:
    return small_cnn_paths


@pytest.fixture(scope="module")
def artifacts(models, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("art")
    out = {}
    for name, extra in (("qdq", []), ("float", ["--calibration-random", "8"])):
        out[name] = root / name
        argv = [str(models[name]), "-o", str(out[name]), "--config", "tiny", "-q", "--emit-mlir", *extra]
        assert compile_tool.main(argv) == 0
    return out


@pytest.fixture(scope="module")
def x_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[np.ndarray, Path]:
    x = np.random.default_rng(3).normal(size=(1, 3, 8, 8)).astype(np.float32)
    path = tmp_path_factory.mktemp("x") / "x.npy"
    np.save(path, x)
    return x, path


def _check_output(capsys, argv: list[str], status: int) -> str:
    assert run_tool.main(argv) == status, capsys.readouterr().err
    return capsys.readouterr().out


def test_clean_qdq_model_all_levels_agree(artifacts, x_file, capsys) -> None:
    _, path = x_file
    out = _check_output(capsys, [str(artifacts["qdq"]), "--input", f"x={path}", "--backend", "sim", "--check"], 0)
    assert "graph      reference (QDQ graph)" in out
    assert "quantized  vs graph      10 layers, within tolerance" in out
    assert "tile       vs quantized  8 layers, bit-exact, max |diff| 0" in out
    assert "sim        vs tile" in out and "all levels agree" in out


def test_clean_float_model_on_pocl_all_levels_agree(artifacts, x_file, capsys) -> None:
    _, path = x_file
    out = _check_output(capsys, [str(artifacts["float"]), "--input", f"x={path}", "--check", "--device", "pocl"], 0)
    assert "graph      reference (float graph)" in out
    assert "opencl     vs sim" in out and "bit-exact" in out and "all levels agree" in out


def _corrupt_second_conv_weights(source: Path, target: Path) -> str:
    """Copy ``source`` and flip one byte of the second conv's weights, fixing the checksum."""
    shutil.copytree(source, target)
    manifest = json.loads((target / "manifest.json").read_text())
    weights = [b["file"] for b in manifest["buffers"] if b.get("kind") == "weights"]
    victim = target / weights[1]
    data = bytearray(victim.read_bytes())
    data[0] = (data[0] + 64) % 256
    victim.write_bytes(bytes(data))
    manifest["files"][victim.name] = hashlib.sha256(bytes(data)).hexdigest()
    (target / "manifest.json").write_text(json.dumps(manifest, sort_keys=True, indent=1) + "\n")
    return victim.name


@pytest.mark.parametrize("model, layer", [("qdq", "r1_QuantizeLinear_Output"), ("float", "r1")])
def test_corrupted_weight_is_named_at_the_simulator(artifacts, x_file, tmp_path, capsys, model, layer) -> None:
    _, path = x_file
    _corrupt_second_conv_weights(artifacts[model], tmp_path / "bad")
    out = _check_output(capsys, [str(tmp_path / "bad"), "--input", f"x={path}", "--backend", "sim", "--check"], 3)
    assert "tile       vs quantized" in out and "bit-exact" in out.split("tile       vs quantized")[1].splitlines()[0]
    assert f"first divergence: level 'sim' (against 'tile'), layer {layer} (dma.launch" in out
    report = check_artifact(load_artifact(tmp_path / "bad"), [np.load(path)], backend="sim")
    level, first = report.first
    assert (level, first.name) == ("sim", layer) and first.differing > 0


def test_wrong_tile_interpreter_is_named_at_the_tile_level(artifacts, x_file, monkeypatch) -> None:
    x, _ = x_file
    real = tile_interpreter.pool_blocked

    def off_by_one_max_pool(x, *, kind, **kwargs):
        result = real(x, kind=kind, **kwargs)
        return result + 1 if kind == "max" else result

    monkeypatch.setattr(tile_interpreter, "pool_blocked", off_by_one_max_pool)
    report = check_artifact(load_artifact(artifacts["qdq"]), [x], backend="sim")
    level, first = report.first
    assert (level, first.name, first.op) == ("tile", "p1_QuantizeLinear_Output", "tile.pool")
    assert first.max_abs == 1 and first.differing == first.size == 256
    sim = next(r for r in report.levels if r.level == "sim")
    assert sim.first is not None  # the simulator is right, so it differs from the wrong tile level


def test_missing_levels_are_said(artifacts, x_file, tmp_path, capsys) -> None:
    _, path = x_file
    shutil.copytree(artifacts["qdq"], tmp_path / "bare")
    shutil.rmtree(tmp_path / "bare" / "levels")
    out = _check_output(capsys, [str(tmp_path / "bare"), "--input", f"x={path}", "--backend", "sim", "--check"], 0)
    assert "levels/graph.mlir is missing: compile with canopy-compile --emit-mlir" in out
    assert "levels/tile.mlir is missing" in out
    assert "all checked levels agree" in out and "all levels agree" not in out


def test_device_with_the_simulator_is_a_user_error(artifacts, x_file, capsys) -> None:
    _, path = x_file
    assert run_tool.main([str(artifacts["qdq"]), "--input", f"x={path}", "--backend", "sim", "--device", "pocl"]) == 1
    assert "--device picks an OpenCL device" in capsys.readouterr().err


def test_an_i32_card_result_is_compared_through_its_byte_planes() -> None:
    """ConvInteger on the card: its i32 result leaves the core as byte planes; the card
    recorder reassembles them, so the simulator level equals the tile level on that layer
    (read as plain int32 words, the planes would differ almost everywhere)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    import canopy_mlir

    rng = np.random.default_rng(0)
    weight = rng.integers(-128, 128, (16, 16, 3, 3)).astype(np.int8)
    graph = helper.make_graph(
        [helper.make_node("ConvInteger", ["x", "w"], ["y"], pads=[1] * 4)], "conv_integer",
        [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 16, 6, 6])],
        [helper.make_tensor_value_info("y", TensorProto.INT32, [1, 16, 6, 6])],
        [numpy_helper.from_array(weight, "w")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 21)])
    onnx.checker.check_model(model)
    compiled = canopy_mlir.compile(model, "intelfocl")
    assert "byte_planes" in str(compiled.ir["dma"])
    x = rng.integers(-128, 128, (1, 16, 6, 6)).astype(np.int8)
    report = compiled.check([x])
    sim = next(r for r in report.levels if r.level == "sim")
    (layer,) = [d for d in sim.layers if d.op == "dma.launch"]
    assert sim.exact and layer.ok and layer.differing == 0 and layer.size == 16 * 6 * 6
    assert report.first is None
