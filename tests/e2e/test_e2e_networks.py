"""Issue 5's acceptance on whole networks: float ONNX model -> canopy-default -> the card.

For each network of :mod:`canopy_mlir.zoo` (seeded random He-init weights), compiled at
the intelfocl config with graph-quantize (random standard-normal calibration images,
symmetric int8 activations, per-channel int8 weights) or with onnxruntime's
``quantize_static`` (QDQ), the dma-level module runs on

- PoCL (the OpenCL core, ``open_card(backend="opencl")``) and the simulator card
  (``backend="sim"``): equal bit for bit;
- and both equal the graph interpreter on the integer graph (the module after the
  quantize/fold stages), bit for bit;
- the dequantized outputs against onnxruntime on the float model: cosine similarity
  >= 0.99 for every image, and the cosine after subtracting the float outputs' mean over
  the images (the input-dependent part) is reported and bounded too.

Each network is one test (compile once, every check in order) so that pytest-xdist never
compiles a network twice. The cards run the artifact (``-t canopy-artifact`` written and
loaded back), as canopy-run does. Images are standard normal, drawn with other seeds than
the calibration's. The light ResNet-50 via QDQ on the simulator is
tests/transforms/test_convert_tile_to_dma.py's slow test; here it goes through
graph-quantize (all 52 convs but the RGB stem on the card).

Random He-init networks are nearly degenerate: most of every output is the same for all
inputs (2.8% input-dependent at 224x224, 0.8% for the light ResNet-50), so the raw
cosine is ~0.999 almost regardless of quantization. The centered cosine shows what int8
keeps of the input-dependent part; graph-quantize's symmetric int8 activations use half
the range after a ReLU, and onnxruntime's asymmetric QDQ of the same networks scores
about 0.25 higher on MobileNet-style at 224 (0.70 vs 0.46).

Times (one test at a time, loaded machine): ResNet-18-style at 64x64 ~10 s, its QDQ
variant ~10 s, MobileNet-style at 64x64 ~7 s; slow: ResNet-18-style at 224x224 ~18 s,
MobileNet-style at 224x224 ~15 s, the light ResNet-50 ~36 s.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import onnx
import pytest
from e2e.e2e_support import (
    agreement,
    assert_bit_exact,
    assert_token_clean,
    compile_model,
    have_opencl,
    onnxruntime_outputs,
    run_on_card,
    split_pipeline,
    write_and_load,
)

from canopy_mlir import zoo
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.tools.pipelines import apply_pipeline

pytest.importorskip("onnxruntime")

GRAPH_QUANTIZE = "graph-quantize{calibration-random=4 seed=1 per-channel=true symmetric=true}"
QDQ = "qdq"
"""onnxruntime quantize_static (QDQ, int8 activations, per-channel int8 weights) on 4
standard-normal calibration images (seeds 100..103)."""

COSINE_MIN = 0.99
"""Issue 5: against onnxruntime on the float model."""

HOST_REASONS = (
    r"quantization boundary",  # the float input's quantize, the output's dequantize
    r"^first conv: 3 input channels",  # RGB fills 3/16 of BLOCK_IN: cheaper on the host
    r"epilogue stays with its producer",  # the bias add / requantize of a host conv
    r"^layout glue \(a matmul as a 1x1 conv\)",  # flatten before the classifier gemm
    r"^softmax",
    # A long reduction whose requantize needs a 32-bit multiplier (graph-fold-qdq's
    # fallback): the requantize runs on the host; its conv stays on the card, whose
    # i32 result comes back as byte planes.
    r"requantize multiplier does not fit the ALU's 16-bit immediate",
)


@dataclass(frozen=True)
class Network:
    name: str
    build: Callable[[], onnx.ModelProto]
    quantize: str
    images: int = 4
    """Images through the graph interpreter and onnxruntime (the cosines)."""
    card_images: int = 4
    """The first this many of them also through the simulator and PoCL."""
    host_convs: int = 1
    """Convolutions (and gemms) the partition keeps on the host: the RGB entry conv."""
    centered_min: float = 0.9
    """Floor of the per-image cosine with the float outputs' mean subtracted: a
    regression guard a little under the measured value (see the module docstring)."""
    extra_host: tuple[str, ...] = ()
    """Host-op reasons allowed for this network besides HOST_REASONS."""


NETWORKS = [
    pytest.param(Network("resnet18-64", lambda: zoo.resnet18_style(64), GRAPH_QUANTIZE,
                         centered_min=0.9), id="resnet18-64"),
    pytest.param(Network("resnet18-64-qdq", lambda: zoo.resnet18_style(64), QDQ,
                         centered_min=0.9), id="resnet18-64-qdq"),
    pytest.param(Network("mobilenet-64", lambda: zoo.mobilenet_style(64), GRAPH_QUANTIZE, centered_min=0.75),
                 id="mobilenet-64"),
    pytest.param(Network("resnet18-224", lambda: zoo.resnet18_style(224), GRAPH_QUANTIZE, card_images=2,
                         centered_min=0.65), id="resnet18-224", marks=pytest.mark.slow),
    pytest.param(Network("mobilenet-224", lambda: zoo.mobilenet_style(224), GRAPH_QUANTIZE, card_images=2,
                         centered_min=0.35), id="mobilenet-224", marks=pytest.mark.slow),
    pytest.param(Network("resnet50-light", zoo.resnet50_light, GRAPH_QUANTIZE, card_images=1, centered_min=0.15),
                 id="resnet50-light", marks=pytest.mark.slow),
]


def _images(model: onnx.ModelProto, count: int, first_seed: int) -> list[np.ndarray]:
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim]
    return [np.random.default_rng(first_seed + i).standard_normal(shape, dtype=np.float32) for i in range(count)]


def _quantized(model: onnx.ModelProto, net: Network) -> tuple[onnx.ModelProto, str | None]:
    """(the model to compile, the graph-quantize spec or None for a QDQ model)."""
    if net.quantize != QDQ:
        return model, net.quantize
    import onnxruntime
    from quantization.digits_cnn import quantize_qdq

    onnxruntime.set_default_logger_severity(3)
    name = model.graph.input[0].name
    calibration = [{name: x} for x in _images(model, 4, 100)]
    has_batch_norm = any(n.op_type == "BatchNormalization" for n in model.graph.node)
    return quantize_qdq(model, calibration, preprocess=has_batch_norm), None


def _gemm_ops(model: onnx.ModelProto) -> int:
    return sum(n.op_type in ("Conv", "Gemm", "MatMul") for n in model.graph.node)


@pytest.mark.parametrize("net", NETWORKS)
def test_network_end_to_end(net: Network, record_property, tmp_path) -> None:
    timings: dict[str, float] = {}
    model = net.build()
    start = time.perf_counter()
    to_compile, quantize = _quantized(model, net)
    timings["quantize_static"] = time.perf_counter() - start
    compiled = compile_model(to_compile, quantize)
    timings.update(compiled.seconds)

    # Where everything runs: only the expected ops stay on the host.
    host = compiled.host_ops()
    allowed = HOST_REASONS + net.extra_host
    unexpected = [(op, why) for op, why in host if not any(re.search(r, why) for r in allowed)]
    assert not unexpected, f"{net.name}: unexpected host ops {unexpected}"
    host_gemms = sum(op in ("graph.conv_integer", "graph.matmul_integer", "tile.conv") for op, _ in host)
    assert host_gemms == net.host_convs, host

    images = _images(model, net.images, 0)
    start = time.perf_counter()
    expected = [run_graph(compiled.integer, [x]) for x in images]
    timings["graph interpreter"] = time.perf_counter() - start

    on_card = images[: net.card_images]
    start = time.perf_counter()
    artifact = write_and_load(compiled, tmp_path / "artifact")
    timings["artifact round trip"] = time.perf_counter() - start
    start = time.perf_counter()
    assert assert_token_clean(artifact) >= _gemm_ops(model) - net.host_convs
    timings["token checker"] = time.perf_counter() - start
    sim = run_on_card(artifact, on_card, "sim")
    timings["simulator"] = sim.seconds
    for i, (got, want) in enumerate(zip(sim.outputs, expected, strict=False)):
        assert_bit_exact(got, want, f"{net.name} image {i}: simulator vs graph interpreter")
    assert sim.launches >= _gemm_ops(model) - net.host_convs, "every card conv/gemm is a launch"
    if have_opencl():
        pocl = run_on_card(artifact, on_card, "opencl")
        timings["PoCL"] = pocl.seconds
        assert pocl.launches == sim.launches
        for i, (got, want) in enumerate(zip(pocl.outputs, sim.outputs, strict=True)):
            assert_bit_exact(got, want, f"{net.name} image {i}: PoCL vs simulator")

    float_outputs = onnxruntime_outputs(model, images)
    lines = [f"{net.name}: {sim.launches} launches, {len(host)} host ops; "
             + ", ".join(f"{k} {v:.1f} s" for k, v in timings.items())]
    for k, output in enumerate(model.graph.output):
        found = agreement([e[k] for e in expected], [f[k] for f in float_outputs])
        lines.append(f"  {output.name}: {found.format()}")
        record_property(f"cosine_min[{output.name}]", round(found.cosine_min, 6))
        record_property(f"centered_cosine_min[{output.name}]", round(found.centered_min, 6))
        assert found.cosine_min >= COSINE_MIN, lines[-1]
        assert found.centered_min >= net.centered_min, lines[-1]
    print("\n".join(lines))
    record_property("launches", sim.launches)
    record_property("seconds", {k: round(v, 2) for k, v in timings.items()})


def test_split_pipeline_is_canopy_default() -> None:
    """The two halves the tests compile with are exactly canopy-default (MobileNet-style
    at 32x32: ~3 s)."""
    model = zoo.mobilenet_style(32)
    compiled = compile_model(model, GRAPH_QUANTIZE)
    options = "calibration-random=4 seed=1 per-channel=true symmetric=true config=intelfocl"
    whole = apply_pipeline(import_onnx(model), f"canopy-default{{{options}}}")
    assert str(whole) == str(compiled.lowered)
    integer, rest = split_pipeline("tiny", None)
    assert "graph-quantize" not in integer and 'convert-tile-to-dma{config="tiny"}' in rest
