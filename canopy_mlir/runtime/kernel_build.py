"""Build the OpenCL accelerator core (``opencl_kernels/vta_core.cl``) for a hardware config.

The kernel source hard-codes nothing: buffer shapes, depths, enumeration values and the
bit position of every instruction field reach it as ``-D`` build options generated here
from a :class:`~canopy_mlir.hw.HardwareConfig` and :func:`~canopy_mlir.isa_format.layouts_for`.
So the compiler, the simulator and the core can never disagree on the encoding.

Programs are cached per (context, devices, options, source): building the core takes
about a second on PoCL and every card of a config shares one program.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from canopy_mlir.hw import INSN_BYTES, UOP_BYTES, HardwareConfig
from canopy_mlir.isa_format import (
    WORD_BITS,
    WORDS_PER_INSN,
    AluOpcode,
    Layout,
    MemoryType,
    Opcode,
    layouts_for,
)

if TYPE_CHECKING:
    import pyopencl as cl

KERNEL_DIR_ENV = "CANOPY_KERNEL_DIR"
"""Environment variable naming a directory that holds ``vta_core.cl`` (overrides the repo's)."""
KERNEL_FILE = "vta_core.cl"
KERNEL_NAME = "vta_core"

_INSTRUCTION_LAYOUTS = ("mem", "gemm", "alu", "finish")
_ALL_LAYOUTS = _INSTRUCTION_LAYOUTS + ("uop",)


class KernelBuildError(RuntimeError):
    """The core's source cannot be found, or the OpenCL compiler rejected it."""


# ------------------------------------------------------------------ source
def kernel_dir() -> Path:
    """Where ``vta_core.cl`` lives: ``$CANOPY_KERNEL_DIR``, else the repo's ``opencl_kernels/``.

    The package is installed editable, so the repository root is the parent of the
    ``canopy_mlir`` package directory.
    """
    override = os.environ.get(KERNEL_DIR_ENV)
    if override:
        return Path(override)
    import canopy_mlir

    return Path(canopy_mlir.__file__).resolve().parent.parent / "opencl_kernels"


def kernel_path() -> Path:
    path = kernel_dir() / KERNEL_FILE
    if not path.is_file():
        origin = f"${KERNEL_DIR_ENV}" if os.environ.get(KERNEL_DIR_ENV) else "the repository"
        raise KernelBuildError(
            f"OpenCL core source {path} not found (directory taken from {origin}); set "
            f"{KERNEL_DIR_ENV} to the directory that holds {KERNEL_FILE}"
        )
    return path


def kernel_source() -> str:
    """The text of ``vta_core.cl``."""
    return kernel_path().read_text()


# ------------------------------------------------------------------ options
def sram_bytes(config: HardwareConfig) -> int:
    """Bytes of the five on-chip buffers (UOP, INP, WGT, ACC, OUT) the core declares."""
    return (
        config.uop_depth * UOP_BYTES
        + config.inp_depth * config.inp_elem_bytes
        + config.wgt_depth * config.wgt_elem_bytes
        + config.acc_depth * config.acc_elem_bytes
        + config.out_depth * config.out_elem_bytes
    )


def _macro(name: str, value: int) -> str:
    return f"-D{name}={int(value)}"


def _shape_macros(config: HardwareConfig) -> list[str]:
    return [
        _macro("VTA_BATCH", config.batch),
        _macro("VTA_BLOCK_IN", config.block_in),
        _macro("VTA_BLOCK_OUT", config.block_out),
        _macro("VTA_UOP_DEPTH", config.uop_depth),
        _macro("VTA_INP_DEPTH", config.inp_depth),
        _macro("VTA_WGT_DEPTH", config.wgt_depth),
        _macro("VTA_ACC_DEPTH", config.acc_depth),
        _macro("VTA_INSN_WORDS", WORDS_PER_INSN),
    ]


def _enum_macros() -> list[str]:
    return (
        [_macro(f"VTA_OPCODE_{op.name}", op.value) for op in Opcode]
        + [_macro(f"VTA_MEM_{mem.name}", mem.value) for mem in MemoryType]
        + [_macro(f"VTA_ALU_{alu.name}", alu.value) for alu in AluOpcode]
    )


def _field_macros(kind: str, layout: Layout) -> list[str]:
    """``<KIND>_<FIELD>_WORD/_LO/_WIDTH`` for every field of one layout."""
    macros = []
    for field in layout.fields:
        prefix = f"{kind.upper()}_{field.name.upper()}"
        macros += [
            _macro(f"{prefix}_WORD", field.word),
            _macro(f"{prefix}_LO", field.lo),
            _macro(f"{prefix}_WIDTH", field.width),
        ]
    return macros


def _check_layouts_match_kernel(config: HardwareConfig) -> None:
    """The core reads the opcode through the MEM layout and micro-ops as one uint32."""
    layouts = layouts_for(config)
    opcode_fields = {getattr(layouts, kind).field("opcode") for kind in _INSTRUCTION_LAYOUTS}
    if len(opcode_fields) != 1:
        raise KernelBuildError(
            f"config '{config.name}': the opcode sits at different bits in different "
            f"instruction layouts ({sorted(f.describe() for f in opcode_fields)}); the core "
            "decodes it before it knows the layout"
        )
    uop_bits = layouts.uop.words * layouts.uop.word_bits
    if WORDS_PER_INSN * WORD_BITS != INSN_BYTES * 8 or uop_bits != UOP_BYTES * 8:
        raise KernelBuildError(
            "the core reads instructions as two uint64 words and micro-ops as one uint32; "
            "isa_format's word sizes no longer match"
        )


def build_options(config: HardwareConfig, *, sram_pool_offset: int | None = None) -> list[str]:
    """The ``-D`` options that configure ``vta_core.cl`` for ``config``.

    ``sram_pool_offset`` (bytes from the pool base) moves the on-chip buffers from
    ``__local`` memory into a scratch region of the pool, for devices whose local memory
    is smaller than :func:`sram_bytes`. The caller owns that region.
    """
    _check_layouts_match_kernel(config)
    layouts = layouts_for(config)
    options = _shape_macros(config) + _enum_macros()
    for kind in _ALL_LAYOUTS:
        options += _field_macros(kind, getattr(layouts, kind))
    if sram_pool_offset is not None:
        if sram_pool_offset < 0 or sram_pool_offset % UOP_BYTES:
            raise KernelBuildError(
                f"SRAM scratch offset {sram_pool_offset} must be a non-negative multiple "
                f"of {UOP_BYTES} bytes (the int32 buffers live there)"
            )
        options += [_macro("VTA_SRAM_IN_POOL", 1), _macro("VTA_SRAM_POOL_OFFSET", sram_pool_offset)]
    return options


# ------------------------------------------------------------------ build
_CACHE: dict[tuple, cl.Program] = {}
_CACHE_LOCK = threading.Lock()


def build_program(context: cl.Context, config: HardwareConfig, *,
                  sram_pool_offset: int | None = None) -> cl.Program:
    """The core compiled for every device of ``context`` (cached), with its ``vta_core`` kernel."""
    import pyopencl as cl

    source = kernel_source()
    options = tuple(build_options(config, sram_pool_offset=sram_pool_offset))
    key = (context, tuple(context.devices), options,
           hashlib.sha256(source.encode()).hexdigest())
    with _CACHE_LOCK:
        program = _CACHE.get(key)
        if program is None:
            program = _compile(cl, context, config, source, list(options))
            _CACHE[key] = program
    return program


def _compile(cl, context: cl.Context, config: HardwareConfig, source: str,
             options: list[str]) -> cl.Program:
    """Build, turning a compiler failure into a :class:`KernelBuildError` with its log.

    pyopencl's build error already carries every device's compiler log in its message.
    """
    try:
        return cl.Program(context, source).build(options=options)
    except cl.Error as err:
        devices = ", ".join(d.name.strip() for d in context.devices)
        raise KernelBuildError(
            f"building {kernel_path()} for config '{config.name}' on {devices} failed; "
            f"compiler output:\n{err}"
        ) from None


def clear_cache() -> None:
    """Forget every built program (tests that edit the kernel source use this)."""
    with _CACHE_LOCK:
        _CACHE.clear()
