"""canopy_mlir.quantization.accuracy: the metrics, their tie rule, errors, and compare().

Expected values are worked out by hand (small vectors) or by simulation (ties broken at
random many times). About 1 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.quantization.accuracy import (
    AccuracyError,
    AccuracyReport,
    classification_accuracy,
    compare,
    cosine_similarity,
    measure,
    relative_rms_error,
    top1_agreement,
)


# ------------------------------------------------------------------ cosine
def test_cosine_of_known_vectors() -> None:
    a = np.array([[1, 0], [1, 2], [1, 0], [3, 4]], np.float32)
    b = np.array([[0, 1], [2, 4], [-1, 0], [4, 3]], np.float32)
    np.testing.assert_allclose(cosine_similarity(a, b), [0.0, 1.0, -1.0, 24 / 25])


def test_cosine_flattens_everything_but_the_sample_axis() -> None:
    a = np.arange(16, dtype=np.float32).reshape(2, 2, 2, 2) - 7
    b = a.copy()
    b[1] *= -3  # second sample: opposite direction
    np.testing.assert_allclose(cosine_similarity(a, b), [1.0, -1.0])


def test_cosine_of_zero_samples() -> None:
    a = np.array([[0, 0], [0, 0], [1, 1]], np.float32)
    b = np.array([[0, 0], [1, 0], [0, 0]], np.float32)
    np.testing.assert_array_equal(cosine_similarity(a, b), [1.0, 0.0, 0.0])


def test_cosine_accepts_integer_outputs() -> None:
    a = np.array([[100, -100]], np.int8)
    assert cosine_similarity(a, a.astype(np.float32))[0] == pytest.approx(1.0)


# ------------------------------------------------------------------ top-1
def test_top1_without_ties() -> None:
    a = np.array([[0.1, 0.9, 0.0], [5, 1, 2], [0, 0, 1]], np.float32)
    b = np.array([[0.0, 1.0, 0.2], [1, 5, 2], [0, 0, 3]], np.float32)
    assert top1_agreement(a, b) == pytest.approx(2 / 3)
    assert top1_agreement(a, a) == 1.0


def test_top1_shares_the_candidates_ties() -> None:
    ref = np.array([[1, 0, 0], [1, 1, 0], [1, 1, 0], [3, 2, 1], [0, 5, 5]], np.float32)
    cand = np.array([[2, 2, 0], [0, 1, 1], [7, 7, 7], [0, 0, 9], [1, 2, 0]], np.float32)
    # 1/2 (tied on the right class and a wrong one), 1/2, 2/3, 0, 1 (the reference is
    # tied between classes 1 and 2; the candidate picks one of them)
    assert top1_agreement(ref, cand) == pytest.approx((0.5 + 0.5 + 2 / 3 + 0.0 + 1.0) / 5)


def test_identical_outputs_agree_even_when_tied() -> None:
    tied = np.array([[0, 0, 0], [1, 1, 0]], np.float32)
    assert top1_agreement(tied, tied) == 1.0


def test_top1_ties_equal_random_tie_breaking_in_expectation() -> None:
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 3, size=(40, 5)).astype(np.float32)  # many exact ties
    cand = rng.integers(0, 3, size=(40, 5)).astype(np.float32)
    ref_top = ref == ref.max(axis=1, keepdims=True)

    def pick(rows: np.ndarray) -> np.ndarray:
        noisy = np.where(rows == rows.max(axis=1, keepdims=True), rng.random(rows.shape), -1.0)
        return noisy.argmax(axis=1)

    simulated = np.mean([np.mean(ref_top[np.arange(40), pick(cand)]) for _ in range(4000)])
    assert top1_agreement(ref, cand) == pytest.approx(simulated, abs=0.01)


def test_collapsed_output_scores_one_over_classes() -> None:
    ref = np.eye(10, dtype=np.float32)
    assert top1_agreement(ref, np.zeros((10, 10), np.float32)) == pytest.approx(0.1)
    assert classification_accuracy(np.zeros((10, 10)), np.arange(10)) == pytest.approx(0.1)


# ------------------------------------------------------------------ accuracy, rms
def test_classification_accuracy() -> None:
    logits = np.array([[0, 2, 1], [3, 0, 0], [1, 1, 0], [0, 0, 1]], np.float32)
    labels = np.array([1, 1, 0, 2])
    assert classification_accuracy(logits, labels) == pytest.approx((1 + 0 + 0.5 + 1) / 4)


def test_relative_rms_error() -> None:
    a = np.array([[3.0, 4.0]])
    b = np.array([[3.0, 3.0]])
    assert relative_rms_error(a, b) == pytest.approx(np.sqrt(0.5) / np.sqrt(12.5))
    assert relative_rms_error(np.zeros((1, 2)), np.zeros((1, 2))) == 0.0
    assert relative_rms_error(np.zeros((1, 2)), np.ones((1, 2))) == float("inf")


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("a", "b", "message"),
    [
        (np.zeros((2, 3)), np.zeros((3, 2)), "output shapes differ"),
        (np.zeros((2, 3)), np.zeros((2, 4)), "output shapes differ"),
        (np.zeros(3), np.zeros(3), "at least 2 dimensions"),
        (np.zeros((0, 3)), np.zeros((0, 3)), "no samples"),
        (np.array([[1.0, np.nan]]), np.zeros((1, 2)), "non-finite"),
        (np.zeros((1, 2)), np.array([[np.inf, 0.0]]), "non-finite values \\(first in sample 0\\)"),
    ],
)
@pytest.mark.parametrize("metric", [cosine_similarity, top1_agreement, relative_rms_error])
def test_bad_outputs_are_refused(metric, a, b, message) -> None:
    with pytest.raises(AccuracyError, match=message):
        metric(a, b)


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (np.array([0, 1]), "shape \\(2,\\), expected \\(3,\\)"),
        (np.array([[0, 1, 2]]), "expected \\(3,\\)"),
        (np.array([0.0, 1.0, 2.0]), "expected integers"),
        (np.array([0, 1, 4]), "outside the 4 output classes"),
        (np.array([-1, 0, 0]), "outside"),
    ],
)
def test_bad_labels_are_refused(labels, message) -> None:
    logits = np.zeros((3, 4))
    with pytest.raises(AccuracyError, match=message):
        classification_accuracy(logits, labels)


def test_accuracy_error_is_a_value_error() -> None:
    assert issubclass(AccuracyError, ValueError)


# ------------------------------------------------------------------ compare
def _gemm_module(weight: np.ndarray, batch: int = 2):
    classes, features = weight.shape
    graph = helper.make_graph(
        [helper.make_node("Gemm", ["x", "w"], ["y"], transB=1), helper.make_node("Relu", ["y"], ["r"])],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, features])],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, classes]),
            helper.make_tensor_value_info("r", TensorProto.FLOAT, [batch, classes]),
        ],
        [numpy_helper.from_array(weight, "w")],
    )
    return import_onnx(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))


def test_compare_stacks_runs_and_measures() -> None:
    rng = np.random.default_rng(3)
    w = rng.normal(size=(4, 6)).astype(np.float32)
    noisy = (w + rng.normal(scale=0.05, size=w.shape)).astype(np.float32)
    inputs = [rng.normal(size=(2, 6)).astype(np.float32) for _ in range(3)]
    labels = np.array([0, 1, 2, 3, 0, 1])
    report = compare(_gemm_module(w), _gemm_module(noisy), inputs, labels=labels, name="gemm")

    x = np.concatenate(inputs)
    ref, cand = x @ w.T, x @ noisy.T
    assert report.samples == 6 and report.classes == 4
    np.testing.assert_allclose(report.cosine_mean, np.mean(cosine_similarity(ref, cand)), rtol=1e-5)
    assert report.top1_agreement == pytest.approx(np.mean(ref.argmax(1) == cand.argmax(1)))
    assert report.float_accuracy == pytest.approx(np.mean(ref.argmax(1) == labels))
    assert report.quantized_accuracy == pytest.approx(np.mean(cand.argmax(1) == labels))
    assert report.reference_top1_classes == len(set(ref.argmax(1)))
    text = report.format()
    assert text.startswith("gemm: 6 samples, 4 classes")
    for line in ("float accuracy", "int8 accuracy", "top-1 agreement", "cosine similarity", "relative RMS error"):
        assert line in text


def test_compare_same_module_is_perfect_and_output_index_works() -> None:
    w = np.random.default_rng(4).normal(size=(3, 5)).astype(np.float32)
    module = _gemm_module(w)
    inputs = [{"x": np.random.default_rng(5).normal(size=(2, 5)).astype(np.float32)}]
    report = compare(module, module, inputs, output=1)
    assert report.cosine_min == pytest.approx(1.0) and report.top1_agreement == 1.0
    assert report.relative_rms_error == 0.0 and report.float_accuracy is None
    assert "accuracy" not in report.format().split("\n")[1]
    assert isinstance(report, AccuracyReport)


def test_compare_refuses_bad_requests() -> None:
    module = _gemm_module(np.ones((3, 5), np.float32))
    x = np.ones((2, 5), np.float32)
    with pytest.raises(AccuracyError, match="input set is empty"):
        compare(module, module, [])
    with pytest.raises(AccuracyError, match="output 2 requested, @main returns 2"):
        compare(module, module, [x], output=2)
    with pytest.raises(AccuracyError, match="shape \\(2,\\), expected \\(4,\\)"):
        compare(module, module, [x, x], labels=np.array([0, 1]))
    other = _gemm_module(np.ones((4, 5), np.float32))
    with pytest.raises(AccuracyError, match="output shapes differ"):
        compare(module, other, [x])


# ------------------------------------------------------------------ centering
def test_centering_exposes_an_error_the_common_mode_hides() -> None:
    # Every sample is a big shared vector plus a small input-dependent part; the
    # candidate keeps the shared part but gets the input-dependent part backwards.
    common = np.array([100.0, 0.0, 0.0])
    signal = np.array([[0, 1, -1], [0, -1, 1]], np.float64)
    ref, cand = common + signal, common - signal
    raw = measure(ref, cand)
    assert raw.cosine_min > 0.99 and raw.top1_agreement == 1.0 and raw.reference_top1_classes == 1
    centered = measure(ref, cand, center=True)
    np.testing.assert_allclose([centered.cosine_mean, centered.top1_agreement], [-1.0, 0.0])
    assert centered.reference_top1_classes == 2
    assert "centered on the float mean" in centered.format()


@pytest.mark.parametrize(
    ("ref", "cand", "kwargs", "message"),
    [
        (np.ones((1, 3)), np.ones((1, 3)), {"center": True}, "at least 2 samples"),
        (np.ones((2, 3)), np.ones((2, 3)), {"center": True, "labels": np.array([0, 1])}, "give no labels"),
        (np.ones((2, 3)), np.ones((2, 1)), {"center": True}, "output shapes differ"),
    ],
)
def test_bad_centering_requests_are_refused(ref, cand, kwargs, message) -> None:
    with pytest.raises(AccuracyError, match=message):
        measure(ref, cand, **kwargs)
