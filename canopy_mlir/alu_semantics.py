"""The core's ALU arithmetic (docs/isa.md), shared by the simulator and the tile interpreter.

One definition so that the ``tile`` level's fused tails and the instruction-level
simulator cannot drift apart: every function works on int64 numpy copies of int32
values and returns the wrapped int32 result the ACC buffer would hold.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from canopy_mlir.isa_format import ALU_IMM_BITS

__all__ = ["ALU_OPCODES", "IMM_MAX", "IMM_MIN", "SHIFT_LIMIT", "alu_apply", "wrap32", "shift"]

_WORD_MASK = (1 << 32) - 1

IMM_MIN, IMM_MAX = -(1 << (ALU_IMM_BITS - 1)), (1 << (ALU_IMM_BITS - 1)) - 1
"""Range of the signed 16-bit ALU immediate (ALU_IMM_BITS)."""
SHIFT_LIMIT = 31
"""A tail's shr immediate lies in [-SHIFT_LIMIT, SHIFT_LIMIT]."""


def wrap32(values: np.ndarray) -> np.ndarray:
    """The low 32 bits of int64 values, as two's-complement int32."""
    return (values & _WORD_MASK).astype(np.uint32).view(np.int32)


def shift(a: np.ndarray, s: np.ndarray) -> np.ndarray:
    """SHR: ``s >= 0`` arithmetic right by min(s, 31); ``s < 0`` left by -s, wrapping."""
    right = a >> np.minimum(np.maximum(s, 0), 31)
    left = a << np.minimum(np.maximum(-s, 0), 32)  # |a| <= 2**31: a << 32 fits int64
    return np.where(s >= 0, right, left)


_FUNCTIONS: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "min": np.minimum,
    "max": np.maximum,
    "add": np.add,
    "mul": np.multiply,
    "shr": shift,
}
ALU_OPCODES: tuple[str, ...] = tuple(_FUNCTIONS)
"""The ALU opcodes by their lower-case names (as a tile tail spells them)."""


def alu_apply(opcode: str, acc: np.ndarray, operand: np.ndarray | int) -> np.ndarray:
    """``acc = f(acc, operand)`` for one ALU opcode, as int32 (operand broadcast)."""
    a = np.asarray(acc, dtype=np.int64)
    b = np.asarray(operand, dtype=np.int64)
    return wrap32(_FUNCTIONS[opcode](a, b))
