"""``make demo``: compile a bundled quantized CNN and run it on the emulated card.

The model (``examples/models/digits_cnn.onnx``, trained by
``examples/models/make_digits_model.py`` on scikit-learn's handwritten digits) is a
float ONNX CNN. The demo quantizes it with ``graph-quantize`` on bundled calibration
images, compiles it with the ``canopy-default`` pipeline (partition, tiles, instruction
streams, buffers, copies, launches), runs 64 held-out images on the OpenCL core (PoCL
on the CPU unless ``CANOPY_OPENCL_DEVICE`` says otherwise), and compares the result

- bit for bit with the reference interpreter of the quantized tile-level program, and
- with onnxruntime running the float model (top-1 agreement, accuracy on the real labels).
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import onnx

from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.hw import DEFAULT_CONFIG
from canopy_mlir.interpreters.tile_interpreter import run_tile
from canopy_mlir.runtime.card import CardError, open_card
from canopy_mlir.runtime.dma_executor import DmaProgram
from canopy_mlir.tools.pipelines import apply_pipeline

MODELS = Path(__file__).resolve().parents[1] / "examples" / "models"
BATCH = 8


def _compile(model: onnx.ModelProto, calibration: Path, pipeline: str) -> object:
    spec = f'{pipeline}{{calibration="{calibration}" config="{DEFAULT_CONFIG.name}"}}'
    return apply_pipeline(import_onnx(model), spec)


def _summary(module) -> str:
    ops = Counter(op.name for op in module.walk())
    card_ops = sum(n for name, n in ops.items() if name.startswith("tile.") and name not in ("tile.pack", "tile.unpack"))
    return (f"{ops['dma.launch']} launches, {ops['dma.copy_to_card']} copies to the card, "
            f"{ops['dma.copy_to_host']} back, {card_ops} tile ops left for the host's interpreter")


def _onnxruntime(model: onnx.ModelProto, batches: list[np.ndarray]) -> np.ndarray:
    import onnxruntime

    session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return np.concatenate([session.run(None, {"x": x})[0] for x in batches])


def main() -> int:
    model = onnx.load(MODELS / "digits_cnn.onnx")
    data = np.load(MODELS / "digits_data.npz")
    images, labels = data["images"], data["labels"]
    batches = [images[i : i + BATCH] for i in range(0, len(images), BATCH)]
    with tempfile.TemporaryDirectory() as tmp:
        calibration = Path(tmp) / "calibration.npz"
        np.savez(calibration, x=data["calibration"])
        start = time.perf_counter()
        lowered = _compile(model, calibration, "canopy-default")
        compile_seconds = time.perf_counter() - start
        reference = _compile(model, calibration, "canopy-to-tile")
    print(f"canopy_mlir demo: digits CNN ({model.graph.name}), float ONNX -> int8 on config "
          f"'{DEFAULT_CONFIG.name}', compiled in {compile_seconds:.2f} s")
    print(f"dma level: {_summary(lowered)}")

    card = open_card(DEFAULT_CONFIG)
    print(f"card: {card.describe()}")
    program = DmaProgram(lowered, card)
    try:
        on_card = np.concatenate([program.run([x])[0] for x in batches])
    finally:
        program.close()
    expected = np.concatenate([run_tile(reference, [x])[0] for x in batches])
    float_logits = _onnxruntime(model, batches)

    exact = np.array_equal(on_card, expected)
    agree = float(np.mean(on_card.argmax(1) == float_logits.argmax(1)))
    print(f"\nfirst 8 images, labels:            {labels[:8].tolist()}")
    print(f"  card (int8) predictions:         {on_card[:8].argmax(1).tolist()}")
    print(f"  onnxruntime (float) predictions: {float_logits[:8].argmax(1).tolist()}")
    print(f"\ncard == reference interpreter (bit for bit, {len(images)} images): {exact}")
    print(f"top-1 agreement with onnxruntime's float model: {agree:.1%}")
    print(f"accuracy on the real labels: card int8 {np.mean(on_card.argmax(1) == labels):.1%}, "
          f"onnxruntime float {np.mean(float_logits.argmax(1) == labels):.1%}")
    print(f"largest logit difference card vs float: {np.abs(on_card - float_logits).max():.3f}")
    return 0 if exact and agree >= 0.9 else 1


def run_demo() -> int:
    """``main`` with card errors (no OpenCL device, a bad CANOPY_OPENCL_DEVICE) as one line."""
    try:
        return main()
    except CardError as err:
        print(f"canopy_mlir demo: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run_demo())
