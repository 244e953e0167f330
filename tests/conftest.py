"""Shared pytest set-up: the tests directory is importable, hypothesis profiles for CI,
and the small residual CNN many end-to-end tests compile."""

import importlib.util
import os
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "thorough", deadline=None, max_examples=1000, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    """The ONNX backend conformance counts (tests/backend/onnx_backend_summary.py); here
    because under pytest-xdist the controller loads only this conftest."""
    from backend.onnx_backend_summary import print_backend_summary

    print_backend_summary(terminalreporter)


SMALL_CNN_SCRIPT = Path(__file__).parent / "filecheck" / "tools" / "Inputs" / "make_small_cnn.py"


@pytest.fixture(scope="session")
def small_cnn_paths(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """``{"float": .onnx, "qdq": .onnx}``: the small residual CNN of
    tests/filecheck/tools/Inputs/make_small_cnn.py (the lit tests' model), float and as
    onnxruntime's ``quantize_static`` writes it; made once per test session (worker)."""
    pytest.importorskip("onnxruntime.quantization")
    spec = importlib.util.spec_from_file_location("make_small_cnn", SMALL_CNN_SCRIPT)
    assert spec is not None and spec.loader is not None
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    tmp = tmp_path_factory.mktemp("small_cnn")
    script.main(str(tmp / "float.onnx"), str(tmp / "qdq.onnx"))
    return {"float": tmp / "float.onnx", "qdq": tmp / "qdq.onnx"}
