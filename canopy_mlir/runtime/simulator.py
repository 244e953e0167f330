"""The bit-exact functional reference simulator of the accelerator core.

This module *defines* the semantics of docs/isa.md: the OpenCL core and every compiler
test are checked against it. It runs a program straight from a device memory pool (the
same byte array the card runtime hands to the core), in program order, with token flags
ignored (they only matter to the concurrent three-module machine).

Every instruction is executed with whole-array numpy operations, never a Python loop per
element or per multiply-accumulate, so that real layers simulate in well under a second:

* LOAD/STORE are 2-D strided views of the pool copied in one assignment.
* GEMM computes every step's ``inp[src] @ wgt[wgt].T`` exactly, grouped by weight tile so
  that each group is one BLAS call, and scatter-adds the products into ACC modulo 2**32
  (addition modulo 2**32 commutes, so the order of the steps does not matter).
* ALU steps must behave as if run one after the other. They are applied in one vector
  operation when that is provably equivalent, with ``ufunc.at`` when only repeated
  destinations stand in the way, and otherwise in the longest conflict-free runs of steps.

Before anything executes, the whole program is decoded and checked (well-formedness via
:mod:`canopy_mlir.isa_semantics`, DRAM ranges against the pool), so a malformed program
never writes a byte of the pool. SRAM indices of GEMM/ALU steps depend on the micro-ops
loaded at run time and are checked when the instruction executes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np

from canopy_mlir.alu_semantics import shift as _shift
from canopy_mlir.alu_semantics import wrap32 as _wrap32
from canopy_mlir.hw import HardwareConfig
from canopy_mlir.isa_format import (
    AluInsn,
    AluOpcode,
    GemmInsn,
    Instruction,
    LoadInsn,
    LoopInstruction,
    MemInstruction,
    MemoryType,
    StoreInsn,
    decode_uop_fields,
)
from canopy_mlir.isa_semantics import (
    IsaError,
    LoopIndices,
    dram_elem_bytes,
    decode_launch,
    instruction_byte_range,
    instruction_range_error,
    loop_indices,
    mnemonic,
)

INSN_WORDS = 2
"""An instruction is two little-endian uint64 words."""

_GEMM_CHUNK_BYTES = 1 << 25
"""Working-set budget of one GEMM chunk: bounds memory for loops of millions of steps."""



class SimulationError(RuntimeError):
    """A program the simulator cannot run: malformed, out of range, or undefined result.

    ``index`` is the absolute instruction index in the pool's instruction array and
    ``mnemonic`` the instruction's name (``LOAD INP``, ``ALU SHR``...); both are None for
    errors that concern no single instruction (a bad pool, an instruction range outside it).
    """

    def __init__(self, message: str, *, index: int | None = None,
                 mnemonic: str | None = None) -> None:
        super().__init__(message)
        self.index = index
        self.mnemonic = mnemonic

    @classmethod
    def at(cls, index: int, name: str, problem: str) -> SimulationError:
        return cls(f"instruction {index} ({name}): {problem}", index=index, mnemonic=name)


class _Fault(Exception):
    """A problem found while executing one instruction; ``Simulator.run`` says which."""


# ---------------------------------------------------------------------------- state
@dataclass
class SramState:
    """The core's on-chip buffers (what a run leaves behind), shaped from the config.

    ``out_poisoned[i]`` is True while ``out[i]`` holds no defined value: its last write
    came from a reset, after which the hardware leaves the OUT element unspecified.
    """

    uop: np.ndarray
    inp: np.ndarray
    wgt: np.ndarray
    acc: np.ndarray
    out: np.ndarray
    out_poisoned: np.ndarray

    @classmethod
    def zeros(cls, config: HardwareConfig) -> SramState:
        """All buffers zero and nothing poisoned: the state every launch starts from."""
        batch, block_in, block_out = config.batch, config.block_in, config.block_out
        return cls(
            uop=np.zeros(config.uop_depth, dtype=np.uint32),
            inp=np.zeros((config.inp_depth, batch, block_in), dtype=np.int8),
            wgt=np.zeros((config.wgt_depth, block_out, block_in), dtype=np.int8),
            acc=np.zeros((config.acc_depth, batch, block_out), dtype=np.int32),
            out=np.zeros((config.out_depth, batch, block_out), dtype=np.int8),
            out_poisoned=np.zeros(config.out_depth, dtype=bool),
        )


@dataclass
class RunStats:
    """Counters of one run.

    ``gemm_steps``/``alu_steps`` count micro-op executions, reset steps included;
    ``macs`` counts multiply-accumulates of non-reset GEMM steps
    (BATCH x BLOCK_IN x BLOCK_OUT each). DRAM bytes count LOAD/STORE data only (padding
    and instruction fetch excluded).
    """

    instructions: int = 0
    gemm_steps: int = 0
    alu_steps: int = 0
    macs: int = 0
    dram_bytes_read: int = 0
    dram_bytes_written: int = 0


# ------------------------------------------------------------------------ simulator
class Simulator:
    """Runs programs of one device memory pool; STORE writes into ``pool`` in place."""

    def __init__(self, config: HardwareConfig, pool: np.ndarray) -> None:
        self.config = config
        self.pool = _checked_pool(pool)
        self.state = SramState.zeros(config)

    def run(self, insn_offset: int, insn_count: int) -> RunStats:
        """Execute instructions ``[insn_offset, insn_offset + insn_count)`` of the pool.

        Indices count 16-byte instructions from the pool's base. SRAM starts zeroed;
        afterwards ``self.state`` holds the final buffers (after a
        :class:`SimulationError` raised during execution, the buffers as they were when
        the failing instruction started, for debugging).
        """
        program = self._fetch_program(insn_offset, insn_count)
        self.state = SramState.zeros(self.config)
        launch = _Launch(self.config, self.pool, self.state)
        for index, insn in program:
            try:
                launch.execute(insn)
            except _Fault as fault:
                raise SimulationError.at(index, mnemonic(insn), str(fault)) from None
        return launch.stats

    def _fetch_program(self, insn_offset: int, insn_count: int) -> list[tuple[int, Instruction]]:
        """Decode and statically check the whole program before anything runs."""
        problem = instruction_range_error(insn_offset, insn_count, self.pool.size)
        if problem:
            raise SimulationError(problem)
        first, end = instruction_byte_range(insn_offset, insn_count)
        words = np.frombuffer(self.pool[first:end].tobytes(), dtype="<u8").reshape(-1, INSN_WORDS)
        try:
            insns = decode_launch(words, self.config, self.pool.size, insn_offset)
        except IsaError as err:
            raise SimulationError(str(err), index=err.index, mnemonic=err.mnemonic) from err
        return list(enumerate(insns, start=insn_offset))


def simulate(config: HardwareConfig, pool: np.ndarray, insn_offset: int,
             insn_count: int) -> SramState:
    """Run one program and return the final SRAM state (the pool is updated in place)."""
    simulator = Simulator(config, pool)
    simulator.run(insn_offset, insn_count)
    return simulator.state


def _checked_pool(pool: np.ndarray) -> np.ndarray:
    """The pool must be one contiguous byte array: DRAM views are strided views of it."""
    if not isinstance(pool, np.ndarray) or pool.dtype != np.uint8 or pool.ndim != 1:
        described = (f"{pool.dtype} array of shape {pool.shape}"
                     if isinstance(pool, np.ndarray) else type(pool).__name__)
        raise SimulationError(f"the device pool must be a 1-D numpy uint8 array, got {described}")
    if not pool.flags.c_contiguous:
        raise SimulationError("the device pool must be a contiguous array (got a strided view)")
    return pool


# --------------------------------------------------------------------------- launch
class _Launch:
    """The execution of one program: SRAM state, counters and the decoded micro-ops."""

    def __init__(self, config: HardwareConfig, pool: np.ndarray, state: SramState) -> None:
        self.config = config
        self.pool = pool
        self.state = state
        self.stats = RunStats()
        self._uop_fields: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
        self._float = _exact_float_dtype(config)
        step_bytes = config.batch * (config.block_in + 2 * config.block_out) * 8
        self._gemm_chunk_steps = max(1, _GEMM_CHUNK_BYTES // step_bytes)

    def execute(self, insn: Instruction) -> None:
        self.stats.instructions += 1
        if isinstance(insn, LoadInsn):
            self._load(insn)
        elif isinstance(insn, StoreInsn):
            self._store(insn)
        elif isinstance(insn, GemmInsn):
            self._gemm(insn)
        elif isinstance(insn, AluInsn):
            self._alu(insn)
        # FINISH carries tokens only.

    # ------------------------------------------------------------- LOAD/STORE
    def _load(self, insn: LoadInsn) -> None:
        if insn.is_token_only:
            return
        memory = MemoryType(insn.memory_type)
        elem_bytes = dram_elem_bytes(memory, self.config)
        raw = self._dram_window(insn, elem_bytes, writeable=False).copy()
        buffer = self._load_target(memory)
        tiles = _decode_tiles(raw, memory, buffer.shape[1:])
        window = buffer[insn.sram_base:insn.sram_base + insn.sram_extent]
        window = window.reshape(insn.rows, insn.row_width, *buffer.shape[1:])
        if insn.rows != insn.y_size or insn.row_width != insn.x_size:
            window[...] = 0  # padding (INP only; checked statically)
        window[insn.y_pad0:insn.y_pad0 + insn.y_size,
               insn.x_pad0:insn.x_pad0 + insn.x_size] = tiles
        if memory == MemoryType.UOP:
            self._uop_fields = None
        self.stats.dram_bytes_read += raw.nbytes

    def _load_target(self, memory: MemoryType) -> np.ndarray:
        return {
            MemoryType.UOP: self.state.uop,
            MemoryType.WGT: self.state.wgt,
            MemoryType.INP: self.state.inp,
            MemoryType.ACC: self.state.acc,
            MemoryType.ACC_8BIT: self.state.acc,
        }[memory]

    def _store(self, insn: StoreInsn) -> None:
        if insn.is_token_only:
            return
        count = insn.y_size * insn.x_size
        window = slice(insn.sram_base, insn.sram_base + count)
        poisoned = np.flatnonzero(self.state.out_poisoned[window])
        if poisoned.size:
            raise _Fault(
                f"reads OUT[{insn.sram_base + int(poisoned[0])}] ({poisoned.size} poisoned "
                "element(s) in its window), whose value is unspecified: its last write was "
                "a reset (GEMM/ALU with reset = 1)"
            )
        if not self.pool.flags.writeable:
            raise _Fault("the device pool is read-only, so STORE cannot write it")
        elem_bytes = dram_elem_bytes(MemoryType.OUT, self.config)
        tiles = self.state.out[window].view(np.uint8).reshape(insn.y_size, insn.x_size,
                                                               elem_bytes)
        self._dram_window(insn, elem_bytes, writeable=True)[...] = tiles
        self.stats.dram_bytes_written += tiles.nbytes

    def _dram_window(self, insn: MemInstruction, elem_bytes: int,
                     writeable: bool) -> np.ndarray:
        """A ``(y_size, x_size, elem_bytes)`` byte view of the pool (range checked upfront)."""
        first = insn.dram_base * elem_bytes
        return np.lib.stride_tricks.as_strided(
            self.pool[first:],
            shape=(insn.y_size, insn.x_size, elem_bytes),
            strides=(insn.x_stride * elem_bytes, elem_bytes, 1),
            writeable=writeable,
        )

    # ------------------------------------------------------------------- GEMM
    def _gemm(self, insn: GemmInsn) -> None:
        steps = self._loop_steps(insn)
        n = steps.dst.size
        self.stats.gemm_steps += n
        self._check_indices(insn, steps.dst, "ACC", "dst")
        if insn.reset:
            self._reset(steps.dst)
            return
        self._check_indices(insn, steps.src, "INP", "src")
        self._check_indices(insn, steps.wgt, "WGT", "wgt")
        chunk = self._gemm_chunk_steps
        for start in range(0, n, chunk):
            part = slice(start, start + chunk)
            self._gemm_accumulate(steps.dst[part], steps.src[part], steps.wgt[part])
        self._mirror_out(np.unique(steps.dst))
        self.stats.macs += n * self.config.macs_per_gemm_uop

    def _gemm_accumulate(self, dst: np.ndarray, src: np.ndarray, wgt: np.ndarray) -> None:
        """``acc[dst] += inp[src] @ wgt[wgt].T`` for every step, modulo 2**32.

        Steps are grouped by weight tile so each group is one exact floating-point
        matrix product (see ``_exact_float_dtype``); repeated destinations are summed by
        ``np.add.at`` on the unsigned view, which wraps like the hardware.
        """
        batch, block_in, block_out = self.config.batch, self.config.block_in, self.config.block_out
        order = np.argsort(wgt, kind="stable")
        tiles = wgt[order]
        starts = np.flatnonzero(np.r_[True, tiles[1:] != tiles[:-1]])
        ends = np.r_[starts[1:], tiles.size]
        inputs = self.state.inp[src[order]].astype(self._float).reshape(-1, block_in)
        weights = self.state.wgt[tiles[starts]].astype(self._float)
        products = np.empty((inputs.shape[0], block_out), dtype=self._float)
        for group, (first, end) in enumerate(zip(starts, ends, strict=True)):
            rows = slice(first * batch, end * batch)
            np.matmul(inputs[rows], weights[group].T, out=products[rows])
        exact = products.astype(np.int32).reshape(-1, batch, block_out)
        np.add.at(self.state.acc.view(np.uint32), dst[order], exact.view(np.uint32))

    # -------------------------------------------------------------------- ALU
    def _alu(self, insn: AluInsn) -> None:
        steps = self._loop_steps(insn)
        self.stats.alu_steps += steps.dst.size
        self._check_indices(insn, steps.dst, "ACC", "dst")
        if insn.reset:
            self._reset(steps.dst)
            return
        src = None
        if not insn.use_imm:
            self._check_indices(insn, steps.src, "ACC", "src")
            src = steps.src
        _AluPlan(self.state.acc, insn, steps.dst, src).apply()
        self._mirror_out(np.unique(steps.dst))

    # ------------------------------------------------------------ loop helpers
    def _loop_steps(self, insn: LoopInstruction) -> LoopIndices:
        return loop_indices(insn, *self._uops())

    def _uops(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Decoded dst/src/wgt fields of the whole UOP buffer (cached until a LOAD UOP)."""
        if self._uop_fields is None:
            decoded = decode_uop_fields(self.state.uop, self.config)
            self._uop_fields = (decoded["dst"], decoded["src"], decoded["wgt"])
        return self._uop_fields

    def _check_indices(self, insn: LoopInstruction, indices: np.ndarray, buffer: str,
                       role: str) -> None:
        depth = self.config.depths()[buffer]
        bad = np.flatnonzero((indices < 0) | (indices >= depth))
        if bad.size == 0:
            return
        step = int(bad[0])
        uops = insn.uop_end - insn.uop_bgn
        outer, inner, uop = step // (insn.iter_in * uops), step // uops % insn.iter_in, step % uops
        raise _Fault(
            f"step {step} (o = {outer}, i = {inner}, uop {insn.uop_bgn + uop}): {role} index "
            f"{int(indices[step])} is outside the {buffer} buffer (depth {depth})"
        )

    def _reset(self, dst: np.ndarray) -> None:
        """``acc[dst] = 0``; the OUT elements become unspecified, so they are poisoned."""
        self.state.acc[dst] = 0
        self.state.out[dst] = 0
        self.state.out_poisoned[dst] = True

    def _mirror_out(self, written: np.ndarray) -> None:
        """Every GEMM/ALU write also writes the low 8 bits of the new value to OUT."""
        self.state.out[written] = self.state.acc[written].astype(np.uint8).view(np.int8)
        self.state.out_poisoned[written] = False


def _decode_tiles(raw: np.ndarray, memory: MemoryType, tile_shape: tuple[int, ...]) -> np.ndarray:
    """Little-endian DRAM bytes ``(y, x, elem_bytes)`` -> SRAM tiles ``(y, x, *tile_shape)``."""
    dtype = {
        MemoryType.UOP: np.dtype("<u4"),
        MemoryType.ACC: np.dtype("<i4"),
    }.get(memory, np.dtype(np.int8))
    values = raw.view(dtype).reshape(*raw.shape[:2], *tile_shape)
    # ACC_8BIT sign-extends int8 into the int32 accumulators.
    target = {MemoryType.UOP: np.uint32, MemoryType.ACC: np.int32,
              MemoryType.ACC_8BIT: np.int32}.get(memory, np.int8)
    return values.astype(target)


def _exact_float_dtype(config: HardwareConfig) -> type:
    """The narrowest float type in which every GEMM step's dot product is exact.

    Every partial sum of BLOCK_IN products of an input and a weight is an integer of
    magnitude at most ``2**(inp_bits-1) * 2**(wgt_bits-1) * BLOCK_IN``; while that stays
    within the float's mantissa, every rounding (in any summation order, with or
    without FMA) is exact.
    """
    inp_bits, wgt_bits = 1 << config.log_inp_width, 1 << config.log_wgt_width
    bound = (1 << (inp_bits - 1)) * (1 << (wgt_bits - 1)) * config.block_in
    if bound <= 1 << (np.finfo(np.float32).nmant + 1):
        return np.float32
    if bound <= 1 << (np.finfo(np.float64).nmant + 1):
        return np.float64
    raise SimulationError(f"config '{config.name}': GEMM dot products of up to {bound} "
                          "cannot be computed exactly in float64")


# ---------------------------------------------------------------------- ALU engine
_ALU_FUNCTIONS: dict[AluOpcode, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    # On int64 copies of int32 values: exact, then wrapped to 32 bits.
    AluOpcode.MIN: np.minimum,
    AluOpcode.MAX: np.maximum,
    AluOpcode.ADD: np.add,
    AluOpcode.MUL: np.multiply,
    AluOpcode.SHR: _shift,
}

# Ops whose repeated application to one element numpy's ``ufunc.at`` performs in order,
# with the dtype view of the accumulators on which it wraps (or compares) correctly.
_ALU_UFUNC_AT: dict[AluOpcode, tuple[np.ufunc, type]] = {
    AluOpcode.MIN: (np.minimum, np.int32),
    AluOpcode.MAX: (np.maximum, np.int32),
    AluOpcode.ADD: (np.add, np.uint32),
    AluOpcode.MUL: (np.multiply, np.uint32),
}


@dataclass
class _AluPlan:
    """Applies ALU steps ``acc[dst] = f(acc[dst], acc[src] or imm)`` as if sequentially.

    A group of steps may run as one vector operation (gather all operands, then scatter
    all results) exactly when no step of the group writes an element that a later step
    of the group reads or writes: the destinations are distinct and no ``src`` reads a
    destination written earlier in the group.
    """

    acc: np.ndarray
    insn: AluInsn
    dst: np.ndarray
    src: np.ndarray | None  # None with use_imm: no step reads ACC through src
    function: Callable[[np.ndarray, np.ndarray], np.ndarray] = field(init=False)

    def __post_init__(self) -> None:
        self.function = _ALU_FUNCTIONS[AluOpcode(self.insn.alu_opcode)]

    def apply(self) -> None:
        rewrites = _latest_earlier_write(self.dst, self.dst)
        reads_written = (None if self.src is None
                         else _latest_earlier_write(self.dst, self.src))
        if reads_written is None or not (reads_written >= 0).any():
            if not (rewrites >= 0).any():
                self._vector(slice(None))
                return
            if AluOpcode(self.insn.alu_opcode) in _ALU_UFUNC_AT:
                self._ufunc_at()
                return
        conflicts = rewrites if reads_written is None else np.maximum(rewrites, reads_written)
        for start, end in _conflict_free_runs(conflicts):
            self._vector(slice(start, end))

    def _operand(self, steps: slice) -> np.ndarray:
        """The second operand of ``steps`` as int32: the immediate or ``acc[src]``."""
        if self.src is None:
            return np.asarray(self.insn.imm, dtype=np.int32)
        return self.acc[self.src[steps]]

    def _vector(self, steps: slice) -> None:
        dst = self.dst[steps]
        current = self.acc[dst].astype(np.int64)
        operand = self._operand(steps).astype(np.int64)
        self.acc[dst] = _wrap32(self.function(current, operand))

    def _ufunc_at(self) -> None:
        """Repeated destinations, operands fixed before the instruction: ``ufunc.at``."""
        ufunc, view = _ALU_UFUNC_AT[AluOpcode(self.insn.alu_opcode)]
        ufunc.at(self.acc.view(view), self.dst, self._operand(slice(None)).view(view))


def _latest_earlier_write(dst: np.ndarray, query: np.ndarray) -> np.ndarray:
    """For each step n, the latest step m < n with ``dst[m] == query[n]``, else -1.

    Sorting the keys ``(dst[m], m)`` lets one binary search per step find the greatest
    key below ``(query[n], n)``; it is a write to ``query[n]`` iff its dst matches.
    """
    n = dst.size
    steps = np.arange(n, dtype=np.int64)
    keys = np.sort(dst * n + steps)
    below = np.searchsorted(keys, query * n + steps, side="left") - 1
    found = keys[np.maximum(below, 0)]
    hit = (below >= 0) & (found // n == query)
    return np.where(hit, found % n, -1)


def _conflict_free_runs(conflicts: np.ndarray) -> Iterator[tuple[int, int]]:
    """Split steps into maximal runs ``[start, end)`` that may execute as one vector.

    ``conflicts[n]`` is the latest earlier step that step n depends on; step n may join a
    run starting at ``start`` iff ``conflicts[n] < start``. Each boundary is found by a
    doubling search, so the total work is linear in the number of steps.
    """
    n = conflicts.size
    start = 0
    while start < n:
        end, width = start + 1, 64
        while end < n:
            window = conflicts[end:end + width]
            hits = np.flatnonzero(window >= start)
            if hits.size:
                end += int(hits[0])
                break
            end += window.size
            width *= 2
        yield start, end
        start = end
