"""Layer-by-layer check: run a compiled model at every level and name where they part.

    report = check_levels({"graph": g, "quantized": q, "tile": t}, dma_module, [x], config)
    print(report.text())            # one line per level, then the first divergence
    report.first                    # (level, LayerDiff) of the first divergence, or None

The levels, top to bottom, each compared with the one above it:

- ``graph``: the imported model in the graph interpreter (float, or QDQ);
- ``quantized``: the integer graph in the graph interpreter. Against a graph level it
  cannot be bit-exact (quantization), so a layer passes when the integer tensor is an
  affine image of the float one up to ``tolerance``: with ``f ~ a*q + b`` fitted by least
  squares (a > 0), the residual's RMS over the float tensor's spread (``sqrt(1 - r^2)``,
  r the correlation) is at most ``tolerance``. The scale and zero point are fitted
  rather than read: the quantized graph keeps no scale for inner tensors.
- ``tile``: the tile interpreter (``run_tile``'s ops); bit-exact with ``quantized``;
- ``sim`` and the device (``opencl``): the dma-level program on the simulator and on
  the OpenCL core; bit-exact with the level above. Card-made tensors are read back from
  the card's pool after each launch's wait.

Layers are matched by SSA name: the importer names each value after its ONNX tensor,
the quantize passes keep the name on the integer value that replaces it,
:func:`canopy_mlir.api.name_tile_results` gives tile compute results that name and
convert-tile-to-dma gives it to their output buffers. Values are compared in the lower
level's execution order; the first layer that differs in the first level that differs
is the one to look at (everything after it inherits the difference).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType
from xdsl.dialects.func import FuncOp
from xdsl.interpreter import Interpreter
from xdsl.ir import Operation, SSAValue

from canopy_mlir.dialects import dma, graph, tile
from canopy_mlir.hw import HardwareConfig
from canopy_mlir.interpreters import graph_interpreter, tile_interpreter
from canopy_mlir.runtime.allocator import align_up
from canopy_mlir.runtime.artifact import Artifact
from canopy_mlir.runtime.card import CardError, open_card
from canopy_mlir.runtime.dma_executor import DmaExecutionError, DmaFunctions, DmaProgram
from canopy_mlir.targets.canopy_artifact import CONFIG_FILE

DEFAULT_TOLERANCE = 0.2
"""Largest residual / spread of an integer layer against its float layer (r >= 0.98)."""

Captured = dict[str, tuple[str, np.ndarray]]
"""Layer name -> (op name, logical array), in execution order."""


class CheckError(RuntimeError):
    """A level could not be run at all (the message says which and why)."""


# ------------------------------------------------------------------ capture
def _main(module: ModuleOp, name: str = "main") -> FuncOp:
    functions = [op for op in module.ops if isinstance(op, FuncOp) and not op.is_declaration]
    for function in functions:
        if function.sym_name.data == name:
            return function
    if len(functions) == 1:
        return functions[0]
    raise CheckError(f"the module has no @{name}")


class _Recorder(Interpreter.Listener):
    """Keeps each named tensor result (blocked ones unpacked), first come first named."""

    def __init__(self) -> None:
        self.values: Captured = {}
        self._names: dict[SSAValue, str] = {}

    def key(self, value: SSAValue) -> str | None:
        if value in self._names:
            return self._names[value]
        hint = value.name_hint
        if not hint:
            return None
        key, count = hint, 0
        while key in self.values:
            count += 1
            key = f"{hint}_{count}"
        self._names[value] = key
        return key

    def record(self, value: SSAValue, op: Operation, array: Any) -> None:
        key = self.key(value)
        if key is None or key in self.values:
            return
        self.values[key] = (op.name, np.array(array, copy=True))

    def did_interpret_op(self, op: Operation, results: tuple[Any, ...]) -> None:
        if isinstance(op, graph.ConstantOp | dma.ConstantOp | dma.AllocOp | tile.PackOp):
            return
        for value, result in zip(op.results, results, strict=False):
            if isinstance(value.type, TensorType) and isinstance(result, np.ndarray | np.generic):
                self.record(value, op, result)
            elif isinstance(value.type, tile.BlockedType) and isinstance(result, np.ndarray):
                self.record(value, op, tile_interpreter.unpack_array(result, value.type))


def _call(interpreter: Interpreter, module: ModuleOp, inputs: Sequence[np.ndarray]) -> None:
    interpreter.call_op(_main(module), tuple(inputs))


def _capture(interpreter: Interpreter, module: ModuleOp, inputs: Sequence[np.ndarray]) -> Captured:
    recorder = _Recorder()
    interpreter.listeners = (recorder,)
    _call(interpreter, module, inputs)
    return recorder.values


def capture_graph(module: ModuleOp, inputs: Sequence[np.ndarray]) -> Captured:
    """Every named tensor of a graph-level module run by the graph interpreter."""
    return _capture(graph_interpreter.build_interpreter(module), module, inputs)


def capture_tile(module: ModuleOp, inputs: Sequence[np.ndarray]) -> Captured:
    """Every named tensor (tile compute results unpacked) of a tile-level module."""
    return _capture(tile_interpreter.build_interpreter(module), module, inputs)


class _CardRecorder(_Recorder):
    """Also reads each launch's named output buffers back from the pool after its wait
    (their layout is the tile compute result's of the same name; an i32 result as its
    byte planes)."""

    def __init__(self, program: DmaProgram, layouts: Mapping[str, tile.BlockedType]):
        super().__init__()
        self.program, self.layouts = program, layouts

    def did_interpret_op(self, op: Operation, results: tuple[Any, ...]) -> None:
        super().did_interpret_op(op, results)
        if not isinstance(op, dma.WaitOp):
            return
        launch = op.operands[0].owner
        if not isinstance(launch, dma.LaunchOp):
            return
        for buffer in launch.writes:
            layout = self.layouts.get(buffer.name_hint or "")
            if layout is None:
                continue
            shape, dtype = tile_interpreter.blocked_shape_dtype(layout)
            placed = self.program.buffer(buffer)
            # card programs store i32 (!tile.acc) results as byte planes
            data = self.program.read_elements(placed.offset, dtype, int(np.prod(shape)),
                                              planar=isinstance(layout, tile.AccType))
            self.record(buffer, launch, tile_interpreter.unpack_array(np.asarray(data).reshape(shape), layout))


def blocked_layouts(tile_module: ModuleOp) -> dict[str, tile.BlockedType]:
    """Name -> blocked result type of each named tile compute op."""
    return {op.results[0].name_hint: op.results[0].type for op in tile_module.walk()
            if isinstance(op, tile.ComputeOp) and op.results[0].name_hint
            and isinstance(op.results[0].type, tile.BlockedType)}


def capture_card(module: ModuleOp, inputs: Sequence[np.ndarray], config: HardwareConfig, backend: str,
                 layouts: Mapping[str, tile.BlockedType], device: Any = None) -> Captured:
    """Every named host tensor and card-made tensor of a dma-level module run on a fresh
    card of ``backend``."""
    function = _main(module)
    pool = function.attributes.get("dma.pool_bytes")
    pool_bytes = pool.value.data if pool is not None else 0  # type: ignore[union-attr]
    try:
        card = open_card(config, pool_bytes=align_up(max(int(pool_bytes), 4096), config.pool_alignment),
                         backend=backend, device=device)
        program = DmaProgram(module, card, function.sym_name.data)
    except (CardError, DmaExecutionError) as error:
        raise CheckError(f"cannot run the {backend} level: {error}") from None
    try:
        recorder = _CardRecorder(program, layouts)
        interpreter = tile_interpreter.build_interpreter(module)
        interpreter.register_implementations(DmaFunctions(program))
        interpreter.listeners = (recorder,)
        interpreter.call_op(function, tuple(inputs))
        return recorder.values
    finally:
        program.close()


# ------------------------------------------------------------------ compare
@dataclass
class LayerDiff:
    """One layer of a level against the level above: how far apart, and whether too far."""

    name: str
    op: str
    shape: tuple[int, ...]
    max_abs: float
    differing: int
    size: int
    ok: bool
    correlation: float | None = None
    """For a tolerance comparison: the fitted correlation r (1 is a perfect affine match)."""

    def describe(self) -> str:
        text = f"{self.name} ({self.op}, shape {list(self.shape)}): max |diff| {self.max_abs:g}"
        if self.correlation is not None:
            text += f", correlation {self.correlation:.4f}"
        else:
            text += f", {self.differing} of {self.size} elements differ"
        return text


@dataclass
class LevelReport:
    """A level against the one above (``reference`` None for the top level)."""

    level: str
    reference: str | None
    exact: bool
    layers: list[LayerDiff] = field(default_factory=list)
    note: str = ""

    @property
    def first(self) -> LayerDiff | None:
        return next((layer for layer in self.layers if not layer.ok), None)

    @property
    def max_abs(self) -> float:
        return max((layer.max_abs for layer in self.layers), default=0.0)

    def line(self) -> str:
        if self.reference is None:
            return f"{self.level:<10} reference ({self.note})" if self.note else f"{self.level:<10} reference"
        if not self.layers:
            return f"{self.level:<10} vs {self.reference:<10} no common layers{': ' + self.note if self.note else ''}"
        how = "bit-exact" if self.exact else "within tolerance"
        bad = sum(1 for layer in self.layers if not layer.ok)
        verdict = how if not bad else f"{bad} of {len(self.layers)} layers differ"
        return (f"{self.level:<10} vs {self.reference:<10} {len(self.layers)} layers, {verdict}, "
                f"max |diff| {self.max_abs:g}")


@dataclass
class CheckReport:
    """Every level's comparison, top to bottom."""

    levels: list[LevelReport]
    missing: list[str] = field(default_factory=list)

    @property
    def first(self) -> tuple[str, LayerDiff] | None:
        """(level, layer) of the first divergence, or None when all levels agree."""
        for level in self.levels:
            if level.first is not None:
                return level.level, level.first
        return None

    @property
    def ok(self) -> bool:
        return self.first is None

    def text(self) -> str:
        lines = [level.line() for level in self.levels]
        lines += [f"not checked: {what}" for what in self.missing]
        first = self.first
        if first is None:
            lines.append("all checked levels agree" if self.missing else "all levels agree")
        else:
            level, layer = first
            above = next(r.reference for r in self.levels if r.level == level)
            lines.append(f"first divergence: level '{level}' (against '{above}'), layer {layer.describe()}")
        return "\n".join(lines)


def _exact(name: str, op: str, reference: np.ndarray, value: np.ndarray) -> LayerDiff:
    """Bit-exact comparison (NaN equals NaN: the same float op gives the same NaN)."""
    same = (value == reference) | (np.isnan(value) & np.isnan(reference)) if value.dtype.kind == "f" \
        else value == reference
    differing = int(same.size - np.count_nonzero(same))
    diff = np.abs(value.astype(np.float64) - reference.astype(np.float64))
    return LayerDiff(name, op, tuple(value.shape), float(np.nanmax(diff, initial=0.0)), differing,
                     value.size, differing == 0)


def _tolerant(name: str, op: str, reference: np.ndarray, value: np.ndarray, tolerance: float) -> LayerDiff:
    target = reference.astype(np.float64).ravel()
    got = value.astype(np.float64).ravel()
    spread = float(target.std())
    if got.std() == 0.0 or spread == 0.0:
        fitted = np.full_like(target, target.mean()) if got.std() == 0.0 else target
        residual = float(np.sqrt(np.mean((target - fitted) ** 2)))
        ok = residual <= tolerance * max(spread, float(np.abs(target).max(initial=0.0)), 1e-12)
        correlation = 1.0 if ok else 0.0
        max_abs = float(np.abs(target - fitted).max(initial=0.0))
    else:
        slope, intercept = np.polyfit(got, target, 1)
        fitted = slope * got + intercept
        correlation = float(np.corrcoef(got, target)[0, 1])
        residual = float(np.sqrt(np.mean((target - fitted) ** 2)))
        ok = slope > 0 and residual <= tolerance * spread
        max_abs = float(np.abs(target - fitted).max(initial=0.0))
    return LayerDiff(name, op, tuple(value.shape), max_abs, 0 if ok else int(got.size), got.size, ok,
                     correlation)


def compare(level: str, reference_level: str, reference: Captured, values: Captured, *, exact: bool,
            tolerance: float = DEFAULT_TOLERANCE) -> LevelReport:
    """``values`` against ``reference`` on their common layer names (lower level's order);
    layers whose sizes differ are not comparable and left out."""
    report = LevelReport(level, reference_level, exact)
    for name, (op, array) in values.items():
        if name not in reference:
            continue
        _, expected = reference[name]
        if expected.size != array.size:
            continue
        expected = expected.reshape(array.shape)
        if exact:
            report.layers.append(_exact(name, op, expected, array))
        else:
            report.layers.append(_tolerant(name, op, expected, array, tolerance))
    return report


def check_levels(modules: Mapping[str, ModuleOp | None], dma_module: ModuleOp, inputs: Sequence[np.ndarray],
                 config: HardwareConfig, *, float_graph: bool = True,
                 backends: Sequence[tuple[str, Any]] = (("sim", None),),
                 tolerance: float = DEFAULT_TOLERANCE) -> CheckReport:
    """Run ``modules`` (``graph``, ``quantized``, ``tile``; None or absent = missing) and
    the dma module on each of ``backends`` on ``inputs`` (in argument order), each level
    compared with the nearest level above it that ran."""
    missing = [f"{level} level (no IR)" for level in ("graph", "quantized", "tile") if modules.get(level) is None]
    runs: list[tuple[str, Captured, bool]] = []  # (level, values, integer-exact against the level above)
    if modules.get("graph") is not None:
        runs.append(("graph", capture_graph(modules["graph"], inputs), False))  # type: ignore[arg-type]
    if modules.get("quantized") is not None:
        runs.append(("quantized", capture_graph(modules["quantized"], inputs), False))  # type: ignore[arg-type]
    layouts: dict[str, tile.BlockedType] = {}
    if modules.get("tile") is not None:
        runs.append(("tile", capture_tile(modules["tile"], inputs), True))  # type: ignore[arg-type]
        layouts = blocked_layouts(modules["tile"])  # type: ignore[arg-type]
    else:
        layouts = _layouts_from_dma(dma_module)
    for backend, device in backends:
        runs.append((backend, capture_card(dma_module, inputs, config, backend, layouts, device), True))
    reports = [LevelReport(runs[0][0], None, True, note="float graph" if float_graph else "QDQ graph")
               if runs[0][0] == "graph" else LevelReport(runs[0][0], None, True)]
    for (above, reference, _), (level, values, exact) in zip(runs, runs[1:], strict=False):
        reports.append(compare(level, above, reference, values, exact=exact, tolerance=tolerance))
    return CheckReport(reports, missing)


LEVELS_DIR = "levels"
"""Where canopy-compile --emit-mlir / ``CompiledModel.save`` put the upper levels' IR."""
UPPER_LEVELS = ("graph", "quantized", "tile")


def load_levels(artifact: Artifact) -> tuple[dict[str, ModuleOp | None], list[str]]:
    """The upper levels' modules saved beside ``artifact`` (None where a file is missing),
    and one line per missing file saying how to get it."""
    from xdsl.parser import Parser
    from xdsl.utils.exceptions import ParseError

    from canopy_mlir.dialects import make_context

    modules: dict[str, ModuleOp | None] = {}
    notes = []
    for level in UPPER_LEVELS:
        path = artifact.directory / LEVELS_DIR / f"{level}.mlir"
        if not path.is_file():
            modules[level] = None
            notes.append(f"{path} is missing: compile with canopy-compile --emit-mlir (or "
                         f"CompiledModel.save(levels=True)) to check the {level} level")
            continue
        try:
            module = Parser(make_context(), path.read_text(), str(path)).parse_module()
        except ParseError as error:
            raise CheckError(f"{path}: cannot parse: {str(error).splitlines()[0]}") from None
        if "file" in artifact.manifest["config"]:
            for op in module.walk():
                if tile.CONFIG_ATTR in op.attributes:
                    op.attributes[tile.CONFIG_ATTR] = StringAttr(str(artifact.directory / CONFIG_FILE))
        modules[level] = module
    return modules, notes


def check_artifact(artifact: Artifact, inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray],
                   backend: str = "opencl", device: Any = None,
                   tolerance: float = DEFAULT_TOLERANCE) -> CheckReport:
    """:func:`check_levels` on a loaded artifact and the levels saved beside it: the
    simulator against the tile interpreter, and ``backend`` (unless "sim") against it."""
    arrays = artifact.check_inputs(inputs)
    modules, notes = load_levels(artifact)
    float_graph = modules["graph"] is not None and is_float_graph(modules["graph"])
    backends = [("sim", None)] + ([(backend, device)] if backend != "sim" else [])
    report = check_levels(modules, artifact.module, arrays, artifact.config, float_graph=float_graph,
                          backends=backends, tolerance=tolerance)
    report.missing = notes
    return report


def is_float_graph(module: ModuleOp) -> bool:
    """Whether a graph-level module is a float model (no quantize / dequantize ops)."""
    return not any(isinstance(op, graph.QuantizeLinearOp | graph.DequantizeLinearOp) for op in module.walk())


def _layouts_from_dma(module: ModuleOp) -> dict[str, tile.BlockedType]:
    """Without the tile level: the blocked type of each card buffer copied to the host."""
    layouts = {}
    for op in module.walk():
        if isinstance(op, dma.CopyToHostOp) and op.buffer.name_hint and isinstance(op.result.type, tile.BlockedType):
            layouts[op.buffer.name_hint] = op.result.type
    return layouts


__all__ = [
    "DEFAULT_TOLERANCE",
    "CheckError",
    "CheckReport",
    "LayerDiff",
    "LevelReport",
    "LEVELS_DIR",
    "blocked_layouts",
    "check_artifact",
    "load_levels",
    "capture_card",
    "capture_graph",
    "capture_tile",
    "check_levels",
    "compare",
    "is_float_graph",
]
