"""Prints the ONNX backend conformance summary when tests/backend runs on its own."""

from __future__ import annotations

from onnx_backend_summary import print_backend_summary


def pytest_terminal_summary(terminalreporter, exitstatus, config):  # noqa: ARG001
    print_backend_summary(terminalreporter)
