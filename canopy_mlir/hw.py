"""Hardware configuration of the accelerator core, as data.

Every width, depth and instruction-field layout in canopy_mlir is derived from a
``HardwareConfig``: passes, the simulator and the OpenCL kernel read it from here, never
from constants of their own. The format follows Apache TVM VTA's ``vta_config.json``
(``LOG_*`` keys), extended with the few numbers the timing model needs.
"""

from __future__ import annotations

import json
from dataclasses import MISSING, asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

INSN_BYTES = 16
"""An instruction is 128 bits: two little-endian uint64 words."""
UOP_BYTES = 4
"""A micro-op is one little-endian uint32."""


class ConfigError(ValueError):
    """A hardware configuration that canopy_mlir cannot build a core for."""


# VTA's JSON keys and the dataclass fields they fill.
_VTA_KEYS = {
    "LOG_INP_WIDTH": "log_inp_width",
    "LOG_WGT_WIDTH": "log_wgt_width",
    "LOG_ACC_WIDTH": "log_acc_width",
    "LOG_BATCH": "log_batch",
    "LOG_BLOCK_IN": "log_block_in",
    "LOG_BLOCK_OUT": "log_block_out",
    "LOG_UOP_BUFF_SIZE": "log_uop_buff_size",
    "LOG_INP_BUFF_SIZE": "log_inp_buff_size",
    "LOG_WGT_BUFF_SIZE": "log_wgt_buff_size",
    "LOG_ACC_BUFF_SIZE": "log_acc_buff_size",
    # Our additions for the timing model.
    "CLOCK_MHZ": "clock_mhz",
    "DRAM_BYTES_PER_CYCLE": "dram_bytes_per_cycle",
    "DRAM_LATENCY_CYCLES": "dram_latency_cycles",
}
# Keys of VTA's format that describe the build, not the core; accepted and ignored.
_VTA_IGNORED_KEYS = {"HW_VER", "LOG_OUT_WIDTH", "LOG_OUT_BUFF_SIZE"}


def _is_power_of_two(value: int) -> bool:
    return value > 0 and value & (value - 1) == 0


@dataclass(frozen=True)
class HardwareConfig:
    """A VTA-compatible core: datatypes, tensor-intrinsic shape, SRAM sizes, timing.

    The ``log_*_buff_size`` values are log2 of bytes. Depths (the number of elements a
    buffer holds, which is what instructions index) are derived properties.
    """

    name: str
    log_batch: int
    log_block_in: int
    log_block_out: int
    log_uop_buff_size: int
    log_inp_buff_size: int
    log_wgt_buff_size: int
    log_acc_buff_size: int
    log_inp_width: int = 3
    log_wgt_width: int = 3
    log_acc_width: int = 5
    clock_mhz: float = 200.0
    dram_bytes_per_cycle: int = 64
    dram_latency_cycles: int = 64

    def __post_init__(self) -> None:
        self._check_datatypes()
        self._check_sizes()
        # Building the layouts checks that every field fits its word.
        from canopy_mlir.isa_format import layouts_for

        layouts_for(self)

    # ----------------------------------------------------------------- checks
    def _check_datatypes(self) -> None:
        widths = (self.log_inp_width, self.log_wgt_width, self.log_acc_width)
        if widths != (3, 3, 5):
            raise ConfigError(
                f"config '{self.name}': LOG_INP_WIDTH/LOG_WGT_WIDTH/LOG_ACC_WIDTH = "
                f"{widths}; only int8 inputs, int8 weights and int32 accumulators "
                "(3, 3, 5) are supported by the core"
            )

    def _check_sizes(self) -> None:
        for field in ("log_batch", "log_block_in", "log_block_out"):
            if not 0 <= getattr(self, field) <= 8:
                raise ConfigError(
                    f"config '{self.name}': {field.upper()} = {getattr(self, field)} "
                    "is outside [0, 8]"
                )
        for buffer, depth in self.depths().items():
            if depth < 1 or not _is_power_of_two(depth):
                raise ConfigError(
                    f"config '{self.name}': the {buffer} buffer holds {depth} elements; "
                    "its LOG_*_BUFF_SIZE must be large enough for at least one element"
                )
        if self.dram_bytes_per_cycle < 1 or self.clock_mhz <= 0:
            raise ConfigError(
                f"config '{self.name}': clock and DRAM bus width must be positive"
            )

    # ------------------------------------------------------- derived shapes
    @property
    def batch(self) -> int:
        return 1 << self.log_batch

    @property
    def block_in(self) -> int:
        return 1 << self.log_block_in

    @property
    def block_out(self) -> int:
        return 1 << self.log_block_out

    @property
    def inp_elem_bytes(self) -> int:
        """Bytes of one INP element: a BATCH x BLOCK_IN int8 tile."""
        return self.batch * self.block_in

    @property
    def wgt_elem_bytes(self) -> int:
        """Bytes of one WGT element: a BLOCK_OUT x BLOCK_IN int8 tile."""
        return self.block_out * self.block_in

    @property
    def acc_elem_bytes(self) -> int:
        """Bytes of one ACC element: a BATCH x BLOCK_OUT int32 tile."""
        return self.batch * self.block_out * 4

    @property
    def out_elem_bytes(self) -> int:
        """Bytes of one OUT (and ACC_8BIT DRAM) element: BATCH x BLOCK_OUT int8."""
        return self.batch * self.block_out

    @property
    def uop_depth(self) -> int:
        return (1 << self.log_uop_buff_size) // UOP_BYTES

    @property
    def inp_depth(self) -> int:
        return (1 << self.log_inp_buff_size) // self.inp_elem_bytes

    @property
    def wgt_depth(self) -> int:
        return (1 << self.log_wgt_buff_size) // self.wgt_elem_bytes

    @property
    def acc_depth(self) -> int:
        return (1 << self.log_acc_buff_size) // self.acc_elem_bytes

    @property
    def out_depth(self) -> int:
        """The output buffer mirrors ACC element for element."""
        return self.acc_depth

    def depths(self) -> dict[str, int]:
        return {
            "UOP": self.uop_depth,
            "INP": self.inp_depth,
            "WGT": self.wgt_depth,
            "ACC": self.acc_depth,
            "OUT": self.out_depth,
        }

    @property
    def pool_alignment(self) -> int:
        """Byte alignment of device buffers: every element kind can address any buffer.

        All element sizes are powers of two, so their least common multiple is the
        largest of them.
        """
        return max(
            INSN_BYTES,
            UOP_BYTES,
            self.inp_elem_bytes,
            self.wgt_elem_bytes,
            self.acc_elem_bytes,
            self.out_elem_bytes,
        )

    @property
    def macs_per_gemm_uop(self) -> int:
        """MACs one GEMM micro-op step performs (the core's peak per cycle)."""
        return self.batch * self.block_in * self.block_out

    # --------------------------------------------------------- conversions
    def with_changes(self, **changes: Any) -> HardwareConfig:
        return replace(self, **changes)

    def to_vta_json(self) -> dict[str, Any]:
        """VTA's JSON form; LOG_BLOCK is written when BLOCK_IN == BLOCK_OUT."""
        result: dict[str, Any] = {"TARGET": self.name}
        for key, field in _VTA_KEYS.items():
            result[key] = getattr(self, field)
        if self.log_block_in == self.log_block_out:
            del result["LOG_BLOCK_IN"], result["LOG_BLOCK_OUT"]
            result["LOG_BLOCK"] = self.log_block_in
        return result

    @classmethod
    def from_vta_json(cls, data: dict[str, Any], source: str = "<dict>") -> HardwareConfig:
        """Build a config from VTA's ``vta_config.json`` keys (plus our timing keys)."""
        data = dict(data)
        kwargs: dict[str, Any] = {"name": str(data.pop("TARGET", Path(source).stem))}
        if "LOG_BLOCK" in data:
            block = data.pop("LOG_BLOCK")
            kwargs["log_block_in"] = kwargs["log_block_out"] = block
        for key in list(data):
            if key in _VTA_IGNORED_KEYS:
                data.pop(key)
            elif key in _VTA_KEYS:
                kwargs[_VTA_KEYS[key]] = data.pop(key)
        if data:
            raise ConfigError(
                f"{source}: unknown hardware-config keys {sorted(data)}; "
                f"known keys are {sorted(_VTA_KEYS) + ['LOG_BLOCK', 'TARGET']}"
            )
        required = {f.name for f in fields(cls) if f.default is MISSING}
        missing = sorted(required - kwargs.keys())
        if missing:
            keys = {v: k for k, v in _VTA_KEYS.items()}
            raise ConfigError(
                f"{source}: missing hardware-config keys "
                f"{[keys.get(m, m.upper()) for m in missing]}"
            )
        for key, value in kwargs.items():
            if key != "name" and not isinstance(value, int | float):
                raise ConfigError(f"{source}: {key.upper()} must be a number, got {value!r}")
        return cls(**kwargs)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


PRESETS: dict[str, HardwareConfig] = {
    # 4Paradigm Canopy / TVM VTA on Intel Arria 10 and Stratix 10 (OpenCL).
    "intelfocl": HardwareConfig(
        name="intelfocl",
        log_batch=0,
        log_block_in=4,
        log_block_out=4,
        log_uop_buff_size=15,
        log_inp_buff_size=15,
        log_wgt_buff_size=18,
        log_acc_buff_size=17,
    ),
    # The same buffers with a 32x32 tensor intrinsic.
    "vitis": HardwareConfig(
        name="vitis",
        log_batch=0,
        log_block_in=5,
        log_block_out=5,
        log_uop_buff_size=15,
        log_inp_buff_size=15,
        log_wgt_buff_size=18,
        log_acc_buff_size=17,
        clock_mhz=300.0,
    ),
    # Small and fast for tests: 4x4 intrinsic, buffers of 64..256 elements, so that
    # random programs hit the depth limits.
    "tiny": HardwareConfig(
        name="tiny",
        log_batch=0,
        log_block_in=2,
        log_block_out=2,
        log_uop_buff_size=10,
        log_inp_buff_size=9,
        log_wgt_buff_size=10,
        log_acc_buff_size=11,
        dram_bytes_per_cycle=8,
        dram_latency_cycles=8,
    ),
    # Batch 2 with BLOCK_IN != BLOCK_OUT: catches code that confuses the three sizes.
    "tiny-b2": HardwareConfig(
        name="tiny-b2",
        log_batch=1,
        log_block_in=2,
        log_block_out=3,
        log_uop_buff_size=10,
        log_inp_buff_size=9,
        log_wgt_buff_size=10,
        log_acc_buff_size=12,
        dram_bytes_per_cycle=8,
        dram_latency_cycles=8,
    ),
}

DEFAULT_CONFIG = PRESETS["intelfocl"]


def load_config(spec: str | Path | HardwareConfig | None = None) -> HardwareConfig:
    """A preset name, a path to a VTA-style JSON file, or a config (returned as is)."""
    if spec is None:
        return DEFAULT_CONFIG
    if isinstance(spec, HardwareConfig):
        return spec
    if str(spec) in PRESETS:
        return PRESETS[str(spec)]
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(
            f"hardware config '{spec}' is neither a preset ({', '.join(PRESETS)}) "
            "nor a JSON file"
        )
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ConfigError(f"{path}: not valid JSON: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: a hardware config must be a JSON object")
    return HardwareConfig.from_vta_json(data, source=str(path))
