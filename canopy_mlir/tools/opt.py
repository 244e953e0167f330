"""canopy-opt: xDSL's optimizer driver with canopy_mlir's dialects, passes and targets.

    canopy-opt prog.mlir                              # parse, verify, print
    canopy-opt prog.mlir --print-op-generic           # generic form
    canopy-opt prog.mlir -p canonicalize,cse          # run passes
    canopy-opt prog.mlir -t isa-bin -o out.bin        # assemble (see targets.isa_binary)

Bad input (parse errors, verifier errors, unwritable outputs, bad options) ends in one
diagnostic on stderr and exit status 1, never a Python traceback; a partially written
``-o`` file is removed. Set ``CANOPY_TRACEBACK=1`` to see the traceback anyway.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import IO

from xdsl.utils.arg_spec import parse_spec
from xdsl.utils.exceptions import ArgSpecParseError, DiagnosticException, ParseError
from xdsl.xdsl_opt_main import xDSLOptMain

from canopy_mlir.dialects import register_all_dialects
from canopy_mlir.hw import ConfigError
from canopy_mlir.isa_format import EncodingError
from canopy_mlir.targets.isa_binary import (
    BYTES_ENCODING,
    BinaryTarget,
    IsaBinaryTarget,
    sibling_uops_path,
)
from canopy_mlir.transforms import ALL_PASSES

TOOL = "canopy-opt"

UPSTREAM_PASSES = ("canonicalize", "cse", "dce")
"""xDSL's dialect-independent passes that canopy-opt offers next to ours."""


class CanopyOptError(Exception):
    """A usage error of canopy-opt itself (as opposed to bad input IR)."""


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


class CanopyOptMain(xDSLOptMain):
    """The canopy_mlir driver: our dialects, passes and targets on xDSL's CLI."""

    version_format = "canopy-opt (canopy_mlir) on xDSL {xdsl_version}"

    def register_all_dialects(self) -> None:
        register_all_dialects(self.ctx)

    def register_all_passes(self) -> None:
        from xdsl.transforms import get_all_passes

        upstream = get_all_passes()
        for name in UPSTREAM_PASSES:
            self.register_pass(name, upstream[name])
        for name, factory in ALL_PASSES.items():
            self.register_pass(name, factory)

    def register_all_targets(self) -> None:
        from xdsl.targets.mlir import MLIRTarget

        self.available_targets["mlir"] = lambda: MLIRTarget
        self.available_targets[IsaBinaryTarget.name] = lambda: IsaBinaryTarget

    # ------------------------------------------------------------ binary outputs
    def binary_target_class(self) -> type[BinaryTarget] | None:
        """The selected target's class when it writes bytes, else None."""
        factory = self.available_targets.get(parse_spec(self.args.target).name)
        if factory is None or inspect.signature(factory).parameters:
            return None
        target_class = factory()
        if isinstance(target_class, type) and issubclass(target_class, BinaryTarget):
            return target_class
        return None

    def prepare_output(self) -> IO[str]:
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
        target_class = self.binary_target_class()
        if target_class is None:
            return super().output_resulting_program(prog)
        target = target_class.from_spec(parse_spec(self.args.target))
        if isinstance(target, IsaBinaryTarget) and target.uops is None and self.args.output_file:
            target = dataclasses.replace(
                target, uops=str(sibling_uops_path(self.args.output_file))
            )
        return target.emit_bytes(self.ctx, prog).decode(BYTES_ENCODING)


# ------------------------------------------------------------------------- main
_INPUT_ERRORS = (
    CanopyOptError,
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
    if path is not None and path != "-":
        Path(path).unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run canopy-opt; returns the exit status (0 on success, 1 on bad input)."""
    warnings.filterwarnings("default", category=DeprecationWarning)
    output_file = None
    try:
        tool = CanopyOptMain(description="canopy_mlir modular optimizer driver", args=argv)
        output_file = tool.args.output_file
        tool.run()
    except BrokenPipeError:
        return 1
    except (ParseError, ArgSpecParseError, *_INPUT_ERRORS) as err:
        if os.environ.get("CANOPY_TRACEBACK"):
            raise
        _remove_partial_output(output_file)
        print(_describe(err), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
