"""The card driver: one device-memory pool, DMA copies in and out, core launches.

This is what Canopy's PCIe driver does for a VTA card, with two backends:

* :class:`OpenCLCard` runs ``opencl_kernels/vta_core.cl`` on an OpenCL device (PoCL's CPU
  device here, an FPGA board in production). The pool is one ``cl_mem``; every kernel
  argument is that pool and every address is an element index from its base.
* :class:`SimulatedCard` keeps the pool in a numpy array and runs the reference
  simulator (``canopy_mlir.runtime.simulator``).

Both share :class:`Card`: buffer allocation (first fit, aligned for every element kind),
bounds-checked reads and writes, and the pre-launch check of the instruction stream. The
core checks no DRAM range itself (docs/isa.md), so :meth:`Card.run` decodes the
instructions from the pool and refuses a malformed one, or one whose DRAM range leaves
the pool, before anything is launched.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from canopy_mlir.hw import INSN_BYTES, HardwareConfig, load_config
from canopy_mlir.isa_format import WORDS_PER_INSN, Instruction, StoreInsn
from canopy_mlir.isa_semantics import (
    IsaError,
    decode_launch,
    dram_byte_range,
    instruction_range_error,
)
from canopy_mlir.runtime.allocator import AllocatorError, PoolAllocator, align_up
from canopy_mlir.runtime.kernel_build import KERNEL_NAME, build_program, sram_bytes

if TYPE_CHECKING:
    import pyopencl as cl

DEFAULT_POOL_BYTES = 64 << 20
DEVICE_ENV = "CANOPY_OPENCL_DEVICE"
"""Environment variable selecting the OpenCL device when none is given (see select_device)."""
_KERNEL_ARG_MAX = (1 << 32) - 1  # insn_count and insn_offset are uint kernel arguments
_SERIALS = itertools.count(1)


class CardError(RuntimeError):
    """A card operation that cannot be done: bad buffer, bad program, no device..."""


@dataclass(frozen=True)
class DeviceBuffer:
    """``nbytes`` bytes of the device pool starting ``offset`` bytes from its base.

    ``serial`` tells apart allocations that reuse the same offset, so a buffer used after
    it was freed is caught even when its bytes have been handed out again.
    """

    offset: int
    nbytes: int
    serial: int = field(default=0, repr=False)

    @property
    def end(self) -> int:
        return self.offset + self.nbytes

    def element_index(self, elem_bytes: int) -> int:
        """The buffer's address as an instruction sees it: an element index from the pool base."""
        if elem_bytes <= 0 or self.offset % elem_bytes:
            raise CardError(
                f"buffer at pool offset {self.offset} is not aligned to {elem_bytes}-byte "
                "elements, so no instruction can address it in that element size"
            )
        return self.offset // elem_bytes


# ---------------------------------------------------------------------------- Card
@dataclass(frozen=True)
class CheckedProgram:
    """A launch's instructions as decoded and checked, and the pool bytes they depend on
    (``insn_bytes``) or may change (``store_bytes``: the span of all their STOREs)."""

    instructions: list[Instruction]
    insn_bytes: tuple[int, int]
    store_bytes: tuple[int, int] | None


def _store_span(instructions: list[Instruction], config: HardwareConfig) -> tuple[int, int] | None:
    spans = [dram_byte_range(i, config) for i in instructions if isinstance(i, StoreInsn)]
    spans = [s for s in spans if s is not None]
    return (min(s[0] for s in spans), max(s[1] for s in spans)) if spans else None


class Card:
    """Pool, allocator and launch checks, independent of the backend.

    Subclasses provide ``_write_bytes``, ``_read_bytes`` and ``_launch``.

    A launch's instructions are decoded and checked once and remembered until a write
    (a host copy, or a STORE of a launch) touches their bytes: a model runs the same
    launches on every inference, and re-reading and re-decoding them each time cost
    more than the kernels on PoCL.
    """

    backend = "abstract"

    def __init__(self, config: HardwareConfig | str | None, pool_bytes: int):
        self.config = load_config(config)
        if isinstance(pool_bytes, bool) or not isinstance(pool_bytes, int) or pool_bytes <= 0:
            raise CardError(f"pool size must be a positive number of bytes, got {pool_bytes!r}")
        self.pool_bytes = pool_bytes
        self._allocator = PoolAllocator(pool_bytes, self.config.pool_alignment)
        self._live: dict[int, DeviceBuffer] = {}
        self._checked: dict[tuple[int, int], CheckedProgram] = {}

    # ---------------------------------------------------------------- buffers
    def alloc(self, nbytes: int) -> DeviceBuffer:
        """Reserve a buffer aligned to ``config.pool_alignment`` (first fit)."""
        try:
            offset = self._allocator.alloc(nbytes)
        except AllocatorError as err:
            raise CardError(f"{self.describe()}: {err}") from err
        buf = DeviceBuffer(offset, nbytes, next(_SERIALS))
        self._live[offset] = buf
        return buf

    def free(self, buf: DeviceBuffer) -> None:
        self._check_live(buf, "free")
        self._allocator.free(buf.offset)
        del self._live[buf.offset]

    def upload(self, data: np.ndarray | bytes) -> DeviceBuffer:
        """Allocate a buffer that fits ``data`` exactly and write ``data`` into it."""
        raw = self._as_bytes(data)
        buf = self.alloc(max(raw.size, 1))
        self.write(buf, raw)
        return buf

    @property
    def live_buffers(self) -> list[DeviceBuffer]:
        return sorted(self._live.values(), key=lambda b: b.offset)

    @property
    def bytes_free(self) -> int:
        return self._allocator.bytes_free

    # ---------------------------------------------------------------- DMA
    def write(self, buf: DeviceBuffer, data: np.ndarray | bytes, offset: int = 0) -> None:
        """Host -> card: copy ``data`` (little-endian) to ``offset`` bytes into ``buf``."""
        self._check_live(buf, "write")
        raw = self._as_bytes(data)
        self._check_span(buf, offset, raw.size, "write")
        if raw.size:
            self._write_bytes(buf.offset + int(offset), raw)
            self._forget_programs(buf.offset + int(offset), buf.offset + int(offset) + raw.size)

    def read(self, buf: DeviceBuffer, dtype: Any = np.uint8, count: int | None = None,
             offset: int = 0) -> np.ndarray:
        """Card -> host: ``count`` items of ``dtype`` (little-endian on the card) from ``offset``.

        ``count=None`` reads to the end of the buffer.
        """
        self._check_live(buf, "read")
        dtype = np.dtype(dtype)
        if dtype.hasobject or dtype.itemsize == 0:
            raise CardError(f"cannot read device memory as {dtype}: not a plain numeric type")
        if count is None:
            count = max(buf.nbytes - offset, 0) // dtype.itemsize
        if isinstance(count, bool) or not isinstance(count, int | np.integer) or count < 0:
            raise CardError(f"read count must be a non-negative integer, got {count!r}")
        nbytes = int(count) * dtype.itemsize
        self._check_span(buf, offset, nbytes, "read")
        raw = np.empty(0, np.uint8)
        if nbytes:
            raw = self._read_bytes(buf.offset + int(offset), nbytes)
        return raw.view(dtype.newbyteorder("<")).astype(dtype, copy=False)

    # ---------------------------------------------------------------- launch
    def run(self, insn_offset: int, insn_count: int) -> None:
        """Run instructions ``[insn_offset, insn_offset + insn_count)`` (16-byte element indices).

        The instructions are decoded from the pool and checked first; a malformed one,
        or one whose DRAM range leaves the pool, raises :class:`CardError` naming it and
        nothing is launched. Returns once the core has finished.
        """
        self.check_program(insn_offset, insn_count)
        if insn_count:
            self._launch(insn_offset, insn_count)
            stores = self._checked[(insn_offset, insn_count)].store_bytes
            if stores is not None:
                self._forget_programs(*stores)

    def check_program(self, insn_offset: int, insn_count: int) -> list[Instruction]:
        """Decode and check the instructions a launch would run; return them (the same
        list while their bytes are unchanged)."""
        self._check_insn_range(insn_offset, insn_count)
        if insn_count == 0:
            return []
        known = self._checked.get((insn_offset, insn_count))
        if known is not None:
            return known.instructions
        raw = self._read_bytes(insn_offset * INSN_BYTES, insn_count * INSN_BYTES)
        words = raw.view("<u8").reshape(-1, WORDS_PER_INSN)
        try:
            instructions = decode_launch(words, self.config, self.pool_bytes, insn_offset)
        except IsaError as err:
            raise CardError(
                f"{self.describe()}: refusing the launch of instructions "
                f"[{insn_offset}, {insn_offset + insn_count}): {err}"
            ) from None
        span = (insn_offset * INSN_BYTES, (insn_offset + insn_count) * INSN_BYTES)
        self._checked[(insn_offset, insn_count)] = CheckedProgram(
            instructions, span, _store_span(instructions, self.config))
        return instructions

    def _forget_programs(self, begin: int, end: int) -> None:
        """Drop the checked programs whose instruction bytes overlap ``[begin, end)``."""
        stale = [key for key, known in self._checked.items()
                 if known.insn_bytes[0] < end and begin < known.insn_bytes[1]]
        for key in stale:
            del self._checked[key]

    # ---------------------------------------------------------------- lifetime
    def close(self) -> None:
        """Release the device memory (the card is unusable afterwards)."""

    def __enter__(self) -> Card:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def describe(self) -> str:
        return f"{self.backend} card (config '{self.config.name}', {self.pool_bytes}-byte pool)"

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.describe()}>"

    # ---------------------------------------------------------------- checks
    def _check_live(self, buf: object, action: str) -> None:
        if not isinstance(buf, DeviceBuffer):
            raise CardError(f"cannot {action} {buf!r}: not a DeviceBuffer")
        if self._live.get(buf.offset) != buf:
            raise CardError(
                f"cannot {action} {buf}: not a live buffer of this {self.describe()} "
                "(already freed, or allocated on another card)"
            )

    @staticmethod
    def _check_span(buf: DeviceBuffer, offset: int, nbytes: int, action: str) -> None:
        if isinstance(offset, bool) or not isinstance(offset, int | np.integer):
            raise CardError(f"{action} offset must be an integer, got {offset!r}")
        if offset < 0 or offset + nbytes > buf.nbytes:
            raise CardError(
                f"{action} of {nbytes} bytes at offset {offset} does not fit the "
                f"{buf.nbytes}-byte buffer at pool offset {buf.offset}"
            )

    @staticmethod
    def _as_bytes(data: np.ndarray | bytes) -> np.ndarray:
        """The little-endian bytes of ``data`` as a flat uint8 array."""
        if isinstance(data, bytes | bytearray | memoryview):
            return np.frombuffer(bytes(data), dtype=np.uint8)
        if not isinstance(data, np.ndarray):
            raise CardError(f"can only write numpy arrays or bytes, got {type(data).__name__}")
        if data.dtype.hasobject:
            raise CardError(f"cannot write an array of {data.dtype} to device memory")
        little = data.astype(data.dtype.newbyteorder("<"), copy=False)
        return np.ascontiguousarray(little).reshape(-1).view(np.uint8)

    def _check_insn_range(self, insn_offset: int, insn_count: int) -> None:
        problem = instruction_range_error(insn_offset, insn_count, self.pool_bytes)
        if problem is None and insn_offset + insn_count > _KERNEL_ARG_MAX:
            problem = f"instruction indices beyond {_KERNEL_ARG_MAX} do not fit the kernel's uint"
        if problem:
            raise CardError(f"{self.describe()}: {problem}")

    # ---------------------------------------------------------------- backend hooks
    def _write_bytes(self, offset: int, data: np.ndarray) -> None:
        raise NotImplementedError

    def _read_bytes(self, offset: int, nbytes: int) -> np.ndarray:
        raise NotImplementedError

    def _launch(self, insn_offset: int, insn_count: int) -> None:
        raise NotImplementedError


# ---------------------------------------------------------------------------- OpenCL
def _pyopencl():
    try:
        import pyopencl as cl
    except ImportError as err:
        raise CardError(
            f"the OpenCL card needs pyopencl ({err}); install it with "
            "pip install 'pyopencl[pocl]' (PoCL brings a CPU device)"
        ) from None
    return cl


def opencl_devices() -> list[tuple[str, cl.Device]]:
    """Every OpenCL device as ``("platform:device", device)``; empty when no platform exists."""
    cl = _pyopencl()
    try:
        platforms = cl.get_platforms()
    except cl.Error:  # no ICD installed: clGetPlatformIDs fails with PLATFORM_NOT_FOUND
        return []
    result = []
    for p, platform in enumerate(platforms):
        try:
            devices = platform.get_devices()
        except cl.Error:  # a platform without devices
            continue
        result += [(f"{p}:{d}", device) for d, device in enumerate(devices)]
    return result


def _device_text(device: cl.Device) -> str:
    cl = _pyopencl()
    platform = device.platform
    return (f"{platform.name} / {platform.vendor} / {device.name.strip()} / "
            f"{cl.device_type.to_string(device.type)}")


def _is_pocl_cpu(device: cl.Device) -> bool:
    cl = _pyopencl()
    return "pocl" in _device_text(device).lower() and bool(device.type & cl.device_type.CPU)


def select_device(spec: cl.Device | str | None = None) -> cl.Device:
    """The OpenCL device a card runs on.

    ``spec``: a ``pyopencl.Device``; ``"P:D"`` (platform and device index); ``"P"``
    (first device of platform P); or a case-insensitive substring of the platform
    name/vendor, device name or type (``"pocl"``, ``"nvidia"``, ``"gpu"``). ``None``
    reads ``$CANOPY_OPENCL_DEVICE``, else takes the first PoCL CPU device, else the
    first device of any platform.
    """
    cl = _pyopencl()
    if isinstance(spec, cl.Device):
        return spec
    source = "argument"
    if spec is None and os.environ.get(DEVICE_ENV):
        spec, source = os.environ[DEVICE_ENV], f"${DEVICE_ENV}"
    devices = opencl_devices()
    if not devices:
        raise CardError(
            "no OpenCL platform is installed (pyopencl found no ICD); install one, e.g. "
            "pip install 'pyopencl[pocl]' for PoCL's CPU device"
        )
    if spec is None:
        pocl = [d for _, d in devices if _is_pocl_cpu(d)]
        return pocl[0] if pocl else devices[0][1]
    if not isinstance(spec, str):
        raise CardError(f"OpenCL device must be a pyopencl.Device, a string or None, got {spec!r}")
    matches = _match_devices(spec.strip(), devices)
    if not matches:
        listing = "; ".join(f"{label}: {_device_text(d)}" for label, d in devices)
        raise CardError(
            f"no OpenCL device matches {spec!r} (from the {source}); available devices: "
            f"{listing}; select one as 'platform:device' or by a substring of its "
            f"platform, vendor, name or type (e.g. 'pocl', 'gpu'), here or in ${DEVICE_ENV}"
        )
    return matches[0]


def _match_devices(spec: str, devices: list[tuple[str, cl.Device]]) -> list[cl.Device]:
    if spec.replace(":", "").isdigit() and spec.count(":") <= 1:
        if ":" in spec:
            return [d for label, d in devices if label == spec]
        return [d for label, d in devices if label.split(":")[0] == spec]
    needle = spec.lower()
    return [d for _, d in devices if needle in _device_text(d).lower()]


_CONTEXTS: dict[Any, Any] = {}


def _shared_context(cl, device: cl.Device) -> cl.Context:
    """One context per device, so cards of a config share one compiled program."""
    context = _CONTEXTS.get(device)
    if context is None:
        context = _CONTEXTS[device] = cl.Context([device])
    return context


class OpenCLCard(Card):
    """The core on an OpenCL device; the pool is one ``cl_mem`` passed as every kernel argument.

    ``sram_placement``: ``"local"`` keeps the core's on-chip buffers in ``__local`` memory,
    ``"pool"`` puts them in a scratch region after the user pool (for devices with too
    little local memory), ``"auto"`` picks local when the device's local memory holds them.
    """

    backend = "opencl"

    def __init__(self, config: HardwareConfig | str | None = None,
                 pool_bytes: int = DEFAULT_POOL_BYTES, device: cl.Device | str | None = None,
                 *, sram_placement: str = "auto"):
        super().__init__(config, pool_bytes)
        cl = _pyopencl()
        self._cl = cl
        self.device = select_device(device)
        self.sram_placement = self._choose_placement(sram_placement)
        self._scratch_offset = align_up(pool_bytes, self.config.pool_alignment)
        scratch_bytes = sram_bytes(self.config) if self.sram_placement == "pool" else 0
        total = self._scratch_offset + scratch_bytes
        self._check_fits_device(total)
        try:
            self.context = _shared_context(cl, self.device)
            self.queue = cl.CommandQueue(self.context)
            self._pool = cl.Buffer(self.context, cl.mem_flags.READ_WRITE, size=total)
            cl.enqueue_fill_buffer(self.queue, self._pool, np.uint8(0), 0, total).wait()
        except cl.Error as err:
            raise CardError(f"cannot set up {self.describe()}: {err}") from None
        scratch = self._scratch_offset if self.sram_placement == "pool" else None
        program = build_program(self.context, self.config, sram_pool_offset=scratch)
        self._kernel = cl.Kernel(program, KERNEL_NAME)

    def describe(self) -> str:
        device = getattr(self, "device", None)
        where = f" on {device.name.strip()}" if device is not None else ""
        return f"OpenCL card{where} (config '{self.config.name}', {self.pool_bytes}-byte pool)"

    def _choose_placement(self, placement: str) -> str:
        needed, local = sram_bytes(self.config), self.device.local_mem_size
        if placement == "auto":
            return "local" if needed <= local else "pool"
        if placement == "local" and needed > local:
            raise CardError(
                f"config '{self.config.name}' needs {needed} bytes of on-chip buffers but "
                f"{self.device.name.strip()} has {local} bytes of local memory; use "
                "sram_placement='pool' or 'auto'"
            )
        if placement not in ("local", "pool"):
            raise CardError(f"sram_placement must be 'auto', 'local' or 'pool', got {placement!r}")
        return placement

    def _check_fits_device(self, total: int) -> None:
        limit = self.device.max_mem_alloc_size
        if total > limit:
            raise CardError(
                f"a {total}-byte pool (pool plus core scratch) exceeds the largest buffer "
                f"{self.device.name.strip()} can allocate ({limit} bytes)"
            )

    def _open_pool(self) -> cl.Buffer:
        if self._pool is None:
            raise CardError(f"{self.describe()} is closed")
        return self._pool

    def _write_bytes(self, offset: int, data: np.ndarray) -> None:
        self._cl.enqueue_copy(self.queue, self._open_pool(), data, dst_offset=offset,
                              is_blocking=True)

    def _read_bytes(self, offset: int, nbytes: int) -> np.ndarray:
        host = np.empty(nbytes, dtype=np.uint8)
        self._cl.enqueue_copy(self.queue, host, self._open_pool(), src_offset=offset,
                              is_blocking=True)
        return host

    def _launch(self, insn_offset: int, insn_count: int) -> None:
        pool = self._open_pool()
        self._kernel.set_args(np.uint32(insn_count), np.uint32(insn_offset),
                              pool, pool, pool, pool, pool, pool)
        try:
            self._cl.enqueue_nd_range_kernel(self.queue, self._kernel, (1,), (1,)).wait()
        except self._cl.Error as err:
            raise CardError(
                f"{self.describe()}: launch of instructions [{insn_offset}, "
                f"{insn_offset + insn_count}) failed: {err}"
            ) from None

    def close(self) -> None:
        pool = getattr(self, "_pool", None)
        if pool is not None:
            self.queue.finish()
            pool.release()
            self._pool = None


# ---------------------------------------------------------------------------- simulator
class SimulatedCard(Card):
    """The reference simulator behind the card interface; the pool is a numpy array."""

    backend = "sim"

    def __init__(self, config: HardwareConfig | str | None = None,
                 pool_bytes: int = DEFAULT_POOL_BYTES):
        super().__init__(config, pool_bytes)
        self.pool = np.zeros(pool_bytes, dtype=np.uint8)
        self.last_run = None
        """The :class:`~canopy_mlir.runtime.simulator.Simulator` of the latest launch: its
        ``state`` holds the SRAM buffers the launch left behind (for debugging)."""
        self.last_stats = None
        """The simulator's ``RunStats`` of the latest launch."""

    def describe(self) -> str:
        return f"simulated card (config '{self.config.name}', {self.pool_bytes}-byte pool)"

    def _write_bytes(self, offset: int, data: np.ndarray) -> None:
        self.pool[offset:offset + data.size] = data

    def _read_bytes(self, offset: int, nbytes: int) -> np.ndarray:
        return self.pool[offset:offset + nbytes].copy()

    def _launch(self, insn_offset: int, insn_count: int) -> None:
        from canopy_mlir.runtime.simulator import SimulationError, Simulator

        self.last_run = Simulator(self.config, self.pool)
        try:
            self.last_stats = self.last_run.run(insn_offset, insn_count)
        except SimulationError as err:
            raise CardError(
                f"{self.describe()}: simulation of instructions [{insn_offset}, "
                f"{insn_offset + insn_count}) failed: {err}"
            ) from err


BACKENDS = {"opencl": OpenCLCard, "sim": SimulatedCard}


def open_card(config: HardwareConfig | str | None = None, pool_bytes: int = DEFAULT_POOL_BYTES,
              backend: str = "opencl", device: cl.Device | str | None = None) -> Card:
    """A card of ``backend`` ("opencl" or "sim") for ``config`` with a ``pool_bytes`` pool."""
    if backend == "opencl":
        return OpenCLCard(config, pool_bytes, device)
    if backend == "sim":
        if device is not None:
            raise CardError(f"the simulated card runs on no OpenCL device, got device={device!r}")
        return SimulatedCard(config, pool_bytes)
    raise CardError(f"unknown card backend {backend!r}; choose one of {', '.join(BACKENDS)}")
