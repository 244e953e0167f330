"""Dependency-token checker for the concurrent three-module core.

The functional simulator runs a program in program order, so a program with wrong
dependency tokens still computes the right answer there -- and then hangs or races on
the card, where the load, compute and store modules run concurrently and are ordered
only by the tokens of four FIFO queues (docs/isa.md, "Modules and dependency tokens").
This module replays that concurrent machine statically and reports:

- deadlocks: every module with instructions left is blocked on an empty queue, either
  because no remaining instruction will ever push it or because of a cyclic wait;
- tokens still queued at the end (an unbalanced program; a warning);
- token flags that are not valid on the instruction's module;
- data races between modules on the shared SRAM buffers (INP, WGT: load writes, GEMM
  reads; OUT: GEMM/ALU write, STORE reads) and on DRAM bytes (any LOAD against any
  STORE of another module). Two accesses race when they are on different modules,
  overlap, at least one writes, and no chain of tokens orders them.

Happens-before is tracked with vector clocks of three entries (one per module): a
module's entry ticks once per instruction, a pushed token carries the pusher's clock
and a pop joins it into the popper's. Because each queue has a single producer and a
single consumer and pops block, which push a pop consumes does not depend on timing, so
one execution order (the one :func:`schedule_program` builds) decides every question.
SRAM races are found FastTrack-style with per-element shadow arrays (last writer and
each module's last read), vectorised per instruction. DRAM accesses are kept as a list
of byte intervals and compared with numpy; the list is pruned of accesses that every
other module has already synchronised past, so it stays short for well-tokenised
programs (worst case quadratic in the number of LOAD/STORE instructions).

The timing model (:mod:`canopy_mlir.runtime.timing`) uses the same scheduler.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum, StrEnum

import numpy as np

from canopy_mlir.hw import UOP_BYTES, HardwareConfig
from canopy_mlir.isa_format import (
    GemmInsn,
    Instruction,
    LoadInsn,
    LoopInstruction,
    MemInstruction,
    MemoryType,
    Module,
    StoreInsn,
    Uop,
    decode_instructions,
    decode_uop_fields,
    encode_uops,
)
from canopy_mlir.isa_semantics import (
    dram_elem_bytes,
    instruction_byte_range,
    instruction_range_error,
    launch_problems,
    loop_indices,
    mnemonic,
)

MAX_LISTED_HAZARDS = 20
"""How many hazards ``str(TokenReport)`` lists before summarising the rest."""
MAX_LISTED_TOKENS = 4
"""How many pushing instructions a leftover-token warning names per queue."""


class TokenError(ValueError):
    """A program whose dependency tokens deadlock, race or are invalid."""

    def __init__(self, message: str, report: TokenReport | None = None) -> None:
        super().__init__(message)
        self.report = report


class ProgramViewError(ValueError):
    """A program that cannot be read for analysis (bad pool, instructions outside it)."""


# ---------------------------------------------------------------- the program
@dataclass(frozen=True, eq=False)
class ProgramView:
    """A decoded program plus what is needed to resolve its micro-ops.

    ``uop_dram`` is where LOAD UOP instructions read micro-ops from: the whole device
    pool (a 1-D ``np.uint8`` array, as :meth:`from_pool` gives), a mapping from UOP DRAM
    element index (4-byte units from the pool base) to :class:`Uop`, or None. Micro-ops
    that cannot be resolved make the SRAM accesses of the GEMM/ALU instructions using
    them unknown; those are left out of the hazard analysis and the report says so.
    """

    config: HardwareConfig
    instructions: Sequence[Instruction]
    uop_dram: Mapping[int, Uop] | np.ndarray | None = None
    first_index: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "instructions", tuple(self.instructions))
        if isinstance(self.uop_dram, np.ndarray):
            _check_pool(self.uop_dram)
        elif self.uop_dram is not None and not isinstance(self.uop_dram, Mapping):
            raise ProgramViewError(
                "ProgramView.uop_dram must be the device pool (1-D np.uint8), a mapping "
                f"from UOP DRAM element index to Uop, or None; got {type(self.uop_dram)}"
            )

    @classmethod
    def from_pool(cls, config: HardwareConfig, pool: np.ndarray, insn_offset: int,
                  insn_count: int) -> ProgramView:
        """Decode ``insn_count`` instructions starting at 16-byte element ``insn_offset``.

        LOAD UOP instructions of the view read their micro-ops from the same pool.
        Messages count instructions from the start of the program (``first_index`` 0).
        """
        _check_pool(pool)
        problem = instruction_range_error(insn_offset, insn_count, pool.size)
        if problem:
            raise ProgramViewError(problem)
        first, end = instruction_byte_range(insn_offset, insn_count)
        instructions = decode_instructions(pool[first:end].tobytes(), config)
        return cls(config, instructions, pool, 0)

    @property
    def pool_bytes(self) -> int | None:
        """The pool size when the view has the pool (for DRAM range checks)."""
        return self.uop_dram.size if isinstance(self.uop_dram, np.ndarray) else None

    def describe(self, position: int) -> str:
        """``instruction 7 (GEMM)``: how messages name the instruction at ``position``."""
        insn = self.instructions[position]
        return f"instruction {self.first_index + position} ({mnemonic(insn)})"


def _check_pool(pool: np.ndarray) -> None:
    if pool.dtype != np.uint8 or pool.ndim != 1:
        raise ProgramViewError(
            f"the device pool must be a 1-D np.uint8 array, got dtype {pool.dtype} with "
            f"shape {pool.shape}"
        )


# ------------------------------------------------------------- token queues
class Queue(Enum):
    """The four token FIFOs, as (producer, consumer) modules."""

    LOAD_TO_COMPUTE = (Module.LOAD, Module.COMPUTE)
    COMPUTE_TO_LOAD = (Module.COMPUTE, Module.LOAD)
    COMPUTE_TO_STORE = (Module.COMPUTE, Module.STORE)
    STORE_TO_COMPUTE = (Module.STORE, Module.COMPUTE)

    @property
    def producer(self) -> Module:
        return self.value[0]

    @property
    def consumer(self) -> Module:
        return self.value[1]

    def __str__(self) -> str:
        return f"{module_name(self.producer)}->{module_name(self.consumer)}"


def module_name(module: Module) -> str:
    return Module(module).name.lower()


# Which queue each valid (module, flag) pair pops or pushes (docs/isa.md).
_POP_QUEUES = {
    (Module.LOAD, "pop_next"): Queue.COMPUTE_TO_LOAD,
    (Module.COMPUTE, "pop_prev"): Queue.LOAD_TO_COMPUTE,
    (Module.COMPUTE, "pop_next"): Queue.STORE_TO_COMPUTE,
    (Module.STORE, "pop_prev"): Queue.COMPUTE_TO_STORE,
}
_PUSH_QUEUES = {
    (Module.LOAD, "push_next"): Queue.LOAD_TO_COMPUTE,
    (Module.COMPUTE, "push_prev"): Queue.COMPUTE_TO_LOAD,
    (Module.COMPUTE, "push_next"): Queue.COMPUTE_TO_STORE,
    (Module.STORE, "push_prev"): Queue.STORE_TO_COMPUTE,
}


def token_queues(insn: Instruction) -> tuple[tuple[Queue, ...], tuple[Queue, ...]]:
    """The queues ``insn`` pops and pushes.

    Flags that are invalid on the module are ignored here, as the hardware modules do;
    the checker reports them separately.
    """
    module = insn.module

    def used(table: dict[tuple[Module, str], Queue]) -> tuple[Queue, ...]:
        return tuple(q for (m, flag), q in table.items() if m == module and getattr(insn, flag))

    return used(_POP_QUEUES), used(_PUSH_QUEUES)


# ----------------------------------------------------------------- scheduler
@dataclass(frozen=True)
class Step:
    """One instruction executed by the concurrent machine.

    ``popped`` pairs each queue the instruction popped with the position (in the
    program) of the instruction that pushed the consumed token.
    """

    position: int
    module: Module
    popped: tuple[tuple[Queue, int], ...]


class WaitReason(StrEnum):
    NEVER_PUSHED = "never pushed"
    CYCLIC_WAIT = "cyclic wait"
    BLOCKED_PRODUCER = "producer blocked"


@dataclass(frozen=True)
class BlockedModule:
    """A module stuck at ``index`` on the empty ``queues`` it must pop."""

    module: Module
    index: int
    mnemonic: str
    queues: tuple[Queue, ...]
    reason: WaitReason
    cycle: tuple[Module, ...] = ()

    def __str__(self) -> str:
        queues = " and ".join(str(q) for q in self.queues)
        head = (f"the {module_name(self.module)} module is blocked at instruction "
                f"{self.index} ({self.mnemonic}) popping {queues}")
        if self.reason is WaitReason.NEVER_PUSHED:
            return head + ", which no remaining instruction will ever push"
        producers = " and ".join(sorted({module_name(q.producer) for q in self.queues}))
        if self.reason is WaitReason.CYCLIC_WAIT:
            path = " -> ".join(module_name(m) for m in (*self.cycle, self.cycle[0]))
            return (f"{head}; the {producers} module would push it but waits itself "
                    f"(cyclic wait {path})")
        return f"{head}; the {producers} module would push it but is blocked itself"


@dataclass(frozen=True)
class Deadlock:
    """Every module with instructions left is blocked."""

    blocked: tuple[BlockedModule, ...]

    def __str__(self) -> str:
        return "deadlock: " + "; ".join(str(b) for b in self.blocked)


@dataclass(frozen=True)
class Schedule:
    """An execution order of a program that obeys the token rules.

    ``leftover`` names, per queue, the positions of the instructions whose pushed
    tokens were never popped.
    """

    steps: tuple[Step, ...]
    deadlock: Deadlock | None
    leftover: dict[Queue, tuple[int, ...]]


def schedule_program(instructions: Sequence[Instruction], first_index: int = 0) -> Schedule:
    """Run the three modules until all finish or all are blocked.

    Each module executes its instructions in program order; an instruction runs when
    every queue it pops holds a token (pops before, pushes after it). Queues are
    unbounded. The order chosen among runnable modules does not change which push each
    pop consumes, so the result is the same for every interleaving.
    """
    flags = [token_queues(insn) for insn in instructions]
    programs = {m: [p for p, insn in enumerate(instructions) if insn.module == m] for m in Module}
    cursor = dict.fromkeys(Module, 0)
    queues: dict[Queue, deque[int]] = {q: deque() for q in Queue}
    steps: list[Step] = []
    progress = True
    while progress:
        progress = False
        for module in Module:
            program = programs[module]
            while cursor[module] < len(program):
                position = program[cursor[module]]
                pops, pushes = flags[position]
                if not all(queues[q] for q in pops):
                    break
                popped = tuple((q, queues[q].popleft()) for q in pops)
                for q in pushes:
                    queues[q].append(position)
                steps.append(Step(position, module, popped))
                cursor[module] += 1
                progress = True
    stuck = {m: programs[m][cursor[m]] for m in Module if cursor[m] < len(programs[m])}
    deadlock = None
    if stuck:
        deadlock = _diagnose(instructions, first_index, flags, programs, cursor, queues, stuck)
    leftover = {q: tuple(tokens) for q, tokens in queues.items() if tokens}
    return Schedule(tuple(steps), deadlock, leftover)


def _diagnose(instructions, first_index, flags, programs, cursor, queues,
              stuck: dict[Module, int]) -> Deadlock:
    """Classify why each stuck module waits: a queue nobody will push, or a wait cycle."""

    def pending_pushes(queue: Queue) -> int:
        remaining = programs[queue.producer][cursor[queue.producer]:]
        return sum(queue in flags[p][1] for p in remaining)

    empty = {m: tuple(q for q in flags[p][0] if not queues[q]) for m, p in stuck.items()}
    starved = {m: tuple(q for q in qs if pending_pushes(q) == 0) for m, qs in empty.items()}
    waits_for = {m: {q.producer for q in qs} for m, qs in empty.items() if not starved[m]}
    blocked = []
    for module, position in stuck.items():
        queues_waited, reason, cycle = empty[module], WaitReason.BLOCKED_PRODUCER, ()
        if starved[module]:
            queues_waited, reason = starved[module], WaitReason.NEVER_PUSHED
        else:
            cycle = _find_cycle(module, waits_for)
            if cycle:
                reason = WaitReason.CYCLIC_WAIT
        blocked.append(BlockedModule(module, first_index + position,
                                     mnemonic(instructions[position]), queues_waited,
                                     reason, cycle))
    return Deadlock(tuple(blocked))


def _find_cycle(start: Module, waits_for: dict[Module, set[Module]]) -> tuple[Module, ...]:
    """A path of waits from ``start`` back to itself, or () if there is none."""

    def walk(path: tuple[Module, ...]) -> tuple[Module, ...]:
        for nxt in sorted(waits_for.get(path[-1], ())):
            if nxt == start:
                return path
            if nxt not in path:
                found = walk((*path, nxt))
                if found:
                    return found
        return ()

    return walk((start,))


# ------------------------------------------------------------------- hazards
class HazardKind(StrEnum):
    RAW = "RAW"
    WAR = "WAR"
    WAW = "WAW"


@dataclass(frozen=True)
class Access:
    """One side of a hazard: an instruction and what it did to the location."""

    index: int
    mnemonic: str
    module: Module
    writes: bool

    def __str__(self) -> str:
        verb = "writes" if self.writes else "reads"
        where = f"{self.mnemonic}, {module_name(self.module)} module"
        return f"instruction {self.index} ({where}) {verb}"


@dataclass(frozen=True)
class Hazard:
    """Two unordered accesses of different modules to the same location.

    ``first`` is the earlier instruction in program order, so ``kind`` is the
    dependency that program order intends and the tokens fail to enforce. ``address``
    is an example SRAM element index, or pool byte for ``buffer == "DRAM"``; ``count``
    is how many elements (bytes for DRAM) the two instructions were found to race on --
    for SRAM a lower bound, as the shadow memory remembers only the last writer.
    """

    kind: HazardKind
    buffer: str
    address: int
    count: int
    first: Access
    second: Access

    def __str__(self) -> str:
        unit = "byte" if self.buffer == "DRAM" else "element"
        where = f"{self.buffer} {unit} {self.address}"
        if self.count > 1:
            where += f" ({self.count} {unit}s in all)"
        return (f"{self.kind} on {where}: {self.first}, then {self.second}; "
                "no token chain orders them")


def _hazard_kind(first_writes: bool, second_writes: bool) -> HazardKind:
    if first_writes and second_writes:
        return HazardKind.WAW
    return HazardKind.RAW if first_writes else HazardKind.WAR


@dataclass(frozen=True)
class _Event:
    """An executing instruction: position, module, its tick and its vector clock."""

    position: int
    module: Module
    clock: np.ndarray

    @property
    def tick(self) -> int:
        return int(self.clock[self.module])


@dataclass(frozen=True)
class _Race:
    """A race found by a shadow, before it is named: the other access and the extent."""

    other_position: int
    other_writes: bool
    address: int
    count: int


class _SramShadow:
    """Per-element last writer and per-module last reader of one SRAM buffer."""

    def __init__(self, name: str, depth: int) -> None:
        self.name = name
        self.depth = depth
        self.writer_module = np.full(depth, -1, dtype=np.int64)
        self.writer_tick = np.zeros(depth, dtype=np.int64)
        self.writer_position = np.zeros(depth, dtype=np.int64)
        self.reader_tick = np.zeros((len(Module), depth), dtype=np.int64)
        self.reader_position = np.zeros((len(Module), depth), dtype=np.int64)

    def read(self, elements: np.ndarray, event: _Event) -> list[_Race]:
        races = self._against_writer(elements, event)
        self.reader_tick[event.module, elements] = event.tick
        self.reader_position[event.module, elements] = event.position
        return races

    def write(self, elements: np.ndarray, event: _Event) -> list[_Race]:
        races = self._against_writer(elements, event)
        for reader in Module:
            if reader == event.module:
                continue
            unordered = self.reader_tick[reader, elements] > event.clock[reader]
            races += _group(elements[unordered],
                            self.reader_position[reader, elements][unordered], other_writes=False)
        # Every earlier read is now ordered before this write or was just reported.
        self.reader_tick[:, elements] = 0
        self.writer_module[elements] = event.module
        self.writer_tick[elements] = event.tick
        self.writer_position[elements] = event.position
        return races

    def _against_writer(self, elements: np.ndarray, event: _Event) -> list[_Race]:
        """Races with the last writer of each element (RAW or WAW)."""
        writer = self.writer_module[elements]
        other = (writer >= 0) & (writer != event.module)
        known = event.clock[np.where(other, writer, 0)]
        unordered = other & (self.writer_tick[elements] > known)
        return _group(elements[unordered], self.writer_position[elements][unordered],
                      other_writes=True)


def _group(elements: np.ndarray, positions: np.ndarray, other_writes: bool) -> list[_Race]:
    """One race per other instruction, with its lowest element as the example."""
    if elements.size == 0:
        return []
    order = np.lexsort((elements, positions))
    unique, first, counts = np.unique(positions[order], return_index=True, return_counts=True)
    return [_Race(int(p), other_writes, int(elements[order][f]), int(c))
            for p, f, c in zip(unique, first, counts, strict=True)]


def _intervals(insn: MemInstruction, config: HardwareConfig) -> tuple[np.ndarray, np.ndarray]:
    """The disjoint, sorted ``[start, end)`` pool-byte intervals a LOAD/STORE touches."""
    elem = dram_elem_bytes(insn.memory_type, config)
    starts = (insn.dram_base + np.arange(insn.y_size, dtype=np.int64) * insn.x_stride) * elem
    ends = starts + insn.x_size * elem
    # Rows have equal lengths and ascending starts: merge each row into the previous
    # one when it starts before that one ends.
    breaks = starts[1:] > ends[:-1]
    return (starts[np.concatenate(([True], breaks))], ends[np.concatenate((breaks, [True]))])


def _covered_below(x: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Bytes of the disjoint sorted intervals that lie below each ``x``."""
    before = np.concatenate(([0], np.cumsum(ends - starts)))
    j = np.searchsorted(starts, x, side="right") - 1
    inside = np.clip(x - starts[np.maximum(j, 0)], 0, (ends - starts)[np.maximum(j, 0)])
    return np.where(j < 0, 0, before[np.maximum(j, 0)] + inside)


def _overlap(a: tuple[np.ndarray, np.ndarray],
             b: tuple[np.ndarray, np.ndarray]) -> tuple[int, int] | None:
    """(first common byte, common byte count) of two interval sets, or None."""
    per_interval = _covered_below(a[1], *b) - _covered_below(a[0], *b)
    hit = np.flatnonzero(per_interval)
    if hit.size == 0:
        return None
    start = a[0][hit[0]]
    first_b = np.searchsorted(b[1], start, side="right")
    return int(max(start, b[0][first_b])), int(per_interval.sum())


class _DramAccesses:
    """LOAD/STORE byte intervals that may still race with a later access."""

    def __init__(self) -> None:
        self.entries: list[tuple[_Event, bool, tuple[np.ndarray, np.ndarray]]] = []
        self.lo = np.zeros(0, dtype=np.int64)
        self.hi = np.zeros(0, dtype=np.int64)
        self.module = np.zeros(0, dtype=np.int64)
        self.tick = np.zeros(0, dtype=np.int64)
        self.writes = np.zeros(0, dtype=bool)
        self._kept_after_prune = 0

    def access(self, intervals: tuple[np.ndarray, np.ndarray], event: _Event,
               writes: bool) -> list[_Race]:
        lo, hi = int(intervals[0][0]), int(intervals[1][-1])
        candidates = np.flatnonzero(
            (self.lo < hi) & (self.hi > lo) & (self.module != event.module)
            & (self.writes | writes) & (self.tick > event.clock[self.module])
        )
        races = []
        for k in candidates:
            other, other_writes, other_intervals = self.entries[k]
            common = _overlap(intervals, other_intervals)
            if common is not None:
                races.append(_Race(other.position, other_writes, *common))
        self._append(intervals, event, writes, lo, hi)
        return races

    def _append(self, intervals, event: _Event, writes: bool, lo: int, hi: int) -> None:
        self.entries.append((event, writes, intervals))
        self.lo = np.append(self.lo, lo)
        self.hi = np.append(self.hi, hi)
        self.module = np.append(self.module, int(event.module))
        self.tick = np.append(self.tick, event.tick)
        self.writes = np.append(self.writes, writes)

    def prune(self, clocks: np.ndarray) -> None:
        """Drop accesses every other module has synchronised past (when the list doubled).

        ``clocks[k]`` is module k's current vector clock; an access (m, t) can no longer
        race once ``clocks[k][m] >= t`` for every module k != m, as clocks only grow.
        """
        if len(self.entries) < 2 * self._kept_after_prune + 64:
            return
        others = [[k for k in Module if k != m] for m in Module]
        horizon = np.array([clocks[o, m].min() for m, o in enumerate(others)])
        keep = self.tick > horizon[self.module]
        self.entries = [e for e, k in zip(self.entries, keep, strict=True) if k]
        for name in ("lo", "hi", "module", "tick", "writes"):
            setattr(self, name, getattr(self, name)[keep])
        self._kept_after_prune = len(self.entries)


# ------------------------------------------------------------------ micro-ops
class _UopTable:
    """The UOP SRAM as the compute module fills it, LOAD UOP by LOAD UOP.

    SRAM starts zero at every launch, so unloaded entries are known zero micro-ops;
    entries loaded from a source that cannot provide them are unknown.
    """

    def __init__(self, view: ProgramView) -> None:
        depth = view.config.uop_depth
        self.config = view.config
        self.source = view.uop_dram
        self.dst = np.zeros(depth, dtype=np.int64)
        self.src = np.zeros(depth, dtype=np.int64)
        self.wgt = np.zeros(depth, dtype=np.int64)
        self.known = np.ones(depth, dtype=bool)

    def load(self, insn: LoadInsn) -> None:
        """Execute a (valid) LOAD UOP: copy its window from DRAM into the table."""
        if insn.is_token_only:
            return
        y = np.arange(insn.y_size, dtype=np.int64)[:, None]
        x = np.arange(insn.x_size, dtype=np.int64)[None, :]
        slots = (insn.sram_base + y * insn.x_size + x).reshape(-1)
        elements = (insn.dram_base + y * insn.x_stride + x).reshape(-1)
        words, known = self._read(elements)
        columns = decode_uop_fields(words, self.config)
        self.dst[slots], self.src[slots], self.wgt[slots] = (
            columns["dst"], columns["src"], columns["wgt"])
        self.known[slots] = known

    def _read(self, elements: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Micro-op words at DRAM ``elements`` and which of them the source provides."""
        words = np.zeros(elements.size, dtype=np.uint32)
        if isinstance(self.source, np.ndarray):
            known = (elements + 1) * UOP_BYTES <= self.source.size
            byte_index = elements[known, None] * UOP_BYTES + np.arange(UOP_BYTES)
            raw = np.ascontiguousarray(self.source[byte_index])
            words[known] = raw.view("<u4").reshape(-1)
            return words, known
        known = np.zeros(elements.size, dtype=bool)
        if isinstance(self.source, Mapping):
            for n, element in enumerate(elements.tolist()):
                uop = self.source.get(element)
                if uop is not None:
                    words[n] = encode_uops([uop], self.config)[0]
                    known[n] = True
        return words, known

    def resolves(self, insn: LoopInstruction) -> bool:
        return bool(self.known[insn.uop_bgn:insn.uop_end].all())


# ------------------------------------------------------------------- report
@dataclass
class TokenReport:
    """What :func:`check_tokens` found. ``ok`` when there are no errors and no hazards.

    Warnings (tokens left in queues) and notes (limits of the analysis) do not fail it.
    """

    instruction_count: int
    module_counts: dict[Module, int]
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    hazards: list[Hazard] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    deadlock: Deadlock | None = None
    leftover_tokens: dict[Queue, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.hazards

    def raise_if_failed(self) -> None:
        if not self.ok:
            raise TokenError(str(self), report=self)

    def __str__(self) -> str:
        counts = ", ".join(f"{module_name(m)} {n}" for m, n in self.module_counts.items())
        verdict = "passed" if self.ok else "FAILED"
        lines = [
            f"token check {verdict}: {len(self.errors)} error(s), {len(self.hazards)} "
            f"hazard(s), {len(self.warnings)} warning(s) in {self.instruction_count} "
            f"instructions ({counts})"
        ]
        sections = (("errors", self.errors),
                    ("hazards", [str(h) for h in self.hazards[:MAX_LISTED_HAZARDS]]),
                    ("warnings", self.warnings), ("notes", self.notes))
        for title, items in sections:
            if items:
                lines.append(f"{title}:")
                lines += [f"  - {item}" for item in items]
        if len(self.hazards) > MAX_LISTED_HAZARDS:
            lines.append(f"  ... and {len(self.hazards) - MAX_LISTED_HAZARDS} more hazards")
        return "\n".join(lines)


# ------------------------------------------------------------------ checker
_SHARED_SRAM = ("INP", "WGT", "OUT")


class _Checker:
    """Replays one schedule with vector clocks and shadow memories."""

    def __init__(self, view: ProgramView) -> None:
        self.view = view
        self.config = view.config
        counts = {m: sum(i.module == m for i in view.instructions) for m in Module}
        self.report = TokenReport(len(view.instructions), counts)
        self.shadows = {name: _SramShadow(name, view.config.depths()[name])
                        for name in _SHARED_SRAM}
        self.dram = _DramAccesses()
        self.uops = _UopTable(view)
        self.unresolved_loops = 0
        self.invalid: set[int] = set()

    def run(self) -> TokenReport:
        self._check_instructions()
        schedule = schedule_program(self.view.instructions, self.view.first_index)
        self._replay(schedule)
        self._report_schedule(schedule)
        self._report_limits()
        return self.report

    def _check_instructions(self) -> None:
        pool_bytes = self.view.pool_bytes
        for position, insn in enumerate(self.view.instructions):
            problems = launch_problems(insn, self.config, pool_bytes)
            if problems:
                self.invalid.add(position)
                self.report.errors.append(f"{self.view.describe(position)}: " + "; ".join(problems))

    def _replay(self, schedule: Schedule) -> None:
        n = len(self.view.instructions)
        clocks = np.zeros((len(Module), len(Module)), dtype=np.int64)
        pushed_clock = np.zeros((n, len(Module)), dtype=np.int64)
        for step in schedule.steps:
            clock = clocks[step.module]
            for _, pusher in step.popped:
                np.maximum(clock, pushed_clock[pusher], out=clock)
            clock[step.module] += 1
            pushed_clock[step.position] = clock
            if step.position not in self.invalid:
                event = _Event(step.position, step.module, clock.copy())
                self._execute(self.view.instructions[step.position], event)
            self.dram.prune(clocks)

    # ----------------------------------------------------- data accesses
    def _execute(self, insn: Instruction, event: _Event) -> None:
        if isinstance(insn, MemInstruction):
            self._mem_access(insn, event)
        elif isinstance(insn, LoopInstruction):
            self._loop_access(insn, event)

    def _mem_access(self, insn: MemInstruction, event: _Event) -> None:
        if insn.is_token_only:
            return
        is_store = isinstance(insn, StoreInsn)
        self._note(event, self.dram.access(_intervals(insn, self.config), event, writes=is_store),
                   "DRAM", writes=is_store)
        window = np.arange(insn.sram_base, insn.sram_base + insn.sram_extent, dtype=np.int64)
        memory = MemoryType(insn.memory_type)
        if is_store:
            self._sram(event, "OUT", window, writes=False)
        elif memory in (MemoryType.INP, MemoryType.WGT):
            self._sram(event, memory.name, window, writes=True)
        elif memory == MemoryType.UOP:
            self.uops.load(insn)

    def _loop_access(self, insn: LoopInstruction, event: _Event) -> None:
        if not self.uops.resolves(insn):
            self.unresolved_loops += 1
            return
        indices = loop_indices(insn, self.uops.dst, self.uops.src, self.uops.wgt)
        if isinstance(insn, GemmInsn) and not insn.reset:
            self._sram(event, "INP", indices.src, writes=False)
            self._sram(event, "WGT", indices.wgt, writes=False)
        self._sram(event, "OUT", indices.dst, writes=True)

    def _sram(self, event: _Event, buffer: str, elements: np.ndarray, writes: bool) -> None:
        shadow = self.shadows[buffer]
        elements = np.unique(elements)
        outside = elements >= shadow.depth
        if outside.any():
            self.report.errors.append(
                f"{self.view.describe(event.position)}: {buffer} index "
                f"{int(elements[outside][0])} is outside the {buffer} buffer (depth "
                f"{shadow.depth}); hazard analysis ignores the indices outside"
            )
            elements = elements[~outside]
        races = shadow.write(elements, event) if writes else shadow.read(elements, event)
        self._note(event, races, buffer, writes)

    def _note(self, event: _Event, races: list[_Race], buffer: str, writes: bool) -> None:
        """Turn races into hazards named in program order."""
        for race in races:
            here = self._access(event.position, writes)
            there = self._access(race.other_position, race.other_writes)
            first, second = (there, here) if race.other_position < event.position else (here, there)
            self.report.hazards.append(Hazard(_hazard_kind(first.writes, second.writes), buffer,
                                              race.address, race.count, first, second))

    def _access(self, position: int, writes: bool) -> Access:
        insn = self.view.instructions[position]
        return Access(self.view.first_index + position, mnemonic(insn), insn.module, writes)

    # ------------------------------------------------------------ summary
    def _report_schedule(self, schedule: Schedule) -> None:
        if schedule.deadlock is not None:
            self.report.deadlock = schedule.deadlock
            self.report.errors += [f"deadlock: {b}" for b in schedule.deadlock.blocked]
        for queue, pushers in schedule.leftover.items():
            self.report.leftover_tokens[queue] = len(pushers)
            named = ", ".join(self.view.describe(p) for p in pushers[:MAX_LISTED_TOKENS])
            hidden = len(pushers) - MAX_LISTED_TOKENS
            more = f" and {hidden} more" if hidden > 0 else ""
            self.report.warnings.append(
                f"{len(pushers)} token(s) left in the {queue} queue at the end, pushed by "
                f"{named}{more}: pushes and pops of this queue are unbalanced"
            )

    def _report_limits(self) -> None:
        if self.unresolved_loops:
            why = ("no micro-op source was given" if self.view.uop_dram is None
                   else "their micro-ops were loaded from DRAM the view does not provide")
            self.report.notes.append(
                f"{self.unresolved_loops} GEMM/ALU instruction(s) were left out of the SRAM "
                f"hazard analysis (INP, WGT, OUT): {why}"
            )
        if self.invalid:
            self.report.notes.append(
                f"{len(self.invalid)} invalid instruction(s) were left out of the hazard "
                "analysis (their tokens were still followed)"
            )


def check_tokens(view: ProgramView) -> TokenReport:
    """Check a program's dependency tokens on the concurrent machine (module docstring)."""
    return _Checker(view).run()


__all__ = [
    "Access",
    "BlockedModule",
    "Deadlock",
    "Hazard",
    "HazardKind",
    "ProgramView",
    "ProgramViewError",
    "Queue",
    "Schedule",
    "Step",
    "TokenError",
    "TokenReport",
    "WaitReason",
    "check_tokens",
    "schedule_program",
    "token_queues",
]
