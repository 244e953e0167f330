"""canopy-compile: an ONNX model to a ``canopy-artifact`` directory in one command.

    canopy-compile model.onnx -o out/ [--config NAME|file.json]
                   [--calibration data.npz | --calibration-random N] [--emit-mlir]
                   [--host-program DIR]

The same as ``canopy-opt -f onnx model.onnx -p canopy-default{...} -t canopy-artifact
-o out/`` (through :func:`canopy_mlir.compile`, which keeps each level's IR), plus a
progress display on stderr (a tqdm bar on a terminal, one line per stage otherwise) and
a summary on stdout (layers on the card, ops on the host, launches, instructions, pool
size). A float model needs calibration data; a QDQ model (already quantized) does not.
``--emit-mlir`` also writes the IR at each level, constants inline, as
``out/levels/{graph,quantized,tile,dma}.mlir`` (not listed in the manifest), which
``canopy-run --check`` reads. ``--host-program DIR`` also writes the standalone C++
host program of ``-t opencl-host`` (docs/opencl-host.md) into ``DIR``. See
docs/artifacts.md and docs/python-api.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xdsl.utils.exceptions import DiagnosticException

from canopy_mlir.api import LEVELS, CompiledModel, CompileError, pipeline_spec
from canopy_mlir.runtime.check import LEVELS_DIR

TOOL = "canopy-compile"

__all__ = ["CompileError", "build_parser", "compile_model", "main", "pipeline_spec"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=TOOL, description="Compile an ONNX model to a canopy artifact directory.")
    parser.add_argument("model", help="the .onnx model (float or QDQ-quantized)")
    parser.add_argument("-o", "--output", required=True, help="artifact directory to write")
    parser.add_argument("--config", default="intelfocl", help="hardware config: a preset name or a VTA JSON file")
    calibration = parser.add_mutually_exclusive_group()
    calibration.add_argument("--calibration", help="an .npz of calibration inputs (float models)")
    calibration.add_argument("--calibration-random", type=int, metavar="N",
                             help="N random calibration inputs (smoke tests only)")
    parser.add_argument("--first-conv-min-channels", type=int, metavar="C",
                        help="send an entry conv (input from the host) to the card only with at "
                             "least C input channels; 0: every one (default: when its channels "
                             "fill a quarter of BLOCK_IN; a 1- or 3-channel stem is cheaper on "
                             "the host)")
    parser.add_argument("--emit-mlir", action="store_true",
                        help=f"also write the IR at each level as OUTPUT/{LEVELS_DIR}/LEVEL.mlir "
                             "(for canopy-run --check)")
    parser.add_argument("--host-program", metavar="DIR",
                        help="also write the C++ host program (-t opencl-host) into DIR")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress display")
    return parser


class _Progress:
    """A tqdm bar over the compile steps on a terminal; plain stage lines otherwise
    (tests, CI, logs), so captured stderr stays readable."""

    def __init__(self, quiet: bool, steps: int, stream: Any = None):
        self.quiet, self.steps = quiet, steps
        self.stream = stream if stream is not None else sys.stderr
        self.bar: Any = None
        self.tty = not quiet and hasattr(self.stream, "isatty") and self.stream.isatty()

    def __call__(self, step: int, steps: int, what: str) -> None:
        if self.quiet:
            return
        if not self.tty:
            print(f"{TOOL}: {what}", file=self.stream, flush=True)
            return
        from tqdm import tqdm

        if self.bar is None:
            self.bar = tqdm(total=self.steps, file=self.stream, leave=True,
                            bar_format=TOOL + " {n}/{total} |{bar:16}| {elapsed} {desc}")
        self.bar.n = step
        self.bar.set_description_str(what)

    def abort(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def close(self, what: str) -> None:
        if self.bar is not None:
            self.bar.n = self.bar.total
            self.bar.set_description_str(what)
            self.bar.close()
            self.bar = None
        elif not self.quiet:
            print(f"{TOOL}: {what}", file=self.stream, flush=True)


def _check_files(args: argparse.Namespace) -> None:
    if not Path(args.model).is_file():
        raise CompileError(f"{args.model}: no such file")
    if args.calibration is not None and not Path(args.calibration).is_file():
        raise CompileError(f"{args.calibration}: no such calibration file")
    if args.calibration_random is not None and args.calibration_random < 1:
        raise CompileError(f"--calibration-random needs N >= 1, got {args.calibration_random}")
    if args.first_conv_min_channels is not None and args.first_conv_min_channels < 0:
        raise CompileError(f"--first-conv-min-channels needs C >= 0, got {args.first_conv_min_channels}")
    if args.config.endswith(".json") and not Path(args.config).is_file():
        raise CompileError(f"{args.config}: no such hardware-config file")


def compile_model(args: argparse.Namespace) -> CompiledModel:
    """Compile and write the artifact (and the levels with ``--emit-mlir``); the model."""
    from canopy_mlir.api import compile as compile_api

    _check_files(args)
    started = time.perf_counter()
    progress = _Progress(args.quiet, len(LEVELS) + 1)
    calibration = args.calibration if args.calibration is not None else args.calibration_random
    try:
        compiled = compile_api(args.model, config=args.config, calibration=calibration, progress=progress,
                               first_conv_min_channels=args.first_conv_min_channels)
        progress(len(LEVELS), len(LEVELS) + 1, f"writing {args.output}")
        compiled.save(args.output, levels=False)
        if args.emit_mlir:
            compiled.write_levels(Path(args.output) / LEVELS_DIR)
        if args.host_program is not None:
            from canopy_mlir.targets.opencl_host import write_host_program

            progress(len(LEVELS), len(LEVELS) + 1, f"writing the C++ host program to {args.host_program}")
            write_host_program(compiled.ir["dma"], args.host_program)
    except BaseException:
        progress.abort()
        raise
    progress.close(f"done in {time.perf_counter() - started:.1f} s")
    return compiled


def main(argv: Sequence[str] | None = None) -> int:
    """Run canopy-compile; 0 on success, 1 with a one-line error on bad input."""
    args = build_parser().parse_args(argv)
    try:
        compiled = compile_model(args)
    except (ValueError, OSError, DiagnosticException) as error:
        if os.environ.get("CANOPY_TRACEBACK"):
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"{TOOL}: error: {message}", file=sys.stderr)
        return 1
    print("\n".join([f"artifact: {args.output}", *compiled.summary_lines()]))
    if args.host_program is not None:
        print(f"host program: {args.host_program} (build with {args.host_program}/build.sh)")
    if not compiled.manifest["launches"]:
        print(f"{TOOL}: warning: nothing runs on the card; a float model needs --calibration "
              "or --calibration-random to be quantized", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
