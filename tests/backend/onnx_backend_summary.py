"""The end-of-run line on the ONNX backend node tests: passed, and excluded by reason.

Excluded tests run as xfails whose reason starts ``excluded [<pattern>]: <why>``
(tests/backend/test_onnx_backend.py); this groups them by pattern.

Both tests/conftest.py and tests/backend/conftest.py call :func:`print_backend_summary`
from ``pytest_terminal_summary``: under pytest-xdist the controller never collects, so it
loads only the top-level conftest; run alone, tests/backend's own conftest prints. The
summary prints once either way.
"""

from __future__ import annotations

import re
from collections import Counter

NODE_TESTS = "test_onnx_backend.py::OnnxBackendNodeModelTest::"
_EXCLUDED = re.compile(r"excluded \[(?P<pattern>.*?)\]: (?P<reason>.*)", re.DOTALL)


def _node_reports(stats: dict, outcome: str) -> list:
    return [r for r in stats.get(outcome, []) if NODE_TESTS in getattr(r, "nodeid", "")]


def backend_summary_lines(stats: dict, width: int = 120) -> list[str]:
    """The summary for terminal ``stats`` (empty when no node test ran)."""
    passed = [r for r in _node_reports(stats, "passed") if r.when == "call"]
    excluded = _node_reports(stats, "xfailed")
    failed = {r.nodeid for r in _node_reports(stats, "failed")}
    if not (passed or excluded or failed):
        return []
    reasons: Counter[tuple[str, str]] = Counter()
    for report in excluded:
        match = _EXCLUDED.match(getattr(report, "wasxfail", ""))
        reasons[(match["pattern"], match["reason"]) if match else ("?", "no reason given")] += 1
    head = f"ONNX backend node tests: {len(passed)} passed, {len(excluded)} excluded"
    if failed:
        head += f", {len(failed)} FAILED"
    lines = [head + (" (by reason:" if reasons else "")]
    for (pattern, reason), count in sorted(reasons.items(), key=lambda item: (-item[1], item[0])):
        line = f"  {count:4d}  {pattern}  {reason}"
        lines.append(line if len(line) <= width else line[: width - 3] + "...")
    if reasons:
        lines.append(")")
    return lines


_PRINTED = "_canopy_backend_summary_printed"


def print_backend_summary(terminalreporter) -> None:
    """Write the summary (once per run) if any ONNX backend node test ran."""
    config = terminalreporter.config
    if getattr(config, _PRINTED, False):
        return
    setattr(config, _PRINTED, True)
    lines = backend_summary_lines(terminalreporter.stats, terminalreporter._tw.fullwidth)
    if lines:
        terminalreporter.write_sep("=", "ONNX backend conformance")
        for line in lines:
            terminalreporter.write_line(line)
