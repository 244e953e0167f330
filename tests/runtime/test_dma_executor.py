"""The dma executor: hand-written dma functions around the hand-written GEMM program.

The functions are built here the way convert-tile-to-dma will build them: host quantize
and pack, copies, a launch of the GEMM program (canopy_mlir.isa_programs), copy back,
host unpack / dequantize / softmax. The instruction stream holds absolute pool
addresses, so it is encoded after dma-plan-memory placed the buffers.

Expected values come from isa_programs.reference_gemm and numpy (not the executor's
path). Runs in ~3 s on the simulator; the PoCL cases add ~10 s when OpenCL is present.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from xdsl.context import Context
from xdsl.dialects.builtin import ModuleOp, StringAttr, TensorType, f32, i8
from xdsl.dialects.func import FuncOp, ReturnOp

from canopy_mlir.dialects import dma, graph, make_context, tile
from canopy_mlir.hw import INSN_BYTES, UOP_BYTES, load_config
from canopy_mlir.isa_format import decode_instructions, encode_instructions, encode_uops
from canopy_mlir.isa_programs import (
    GemmAddresses,
    Requantize,
    gemm_program,
    gemm_uops,
    pack_weights,
    plan_gemm,
    reference_gemm,
)
from canopy_mlir.runtime.card import CardError, open_card, opencl_devices
from canopy_mlir.runtime.dma_executor import DmaExecutionError, DmaProgram, run_dma
from canopy_mlir.transforms.dma_plan_memory import DmaPlanMemory

CONFIG = load_config("tiny")
POOL = 1 << 16


def _have_opencl() -> bool:
    try:
        return bool(opencl_devices())
    except CardError:  # pyopencl missing
        return False


BACKENDS = ["sim", pytest.param("opencl", marks=pytest.mark.skipif(
    not _have_opencl(), reason="no OpenCL platform is installed"))]


# ------------------------------------------------------------------ building
class Builder:
    """Appends ops to a function body; keeps what the instruction encoder needs later."""

    def __init__(self, inputs, outputs, config=CONFIG):
        self.config = config
        self.func = FuncOp("main", (inputs, outputs))
        self.func.attributes["tile.config"] = StringAttr(config.name)
        self.block = self.func.body.block
        self.gemms = []  # (plan, requant, x_alloc, w_const, out_alloc, uop_const, first)

    def add(self, op):
        self.block.add_op(op)
        return op

    def scalar(self, value, dtype):
        return self.add(graph.ConstantOp.from_array(np.array(value, dtype))).results[0]

    def pack(self, value, rows, cols, block):
        shaped = self.add(graph.ReshapeOp.create(value, shape=[rows, cols, 1, 1])).results[0]
        blocked = tile.ActType.for_tensor([rows, cols, 1, 1], i8, (self.config.batch, block))
        return self.add(tile.PackOp(shaped, blocked)).result

    def unpack(self, value, rows, cols):
        flat = self.add(tile.UnpackOp(value)).result
        return self.add(graph.ReshapeOp.create(flat, shape=[rows, cols])).results[0]

    def alloc(self, nbytes, align, name):
        op = self.add(dma.AllocOp(nbytes, "activation", align))
        op.result.name_hint = name
        return op

    def constant(self, data, kind, align, name, nbytes=None):
        op = self.add(dma.ConstantOp(data, kind, align, nbytes=nbytes))
        op.result.name_hint = name
        return op

    def gemm_constants(self, w, requant, m, name):
        """Weights and uops of one GEMM; its instructions go in the shared stream later."""
        n, k = w.shape
        plan = plan_gemm(m, n, k, self.config)
        wc = self.constant(pack_weights(w, self.config).tobytes(), "weights", self.config.wgt_elem_bytes, f"w{name}")
        uops = encode_uops(gemm_uops(plan), self.config).astype("<u4").tobytes()
        uc = self.constant(uops, "uops", UOP_BYTES, f"u{name}")
        return plan, requant, wc, uc

    def finish_instructions(self, insn_const):
        """After planning: encode every GEMM's program at the planned addresses."""
        words = []
        for plan, requant, x, wc, out, uc in self.gemms:
            at = GemmAddresses(
                inputs=x.planned_offset // self.config.inp_elem_bytes,
                weights=wc.planned_offset // self.config.wgt_elem_bytes,
                outputs=out.planned_offset // self.config.out_elem_bytes,
                uops=uc.planned_offset // UOP_BYTES,
            )
            words.append(encode_instructions(gemm_program(plan, at, requant), self.config))
        insn_const.set_data(np.concatenate(words).astype("<u8").tobytes())


def _program_length(plan, requant):
    dummy = GemmAddresses(0, 0, 0, 0)
    return len(gemm_program(plan, dummy, requant))


def _plan_and_encode(builder, insn_const, ctx=None):
    module = ModuleOp([builder.func])
    DmaPlanMemory().apply(ctx or make_context(), module)
    builder.finish_instructions(insn_const)
    module.verify()
    return module


def _tensor(shape, element):
    return TensorType(element, list(shape))


def build_single_gemm(m, k, w, requant, x_scale, out_scale, config=CONFIG):
    """host quantize -> pack -> copy -> GEMM launch -> copy back -> unpack -> dequantize -> softmax."""
    n = w.shape[0]
    b = Builder([_tensor((m, k), f32)], [_tensor((m, n), i8), _tensor((m, n), f32)], config)
    x = b.block.args[0]
    q = b.add(graph.QuantizeLinearOp.create(x, b.scalar(x_scale, np.float32), b.scalar(0, np.int8))).results[0]
    packed = b.pack(q, m, k, b.config.block_in)
    plan, rq, wc, uc = b.gemm_constants(w, requant, m, "")
    count = _program_length(plan, requant)
    insns = b.constant(bytes(count * INSN_BYTES), "instructions", INSN_BYTES, "insns")
    xb = b.alloc(m * k, b.config.inp_elem_bytes, "x")
    b.add(dma.CopyToCardOp(packed, xb))
    ob = b.alloc(m * n, b.config.out_elem_bytes, "out")
    launch = b.add(dma.LaunchOp(insns, 0, count, uc, reads=[xb, wc], writes=[ob]))
    b.add(dma.WaitOp(launch))
    out_type = tile.ActType.for_tensor([m, n, 1, 1], i8, (b.config.batch, b.config.block_out))
    back = b.add(dma.CopyToHostOp(ob, out_type)).result
    y = b.unpack(back, m, n)
    dq = b.add(graph.DequantizeLinearOp.create(y, b.scalar(out_scale, np.float32), b.scalar(0, np.int8))).results[0]
    sm = b.add(graph.SoftmaxOp.create(dq, axis=1)).results[0]
    b.add(ReturnOp(y, sm))
    b.gemms.append((plan, rq, xb, wc, ob, uc))
    return _plan_and_encode(b, insns)


def build_two_gemms(m, k, w1, r1, w2, r2, x_scale):
    """GEMM1's output stays on the card as GEMM2's input (needs BLOCK_OUT == BLOCK_IN)."""
    n1, n2 = w1.shape[0], w2.shape[0]
    b = Builder([_tensor((m, k), f32)], [_tensor((m, n2), i8)])
    x = b.block.args[0]
    q = b.add(graph.QuantizeLinearOp.create(x, b.scalar(x_scale, np.float32), b.scalar(0, np.int8))).results[0]
    packed = b.pack(q, m, k, CONFIG.block_in)
    p1, _, wc1, uc1 = b.gemm_constants(w1, r1, m, "1")
    p2, _, wc2, uc2 = b.gemm_constants(w2, r2, m, "2")
    c1, c2 = _program_length(p1, r1), _program_length(p2, r2)
    insns = b.constant(bytes((c1 + c2) * INSN_BYTES), "instructions", INSN_BYTES, "insns")
    xb = b.alloc(m * k, CONFIG.inp_elem_bytes, "x")
    b.add(dma.CopyToCardOp(packed, xb))
    hb = b.alloc(m * n1, math.lcm(CONFIG.out_elem_bytes, CONFIG.inp_elem_bytes), "h")
    t1 = b.add(dma.LaunchOp(insns, 0, c1, uc1, reads=[xb, wc1], writes=[hb]))
    b.add(dma.WaitOp(t1))
    ob = b.alloc(m * n2, CONFIG.out_elem_bytes, "out")
    t2 = b.add(dma.LaunchOp(insns, c1, c2, uc2, reads=[hb, wc2], writes=[ob]))
    b.add(dma.WaitOp(t2))
    out_type = tile.ActType.for_tensor([m, n2, 1, 1], i8, (CONFIG.batch, CONFIG.block_out))
    y = b.unpack(b.add(dma.CopyToHostOp(ob, out_type)).result, m, n2)
    b.add(ReturnOp(y))
    b.gemms += [(p1, r1, xb, wc1, hb, uc1), (p2, r2, hb, wc2, ob, uc2)]
    return _plan_and_encode(b, insns), (xb, hb, ob)


# ------------------------------------------------------------------ references
def numpy_quantize(x, scale):
    return np.clip(np.rint(x / np.float32(scale)), -128, 127).astype(np.int8)


def numpy_softmax(x):
    x = x.astype(np.float64)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _roundtrip(module):
    from xdsl.parser import Parser

    ctx: Context = make_context()
    text = str(module)
    parsed = Parser(ctx, text).parse_module()
    parsed.verify()
    assert str(parsed) == text
    return parsed


# ------------------------------------------------------------------ tests
@pytest.mark.parametrize(("config", "m", "k", "n"), [("tiny", 48, 16, 8), ("intelfocl", 24, 64, 32)])
@pytest.mark.parametrize("backend", BACKENDS)
def test_single_gemm_matches_reference_bit_for_bit(backend, config, m, k, n):
    config = load_config(config)
    rng = np.random.default_rng(7)
    x = rng.normal(0, 2, (m, k)).astype(np.float32)
    w = rng.integers(-128, 128, (n, k), dtype=np.int8)
    requant = Requantize(multiplier=3, shift=8, relu=True)
    module = _roundtrip(build_single_gemm(m, k, w, requant, 0.05, 0.1, config))
    with open_card(config, POOL, backend=backend) as card:
        y, sm = run_dma(module, [x], card)
    expected = reference_gemm(numpy_quantize(x, 0.05), w, requant)
    assert y.dtype == np.int8 and np.array_equal(y, expected)
    assert 0 < np.count_nonzero(expected) < expected.size  # the test sees ReLU and values
    np.testing.assert_allclose(sm, numpy_softmax(expected.astype(np.float32) * np.float32(0.1)), rtol=2e-6)


@pytest.mark.parametrize("backend", BACKENDS)
def test_two_launches_keep_the_activation_on_the_card_and_reuse_space(backend):
    rng = np.random.default_rng(11)
    m, k, n1, n2 = 48, 16, 8, 4
    assert CONFIG.block_in == CONFIG.block_out  # the OUT layout of GEMM1 is GEMM2's INP layout
    x = rng.normal(0, 2, (m, k)).astype(np.float32)
    w1 = rng.integers(-128, 128, (n1, k), dtype=np.int8)
    w2 = rng.integers(-128, 128, (n2, n1), dtype=np.int8)
    r1, r2 = Requantize(3, 8, True), Requantize(5, 6, False)
    module, (xb, hb, ob) = build_two_gemms(m, k, w1, r1, w2, r2, 0.05)
    # The output buffer reuses the dead input buffer's space; h (live with both) overlaps neither.
    assert xb.planned_offset <= ob.planned_offset < xb.planned_offset + xb.nbytes
    for other in (xb, ob):
        assert (hb.planned_offset + hb.nbytes <= other.planned_offset
                or other.planned_offset + other.nbytes <= hb.planned_offset)
    func = module.ops.first
    total = sum(op.nbytes for op in func.walk() if isinstance(op, dma.AllocOp | dma.ConstantOp))
    assert func.attributes["dma.pool_bytes"].value.data < total
    copies = [op for op in func.walk() if isinstance(op, dma.CopyToCardOp | dma.CopyToHostOp)]
    assert len(copies) == 2  # x in, out back: nothing in between the launches
    with open_card(CONFIG, POOL, backend=backend) as card:
        program = DmaProgram(module, card)
        (y,) = program.run([x])
        (again,) = program.run([x * 0.5])
        program.close()
    q = numpy_quantize(x, 0.05)
    assert np.array_equal(y, reference_gemm(reference_gemm(q, w1, r1), w2, r2))
    q2 = numpy_quantize(x * 0.5, 0.05)
    assert np.array_equal(again, reference_gemm(reference_gemm(q2, w1, r1), w2, r2))
    assert program.stats.constant_writes == 5  # w1, u1, w2, u2, insns: once for two runs
    assert program.stats.launches == 4
    assert program.stats.bytes_to_card == 2 * m * k and program.stats.bytes_to_host == 2 * m * n2


def test_unplanned_function_is_refused():
    m, k, n = 8, 8, 4
    w = np.ones((n, k), np.int8)
    module = build_single_gemm(m, k, w, Requantize(), 1.0, 1.0)
    for op in module.walk():
        if isinstance(op, dma.AllocOp) and op.result.name_hint == "out":
            del op.properties["offset"]
    with open_card(CONFIG, POOL, backend="sim") as card, pytest.raises(DmaExecutionError, match="%out .* has no offset: run dma-plan-memory first"):
        run_dma(module, [np.zeros((m, k), np.float32)], card)


def test_hand_edited_overlap_is_refused():
    module = build_single_gemm(8, 8, np.ones((4, 8), np.int8), Requantize(), 1.0, 1.0)
    allocs = {op.result.name_hint: op for op in module.walk() if isinstance(op, dma.AllocOp)}
    allocs["out"].set_offset(allocs["x"].planned_offset)
    with open_card(CONFIG, POOL, backend="sim") as card, pytest.raises(DmaExecutionError, match="%x .* and %out .* overlap in the pool while both are live"):
        DmaProgram(module, card)


def test_unlisted_buffer_access_is_refused():
    """A launch that does not list the buffer it loads from could read reused space."""
    module = build_single_gemm(8, 8, np.ones((4, 8), np.int8), Requantize(), 1.0, 1.0)
    launch = next(op for op in module.walk() if isinstance(op, dma.LaunchOp))
    x = next(v for v in launch.reads if v.name_hint == "x")
    replacement = dma.LaunchOp(launch.instructions, launch.first_index, launch.insn_count, launch.uops,
                               reads=[v for v in launch.reads if v is not x], writes=list(launch.writes))
    launch.parent_block().insert_op_before(replacement, launch)
    launch.token.replace_all_uses_with(replacement.token)
    launch.detach()
    launch.erase()
    with open_card(CONFIG, POOL, backend="sim") as card, pytest.raises(DmaExecutionError, match=r"LoadInsn\) touches pool bytes .* outside the buffers the launch lists in reads/writes"):
        run_dma(module, [np.zeros((8, 8), np.float32)], card)


def test_region_must_start_at_pool_offset_zero():
    module = build_single_gemm(8, 8, np.ones((4, 8), np.int8), Requantize(), 1.0, 1.0)
    with open_card(CONFIG, POOL, backend="sim") as card:
        card.alloc(100)
        with pytest.raises(DmaExecutionError, match="address the pool from offset 0"):
            DmaProgram(module, card)
        assert len(card.live_buffers) == 1  # the refused region was freed


def test_wrong_input_is_refused():
    module = build_single_gemm(8, 8, np.ones((4, 8), np.int8), Requantize(), 1.0, 1.0)
    with open_card(CONFIG, POOL, backend="sim") as card, pytest.raises(DmaExecutionError, match="must be tensor<8x8xf32>"):
        run_dma(module, [np.zeros((8, 4), np.float32)], card)


def test_card_of_another_config_is_refused():
    module = build_single_gemm(8, 8, np.ones((4, 8), np.int8), Requantize(), 1.0, 1.0)
    with open_card("tiny-b2", POOL, backend="sim") as card, pytest.raises(
            DmaExecutionError, match="compiled for config 'tiny' but runs on a simulated card .config 'tiny-b2'"):
        DmaProgram(module, card)


@pytest.mark.parametrize("backend", BACKENDS)
def test_token_reports_check_the_programs_the_card_holds(backend):
    """Clean for the compiled programs; a token flag cleared in the card's pool (not in
    the module) is found, so the reports read what would run."""
    w = np.ones((4, 16), np.int8)
    module = build_single_gemm(48, 16, w, Requantize(3, 8, True), 0.05, 0.1)
    with open_card(CONFIG, POOL, backend=backend) as card:
        program = DmaProgram(module, card)
        ((launch, report),) = program.token_reports()
        assert isinstance(launch, dma.LaunchOp) and report.ok and not report.warnings, str(report)
        first = program.buffer(launch.instructions).offset // INSN_BYTES + launch.first_index
        pool = card.read(program.region, np.uint8, program.pool_bytes)
        insns = decode_instructions(pool[first * INSN_BYTES:(first + launch.insn_count) * INSN_BYTES].tobytes(),
                                    CONFIG)
        index = next(i for i, insn in enumerate(insns) if insn.push_next)
        broken = encode_instructions([dataclasses.replace(insns[index], push_next=False)], CONFIG)
        card.write(program.region, broken.view(np.uint8).reshape(-1), offset=(first + index) * INSN_BYTES)
        ((_, report),) = program.token_reports()
        assert not report.ok, "a push removed from the pool must leave a pop waiting forever"
        program.close()
