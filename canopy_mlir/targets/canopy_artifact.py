"""The ``canopy-artifact`` target: a dma-level module as a directory a runtime can load.

``canopy-opt -f onnx model.onnx -p canopy-default -t canopy-artifact -o DIR`` writes:

- ``module.mlir``: the dma-level module, every ``dma.constant`` value replaced by a
  ``dense_resource<NAME>`` reference (so the text stays small and diffable);
- ``NAME.bin`` per ``dma.constant``: its raw little-endian bytes (instructions, micro-ops,
  weights, vectors), in the order the constants appear;
- ``config.json`` only for a config that is not a preset (VTA's JSON keys);
- ``manifest.json``: format version, the config (name and all parameters), pool bytes,
  buffers, launches, host ops, inputs / outputs and the sha256 of every other file.

The same module always gives the same bytes: keys sorted, no timestamps or paths, names
derived from program order. :mod:`canopy_mlir.runtime.artifact` loads it back.
See docs/artifacts.md.
"""

from __future__ import annotations

import hashlib
import json
from io import StringIO
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, ClassVar

from xdsl.context import Context
from xdsl.dialects.builtin import DenseResourceAttr, ModuleOp, StringAttr, TensorType
from xdsl.dialects.func import FuncOp
from xdsl.ir import Attribute
from xdsl.utils.target import Target

from canopy_mlir.dialects import dma, tile
from canopy_mlir.hw import PRESETS, HardwareConfig
from canopy_mlir.tools.printing import eliding_constants_larger_than, print_ir

FORMAT_VERSION = 1
"""Bumped whenever a reader of an older artifact would misread a newer one."""
MANIFEST = "manifest.json"
MODULE = "module.mlir"
CONFIG_FILE = "config.json"
DMA_OPS = ("dma.",)


class ArtifactError(ValueError):
    """A module that cannot be written as (or a directory that is not) a canopy artifact."""


def _main_function(module: ModuleOp) -> FuncOp:
    functions = [op for op in module.ops if isinstance(op, FuncOp) and not op.is_declaration]
    names = [f.sym_name.data for f in functions]
    if "main" in names:
        return functions[names.index("main")]
    if len(functions) == 1:
        return functions[0]
    raise ArtifactError(
        f"canopy-artifact: want one function or @main, got {', '.join('@' + n for n in names) or 'none'}"
    )


def _value_names(attrs: Any, count: int, prefix: str) -> list[str]:
    """ONNX names from ``{onnx.name = ...}`` argument / result attributes, else arg0..."""
    names = []
    for index in range(count):
        name = None
        if attrs is not None:
            entry = attrs.data[index].data.get("onnx.name")
            if isinstance(entry, StringAttr):
                name = entry.data
        names.append(name or f"{prefix}{index}")
    return names


def _tensor_entries(names: list[str], types: tuple[Attribute, ...]) -> list[dict[str, Any]]:
    from canopy_mlir.interpreters.graph_interpreter import element_dtype

    entries = []
    for name, type_ in zip(names, types, strict=True):
        if not isinstance(type_, TensorType):
            raise ArtifactError(f"canopy-artifact: {name} has type {type_}, not a tensor")
        entries.append({"name": name, "shape": list(type_.get_shape()),
                        "dtype": str(element_dtype(type_.element_type))})
    return entries


def module_text(module: ModuleOp) -> str:
    """The module's full text: never elided (canopy-opt may be eliding its own output)."""
    stream = StringIO()
    with eliding_constants_larger_than(None):
        print_ir(module, stream)
    return stream.getvalue()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _config_entry(function: FuncOp) -> tuple[HardwareConfig, bool]:
    """The function's config and whether it is a preset (else config.json carries it)."""
    try:
        config = tile.config_of(function)
    except tile.TileError as error:
        raise ArtifactError(f"canopy-artifact: {error}") from None
    if config is None:
        raise ArtifactError("canopy-artifact: the function has no 'tile.config': run canopy-default")
    return config, PRESETS.get(config.name) == config


def _set_config_attrs(module: ModuleOp, value: str) -> None:
    for op in module.walk():
        if tile.CONFIG_ATTR in op.attributes:
            op.attributes[tile.CONFIG_ATTR] = StringAttr(value)


def describe_module(module: ModuleOp) -> dict[str, Any]:
    """What the manifest says about the program (everything but files and checksums)."""
    function = _main_function(module)
    config, _ = _config_entry(function)
    buffers, launches, host_ops = [], [], []
    for op in function.walk():
        if isinstance(op, dma.AllocOp | dma.ConstantOp):
            buffers.append({"name": op.result.name_hint, "op": op.name, "kind": op.kind.data,
                            "offset": op.planned_offset, "nbytes": op.nbytes})
        elif isinstance(op, dma.LaunchOp):
            launches.append({"first": op.first_index, "count": op.insn_count})
        elif op is not function and not op.name.startswith(DMA_OPS) and op.name != "func.return":
            host_ops.append(op.name)
    pool = function.attributes.get("dma.pool_bytes")
    types = function.function_type
    return {
        "format_version": FORMAT_VERSION,
        "function": function.sym_name.data,
        "config": {"name": config.name, "parameters": config.as_dict()},
        "pool_bytes": pool.value.data if pool is not None else 0,  # type: ignore[union-attr]
        "buffers": buffers,
        "launches": launches,
        "instructions": sum(launch["count"] for launch in launches),
        "host_ops": host_ops,
        "inputs": _tensor_entries(_value_names(function.arg_attrs, len(types.inputs), "arg"),
                                  tuple(types.inputs)),
        "outputs": _tensor_entries(_value_names(function.res_attrs, len(types.outputs), "result"),
                                   tuple(types.outputs)),
    }


def write_artifact(module: ModuleOp, directory: str | Path) -> dict[str, Any]:
    """Write ``module`` (dma level, planned) as an artifact in ``directory``; the manifest.

    An existing directory is emptied of our files first so that stale ``.bin`` files of
    an earlier compile cannot linger; anything else in it is an error (no silent rm -rf).
    """
    directory = Path(directory)
    manifest = describe_module(module)  # before touching the directory: may refuse the module
    _prepare_directory(directory)
    module = module.clone()
    function = _main_function(module)
    config, is_preset = _config_entry(function)
    files: dict[str, str] = {}
    placed = [op for op in function.walk() if isinstance(op, dma.AllocOp | dma.ConstantOp)]
    constants = [(entry, op) for entry, op in zip(manifest["buffers"], placed, strict=True)
                 if isinstance(op, dma.ConstantOp)]
    for index, (entry, op) in enumerate(constants):
        key = f"c{index:03d}_{op.kind.data}"
        (directory / f"{key}.bin").write_bytes(op.data())
        entry["file"] = f"{key}.bin"
        op.properties["value"] = DenseResourceAttr.from_params(key, op.value.type)  # type: ignore[arg-type]
    if not is_preset:
        (directory / CONFIG_FILE).write_text(json.dumps(config.to_vta_json(), sort_keys=True, indent=1) + "\n")
        _set_config_attrs(module, CONFIG_FILE)
        manifest["config"]["file"] = CONFIG_FILE
    (directory / MODULE).write_text(module_text(module))
    for path in sorted(directory.iterdir()):
        if path.name != MANIFEST:
            files[path.name] = sha256_file(path)
    manifest["files"] = files
    (directory / MANIFEST).write_text(json.dumps(manifest, sort_keys=True, indent=1) + "\n")
    return manifest


def _prepare_directory(directory: Path) -> None:
    if directory.exists() and not directory.is_dir():
        raise ArtifactError(f"canopy-artifact: {directory} exists and is not a directory")
    directory.mkdir(parents=True, exist_ok=True)
    for path in directory.iterdir():
        ours = path.is_file() and (path.suffix == ".bin" or path.name in (MANIFEST, MODULE, CONFIG_FILE))
        if not ours:
            raise ArtifactError(
                f"canopy-artifact: {directory} holds {path.name}, which no artifact writes; "
                "give an empty or new directory"
            )
    for path in directory.iterdir():
        path.unlink()


@dataclass(frozen=True)
class CanopyArtifactTarget(Target):
    """Writes a directory (``-o DIR``), not a stream: canopy-opt calls :meth:`write`."""

    name: ClassVar[str] = "canopy-artifact"

    def write(self, module: ModuleOp, directory: str | Path) -> dict[str, Any]:
        return write_artifact(module, directory)

    def emit(self, ctx: Context, module: ModuleOp, output: IO[str]) -> None:
        raise ArtifactError("canopy-artifact writes a directory: give -o DIR")


__all__ = [
    "FORMAT_VERSION",
    "ArtifactError",
    "CanopyArtifactTarget",
    "describe_module",
    "sha256_file",
    "write_artifact",
]
