"""canopy-disasm: an isa-bin instruction buffer (and micro-op table) back to ``isa.program``.

    canopy-disasm out.bin --uops out.uops.bin --uop-base 4096 --config intelfocl

prints the program in the ``isa`` dialect's custom syntax, which ``canopy-opt`` parses;
assembling that output again gives identical bytes. The binary files carry neither the
hardware config nor the table's DRAM address, hence ``--config`` (a preset name or a
VTA-style JSON file; presets print by name, JSON configs inline) and ``--uop-base``.
Without ``--uops`` the program has no ``isa.uops`` table (and skips the checks that need
one). A buffer that decodes but does not verify is still printed, with a warning.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from xdsl.printer import Printer
from xdsl.utils.exceptions import VerifyException

from canopy_mlir.dialects.isa import (
    IsaBinaryError,
    ProgramOp,
    decode_program_instructions,
    decode_program_uops,
    program_from_instructions,
)
from canopy_mlir.hw import ConfigError, load_config

TOOL = "canopy-disasm"


class DisasmError(Exception):
    """Input the disassembler cannot turn into a program."""


def _arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=TOOL, description="Disassemble an isa-bin instruction buffer into an isa.program."
    )
    parser.add_argument("insn_file", help="instruction buffer (16 bytes per instruction)")
    parser.add_argument("--uops", metavar="FILE", help="micro-op table (4 bytes per micro-op)")
    parser.add_argument(
        "--uop-base", metavar="N", type=int, default=None,
        help="DRAM element (4-byte units) the micro-op table was placed at (default 0)",
    )
    parser.add_argument(
        "--config", default=None,
        help="hardware config: a preset name or a VTA JSON file (default intelfocl)",
    )
    parser.add_argument("--name", help="program symbol name (default: the file's stem)")
    parser.add_argument("-o", "--output-file", help="write here instead of stdout")
    args = parser.parse_args(argv)
    if args.uop_base is not None and args.uops is None:
        parser.error("--uop-base places a micro-op table: give the table with --uops")
    if args.uop_base is None:
        args.uop_base = 0
    return args


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as err:
        raise DisasmError(f"cannot read the {what}: {err}") from None


def _decoded(path: str, decode, data: bytes, config):
    try:
        return decode(data, config)
    except IsaBinaryError as err:
        raise DisasmError(f"{path}: {err}") from None


def disassemble(args: argparse.Namespace) -> ProgramOp:
    """Read, decode and rebuild the program the command line describes."""
    config = load_config(args.config)
    insn_bytes = _read(args.insn_file, "instruction buffer")
    insns = _decoded(args.insn_file, decode_program_instructions, insn_bytes, config)
    uops = None
    if args.uops is not None:
        uop_bytes = _read(args.uops, "micro-op table")
        uops = _decoded(args.uops, decode_program_uops, uop_bytes, config)
    name = args.name or Path(args.insn_file).stem
    return program_from_instructions(config, insns, uops, args.uop_base, name)


def _warn_if_invalid(program: ProgramOp) -> None:
    try:
        program.verify()
    except VerifyException as err:
        print(f"{TOOL}: warning: the disassembled program does not verify: {err}", file=sys.stderr)


def _write(program: ProgramOp, output_file: str | None) -> None:
    stream = open(output_file, "w") if output_file else sys.stdout
    try:
        Printer(stream=stream).print_op(program)
        stream.write("\n")
    finally:
        if stream is not sys.stdout:
            stream.close()


def main(argv: Sequence[str] | None = None) -> int:
    """Run canopy-disasm; returns the exit status (0 on success, 1 on bad input)."""
    args = _arguments(argv)
    try:
        program = disassemble(args)
        _warn_if_invalid(program)
        _write(program, args.output_file)
    except BrokenPipeError:
        return 1
    except (DisasmError, ConfigError, OSError) as err:
        if os.environ.get("CANOPY_TRACEBACK"):
            raise
        print(f"{TOOL}: error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
