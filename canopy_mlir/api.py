"""The Python API: an ONNX model in, a program for the card out, in one call.

    import canopy_mlir
    with canopy_mlir.compile("model.onnx", config="tiny", calibration=8) as model:
        (y,) = model.run({"x": x})                   # OpenCL core (PoCL), card opened once
        (y_sim,) = model.run([x], backend="sim")     # the bit-exact simulator
        print(model.ir_text("tile", elide=16))       # the IR at a level
        model.save("out/")                           # what canopy-compile writes
        print(model.check({"x": x}).text())          # every level against the one above

:func:`compile` runs the ``canopy-default`` pipeline of :mod:`canopy_mlir.tools.pipelines`
cut at the level boundaries, so each level's module is kept (``CompiledModel.ir``):

- ``graph``: the imported model (float, or QDQ from onnxruntime's ``quantize_static``);
- ``quantized``: integer graph ops after the QDQ fold / post-training quantization,
  each op placed on the card or the host (``graph-partition``);
- ``tile``: card work as ``tile`` ops (``convert-graph-to-tile`` and its clean-up); each
  compute op's result is named after the graph value it computes, so the layer-by-layer
  check (:mod:`canopy_mlir.runtime.check`) can match it;
- ``dma``: buffers, copies and launches (``convert-tile-to-dma``), what artifacts hold.

Errors a user can cause (a bad model, file, option or config; a model that does not fit
the card's memory) are :class:`CompileError`, one line saying what and why; anything
else is a compiler bug and propagates as is. See docs/python-api.md.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import ModuleOp
from xdsl.ir import Operation

from canopy_mlir.dialects import graph, tile
from canopy_mlir.frontend.onnx_importer import OnnxImportError
from canopy_mlir.hw import ConfigError, HardwareConfig, load_config
from canopy_mlir.isa_codegen.program import IsaCodegenError
from canopy_mlir.quantization.calibration import CalibrationError
from canopy_mlir.quantization.fixed_point import RequantizationError
from canopy_mlir.runtime.artifact import Artifact
from canopy_mlir.runtime.card import Card
from canopy_mlir.runtime.check import LEVELS_DIR, is_float_graph
from canopy_mlir.runtime.dma_executor import DmaProgram
from canopy_mlir.targets.canopy_artifact import (
    ArtifactError,
    describe_module,
    module_text,
    write_artifact,
)
from canopy_mlir.tiling.cost_model import TilingError
from canopy_mlir.tools.pipelines import (
    NAMED_PIPELINES,
    PipelineError,
    apply_pipeline,
    expand_pipeline,
)
from canopy_mlir.transforms.convert_graph_to_tile import ConvertGraphToTileError
from canopy_mlir.transforms.convert_tile_to_dma import ConvertTileToDmaError
from canopy_mlir.transforms.dma_plan_memory import DmaPlanError
from canopy_mlir.transforms.graph_partition import PartitionError

PIPELINE = "canopy-default"
"""The named pipeline :func:`compile` runs (``canopy-to-dma`` is its alias)."""
LEVELS = ("graph", "quantized", "tile", "dma")

USER_ERRORS: tuple[type[BaseException], ...] = (
    OnnxImportError, CalibrationError, PipelineError, ConfigError, PartitionError,
    ConvertGraphToTileError, TilingError, ConvertTileToDmaError, DmaPlanError, IsaCodegenError,
    RequantizationError, ArtifactError, graph.GraphError, tile.TileError,
)
"""The compiler's user-facing error classes: :func:`compile` turns them into
:class:`CompileError` (and only them: any other exception is a bug)."""

Progress = Callable[[int, int, str], None]
"""``progress(step, steps, what)``: called before each of ``steps`` compile steps."""


class CompileError(ValueError):
    """A model, file or option :func:`compile` cannot take; ``stage`` says where it failed."""

    def __init__(self, message: str, stage: str = "options"):
        super().__init__(message)
        self.stage = stage


# ------------------------------------------------------------------ the stages
def _quoted(value: str) -> str:
    if '"' in value:
        raise CompileError(f"{value!r}: paths with double quotes are not supported")
    return f'"{value}"'


def pipeline_spec(config: str, calibration: str | None = None, calibration_random: int | None = None,
                  **options: Any) -> str:
    """The ``canopy-default{...}`` spec for these options (strings quoted; ``per_channel``
    spelled ``per-channel``; booleans as ``true`` / ``false``)."""
    parts = [f"config={_quoted(config)}"]
    if calibration is not None:
        parts.append(f"calibration={_quoted(calibration)}")
    if calibration_random is not None:
        parts.append(f"calibration-random={calibration_random}")
    for key, value in options.items():
        if value is None:
            continue
        text = ("true" if value else "false") if isinstance(value, bool) else (
            _quoted(value) if isinstance(value, str) else str(value))
        parts.append(f"{key.replace('_', '-')}={text}")
    return PIPELINE + "{" + " ".join(parts) + "}"


@dataclass(frozen=True)
class Stage:
    """Consecutive passes of the pipeline that end at one level (``spec`` in ``-p`` syntax);
    ``names_tile``: :func:`name_tile_results` runs after them."""

    level: str
    spec: str
    description: str
    names_tile: bool = False


_ENDS_QUANTIZED = "graph-partition"
_NAMES_TILE = "convert-graph-to-tile"
_STARTS_DMA = "convert-tile-to-dma"
_DESCRIPTIONS = {
    "quantized": "quantizing and partitioning (graph -> quantized)",
    "tile": "tiling card layers (quantized -> tile)",
    "dma": "generating instructions, planning card memory (tile -> dma)",
}


def pipeline_stages(spec: str) -> list[Stage]:
    """``spec`` (a ``canopy-default{...}``) expanded and cut at the level boundaries:
    after ``graph-partition`` (quantized), before ``convert-tile-to-dma`` (tile), the
    rest (dma). The tile stage is cut once more after ``convert-graph-to-tile``, where
    :func:`name_tile_results` runs. The pass list itself stays in pipelines.py."""
    cuts: list[tuple[str, list[str]]] = [("quantized", [])]
    for item in expand_pipeline(spec, NAMED_PIPELINES):
        if item.name == _STARTS_DMA:
            cuts.append(("dma", []))
        cuts[-1][1].append(str(item))
        if item.name in (_ENDS_QUANTIZED, _NAMES_TILE):
            cuts.append(("tile", []))
    levels = [level for level, _ in cuts]
    if levels != ["quantized", "tile", "tile", "dma"]:
        raise RuntimeError(f"{spec}: expected graph-partition, convert-graph-to-tile and "
                           f"convert-tile-to-dma once each in the pipeline, got stages {levels}")
    return [Stage(level, ",".join(passes), _DESCRIPTIONS[level], names_tile=index == 1)
            for index, (level, passes) in enumerate(cuts)]


def name_tile_results(module: ModuleOp) -> None:
    """Name each unnamed tile compute result after the graph value it computes (the name
    its unpack, or the reshape after it, carries), before the clean-up removes the
    unpacks between card ops; convert-tile-to-dma names the output buffer the same."""
    for op in module.walk():
        if not isinstance(op, tile.ComputeOp) or op.results[0].name_hint:
            continue
        name = _unpacked_name(op)
        if name:
            op.results[0].name_hint = name


def _unpacked_name(op: Operation) -> str | None:
    for use in op.results[0].uses:
        unpack = use.operation
        if not isinstance(unpack, tile.UnpackOp):
            continue
        if unpack.result.name_hint:
            return unpack.result.name_hint
        for inner in unpack.result.uses:
            if isinstance(inner.operation, graph.ReshapeOp) and inner.operation.results[0].name_hint:
                return inner.operation.results[0].name_hint
    return None


# ------------------------------------------------------------------ compile
def _load_model(model: Any) -> Any:
    import onnx

    if isinstance(model, onnx.ModelProto):
        return model
    if isinstance(model, str | Path):
        path = Path(model)
        if not path.is_file():
            raise CompileError(f"{path}: no such file", "import")
        try:
            return onnx.load(str(path))
        except Exception as error:  # noqa: BLE001 - onnx raises protobuf's DecodeError and others
            raise CompileError(f"{path}: not a readable ONNX model ({type(error).__name__})", "import") from None
    raise CompileError(f"model must be an onnx.ModelProto, a path or a graph-level ModuleOp, "
                       f"got {type(model).__name__}", "import")


def _calibration_options(calibration: Any, scratch: Path) -> dict[str, Any]:
    if calibration is None:
        return {}
    if isinstance(calibration, bool):
        raise CompileError("calibration must be None, an int, a .npz path or a dict of arrays, got a bool")
    if isinstance(calibration, int | np.integer):
        if calibration < 1:
            raise CompileError(f"calibration=N needs N >= 1 random inputs, got {calibration}")
        return {"calibration_random": int(calibration)}
    if isinstance(calibration, str | Path):
        if not Path(calibration).is_file():
            raise CompileError(f"{calibration}: no such calibration file")
        return {"calibration": str(calibration)}
    if isinstance(calibration, Mapping):
        path = scratch / "calibration.npz"
        np.savez(path, **{str(k): np.asarray(v) for k, v in calibration.items()})
        return {"calibration": str(path)}
    raise CompileError(f"calibration must be None, an int, a .npz path or a dict of arrays, "
                       f"got {type(calibration).__name__}")


def _config_name(config: str | HardwareConfig | Path) -> str:
    if isinstance(config, HardwareConfig):
        raise CompileError("config: give a preset name or a VTA JSON file path (a HardwareConfig "
                           "object cannot be named in the pipeline)")
    text = str(config)
    if text.endswith(".json") and not Path(text).is_file():
        raise CompileError(f"{text}: no such hardware-config file")
    try:
        load_config(text)
    except ConfigError as error:
        raise CompileError(str(error)) from None
    return text


def compile(  # noqa: A001 - the API's name, as in the issue
    model: Any,
    config: str | Path = "intelfocl",
    calibration: None | int | str | Path | Mapping[str, np.ndarray] = None,
    *,
    card_memory: int | None = None,
    progress: Progress | None = None,
    **quantize_options: Any,
) -> CompiledModel:
    """Compile ``model`` (an ``onnx.ModelProto``, a path, or a graph-level ``ModuleOp`` as
    the importer makes, which is not modified) for ``config`` (a preset name or a VTA
    JSON file).

    A float model is quantized only with ``calibration``: an int N (N random inputs,
    smoke tests only), an ``.npz`` path or a dict ``input name -> samples`` (stacked on a
    leading axis); without it every op stays on the host. A QDQ model needs none.
    ``quantize_options`` go to ``graph-quantize`` (``method``, ``per_channel``,
    ``symmetric``, ``seed``, ``percentile``) and ``graph-partition``
    (``first_conv_min_channels``: 0 sends every entry conv to the card,
    ``first_conv_min_utilisation``); ``card_memory`` bounds the card pool.
    Raises :class:`CompileError` for what a user can fix.
    """
    from canopy_mlir.frontend.onnx_importer import import_onnx

    started = time.perf_counter()
    config_name = _config_name(config)
    with tempfile.TemporaryDirectory(prefix="canopy-calibration-") as scratch:
        options = _calibration_options(calibration, Path(scratch))
        spec = pipeline_spec(config_name, card_memory=card_memory, **options, **quantize_options)
        try:
            stages = pipeline_stages(spec)
        except PipelineError as error:
            raise CompileError(str(error)) from None
        steps = len(LEVELS)  # the import, then one step per level below the graph
        if progress:
            progress(0, steps, "importing the model")
        onnx_model = None if isinstance(model, ModuleOp) else _load_model(model)
        stage = "import"
        try:
            module = model.clone() if onnx_model is None else import_onnx(onnx_model)
            ir: dict[str, ModuleOp] = {"graph": module.clone()}
            step = 1
            for index, piece in enumerate(stages):
                stage = piece.level
                if progress and (index == 0 or piece.level != stages[index - 1].level):
                    progress(step, steps, piece.description)
                    step += 1
                apply_pipeline(module, piece.spec)
                if piece.names_tile:
                    name_tile_results(module)
                if index + 1 == len(stages) or stages[index + 1].level != piece.level:
                    ir[piece.level] = module if piece.level == "dma" else module.clone()
        except USER_ERRORS as error:
            message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CompileError(f"{stage}: {message}", stage) from None
    compiled = CompiledModel(ir, load_config(config_name), spec)
    compiled.compile_seconds = time.perf_counter() - started
    return compiled


# ------------------------------------------------------------------ the result
def _host_ops_by_kind(manifest: Mapping[str, Any]) -> Counter:
    return Counter(manifest["host_ops"])


@dataclass
class CompiledModel:
    """A compiled model: its IR at each level, runnable on a card, savable as an artifact.

    ``ir`` maps each of :data:`LEVELS` to its ``ModuleOp`` (constants inline; treat them
    as read-only: :meth:`run` executes ``ir["dma"]``). ``manifest`` is what the artifact's
    manifest.json says (less files and checksums). Cards opened by :meth:`run` stay open
    until :meth:`close` (or the end of a ``with`` block).
    """

    ir: dict[str, ModuleOp]
    config: HardwareConfig
    spec: str
    manifest: dict[str, Any] = field(init=False)
    compile_seconds: float = 0.0
    _programs: dict[tuple[str, Any], DmaProgram] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.manifest = describe_module(self.ir["dma"])
        self._artifact = Artifact(Path("<memory>"), self.manifest, self.config, self.ir["dma"])

    # ---------------------------------------------------------- what it is
    @property
    def input_names(self) -> list[str]:
        return self._artifact.input_names

    @property
    def output_names(self) -> list[str]:
        return self._artifact.output_names

    @property
    def float_model(self) -> bool:
        """Whether the imported graph is a float model (no quantize / dequantize ops)."""
        return is_float_graph(self.ir["graph"])

    def summary(self) -> dict[str, Any]:
        """Card and host layers, launches, instructions, pool bytes (from the manifest)."""
        card_ops = [op.name for op in self.ir["tile"].walk() if isinstance(op, tile.ComputeOp)]
        return {
            "config": self.config.name,
            "card_layers": len(card_ops),
            "card_layer_kinds": dict(sorted(Counter(card_ops).items())),
            "host_ops": len(self.manifest["host_ops"]),
            "host_op_kinds": dict(sorted(_host_ops_by_kind(self.manifest).items())),
            "launches": len(self.manifest["launches"]),
            "instructions": self.manifest["instructions"],
            "pool_bytes": self.manifest["pool_bytes"],
            "buffers": len(self.manifest["buffers"]),
            "constants": sum(1 for b in self.manifest["buffers"] if b["op"] == "dma.constant"),
            "compile_seconds": round(self.compile_seconds, 3),
        }

    def summary_lines(self) -> list[str]:
        """The summary canopy-compile prints."""
        s = self.summary()
        host = ", ".join(f"{name} x{count}" for name, count in s["host_op_kinds"].items()) or "none"
        card = ", ".join(f"{name} x{count}" for name, count in s["card_layer_kinds"].items()) or "none"
        return [
            f"config: {s['config']}",
            f"card: {s['card_layers']} layers ({card}), {s['launches']} launches, "
            f"{s['instructions']} instructions",
            f"host: {s['host_ops']} ops ({host})",
            f"pool: {s['pool_bytes']} bytes, {s['buffers']} buffers ({s['constants']} constants)",
        ]

    def ir_text(self, level: str, elide: int | None = None) -> str:
        """The module at ``level`` as text (constants larger than ``elide`` elements
        printed as ``dense_resource<__elided__>``; None prints them whole)."""
        from canopy_mlir.tools.printing import eliding_constants_larger_than, print_ir

        if level not in self.ir:
            raise KeyError(f"no level {level!r}; the levels are {', '.join(LEVELS)}")
        if elide is None:
            return module_text(self.ir[level])
        stream = StringIO()
        with eliding_constants_larger_than(elide):
            print_ir(self.ir[level], stream)
        return stream.getvalue()

    # ---------------------------------------------------------- running
    def card(self, backend: str = "opencl", device: Any = None) -> Card:
        """The card :meth:`run` uses for ``backend`` / ``device`` (opened on first use)."""
        return self._program(backend, device).card

    def _program(self, backend: str, device: Any) -> DmaProgram:
        key = (backend, device)
        program = self._programs.get(key)
        if program is None:
            card = self._artifact.open_card(backend, device)
            program = DmaProgram(self.ir["dma"], card, self.manifest["function"])
            self._programs[key] = program
        return program

    def run(self, inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray], backend: str = "opencl",
            device: Any = None) -> list[np.ndarray]:
        """Run once; ``inputs`` by name or in order, with the model's shapes and dtypes;
        the outputs in order (:attr:`output_names`). The first run on a backend opens
        its card and writes the constants; later runs reuse both."""
        arrays = self._artifact.check_inputs(inputs)
        return self._program(backend, device).run(arrays)

    def close(self) -> None:
        """Free the cards' pool regions (a later :meth:`run` opens a card again)."""
        for program in self._programs.values():
            program.close()
        self._programs.clear()

    def __enter__(self) -> CompiledModel:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------- saving, checking
    def save(self, directory: str | Path, levels: bool = True) -> dict[str, Any]:
        """Write the canopy artifact (``canopy-run`` / ``load_artifact`` read it) and, with
        ``levels``, ``levels/{graph,quantized,tile}.mlir`` beside it for ``--check``; the
        manifest."""
        directory = Path(directory)
        stale = directory / LEVELS_DIR
        if stale.is_dir():
            _remove_levels(stale)
        manifest = write_artifact(self.ir["dma"], directory)
        if levels:
            self.write_levels(directory / LEVELS_DIR, ("graph", "quantized", "tile"))
        return manifest

    def write_levels(self, directory: str | Path, levels: Sequence[str] = LEVELS) -> list[Path]:
        """Each level's full text as ``directory/<level>.mlir``; the paths."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        paths = []
        for level in levels:
            path = directory / f"{level}.mlir"
            path.write_text(module_text(self.ir[level]))
            paths.append(path)
        return paths

    def check(self, inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray], backend: str = "sim",
              device: Any = None, tolerance: float | None = None):
        """Run every level on ``inputs`` and compare them layer by layer
        (:func:`canopy_mlir.runtime.check.check_levels`); the report."""
        from canopy_mlir.runtime.check import DEFAULT_TOLERANCE, check_levels

        arrays = self._artifact.check_inputs(inputs)
        modules = {level: self.ir[level] for level in ("graph", "quantized", "tile")}
        return check_levels(modules, self.ir["dma"], arrays, self.config, float_graph=self.float_model,
                            backends=_backends(backend, device),
                            tolerance=DEFAULT_TOLERANCE if tolerance is None else tolerance)


def _backends(backend: str, device: Any) -> list[tuple[str, Any]]:
    return [("sim", None)] if backend == "sim" else [("sim", None), (backend, device)]


def _remove_levels(directory: Path) -> None:
    """Remove a levels folder this API wrote (only .mlir files: nothing else is ours)."""
    strays = [p.name for p in directory.iterdir() if not (p.is_file() and p.suffix == ".mlir")]
    if strays:
        raise CompileError(f"{directory} holds {strays[0]}, which save() does not write; "
                           "give an empty or new directory", "save")
    shutil.rmtree(directory)


__all__ = [
    "LEVELS",
    "LEVELS_DIR",
    "USER_ERRORS",
    "CompileError",
    "CompiledModel",
    "Stage",
    "compile",
    "name_tile_results",
    "pipeline_spec",
    "pipeline_stages",
]
