"""Load a ``canopy-artifact`` directory and run it on a card.

    artifact = load_artifact("out/")                 # format, checksums, config checked
    outputs = artifact.run({"x": x})                 # PoCL / OpenCL card by default
    outputs = artifact.run({"x": x}, backend="sim")  # the bit-exact simulator

The artifact is what :mod:`canopy_mlir.targets.canopy_artifact` wrote; running it is
:class:`canopy_mlir.runtime.dma_executor.DmaProgram` on the module with its constants
read back from the ``.bin`` files, so it gives the bits ``run_dma`` gives on the
in-memory module.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from xdsl.dialects.builtin import (
    BytesAttr,
    DenseIntOrFPElementsAttr,
    DenseResourceAttr,
    ModuleOp,
    StringAttr,
)
from xdsl.parser import Parser
from xdsl.utils.exceptions import ParseError

from canopy_mlir.dialects import dma, make_context, tile
from canopy_mlir.hw import PRESETS, ConfigError, HardwareConfig, load_config
from canopy_mlir.runtime.allocator import align_up
from canopy_mlir.runtime.card import Card, CardError, open_card
from canopy_mlir.runtime.dma_executor import DmaExecutionError, DmaProgram
from canopy_mlir.targets.canopy_artifact import (
    CONFIG_FILE,
    FORMAT_VERSION,
    MANIFEST,
    MODULE,
    sha256_file,
)


class ArtifactLoadError(RuntimeError):
    """An artifact directory that cannot be trusted or run (one line says what and why)."""


def _read_manifest(directory: Path) -> dict[str, Any]:
    path = directory / MANIFEST
    if not directory.is_dir():
        raise ArtifactLoadError(f"{directory}: no such artifact directory")
    if not path.is_file():
        raise ArtifactLoadError(f"{directory}: no {MANIFEST} (not a canopy artifact?)")
    try:
        manifest = json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ArtifactLoadError(f"{path}: not valid JSON: {error}") from None
    version = manifest.get("format_version") if isinstance(manifest, dict) else None
    if version != FORMAT_VERSION:
        raise ArtifactLoadError(
            f"{path}: artifact format version {version!r}, this runtime reads version {FORMAT_VERSION}; "
            "recompile with this canopy_mlir"
        )
    return manifest


def _verify_checksums(directory: Path, manifest: dict[str, Any]) -> None:
    """Every listed file present with its recorded sha256 (a flipped bit is a wrong answer)."""
    for name, digest in sorted(manifest.get("files", {}).items()):
        path = directory / name
        if not path.is_file():
            raise ArtifactLoadError(f"{directory}: {name} is missing (listed in {MANIFEST})")
        if sha256_file(path) != digest:
            raise ArtifactLoadError(
                f"{path}: checksum mismatch (sha256 differs from {MANIFEST}): the artifact is "
                "corrupted or was edited; recompile it"
            )
    for needed in (MODULE,):
        if needed not in manifest.get("files", {}):
            raise ArtifactLoadError(f"{directory}: {MANIFEST} lists no {needed}")


def _config(directory: Path, manifest: dict[str, Any]) -> HardwareConfig:
    """The config the artifact was compiled for; a preset must still mean the same thing."""
    entry = manifest.get("config", {})
    try:
        recorded = HardwareConfig(**entry["parameters"])
    except (KeyError, TypeError, ConfigError) as error:
        raise ArtifactLoadError(f"{directory / MANIFEST}: bad config entry: {error}") from None
    if "file" in entry:
        try:
            current = load_config(directory / entry["file"])
        except ConfigError as error:
            raise ArtifactLoadError(str(error)) from None
    else:
        current = PRESETS.get(recorded.name)
        if current is None:
            raise ArtifactLoadError(f"{directory}: config '{recorded.name}' is no preset of this canopy_mlir")
    if current != recorded:
        raise ArtifactLoadError(
            f"{directory}: config '{recorded.name}' differs from the one it was compiled for; recompile"
        )
    return recorded


def _parse_module(directory: Path, manifest: dict[str, Any]) -> ModuleOp:
    path = directory / MODULE
    try:
        module = Parser(make_context(), path.read_text(), str(path)).parse_module()
    except ParseError as error:
        raise ArtifactLoadError(f"{path}: cannot parse: {str(error).splitlines()[0]}") from None
    constants = [op for op in module.walk() if isinstance(op, dma.ConstantOp)]
    files = [b["file"] for b in manifest["buffers"] if "file" in b]
    if len(constants) != len(files):
        raise ArtifactLoadError(f"{path}: {len(constants)} dma.constant ops, {MANIFEST} lists {len(files)} .bin files")
    for op, name in zip(constants, files, strict=True):
        # xDSL renames a resource handle already declared in this process (c000 ->
        # c000_1), so constants pair with files by order, the handle only checked.
        handle = op.value.resource_handle.data if isinstance(op.value, DenseResourceAttr) else None
        stem = name.removesuffix(".bin")
        if handle is None or not (handle == stem or handle.startswith(stem + "_")) or name not in manifest["files"]:
            raise ArtifactLoadError(f"{path}: a dma.constant ({handle}) does not match {name} of {MANIFEST}")
        data = (directory / name).read_bytes()
        op.properties["value"] = DenseIntOrFPElementsAttr(op.value.type, BytesAttr(data))
    if "file" in manifest["config"]:
        for op in module.walk():
            if tile.CONFIG_ATTR in op.attributes:
                op.attributes[tile.CONFIG_ATTR] = StringAttr(str(directory / CONFIG_FILE))
    try:
        module.verify()
    except Exception as error:  # noqa: BLE001 - any verifier failure is a bad artifact
        raise ArtifactLoadError(f"{path}: does not verify: {str(error).splitlines()[0]}") from None
    return module


@dataclass
class Artifact:
    """A loaded artifact: its manifest, config and dma-level module (constants inline)."""

    directory: Path
    manifest: dict[str, Any]
    config: HardwareConfig
    module: ModuleOp

    @property
    def input_names(self) -> list[str]:
        return [entry["name"] for entry in self.manifest["inputs"]]

    @property
    def output_names(self) -> list[str]:
        return [entry["name"] for entry in self.manifest["outputs"]]

    def check_inputs(self, inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray]) -> list[np.ndarray]:
        """Inputs in order, by name or position, with the manifest's shapes and dtypes."""
        specs = self.manifest["inputs"]
        if isinstance(inputs, Mapping):
            unknown = sorted(set(inputs) - set(self.input_names))
            if unknown:
                raise ArtifactLoadError(
                    f"unknown input {unknown[0]!r}; the model's inputs are {', '.join(self.input_names)}"
                )
            missing = [n for n in self.input_names if n not in inputs]
            if missing:
                raise ArtifactLoadError(f"missing input {missing[0]!r}")
            arrays = [np.asarray(inputs[n]) for n in self.input_names]
        else:
            if len(inputs) != len(specs):
                raise ArtifactLoadError(f"the model takes {len(specs)} inputs, got {len(inputs)}")
            arrays = [np.asarray(a) for a in inputs]
        for spec, array in zip(specs, arrays, strict=True):
            if list(array.shape) != spec["shape"] or str(array.dtype) != spec["dtype"]:
                raise ArtifactLoadError(
                    f"input {spec['name']!r} has shape {list(array.shape)} {array.dtype}, the model "
                    f"wants {spec['shape']} {spec['dtype']}"
                )
        return arrays

    def open_card(self, backend: str = "opencl", device: Any = None) -> Card:
        """A fresh card of this artifact's config with a pool big enough for it (the pool
        region is allocated whole, so its size is rounded up to the pool alignment)."""
        needed = align_up(max(int(self.manifest["pool_bytes"]), 4096), self.config.pool_alignment)
        try:
            return open_card(self.config, pool_bytes=needed, backend=backend, device=device)
        except CardError as error:
            raise ArtifactLoadError(f"cannot open the {backend} card: {error}") from None

    def run(self, inputs: Mapping[str, np.ndarray] | Sequence[np.ndarray], *, backend: str = "opencl",
            device: Any = None, card: Card | None = None) -> list[np.ndarray]:
        """Run once on ``card`` (or a fresh card of ``backend``); the outputs in order."""
        arrays = self.check_inputs(inputs)
        card = card if card is not None else self.open_card(backend, device)
        try:
            program = DmaProgram(self.module, card, self.manifest["function"])
            try:
                return program.run(arrays)
            finally:
                program.close()
        except DmaExecutionError as error:
            raise ArtifactLoadError(str(error)) from None


def load_artifact(directory: str | Path) -> Artifact:
    """Read and check an artifact directory: format version, checksums, config."""
    directory = Path(directory)
    manifest = _read_manifest(directory)
    _verify_checksums(directory, manifest)
    config = _config(directory, manifest)
    return Artifact(directory, manifest, config, _parse_module(directory, manifest))


__all__ = ["Artifact", "ArtifactLoadError", "load_artifact"]
