"""Regenerate the bundled demo model: ``python examples/models/make_digits_model.py``.

Trains the small CNN of ``tests/quantization/digits_cnn.py`` (numpy, seeded, about half
a second) on scikit-learn's digits and writes, next to this file:

- ``digits_cnn.onnx``: the float model, batch 8 (input ``x`` 8x1x8x8, output ``logits``);
- ``digits_data.npz``: ``calibration`` (32 training images, for graph-quantize),
  ``images`` / ``labels`` (the first 64 held-out images and their real labels).

The outputs are committed, so ``make demo`` needs neither scikit-learn nor training.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import onnx

HERE = Path(__file__).resolve().parent
BATCH = 8


def main() -> None:
    sys.path.insert(0, str(HERE.parents[1] / "tests"))
    from quantization import digits_cnn

    data = digits_cnn.load_split()
    net = digits_cnn.train(data)
    onnx.save(digits_cnn.to_onnx(net, BATCH), HERE / "digits_cnn.onnx")
    np.savez_compressed(
        HERE / "digits_data.npz",
        calibration=data.x_train[:32],
        images=data.x_test[:64],
        labels=data.y_test[:64],
    )
    print(f"float accuracy on the held-out split: {net.test_accuracy:.2%}")


if __name__ == "__main__":
    main()
