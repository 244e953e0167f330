"""Source-located diagnostics and mlir-opt's ``--verify-diagnostics`` for canopy-opt.

A test input states the diagnostics it should produce in comments, as in MLIR::

    // expected-error {{message}}            on this line
    // expected-error@+1 {{message}}         on the next line (@-2: two lines up)
    // expected-error@above {{message}}      on the closest line above without a directive
    // expected-error@below {{message}}      on the closest line below without a directive
    // expected-error@unknown {{message}}    a diagnostic with no source location
    // expected-error-re {{a {{[0-9]+}} b}}  ``{{...}}`` inside the text is a regex

``error`` may be ``warning``, ``remark`` or ``note``. A diagnostic matches a directive of
its severity on its line whose text it contains (or whose regex it matches). Unmatched
directives and unexpected diagnostics make the check fail; ``format_mismatch`` lists
both, located, as mlir-opt does.

Where diagnostics come from, and how they get their line:
- parse errors carry a span (``ParseError.span``); a ``MultipleSpansParseError``'s other
  spans become notes;
- verifier errors do not name their op in xDSL 0.74 (``VerifyException`` is a bare
  message), so ``find_failing_op`` re-verifies op by op to find it;
- ops carry no source position unless written with ``loc(...)``: ``LocatingParser``
  records where each op starts, and ``SourceMap.locate`` turns that into a line. Ops
  that passes create have no position; they are located at their closest located
  ancestor (so a diagnostic about a new op inside a function points at the function);
- passes report an error on an op with ``raise OpError(op, "message")`` and warnings
  or remarks with ``emit_warning(op, "...")`` / ``emit_remark(op, "...")``.
"""

from __future__ import annotations

import bisect
import dataclasses
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import Enum
from functools import cached_property

from xdsl.dialects.builtin import FileLineColLoc
from xdsl.ir import Operation
from xdsl.parser import Parser
from xdsl.utils.exceptions import (
    DiagnosticException,
    MultipleSpansParseError,
    ParseError,
)
from xdsl.utils.lexer import Span


class Severity(Enum):
    ERROR = "error"
    WARNING = "warning"
    REMARK = "remark"
    NOTE = "note"


# ------------------------------------------------------------------- diagnostics
@dataclass(frozen=True)
class SourceDiagnostic:
    """One diagnostic: severity, message, and 1-based line/column (None: unknown)."""

    severity: Severity
    message: str
    line: int | None = None
    column: int | None = None


class OpError(DiagnosticException):
    """An error about one op, raised by a pass (or verifier) to be reported at its line."""

    def __init__(self, op: Operation, message: str):
        super().__init__(message)
        self.op = op
        self.message = message


@dataclass
class DiagnosticSink:
    """Where ``emit_warning``/``emit_remark`` go while a tool processes one input.

    ``locate`` maps an op to its (line, column); ``on_diagnostic`` sees each one as it
    is emitted (canopy-opt prints it, or keeps it for ``--verify-diagnostics``).
    """

    locate: Callable[[Operation], tuple[int, int] | None]
    on_diagnostic: Callable[[SourceDiagnostic], None]

    def emit(self, op: Operation | None, severity: Severity, message: str) -> None:
        position = self.locate(op) if op is not None else None
        line, column = position if position is not None else (None, None)
        self.on_diagnostic(SourceDiagnostic(severity, message, line, column))


_SINK: ContextVar[DiagnosticSink | None] = ContextVar("canopy_diagnostic_sink", default=None)


@contextmanager
def diagnostics_to(sink: DiagnosticSink) -> Iterator[DiagnosticSink]:
    """Send ``emit_warning``/``emit_remark``/``emit_note`` to ``sink`` during the block."""
    token = _SINK.set(sink)
    try:
        yield sink
    finally:
        _SINK.reset(token)


def collecting_diagnostics() -> bool:
    """Whether a tool collects diagnostics now (library use prints them to stderr)."""
    return _SINK.get() is not None


def _emit(op: Operation | None, severity: Severity, message: str) -> None:
    sink = _SINK.get()
    if sink is None:
        print(f"{severity.value}: {message}", file=sys.stderr)
    else:
        sink.emit(op, severity, message)


def emit_warning(op: Operation | None, message: str) -> None:
    """Report a warning about ``op`` (to stderr at its line, or to the active sink)."""
    _emit(op, Severity.WARNING, message)


def emit_remark(op: Operation | None, message: str) -> None:
    """Report a remark (an informational message) about ``op``."""
    _emit(op, Severity.REMARK, message)


def emit_note(op: Operation | None, message: str) -> None:
    """Report a note about ``op`` (context for the diagnostic before it)."""
    _emit(op, Severity.NOTE, message)


# ------------------------------------------------------------ op source positions
class SourceMap:
    """Where each parsed op starts in its source text, as 1-based (line, column)."""

    def __init__(self, text: str, line_offset: int = 0):
        self.text = text
        self.line_offset = line_offset
        """Added to lines (the text is one ``--split-input-file`` chunk of a file)."""
        self.op_offsets: dict[Operation, int] = {}
        self._line_starts: list[int] | None = None

    def position_of_offset(self, offset: int) -> tuple[int, int]:
        """(line, column), 1-based, of character ``offset``, with the line offset added."""
        if self._line_starts is None:
            self._line_starts = [0] + [m.end() for m in re.finditer("\n", self.text)]
        index = bisect.bisect_right(self._line_starts, offset) - 1
        return index + 1 + self.line_offset, offset - self._line_starts[index] + 1

    def locate(self, op: Operation) -> tuple[int, int] | None:
        """``op``'s position, else its closest located ancestor's; None if none is."""
        current: Operation | None = op
        while current is not None:
            offset = self.op_offsets.get(current)
            if offset is not None:
                return self.position_of_offset(offset)
            location = current.location
            if isinstance(location, FileLineColLoc):
                return location.line.data, location.column.data
            current = current.parent_op()
        return None


class LocatingParser(Parser):
    """xDSL's Parser that records each op's start offset in a ``SourceMap``."""

    def __init__(self, ctx, text: str, name: str, source_map: SourceMap):
        super().__init__(ctx, text, name)
        self.source_map = source_map

    def parse_operation(self) -> Operation:
        start = self._current_token.span.start
        op = super().parse_operation()
        self.source_map.op_offsets[op] = start
        return op


# --------------------------------------------------------------- failing op search
def find_failing_op(root: Operation) -> tuple[Operation, Exception] | None:
    """The op a failed ``root.verify()`` tripped over, and the error verifying it alone.

    xDSL's verifier raises a bare message, so this re-verifies one op at a time
    (children before parents, as ``Operation.verify`` runs custom verifiers), plus the
    "empty block" check that xDSL makes per block. Runs only after a failure.
    """
    for op in root.walk(region_first=True):
        for region in op.regions:
            for block in region.blocks:
                if not block.ops:
                    try:
                        block.verify()
                    except Exception as err:  # noqa: BLE001 - locating, not handling
                        return op, err
        try:
            op.verify(verify_nested_ops=False)
        except Exception as err:  # noqa: BLE001 - locating, not handling
            return op, err
    return None


def parse_error_diagnostics(err: ParseError, line_offset: int = 0) -> list[SourceDiagnostic]:
    """A parse error as an error at its span, plus a note per extra span it names."""

    def at(span: Span, severity: Severity, message: str) -> SourceDiagnostic:
        location = dataclasses.replace(span, line_offset=line_offset).get_location()
        return SourceDiagnostic(severity, message, location.line, location.col)

    found = [at(err.span, Severity.ERROR, err.msg)]
    if isinstance(err, MultipleSpansParseError):
        for span, message in err.refs:
            found.append(at(span, Severity.NOTE, message or err.ref_text or ""))
    return found


# ------------------------------------------------------------ expected diagnostics
class DirectiveError(ValueError):
    """A malformed ``expected-*`` directive; the message names its line."""


@dataclass(frozen=True)
class ExpectedDiagnostic:
    """One ``expected-*`` directive: what it expects, on which line, and where it is."""

    severity: Severity
    text: str
    """The text between the outer ``{{`` and ``}}``."""
    line: int | None
    """The line the diagnostic must be on (1-based, in the file); None: ``@unknown``."""
    directive_line: int
    directive_column: int
    is_regex: bool = False

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        """The text as a regex: literal, or with ``{{...}}`` parts as regexes (``-re``)."""
        if not self.is_regex:
            return re.compile(re.escape(self.text))
        parts = re.split(r"\{\{(.*?)\}\}", self.text)
        return re.compile(
            "".join(part if i % 2 else re.escape(part) for i, part in enumerate(parts))
        )

    def matches(self, message: str) -> bool:
        return self.pattern.search(message) is not None


_DIRECTIVE_HEAD = re.compile(r"expected-(error|warning|remark|note)(-re)?")
_DIRECTIVE = re.compile(
    r"expected-(?P<severity>error|warning|remark|note)(?P<re>-re)?"
    r"(?:@(?P<where>[+-]\d+|above|below|unknown))?"
    r"[ \t]*\{\{(?P<text>.*)\}\}[ \t\r]*$"
)
_DIRECTIVE_START = re.compile(
    r"expected-(error|warning|remark|note)(-re)?(@\S*)?[ \t]*\{\{"
)


def parse_expected_diagnostics(text: str, line_offset: int = 0) -> list[ExpectedDiagnostic]:
    """The ``expected-*`` directives in ``text`` (one per line, as in MLIR).

    A line that starts a directive (``expected-error ... {{``) but does not complete
    one raises ``DirectiveError``; prose that merely mentions ``expected-error`` is
    ignored. ``text`` may be one ``--split-input-file`` chunk: ``line_offset`` (the
    lines before it) is added to every line number, so they count from the file's top.
    """
    expected: list[ExpectedDiagnostic] = []
    waiting_for_next_line: list[tuple[re.Match[str], int]] = []
    last_plain_line: int | None = None
    lines = text.split("\n")
    for number, line in enumerate(lines, start=1):
        match = _DIRECTIVE.search(line)
        if match is None:
            if _DIRECTIVE_START.search(line):
                raise DirectiveError(
                    f"line {number + line_offset}: malformed directive (expected "
                    "'expected-<severity>[-re][@+N|@-N|@above|@below|@unknown] {{text}}'"
                    f" at the end of the line): {line.strip()}"
                )
            for pending, pending_line in waiting_for_next_line:
                expected.append(_expected(pending, pending_line, number, line_offset))
            waiting_for_next_line = []
            last_plain_line = number
            continue
        where = match.group("where")
        if where == "below":
            waiting_for_next_line.append((match, number))
            continue
        if where == "above":
            if last_plain_line is None:
                raise DirectiveError(
                    f"line {number + line_offset}: '@above' with no line above it"
                )
            target: int | None = last_plain_line
        elif where == "unknown":
            target = None
        elif where is not None:
            target = number + int(where)
            if not 1 <= target <= len(lines):
                raise DirectiveError(
                    f"line {number + line_offset}: '@{where}' points outside the input"
                    f" (line {target + line_offset})"
                )
        else:
            target = number
        expected.append(_expected(match, number, target, line_offset))
    if waiting_for_next_line:
        _, pending_line = waiting_for_next_line[0]
        raise DirectiveError(
            f"line {pending_line + line_offset}: '@below' with no line below it"
        )
    return expected


def _expected(
    match: re.Match[str], directive_line: int, target: int | None, line_offset: int
) -> ExpectedDiagnostic:
    text = match.group("text")
    expected = ExpectedDiagnostic(
        Severity(match.group("severity")),
        text,
        None if target is None else target + line_offset,
        directive_line + line_offset,
        match.start() + 1,
        is_regex=match.group("re") is not None,
    )
    try:
        _ = expected.pattern
    except re.error as err:
        raise DirectiveError(
            f"line {directive_line + line_offset}: invalid regex in '{text}': {err}"
        ) from None
    return expected


# ---------------------------------------------------------------------- matching
@dataclass
class DiagnosticMismatch:
    """What ``match_diagnostics`` found wrong; empty lists mean the check passed."""

    missing: list[ExpectedDiagnostic] = field(default_factory=list)
    unexpected: list[SourceDiagnostic] = field(default_factory=list)
    wrong_severity: list[tuple[SourceDiagnostic, ExpectedDiagnostic]] = field(
        default_factory=list
    )

    def __bool__(self) -> bool:
        return bool(self.missing or self.unexpected or self.wrong_severity)


def match_diagnostics(
    expected: Sequence[ExpectedDiagnostic], actual: Iterable[SourceDiagnostic]
) -> DiagnosticMismatch:
    """Match produced diagnostics against directives, as mlir-opt does.

    A diagnostic matches a directive on its line whose text it contains; a directive
    not yet matched is preferred, so N equal diagnostics can be expected N times, but
    one directive also covers repeats of its diagnostic (as in MLIR). A diagnostic
    whose text and line match only a directive of another severity is reported as a
    severity mix-up rather than as unexpected.
    """
    matched = [False] * len(expected)
    mismatch = DiagnosticMismatch()
    for diagnostic in actual:
        candidates = [
            i
            for i, e in enumerate(expected)
            if e.line == diagnostic.line and e.matches(diagnostic.message)
        ]
        same_kind = [i for i in candidates if expected[i].severity is diagnostic.severity]
        if same_kind:
            unmatched = [i for i in same_kind if not matched[i]]
            matched[(unmatched or same_kind)[0]] = True
        elif candidates:
            mismatch.wrong_severity.append((diagnostic, expected[candidates[0]]))
        else:
            mismatch.unexpected.append(diagnostic)
    mismatch.missing = [e for e, hit in zip(expected, matched, strict=True) if not hit]
    return mismatch


def format_mismatch(mismatch: DiagnosticMismatch, filename: str) -> list[str]:
    """mlir-opt's report lines for ``mismatch``, each starting ``filename:line:col:``."""

    def where(line: int | None, column: int | None) -> str:
        if line is None:
            return f"{filename}:unknown"
        return f"{filename}:{line}:{column or 1}"

    report = [
        f"{where(d.line, d.column)}: error: unexpected {d.severity.value}: {d.message}"
        for d in mismatch.unexpected
    ]
    report += [
        f"{where(e.directive_line, e.directive_column)}: error: '{d.severity.value}' "
        f"diagnostic emitted when expecting a '{e.severity.value}': {d.message}"
        for d, e in mismatch.wrong_severity
    ]
    report += [
        f"{where(e.directive_line, e.directive_column)}: error: expected "
        f'{e.severity.value} "{e.text}" was not produced'
        for e in mismatch.missing
    ]
    return report


__all__ = [
    "DiagnosticMismatch",
    "DiagnosticSink",
    "DirectiveError",
    "ExpectedDiagnostic",
    "LocatingParser",
    "OpError",
    "Severity",
    "SourceDiagnostic",
    "SourceMap",
    "diagnostics_to",
    "emit_note",
    "emit_remark",
    "emit_warning",
    "find_failing_op",
    "format_mismatch",
    "match_diagnostics",
    "parse_error_diagnostics",
    "parse_expected_diagnostics",
]
