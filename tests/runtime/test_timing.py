"""Timing model: hand-computed cycle counts on the 'tiny' config.

'tiny' has DRAM latency 8 cycles and 8 bytes per cycle; its DRAM elements are 4 bytes
(INP, OUT, UOP) and 16 bytes (WGT). A LOAD/STORE costs 8 + rows * ceil(row bytes / 8)
+ padding elements; a GEMM one cycle per step plus GEMM_OVERHEAD_CYCLES.
"""

from __future__ import annotations

import numpy as np
import pytest

from canopy_mlir.hw import INSN_BYTES, PRESETS
from canopy_mlir.isa_format import (
    AluInsn,
    FinishInsn,
    GemmInsn,
    LoadInsn,
    MemoryType,
    Module,
    StoreInsn,
    instructions_to_bytes,
)
from canopy_mlir.isa_semantics import IsaError
from canopy_mlir.runtime.timing import (
    ALU_CYCLES_PER_STEP,
    ALU_OVERHEAD_CYCLES,
    GEMM_OVERHEAD_CYCLES,
    estimate_cycles,
    instruction_cycles,
)
from canopy_mlir.runtime.token_checker import ProgramView, TokenError

TINY = PRESETS["tiny"]
OVH = GEMM_OVERHEAD_CYCLES


def view_of(insns, config=TINY) -> ProgramView:
    """The program as the card sees it: instructions at the start of a device pool."""
    pool = np.frombuffer(instructions_to_bytes(insns, config), dtype=np.uint8).copy()
    return ProgramView.from_pool(config, pool, 0, len(insns))


def test_overheads_are_small_positive_constants():
    assert 0 < GEMM_OVERHEAD_CYCLES <= 16 and 0 < ALU_OVERHEAD_CYCLES <= 16
    assert ALU_CYCLES_PER_STEP == 2


@pytest.mark.parametrize(("insn", "cycles"), [
    (LoadInsn(memory_type=MemoryType.UOP, x_size=1), 8 + 1),              # 4 B
    (LoadInsn(memory_type=MemoryType.INP, x_size=4), 8 + 2),              # 16 B
    (LoadInsn(memory_type=MemoryType.WGT, x_size=2), 8 + 4),              # 32 B
    (LoadInsn(memory_type=MemoryType.WGT, y_size=3, x_size=1, x_stride=5), 8 + 3 * 2),
    (LoadInsn(memory_type=MemoryType.INP, y_size=2, x_size=3, x_stride=3), 8 + 2 * 2),  # 12 B rows
    # 2x2 window padded to 3 rows x 4: 8 zero-filled elements.
    (LoadInsn(memory_type=MemoryType.INP, y_size=2, x_size=2, x_stride=2, y_pad0=1,
              x_pad0=1, x_pad1=1), 8 + 2 * 1 + 8),
    (LoadInsn(memory_type=MemoryType.ACC, x_size=1), 8 + 2),              # 16 B
    (StoreInsn(x_size=4), 8 + 2),                                         # 16 B
    (LoadInsn(memory_type=MemoryType.INP, x_size=0), 1),                  # token only
    (StoreInsn(y_size=0), 1),
    (GemmInsn(uop_bgn=2, uop_end=5, iter_out=2, iter_in=3), 18 + OVH),
    (GemmInsn(reset=True, iter_in=7), 7 + OVH),
    (AluInsn(uop_end=2, iter_out=3), 2 * 6 + ALU_OVERHEAD_CYCLES),
    (FinishInsn(), 1),
])
def test_instruction_costs(insn, cycles):
    assert instruction_cycles(insn, TINY) == cycles


def serial_program():
    """Everything waits for its predecessor: total = sum of the chain's costs."""
    return [
        LoadInsn(memory_type=MemoryType.UOP, x_size=1),                       # compute, 9
        LoadInsn(memory_type=MemoryType.INP, x_size=4),                       # load, 10
        LoadInsn(memory_type=MemoryType.WGT, x_size=2, push_next=True),       # load, 12
        GemmInsn(iter_out=2, iter_in=3, pop_prev=True, push_next=True),       # 6 + OVH
        StoreInsn(x_size=4, pop_prev=True, push_prev=True),                   # store, 10
        FinishInsn(pop_next=True),                                            # 1
    ]


def test_serial_program():
    report = estimate_cycles(view_of(serial_program()))
    # compute: UOP [0, 9); load: INP [0, 10), WGT [10, 22); the GEMM waits for the
    # WGT token: [22, 28 + OVH); STORE [28 + OVH, 38 + OVH); FINISH [38 + OVH, 39 + OVH).
    assert report.start_cycles.tolist() == [0, 0, 10, 22, 28 + OVH, 38 + OVH]
    assert report.end_cycles.tolist() == [9, 10, 22, 28 + OVH, 38 + OVH, 39 + OVH]
    assert report.total_cycles == 39 + OVH
    assert report.busy_cycles == {Module.LOAD: 22, Module.COMPUTE: 9 + 6 + OVH + 1,
                                  Module.STORE: 10}
    assert report.gemm_steps == 6
    assert report.gemm_cycles == 6 + OVH
    assert report.alu_cycles == 0
    assert report.macs == 6 * 1 * 4 * 4
    assert report.load_dram_bytes == 4 + 16 + 32
    assert report.store_dram_bytes == 16
    assert report.gemm_utilization == pytest.approx(6 / (39 + OVH))
    assert report.seconds == pytest.approx((39 + OVH) / 200e6)


def double_buffered_program():
    """Two 32-byte INP tiles; the second loads while the first GEMM runs."""
    tile = {"memory_type": MemoryType.INP, "x_size": 8, "x_stride": 8, "push_next": True}
    return [
        LoadInsn(sram_base=0, **tile),                                  # load [0, 12)
        GemmInsn(iter_in=16, pop_prev=True),                            # 16 + OVH
        LoadInsn(sram_base=8, **tile),                                  # load [12, 24)
        GemmInsn(iter_in=16, pop_prev=True, push_next=True),            # 16 + OVH
        StoreInsn(x_size=8, x_stride=8, pop_prev=True),                 # 12
    ]


def test_double_buffered_program_overlaps_load_and_compute():
    report = estimate_cycles(view_of(double_buffered_program()))
    gemm = 16 + OVH
    # GEMM 0 starts when tile 0 arrives (12); tile 1 arrives at 24, before GEMM 0 ends
    # at 12 + gemm, so GEMM 1 follows GEMM 0 back to back; the STORE follows GEMM 1.
    assert report.start_cycles.tolist() == [0, 12, 12, 12 + gemm, 12 + 2 * gemm]
    assert report.total_cycles == 12 + 2 * gemm + 12
    busy = report.busy_cycles
    assert busy == {Module.LOAD: 24, Module.COMPUTE: 2 * gemm, Module.STORE: 12}
    assert report.total_cycles < sum(busy.values())
    assert sum(busy.values()) - report.total_cycles == 12  # the hidden second load
    assert report.gemm_utilization == pytest.approx(32 / (24 + 2 * gemm))
    if OVH == 4:
        assert report.total_cycles == 64 and report.gemm_utilization == 0.5


def test_reset_steps_cost_cycles_but_are_not_useful_work():
    insns = [GemmInsn(reset=True, iter_in=10), GemmInsn(iter_in=30)]
    report = estimate_cycles(view_of(insns))
    assert report.total_cycles == 40 + 2 * OVH
    assert report.gemm_steps == 30
    assert report.gemm_utilization == pytest.approx(30 / (40 + 2 * OVH))


def test_alu_cycles():
    insns = [AluInsn(iter_out=2, iter_in=5), FinishInsn()]
    report = estimate_cycles(view_of(insns))
    assert report.alu_cycles == 2 * 10 + ALU_OVERHEAD_CYCLES
    assert report.total_cycles == 2 * 10 + ALU_OVERHEAD_CYCLES + 1
    assert report.gemm_steps == 0 and report.gemm_utilization == 0.0


def load_bound_program():
    """A 4 x 64-byte weight load feeding a one-step GEMM."""
    return [LoadInsn(memory_type=MemoryType.WGT, y_size=4, x_size=4, x_stride=4,
                     push_next=True),
            GemmInsn(pop_prev=True)]


@pytest.mark.parametrize(("bytes_per_cycle", "load_cycles"), [
    (8, 8 + 4 * 8),
    (16, 8 + 4 * 4),
    (32, 8 + 4 * 2),
    (64, 8 + 4 * 1),
    (128, 8 + 4 * 1),  # one beat per row at least
])
def test_dram_bandwidth_on_a_load_bound_program(bytes_per_cycle, load_cycles):
    config = TINY.with_changes(dram_bytes_per_cycle=bytes_per_cycle)
    report = estimate_cycles(view_of(load_bound_program(), config))
    assert report.busy_cycles[Module.LOAD] == load_cycles
    assert report.total_cycles == load_cycles + 1 + OVH


def test_dram_latency_is_paid_per_transfer():
    config = TINY.with_changes(dram_latency_cycles=100)
    report = estimate_cycles(view_of(load_bound_program(), config))
    assert report.total_cycles == 100 + 4 * 8 + 1 + OVH


def test_modules_without_tokens_run_fully_in_parallel():
    insns = [LoadInsn(memory_type=MemoryType.INP, x_size=16, x_stride=16),  # 8 + 8
             GemmInsn(iter_in=50),                                          # 50 + OVH
             StoreInsn(x_size=2)]                                           # 8 + 1
    report = estimate_cycles(view_of(insns))
    assert report.start_cycles.tolist() == [0, 0, 0]
    assert report.total_cycles == max(16, 50 + OVH, 9)


def test_empty_program():
    report = estimate_cycles(ProgramView(TINY, []))
    assert report.total_cycles == 0 and report.gemm_utilization == 0.0


def test_deadlock_raises_token_error():
    insns = [StoreInsn(pop_prev=True)]
    with pytest.raises(TokenError, match="deadlock.*instruction 0 \\(STORE OUT\\)"):
        estimate_cycles(view_of(insns))


def test_invalid_instruction_raises_isa_error():
    with pytest.raises(IsaError, match="instruction 1 \\(GEMM\\)"):
        estimate_cycles(ProgramView(TINY, [FinishInsn(), GemmInsn(uop_bgn=3, uop_end=3)]))


def test_report_reads_well():
    text = str(estimate_cycles(view_of(serial_program())))
    total = 39 + OVH
    assert f"{total} cycles" in text
    assert "'tiny' at 200 MHz" in text
    assert "load 22" in text and "store 10" in text
    assert "6 useful steps (96 MACs)" in text
    assert "52 bytes loaded, 16 bytes stored" in text


def test_from_pool_offsets_do_not_change_timing():
    insns = serial_program()
    body = instructions_to_bytes(insns, TINY)
    pool = np.zeros(5 * INSN_BYTES + len(body), dtype=np.uint8)
    pool[5 * INSN_BYTES:] = np.frombuffer(body, dtype=np.uint8)
    shifted = estimate_cycles(ProgramView.from_pool(TINY, pool, 5, len(insns)))
    assert shifted.total_cycles == estimate_cycles(view_of(insns)).total_cycles
