"""canopy-compile and canopy-run, through main(argv) and the installed scripts.

The small CNN (tests/filecheck/tools/Inputs/make_small_cnn.py) compiled by the CLI must
run, through canopy-run, to the bits of ``run_dma`` on the module the pipeline gives in
memory; user errors are one line on stderr with exit status 1. Takes about 6 s.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.hw import load_config
from canopy_mlir.runtime.card import open_card
from canopy_mlir.runtime.dma_executor import run_dma
from canopy_mlir.tools import compile as compile_tool
from canopy_mlir.tools import run as run_tool
from canopy_mlir.tools.pipelines import apply_pipeline

pytest.importorskip("onnxruntime.quantization")



@pytest.fixture(scope="module")
def models(small_cnn_paths: dict[str, Path]) -> dict[str, Path]:
    return small_cnn_paths


@pytest.fixture(scope="module")
def artifact_dir(models: dict[str, Path], tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("art") / "cnn"
    assert compile_tool.main([str(models["qdq"]), "-o", str(out), "--config", "tiny", "-q"]) == 0
    return out


@pytest.fixture()
def x_file(tmp_path: Path) -> tuple[np.ndarray, Path]:
    x = np.random.default_rng(3).normal(size=(1, 3, 8, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    return x, tmp_path / "x.npy"


def test_compile_then_run_equals_run_dma(models, artifact_dir, x_file, tmp_path, capsys) -> None:
    x, path = x_file
    assert run_tool.main([str(artifact_dir), "--input", f"x={path}", "-o", str(tmp_path / "y.npz"),
                          "--backend", "sim"]) == 0
    got = np.load(tmp_path / "y.npz")
    module = apply_pipeline(import_onnx(onnx.load(models["qdq"])), 'canopy-to-dma{config="tiny"}')
    expected = run_dma(module, [x], open_card("tiny", backend="sim"))
    assert list(got) == ["y"] and np.array_equal(got["y"], expected[0])
    assert run_tool.main([str(artifact_dir), "--input", f"x={path}", "--backend", "sim"]) == 0
    assert "y: shape [1, 10] float32" in capsys.readouterr().out


def test_compile_summary_and_emit_mlir(models, tmp_path, capsys) -> None:
    out = tmp_path / "f"
    status = compile_tool.main([str(models["float"]), "-o", str(out), "--config", "tiny",
                                "--calibration-random", "4", "--emit-mlir"])
    captured = capsys.readouterr()
    assert status == 0, captured.err
    assert "(tile -> dma)" in captured.err and "warning" not in captured.err
    assert "launches" in captured.out and "pool:" in captured.out and "config: tiny" in captured.out
    assert "card: 6 layers (tile.conv x4, tile.pool x2)" in captured.out
    assert "dma.launch" in (out / "levels" / "dma.mlir").read_text()
    assert "graph.conv " in (out / "levels" / "graph.mlir").read_text()
    assert "graph.conv_integer" in (out / "levels" / "quantized.mlir").read_text()
    assert "tile.conv" in (out / "levels" / "tile.mlir").read_text()
    assert "levels" not in json.loads((out / "manifest.json").read_text())["files"]
    # compiling again into the same directory replaces the levels (no stale files)
    assert compile_tool.main([str(models["float"]), "-o", str(out), "--config", "tiny",
                              "--calibration-random", "4", "-q"]) == 0
    assert not (out / "levels").exists()


def test_first_conv_min_channels_reaches_the_partition(models, tmp_path, capsys) -> None:
    """The small CNN's 3-channel stem goes to the card by default on tiny (BLOCK_IN 4);
    with --first-conv-min-channels 4 it stays on the host."""
    argv = [str(models["float"]), "-o", str(tmp_path / "f"), "--config", "tiny", "--calibration-random", "4", "-q"]
    assert compile_tool.main([*argv, "--first-conv-min-channels", "4"]) == 0
    out = capsys.readouterr().out
    assert "card: 6 layers (tile.alu x1, tile.conv x3, tile.pool x2)" in out  # the stem's relu: tile.alu
    assert "graph.conv_integer x1" in out
    assert "needs C >= 0" in _error(compile_tool.main, [*argv, "--first-conv-min-channels", "-1"], capsys)


def test_host_program_holds_the_same_artifact(models, tmp_path, capsys) -> None:
    """--host-program writes -t opencl-host's files; its artifact is the one -o gets
    (built and run on PoCL in tests/targets/test_opencl_host.py)."""
    out, host = tmp_path / "a", tmp_path / "host"
    assert compile_tool.main([str(models["qdq"]), "-o", str(out), "--config", "tiny", "-q",
                              "--host-program", str(host)]) == 0
    assert f"host program: {host}" in capsys.readouterr().out
    assert {"host.cpp", "canopy_host.hpp", "vta_core.cl", "build.sh", "artifact"} <= {p.name for p in host.iterdir()}
    assert (host / "artifact" / "manifest.json").read_text() == (out / "manifest.json").read_text()


def test_float_model_without_calibration_warns(models, tmp_path, capsys) -> None:
    assert compile_tool.main([str(models["float"]), "-o", str(tmp_path / "f"), "-q"]) == 0
    assert "nothing runs on the card" in capsys.readouterr().err


def _error(main, argv, capsys) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1, err
    return err


def test_user_errors_are_one_line(models, artifact_dir, x_file, tmp_path, capsys) -> None:
    _, path = x_file
    assert "no such file" in _error(compile_tool.main, [str(tmp_path / "none.onnx"), "-o", str(tmp_path / "o")], capsys)
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    assert "not a readable ONNX model" in _error(
        compile_tool.main, [str(tmp_path / "junk.onnx"), "-o", str(tmp_path / "o"), "-q"], capsys)
    assert "unknown input 'z'" in _error(run_tool.main, [str(artifact_dir), "--input", f"z={path}"], capsys)
    assert "missing input 'x'" in _error(run_tool.main, [str(artifact_dir)], capsys)
    np.save(tmp_path / "small.npy", np.zeros((1, 3, 4, 4), np.float32))
    assert "has shape [1, 3, 4, 4]" in _error(
        run_tool.main, [str(artifact_dir), "--input", f"x={tmp_path / 'small.npy'}"], capsys)
    assert "no such file" in _error(run_tool.main, [str(artifact_dir), "--input", "x=nope.npy"], capsys)
    assert "no such artifact directory" in _error(run_tool.main, [str(tmp_path / "none")], capsys)


def test_run_refuses_a_corrupted_artifact(artifact_dir, x_file, tmp_path, capsys) -> None:
    _, path = x_file
    copy = tmp_path / "copy"
    shutil.copytree(artifact_dir, copy)
    victim = sorted(copy.glob("*_instructions.bin"))[0]
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0x80
    victim.write_bytes(bytes(data))
    err = _error(run_tool.main, [str(copy), "--input", f"x={path}", "--backend", "sim"], capsys)
    assert f"{victim.name}: checksum mismatch" in err


def test_installed_scripts(artifact_dir, x_file) -> None:
    """pip install -e . (the Makefile's venv step) puts both scripts next to python."""
    _, path = x_file
    bin_dir = Path(sys.executable).parent
    for name in ("canopy-compile", "canopy-run"):
        if not (bin_dir / name).exists():
            pytest.fail(f"{name} not installed in {bin_dir}: rerun pip install -e .")
    result = subprocess.run([str(bin_dir / "canopy-run"), str(artifact_dir), "--input", f"x={path}",
                             "--backend", "sim"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "y: shape [1, 10] float32" in result.stdout


def test_run_opens_a_pool_rounded_to_the_alignment(models, x_file, tmp_path, capsys) -> None:
    """intelfocl aligns pool blocks to 256 bytes: a pool size that is not a multiple of
    it must still fit the card canopy-run opens."""
    out = tmp_path / "intelfocl"
    assert compile_tool.main([str(models["qdq"]), "-o", str(out), "--config", "intelfocl", "-q"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["pool_bytes"] % load_config("intelfocl").pool_alignment != 0
    x, path = x_file
    capsys.readouterr()
    assert run_tool.main([str(out), "--input", f"x={path}", "--backend", "sim"]) == 0
