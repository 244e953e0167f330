"""canopy-opt's pass runner: IR dumps, timing, statistics and pass-failure reports.

mlir-opt's pass instrumentation, for xDSL pipelines:
- ``--mlir-print-ir-before=P`` / ``--mlir-print-ir-after=P`` / ``...-all`` /
  ``--mlir-print-ir-after-failure`` dump the module to stderr under mlir-opt's header
  ``// -----// IR Dump After CSE (cse) //----- //``;
- ``--mlir-timing`` times parsing, verification, each pass and output (``Timer``);
- ``--mlir-pass-statistics`` prints what passes recorded with
  ``canopy_mlir.transforms.record_statistic``;
- a pass that raises (anything: a diagnostic or a plain bug) becomes ``PassFailure``
  naming the pass; so does a pass that leaves IR which does not verify.

Crash reproducers (``reproducer_text`` / ``reproducer_arguments``) are plain ``.mlir``
files whose first lines say how they fail and how to rerun them::

    // canopy-opt reproducer: pass 'fold' failed: ZeroDivisionError: division by zero
    // configuration: -p 'fold,cse'
"""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import IO

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import ModulePass
from xdsl.utils.exceptions import ShrinkException

from canopy_mlir.tools.diagnostics import find_failing_op
from canopy_mlir.tools.printing import PrintOptions, print_ir
from canopy_mlir.transforms import PassStatistics, collecting_statistics

REPORT_RULE = "===" + "-" * 73 + "==="


# --------------------------------------------------------------------- failures
class PassFailure(Exception):
    """Pass number ``index`` of the pipeline raised, or left IR that does not verify."""

    def __init__(
        self,
        index: int,
        pass_: ModulePass,
        cause: BaseException,
        *,
        invalid_ir: bool = False,
        op=None,
    ):
        self.index = index
        self.pass_ = pass_
        self.cause = cause
        self.invalid_ir = invalid_ir
        self.op = op
        """The op the failure is about, when known (for a located diagnostic)."""
        self.reproducer: str | None = None
        """Where a reproducer was written, once one was."""
        super().__init__(self.describe())

    @property
    def cause_message(self) -> str:
        """The cause's message; a plain Python exception keeps its type name."""
        from xdsl.utils.exceptions import DiagnosticException

        text = str(self.cause).strip() or type(self.cause).__name__
        if isinstance(self.cause, DiagnosticException):
            return text.splitlines()[0] if text else text
        return f"{type(self.cause).__name__}: {text}"

    def describe(self) -> str:
        what = "left IR that does not verify: " if self.invalid_ir else ""
        return f"pass '{self.pass_.name}' failed: {what}{self.cause_message}"


# ------------------------------------------------------------------------ timing
@dataclass
class Timer:
    """Wall time per step, kept in first-seen order and summed over repeats."""

    started: float = field(default_factory=time.perf_counter)
    seconds: dict[str, float] = field(default_factory=dict)

    @contextmanager
    def measure(self, label: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[label] = self.seconds.get(label, 0.0) + time.perf_counter() - start

    def report(self) -> str:
        """mlir-opt's ``--mlir-timing`` table: each step, the rest, and the total."""
        total = time.perf_counter() - self.started
        rows = list(self.seconds.items())
        rows.append(("Rest", max(total - sum(self.seconds.values()), 0.0)))
        rows.append(("Total", total))
        lines = [
            REPORT_RULE,
            "                         ... Execution time report ...",
            REPORT_RULE,
            f"  Total Execution Time: {total:.4f} seconds",
            "",
            "  ----Wall Time----  ----Name----",
        ]
        for label, seconds in rows:
            share = 100.0 * seconds / total if total > 0 else 0.0
            lines.append(f"  {seconds:8.4f} ({share:5.1f}%)  {label}")
        return "\n".join(lines)


def statistics_report(statistics: Sequence[Sequence[PassStatistics]]) -> str:
    """mlir-opt's ``--mlir-pass-statistics`` report: per pipeline pass, its counters.

    ``statistics[i]`` holds pass ``i``'s statistics first, then those of the passes it
    ran inside itself (printed indented under it).
    """
    lines = [REPORT_RULE, "                         ... Pass statistics report ...", REPORT_RULE]
    for per_pass in statistics:
        for depth, stats in enumerate(per_pass):
            indent = "  " * min(depth, 1)
            lines.append(f"{indent}{stats.pass_name}")
            for name, value in stats.counters.items():
                about = stats.descriptions.get(name)
                suffix = f" - {about}" if about else ""
                lines.append(f"{indent}  (S) {value} {name}{suffix}")
    return "\n".join(lines)


# -------------------------------------------------------------------- the runner
@dataclass(frozen=True)
class Instrumentation:
    """What to report while running passes (the mlir-opt debugging flags)."""

    print_before: frozenset[str] = frozenset()
    print_after: frozenset[str] = frozenset()
    print_before_all: bool = False
    print_after_all: bool = False
    print_after_failure: bool = False
    print_between_passes: bool = False
    """xDSL's flag: the IR between passes, on stdout."""
    time_passes: bool = False
    """xDSL's flag: one line per pass on stdout."""
    verify_each: bool = True
    print_options: PrintOptions = field(default_factory=PrintOptions)


def dump_header(when: str, pass_: ModulePass, failed: bool = False) -> str:
    """mlir-opt's dump header, e.g. ``// -----// IR Dump After CSE (cse) //----- //``."""
    status = " Failed" if failed else ""
    return f"// -----// IR Dump {when} {type(pass_).__name__}{status} ({pass_.name}) //----- //"


class PassRunner:
    """Runs a pipeline on modules with ``Instrumentation``, timing and statistics.

    One runner serves every ``--split-input-file`` chunk, so the timing and statistics
    it gathers are sums over the chunks.
    """

    def __init__(
        self,
        passes: Sequence[ModulePass],
        instrumentation: Instrumentation = Instrumentation(),
        timer: Timer | None = None,
        dump_stream: IO[str] | None = None,
    ):
        self.passes = tuple(passes)
        self.instrumentation = instrumentation
        self.timer = timer
        self.dump_stream = dump_stream
        self.statistics: list[list[PassStatistics]] = [[] for _ in self.passes]
        self.timing_labels = _timing_labels(self.passes)

    @contextmanager
    def _timed(self, label: str) -> Iterator[None]:
        if self.timer is None:
            yield
        else:
            with self.timer.measure(label):
                yield

    def verify(self, module: ModuleOp) -> None:
        """Verify ``module`` (timed as 'Verifier'), unless verification is off."""
        if self.instrumentation.verify_each:
            with self._timed("Verifier"):
                module.verify()

    def dump(self, header: str, module: ModuleOp) -> None:
        """Print ``module`` under ``header`` to the dump stream (stderr by default)."""
        stream = self.dump_stream or sys.stderr
        stream.write(header + "\n")
        try:
            print_ir(module, stream, self.instrumentation.print_options)
        except Exception as err:  # noqa: BLE001 - the IR of a failed pass may be broken
            stream.write(f"<the IR cannot be printed: {type(err).__name__}: {err}>\n")
        stream.write("\n")
        stream.flush()

    def run(self, ctx: Context, module: ModuleOp) -> None:
        """Verify ``module``, then apply each pass, verifying after each one.

        A failing initial verification raises the verifier's error (bad input); a
        failing pass raises ``PassFailure``.
        """
        self.verify(module)
        for index, pass_ in enumerate(self.passes):
            self._run_one(index, pass_, ctx, module)

    def _run_one(self, index: int, pass_: ModulePass, ctx: Context, module: ModuleOp) -> None:
        setting = self.instrumentation
        if setting.print_before_all or pass_.name in setting.print_before:
            self.dump(dump_header("Before", pass_), module)
        start = time.perf_counter()
        try:
            with self._timed(self.timing_labels[index]), collecting_statistics(pass_) as stats:
                pass_.apply(ctx, module)
        except ShrinkException:
            raise
        except Exception as err:
            self._record(index, stats)
            if setting.print_after_failure:
                self.dump(dump_header("After", pass_, failed=True), module)
            raise PassFailure(index, pass_, err, op=getattr(err, "op", None)) from err
        self._record(index, stats)
        if setting.time_passes:
            print(f"Pass {pass_.name} took {time.perf_counter() - start} seconds")
        try:
            self.verify(module)
        except Exception as err:
            if setting.print_after_failure:
                self.dump(dump_header("After", pass_, failed=True), module)
            culprit = find_failing_op(module)
            raise PassFailure(
                index, pass_, err, invalid_ir=True, op=culprit[0] if culprit else None
            ) from err
        if setting.print_after_all or pass_.name in setting.print_after:
            self.dump(dump_header("After", pass_), module)
        if setting.print_between_passes and index + 1 < len(self.passes):
            print(f"IR after {pass_.name}:")
            print_ir(module, sys.stdout, setting.print_options)
            print("\n\n")

    def _record(self, index: int, stats: list[PassStatistics]) -> None:
        collected = self.statistics[index]
        for position, new in enumerate(stats):
            if position < len(collected) and collected[position].pass_name == new.pass_name:
                collected[position].merge(new)
            else:
                collected.append(new)

    def statistics_report(self) -> str:
        return statistics_report(self.statistics)


def _timing_labels(passes: Sequence[ModulePass]) -> list[str]:
    """Pass names as timing rows; a pass that runs twice gets '(2)' on its second row."""
    seen: dict[str, int] = {}
    labels = []
    for pass_ in passes:
        seen[pass_.name] = seen.get(pass_.name, 0) + 1
        count = seen[pass_.name]
        labels.append(pass_.name if count == 1 else f"{pass_.name} ({count})")
    return labels


# -------------------------------------------------------------------- reproducers
REPRODUCER_TAG = "// canopy-opt reproducer: "
CONFIGURATION_TAG = "// configuration: "


def reproducer_text(ir: str, arguments: Sequence[str], failure: str) -> str:
    """A reproducer file: what failed, the canopy-opt arguments to rerun, the IR."""
    failure_line = " ".join(failure.split())
    return (
        f"{REPRODUCER_TAG}{failure_line}\n"
        f"{CONFIGURATION_TAG}{shlex.join(arguments)}\n"
        f"// rerun: canopy-opt THIS_FILE --run-reproducer\n"
        f"{ir}"
    )


class ReproducerError(ValueError):
    """A ``--run-reproducer`` input without a usable configuration line."""


def reproducer_arguments(text: str, source: str) -> list[str]:
    """The canopy-opt arguments in the ``// configuration:`` line of reproducer ``text``."""
    for line in text.splitlines()[:20]:
        if line.startswith(CONFIGURATION_TAG):
            try:
                return shlex.split(line[len(CONFIGURATION_TAG) :])
            except ValueError as err:
                raise ReproducerError(f"{source}: bad configuration line: {err}") from None
    raise ReproducerError(
        f"{source}: no '{CONFIGURATION_TAG.strip()}' line in its first 20 lines "
        "(is it a canopy-opt reproducer?)"
    )


__all__ = [
    "Instrumentation",
    "PassFailure",
    "PassRunner",
    "ReproducerError",
    "Timer",
    "dump_header",
    "reproducer_arguments",
    "reproducer_text",
    "statistics_report",
]
