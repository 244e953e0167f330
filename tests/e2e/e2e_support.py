"""Shared pieces of the end-to-end tests: compile a model with the whole pipeline, keeping
the integer graph it passes through, run the dma-level module on a card, compare.

The pipeline is ``canopy-default`` (the same pass list), cut in two before
``graph-partition``: the first part (import clean-up, QDQ fold, graph-quantize) gives the
*integer graph*, whose graph-interpreter run is the bit-exact reference; the second part
(partition, convert-graph-to-tile, convert-tile-to-dma) gives the dma-level module that
the card runs. ``test_split_pipeline_is_canopy_default`` checks that the two parts
together give exactly what ``canopy-default`` gives.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
import pipeline_parts
from xdsl.dialects.builtin import ModuleOp

from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.quantization.accuracy import cosine_similarity
from canopy_mlir.runtime.artifact import Artifact, load_artifact
from canopy_mlir.runtime.card import CardError, open_card, opencl_devices
from canopy_mlir.runtime.dma_executor import DmaProgram
from canopy_mlir.targets.canopy_artifact import write_artifact
from canopy_mlir.tools.pipelines import apply_pipeline

CONFIG = "intelfocl"
POOL_BYTES = 64 << 20
"""Enough for the light ResNet-50 (its plan needs ~30 MiB at intelfocl)."""


def have_opencl() -> bool:
    try:
        return bool(opencl_devices())
    except CardError:
        return False


def split_pipeline(config: str, quantize: str | None, partition: str = "") -> tuple[str, str]:
    """``canopy-default`` as (integer-graph part, card part) (``pipeline_parts``)."""
    return pipeline_parts.split_pipeline("canopy-default", config, quantize, partition)


@dataclass
class Compiled:
    """A model at the two levels the tests compare, and what compiling took."""

    integer: ModuleOp
    lowered: ModuleOp
    seconds: dict[str, float] = field(default_factory=dict)

    def host_ops(self) -> list[tuple[str, str]]:
        """(op name, placement reason) of every op graph-partition or convert-tile-to-dma
        left on the host."""
        return [(op.name, op.attributes["canopy.placement_reason"].data) for op in self.lowered.walk()
                if "canopy.placement_reason" in op.attributes]


def compile_model(model: onnx.ModelProto, quantize: str | None, config: str = CONFIG,
                  partition: str = "") -> Compiled:
    integer_spec, card_spec = split_pipeline(config, quantize, partition)
    start = time.perf_counter()
    integer = apply_pipeline(import_onnx(model), integer_spec)
    middle = time.perf_counter()
    lowered = apply_pipeline(integer.clone(), card_spec)
    lowered.verify()
    end = time.perf_counter()
    return Compiled(integer, lowered, {"integer graph": middle - start, "to dma": end - middle})


@dataclass
class CardRun:
    outputs: list[list[np.ndarray]]
    """One list of outputs per input."""
    launches: int
    seconds: float


def write_and_load(compiled: Compiled, directory: Path) -> Artifact:
    """The dma-level module through ``-t canopy-artifact`` and back (``load_artifact``):
    what canopy-run executes."""
    write_artifact(compiled.lowered, directory)
    return load_artifact(directory)


def run_on_card(compiled: Compiled | Artifact, inputs: list[np.ndarray], backend: str,
                config: str = CONFIG) -> CardRun:
    """Run the dma-level module (of a compile, or of an artifact on a card it sizes)
    once per input on a fresh card of ``backend``."""
    if isinstance(compiled, Artifact):
        program = DmaProgram(compiled.module, compiled.open_card(backend), compiled.manifest["function"])
    else:
        program = DmaProgram(compiled.lowered, open_card(config, POOL_BYTES, backend=backend))
    try:
        start = time.perf_counter()
        outputs = [program.run([x]) for x in inputs]
        seconds = time.perf_counter() - start
        return CardRun(outputs, program.stats.launches // max(len(inputs), 1), seconds)
    finally:
        program.close()


def assert_token_clean(artifact: Artifact) -> int:
    """Every launch's program, as a simulated card holds it after loading, passes the
    token checker (no deadlock, hazard or leftover token); returns the launch count."""
    program = DmaProgram(artifact.module, artifact.open_card("sim"), artifact.manifest["function"])
    try:
        reports = program.token_reports()
    finally:
        program.close()
    for launch, report in reports:
        assert report.ok and not report.warnings, f"{launch.attributes.get('dma.kernel')}: {report}"
    return len(reports)


def assert_bit_exact(got: list[np.ndarray], want: list[np.ndarray], what: str) -> None:
    assert len(got) == len(want), f"{what}: {len(got)} outputs, expected {len(want)}"
    for i, (g, w) in enumerate(zip(got, want, strict=True)):
        assert g.dtype == w.dtype and g.shape == w.shape, f"{what} output {i}: {g.dtype}{g.shape} vs {w.dtype}{w.shape}"
        np.testing.assert_array_equal(g, w, err_msg=f"{what} output {i}")


# ------------------------------------------------------------------ float reference
def onnxruntime_outputs(model: onnx.ModelProto, inputs: list[np.ndarray]) -> list[list[np.ndarray]]:
    """The float model on onnxruntime's CPU provider, one run per input."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(model.SerializeToString(), options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name
    return [session.run(None, {name: x}) for x in inputs]


@dataclass(frozen=True)
class Agreement:
    """Quantized vs float outputs over a set of inputs (rows of ``got``/``want``)."""

    cosine_min: float
    """Smallest per-input cosine similarity."""
    centered_min: float
    """Smallest per-input cosine after subtracting the float outputs' mean over the set
    from both: what is left of the input-dependent part (a deep net with random weights
    maps every input to nearly the same direction, which makes the raw cosine ~1)."""
    spread: float
    """rms over the set of (float output - its mean) / rms of the float output: how much
    of the output depends on the input at all."""

    def format(self) -> str:
        return (f"cosine min {self.cosine_min:.5f}, centered min {self.centered_min:.4f} "
                f"(input-dependent part {self.spread:.1%} of the output)")


def agreement(got: list[np.ndarray], want: list[np.ndarray]) -> Agreement:
    q = np.stack([np.asarray(g, np.float64).ravel() for g in got])
    f = np.stack([np.asarray(w, np.float64).ravel() for w in want])
    mean = f.mean(axis=0)
    return Agreement(
        cosine_min=float(cosine_similarity(f, q).min()),
        centered_min=float(cosine_similarity(f - mean, q - mean).min()),
        spread=float(np.sqrt(np.mean((f - mean) ** 2)) / np.sqrt(np.mean(f**2))),
    )
