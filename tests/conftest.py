"""Shared pytest set-up: the tests directory is importable, hypothesis profiles for CI."""

import os
import sys
from pathlib import Path

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
