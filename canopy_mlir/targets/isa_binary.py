"""The ``isa-bin`` target: an ``isa.program`` as the buffers the card loads.

``canopy-opt prog.mlir -t isa-bin -o out.bin`` writes two raw files:

- ``out.bin``, the **instruction buffer**: one 16-byte record per instruction, two
  little-endian uint64 words in :mod:`canopy_mlir.isa_format`'s (VTA's) encoding, in
  program order. No header.
- the **micro-op table**: one little-endian uint32 per ``isa.uop``, in table order. It
  goes to the file named by the ``uops`` option, ``-t 'isa-bin{uops="t.bin"}'`` (quote
  paths: the option syntax does not take bare dots or slashes). canopy-opt defaults it
  to the sibling of ``-o``: ``out.bin`` -> ``out.uops.bin`` (``out`` -> ``out.uops.bin``).
  A program without an ``isa.uops`` table writes an empty file there.

Neither file records the hardware config or where the table sits in DRAM (the
``isa.uops at N`` address); give them back to ``canopy-disasm`` with ``--config`` and
``--uop-base``. The ``program=NAME`` option picks one ``isa.program`` when the module has
several.

Binary output through xDSL's text-based driver: a :class:`BinaryTarget` produces bytes;
its ``emit`` writes them to the text stream as one character per byte (U+0000..U+00FF),
so a stream opened with ``encoding="latin-1", newline=""`` stores exactly those bytes.
``CanopyOptMain`` opens its outputs that way for binary targets.
"""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import IO, ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp
from xdsl.utils.target import Target

from canopy_mlir.dialects.isa import ProgramOp, program_to_binary
from canopy_mlir.hw import UOP_BYTES

BYTES_ENCODING = "latin-1"
"""The text encoding that maps characters U+0000..U+00FF to the bytes 0..255."""


class IsaTargetError(ValueError):
    """The module cannot be written as an isa-bin instruction buffer."""


@dataclass(frozen=True)
class BinaryTarget(Target):
    """A target whose output is bytes rather than text."""

    @abstractmethod
    def emit_bytes(self, ctx: Context, module: ModuleOp) -> bytes: ...

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        output.write(self.emit_bytes(ctx, module).decode(BYTES_ENCODING))


def sibling_uops_path(output_file: str | Path) -> Path:
    """``out.bin`` -> ``out.uops.bin``: where the micro-op table goes by default."""
    path = Path(output_file)
    return path.with_name(f"{path.stem if path.suffix else path.name}.uops.bin")


def select_program(module: ModuleOp, name: str | None = None) -> ProgramOp:
    """The module's only ``isa.program``, or the one called ``name``."""
    programs = [op for op in module.walk() if isinstance(op, ProgramOp)]
    names = [p.sym_name.data for p in programs]
    if name is not None:
        if name not in names:
            raise IsaTargetError(
                f"isa-bin: no isa.program @{name} in the input "
                f"(programs: {', '.join('@' + n for n in names) or 'none'})"
            )
        return programs[names.index(name)]
    if not programs:
        raise IsaTargetError("isa-bin: the input has no isa.program to assemble")
    if len(programs) > 1:
        raise IsaTargetError(
            f"isa-bin: the input has {len(programs)} isa.program ops "
            f"({', '.join('@' + n for n in names)}); "
            'pick one with -t \'isa-bin{program="NAME"}\''
        )
    return programs[0]


@dataclass(frozen=True)
class IsaBinaryTarget(BinaryTarget):
    """Assemble one ``isa.program``: instruction bytes out, micro-op table to ``uops``."""

    name: ClassVar[str] = "isa-bin"

    uops: str | None = None
    """File for the micro-op table (little-endian uint32 words)."""
    program: str | None = None
    """Symbol name of the program to assemble, when the module holds several."""

    def emit_bytes(self, ctx: Context, module: ModuleOp) -> bytes:
        program = select_program(module, self.program)
        insn_words, uop_words = program_to_binary(program)
        self._write_uops(program, uop_words.astype("<u4").tobytes())
        return insn_words.astype("<u8").tobytes()

    def _write_uops(self, program: ProgramOp, data: bytes) -> None:
        if self.uops is None:
            if data:
                raise IsaTargetError(
                    f"isa-bin: @{program.sym_name.data} has a micro-op table "
                    f"({len(data) // UOP_BYTES} x {UOP_BYTES} bytes) but no file to write it to: give "
                    "-t 'isa-bin{uops=\"FILE\"}' or -o OUT (the table then goes to "
                    "OUT's sibling .uops.bin)"
                )
            return
        try:
            Path(self.uops).write_bytes(data)
        except OSError as err:
            raise IsaTargetError(f"isa-bin: cannot write the micro-op table: {err}") from None


__all__ = [
    "BYTES_ENCODING",
    "BinaryTarget",
    "IsaBinaryTarget",
    "IsaTargetError",
    "select_program",
    "sibling_uops_path",
]
