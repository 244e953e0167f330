"""A small CNN trained in numpy on scikit-learn's bundled digits, exported to ONNX.

The accuracy tests need a model whose float accuracy is *real* (measured against real
labels on held-out images), so that "int8 accuracy within 2 points of float" says
something about quantization rather than about random weights. scikit-learn ships the
8x8 digits set (1797 images, 10 classes) with the wheel, so no download is needed, and
the network is small enough to train in half a second with hand-written backprop::

    x (N, 1, 8, 8) in [0, 1]
    conv 1 -> 8, 3x3, pad 1            -> relu   (N, 8, 8, 8)
    conv 8 -> 16, 3x3, stride 2, pad 1 -> relu   (N, 16, 4, 4)
    flatten                                       (N, 256)
    gemm 256 -> 10                                (N, 10) logits

Convolutions are matrix products over im2col patches (forward and backward); training is
mini-batch Adam on softmax cross-entropy with a fixed seed, so the weights (and every
number the tests print) are the same on each run. No torch.

    data = load_split()
    net = train(data)                      # TrainedCnn: weights + float test accuracy
    model = to_onnx(net, batch=len(data.x_test))   # opset 17, input "x", output "logits"

The quantization helpers at the end are shared with the light ResNet-50 in
``benchmarks/bench_quant_accuracy.py``: :func:`quantize_qdq` (onnxruntime's
``quantize_static``), :func:`apply_pipeline` (a ``-p`` pipeline, as canopy-opt runs it)
and :func:`graph_quantize` (canopy_mlir's own post-training quantization).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from xdsl.dialects.builtin import ModuleOp

SEED = 0
TEST_SIZE = 450
"""Held-out images (25 %); the rest (1347) train the network and calibrate quantization."""
OPSET = 17

# (out_channels, in_channels, kernel, stride, pad) of the two convolutions
CONV1 = (8, 1, 3, 1, 1)
CONV2 = (16, 8, 3, 2, 1)
CLASSES = 10


@dataclass(frozen=True)
class DigitsSplit:
    """Images as float32 (N, 1, 8, 8) scaled to [0, 1], labels as int64 (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class TrainedCnn:
    """The trained weights (float32, ONNX layouts: OIHW convs, (10, 256) gemm) and the
    float accuracy measured here in numpy on the held-out split."""

    w1: np.ndarray
    b1: np.ndarray
    w2: np.ndarray
    b2: np.ndarray
    w3: np.ndarray
    b3: np.ndarray
    test_accuracy: float


def load_split(seed: int = SEED) -> DigitsSplit:
    """The digits images, shuffled with ``seed`` and split stratified by class."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None, :, :]
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        images, labels, test_size=TEST_SIZE, random_state=seed, stratify=labels
    )
    return DigitsSplit(x_train, y_train, x_test, y_test)


# ------------------------------------------------------------------ im2col convolution
def _im2col(x: np.ndarray, kernel: int, stride: int, pad: int) -> np.ndarray:
    """Patches of ``x`` (N, C, H, W) as (N, OH, OW, C * kernel * kernel), C-major."""
    padded = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel, kernel), axis=(2, 3))
    windows = windows[:, :, ::stride, ::stride]  # (N, C, OH, OW, k, k)
    n, c, oh, ow = windows.shape[:4]
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, oh, ow, c * kernel * kernel)


def _col2im(cols: np.ndarray, shape: tuple[int, ...], kernel: int, stride: int, pad: int) -> np.ndarray:
    """The adjoint of :func:`_im2col`: patch gradients summed back into (N, C, H, W)."""
    n, c, h, w = shape
    oh, ow = cols.shape[1:3]
    patches = cols.reshape(n, oh, ow, c, kernel, kernel)
    padded = np.zeros((n, c, h + 2 * pad, w + 2 * pad), cols.dtype)
    for i in range(kernel):
        for j in range(kernel):
            padded[:, :, i : i + stride * oh : stride, j : j + stride * ow : stride] += (
                patches[:, :, :, :, i, j].transpose(0, 3, 1, 2)
            )
    return padded[:, :, pad : pad + h, pad : pad + w]


def _conv(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int, pad: int) -> tuple[np.ndarray, np.ndarray]:
    """Convolution output (N, O, OH, OW) and the patches it used (for backprop)."""
    cols = _im2col(x, w.shape[2], stride, pad)
    out = cols @ w.reshape(w.shape[0], -1).T + b
    return out.transpose(0, 3, 1, 2), cols


def _conv_backward(
    grad: np.ndarray, cols: np.ndarray, w: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of a convolution: (d weight, d bias, d patches)."""
    g = grad.transpose(0, 2, 3, 1)  # (N, OH, OW, O)
    flat_g, flat_cols = g.reshape(-1, g.shape[-1]), cols.reshape(-1, cols.shape[-1])
    dw = (flat_g.T @ flat_cols).reshape(w.shape)
    dcols = g @ w.reshape(w.shape[0], -1)
    return dw, flat_g.sum(axis=0), dcols


# ------------------------------------------------------------------ the network
def _init(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """He-normal weights (fan-in), zero biases."""

    def he(*shape: int) -> np.ndarray:
        fan_in = int(np.prod(shape[1:]))
        return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)

    o1, i1, k1 = CONV1[:3]
    o2, i2, k2 = CONV2[:3]
    features = o2 * 4 * 4
    return {
        "w1": he(o1, i1, k1, k1), "b1": np.zeros(o1, np.float32),
        "w2": he(o2, i2, k2, k2), "b2": np.zeros(o2, np.float32),
        "w3": he(CLASSES, features), "b3": np.zeros(CLASSES, np.float32),
    }


def forward(params: dict[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """Logits (N, 10) of the float network, in numpy (the tests' independent oracle)."""
    return _forward(params, x)[0]


def _forward(params: dict[str, np.ndarray], x: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    z1, cols1 = _conv(x, params["w1"], params["b1"], CONV1[3], CONV1[4])
    a1 = np.maximum(z1, 0)
    z2, cols2 = _conv(a1, params["w2"], params["b2"], CONV2[3], CONV2[4])
    a2 = np.maximum(z2, 0)
    flat = a2.reshape(len(x), -1)
    logits = flat @ params["w3"].T + params["b3"]
    return logits, {"cols1": cols1, "z1": z1, "a1": a1, "cols2": cols2, "z2": z2, "flat": flat}


def _gradients(params: dict[str, np.ndarray], x: np.ndarray, y: np.ndarray) -> tuple[float, dict[str, np.ndarray]]:
    """Mean softmax cross-entropy over the batch and its gradient for every weight."""
    logits, cache = _forward(params, x)
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    n = len(x)
    loss = float(-np.log(probs[np.arange(n), y] + 1e-12).mean())
    dlogits = probs
    dlogits[np.arange(n), y] -= 1.0
    dlogits /= n
    grads = {"w3": dlogits.T @ cache["flat"], "b3": dlogits.sum(axis=0)}
    dz2 = (dlogits @ params["w3"]).reshape(cache["z2"].shape) * (cache["z2"] > 0)
    grads["w2"], grads["b2"], dcols2 = _conv_backward(dz2, cache["cols2"], params["w2"])
    da1 = _col2im(dcols2, cache["a1"].shape, CONV2[2], CONV2[3], CONV2[4])
    dz1 = da1 * (cache["z1"] > 0)
    grads["w1"], grads["b1"], _ = _conv_backward(dz1, cache["cols1"], params["w1"])
    return loss, grads


def accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose largest logit is the label (numpy's first-max rule)."""
    return float(np.mean(np.argmax(logits, axis=1) == labels))


def train(
    data: DigitsSplit,
    *,
    epochs: int = 12,
    batch: int = 32,
    learning_rate: float = 3e-3,
    seed: int = SEED,
) -> TrainedCnn:
    """Mini-batch Adam from a seeded He initialisation (about half a second on one core;
    ~97 % held-out accuracy with the defaults)."""
    rng = np.random.default_rng(seed)
    params = _init(rng)
    moments = {k: (np.zeros_like(v), np.zeros_like(v)) for k, v in params.items()}
    beta1, beta2, eps, step = 0.9, 0.999, 1e-8, 0
    for _ in range(epochs):
        order = rng.permutation(len(data.x_train))
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            _, grads = _gradients(params, data.x_train[idx], data.y_train[idx])
            step += 1
            for key, grad in grads.items():
                m, v = moments[key]
                m *= beta1
                m += (1 - beta1) * grad
                v *= beta2
                v += (1 - beta2) * grad * grad
                m_hat, v_hat = m / (1 - beta1**step), v / (1 - beta2**step)
                params[key] = (params[key] - learning_rate * m_hat / (np.sqrt(v_hat) + eps)).astype(np.float32)
    test_accuracy = accuracy(forward(params, data.x_test), data.y_test)
    return TrainedCnn(**params, test_accuracy=test_accuracy)


def params_of(net: TrainedCnn) -> dict[str, np.ndarray]:
    """The weights of ``net`` as the dict :func:`forward` takes."""
    return {k: getattr(net, k) for k in ("w1", "b1", "w2", "b2", "w3", "b3")}


# ------------------------------------------------------------------ ONNX export
def to_onnx(net: TrainedCnn, batch: int) -> onnx.ModelProto:
    """The float network as an ONNX model (opset 17) with a fixed batch size.

    The batch is static because the importer specialises shapes (the card is static);
    input ``x`` is (batch, 1, 8, 8) float32, output ``logits`` is (batch, 10).
    """
    nodes = [
        helper.make_node("Conv", ["x", "w1", "b1"], ["z1"], kernel_shape=[3, 3], pads=[1] * 4, strides=[1, 1]),
        helper.make_node("Relu", ["z1"], ["a1"]),
        helper.make_node("Conv", ["a1", "w2", "b2"], ["z2"], kernel_shape=[3, 3], pads=[1] * 4, strides=[2, 2]),
        helper.make_node("Relu", ["z2"], ["a2"]),
        helper.make_node("Flatten", ["a2"], ["flat"], axis=1),
        helper.make_node("Gemm", ["flat", "w3", "b3"], ["logits"], transB=1),
    ]
    initializers = [numpy_helper.from_array(v, k) for k, v in params_of(net).items()]
    graph = helper.make_graph(
        nodes,
        "digits_cnn",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 1, 8, 8])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [batch, CLASSES])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 8  # readable by every onnxruntime the test extra allows
    onnx.checker.check_model(model)
    return model


# ------------------------------------------------------------------ quantization helpers
QDQ_PIPELINE = "graph-fold-qdq,canopy-cleanup"
"""Fold the QDQ patterns first (canopy-cleanup's constant folding would otherwise
dequantize the int8 weights into float constants), then the usual clean-up (its
canonicalization removes the Q/DQ pair around the flatten)."""


def quantize_qdq(
    model: onnx.ModelProto, calibration: Iterable[dict[str, np.ndarray]], *, preprocess: bool = False
) -> onnx.ModelProto:
    """``model`` quantized by onnxruntime's ``quantize_static``: QDQ format, int8
    activations and per-channel int8 weights, calibrated (min/max) on ``calibration``.

    ``preprocess`` runs onnxruntime's ``quant_pre_process`` first (its graph optimizer
    folds batch norms into convolutions, as one would before deploying; without it each
    batch norm stays a float op between a dequantize and a quantize).
    """
    from onnxruntime import quantization

    class _Reader(quantization.CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(calibration)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self._batches, None)

    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.ERROR)  # quantize_static's pre-processing advice
    try:
        with tempfile.TemporaryDirectory() as tmp:
            src, dst = Path(tmp) / "float.onnx", Path(tmp) / "qdq.onnx"
            onnx.save(model, src)
            if preprocess:
                from onnxruntime.quantization.shape_inference import quant_pre_process

                optimized = Path(tmp) / "optimized.onnx"
                quant_pre_process(str(src), str(optimized), skip_symbolic_shape=True)
                src = optimized
            quantization.quantize_static(
                str(src), str(dst), _Reader(),
                quant_format=quantization.QuantFormat.QDQ, per_channel=True,
                activation_type=quantization.QuantType.QInt8,
                weight_type=quantization.QuantType.QInt8,
            )
            return onnx.load(dst)
    finally:
        root.setLevel(level)


def apply_pipeline(module: ModuleOp, spec: str) -> ModuleOp:
    """Run the pass pipeline ``spec`` on ``module`` in place, as canopy-opt would."""
    from canopy_mlir.tools.pipelines import apply_pipeline as run

    return run(module, spec)


def graph_quantize_available() -> bool:
    """Whether this checkout registers the ``graph-quantize`` pass (PTQ in canopy_mlir)."""
    from canopy_mlir.transforms import ALL_PASSES

    return "graph-quantize" in ALL_PASSES


def graph_quantize(module: ModuleOp, calibration: list[dict[str, np.ndarray]], **options: object) -> ModuleOp:
    """``module`` (float) quantized in place by canopy_mlir's own ``graph-quantize``,
    calibrated on ``calibration`` (one dict of input arrays per sample, written to a
    temporary ``.npz``): ``canopy-cleanup`` first (batch norms folded into the convs they
    follow, so the folded convs are what gets quantized), then the pass with ``options``
    (``per_channel``, ``symmetric``, ``method``, ...; defaults: per-channel, symmetric
    int8, min/max)."""
    from canopy_mlir.dialects import make_context
    from canopy_mlir.quantization.calibration import save_calibration
    from canopy_mlir.transforms import ALL_PASSES

    apply_pipeline(module, "canopy-cleanup")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "calibration.npz"
        save_calibration(path, calibration)
        ALL_PASSES["graph-quantize"]()(calibration=str(path), **options).apply(make_context(), module)
    module.verify()
    return module
