"""Run a lowered tile op on a card: allocate and fill DRAM, lower, launch, read back.

What the runtime will do per op once the ``dma`` level exists; today the tests and
benchmarks use it to check the generated programs against the tile interpreter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from canopy_mlir.dialects import tile
from canopy_mlir.hw import INSN_BYTES, UOP_BYTES
from canopy_mlir.isa_codegen.alu import AluSpec, lower_alu
from canopy_mlir.isa_codegen.conv import ConvSpec, lower_conv
from canopy_mlir.isa_codegen.pool import PoolSpec, lower_pool
from canopy_mlir.isa_codegen.program import (
    DramPlacement,
    IsaCodegenError,
    KernelProgram,
)
from canopy_mlir.isa_codegen.tail import (
    needs_padding_mask,
    padding_mask_image,
    padding_starts,
)
from canopy_mlir.isa_format import MemoryType
from canopy_mlir.isa_semantics import dram_elem_bytes, join_byte_planes


@dataclass
class OpRun:
    """An op run on a card: the program, where things were, and the blocked result."""

    program: KernelProgram
    placement: DramPlacement
    result: np.ndarray
    insn_offset: int


ConvRun = OpRun


def run_conv_on_card(card, op: tile.ConvOp | ConvSpec, input_blocked: np.ndarray,
                     weight_blocked: np.ndarray,
                     tail_arrays: Sequence[np.ndarray] = ()) -> OpRun:
    """Lower ``op`` for ``card.config`` and run it on ``card`` with the given DRAM images.

    ``input_blocked``/``weight_blocked`` are the blocked arrays (``pack_array``);
    ``tail_arrays`` are the tail operands in their DRAM layouts (a per-channel vector
    through :func:`~canopy_mlir.isa_codegen.conv.channel_vector_layout`, a full operand
    blocked). Returns the blocked int8 (or uint8) result, as the interpreter gives it.
    """
    spec = op if isinstance(op, ConvSpec) else ConvSpec.from_op(op, card.config)
    images = {"input": (input_blocked, MemoryType.INP),
              "weight": (weight_blocked, MemoryType.WGT)}
    return _run(card, spec, lower_conv, images, tail_arrays)


def run_alu_on_card(card, op: tile.AluOp | AluSpec, input_blocked: np.ndarray,
                    tail_arrays: Sequence[np.ndarray] = ()) -> OpRun:
    """As :func:`run_conv_on_card` for a ``tile.alu`` (its input blocked i32 or i8)."""
    spec = op if isinstance(op, AluSpec) else AluSpec.from_op(op, card.config)
    return _run(card, spec, lower_alu, {"input": (input_blocked, spec.input_memory)}, tail_arrays)


def run_pool_on_card(card, op: tile.PoolOp | PoolSpec, input_blocked: np.ndarray,
                     tail_arrays: Sequence[np.ndarray] = ()) -> OpRun:
    """As :func:`run_conv_on_card` for a ``tile.pool`` (its input blocked i32 or i8)."""
    spec = op if isinstance(op, PoolSpec) else PoolSpec.from_op(op, card.config)
    return _run(card, spec, lower_pool, {"input": (input_blocked, spec.input_memory)}, tail_arrays)


def _run(card, spec, lower: Callable, images: dict, tail_arrays: Sequence[np.ndarray]) -> OpRun:
    config = card.config
    if len(tail_arrays) != len(spec.tail_kinds):
        raise IsaCodegenError(f"{spec.name}: {len(tail_arrays)} tail arrays for "
                              f"{len(spec.tail_kinds)} tail operands")
    images = dict(images)
    for j, array in enumerate(tail_arrays):
        images[f"tail{j}"] = (array, spec.tail_memory(j))
    sizes = spec.dram_elements()
    addresses: dict[str, int] = {}
    for name, (array, memory) in images.items():
        elem = dram_elem_bytes(memory, config)
        dtype = np.int32 if memory == MemoryType.ACC else np.int8
        data = np.ascontiguousarray(array, dtype=dtype)
        if data.nbytes != sizes[name] * elem:
            raise IsaCodegenError(f"{spec.name}: {name} holds {data.nbytes} bytes, its DRAM "
                                  f"layout needs {sizes[name]} elements of {elem} bytes")
        addresses[name] = card.upload(data).element_index(elem)
    out_elem = dram_elem_bytes(MemoryType.OUT, config)
    out_buf = card.alloc(sizes["output"] * out_elem)
    mask = None
    if needs_padding_mask(spec.tail, spec.logical, config, padding_starts(spec)):
        mask_image = padding_mask_image(spec.logical, config)
        mask = card.upload(mask_image).element_index(dram_elem_bytes(MemoryType.ACC, config))
    placement = DramPlacement(
        input=addresses["input"], weight=addresses.get("weight", 0),
        output=out_buf.element_index(out_elem), uops=0,
        tail=tuple(addresses[f"tail{j}"] for j in range(len(tail_arrays))), mask=mask)
    # The micro-op table does not depend on where it lives: size it, then place it.
    table_bytes = len(lower(spec, config, placement).uops) * UOP_BYTES
    uop_buf = card.alloc(max(table_bytes, UOP_BYTES))
    placement = replace(placement, uops=uop_buf.element_index(UOP_BYTES))
    program = lower(spec, config, placement)
    card.write(uop_buf, program.encoded_uops().astype("<u4").tobytes())
    insn_buf = card.upload(program.encoded_instructions().astype("<u8").tobytes())
    insn_offset = insn_buf.element_index(INSN_BYTES)
    card.run(insn_offset, len(program.instructions))
    oh, ow = spec.out_hw
    shape = (spec.batch_blocks, spec.out_blocks, oh, ow, config.batch, config.block_out)
    count = int(np.prod(shape))
    if spec.output_planes > 1:  # an i32 result, stored as byte planes
        planes = card.read(out_buf, np.int8, spec.output_planes * count)
        result = join_byte_planes(planes.reshape(spec.output_planes, count)).reshape(shape)
    else:
        dtype = np.uint8 if spec.result_element == "ui8" else np.int8
        result = card.read(out_buf, dtype, count).reshape(shape)
    return OpRun(program, placement, result, insn_offset)


__all__ = ["ConvRun", "OpRun", "run_alu_on_card", "run_conv_on_card", "run_pool_on_card"]
