"""Cycle-level timing model of the three-module accelerator core.

Every instruction has a fixed cost derived from the :class:`HardwareConfig` only:

- LOAD/STORE: ``dram_latency_cycles`` + ``ceil(row_bytes / dram_bytes_per_cycle)`` per
  DRAM row + one cycle per padding element zero-filled into SRAM; a token-only copy
  (``x_size`` or ``y_size`` 0) costs :data:`TOKEN_ONLY_MEM_CYCLES`.
- GEMM: one cycle per micro-op step (``iter_out * iter_in * (uop_end - uop_bgn)``,
  reset steps included) + :data:`GEMM_OVERHEAD_CYCLES`.
- ALU: :data:`ALU_CYCLES_PER_STEP` per step (read, then write back) +
  :data:`ALU_OVERHEAD_CYCLES`.
- FINISH: :data:`FINISH_CYCLES`.

The load, compute and store modules each execute their own instructions in program
order and overlap only as the dependency tokens allow: an instruction starts at the
later of the time its module becomes free and the time each token it pops became
available; a pushed token becomes available when its pushing instruction ends. Each
module has its own DRAM port with the full ``dram_bytes_per_cycle`` (as each of VTA's
modules has its own AXI master), so concurrent LOADs and STOREs do not contend for
bandwidth. Which push each pop consumes comes from the token checker's scheduler
(:func:`~canopy_mlir.runtime.token_checker.schedule_program`); a program that
deadlocks raises :class:`~canopy_mlir.runtime.token_checker.TokenError`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from canopy_mlir.hw import HardwareConfig
from canopy_mlir.isa_format import (
    AluInsn,
    FinishInsn,
    GemmInsn,
    Instruction,
    LoadInsn,
    MemInstruction,
    Module,
    StoreInsn,
)
from canopy_mlir.isa_semantics import check_instruction, dram_elem_bytes
from canopy_mlir.runtime.token_checker import (
    ProgramView,
    TokenError,
    module_name,
    schedule_program,
)

GEMM_OVERHEAD_CYCLES = 4
"""Fixed cost of issuing a GEMM: decode, loop setup and draining the MAC pipeline."""
ALU_OVERHEAD_CYCLES = 4
"""Fixed cost of issuing an ALU instruction."""
ALU_CYCLES_PER_STEP = 2
"""An ALU step reads two accumulator tiles and writes one back: two cycles."""
FINISH_CYCLES = 1
TOKEN_ONLY_MEM_CYCLES = 1
"""A LOAD/STORE that moves nothing only passes its tokens."""


def mem_cycles(insn: MemInstruction, config: HardwareConfig) -> int:
    """DRAM latency + bus beats of every row + one cycle per zero-filled pad element."""
    if insn.is_token_only:
        return TOKEN_ONLY_MEM_CYCLES
    row_bytes = insn.x_size * dram_elem_bytes(insn.memory_type, config)
    beats_per_row = -(-row_bytes // config.dram_bytes_per_cycle)
    padding = insn.sram_extent - insn.x_size * insn.y_size
    return config.dram_latency_cycles + insn.y_size * beats_per_row + padding


def instruction_cycles(insn: Instruction, config: HardwareConfig) -> int:
    """The cycles ``insn`` keeps its module busy (module docstring)."""
    if isinstance(insn, MemInstruction):
        return mem_cycles(insn, config)
    if isinstance(insn, GemmInsn):
        return insn.steps + GEMM_OVERHEAD_CYCLES
    if isinstance(insn, AluInsn):
        return ALU_CYCLES_PER_STEP * insn.steps + ALU_OVERHEAD_CYCLES
    if isinstance(insn, FinishInsn):
        return FINISH_CYCLES
    raise TypeError(f"no timing for instruction type {type(insn).__name__}")


def dram_bytes(insn: MemInstruction, config: HardwareConfig) -> int:
    """Bytes a LOAD/STORE moves over DRAM (padding is generated, not read)."""
    return insn.x_size * insn.y_size * dram_elem_bytes(insn.memory_type, config)


@dataclass(frozen=True, eq=False)
class TimingReport:
    """Estimated execution of one program on the concurrent core.

    ``busy_cycles`` is, per module, the sum of its instructions' costs (time not spent
    waiting on tokens). ``gemm_utilization`` is the fraction of all cycles in which the
    MAC array does useful work (non-reset GEMM steps / total_cycles).
    ``start_cycles``/``end_cycles`` give each instruction's interval, by position.
    """

    config: HardwareConfig = field(repr=False)
    total_cycles: int
    busy_cycles: dict[Module, int]
    gemm_steps: int
    gemm_cycles: int
    alu_cycles: int
    load_dram_bytes: int
    store_dram_bytes: int
    start_cycles: np.ndarray = field(repr=False)
    end_cycles: np.ndarray = field(repr=False)

    @property
    def macs(self) -> int:
        return self.gemm_steps * self.config.macs_per_gemm_uop

    @property
    def gemm_utilization(self) -> float:
        return self.gemm_steps / self.total_cycles if self.total_cycles else 0.0

    @property
    def seconds(self) -> float:
        return self.total_cycles / (self.config.clock_mhz * 1e6)

    def __str__(self) -> str:
        def share(cycles: int) -> str:
            return f"{100 * cycles / self.total_cycles:.1f}%" if self.total_cycles else "-"

        busy = ", ".join(f"{module_name(m)} {c} ({share(c)})" for m, c in self.busy_cycles.items())
        return "\n".join([
            f"timing estimate on '{self.config.name}' at {self.config.clock_mhz:g} MHz: "
            f"{self.total_cycles} cycles = {self.seconds * 1e6:.3f} us",
            f"  busy cycles: {busy}",
            f"  GEMM: {self.gemm_steps} useful steps ({self.macs} MACs) in "
            f"{self.gemm_cycles} cycles; MAC array utilization {100 * self.gemm_utilization:.1f}%",
            f"  ALU: {self.alu_cycles} cycles",
            f"  DRAM: {self.load_dram_bytes} bytes loaded, {self.store_dram_bytes} bytes stored",
        ])


def estimate_cycles(view: ProgramView) -> TimingReport:
    """Time ``view``'s program on the concurrent core (module docstring for the model).

    Raises :class:`~canopy_mlir.isa_semantics.IsaError` for an invalid instruction and
    :class:`TokenError` when the tokens deadlock.
    """
    config, instructions = view.config, view.instructions
    for position, insn in enumerate(instructions):
        check_instruction(insn, config, view.first_index + position)
    schedule = schedule_program(instructions, view.first_index)
    if schedule.deadlock is not None:
        raise TokenError(f"cannot time a program whose tokens deadlock: {schedule.deadlock}")
    cost = np.array([instruction_cycles(i, config) for i in instructions], dtype=np.int64)
    start = np.zeros(len(instructions), dtype=np.int64)
    end = np.zeros(len(instructions), dtype=np.int64)
    module_free = dict.fromkeys(Module, 0)
    for step in schedule.steps:
        ready = [module_free[step.module]] + [int(end[pusher]) for _, pusher in step.popped]
        start[step.position] = max(ready)
        end[step.position] = start[step.position] + cost[step.position]
        module_free[step.module] = int(end[step.position])
    return _summarise(view, cost, start, end)


def _summarise(view: ProgramView, cost: np.ndarray, start: np.ndarray,
               end: np.ndarray) -> TimingReport:
    config, instructions = view.config, view.instructions
    modules = np.array([int(i.module) for i in instructions], dtype=np.int64)
    gemm = [p for p, i in enumerate(instructions) if isinstance(i, GemmInsn)]
    alu = [p for p, i in enumerate(instructions) if isinstance(i, AluInsn)]
    return TimingReport(
        config=config,
        total_cycles=int(end.max()) if len(instructions) else 0,
        busy_cycles={m: int(cost[modules == m].sum()) for m in Module},
        gemm_steps=sum(instructions[p].steps for p in gemm if not instructions[p].reset),
        gemm_cycles=int(cost[gemm].sum()),
        alu_cycles=int(cost[alu].sum()),
        load_dram_bytes=sum(dram_bytes(i, config) for i in instructions if isinstance(i, LoadInsn)),
        store_dram_bytes=sum(dram_bytes(i, config) for i in instructions
                             if isinstance(i, StoreInsn)),
        start_cycles=start,
        end_cycles=end,
    )


__all__ = [
    "ALU_CYCLES_PER_STEP",
    "ALU_OVERHEAD_CYCLES",
    "FINISH_CYCLES",
    "GEMM_OVERHEAD_CYCLES",
    "TOKEN_ONLY_MEM_CYCLES",
    "TimingReport",
    "dram_bytes",
    "estimate_cycles",
    "instruction_cycles",
    "mem_cycles",
]
