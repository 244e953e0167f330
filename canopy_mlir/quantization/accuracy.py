"""How close a quantized model stays to its float original, measured on a fixed input set.

    report = compare(float_module, int8_module, [x0, x1, ...], labels=y, name="digits CNN")
    print(report.format())

Both modules run through the reference interpreter (:func:`run_graph`) on the same
inputs; the chosen output of every run is stacked along axis 0, so a row is one sample
(one image of a batch, or one single-image run). The metrics:

- **cosine similarity** per sample between the float and quantized outputs (flattened),
  reported as mean and minimum. It ignores a global scale, which is what int8 gets right
  or wrong independently of the class decision;
- **top-1 agreement**: how often the quantized model picks the float model's class;
- **classification accuracy** of each model against labels, when there are labels;
- the **relative RMS error** ``rms(q - f) / rms(f)`` over all outputs.

Ties. A quantized output takes few distinct values, so two classes often share the
largest logit exactly. Picking the first maximum (``argmax``) would turn such ties into
an arbitrary yes or no; instead the candidate breaks its ties uniformly at random and the
metric is the expected value. With ``A`` the reference's maxima and ``B`` the candidate's,
a sample agrees with weight ``|A & B| / |B|`` (the chance that the candidate's pick is one
of the reference's top classes; a tie in the reference means it has no single opinion,
so any of its top classes counts); a labelled sample counts ``[label in B] / |B|``.
Without ties both are the plain 0/1; identical outputs always agree fully; a collapsed
candidate (all logits equal) scores ``1 / classes``, never a false 100 %.

The report also says how many distinct classes the float model's top-1 covers over the
input set: agreement on a model that answers the same class for every input (common for
random weights) says little, and the report should make that visible. For such models
``compare(..., center=True)`` subtracts the float output's mean over the input set from
both outputs first, so that the metrics measure how well the quantized model keeps the
input-dependent part of the output (a deep network with random weights maps every input
to nearly the same direction, which makes the raw cosine close to 1 whatever happens).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np
from xdsl.dialects.builtin import ModuleOp

from canopy_mlir.interpreters.graph_interpreter import run_graph

__all__ = [
    "AccuracyError",
    "AccuracyReport",
    "classification_accuracy",
    "collect_outputs",
    "compare",
    "cosine_similarity",
    "measure",
    "relative_rms_error",
    "top1_agreement",
]

RunInputs = np.ndarray | Sequence[np.ndarray] | Mapping[str, np.ndarray]
"""One run's inputs: an array (single-argument functions), or what run_graph takes."""


class AccuracyError(ValueError):
    """Outputs or labels that cannot be compared (the message says what and why)."""


# ------------------------------------------------------------------ checking inputs
def _rows(array: np.ndarray, what: str) -> np.ndarray:
    """``array`` as float64 (samples, features); samples are axis 0."""
    array = np.asarray(array)
    if array.ndim < 2:
        raise AccuracyError(
            f"{what}: shape {array.shape}; need (samples, ...) with at least 2 dimensions"
        )
    if array.shape[0] == 0 or array[0].size == 0:
        raise AccuracyError(f"{what}: shape {array.shape} has no samples or no features")
    if not np.issubdtype(array.dtype, np.number) or np.issubdtype(array.dtype, np.complexfloating):
        raise AccuracyError(f"{what}: element type {array.dtype} is not a real number type")
    rows = array.reshape(array.shape[0], -1).astype(np.float64)
    bad = ~np.isfinite(rows)
    if bad.any():
        first = int(np.argwhere(bad.any(axis=1))[0, 0])
        raise AccuracyError(f"{what}: {int(bad.sum())} non-finite values (first in sample {first})")
    return rows


def _pair(reference: np.ndarray, candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both outputs as rows, after checking they have the same shape."""
    if np.shape(reference) != np.shape(candidate):
        raise AccuracyError(
            f"output shapes differ: reference {np.shape(reference)}, candidate {np.shape(candidate)}"
        )
    return _rows(reference, "reference output"), _rows(candidate, "candidate output")


def _maxima(rows: np.ndarray) -> np.ndarray:
    """Boolean mask of each row's largest entries (several where they tie exactly)."""
    return rows == rows.max(axis=1, keepdims=True)


# ------------------------------------------------------------------ metrics
def cosine_similarity(reference: np.ndarray, candidate: np.ndarray) -> np.ndarray:
    """Per-sample cosine similarity of two (samples, ...) outputs, in float64.

    Two all-zero samples are identical (1.0); one all-zero sample against a non-zero one
    is 0.0 (there is no direction to compare).
    """
    a, b = _pair(reference, candidate)
    norms = np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)
    dots = np.einsum("ij,ij->i", a, b)
    both_zero = ~a.any(axis=1) & ~b.any(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.where(norms > 0, dots / norms, 0.0)
    return np.clip(np.where(both_zero, 1.0, cos), -1.0, 1.0)


def top1_agreement(reference: np.ndarray, candidate: np.ndarray) -> float:
    """Fraction of samples where the candidate picks (one of) the reference's top
    class(es); the candidate's ties are broken at random in expectation (module docstring)."""
    a, b = _pair(reference, candidate)
    ma, mb = _maxima(a), _maxima(b)
    return float(np.mean((ma & mb).sum(axis=1) / mb.sum(axis=1)))


def classification_accuracy(outputs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of samples whose largest output is the label, ties shared."""
    rows = _rows(outputs, "outputs")
    labels = np.asarray(labels)
    if labels.shape != (rows.shape[0],):
        raise AccuracyError(
            f"labels: shape {labels.shape}, expected ({rows.shape[0]},) (one per sample)"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise AccuracyError(f"labels: element type {labels.dtype}, expected integers")
    classes = rows.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= classes):
        raise AccuracyError(
            f"labels: values {labels.min()}..{labels.max()} outside the {classes} output classes"
        )
    maxima = _maxima(rows)
    hit = maxima[np.arange(rows.shape[0]), labels]
    return float(np.mean(hit / maxima.sum(axis=1)))


def relative_rms_error(reference: np.ndarray, candidate: np.ndarray) -> float:
    """``rms(candidate - reference) / rms(reference)`` over all values (inf if the
    reference is all zero and the candidate is not, 0 if both are)."""
    a, b = _pair(reference, candidate)
    error, scale = float(np.sqrt(np.mean((b - a) ** 2))), float(np.sqrt(np.mean(a**2)))
    if scale == 0.0:
        return 0.0 if error == 0.0 else float("inf")
    return error / scale


# ------------------------------------------------------------------ the report
@dataclass(frozen=True)
class AccuracyReport:
    """What :func:`compare` measured; :meth:`format` prints it for people."""

    name: str
    samples: int
    classes: int
    cosine_mean: float
    cosine_min: float
    top1_agreement: float
    reference_top1_classes: int
    """Distinct classes the float model's top-1 (first maximum) covers over the inputs."""
    relative_rms_error: float
    float_accuracy: float | None = None
    quantized_accuracy: float | None = None
    float_seconds: float = 0.0
    quantized_seconds: float = 0.0
    quantized_label: str = "int8"
    reference_label: str = "float"
    """How :meth:`format` names the two sides (say "onnxruntime int8" for a cross-check)."""
    centered: bool = False
    """The float output's mean over the input set was subtracted from both outputs."""

    @property
    def accuracy_drop(self) -> float | None:
        """Float minus quantized accuracy, in percentage points (None without labels)."""
        if self.float_accuracy is None or self.quantized_accuracy is None:
            return None
        return 100.0 * (self.float_accuracy - self.quantized_accuracy)

    def format(self) -> str:
        """A few aligned lines: accuracies, agreement, cosine, error, interpreter time
        (the last only where the interpreter ran)."""
        q, r = self.quantized_label, self.reference_label
        centered = f", centered on the {r} mean" if self.centered else ""
        rows: list[tuple[str, str]] = []
        if self.float_accuracy is not None and self.quantized_accuracy is not None:
            change = 100 * (self.quantized_accuracy - self.float_accuracy)
            rows.append((f"{r} accuracy", f"{100 * self.float_accuracy:7.2f} %"))
            rows.append((f"{q} accuracy", f"{100 * self.quantized_accuracy:7.2f} %  ({change:+.2f} points)"))
        spans = f"({r} top-1 spans {self.reference_top1_classes} of {self.classes} classes)"
        rows += [
            ("top-1 agreement", f"{100 * self.top1_agreement:7.2f} %  {spans}"),
            ("cosine similarity", f"mean {self.cosine_mean:.5f}, min {self.cosine_min:.5f}"),
            ("relative RMS error", f"{self.relative_rms_error:.4f}"),
        ]
        if self.float_seconds or self.quantized_seconds:
            rows.append(("interpreter time", f"{r} {self.float_seconds:.2f} s, {q} {self.quantized_seconds:.2f} s"))
        width = max(len(label) for label, _ in rows)
        lines = [f"{self.name}: {self.samples} samples, {self.classes} classes{centered}"]
        lines += [f"  {label:<{width}}  {value}" for label, value in rows]
        return "\n".join(lines)


def collect_outputs(
    module: ModuleOp,
    inputs: Sequence[RunInputs],
    *,
    output: int = 0,
    function: str = "main",
    what: str = "the",
) -> tuple[np.ndarray, float]:
    """Output ``output`` of ``module`` for every entry of ``inputs``, stacked along
    axis 0, and the seconds the interpreter took in total (``what`` names the model in
    errors)."""
    if len(inputs) == 0:
        raise AccuracyError("the input set is empty")
    collected, seconds = [], 0.0
    for index, run_inputs in enumerate(inputs):
        args = [run_inputs] if isinstance(run_inputs, np.ndarray) else run_inputs
        start = time.perf_counter()
        results = run_graph(module, args, function)
        seconds += time.perf_counter() - start
        if not -len(results) <= output < len(results):
            raise AccuracyError(
                f"{what} model: output {output} requested, @{function} returns {len(results)}"
            )
        result = np.asarray(results[output])
        if result.ndim < 1:
            raise AccuracyError(f"{what} model, run {index}: output {output} is a scalar")
        collected.append(result)
    shapes = {r.shape[1:] for r in collected}
    if len(shapes) > 1:
        raise AccuracyError(
            f"{what} model: output {output} changes shape between runs: {sorted(shapes)}"
        )
    return np.concatenate(collected, axis=0), seconds


def measure(
    reference: np.ndarray,
    candidate: np.ndarray,
    *,
    labels: np.ndarray | None = None,
    center: bool = False,
    name: str = "model",
    quantized_label: str = "int8",
    reference_label: str = "float",
    float_seconds: float = 0.0,
    quantized_seconds: float = 0.0,
) -> AccuracyReport:
    """The report for two stacked outputs (float ``reference``, quantized ``candidate``).

    ``labels``, one integer class per sample, adds the two accuracies. ``center``
    measures the input-dependent part only (module docstring; needs at least two
    samples, and no labels: a centered output is no classifier's output).
    """
    reference_rows, candidate_rows = _pair(reference, candidate)  # shapes, finiteness
    if center:
        if labels is not None:
            raise AccuracyError("center=True measures output differences: give no labels")
        reference_rows, candidate_rows = _centered(reference_rows, candidate_rows)
    cosines = cosine_similarity(reference_rows, candidate_rows)
    report = AccuracyReport(
        name=name,
        samples=reference_rows.shape[0],
        classes=reference_rows.shape[1],
        cosine_mean=float(cosines.mean()),
        cosine_min=float(cosines.min()),
        top1_agreement=top1_agreement(reference_rows, candidate_rows),
        reference_top1_classes=int(np.unique(reference_rows.argmax(axis=1)).size),
        relative_rms_error=relative_rms_error(reference_rows, candidate_rows),
        float_seconds=float_seconds,
        quantized_seconds=quantized_seconds,
        quantized_label=quantized_label,
        reference_label=reference_label,
        centered=center,
    )
    if labels is None:
        return report
    return replace(
        report,
        float_accuracy=classification_accuracy(reference_rows, labels),
        quantized_accuracy=classification_accuracy(candidate_rows, labels),
    )


def compare(
    float_module: ModuleOp,
    quantized_module: ModuleOp,
    inputs: Sequence[RunInputs],
    *,
    labels: np.ndarray | None = None,
    output: int = 0,
    function: str = "main",
    name: str = "model",
    quantized_label: str = "int8",
    center: bool = False,
) -> AccuracyReport:
    """Run both modules on every entry of ``inputs`` and measure how close they stay.

    ``inputs`` is the fixed input set: one entry per run (an array for a function with
    one argument, else a list or name->array dict as :func:`run_graph` takes). Output
    number ``output`` of each run is stacked along axis 0 (a batch of N contributes N
    samples). ``labels`` and ``center`` as for :func:`measure`. To measure the same
    outputs several ways, call :func:`collect_outputs` once and :func:`measure` twice.
    """
    reference, float_seconds = collect_outputs(
        float_module, inputs, output=output, function=function, what="float"
    )
    candidate, quantized_seconds = collect_outputs(
        quantized_module, inputs, output=output, function=function, what=quantized_label
    )
    return measure(
        reference, candidate, labels=labels, center=center, name=name,
        quantized_label=quantized_label, float_seconds=float_seconds,
        quantized_seconds=quantized_seconds,
    )


def _centered(reference: np.ndarray, candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Both (samples, features) outputs minus the reference's mean over the samples."""
    if reference.shape[0] < 2:
        raise AccuracyError(
            f"center=True needs at least 2 samples, the outputs have {reference.shape[0]}"
        )
    mean = reference.mean(axis=0, keepdims=True)
    return reference - mean, candidate - mean
