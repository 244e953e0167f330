"""``-t isa-listing``: the instruction level of a dma-level module, as ``isa.program`` ops.

``convert-tile-to-dma`` generates each card op's instructions and micro-ops and stores
them as bytes in ``dma.constant`` buffers (the form the card loads), so the dma level
does not show them. This target prints them back at the ``isa`` level: one
``isa.program`` per ``dma.launch``, in launch order, decoded from the launch's
instruction range with its micro-op table at the table's planned address::

    canopy-opt -f onnx model.onnx -p 'canopy-default{calibration-random=4}' -t isa-listing

The output is a module ``canopy-opt`` parses and verifies (field widths, loop bounds
against the loaded micro-ops, FINISH last), and each program assembles back to the
launch's own bytes (``isa.program_to_binary``; tested). Programs are named ``launchN_KERNEL`` (``KERNEL`` from the
launch's ``dma.kernel`` attribute: the tile op it came from).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import IO, ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr
from xdsl.ir import Operation, SSAValue
from xdsl.printer import Printer
from xdsl.utils.target import Target

from canopy_mlir.dialects import dma, tile
from canopy_mlir.dialects.isa import (
    IsaBinaryError,
    ProgramOp,
    decode_program_instructions,
    decode_program_uops,
    program_from_instructions,
)
from canopy_mlir.hw import INSN_BYTES, UOP_BYTES, HardwareConfig

KERNEL_ATTR = "dma.kernel"


class IsaListingError(ValueError):
    """A dma-level module whose launches cannot be shown as isa programs."""


def _constant(value: SSAValue, what: str, launch_index: int) -> dma.ConstantOp:
    owner = value.owner
    if not isinstance(owner, dma.ConstantOp):
        raise IsaListingError(
            f"launch {launch_index}: its {what} buffer is made by '{getattr(owner, 'name', owner)}', "
            "not a dma.constant (instructions and micro-ops are compile-time constants)"
        )
    if owner.planned_offset is None:
        raise IsaListingError(f"launch {launch_index}: its {what} constant has no planned offset "
                              "(run dma-plan-memory)")
    return owner


def _program_name(index: int, launch: dma.LaunchOp) -> str:
    kernel = launch.attributes.get(KERNEL_ATTR)
    suffix = kernel.data.replace(".", "_") if isinstance(kernel, StringAttr) else "kernel"
    return f"launch{index}_{suffix}"


def launch_program(launch: dma.LaunchOp, config: HardwareConfig, index: int = 0) -> ProgramOp:
    """The instructions ``launch`` runs, with its micro-op table, as an ``isa.program``."""
    insns = _constant(launch.instructions, "instruction", index)
    uops = _constant(launch.uops, "micro-op", index)
    start = launch.first_index * INSN_BYTES
    insn_bytes = insns.data()[start:start + launch.insn_count * INSN_BYTES]
    uop_base = uops.planned_offset // UOP_BYTES
    try:
        return program_from_instructions(
            config,
            decode_program_instructions(insn_bytes, config),
            decode_program_uops(uops.data(), config),
            uop_base,
            _program_name(index, launch),
        )
    except IsaBinaryError as error:
        raise IsaListingError(f"launch {index}: {error}") from None


def launch_programs(module: ModuleOp) -> list[ProgramOp]:
    """One ``isa.program`` per ``dma.launch`` of ``module``, in program order."""
    programs: list[ProgramOp] = []
    for op in module.walk():
        if isinstance(op, dma.LaunchOp):
            config = tile.config_of(op)
            if config is None:
                raise IsaListingError("the module has no 'tile.config': lower it with canopy-default")
            programs.append(launch_program(op, config, len(programs)))
    return programs


def listing_module(module: ModuleOp) -> ModuleOp:
    """The programs of :func:`launch_programs` in a module of their own."""
    ops: list[Operation] = list(launch_programs(module))
    return ModuleOp(ops)


@dataclass(frozen=True)
class IsaListingTarget(Target):
    """``-t isa-listing``: print every launch's program in the isa dialect."""

    name: ClassVar[str] = "isa-listing"

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        Printer(stream=output).print_op(listing_module(module))
        output.write("\n")
