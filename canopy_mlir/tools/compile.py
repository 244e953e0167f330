"""canopy-compile: an ONNX model to a ``canopy-artifact`` directory in one command.

    canopy-compile model.onnx -o out/ [--config NAME|file.json]
                   [--calibration data.npz | --calibration-random N] [--emit-mlir]

The same as ``canopy-opt -f onnx model.onnx -p canopy-to-dma{...} -t canopy-artifact
-o out/``, plus one progress line per stage on stderr and a summary on stdout (ops on
the card and on the host, launches, instructions, pool size). A float model needs
calibration data; a QDQ model (already quantized) does not. ``--emit-mlir`` also
writes the full dma-level module (constants inline) as ``OUTPUT.dma.mlir``, next to the
artifact directory rather than in it, so the artifact's file list stays fixed.
See docs/artifacts.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from xdsl.utils.exceptions import DiagnosticException

TOOL = "canopy-compile"


class CompileError(ValueError):
    """A user error of canopy-compile (bad file, option or model)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=TOOL, description="Compile an ONNX model to a canopy artifact directory.")
    parser.add_argument("model", help="the .onnx model (float or QDQ-quantized)")
    parser.add_argument("-o", "--output", required=True, help="artifact directory to write")
    parser.add_argument("--config", default="intelfocl", help="hardware config: a preset name or a VTA JSON file")
    calibration = parser.add_mutually_exclusive_group()
    calibration.add_argument("--calibration", help="an .npz of calibration inputs (float models)")
    calibration.add_argument("--calibration-random", type=int, metavar="N",
                             help="N random calibration inputs (smoke tests only)")
    parser.add_argument("--emit-mlir", action="store_true",
                        help="also write the dma-level module as OUTPUT.dma.mlir (next to OUTPUT)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    return parser


def _quoted(value: str) -> str:
    if '"' in value:
        raise CompileError(f"{value!r}: paths with double quotes are not supported")
    return f'"{value}"'


def pipeline_spec(config: str, calibration: str | None, calibration_random: int | None) -> str:
    """The ``canopy-to-dma`` spec for these options (paths quoted for the option syntax)."""
    options = [f"config={_quoted(config)}"]
    if calibration is not None:
        options.append(f"calibration={_quoted(calibration)}")
    if calibration_random is not None:
        options.append(f"calibration-random={calibration_random}")
    return "canopy-to-dma{" + " ".join(options) + "}"


def _check_files(args: argparse.Namespace) -> None:
    if not Path(args.model).is_file():
        raise CompileError(f"{args.model}: no such file")
    if args.calibration is not None and not Path(args.calibration).is_file():
        raise CompileError(f"{args.calibration}: no such calibration file")
    if args.calibration_random is not None and args.calibration_random < 1:
        raise CompileError(f"--calibration-random needs N >= 1, got {args.calibration_random}")
    if args.config.endswith(".json") and not Path(args.config).is_file():
        raise CompileError(f"{args.config}: no such hardware-config file")


def summary_lines(manifest: dict[str, Any], output: str) -> list[str]:
    """The summary printed after a compile (from the manifest, so it matches the files)."""
    host = Counter(manifest["host_ops"])
    host_text = ", ".join(f"{name} x{count}" for name, count in sorted(host.items())) or "none"
    return [
        f"artifact: {output}",
        f"config: {manifest['config']['name']}",
        f"card: {len(manifest['launches'])} launches, {manifest['instructions']} instructions",
        f"host: {sum(host.values())} ops ({host_text})",
        f"pool: {manifest['pool_bytes']} bytes, {len(manifest['buffers'])} buffers "
        f"({sum(1 for b in manifest['buffers'] if 'file' in b)} constants)",
    ]


def compile_model(args: argparse.Namespace) -> dict[str, Any]:
    """Import, lower to the dma level and write the artifact; the manifest."""
    import onnx

    from canopy_mlir.frontend.onnx_importer import import_onnx
    from canopy_mlir.targets.canopy_artifact import module_text, write_artifact
    from canopy_mlir.tools.pipelines import apply_pipeline

    def progress(message: str) -> None:
        if not args.quiet:
            print(f"{TOOL}: {message}", file=sys.stderr, flush=True)

    _check_files(args)
    started = time.perf_counter()
    progress(f"importing {args.model}")
    try:
        model = onnx.load(args.model)
    except Exception as error:  # noqa: BLE001 - onnx raises protobuf's DecodeError and others
        raise CompileError(f"{args.model}: not a readable ONNX model ({type(error).__name__})") from None
    module = import_onnx(model)
    spec = pipeline_spec(args.config, args.calibration, args.calibration_random)
    progress(f"lowering to the dma level ({spec})")
    apply_pipeline(module, spec)
    if args.emit_mlir:
        mlir_path = Path(f"{str(args.output).rstrip(os.sep)}.dma.mlir")
        progress(f"writing {mlir_path}")
        mlir_path.write_text(module_text(module))
    progress(f"writing {args.output}")
    manifest = write_artifact(module, args.output)
    progress(f"done in {time.perf_counter() - started:.1f} s")
    return manifest


def main(argv: Sequence[str] | None = None) -> int:
    """Run canopy-compile; 0 on success, 1 with a one-line error on bad input."""
    args = build_parser().parse_args(argv)
    try:
        manifest = compile_model(args)
    except (ValueError, OSError, DiagnosticException) as error:
        if os.environ.get("CANOPY_TRACEBACK"):
            raise
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"{TOOL}: error: {message}", file=sys.stderr)
        return 1
    print("\n".join(summary_lines(manifest, args.output)))
    if not manifest["launches"]:
        print(f"{TOOL}: warning: nothing runs on the card; a float model needs --calibration "
              "or --calibration-random to be quantized", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
