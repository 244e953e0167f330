"""canopy-run: run a ``canopy-artifact`` directory on a card.

    canopy-run out/ --input x=x.npy [--input ...] [-o outputs.npz] [--backend sim|opencl]
               [--device DEVICE] [--check]

Loads the artifact (format, checksums and config checked), runs it once on a fresh card
(the OpenCL core, PoCL when no FPGA, by default; ``--backend sim`` for the bit-exact
simulator; ``--device`` picks the OpenCL device as ``$CANOPY_OPENCL_DEVICE`` does) and
prints each output's name, shape and dtype, or writes them to ``-o`` as an .npz keyed by
output name. Errors are one line on stderr, exit status 1.

``--check`` then runs the same inputs at every level (graph interpreter of the imported
graph and of the quantized graph, tile interpreter, simulator, the card) layer by layer
and prints one line per level and the first layer and level where they diverge (exit
status 3 when they do). The upper levels come from ``OUT/levels/*.mlir``, which
``canopy-compile --emit-mlir`` writes; without them it says so and checks what it can.
See canopy_mlir/runtime/check.py.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

TOOL = "canopy-run"


class RunError(ValueError):
    """A user error of canopy-run (bad input argument or file)."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=TOOL, description="Run a canopy artifact directory on a card.")
    parser.add_argument("artifact", help="the directory canopy-compile wrote")
    parser.add_argument("--input", "-i", action="append", default=[], metavar="NAME=FILE.npy",
                        help="one model input (repeat for several)")
    parser.add_argument("-o", "--output", help="write the outputs to this .npz")
    parser.add_argument("--backend", choices=("opencl", "sim"), default="opencl",
                        help="the OpenCL core (default) or the simulator")
    parser.add_argument("--device", help="the OpenCL device: 'platform:device' or a name substring "
                                         "('pocl', 'gpu'); default $CANOPY_OPENCL_DEVICE, else PoCL")
    parser.add_argument("--check", action="store_true",
                        help="also run every level layer by layer and name the first divergence")
    return parser


def parse_inputs(items: Sequence[str]) -> dict[str, np.ndarray]:
    """``NAME=FILE.npy`` arguments as arrays by name."""
    inputs: dict[str, np.ndarray] = {}
    for item in items:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise RunError(f"--input {item!r}: expected NAME=FILE.npy")
        if name in inputs:
            raise RunError(f"--input {name!r} given twice")
        if not Path(path).is_file():
            raise RunError(f"--input {name}: {path}: no such file")
        try:
            inputs[name] = np.load(path, allow_pickle=False)
        except ValueError as error:
            raise RunError(f"--input {name}: {path}: not a .npy array ({error})") from None
        if not isinstance(inputs[name], np.ndarray):
            raise RunError(f"--input {name}: {path} holds several arrays; give a .npy")
    return inputs


def main(argv: Sequence[str] | None = None) -> int:
    """Run canopy-run; 0 on success, 1 with a one-line error on bad input."""
    from canopy_mlir.runtime.artifact import ArtifactLoadError, load_artifact
    from canopy_mlir.runtime.check import CheckError, check_artifact

    args = build_parser().parse_args(argv)
    report = None
    try:
        if args.device is not None and args.backend == "sim":
            raise RunError("--device picks an OpenCL device; the simulator (--backend sim) runs on none")
        inputs = parse_inputs(args.input)
        artifact = load_artifact(args.artifact)
        outputs = artifact.run(inputs, backend=args.backend, device=args.device)
        if args.output:
            np.savez(args.output, **dict(zip(artifact.output_names, outputs, strict=True)))
        if args.check:
            report = check_artifact(artifact, inputs, backend=args.backend, device=args.device)
    except (RunError, ArtifactLoadError, CheckError, OSError) as error:
        if os.environ.get("CANOPY_TRACEBACK"):
            raise
        print(f"{TOOL}: error: {str(error).strip().splitlines()[0]}", file=sys.stderr)
        return 1
    if args.output:
        print(f"wrote {len(outputs)} outputs to {args.output}")
    else:
        for name, array in zip(artifact.output_names, outputs, strict=True):
            print(f"{name}: shape {list(array.shape)} {array.dtype}")
    if report is not None:
        print("check:")
        print("\n".join(f"  {line}" for line in report.text().splitlines()))
        return 0 if report.ok else 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
