"""The opencl-host target: a C++ host program built with g++ and run on PoCL, bit for bit.

Models go through ``-t opencl-host``: the bundled digits CNN (float ONNX, quantized with
its calibration images: host quantize / conv_integer / add / requantize / pack / unpack /
reshape / dequantize, card ALU and conv launches), the small residual QDQ CNN of
tests/filecheck/tools/Inputs/make_small_cnn.py, and the ResNet-18-style zoo network at
64x64, whose i32 3x3 conv stays a host tile.conv. Each program is built with g++ against
the system's libOpenCL, run on pyopencl's PoCL (through ``OCL_ICD_VENDORS``) and its .npy
outputs compared bit for bit with the Python runtime on the reference simulator (and the
graph interpreter of the quantized graph where the test has it). Two hand-built modules
cover every host op: graph ops against the graph interpreter, tile.conv / pool / alu with
tails of each kind against the tile interpreter.

Needs g++ and Debian's ocl-icd-opencl-dev (OpenCL headers + ICD loader): without them the
tests fail saying so, never skip. Takes about 22 s (five g++ builds of ~3 s, the ResNet's
~6 s with its baked-in constants; PoCL builds the core once per config and caches it in
~/.cache/pocl, ~1 s cold); the error-path tests take < 1 s.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import onnx
import pytest

from canopy_mlir.api import compile as canopy_compile
from canopy_mlir.interpreters.graph_interpreter import run_graph
from canopy_mlir.runtime.artifact import load_artifact
from canopy_mlir.targets.opencl_host import (
    SUPPORTED_HOST_OPS,
    OpenclHostError,
    pocl_vendors_dir,
    write_host_program,
)
from canopy_mlir.tools.opt import main as opt_main

ROOT = Path(__file__).parents[2]
MODELS = ROOT / "examples" / "models"
INSTALL_HINT = "install them with: apt-get install -y g++ ocl-icd-opencl-dev"


# ------------------------------------------------------------------ toolchain
def _require_toolchain(tmp: Path) -> None:
    """g++ and the OpenCL headers / libOpenCL are there, else fail with how to get them."""
    if shutil.which("g++") is None:
        pytest.fail(f"g++ is not installed; the opencl-host target's test builds C++: {INSTALL_HINT}")
    probe = tmp / "probe.cpp"
    probe.write_text("#define CL_TARGET_OPENCL_VERSION 120\n#include <CL/cl.h>\n"
                     "int main() { cl_uint n; return clGetPlatformIDs(0, nullptr, &n) == 12345; }\n")
    done = subprocess.run(["g++", str(probe), "-o", str(tmp / "probe"), "-lOpenCL"],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.fail("cannot compile against the OpenCL headers / link libOpenCL (Debian's "
                    f"ocl-icd-opencl-dev is missing?); {INSTALL_HINT}\n{done.stderr[-2000:]}")


@pytest.fixture(scope="module")
def pocl_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("toolchain")
    _require_toolchain(tmp)
    env = dict(os.environ)
    env["OCL_ICD_VENDORS"] = str(pocl_vendors_dir(tmp / "vendors"))
    env.pop("CANOPY_OPENCL_DEVICE", None)
    return env


def _build(directory: Path) -> Path:
    done = subprocess.run([str(directory / "build.sh")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    return directory / "host"


def _run_host(executable: Path, env: dict[str, str], inputs: list[np.ndarray], tmp: Path,
              outputs: int = 1, options: tuple[str, ...] = ()) -> list[np.ndarray]:
    paths = []
    for index, x in enumerate(inputs):
        paths.append(tmp / f"in{index}.npy")
        np.save(paths[-1], x)
    results = [tmp / f"out{index}.npy" for index in range(outputs)]
    done = subprocess.run([str(executable), *options, *map(str, paths), *map(str, results)],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "Portable Computing Language" in done.stderr
    placement = "pool" if "pool" in options else "local"
    assert f"(core buffers in {placement} memory)" in done.stderr
    return [np.load(p) for p in results]


def _check_bit_exact(directory: Path, compiled, env: dict[str, str], batches: list[np.ndarray],
                     tmp: Path, options: tuple[str, ...] = ()) -> None:
    executable = _build(directory)
    artifact = load_artifact(directory / "artifact")
    for index, x in enumerate(batches):
        (got,) = _run_host(executable, env, [x], tmp, options=options if index == 0 else ())
        (on_sim,) = artifact.run([x], backend="sim")
        (integer_graph,) = run_graph(compiled.ir["quantized"], [x])
        assert got.dtype == on_sim.dtype and got.shape == on_sim.shape
        assert np.array_equal(got, on_sim)
        assert np.array_equal(got, integer_graph)


# ------------------------------------------------------------------ models
@pytest.fixture(scope="module")
def digits():
    data = np.load(MODELS / "digits_data.npz")
    compiled = canopy_compile(MODELS / "digits_cnn.onnx", "intelfocl", {"x": data["calibration"]})
    return compiled, data["images"]


@pytest.fixture(scope="module")
def small_cnn(small_cnn_paths: dict[str, Path]):
    return canopy_compile(small_cnn_paths["qdq"], "tiny")


def test_digits_cnn_runs_bit_exact_on_pocl(digits, pocl_env, tmp_path: Path) -> None:
    compiled, images = digits
    manifest = write_host_program(compiled.ir["dma"], tmp_path / "out")
    assert {"graph.conv_integer", "graph.requantize", "tile.pack"} <= set(manifest["host_ops"])
    assert len(manifest["launches"]) >= 2
    batch = compiled.manifest["inputs"][0]["shape"][0]
    rng = np.random.default_rng(3)
    batches = [images[:batch], images[batch:2 * batch],
               rng.uniform(-1, 2, size=images[:batch].shape).astype(np.float32)]
    # the first batch with the core's on-chip buffers in a pool scratch region (devices
    # with little local memory), the others in local memory (PoCL's default here)
    _check_bit_exact(tmp_path / "out", compiled, pocl_env, batches, tmp_path, options=("--sram", "pool"))


def test_small_qdq_cnn_runs_bit_exact_on_pocl(small_cnn, pocl_env, tmp_path: Path) -> None:
    manifest = write_host_program(small_cnn.ir["dma"], tmp_path / "out")
    # its padded convs' input zero point is corrected on the card (no host graph.pad);
    # the host program's pad is covered by test_host_ops_match_the_graph_interpreter
    assert "graph.pad" not in manifest["host_ops"]
    rng = np.random.default_rng(11)
    batches = [rng.normal(size=(1, 3, 8, 8)).astype(np.float32) for _ in range(2)]
    _check_bit_exact(tmp_path / "out", small_cnn, pocl_env, batches, tmp_path)
    executable = tmp_path / "out" / "host"
    bad = tmp_path / "bad.npy"
    np.save(bad, np.zeros((1, 3, 8, 9), np.float32))
    done = subprocess.run([str(executable), str(bad), str(tmp_path / "o.npy")], capture_output=True,
                          text=True, env=pocl_env)
    assert done.returncode == 1
    assert "input 'x' must have shape (1, 3, 8, 8), the file holds (1, 3, 8, 9)" in done.stderr
    done = subprocess.run([str(executable), "--device", "no-such-device", str(bad), str(tmp_path / "o.npy")],
                          capture_output=True, text=True, env=pocl_env)
    assert done.returncode == 1 and "no OpenCL device matches 'no-such-device'" in done.stderr
    # A weight file damaged after the compile (same size) is refused before it reaches
    # the card, by the manifest's checksum.
    weights = sorted((tmp_path / "out" / "artifact").glob("c*_weights.bin"))[0]
    data = bytearray(weights.read_bytes())
    data[0] ^= 1
    weights.write_bytes(bytes(data))
    done = subprocess.run([str(executable), str(tmp_path / "in0.npy"), str(tmp_path / "o.npy")],
                          capture_output=True, text=True, env=pocl_env)
    assert done.returncode == 1, done.stderr
    assert f"{weights.name}: sha256 " in done.stderr and "does not match the manifest's" in done.stderr


def _host_ops_model() -> onnx.ModelProto:
    """Every host op the C++ runtime has (but requantize / pack / unpack, which the CNNs
    cover) at awkward settings: per-axis and uint8 quantization, rounding ties (scales
    0.5 / 0.25 / 0.125 of quarter-step inputs), saturation, strided / dilated / grouped
    convs with per-channel weight zero points, ceil-mode max pool with pads, integer
    wrap-around in add, broadcasting."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(5)
    arrays = {
        "s": np.array(0.5, np.float32), "zp": np.array(3, np.int8),
        "s3": np.array([0.5, 0.25, 0.125], np.float32), "zp3": np.array([1, -2, 0], np.int8),
        "uzp": np.array(130, np.uint8),
        "W": rng.integers(-128, 128, (4, 3, 3, 3)).astype(np.int8), "wzp": np.array([0, 3, -5, 127], np.int8),
        "Wg": rng.integers(-128, 128, (6, 1, 2, 2)).astype(np.int8),
        "B": rng.integers(-1000, 1000, (1, 4, 1, 1)).astype(np.int32),
        "Xb": rng.normal(size=(3, 1, 6)).astype(np.float32),
        "pads": np.array([0, 0, 0, 1, 0, 0, 2, 3], np.int64), "padv": np.array(-7, np.int8),
        "shape": np.array([2, 3, 42], np.int64),
    }
    node = helper.make_node
    nodes = [
        node("QuantizeLinear", ["x", "s", "zp"], ["q"]),
        node("QuantizeLinear", ["x", "s3", "zp3"], ["q3"], axis=1),
        node("QuantizeLinear", ["x", "s", "uzp"], ["qu"]),
        node("ConvInteger", ["q", "W", "zp", "wzp"], ["ci"], strides=[2, 1], pads=[1, 0, 2, 1], dilations=[1, 2]),
        node("Add", ["ci", "B"], ["cb"]),
        node("ConvInteger", ["q3", "Wg"], ["cg"], group=3),
        node("MaxPool", ["q"], ["mp"], kernel_shape=[3, 2], strides=[2, 1], pads=[1, 1, 1, 0], ceil_mode=1),
        node("MaxPool", ["x"], ["mpf"], kernel_shape=[2, 2], strides=[2, 2]),
        node("Pad", ["q", "pads", "padv"], ["pd"]),
        node("Relu", ["x"], ["r"]),
        node("Relu", ["q"], ["rq"]),
        node("Add", ["q", "q"], ["qq"]),
        node("Add", ["x", "Xb"], ["xb"]),
        node("DequantizeLinear", ["q3", "s3", "zp3"], ["dq"], axis=1),
        node("DequantizeLinear", ["qu", "s", "uzp"], ["dqu"]),
        node("Reshape", ["qu", "shape"], ["rs"]),
        node("Flatten", ["mpf"], ["fl"]),
    ]
    outputs = ["cb", "cg", "mp", "pd", "r", "rq", "qq", "xb", "dq", "dqu", "rs", "fl"]
    graph_proto = helper.make_graph(
        nodes, "host_ops", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3, 7, 6])],
        [helper.make_tensor_value_info(name, TensorProto.UNDEFINED, None) for name in outputs],
        [numpy_helper.from_array(value, name) for name, value in arrays.items()])
    return helper.make_model(graph_proto, opset_imports=[helper.make_opsetid("", 13)])


def test_host_ops_match_the_graph_interpreter(pocl_env, tmp_path: Path) -> None:
    from xdsl.dialects.builtin import StringAttr

    from canopy_mlir.frontend.onnx_importer import import_onnx

    module = import_onnx(_host_ops_model())
    module.attributes["tile.config"] = StringAttr("tiny")
    manifest = write_host_program(module, tmp_path / "out")
    assert {"graph.conv_integer", "graph.max_pool", "graph.pad", "graph.flatten"} <= set(manifest["host_ops"])
    executable = _build(tmp_path / "out")
    rng = np.random.default_rng(8)
    x = (rng.integers(-400, 400, size=(2, 3, 7, 6)) / 4).astype(np.float32)  # ties and saturation
    expected = run_graph(module, [x])
    got = _run_host(executable, pocl_env, [x], tmp_path, outputs=len(expected))
    for name, want, have in zip([o["name"] for o in manifest["outputs"]], expected, got, strict=True):
        assert have.dtype == want.dtype and have.shape == want.shape, name
        assert np.array_equal(have, want), name


def _host_tile_module():
    """A hand-built tile-level function: host tile.conv / tile.pool / tile.alu with tails
    of every kind (immediates incl. negative shr, per-channel and full-tensor i8 / i32
    operands, int32 wrap-around), a grouped strided dilated padded conv, channel padding
    (6 channels in blocks of 4), i8 / ui8 / i32 results."""
    from xdsl.dialects.builtin import (
        FunctionType,
        ModuleOp,
        StringAttr,
        TensorType,
        i8,
        i32,
    )
    from xdsl.dialects.func import FuncOp, ReturnOp

    from canopy_mlir.dialects import tile

    def add(block, op):
        block.add_op(op)
        return op

    def pack(builder, value, kind, groups=1):
        return add(builder, tile.PackOp(value, tile.blocked_type_for(kind, value.type, "tiny", groups=groups))).result

    def unpack(builder, value):
        return add(builder, tile.UnpackOp(value)).result

    from canopy_mlir.dialects import graph

    step = tile.AluStep
    inputs = [TensorType(i8, [2, 6, 7, 6]), TensorType(i8, [6, 2, 3, 3]),
              TensorType(i32, [8]), TensorType(i8, [2, 8, 4, 3]), TensorType(i32, [6]), TensorType(i32, [2, 6, 7, 6])]
    function = FuncOp("main", (inputs, []))
    b = function.body.block
    x, wg, bias, res, mult, full = function.args
    # the first conv's weights are a constant: the program packs them once, at start
    w = add(b, graph.ConstantOp.from_array(HOST_TILE_WEIGHT)).results[0]
    xa, wa, wga = pack(b, x, "act"), pack(b, w, "wgt"), pack(b, wg, "wgt", groups=3)
    ra, fa = pack(b, res, "act"), pack(b, full, "acc")
    conv = add(b, tile.ConvOp(xa, wa, strides=(2, 1), pads=(1, 0, 2, 1), dilations=(1, 2), tile=(2, 3, 1, 1),
                                tail=[step("add", operand=0), step("mul", imm=3), step("add", operand=1),
                                      step("shr", imm=2), step("max", imm=-50), step("min", imm=90)],
                                tail_operands=[bias, ra], result_element="i8")).result
    grouped = add(b, tile.ConvOp(xa, wga, pads=(1, 1, 1, 1), groups=3, tile=(4, 4, 1, 1),
                                   tail=[step("mul", operand=0), step("shr", imm=-3), step("add", operand=1)],
                                   tail_operands=[mult, fa])).result
    pooled = add(b, tile.PoolOp(grouped, kind="max", kernel=(3, 2), strides=(2, 1), pads=(1, 1, 1, 0), tile=(2, 2, 1),
                                  tail=[step("shr", imm=29), step("add", imm=100), step("max", imm=3), step("min", imm=101)], result_element="ui8")).result
    summed = add(b, tile.PoolOp(conv, kind="sum", kernel=(2, 2), pads=(0, 0, 1, 1), tile=(3, 3, 1))).result
    alu = add(b, tile.AluOp(grouped, tile=(7, 6, 2), tail=[step("min", operand=0), step("mul", imm=-7), step("shr", imm=3)],
                              tail_operands=[mult])).result
    outputs = [unpack(b, v) for v in (conv, grouped, pooled, summed, alu, wga)]
    add(b, ReturnOp(*outputs))
    function.function_type = FunctionType.from_lists(inputs, [v.type for v in outputs])
    module = ModuleOp([function])
    module.attributes["tile.config"] = StringAttr("tiny")
    return module


HOST_TILE_WEIGHT = np.random.default_rng(7).integers(-128, 128, (8, 6, 3, 3)).astype(np.int8)


def test_host_tile_ops_match_the_tile_interpreter(pocl_env, tmp_path: Path) -> None:
    from canopy_mlir.interpreters.tile_interpreter import run_tile

    module = _host_tile_module()
    manifest = write_host_program(module, tmp_path / "out")
    assert {"tile.conv", "tile.pool", "tile.alu"} <= set(manifest["host_ops"])
    host = (tmp_path / "out" / "host.cpp").read_text()
    assert "canopy::pack_grouped(" in host and "canopy::unpack_grouped(" in host
    setup, infer = host.split("auto infer = ")
    assert "canopy::pack(" in setup and "packed once" in setup  # the constant weights
    assert infer.count("canopy::pack(") == 3  # x, the residual and the i32 operand, per inference
    executable = _build(tmp_path / "out")
    rng = np.random.default_rng(1)
    i8 = lambda *shape: rng.integers(-128, 128, shape).astype(np.int8)  # noqa: E731
    i32 = lambda *shape, bound=2**31: rng.integers(-bound, bound, shape).astype(np.int32)  # noqa: E731
    inputs = [i8(2, 6, 7, 6), i8(6, 2, 3, 3), i32(8, bound=2**20), i8(2, 8, 4, 3), i32(6),
              i32(2, 6, 7, 6)]
    expected = run_tile(module, inputs)
    got = _run_host(executable, pocl_env, inputs, tmp_path, outputs=len(expected))
    for index, (want, have) in enumerate(zip(expected, got, strict=True)):
        assert have.dtype == want.dtype and have.shape == want.shape, index
        assert np.array_equal(have, want), index
    assert np.array_equal(got[-1], inputs[1])  # grouped weight: pack then unpack
    assert len(np.unique(expected[1])) > 100  # the i32 conv wraps and varies: a real check


def test_resnet18_style_with_an_i32_card_result_runs_bit_exact_on_pocl(pocl_env, tmp_path: Path) -> None:
    """ResNet-18-style at 64x64: one 3x3 conv's requantize needs a 32-bit multiplier, so
    the requantize runs on the host and the conv's i32 result leaves the card as byte
    planes, which the C++ program reassembles; it must match the simulator on the same
    artifact."""
    import json

    from canopy_mlir import zoo

    onnx.save(zoo.resnet18_style(64), tmp_path / "r18.onnx")
    out = tmp_path / "out"
    assert opt_main(["-f", "onnx", str(tmp_path / "r18.onnx"), "-p", "canopy-default{calibration-random=2}",
                     "-t", "opencl-host", "-o", str(out)]) == 0
    manifest = json.loads((out / "artifact" / "manifest.json").read_text())
    assert "tile.conv" not in manifest["host_ops"] and "graph.requantize" in manifest["host_ops"]
    assert "card.read_byte_planes(" in (out / "host.cpp").read_text()
    executable = _build(out)
    artifact = load_artifact(out / "artifact")
    x = np.random.default_rng(4).normal(size=manifest["inputs"][0]["shape"]).astype(np.float32)
    (got,) = _run_host(executable, pocl_env, [x], tmp_path)
    (on_sim,) = artifact.run([x], backend="sim")
    assert got.dtype == on_sim.dtype and got.shape == on_sim.shape
    assert np.array_equal(got, on_sim)
    assert len(np.unique(got)) > 10


# ------------------------------------------------------------------ errors (no g++)
def test_unsupported_host_op_is_an_error_naming_it(tmp_path: Path) -> None:
    (tmp_path / "out").mkdir()
    with pytest.raises(OpenclHostError) as error:
        write_host_program(_parse(_DMA_MODULE.replace("graph.relu", "graph.sigmoid")), tmp_path / "out")
    message = str(error.value)
    assert "host op 'graph.sigmoid' (result %r) in @main is not supported" in message
    assert all(name in message for name in SUPPORTED_HOST_OPS)
    assert "\n" not in message
    assert list((tmp_path / "out").iterdir()) == []  # nothing written


def test_canopy_opt_reports_an_unsupported_op_in_one_line(tmp_path: Path, capsys) -> None:
    source = tmp_path / "m.mlir"
    source.write_text(_DMA_MODULE.replace("graph.relu", "graph.sigmoid"))
    status = opt_main([str(source), "-t", "opencl-host", "-o", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert status == 1
    assert err.startswith("canopy-opt: error: opencl-host: host op 'graph.sigmoid' (result %r)")
    assert err.count("\n") == 1


def test_canopy_opt_writes_the_program_directory(tmp_path: Path) -> None:
    source = tmp_path / "m.mlir"
    source.write_text(_DMA_MODULE)
    assert opt_main([str(source), "-t", "opencl-host", "-o", str(tmp_path / "out")]) == 0
    names = {p.name for p in (tmp_path / "out").iterdir()}
    assert names == {"artifact", "host.cpp", "canopy_host.hpp", "vta_core.cl", "build.sh"}
    host = (tmp_path / "out" / "host.cpp").read_text()
    assert re.search(r'card.write_file\(0, args.artifact \+ "/c000_instructions.bin", 32, "[0-9a-f]{64}"\);', host)
    assert "canopy::relu(" in host and "card.launch(0, 2);" in host
    # rerun into the same directory: ours are replaced; a foreign file is refused
    assert opt_main([str(source), "-t", "opencl-host", "-o", str(tmp_path / "out")]) == 0
    (tmp_path / "out" / "notes.txt").write_text("mine")
    with pytest.raises(OpenclHostError, match="holds notes.txt, which this target does not write"):
        write_host_program(_parse(_DMA_MODULE), tmp_path / "out")


def test_unplanned_module_is_refused(tmp_path: Path) -> None:
    with pytest.raises(OpenclHostError, match="has no offset: run dma-plan-memory"):
        write_host_program(_parse(_DMA_MODULE.replace(" offset 0", "")), tmp_path / "out")


def _parse(text: str):
    from xdsl.context import Context
    from xdsl.parser import Parser

    from canopy_mlir.dialects import register_all_dialects

    ctx = Context()
    register_all_dialects(ctx)
    return Parser(ctx, text).parse_module()


_DMA_MODULE = """
builtin.module attributes {tile.config = "tiny"} {
  func.func @main(%x: tensor<1x4xf32>) -> tensor<1x4xf32> attributes {dma.pool_bytes = 128 : i64} {
    %insns = dma.constant instructions align 16 offset 0 dense<0> : tensor<32xui8> -> !dma.buffer<32>
    %u = dma.constant uops align 4 offset 32 dense<0> : tensor<4xui8> -> !dma.buffer<4>
    %s = graph.constant dense<"0x0000803F"> : tensor<f32>
    %z = graph.constant dense<"0x00"> : tensor<i8>
    %r = graph.relu %x : (tensor<1x4xf32>) -> tensor<1x4xf32>
    %q = graph.quantize_linear %r, %s, %z : (tensor<1x4xf32>, tensor<f32>, tensor<i8>) -> tensor<1x4xi8>
    %a = dma.alloc activation align 16 offset 64 : !dma.buffer<16>
    dma.copy_to_card %q, %a : tensor<1x4xi8> -> !dma.buffer<16>
    %t = dma.launch %insns[0, 2] uops %u : !dma.buffer<32>, !dma.buffer<4> writes(%a : !dma.buffer<16>)
    dma.wait %t
    %h = dma.copy_to_host %a : !dma.buffer<16> -> tensor<1x4xi8>
    %y = graph.dequantize_linear %h, %s, %z : (tensor<1x4xi8>, tensor<f32>, tensor<i8>) -> tensor<1x4xf32>
    func.return %y : tensor<1x4xf32>
  }
}
"""
