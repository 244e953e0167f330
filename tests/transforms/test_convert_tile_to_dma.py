"""convert-tile-to-dma: the tile level runs on the emulated card, bit for bit.

The small CNN of tests/filecheck/tools/Inputs/make_small_cnn.py (onnxruntime's QDQ model
and the float model quantized by graph-quantize) goes through canopy-to-tile and this
pass, and runs with the dma executor on the simulator card (and once on the OpenCL
core). Expected values: the tile interpreter on the tile-level module and the graph
interpreter on the integer graph, neither of which touches the card, the dma level or
the instruction generator. The copy counts are derived from the tile-level module's
def-use chains, not from the pass. Every emitted program is read back from the card's
pool and checked by the token checker.

Takes ~5 s (each case is lowered once, PoCL case included); the light ResNet-50
(marked slow) takes ~60 s more.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from pipeline_parts import split_pipeline
from xdsl.dialects.builtin import ModuleOp

from canopy_mlir.dialects import dma, tile
from canopy_mlir.frontend.onnx_importer import import_onnx
from canopy_mlir.hw import load_config
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.interpreters.tile_interpreter import run_tile
from canopy_mlir.isa_codegen import lower_alu, lower_conv, lower_pool
from canopy_mlir.runtime.card import CardError, open_card, opencl_devices
from canopy_mlir.runtime.dma_executor import DmaProgram
from canopy_mlir.tools.pipelines import apply_pipeline
from canopy_mlir.transforms.convert_tile_to_dma import (
    ConvertTileToDma,
    ConvertTileToDmaError,
    convert_function,
    lowering_reason,
)

pytest.importorskip("onnxruntime.quantization")


CASES = [
    ("qdq", "intelfocl", ""),
    ("qdq", "tiny", ""),
    ("qdq", "tiny-b2", ""),
    ("float", "tiny", "graph-quantize{calibration-random=4 seed=3}"),
    ("float", "intelfocl", 'graph-quantize{calibration-random=4 seed=3 method="percentile"}'),
]
IDS = [f"{m}-{c}" for m, c, _ in CASES]


def _have_opencl() -> bool:
    try:
        return bool(opencl_devices())
    except CardError:
        return False


@pytest.fixture(scope="module")
def models(small_cnn_paths: dict[str, Path]) -> dict[str, onnx.ModelProto]:
    return {kind: onnx.load(path) for kind, path in small_cnn_paths.items()}


_LOWERED: dict[str, tuple[ModuleOp, ModuleOp, ModuleOp]] = {}


def _lowered(models: dict, case: tuple[str, str, str]) -> tuple[ModuleOp, ModuleOp, ModuleOp]:
    """(integer graph, tile level, dma level) of a case, lowered once per test session."""
    key = "-".join(case[:2])
    if key not in _LOWERED:
        model, config, quantize = case
        integer_part, tile_part = split_pipeline("canopy-to-tile", config, quantize or None)
        integer = apply_pipeline(import_onnx(models[model]), integer_part)
        tiled = apply_pipeline(integer.clone(), tile_part)
        lowered = apply_pipeline(tiled.clone(), "convert-tile-to-dma")
        lowered.verify()
        _LOWERED[key] = integer, tiled, lowered
    return _LOWERED[key]


def _main(module: ModuleOp):
    return next(op for op in module.walk() if getattr(op, "sym_name", None) is not None
                and op.sym_name.data == "main")


def _inputs(seed: int, count: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(1, 3, 8, 8)).astype(np.float32) for _ in range(count)]


# ------------------------------------------------------------------ bit-exactness
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_runs_bit_exactly_on_the_simulator(models: dict, case) -> None:
    integer, tiled, lowered = _lowered(models, case)
    card_ops = [op for op in tiled.walk() if isinstance(op, tile.TILE_COMPUTE_OPS)
                and lowering_reason(op, load_config(case[1])) is None]
    assert len(card_ops) >= 4, "most of the CNN should run on the card"
    program = DmaProgram(lowered, open_card(case[1], backend="sim"))
    runs = _inputs(5, 3)
    for x in runs:
        got = program.run([x])
        expected_tile, expected_graph = run_tile(tiled, [x]), run_graph(integer, [x])
        for g, t, e in zip(got, expected_tile, expected_graph, strict=True):
            np.testing.assert_array_equal(g, t)
            np.testing.assert_array_equal(g, e)
    assert program.stats.launches == len(card_ops) * len(runs)
    assert program.stats.constant_writes == sum(
        isinstance(op, dma.ConstantOp) for op in lowered.walk()), "constants are written once"


# ------------------------------------------------------------------ copies
def _expected_copies(tiled: ModuleOp, config) -> tuple[int, int]:
    """From the tile-level def-use chains: host-made blocked values card ops read
    (packs of constants excepted: weights, input zero-point maps), and card-made values
    some host op reads."""
    def on_card(op) -> bool:
        return isinstance(op, tile.TILE_COMPUTE_OPS) and lowering_reason(op, config) is None

    to_card, to_host = set(), set()
    for op in _main(tiled).walk():
        if on_card(op):
            for value in op.operands:
                producer = value.owner
                if not isinstance(value.type, tile.BlockedType) or on_card(producer):
                    continue
                constant = (isinstance(producer, tile.PackOp)
                            and producer.input.owner.name == "graph.constant")
                if not constant:
                    to_card.add(value)
        else:
            to_host.update(v for v in op.operands if on_card(v.owner))
    return len(to_card), len(to_host)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_card_values_stay_on_the_card(models: dict, case) -> None:
    _, tiled, lowered = _lowered(models, case)
    ops = list(_main(lowered).walk())
    copies_in = [op for op in ops if isinstance(op, dma.CopyToCardOp)]
    copies_out = [op for op in ops if isinstance(op, dma.CopyToHostOp)]
    assert (len(copies_in), len(copies_out)) == _expected_copies(tiled, load_config(case[1]))
    # Consecutive card ops hand values over in place: some launch reads what an
    # earlier launch wrote, and no copy ever writes a buffer a launch writes.
    launches = [op for op in ops if isinstance(op, dma.LaunchOp)]
    written = {v for launch in launches for v in launch.writes}
    assert any(v in written for launch in launches for v in launch.reads)
    assert not any(copy.buffer in written for copy in copies_in)
    assert not any(isinstance(op, tile.TILE_COMPUTE_OPS) and "canopy.placement" not in op.attributes
                   for op in ops), "every compute op left is marked host"


# ------------------------------------------------------------------ programs
@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_every_program_passes_the_token_checker(models: dict, case) -> None:
    """Programs as the card holds them (read back from the pool after loading)."""
    _, _, lowered = _lowered(models, case)
    card = open_card(case[1], backend="sim")
    program = DmaProgram(lowered, card)
    launches = [op for op in _main(lowered).walk() if isinstance(op, dma.LaunchOp)]
    assert launches
    reports = program.token_reports()
    assert [launch for launch, _ in reports] == launches
    for _, report in reports:
        assert report.ok and not report.warnings, str(report)
    program.close()


def test_replanning_keeps_the_offsets(models: dict) -> None:
    """dma-plan-memory after the pass recomputes the same plan (the programs hold it)."""
    _, _, lowered = _lowered(models, CASES[0])
    replanned = apply_pipeline(lowered.clone(), "dma-plan-memory")

    def offsets(module):
        return [(op.name, op.planned_offset) for op in module.walk()
                if isinstance(op, dma.AllocOp | dma.ConstantOp)]

    assert offsets(replanned) == offsets(lowered)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_residuals_run_on_the_card(models: dict, case) -> None:
    """The QDQ residual's scaled shortcut enters the consumer's tail as an i8 operand
    (convert-graph-to-tile): no i32 (!tile.acc) result, so no compute op left on the host."""
    _, tiled, lowered = _lowered(models, case)
    assert not any(isinstance(op, tile.TILE_COMPUTE_OPS) and isinstance(op.results[0].type, tile.AccType)
                   for op in tiled.walk())
    assert any(isinstance(v.type, tile.ActType) for op in tiled.walk() if isinstance(op, tile.ConvOp)
               for v in op.tail_values()), "the residual is an i8 tail operand"
    reasons = [op.attributes["canopy.placement_reason"].data for op in lowered.walk()
               if isinstance(op, tile.TILE_COMPUTE_OPS) and "canopy.placement_reason" in op.attributes]
    assert not any("i32 (!tile.acc) result" in r for r in reasons), reasons


def test_card_memory_limit(models: dict) -> None:
    _, tiled, _ = _lowered(models, CASES[1])
    with pytest.raises(ConvertTileToDmaError, match=r"needs a \d+-byte pool but card-memory is 4096"):
        apply_pipeline(tiled.clone(), "convert-tile-to-dma{card-memory=4096}")


@pytest.mark.skipif(not _have_opencl(), reason="no OpenCL platform is installed")
def test_runs_on_the_opencl_core(models: dict) -> None:
    _, tiled, lowered = _lowered(models, CASES[3])
    program = DmaProgram(lowered, open_card(CASES[3][1], backend="opencl"))
    for x in _inputs(8, 2):
        np.testing.assert_array_equal(program.run([x])[0], run_tile(tiled, [x])[0])
    program.close()


# ------------------------------------------------------------------ ResNet-50
@pytest.mark.slow
def test_light_resnet50_end_to_end() -> None:
    """The light ResNet-50 (random weights, onnxruntime QDQ, as in
    test_convert_graph_to_tile_layers) on intelfocl: tile level -> dma level -> the
    simulator card, equal to the tile interpreter bit for bit. About 60 s: ~23 s in
    this pass (the instruction generator, run twice per conv: sizing and emission),
    ~23 s simulating 50 launches (~220k instructions)."""
    import onnxruntime
    from backend.test_light_models import _load, with_random_weights
    from onnx import version_converter
    from quantization.digits_cnn import quantize_qdq

    onnxruntime.set_default_logger_severity(3)
    model = version_converter.convert_version(with_random_weights(_load("resnet50"), seed=0), 17)
    name = model.graph.input[0].name
    images = [{name: np.random.default_rng(i).standard_normal((1, 3, 224, 224), dtype=np.float32)}
              for i in range(2)]
    module = import_onnx(quantize_qdq(model, images, preprocess=True))
    tiled = apply_pipeline(module, 'graph-fold-qdq,graph-partition{config="intelfocl"},'
                                   'convert-graph-to-tile{config="intelfocl"},canonicalize')
    start = time.perf_counter()
    lowered = apply_pipeline(tiled.clone(), "convert-tile-to-dma")
    lowering = time.perf_counter() - start
    x = images[1][name]
    program = DmaProgram(lowered, open_card("intelfocl", backend="sim", pool_bytes=64 << 20))
    got = program.run([x])
    print(f"light ResNet-50: convert-tile-to-dma {lowering:.1f} s, simulator "
          f"{time.perf_counter() - start - lowering:.1f} s, {program.stats.launches} launches, "
          f"{program.stats.instructions} instructions, pool {program.pool_bytes} bytes")
    assert program.stats.launches >= 45
    for g, e in zip(got, run_tile(tiled, [x]), strict=True):
        np.testing.assert_array_equal(g, e)


# ------------------------------------------------------------------ errors
_CHAIN = """
builtin.module attributes {tile.config = "tiny"} {
  func.func @main(%x: tensor<1x4x4x4xi8>, %b: tensor<4xi32>) -> tensor<1x4x4x4xi8> {
    %w = graph.constant dense<"0xF8F9FAFBFCFDFEFF0001020304050607"> : tensor<4x4x1x1xi8>
    %p = tile.pack %x : tensor<1x4x4x4xi8> -> !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>
    %q = tile.pack %w : tensor<4x4x1x1xi8> -> !tile.wgt<1x1x1x1x4x4xi8, o = 4, i = 4>
    %c = tile.conv %p, %q tail(%b) {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 4, 4, 1, 1>, buffers = 1 : i64, tail = [#tile.step<add operand 0>, #tile.step<max -128>, #tile.step<min 127>]} : (!tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>, !tile.wgt<1x1x1x1x4x4xi8, o = 4, i = 4>, tensor<4xi32>) -> !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>
    %u = tile.unpack %c : !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4> -> tensor<1x4x4x4xi8>
    func.return %u : tensor<1x4x4x4xi8>
  }
}
"""


def _parse(text: str) -> ModuleOp:
    from xdsl.parser import Parser

    from canopy_mlir.dialects import make_context

    return Parser(make_context(), text).parse_module()


def test_channel_vector_made_at_run_time_is_refused() -> None:
    with pytest.raises(ConvertTileToDmaError, match="per-channel tail operand must be a graph.constant"):
        apply_pipeline(_parse(_CHAIN), "convert-tile-to-dma")


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_relocated_programs_equal_programs_lowered_at_the_planned_addresses(models: dict, case) -> None:
    """Each launch's bytes (relocated from one lowering per spec) are what the instruction
    generator gives when asked directly at the launch's planned addresses."""
    _, tiled, _ = _lowered(models, case)
    module = tiled.clone()
    config = load_config(case[1])
    kernels = convert_function(_main(module), config, ConvertTileToDma())
    assert kernels
    lowerings = {tile.ConvOp: lower_conv, tile.AluOp: lower_alu, tile.PoolOp: lower_pool}
    for kernel in kernels:
        lower = next(f for t, f in lowerings.items() if kernel.op_name == t.name)
        direct = lower(kernel.spec, config, kernel.placement(config))
        assert kernel.program(config).instructions == direct.instructions
        assert bytes(kernel.instructions.data()) == direct.encoded_instructions().astype("<u8").tobytes()
        assert bytes(kernel.uops.data())[:4 * len(direct.uops)] == \
            direct.encoded_uops().astype("<u4").tobytes()


_I32_CHAIN = """
builtin.module attributes {tile.config = "tiny"} {
  func.func @main(%x: tensor<1x4x4x4xi8>) -> (tensor<1x4x4x4xi32>, tensor<1x4x4x4xi8>) {
    %w = graph.constant dense<"0x80818283FCFDFEFF7F7E7D7C04050607"> : tensor<4x4x1x1xi8>
    %p = tile.pack %x : tensor<1x4x4x4xi8> -> !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>
    %q = tile.pack %w : tensor<4x4x1x1xi8> -> !tile.wgt<1x1x1x1x4x4xi8, o = 4, i = 4>
    %c = tile.conv %p, %q {strides = array<i64: 1, 1>, pads = array<i64: 0, 0, 0, 0>, tile = array<i64: 2, 4, 1, 1>, buffers = 2 : i64, tail = []} : (!tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>, !tile.wgt<1x1x1x1x4x4xi8, o = 4, i = 4>) -> !tile.acc<1x1x4x4x1x4xi32, n = 1, c = 4>
    %r = tile.alu %c {tile = array<i64: 4, 4, 1>, buffers = 1 : i64, tail = [#tile.step<shr 6>, #tile.step<max -128>, #tile.step<min 127>]} : (!tile.acc<1x1x4x4x1x4xi32, n = 1, c = 4>) -> !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4>
    %u = tile.unpack %c : !tile.acc<1x1x4x4x1x4xi32, n = 1, c = 4> -> tensor<1x4x4x4xi32>
    %v = tile.unpack %r : !tile.act<1x1x4x4x1x4xi8, n = 1, c = 4> -> tensor<1x4x4x4xi8>
    func.return %u, %v : tensor<1x4x4x4xi32>, tensor<1x4x4x4xi8>
  }
}
"""


def test_an_i32_card_result_comes_back_as_byte_planes_and_feeds_a_card_op() -> None:
    """The conv's i32 result is stored as byte planes: the copy to the host reassembles it
    (``byte_planes``), and the tile.alu that reads it on the card gets it through the host
    (copied back in the ACC layout); both launches run, equal to the tile interpreter."""
    module = _parse(_I32_CHAIN)
    x = np.random.default_rng(2).integers(-128, 128, (1, 4, 4, 4)).astype(np.int8)
    expected = run_tile(module, [x])
    lowered = apply_pipeline(module.clone(), "convert-tile-to-dma")
    copies = [op for op in lowered.walk() if isinstance(op, dma.CopyToHostOp)]
    assert [op.planar for op in copies] == [True, False]
    assert sum(isinstance(op, dma.CopyToCardOp) for op in lowered.walk()) == 2  # x, and %c back
    assert sum(isinstance(op, dma.LaunchOp) for op in lowered.walk()) == 2
    backends = ["sim", "opencl"] if _have_opencl() else ["sim"]
    for backend in backends:
        program = DmaProgram(lowered, open_card("tiny", backend=backend, pool_bytes=1 << 16))
        try:
            got = program.run([x])
        finally:
            program.close()
        for g, e in zip(got, expected, strict=True):
            np.testing.assert_array_equal(g, e)
    assert np.abs(expected[0]).max() > 1 << 12  # the i32 values need all four planes
