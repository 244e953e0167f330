"""canopy-import: an ONNX model to the ``graph`` dialect.

    canopy-import model.onnx                          # print the module
    canopy-import model.onnx -o model.mlir            # write it
    canopy-import model.onnx --input-shape x=1,3,224,224
    canopy-import model.onnx --check                  # support report only

The printed module parses with ``canopy-opt``. A model that cannot be imported ends in
the full support report on stderr (every unsupported node at once) and exit status 1,
never a Python traceback; ``--check`` prints the report on stdout and exits 1 when the
model is not supported. Set ``CANOPY_TRACEBACK=1`` to see tracebacks anyway.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from xdsl.printer import Printer

from canopy_mlir.frontend.onnx_importer import (
    OnnxImportError,
    check_support,
    import_onnx,
)

TOOL = "canopy-import"


def _input_shape(text: str) -> tuple[str, tuple[int, ...]]:
    """``NAME=D0,D1,...`` (the last ``=`` splits, so names may contain ``=``)."""
    name, sep, dims = text.rpartition("=")
    if not sep or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=D0,D1,..., got {text!r}")
    try:
        shape = tuple(int(d) for d in dims.replace("x", ",").split(",") if d.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"dimensions of {name!r} must be integers, got {dims!r}"
        ) from None
    return name, shape


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=TOOL, description="Import an ONNX model into canopy_mlir's graph dialect."
    )
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("-o", "--output-file", help="write the module here instead of stdout")
    parser.add_argument(
        "--function-name", default="main", help="name of the imported function (default main)"
    )
    parser.add_argument(
        "--input-shape", action="append", type=_input_shape, default=[], metavar="NAME=D0,D1,...",
        help="static shape for a graph input with dynamic dimensions (repeatable)",
    )
    parser.add_argument(
        "--check", action="store_true",
        help="only print the support report; exit 1 when the model is not supported",
    )
    parser.add_argument(
        "--print-op-generic", action="store_true", help="print operations in generic form"
    )
    args = parser.parse_args(argv)
    names = [name for name, _ in args.input_shape]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        parser.error(f"--input-shape given more than once for {', '.join(repeated)}")
    return args


def _write(text: str, output_file: str | None) -> None:
    if output_file is None:
        sys.stdout.write(text)
        return
    try:
        Path(output_file).write_text(text)
    except OSError:
        Path(output_file).unlink(missing_ok=True)
        raise


def _run(args: argparse.Namespace) -> int:
    input_shapes = dict(args.input_shape)
    if args.check:
        report = check_support(args.model, input_shapes=input_shapes)
        _write(f"{report}\n", args.output_file)
        return 0 if report.ok else 1
    module = import_onnx(args.model, function_name=args.function_name, input_shapes=input_shapes)
    stream = _StringSink()
    Printer(stream=stream, print_generic_format=args.print_op_generic).print_op(module)
    stream.write("\n")
    _write(stream.text(), args.output_file)
    return 0


class _StringSink:
    """Collects the printed module so that a failed print leaves no partial file."""

    def __init__(self) -> None:
        self._parts: list[str] = []

    def write(self, text: str) -> int:
        self._parts.append(text)
        return len(text)

    def flush(self) -> None:
        pass

    def text(self) -> str:
        return "".join(self._parts)


def main(argv: Sequence[str] | None = None) -> int:
    """Run canopy-import; returns the exit status (0 on success, 1 on bad input)."""
    args = _arguments(argv)
    try:
        return _run(args)
    except BrokenPipeError:
        return 1
    except (OnnxImportError, OSError) as err:
        if os.environ.get("CANOPY_TRACEBACK"):
            raise
        print(f"{TOOL}: error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
