"""First-fit allocation of a card's device-memory pool.

A card exposes one contiguous pool (every instruction addresses DRAM as an element index
from its base), so the runtime carves buffers out of ``[0, pool_size)`` itself, the way
Canopy's PCIe driver manages the card's DDR. Pure Python, independent of OpenCL: the
simulated card and the OpenCL card share it.

Every block starts at a multiple of ``alignment`` and reserves a multiple of it, so a
buffer can be addressed in elements of any memory type (see
:attr:`~canopy_mlir.hw.HardwareConfig.pool_alignment`) and free blocks never start
misaligned. Freed blocks coalesce with free neighbours.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass


class AllocatorError(RuntimeError):
    """A request the pool allocator cannot serve."""


class PoolExhausted(AllocatorError):
    """No free block is large enough for a request."""


class InvalidFree(AllocatorError):
    """Freeing an offset that is not the start of a live allocation (e.g. a double free)."""


class InvalidRequest(AllocatorError):
    """A size or alignment that makes no sense (zero, negative, not an integer)."""


@dataclass(frozen=True)
class Block:
    """``size`` bytes at ``offset``: a free block, or the reservation of an allocation."""

    offset: int
    size: int

    @property
    def end(self) -> int:
        return self.offset + self.size


def align_up(value: int, alignment: int) -> int:
    return -(-value // alignment) * alignment


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidRequest(f"{what} must be an integer number of bytes, got {value!r}")
    if value <= 0:
        raise InvalidRequest(f"{what} must be positive, got {value}")
    return value


class PoolAllocator:
    """First-fit allocator over ``[0, pool_size)`` with aligned blocks and coalescing free."""

    def __init__(self, pool_size: int, alignment: int = 1):
        self.pool_size = _positive_int(pool_size, "pool size")
        self.alignment = _positive_int(alignment, "alignment")
        self._free: list[Block] = [Block(0, pool_size)]  # sorted by offset, never adjacent
        self._used: dict[int, Block] = {}  # offset -> reserved block
        self._requested: dict[int, int] = {}  # offset -> bytes asked for

    # ------------------------------------------------------------------ queries
    @property
    def free_blocks(self) -> list[Block]:
        return list(self._free)

    @property
    def used_blocks(self) -> list[Block]:
        return sorted(self._used.values(), key=lambda b: b.offset)

    @property
    def bytes_free(self) -> int:
        return sum(b.size for b in self._free)

    @property
    def bytes_used(self) -> int:
        """Bytes reserved by live allocations (sizes rounded up to the alignment)."""
        return sum(b.size for b in self._used.values())

    @property
    def largest_free_block(self) -> int:
        return max((b.size for b in self._free), default=0)

    def requested_size(self, offset: int) -> int:
        """The size the allocation at ``offset`` was requested with."""
        self._live_block(offset)
        return self._requested[offset]

    def is_allocated(self, offset: int) -> bool:
        return offset in self._used

    # ------------------------------------------------------------------ alloc / free
    def alloc(self, size: int) -> int:
        """Reserve ``size`` bytes (rounded up to the alignment); return the block's offset."""
        size = _positive_int(size, "allocation size")
        reserved = align_up(size, self.alignment)
        for index, block in enumerate(self._free):
            if block.size >= reserved:
                self._take(index, reserved)
                self._used[block.offset] = Block(block.offset, reserved)
                self._requested[block.offset] = size
                return block.offset
        raise PoolExhausted(self._exhausted_message(size, reserved))

    def free(self, offset: int) -> None:
        """Return the allocation starting at ``offset`` to the pool, merging free neighbours."""
        block = self._live_block(offset)
        del self._used[offset], self._requested[offset]
        self._insert_free(block)

    def reset(self) -> None:
        """Free everything."""
        self._free = [Block(0, self.pool_size)]
        self._used.clear()
        self._requested.clear()

    # ------------------------------------------------------------------ internals
    def _live_block(self, offset: int) -> Block:
        block = self._used.get(offset)
        if block is None:
            raise InvalidFree(
                f"no live allocation starts at offset {offset} of the {self.pool_size}-byte "
                "pool (already freed, never allocated here, or not the start of a buffer)"
            )
        return block

    def _take(self, index: int, size: int) -> None:
        """Cut ``size`` bytes off the front of free block ``index``."""
        block = self._free[index]
        if block.size == size:
            del self._free[index]
        else:
            self._free[index] = Block(block.offset + size, block.size - size)

    def _insert_free(self, block: Block) -> None:
        index = bisect.bisect_left([b.offset for b in self._free], block.offset)
        if index < len(self._free) and self._free[index].offset == block.end:
            block = Block(block.offset, block.size + self._free[index].size)
            del self._free[index]
        if index > 0 and self._free[index - 1].end == block.offset:
            index -= 1
            block = Block(self._free[index].offset, self._free[index].size + block.size)
            del self._free[index]
        self._free.insert(index, block)

    def _exhausted_message(self, size: int, reserved: int) -> str:
        rounding = ""
        if reserved != size:
            rounding = f" ({reserved} after {self.alignment}-byte alignment)"
        return (
            f"device pool exhausted: cannot allocate {size} bytes{rounding}; the largest "
            f"free block is {self.largest_free_block} bytes of the {self.pool_size}-byte "
            f"pool ({self.bytes_free} bytes free in {len(self._free)} blocks, "
            f"{len(self._used)} buffers live)"
        )

    def __repr__(self) -> str:
        return (f"PoolAllocator(pool_size={self.pool_size}, alignment={self.alignment}, "
                f"used={self.bytes_used}, free={self.bytes_free})")
