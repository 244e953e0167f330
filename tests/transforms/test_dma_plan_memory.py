"""dma-plan-memory: placement properties on random alloc/use sequences, and its errors.

Lifetimes are recomputed here from the generated action list (not by the pass's
analysis). Takes ~4 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from xdsl.dialects.builtin import ModuleOp, TensorType, i8
from xdsl.dialects.func import FuncOp, ReturnOp

from canopy_mlir.dialects import dma, make_context
from canopy_mlir.transforms import collecting_statistics
from canopy_mlir.transforms.dma_plan_memory import (
    BufferRequest,
    DmaPlanError,
    DmaPlanMemory,
    lower_bound_bytes,
    peak_bytes,
    plan_offsets,
)

BYTE = TensorType(i8, [1])

# An action: ("alloc", size, log2 alignment) or ("use", k): use the k-th buffer still in play.
actions = st.lists(
    st.one_of(
        st.tuples(st.just("alloc"), st.integers(1, 300), st.integers(0, 6)),
        st.tuples(st.just("use"), st.integers(0, 1000)),
        st.tuples(st.just("const"), st.integers(1, 100), st.integers(0, 4)),
    ),
    min_size=1,
    max_size=40,
)


def build(sequence):
    """A function doing ``sequence``; returns it with the expected (op, start, end) per buffer."""
    func = FuncOp("main", ([], []))
    block = func.body.block
    buffers = []  # [op, start, end]
    for position, action in enumerate(sequence):
        if action[0] in ("alloc", "const"):
            _, size, log_align = action
            if action[0] == "alloc":
                op = dma.AllocOp(size, "activation", 1 << log_align)
            else:
                op = dma.ConstantOp(np.arange(size, dtype=np.uint8), "data", 1 << log_align)
            block.add_op(op)
            buffers.append([op, position, position])
        elif buffers:
            entry = buffers[action[1] % len(buffers)]
            block.add_op(dma.CopyToHostOp(entry[0], BYTE))
            entry[2] = position
        else:  # nothing to use yet: a one-byte buffer keeps positions aligned with ops
            op = dma.AllocOp(1, "scratch", 1)
            block.add_op(op)
            buffers.append([op, position, position])
    block.add_op(ReturnOp())
    return func, buffers


def _expected_requests(buffers, total):
    constants = [isinstance(op, dma.ConstantOp) for op, _, _ in buffers]
    return [BufferRequest(op.nbytes, op.align, 0 if c else start, total if c else end, c)
            for (op, start, end), c in zip(buffers, constants)]


@settings(max_examples=150)
@given(actions)
def test_random_sequences_are_placed_without_live_overlap(sequence):
    func, buffers = build(sequence)
    module = ModuleOp([func])
    pass_ = DmaPlanMemory()
    with collecting_statistics(pass_) as stats_list:
        pass_.apply(make_context(), module)
    module.verify()
    requests = _expected_requests(buffers, len(sequence))
    offsets = [op.planned_offset for op, _, _ in buffers]
    for (op, _, _), offset in zip(buffers, offsets):
        assert offset % op.align == 0
    for i, a in enumerate(requests):
        for j in range(i + 1, len(requests)):
            b = requests[j]
            if a.start <= b.end and b.start <= a.end:
                assert offsets[i] + a.size <= offsets[j] or offsets[j] + b.size <= offsets[i], (i, j)
    # constants are placed before any alloc, so they pack below the activations
    constant_end = max((o + r.size for o, r in zip(offsets, requests) if r.pinned), default=0)
    assert constant_end == peak_bytes([r for r in requests if r.pinned],
                                      [o for o, r in zip(offsets, requests) if r.pinned])
    peak = max(o + r.size for o, r in zip(offsets, requests))
    live = max(sum(r.size for r in requests if r.start <= t <= r.end) for t in range(len(sequence) + 1))
    assert peak >= live
    counters = stats_list[0].counters
    assert counters["peak-bytes"] == peak == func.attributes["dma.pool_bytes"].value.data
    assert counters["lower-bound-bytes"] <= peak


def test_greedy_by_size_quality_on_random_workloads():
    """Report peak / lower bound on 300 random workloads (alignment 16, 8..40 buffers)."""
    rng = np.random.default_rng(0)
    ratios = []
    for _ in range(300):
        count = int(rng.integers(8, 40))
        starts = rng.integers(0, 60, count)
        requests = [BufferRequest(int(rng.integers(1, 64)) * 16, 16, int(s), int(s + rng.integers(0, 15)))
                    for s in starts]
        offsets = plan_offsets(requests)
        ratios.append(peak_bytes(requests, offsets) / lower_bound_bytes(requests))
    print(f"greedy-by-size peak / lower bound: mean {np.mean(ratios):.3f}, max {np.max(ratios):.3f}")
    assert min(ratios) >= 1.0
    assert np.mean(ratios) < 1.25  # measured mean 1.03, max 1.37: a regression to first-fit-in-order shows here


def test_reuse_of_dead_buffers():
    requests = [BufferRequest(100, 4, 0, 2), BufferRequest(100, 4, 3, 5), BufferRequest(50, 4, 1, 4)]
    offsets = plan_offsets(requests)
    assert offsets[0] == offsets[1]  # the second reuses the first's space
    assert peak_bytes(requests, offsets) == 150 == lower_bound_bytes(requests)


# ------------------------------------------------------------------ errors
def _launch_function(wait=True, use_in_flight=False):
    func = FuncOp("main", ([], []))
    block = func.body.block
    insns = dma.ConstantOp(bytes(32), "instructions", 16)
    uops = dma.ConstantOp(bytes(4), "uops", 4)
    out = dma.AllocOp(64, "activation", 16)
    out.result.name_hint = "out"
    launch = dma.LaunchOp(insns, 0, 2, uops, writes=[out])
    block.add_ops([insns, uops, out, launch])
    if use_in_flight:
        block.add_op(dma.CopyToHostOp(out, BYTE))
    if wait:
        block.add_op(dma.WaitOp(launch))
    block.add_op(ReturnOp())
    return ModuleOp([func])


def test_launch_keeps_buffers_live_until_wait():
    module = _launch_function()
    DmaPlanMemory().apply(make_context(), module)
    out = next(op for op in module.walk() if isinstance(op, dma.AllocOp))
    assert out.planned_offset == 48  # after insns (32) and uops (4), 16-aligned


def test_never_waited_launch_is_an_error():
    with pytest.raises(DmaPlanError, match="the launch's token is never waited"):
        DmaPlanMemory().apply(make_context(), _launch_function(wait=False))


def test_use_while_in_flight_is_an_error():
    with pytest.raises(DmaPlanError, match="'dma.copy_to_host' uses %out while the dma.launch at op #3 "
                                           "that writes it is in flight"):
        DmaPlanMemory().apply(make_context(), _launch_function(use_in_flight=True))


def test_over_budget_names_peak_limit_and_live_buffers():
    with pytest.raises(DmaPlanError) as info:
        DmaPlanMemory(card_memory=100).apply(make_context(), _launch_function())
    assert str(info.value) == (
        "dma-plan-memory: @main needs a 112-byte pool but card-memory is 100 bytes; largest "
        "buffers live at the peak (op #2): %out (64 bytes, activation), the dma.constant at "
        "op #0 (32 bytes, instructions), the dma.constant at op #1 (4 bytes, uops)"
    )
    DmaPlanMemory(card_memory=112).apply(make_context(), _launch_function())  # exactly fits
