"""Token checker: deadlocks, leftover tokens, invalid flags and inter-module hazards.

Expected values are worked out by hand from docs/isa.md ("Modules and dependency
tokens") for programs on the 'tiny' config: INP and OUT DRAM elements are 4 bytes, WGT
elements 16 bytes, micro-ops 4 bytes.
"""

from __future__ import annotations

import numpy as np
import pytest

from canopy_mlir.hw import INSN_BYTES, PRESETS, UOP_BYTES
from canopy_mlir.isa_format import (
    AluInsn,
    FinishInsn,
    GemmInsn,
    LoadInsn,
    MemoryType,
    Module,
    StoreInsn,
    Uop,
    encode_uops,
    instructions_to_bytes,
)
from canopy_mlir.runtime.token_checker import (
    HazardKind,
    ProgramView,
    ProgramViewError,
    Queue,
    TokenError,
    WaitReason,
    check_tokens,
)

TINY = PRESETS["tiny"]
DATA_BYTES = 4096
"""Pool bytes [0, DATA_BYTES) hold data; micro-ops follow, then the instructions."""
UOP_DRAM_BASE = DATA_BYTES // UOP_BYTES


def make_view(insns, uops=(), config=TINY) -> ProgramView:
    """Lay ``uops`` and ``insns`` into a device pool and view it as the card would."""
    align = config.pool_alignment
    uop_bytes = encode_uops(list(uops), config).astype("<u4").tobytes()
    insn_start = -(-(DATA_BYTES + len(uop_bytes)) // align) * align
    insn_bytes = instructions_to_bytes(insns, config)
    pool = np.zeros(insn_start + len(insn_bytes), dtype=np.uint8)
    pool[DATA_BYTES:DATA_BYTES + len(uop_bytes)] = np.frombuffer(uop_bytes, dtype=np.uint8)
    pool[insn_start:] = np.frombuffer(insn_bytes, dtype=np.uint8)
    return ProgramView.from_pool(config, pool, insn_start // INSN_BYTES, len(insns))


def load_uops(count: int, **flags) -> LoadInsn:
    return LoadInsn(memory_type=MemoryType.UOP, dram_base=UOP_DRAM_BASE, x_size=count,
                    x_stride=count, **flags)


def load_inp(sram: int, dram: int, **flags) -> LoadInsn:
    return LoadInsn(memory_type=MemoryType.INP, sram_base=sram, dram_base=dram, **flags)


def summary(report):
    """(kind, buffer, example address, count, first index, second index) per hazard."""
    return sorted((h.kind, h.buffer, h.address, h.count, h.first.index, h.second.index)
                  for h in report.hazards)


# ------------------------------------------------------- the reference pipeline
PIPELINE_UOPS = (Uop(dst=0, src=0, wgt=0), Uop(dst=1, src=1, wgt=0))
INP_DRAM, WGT_DRAM, OUT_DRAM = 0, 16, 512  # elements: bytes [0, 16), [256, 272), [2048, 2064)


def gemm_pipeline(iterations: int = 4, double_buffer_tokens: bool = True):
    """A double-buffered GEMM pipeline: INP and OUT tiles alternate between slots 0 and 1.

    Positions: 0 LOAD UOP, 1 LOAD WGT, then per iteration k: 2+3k LOAD INP (slot k%2),
    3+3k GEMM, 4+3k STORE; last FINISH. Iteration k+2 reuses the slots of iteration k,
    so LOAD INP k+2 waits for GEMM k (compute->load) and GEMM k+2 for STORE k
    (store->compute) -- the first wait is what ``double_buffer_tokens`` controls.
    """
    insns = [load_uops(2),
             LoadInsn(memory_type=MemoryType.WGT, sram_base=0, dram_base=WGT_DRAM)]
    for k in range(iterations):
        slot, reused_later = k % 2, k + 2 < iterations
        insns += [
            load_inp(slot, INP_DRAM + k, push_next=True,
                     pop_next=double_buffer_tokens and k >= 2),
            GemmInsn(uop_bgn=slot, uop_end=slot + 1, pop_prev=True, push_next=True,
                     pop_next=k >= 2, push_prev=double_buffer_tokens and reused_later),
            StoreInsn(sram_base=slot, dram_base=OUT_DRAM + k, pop_prev=True,
                      push_prev=reused_later),
        ]
    return [*insns, FinishInsn()]


def test_double_buffered_pipeline_passes():
    report = check_tokens(make_view(gemm_pipeline(), PIPELINE_UOPS))
    assert report.ok, str(report)
    assert (report.errors, report.warnings, report.hazards, report.notes) == ([], [], [], [])
    assert report.module_counts == {Module.LOAD: 5, Module.COMPUTE: 6, Module.STORE: 4}
    assert str(report).startswith("token check passed")
    report.raise_if_failed()


def test_pipeline_without_double_buffer_tokens_has_war_on_inp():
    # LOAD INP 2 (position 8) refills slot 0 that GEMM 0 (position 3) reads, and LOAD
    # INP 3 (11) refills slot 1 of GEMM 1 (6), with no compute->load token between.
    report = check_tokens(make_view(gemm_pipeline(double_buffer_tokens=False), PIPELINE_UOPS))
    assert not report.ok
    assert report.errors == [] and report.warnings == []
    assert summary(report) == [(HazardKind.WAR, "INP", 0, 1, 3, 8),
                               (HazardKind.WAR, "INP", 1, 1, 6, 11)]
    hazard = min(report.hazards, key=lambda h: h.first.index)
    assert (hazard.first.mnemonic, hazard.first.module, hazard.first.writes) == (
        "GEMM", Module.COMPUTE, False)
    assert (hazard.second.mnemonic, hazard.second.module, hazard.second.writes) == (
        "LOAD INP", Module.LOAD, True)
    text = str(hazard)
    assert "WAR on INP element 0" in text
    assert "instruction 3 (GEMM, compute module) reads" in text
    assert "instruction 8 (LOAD INP, load module) writes" in text
    with pytest.raises(TokenError, match="WAR on INP element 1") as caught:
        report.raise_if_failed()
    assert caught.value.report is report


def test_micro_ops_from_a_mapping_give_the_same_answer():
    uops = dict(enumerate(PIPELINE_UOPS, start=UOP_DRAM_BASE))
    good = check_tokens(ProgramView(TINY, gemm_pipeline(), uops))
    bad = check_tokens(ProgramView(TINY, gemm_pipeline(double_buffer_tokens=False), uops))
    assert good.ok, str(good)
    assert [(h.first.index, h.second.index) for h in bad.hazards] == [(3, 8), (6, 11)]


def test_unknown_micro_ops_skip_loop_accesses_with_a_note():
    report = check_tokens(ProgramView(TINY, gemm_pipeline(double_buffer_tokens=False)))
    assert report.ok and report.hazards == []
    assert len(report.notes) == 1
    assert "4 GEMM/ALU instruction(s)" in report.notes[0]
    assert "no micro-op source" in report.notes[0]


def test_micro_ops_missing_from_a_mapping_are_noted():
    # Slot 1 stays unknown: GEMMs 1 and 3 use it.
    report = check_tokens(ProgramView(TINY, gemm_pipeline(), {UOP_DRAM_BASE: PIPELINE_UOPS[0]}))
    assert "2 GEMM/ALU instruction(s)" in report.notes[0]
    assert "DRAM the view does not provide" in report.notes[0]


def test_unloaded_micro_ops_are_known_zero():
    # No LOAD UOP: SRAM starts zero, so the GEMM uses uop (0, 0, 0) and reads INP 0.
    insns = [load_inp(0, 0), GemmInsn()]
    report = check_tokens(ProgramView(TINY, insns))
    assert summary(report) == [(HazardKind.RAW, "INP", 0, 1, 0, 1)]


# ----------------------------------------------------------------- deadlocks
def test_cyclic_wait_is_a_deadlock():
    insns = [load_uops(1),
             load_inp(0, 0, pop_next=True, push_next=True),   # waits for the GEMM
             GemmInsn(pop_prev=True, push_prev=True)]          # waits for the load
    report = check_tokens(make_view(insns, [Uop()]))
    assert not report.ok
    blocked = {b.module: b for b in report.deadlock.blocked}
    assert set(blocked) == {Module.LOAD, Module.COMPUTE}
    load, compute = blocked[Module.LOAD], blocked[Module.COMPUTE]
    assert (load.index, load.mnemonic, load.queues) == (1, "LOAD INP", (Queue.COMPUTE_TO_LOAD,))
    assert (compute.index, compute.mnemonic, compute.queues) == (
        2, "GEMM", (Queue.LOAD_TO_COMPUTE,))
    assert load.reason == compute.reason == WaitReason.CYCLIC_WAIT
    assert set(load.cycle) == {Module.LOAD, Module.COMPUTE}
    assert len(report.errors) == 2
    assert "cyclic wait load -> compute -> load" in str(report)
    assert "compute->load" in str(load)


def test_fixed_cyclic_wait_passes():
    insns = [load_uops(1),
             load_inp(0, 0, push_next=True),
             GemmInsn(pop_prev=True, push_prev=True),
             load_inp(0, 1, pop_next=True)]  # refills INP 0 once the GEMM has read it
    report = check_tokens(make_view(insns, [Uop()]))
    assert report.ok, str(report)
    assert report.warnings == []


def test_pop_that_is_never_pushed_is_a_deadlock():
    insns = [load_uops(1), AluInsn(use_imm=True, imm=1), StoreInsn(pop_prev=True)]
    report = check_tokens(make_view(insns, [Uop()]))
    (blocked,) = report.deadlock.blocked
    assert (blocked.module, blocked.index, blocked.mnemonic) == (Module.STORE, 2, "STORE OUT")
    assert blocked.queues == (Queue.COMPUTE_TO_STORE,)
    assert blocked.reason == WaitReason.NEVER_PUSHED
    assert report.errors == [
        "deadlock: the store module is blocked at instruction 2 (STORE OUT) popping "
        "compute->store, which no remaining instruction will ever push"
    ]


def test_fixed_pop_that_is_now_pushed_passes():
    insns = [load_uops(1), AluInsn(use_imm=True, imm=1, push_next=True),
             StoreInsn(pop_prev=True)]
    assert check_tokens(make_view(insns, [Uop()])).ok


def test_module_waiting_on_a_starved_module_is_not_a_cycle():
    # compute waits on store->compute, which nothing pushes; load waits on the compute
    # instruction behind that wait.
    insns = [GemmInsn(pop_next=True, push_prev=True), load_inp(0, 0, pop_next=True)]
    report = check_tokens(ProgramView(TINY, insns))
    reasons = {b.module: b.reason for b in report.deadlock.blocked}
    assert reasons == {Module.COMPUTE: WaitReason.NEVER_PUSHED,
                       Module.LOAD: WaitReason.BLOCKED_PRODUCER}


# ------------------------------------------------------- tokens left, flags
def test_tokens_left_in_a_queue_are_a_warning():
    insns = [load_uops(1),
             load_inp(0, 0, push_next=True),
             GemmInsn(pop_prev=True),
             load_inp(5, 1, push_next=True),   # nobody pops this one
             load_inp(6, 2, push_next=True)]   # nor this one
    report = check_tokens(make_view(insns, [Uop()]))
    assert report.ok, str(report)
    assert report.leftover_tokens == {Queue.LOAD_TO_COMPUTE: 2}
    (warning,) = report.warnings
    assert warning.startswith("2 token(s) left in the load->compute queue")
    assert "instruction 3 (LOAD INP), instruction 4 (LOAD INP)" in warning


def test_balanced_tokens_leave_no_warning():
    insns = [load_uops(1), load_inp(0, 0, push_next=True), GemmInsn(pop_prev=True)]
    report = check_tokens(make_view(insns, [Uop()]))
    assert report.ok and report.warnings == [] and report.leftover_tokens == {}


def test_invalid_token_flags_are_errors():
    insns = [load_inp(0, 0, pop_prev=True), StoreInsn(push_next=True)]
    report = check_tokens(make_view(insns))
    assert not report.ok
    assert len(report.errors) == 2
    assert report.errors[0].startswith("instruction 0 (LOAD INP): pop_prev is not valid on "
                                       "the load module")
    assert report.errors[1].startswith("instruction 1 (STORE OUT): push_next is not valid on "
                                       "the store module")
    # Invalid flags are ignored as the hardware does: no deadlock on the bogus pop.
    assert report.deadlock is None


def test_dram_outside_the_pool_is_an_error():
    view = make_view([load_inp(0, 10**6)])
    report = check_tokens(view)
    assert "lie outside the" in report.errors[0]


# ------------------------------------------------------------------ hazards
def test_raw_on_inp_when_the_gemm_does_not_wait_for_the_load():
    insns = [load_uops(1), load_inp(0, 0), GemmInsn()]
    report = check_tokens(make_view(insns, [Uop(dst=2, src=0, wgt=0)]))
    assert summary(report) == [(HazardKind.RAW, "INP", 0, 1, 1, 2)]
    assert str(report.hazards[0]) == (
        "RAW on INP element 0: instruction 1 (LOAD INP, load module) writes, then "
        "instruction 2 (GEMM, compute module) reads; no token chain orders them")


def test_raw_on_inp_counts_every_racing_element():
    # The GEMM reads INP 4..7 (src 4 + i for i < 4); the load writes INP 2..9.
    insns = [load_uops(1), load_inp(2, 0, x_size=8, x_stride=8),
             GemmInsn(iter_in=4, src_factor_in=1, dst_factor_in=1)]
    report = check_tokens(make_view(insns, [Uop(dst=0, src=4, wgt=0)]))
    assert summary(report) == [(HazardKind.RAW, "INP", 4, 4, 1, 2)]


def test_raw_on_wgt_and_inp_without_tokens_and_fixed():
    insns = [load_uops(1), LoadInsn(memory_type=MemoryType.WGT, sram_base=3),
             load_inp(0, 0), GemmInsn()]
    uops = [Uop(dst=0, src=0, wgt=3)]
    assert summary(check_tokens(make_view(insns, uops))) == [
        (HazardKind.RAW, "INP", 0, 1, 2, 3), (HazardKind.RAW, "WGT", 3, 1, 1, 3)]
    # One token after both loads orders both writes before the GEMM.
    fixed = [insns[0], insns[1], load_inp(0, 0, push_next=True), GemmInsn(pop_prev=True)]
    assert check_tokens(make_view(fixed, uops)).ok


def test_reset_gemm_reads_no_inp():
    insns = [load_uops(1), load_inp(0, 0), GemmInsn(reset=True)]
    assert check_tokens(make_view(insns, [Uop()])).ok


def test_raw_on_out_between_alu_and_store():
    insns = [load_uops(1), AluInsn(use_imm=True, imm=5), StoreInsn(sram_base=3)]
    report = check_tokens(make_view(insns, [Uop(dst=3, src=3)]))
    assert summary(report) == [(HazardKind.RAW, "OUT", 3, 1, 1, 2)]
    assert report.hazards[0].first.mnemonic == "ALU ADD"
    assert report.hazards[0].second.module == Module.STORE


def test_alu_to_store_with_token_passes():
    insns = [load_uops(1), AluInsn(use_imm=True, imm=5, push_next=True),
             StoreInsn(sram_base=3, pop_prev=True)]
    assert check_tokens(make_view(insns, [Uop(dst=3, src=3)])).ok


def test_raw_on_out_between_gemm_and_store_and_war_after_it():
    # GEMM writes OUT 0..3, STORE reads OUT 0..3 without waiting; the second GEMM then
    # overwrites OUT 2 while the store may still read it. The shadow memory keeps the
    # last writer only, so OUT 2 is blamed on the second GEMM alone.
    insns = [load_uops(2),
             GemmInsn(uop_bgn=0, uop_end=1, iter_in=4, dst_factor_in=1, reset=True),
             StoreInsn(x_size=4, x_stride=4),
             GemmInsn(uop_bgn=1, uop_end=2, reset=True)]
    report = check_tokens(make_view(insns, [Uop(dst=0), Uop(dst=2)]))
    assert summary(report) == [(HazardKind.RAW, "OUT", 0, 3, 1, 2),
                               (HazardKind.WAR, "OUT", 2, 1, 2, 3)]


def test_gemm_store_gemm_with_tokens_passes():
    insns = [load_uops(2),
             GemmInsn(uop_bgn=0, uop_end=1, iter_in=4, dst_factor_in=1, reset=True,
                      push_next=True),
             StoreInsn(x_size=4, x_stride=4, pop_prev=True, push_prev=True),
             GemmInsn(uop_bgn=1, uop_end=2, reset=True, pop_next=True)]
    assert check_tokens(make_view(insns, [Uop(dst=0), Uop(dst=2)])).ok


def test_dram_raw_store_then_load_of_the_same_bytes():
    # STORE writes OUT elements 10, 11 = bytes [40, 48); LOAD INP reads element 11 =
    # bytes [44, 48).
    insns = [StoreInsn(dram_base=10, x_size=2, x_stride=2), load_inp(0, 11)]
    report = check_tokens(make_view(insns))
    assert summary(report) == [(HazardKind.RAW, "DRAM", 44, 4, 0, 1)]
    assert str(report.hazards[0]).startswith("RAW on DRAM byte 44 (4 bytes in all): "
                                             "instruction 0 (STORE OUT, store module) writes")


def test_dram_store_then_load_through_a_token_chain_passes():
    insns = [StoreInsn(dram_base=10, x_size=2, x_stride=2, push_prev=True),
             FinishInsn(pop_next=True, push_prev=True),  # store -> compute -> load
             load_inp(0, 11, pop_next=True)]
    assert check_tokens(make_view(insns)).ok


def test_dram_war_load_then_store():
    insns = [load_inp(0, 11), StoreInsn(dram_base=11)]
    assert summary(check_tokens(make_view(insns))) == [(HazardKind.WAR, "DRAM", 44, 4, 0, 1)]


def test_dram_hazard_with_a_compute_module_load():
    # LOAD UOP runs on compute; the STORE overwrites the micro-op it reads.
    insns = [load_uops(1), StoreInsn(dram_base=UOP_DRAM_BASE)]
    report = check_tokens(make_view(insns, [Uop()]))
    assert summary(report) == [(HazardKind.WAR, "DRAM", DATA_BYTES, 4, 0, 1)]


def test_strided_dram_accesses_compare_rows_not_hulls():
    # The store writes elements 0, 2, 4, 6 (bytes [0,4), [8,12), ...).
    store = StoreInsn(y_size=4, x_size=1, x_stride=2, dram_base=0)
    interleaved = load_inp(0, 1, y_size=4, x_size=1, x_stride=2)  # elements 1, 3, 5, 7
    assert check_tokens(make_view([store, interleaved])).ok
    shifted = load_inp(0, 2, y_size=4, x_size=1, x_stride=2)  # 2, 4, 6, 8: three shared
    assert summary(check_tokens(make_view([store, shifted]))) == [
        (HazardKind.RAW, "DRAM", 8, 12, 0, 1)]


def test_long_synchronised_stream_stays_clean():
    # 300 store -> compute -> load -> compute -> store round trips on the same bytes.
    insns = []
    for k in range(300):
        insns += [StoreInsn(dram_base=10, pop_prev=k > 0, push_prev=True),
                  FinishInsn(pop_next=True, push_prev=True),
                  load_inp(0, 10, pop_next=True, push_next=True),
                  FinishInsn(pop_prev=True, push_next=k < 299)]
    report = check_tokens(make_view(insns))
    assert report.ok, str(report)
    assert report.warnings == []


def test_race_with_an_old_access_survives_history_pruning():
    # The load module reads bytes [80, 84) once and never synchronises; meanwhile store
    # and compute ping-pong 300 times on bytes [40, 44); then a STORE writes [80, 84).
    insns = [load_inp(0, 20)]
    for k in range(300):
        insns += [StoreInsn(dram_base=10, pop_prev=k > 0, push_prev=True),
                  LoadInsn(memory_type=MemoryType.UOP, dram_base=10, pop_next=True,
                           push_next=True)]
    insns.append(StoreInsn(dram_base=20, pop_prev=True))
    report = check_tokens(make_view(insns))
    assert summary(report) == [(HazardKind.WAR, "DRAM", 80, 4, 0, len(insns) - 1)]


def test_sram_index_outside_the_buffer_is_an_error():
    depth = TINY.inp_depth
    insns = [load_uops(1), GemmInsn(iter_in=2, src_factor_in=depth - 1)]
    report = check_tokens(make_view(insns, [Uop(src=1)]))
    assert report.errors == [
        f"instruction 1 (GEMM): INP index {depth} is outside the INP buffer (depth "
        f"{depth}); hazard analysis ignores the indices outside"]


# ------------------------------------------------------------- bad inputs
def test_instructions_outside_the_pool_are_rejected():
    pool = np.zeros(64, dtype=np.uint8)
    with pytest.raises(ProgramViewError, match=r"instructions \[3, 5\).*64-byte"):
        ProgramView.from_pool(TINY, pool, 3, 2)


def test_pool_must_be_bytes():
    with pytest.raises(ProgramViewError, match="1-D np.uint8"):
        ProgramView.from_pool(TINY, np.zeros(64, dtype=np.int32), 0, 1)
    with pytest.raises(ProgramViewError, match="uop_dram"):
        ProgramView(TINY, [], uop_dram=[1, 2, 3])
