"""canopy-opt: xDSL's optimizer driver with canopy_mlir's dialects, passes and targets.

    canopy-opt prog.mlir                              # parse, verify, print
    canopy-opt prog.mlir --print-op-generic           # generic form
    canopy-opt prog.mlir -p canonicalize,cse          # run passes
    canopy-opt prog.mlir -p canopy-default            # a named pipeline (--list-pipelines)
    canopy-opt prog.mlir -t isa-bin -o out.bin        # assemble (see targets.isa_binary)
    canopy-opt model.mlir -t isa-listing              # a dma-level module's launches as isa
    canopy-opt model.onnx                             # import ONNX (or -f onnx)
    canopy-opt model.onnx --check-support             # which ONNX ops are supported

What it adds to xdsl-opt, with mlir-opt's flag names:
- ``--mlir-print-ir-before=P``, ``--mlir-print-ir-after=P`` (repeatable or comma
  separated), ``--mlir-print-ir-before-all``, ``--mlir-print-ir-after-all``,
  ``--mlir-print-ir-after-failure``: IR dumps on stderr;
- ``--verify-diagnostics``: checks ``// expected-error {{...}}`` directives (see
  ``canopy_mlir.tools.diagnostics``) instead of just printing the error;
- ``--mlir-timing`` and ``--mlir-pass-statistics``: reports on stderr;
- ``--mlir-elide-elementsattrs-if-larger=N``: big constants print as
  ``dense_resource<__elided__>``;
- a failing pass is one line, ``canopy-opt: error: pass 'P' failed: ...``, plus a
  reproducer file (``--mlir-reproducer=PATH``, else a temporary file) that
  ``canopy-opt FILE --run-reproducer`` replays;
- ``--load-plugin FILE.py`` adds dialects, passes, targets and pipelines
  (``canopy_mlir.tools.plugins``).

Bad input (parse errors, verifier errors, unwritable outputs, bad options) ends in one
diagnostic on stderr and exit status 1, never a Python traceback; a partially written
``-o`` file is removed. Set ``CANOPY_TRACEBACK=1`` to see the traceback anyway.
"""

from __future__ import annotations

import argparse
import atexit
import dataclasses
import inspect
import io
import os
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from io import BytesIO, StringIO
from pathlib import Path
from typing import IO, Any

from xdsl.dialects.builtin import ModuleOp
from xdsl.passes import PassPipeline, get_pass_option_infos
from xdsl.utils.arg_spec import parse_spec
from xdsl.utils.exceptions import (
    ArgSpecParseError,
    DiagnosticException,
    ParseError,
    ShrinkException,
)
from xdsl.xdsl_opt_main import xDSLOptMain

from canopy_mlir.dialects import register_all_dialects
from canopy_mlir.hw import ConfigError
from canopy_mlir.isa_format import EncodingError
from canopy_mlir.targets.canopy_artifact import CanopyArtifactTarget
from canopy_mlir.targets.isa_binary import (
    BYTES_ENCODING,
    BinaryTarget,
    IsaBinaryTarget,
    sibling_uops_path,
)
from canopy_mlir.targets.isa_listing import IsaListingTarget
from canopy_mlir.targets.opencl_host import OpenclHostTarget
from canopy_mlir.tools.diagnostics import (
    DiagnosticSink,
    DirectiveError,
    LocatingParser,
    Severity,
    SourceDiagnostic,
    SourceMap,
    diagnostics_to,
    find_failing_op,
    format_mismatch,
    match_diagnostics,
    parse_error_diagnostics,
    parse_expected_diagnostics,
)
from canopy_mlir.tools.instrumentation import (
    Instrumentation,
    PassFailure,
    PassRunner,
    Timer,
    reproducer_arguments,
    reproducer_text,
)
from canopy_mlir.tools.pipelines import (
    NAMED_PIPELINES,
    describe_pipelines,
    expand_pipeline,
    instantiate_passes,
    pipeline_spec,
)
from canopy_mlir.tools.plugins import (
    PluginError,
    PluginRegistry,
    load_plugins,
    load_universe_entry_points,
)
from canopy_mlir.tools.printing import (
    CanopyMLIRTarget,
    PrintOptions,
    eliding_constants_larger_than,
    print_ir,
)
from canopy_mlir.transforms import ALL_PASSES

TOOL = "canopy-opt"

DIRECTORY_TARGETS = {target.name: target for target in (CanopyArtifactTarget, OpenclHostTarget)}
"""Targets that write a directory (``-o DIR``) through their ``write`` method."""

UPSTREAM_PASSES = ("canonicalize", "cse", "dce")
"""xDSL's dialect-independent passes that canopy-opt offers next to ours."""

PATH_FRONTENDS = frozenset({"onnx"})
"""Frontends that read the input file themselves (binary formats): no text, no split."""


class CanopyOptError(Exception):
    """A usage error of canopy-opt itself (as opposed to bad input IR)."""


class FrontendError(Exception):
    """An input that a frontend (e.g. the ONNX importer) could not read."""


class _BytesAsText:
    """A text sink over a binary stream for binary targets (one character per byte).

    ``close`` only flushes, so that writing to stdout leaves stdout usable.
    """

    def __init__(self, buffer: IO[bytes]):
        self._buffer = buffer

    def write(self, text: str) -> int:
        self._buffer.write(text.encode(BYTES_ENCODING))
        return len(text)

    def flush(self) -> None:
        self._buffer.flush()

    def close(self) -> None:
        self.flush()


@dataclass(frozen=True)
class InputChunk:
    """One unit of input: the whole file, or one ``--split-input-file`` piece."""

    text: str | None
    """The chunk's text; None for a path frontend, which reads the file itself."""
    line_offset: int = 0
    """Lines of the file before the chunk (its line 1 is the file's line_offset + 1)."""


def _option_values(argv: Sequence[str], option: str) -> list[str]:
    """Values of ``option`` in ``argv`` (``--opt V`` and ``--opt=V``), before argparse."""
    values = []
    for i, arg in enumerate(argv):
        if arg == option and i + 1 < len(argv):
            values.append(argv[i + 1])
        elif arg.startswith(option + "="):
            values.append(arg[len(option) + 1 :])
    return values


def _plugin_reference(reference: str) -> str:
    """A plugin reference that still works from another directory (for reproducers)."""
    path = Path(reference)
    return str(path.resolve()) if reference.endswith(".py") or path.exists() else reference


def _split_names(values: Sequence[str] | None) -> frozenset[str]:
    """Pass names from repeated and/or comma-separated flag values."""
    return frozenset(name.strip() for value in values or () for name in value.split(",") if name.strip())


class CanopyOptMain(xDSLOptMain):
    """The canopy_mlir driver: our dialects, passes and targets on xDSL's CLI."""

    version_format = "canopy-opt (canopy_mlir) on xDSL {xdsl_version}"

    def __init__(
        self,
        description: str = "canopy_mlir modular optimizer driver",
        args: Sequence[str] | None = None,
        *,
        plugins: PluginRegistry | None = None,
    ):
        """Load plugins (``xdsl.universe`` entry points, and ``--load-plugin`` ones found
        in ``args`` before argparse runs, since they add passes, dialects and targets
        that argument parsing checks), then set up as xDSL does. ``plugins`` replaces
        all of that (tests)."""
        self.started = time.perf_counter()
        self.argv = list(sys.argv[1:] if args is None else args)
        self.plugin_references = list(
            dict.fromkeys(  # the same plugin twice loads once
                _plugin_reference(ref) for ref in _option_values(self.argv, "--load-plugin")
            )
        )
        if plugins is None:
            plugins = load_plugins(
                self.plugin_references, load_universe_entry_points(PluginRegistry())
            )
        self.plugins = plugins
        clash = sorted(set(NAMED_PIPELINES) & set(self.plugins.pipelines))
        if clash:
            raise PluginError(f"plugin pipeline '{clash[0]}' clashes with a built-in one")
        self.named_pipelines = {**NAMED_PIPELINES, **self.plugins.pipelines}
        self.source_map = SourceMap("")
        self._stdin_copy: str | None = None
        super().__init__(description=description, args=self.argv)

    # ------------------------------------------------------------- registration
    def register_all_dialects(self) -> None:
        register_all_dialects(self.ctx)
        for name, factory in self.plugins.dialects.items():
            if name in self.ctx.registered_dialect_names:
                raise PluginError(f"plugin dialect '{name}' clashes with a built-in one")
            self.ctx.register_dialect(name, factory)

    def register_all_frontends(self) -> None:
        self.available_frontends["mlir"] = self._parse_mlir_stream
        self.available_frontends["onnx"] = self._import_onnx

    def register_all_passes(self) -> None:
        from xdsl.transforms import get_all_passes

        upstream = get_all_passes()
        for name in UPSTREAM_PASSES:
            self.register_pass(name, upstream[name])
        for name, factory in ALL_PASSES.items():
            self.register_pass(name, factory)
        for name, factory in self.plugins.passes.items():
            if name in self.available_passes:
                raise PluginError(f"plugin pass '{name}' clashes with a built-in one")
            self.register_pass(name, factory)

    def register_all_targets(self) -> None:
        self.available_targets["mlir"] = lambda: CanopyMLIRTarget
        self.available_targets[IsaBinaryTarget.name] = lambda: IsaBinaryTarget
        self.available_targets[CanopyArtifactTarget.name] = lambda: CanopyArtifactTarget
        self.available_targets[IsaListingTarget.name] = lambda: IsaListingTarget
        self.available_targets[OpenclHostTarget.name] = lambda: OpenclHostTarget
        for name, factory in self.plugins.targets.items():
            if name in self.available_targets:
                raise PluginError(f"plugin target '{name}' clashes with a built-in one")
            self.available_targets[name] = factory

    def register_all_arguments(self, arg_parser: argparse.ArgumentParser) -> None:
        super().register_all_arguments(arg_parser)
        arg_parser.formatter_class = argparse.RawDescriptionHelpFormatter
        arg_parser.epilog = "named pipelines (-p NAME):\n" + "\n".join(
            "  " + line for line in describe_pipelines(self.named_pipelines).splitlines()
        )
        for action in arg_parser._actions:
            if "--verify-diagnostics" in action.option_strings:
                action.help = (
                    "Check the input's '// expected-error {{...}}' directives against "
                    "the diagnostics produced; exit 1 on any mismatch"
                )
        dumps = arg_parser.add_argument_group("IR dumps (to stderr)")
        dumps.add_argument(
            "--mlir-print-ir-before",
            action="append",
            metavar="PASS",
            help="print the IR before each run of PASS (repeatable, or comma separated)",
        )
        dumps.add_argument(
            "--mlir-print-ir-after",
            action="append",
            metavar="PASS",
            help="print the IR after each run of PASS (repeatable, or comma separated)",
        )
        dumps.add_argument("--mlir-print-ir-before-all", action="store_true",
                           help="print the IR before every pass")
        dumps.add_argument("--mlir-print-ir-after-all", action="store_true",
                           help="print the IR after every pass")
        dumps.add_argument("--mlir-print-ir-after-failure", action="store_true",
                           help="print the IR after a pass that failed")
        dumps.add_argument(
            "--mlir-elide-elementsattrs-if-larger",
            "--elide-large-constants",
            dest="elide_threshold",
            type=int,
            metavar="N",
            help="print dense constants of more than N elements as "
            "dense_resource<__elided__> (output and dumps)",
        )
        reports = arg_parser.add_argument_group("reports (to stderr)")
        reports.add_argument("--mlir-timing", action="store_true",
                             help="report the wall time of parsing, verifying, each pass "
                             "and output")
        reports.add_argument("--mlir-pass-statistics", action="store_true",
                             help="report the statistics passes record")
        failures = arg_parser.add_argument_group("pass failures")
        failures.add_argument(
            "--mlir-reproducer",
            "--mlir-pass-pipeline-crash-reproducer",
            dest="reproducer",
            metavar="PATH",
            help="where to write the reproducer of a failing pass (default: a "
            "temporary file, whose path is printed)",
        )
        failures.add_argument("--run-reproducer", action="store_true",
                              help="run the input with the configuration its reproducer "
                              "header names")
        extending = arg_parser.add_argument_group("extending and listing")
        extending.add_argument(
            "--load-plugin",
            action="append",
            default=[],
            metavar="PLUGIN",
            help="a Python file (or dotted module) adding dialects, passes, targets, "
            "pipelines (repeatable; see canopy_mlir.tools.plugins)",
        )
        extending.add_argument("--list-passes", action="store_true",
                               help="list the passes and their options, then exit")
        extending.add_argument("--list-pipelines", action="store_true",
                               help="list the named pipelines, then exit")
        extending.add_argument("--check-support", action="store_true",
                               help="with ONNX input: report which of the model's ops "
                               "are supported; exit 0 if all are, else 1")

    # ------------------------------------------------------------------ pipeline
    def setup_pipeline(self) -> None:
        """Expand named pipelines, instantiate the passes, check the dump flags' names."""
        parsed = {_plugin_reference(ref) for ref in self.args.load_plugin}
        if parsed != set(self.plugin_references):
            raise CanopyOptError(
                "plugins are loaded before argument parsing: spell --load-plugin in full"
            )
        specs = expand_pipeline(self.args.passes, self.named_pipelines, self.available_passes)
        self.passes = instantiate_passes(specs, self.available_passes)
        self.pipeline = PassPipeline(self.passes)
        for flag in ("mlir_print_ir_before", "mlir_print_ir_after"):
            unknown = sorted(_split_names(getattr(self.args, flag)) - set(self.available_passes))
            if unknown:
                option = "--" + flag.replace("_", "-")
                raise CanopyOptError(f"{option}: no pass named {', '.join(unknown)}")

    def instrumentation(self) -> Instrumentation:
        return Instrumentation(
            print_before=_split_names(self.args.mlir_print_ir_before),
            print_after=_split_names(self.args.mlir_print_ir_after),
            print_before_all=self.args.mlir_print_ir_before_all,
            print_after_all=self.args.mlir_print_ir_after_all,
            print_after_failure=self.args.mlir_print_ir_after_failure,
            print_between_passes=self.args.print_between_passes,
            time_passes=self.args.time_passes,
            verify_each=not self.args.disable_verify,
            print_options=self.print_options(),
        )

    def print_options(self) -> PrintOptions:
        return PrintOptions(
            generic=self.args.print_op_generic,
            properties_as_attributes=self.args.print_no_properties,
            debuginfo=self.args.print_debuginfo,
            syntax_highlight=self.args.syntax_highlight,
        )

    def apply_passes(self, prog: ModuleOp) -> None:
        """Apply the pipeline with the instrumentation (for callers of xDSL's API)."""
        PassRunner(self.passes, self.instrumentation()).run(self.ctx, prog)

    # --------------------------------------------------------------------- input
    def input_extension(self) -> str:
        _, extension = os.path.splitext(self.args.input_file or "")
        extension = self.args.frontend or extension.lstrip(".") or "mlir"
        if extension not in self.available_frontends:
            raise ValueError(f"Unrecognized file extension '{extension}'")
        return extension

    def read_chunks(self, extension: str) -> list[InputChunk]:
        """The input as text chunks (split at ``// -----`` with --split-input-file)."""
        if extension in PATH_FRONTENDS:
            if self.args.split_input_file:
                raise CanopyOptError(f"--split-input-file does not apply to {extension} input")
            return [InputChunk(None)]
        stream, _ = self.get_input_stream()
        try:
            data = stream.read()
        finally:
            if stream is not sys.stdin.buffer:
                stream.close()
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as err:
            raise CanopyOptError(
                f"{self.get_input_name()}: not UTF-8 text (byte {err.start}); "
                "for a binary format pick its frontend with -f"
            ) from None
        if not self.args.split_input_file:
            return [InputChunk(text)]
        chunks, offset = [], 0
        for piece in text.split("// -----"):
            chunks.append(InputChunk(piece, offset))
            offset += piece.count("\n")
        return chunks

    def parse_input(self, chunk: InputChunk, extension: str) -> ModuleOp:
        """Parse (or import) one chunk; for MLIR text, ``self.source_map`` locates ops."""
        self.source_map = SourceMap(chunk.text or "", chunk.line_offset)
        if extension == "mlir":
            return self._parse_mlir_text(chunk.text or "", chunk.line_offset)
        if chunk.text is None:
            stream, _ = self.get_input_stream()
            try:
                return self.available_frontends[extension](stream)
            finally:
                if stream is not sys.stdin.buffer:
                    stream.close()
        return self.available_frontends[extension](BytesIO(chunk.text.encode()))

    def _parse_mlir_text(self, text: str, line_offset: int) -> ModuleOp:
        parser = LocatingParser(self.ctx, text, self.get_input_name(), self.source_map)
        try:
            return parser.parse_module(not self.args.no_implicit_module)
        except ParseError as err:
            err.span = dataclasses.replace(err.span, line_offset=line_offset)
            raise

    def _parse_mlir_stream(self, stream: IO[bytes]) -> ModuleOp:
        """The ``mlir`` frontend in xDSL's interface (a byte stream)."""
        self.source_map = SourceMap(stream.read().decode("utf-8"))
        return self._parse_mlir_text(self.source_map.text, 0)

    def onnx_input_path(self, stream: IO[bytes] | None = None) -> str:
        """The ONNX model's path; stdin is copied once to a temporary file (removed at
        exit), so that a reproducer can import it again."""
        if self.args.input_file is not None:
            return self.args.input_file
        if self._stdin_copy is None:
            data = (stream or sys.stdin.buffer).read()
            handle, path = tempfile.mkstemp(prefix="canopy-stdin-", suffix=".onnx")
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            atexit.register(Path(path).unlink, missing_ok=True)
            self._stdin_copy = path
        return self._stdin_copy

    def _import_onnx(self, stream: IO[bytes]) -> ModuleOp:
        """The ``onnx`` frontend: ``canopy_mlir.frontend.onnx_importer.import_onnx``."""
        try:
            from canopy_mlir.frontend.onnx_importer import import_onnx
        except ImportError as err:
            raise FrontendError(f"the ONNX frontend is not available: {err}") from err
        path = self.onnx_input_path(stream)
        try:
            return import_onnx(path)
        except Exception as err:
            raise FrontendError(f"{self.get_input_name()}: {_describe_foreign(err)}") from err

    def check_onnx_support(self) -> int:
        """``--check-support``: print ``check_support(path)``'s report; 0 if supported."""
        if self.input_extension() != "onnx":
            raise CanopyOptError("--check-support applies to ONNX input (-f onnx or a .onnx file)")
        try:
            from canopy_mlir.frontend.onnx_importer import check_support
        except ImportError as err:
            raise FrontendError(f"the ONNX frontend is not available: {err}") from err
        path = self.onnx_input_path()
        try:
            report = check_support(path)
        except Exception as err:
            raise FrontendError(f"{self.get_input_name()}: {_describe_foreign(err)}") from err
        text, supported = support_verdict(report)
        if text:
            print(text)
        return 0 if supported else 1

    # ---------------------------------------------------------------------- output
    def binary_target_class(self) -> type[BinaryTarget] | None:
        """The selected target's class when it writes bytes, else None."""
        factory = self.available_targets.get(parse_spec(self.args.target).name)
        if factory is None or inspect.signature(factory).parameters:
            return None
        target_class = factory()
        if isinstance(target_class, type) and issubclass(target_class, BinaryTarget):
            return target_class
        return None

    def writes_directory(self) -> bool:
        """Whether the target writes a directory (``-o DIR``) rather than a stream."""
        return parse_spec(self.args.target).name in DIRECTORY_TARGETS

    def prepare_output(self) -> IO[str]:
        if self.writes_directory():
            if self.args.output_file is None:
                raise CanopyOptError(f"target '{self.args.target}' writes a directory; give -o DIR")
            return io.StringIO()
        if self.binary_target_class() is None:
            return super().prepare_output()
        if self.args.output_file is not None:
            return open(self.args.output_file, "w", encoding=BYTES_ENCODING, newline="")
        if sys.stdout.isatty():
            raise CanopyOptError(
                f"target '{self.args.target}' writes binary data; give -o FILE or "
                "redirect stdout"
            )
        sys.stdout.flush()
        return _BytesAsText(sys.stdout.buffer)  # type: ignore[return-value]

    def output_resulting_program(self, prog) -> str:
        if self.writes_directory():
            DIRECTORY_TARGETS[parse_spec(self.args.target).name]().write(prog, self.args.output_file)
            return ""
        target_class = self.binary_target_class()
        if target_class is None:
            return super().output_resulting_program(prog)
        target = target_class.from_spec(parse_spec(self.args.target))
        if isinstance(target, IsaBinaryTarget) and target.uops is None and self.args.output_file:
            target = dataclasses.replace(
                target, uops=str(sibling_uops_path(self.args.output_file))
            )
        return target.emit_bytes(self.ctx, prog).decode(BYTES_ENCODING)

    # ------------------------------------------------------------------------ run
    def run(self) -> int:
        """Process the input; returns the exit status (errors raise, see ``main``)."""
        if self.args.run_reproducer:
            return self.run_reproducer()
        if self.args.list_pipelines:
            print(describe_pipelines(self.named_pipelines))
            return 0
        if self.args.list_passes:
            print(describe_passes(self.available_passes))
            return 0
        if self.args.check_support:
            return self.check_onnx_support()
        timer = Timer(started=self.started) if self.args.mlir_timing else None
        runner = PassRunner(self.passes, self.instrumentation(), timer)
        try:
            with eliding_constants_larger_than(self.args.elide_threshold):
                return self._run_chunks(runner, timer)
        finally:
            if self.args.mlir_pass_statistics:
                print(runner.statistics_report(), file=sys.stderr)
            if timer is not None:
                print(timer.report(), file=sys.stderr)

    def _run_chunks(self, runner: PassRunner, timer: Timer | None) -> int:
        extension = self.input_extension()
        chunks = self.read_chunks(extension)
        output = self.prepare_output()
        status = 0
        try:
            for index, chunk in enumerate(chunks):
                if index > 0:
                    output.write("// -----\n")
                if self.args.verify_diagnostics:
                    if not self.check_diagnostics(chunk, extension, runner, timer, output):
                        status = 1
                else:
                    self.process_chunk(chunk, extension, runner, timer, output)
                output.flush()
        except ShrinkException:
            assert self.args.shrink
            print("Success, can shrink")
            return 0
        finally:
            if output is not sys.stdout:
                output.close()
        if self.args.shrink:
            print("Failure, can't shrink")
            return 1
        return status

    def process_chunk(
        self,
        chunk: InputChunk,
        extension: str,
        runner: PassRunner,
        timer: Timer | None,
        output: IO[str],
    ) -> None:
        """Parse, verify, run the passes on and print one chunk; errors propagate."""
        try:
            with _timed(timer, "Parser"):
                module = self.parse_input(chunk, extension)
        except ParseError as err:
            if not self.args.parsing_diagnostics:
                raise
            print(err)
            return
        with diagnostics_to(self._printing_sink()):
            try:
                runner.run(self.ctx, module)
            except PassFailure as failure:
                failure.reproducer = self.write_reproducer(chunk, extension, failure)
                raise
        with _timed(timer, "Output"):
            output.write(self.output_resulting_program(module))

    def _printing_sink(self) -> DiagnosticSink:
        """Warnings and remarks from passes, printed to stderr at their lines."""
        source_map = self.source_map

        def show(diagnostic: SourceDiagnostic) -> None:
            where = (
                f"{self.get_input_name()}:{diagnostic.line}:{diagnostic.column}"
                if diagnostic.line is not None
                else TOOL
            )
            print(f"{where}: {diagnostic.severity.value}: {diagnostic.message}", file=sys.stderr)

        return DiagnosticSink(source_map.locate, show)

    # --------------------------------------------------------- verify-diagnostics
    def check_diagnostics(
        self,
        chunk: InputChunk,
        extension: str,
        runner: PassRunner,
        timer: Timer | None,
        output: IO[str],
    ) -> bool:
        """Run one chunk collecting its diagnostics; compare with its directives.

        Prints the mismatches (mlir-opt's format) to stderr and returns False if any;
        a chunk that ran to the end prints its output as usual.
        """
        try:
            expected = parse_expected_diagnostics(chunk.text or "", chunk.line_offset)
        except DirectiveError as err:
            raise DirectiveError(f"{self.get_input_name()}: {err}") from None
        produced, result = self.collect_diagnostics(chunk, extension, runner, timer)
        mismatch = match_diagnostics(expected, produced)
        if mismatch:
            for line in format_mismatch(mismatch, self.get_input_name()):
                print(line, file=sys.stderr)
            return False
        if result is not None:
            output.write(result)
        return True

    def collect_diagnostics(
        self, chunk: InputChunk, extension: str, runner: PassRunner, timer: Timer | None
    ) -> tuple[list[SourceDiagnostic], str | None]:
        """The diagnostics of one chunk, and its output if it got that far."""
        produced: list[SourceDiagnostic] = []
        try:
            with _timed(timer, "Parser"):
                module = self.parse_input(chunk, extension)
        except ParseError as err:
            return parse_error_diagnostics(err, chunk.line_offset), None
        source_map = self.source_map

        def error_at(op, message: str) -> SourceDiagnostic:
            position = source_map.locate(op) if op is not None else None
            line, column = position if position is not None else (None, None)
            return SourceDiagnostic(Severity.ERROR, message, line, column)

        with diagnostics_to(DiagnosticSink(source_map.locate, produced.append)):
            try:
                runner.run(self.ctx, module)
            except PassFailure as failure:
                produced.append(error_at(failure.op, failure.describe()))
                return produced, None
            except (DiagnosticException, ValueError) as err:
                culprit = find_failing_op(module)
                produced.append(error_at(culprit[0] if culprit else None, _first_line(err)))
                return produced, None
        with _timed(timer, "Output"):
            return produced, self.output_resulting_program(module)

    # ---------------------------------------------------------------- reproducers
    def write_reproducer(self, chunk: InputChunk, extension: str, failure: PassFailure) -> str | None:
        """Write the IR the failing pass got, and the pipeline from it on; its path.

        The IR is rebuilt by parsing the chunk again and rerunning the passes before
        the failing one (nothing is copied while things go well).
        """
        try:
            module = self.parse_input(chunk, extension)
            prefix = PassRunner(self.passes[: failure.index], Instrumentation(verify_each=False))
            prefix.run(self.ctx, module)
            ir = StringIO()
            with eliding_constants_larger_than(None):
                print_ir(module, ir, PrintOptions(generic=True), self.ctx)
        except Exception as err:  # noqa: BLE001 - no reproducer, but say why
            print(f"{TOOL}: note: no reproducer: rebuilding the failing pass's input "
                  f"failed: {type(err).__name__}: {err}", file=sys.stderr)
            return None
        arguments = [arg for ref in self.plugin_references for arg in ("--load-plugin", ref)]
        if self.args.allow_unregistered_dialect:
            arguments.append("--allow-unregistered-dialect")
        arguments += ["-p", pipeline_spec(self.passes[failure.index :])]
        text = reproducer_text(ir.getvalue(), arguments, failure.describe())
        try:
            if self.args.reproducer:
                path = self.args.reproducer
                Path(path).write_text(text)
            else:
                handle, path = tempfile.mkstemp(prefix="canopy-reproducer-", suffix=".mlir")
                with os.fdopen(handle, "w") as file:
                    file.write(text)
        except OSError as err:
            print(f"{TOOL}: note: no reproducer: {err}", file=sys.stderr)
            return None
        return path

    def run_reproducer(self) -> int:
        """``--run-reproducer``: rerun with the arguments its header names."""
        if self.args.input_file is None:
            raise CanopyOptError("--run-reproducer needs the reproducer file as input")
        text = Path(self.args.input_file).read_text()
        arguments = reproducer_arguments(text, self.args.input_file)
        argv = [arg for arg in self.argv if arg != "--run-reproducer"] + arguments
        return CanopyOptMain(args=argv).run()


# ---------------------------------------------------------------------- helpers
@contextmanager
def _timed(timer: Timer | None, label: str) -> Iterator[None]:
    with timer.measure(label) if timer is not None else nullcontext():
        yield


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _describe_foreign(err: BaseException) -> str:
    """An exception's message; non-canopy exceptions keep their type name (bugs show)."""
    message = str(err).strip()
    if type(err).__module__.startswith("canopy_mlir") and message:
        return message
    return f"{type(err).__name__}: {message}" if message else type(err).__name__


def support_verdict(report: Any) -> tuple[str, bool]:
    """How to print ``check_support``'s report, and whether the model is supported.

    Accepted shapes: an object with a boolean ``supported`` (or ``ok``) attribute,
    printed with ``str``; a bool; a collection of unsupported items (empty: supported),
    printed one per line; a string of problems (empty: supported).
    """
    for flag in ("supported", "ok"):
        verdict = getattr(report, flag, None)
        if isinstance(verdict, bool):
            return str(report), verdict
    if isinstance(report, bool):
        return ("supported" if report else "not supported"), report
    if isinstance(report, str):
        return report, not report.strip()
    if isinstance(report, dict):
        return "\n".join(f"{key}: {value}" for key, value in report.items()), not report
    if isinstance(report, (list, tuple, set, frozenset)):
        return "\n".join(str(item) for item in report), not report
    return str(report), bool(report)


def describe_passes(passes: dict[str, Callable[[], Any]]) -> str:
    """One line per pass: its name and options (name: type = default)."""
    lines = []
    for name in sorted(passes):
        pass_class = passes[name]()
        options = ", ".join(
            f"{info.name}: {info.expected_type}"
            + (f" = {info.default_value}" if info.default_value is not None else "")
            for info in get_pass_option_infos(pass_class)
        )
        lines.append(f"{name}{{{options}}}" if options else name)
    return "\n".join(lines)


# ------------------------------------------------------------------------- main
_INPUT_ERRORS = (
    CanopyOptError,
    FrontendError,
    PluginError,
    DiagnosticException,
    ConfigError,
    EncodingError,
    OSError,
    ValueError,
)


def _describe(err: BaseException) -> str:
    """One diagnostic line for ``err``; parse errors add the source line and a caret."""
    if isinstance(err, ParseError) and type(err) is ParseError:
        excerpt = str(err).splitlines()[1:3]
        return "\n".join([f"{err.span.get_location()}: error: {err.msg}", *excerpt])
    return f"{TOOL}: error: {err}".rstrip("\n")


def _remove_partial_output(path: str | None) -> None:
    if path is not None and path != "-" and not Path(path).is_dir():
        Path(path).unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run canopy-opt; returns the exit status (0 on success, 1 on bad input)."""
    warnings.filterwarnings("default", category=DeprecationWarning)
    output_file = None
    try:
        tool = CanopyOptMain(args=argv)
        output_file = tool.args.output_file
        status = tool.run()
    except BrokenPipeError:
        return 1
    except PassFailure as failure:
        if os.environ.get("CANOPY_TRACEBACK"):
            raise
        _remove_partial_output(output_file)
        print(f"{TOOL}: error: {failure.describe()}", file=sys.stderr)
        if failure.reproducer is not None:
            print(
                f"{TOOL}: note: reproducer written to {failure.reproducer} "
                f"(rerun: {TOOL} {failure.reproducer} --run-reproducer)",
                file=sys.stderr,
            )
        return 1
    except (ParseError, ArgSpecParseError, *_INPUT_ERRORS) as err:
        if os.environ.get("CANOPY_TRACEBACK"):
            raise
        _remove_partial_output(output_file)
        print(_describe(err), file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
