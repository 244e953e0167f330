"""Test helpers for building device memory pools by hand.

A pool is one byte array holding instructions, micro-ops and data; every DRAM address
in an instruction is an element index from the pool's base (docs/isa.md, Memories).
``PoolBuilder`` places each piece at an offset aligned to ``config.pool_alignment`` so
it is a whole element index for every memory type.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from canopy_mlir.hw import INSN_BYTES, UOP_BYTES, HardwareConfig
from canopy_mlir.isa_format import (
    Instruction,
    MemoryType,
    Uop,
    encode_instructions,
    encode_uops,
)
from canopy_mlir.isa_semantics import dram_elem_bytes


class PoolFullError(ValueError):
    """The pool has no room left for what a test tried to place."""


def little_endian_bytes(data: np.ndarray | bytes | bytearray) -> np.ndarray:
    """Any array (or bytes) as the uint8 sequence of its little-endian encoding."""
    if isinstance(data, bytes | bytearray | memoryview):
        return np.frombuffer(bytes(data), dtype=np.uint8)
    array = np.asarray(data)
    array = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return array.reshape(-1).view(np.uint8)


class PoolBuilder:
    """Lays out a device memory pool of ``nbytes`` bytes, front to back."""

    def __init__(self, config: HardwareConfig, nbytes: int) -> None:
        self.config = config
        self.pool = np.zeros(nbytes, dtype=np.uint8)
        self._cursor = 0

    def reserve(self, nbytes: int, align: int | None = None) -> int:
        """Claim ``nbytes`` zero bytes at the next aligned offset; return that offset."""
        align = align or self.config.pool_alignment
        offset = -(-self._cursor // align) * align
        if offset + nbytes > self.pool.size:
            raise PoolFullError(
                f"cannot place {nbytes} bytes at offset {offset}: the pool holds "
                f"{self.pool.size} bytes"
            )
        self._cursor = offset + nbytes
        return offset

    def place(self, data: np.ndarray | bytes | bytearray, align: int | None = None) -> int:
        """Copy ``data`` (little-endian) to the next aligned offset; return its byte offset."""
        raw = little_endian_bytes(data)
        offset = self.reserve(raw.size, align)
        self.pool[offset:offset + raw.size] = raw
        return offset

    def place_instructions(self, insns: Iterable[Instruction]) -> int:
        """Encode and place instructions; return the index of the first (16-byte units)."""
        return self.place(encode_instructions(list(insns), self.config)) // INSN_BYTES

    def place_uops(self, uops: Iterable[Uop]) -> int:
        """Encode and place micro-ops; return the UOP element index of the first."""
        return self.place(encode_uops(list(uops), self.config)) // UOP_BYTES

    def place_elements(self, data: np.ndarray, memory_type: MemoryType) -> int:
        """Place data and return its DRAM element index for ``memory_type``."""
        return self.element_index(self.place(data), memory_type)

    def reserve_elements(self, count: int, memory_type: MemoryType) -> int:
        """Zeroed room for ``count`` elements; return its DRAM element index."""
        elem = dram_elem_bytes(memory_type, self.config)
        return self.element_index(self.reserve(count * elem), memory_type)

    def element_index(self, byte_offset: int, memory_type: MemoryType) -> int:
        elem = dram_elem_bytes(memory_type, self.config)
        if byte_offset % elem:
            raise ValueError(
                f"byte offset {byte_offset} is not a whole {MemoryType(memory_type).name} "
                f"element ({elem} bytes)"
            )
        return byte_offset // elem

    def read_elements(self, element_index: int, count: int, memory_type: MemoryType,
                      dtype: np.dtype | type = np.int8) -> np.ndarray:
        """``count`` DRAM elements of ``memory_type`` as a flat little-endian ``dtype`` array."""
        elem = dram_elem_bytes(memory_type, self.config)
        first = element_index * elem
        raw = self.pool[first:first + count * elem]
        return raw.view(np.dtype(dtype).newbyteorder("<")).copy()
