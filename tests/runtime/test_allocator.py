"""The first-fit device-pool allocator: placement, alignment, coalescing, errors, invariants."""

from __future__ import annotations

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from canopy_mlir.runtime.allocator import (
    Block,
    InvalidFree,
    InvalidRequest,
    PoolAllocator,
    PoolExhausted,
)


def test_first_fit_takes_the_lowest_block_that_fits_not_the_tightest():
    pool = PoolAllocator(1000)
    a, b, c, d = pool.alloc(300), pool.alloc(10), pool.alloc(50), pool.alloc(10)
    assert (a, b, c, d) == (0, 300, 310, 360)
    pool.free(a)  # a 300-byte hole at 0
    pool.free(c)  # a 50-byte hole at 310, the best fit for 40 bytes
    assert pool.alloc(40) == 0
    assert pool.alloc(260) == 40  # exactly the rest of the first hole
    assert pool.alloc(51) == 370  # the 50-byte hole is too small
    assert pool.alloc(50) == 310


def test_blocks_are_aligned_and_reserve_whole_alignment_units():
    pool = PoolAllocator(1000, alignment=64)
    assert [pool.alloc(n) for n in (1, 1, 65, 64)] == [0, 64, 128, 256]
    assert pool.bytes_used == 64 + 64 + 128 + 64
    assert pool.requested_size(128) == 65
    # 680 bytes remain in [320, 1000), but only 640 of them are whole alignment units.
    assert pool.alloc(640) == 320
    with pytest.raises(PoolExhausted, match=r"cannot allocate 1 bytes \(64 after 64-byte "
                                            r"alignment\); the largest free block is 40 bytes"):
        pool.alloc(1)


def test_freeing_the_middle_then_its_neighbours_leaves_one_free_block():
    pool = PoolAllocator(4096, alignment=16)
    left, middle, right = pool.alloc(100), pool.alloc(200), pool.alloc(300)
    tail = pool.alloc(4096 - pool.bytes_used)
    assert pool.free_blocks == []
    pool.free(middle)
    assert pool.free_blocks == [Block(112, 208)]
    pool.free(left)  # merges with the free block after it
    assert pool.free_blocks == [Block(0, 320)]
    pool.free(right)  # merges with the free block before it
    assert pool.free_blocks == [Block(0, 624)]
    pool.free(tail)
    assert pool.free_blocks == [Block(0, 4096)]
    assert pool.bytes_used == 0


def test_a_freed_block_between_two_free_blocks_merges_both_ways():
    pool = PoolAllocator(300)
    a, b, c = pool.alloc(100), pool.alloc(100), pool.alloc(100)
    pool.free(a)
    pool.free(c)
    assert pool.free_blocks == [Block(0, 100), Block(200, 100)]
    pool.free(b)
    assert pool.free_blocks == [Block(0, 300)]


def test_exhaustion_names_request_largest_free_block_and_pool_size():
    pool = PoolAllocator(1024)
    first = pool.alloc(256)
    pool.alloc(256)
    pool.free(first)
    with pytest.raises(PoolExhausted) as info:
        pool.alloc(600)
    message = str(info.value)
    assert "cannot allocate 600 bytes" in message
    assert "largest free block is 512 bytes of the 1024-byte pool" in message
    assert "768 bytes free in 2 blocks" in message


def test_double_free_and_unknown_offsets_are_refused():
    pool = PoolAllocator(1024, alignment=8)
    offset = pool.alloc(64)
    pool.free(offset)
    with pytest.raises(InvalidFree, match="no live allocation starts at offset 0"):
        pool.free(offset)
    other = pool.alloc(64)
    with pytest.raises(InvalidFree, match="offset 8 "):
        pool.free(other + 8)  # inside a buffer, not its start
    with pytest.raises(InvalidFree, match="offset 5000"):
        pool.free(5000)


@pytest.mark.parametrize("size", [0, -1, 1.5, True, "8"])
def test_nonsense_sizes_are_refused(size):
    with pytest.raises(InvalidRequest, match="allocation size must be"):
        PoolAllocator(1024).alloc(size)


def test_nonsense_pools_are_refused():
    with pytest.raises(InvalidRequest, match="pool size must be positive"):
        PoolAllocator(0)
    with pytest.raises(InvalidRequest, match="alignment must be positive"):
        PoolAllocator(1024, alignment=0)


# ------------------------------------------------------------------ random alloc/free
POOL_SIZE = 4000  # deliberately not a multiple of the alignment


class AllocatorMachine(RuleBasedStateMachine):
    """Random allocs and frees; after every step the pool's bookkeeping must add up."""

    def __init__(self):
        super().__init__()
        self.alignment = 32
        self.pool = PoolAllocator(POOL_SIZE, self.alignment)
        self.live: dict[int, int] = {}  # offset -> requested size

    @rule(size=st.integers(1, 900))
    def alloc(self, size):
        reserved = -(-size // self.alignment) * self.alignment
        fitting = [b for b in self.pool.free_blocks if b.size >= reserved]
        if not fitting:
            with pytest.raises(PoolExhausted):
                self.pool.alloc(size)
            return
        offset = self.pool.alloc(size)
        assert offset == fitting[0].offset  # first fit in address order
        self.live[offset] = size

    @precondition(lambda self: self.live)
    @rule(data=st.data())
    def free(self, data):
        offset = data.draw(st.sampled_from(sorted(self.live)))
        self.pool.free(offset)
        del self.live[offset]
        with pytest.raises(InvalidFree):
            self.pool.free(offset)

    @invariant()
    def live_blocks_match_the_model(self):
        used = self.pool.used_blocks
        assert sorted(b.offset for b in used) == sorted(self.live)
        for block in used:
            requested = self.live[block.offset]
            assert block.offset % self.alignment == 0
            assert block.size % self.alignment == 0
            assert requested <= block.size < requested + self.alignment

    @invariant()
    def blocks_tile_the_pool_without_overlap(self):
        blocks = sorted(self.pool.used_blocks + self.pool.free_blocks, key=lambda b: b.offset)
        position = 0
        for block in blocks:
            assert block.offset == position, "a gap or an overlap in the pool"
            position = block.end
        assert position == POOL_SIZE
        assert self.pool.bytes_free + self.pool.bytes_used == POOL_SIZE

    @invariant()
    def free_blocks_are_coalesced(self):
        free = self.pool.free_blocks
        assert all(a.end < b.offset for a, b in zip(free, free[1:]))


TestAllocatorMachine = AllocatorMachine.TestCase
TestAllocatorMachine.settings = settings(max_examples=150, stateful_step_count=40,
                                         deadline=None)
