"""The dma dialect's Python builders and helpers (the syntax and verifier messages are in
tests/filecheck/dialects/dma). Takes < 1 s."""

from __future__ import annotations

import numpy as np
import pytest
from xdsl.dialects.builtin import ModuleOp, TensorType, f32, i8, i32
from xdsl.dialects.func import FuncOp, ReturnOp
from xdsl.parser import Parser
from xdsl.utils.exceptions import VerifyException

from canopy_mlir.dialects import dma, make_context, tile


def _module(*ops):
    func = FuncOp("main", ([], []))
    func.body.block.add_ops([*ops, ReturnOp()])
    return ModuleOp([func])


def _roundtrip(module):
    text = str(module)
    parsed = Parser(make_context(), text).parse_module()
    parsed.verify()
    assert str(parsed) == text
    return parsed


def test_constant_keeps_bytes_exactly():
    data = np.arange(-8, 8, dtype=np.int8)
    const = dma.ConstantOp(data, "weights", 16)
    assert const.nbytes == 16 and const.data() == data.tobytes()
    words = np.array([1, 0xFFFFFFFF], "<u4")
    uops = dma.ConstantOp(words.tobytes(), "uops", 4, nbytes=12)  # padded buffer
    assert uops.nbytes == 12 and uops.data() == words.tobytes()
    parsed = _roundtrip(_module(const, uops))
    consts = [op for op in parsed.walk() if isinstance(op, dma.ConstantOp)]
    assert [c.data() for c in consts] == [data.tobytes(), words.tobytes()]


def test_set_data_replaces_and_refuses_overflow():
    const = dma.ConstantOp(bytes(32), "instructions", 16)
    const.set_data(bytes(range(32)))
    assert const.data() == bytes(range(32))
    with pytest.raises(dma.DmaError, match="48 bytes do not fit its 32-byte buffer"):
        const.set_data(bytes(48))


def test_offsets_are_optional_and_settable():
    alloc = dma.AllocOp(100, "activation", 4)
    assert alloc.planned_offset is None and alloc.align == 4 and alloc.nbytes == 100
    alloc.set_offset(12)
    assert alloc.planned_offset == 12
    alloc.set_offset(6)
    with pytest.raises(VerifyException, match="offset 6 is not a non-negative multiple of the alignment 4"):
        alloc.verify()


def test_host_value_bytes():
    assert dma.host_value_bytes(TensorType(f32, [2, 3])) == 24
    assert dma.host_value_bytes(TensorType(i32, [])) == 4
    act = tile.ActType.for_tensor([3, 5, 1, 1], i8, (2, 4))  # padded to 4 x 8
    assert dma.host_value_bytes(act) == 32
    assert dma.host_value_bytes(i32) is None


def test_launch_lists_every_buffer_and_round_trips():
    insns = dma.ConstantOp(bytes(48), "instructions", 16)
    uops = dma.ConstantOp(bytes(8), "uops", 4)
    a = dma.AllocOp(64, "activation", 16)
    b = dma.AllocOp(64, "activation", 16)
    launch = dma.LaunchOp(insns, 1, 2, uops, reads=[a], writes=[b])
    wait = dma.WaitOp(launch)
    assert launch.buffers() == [insns.result, uops.result, a.result, b.result]
    parsed = _roundtrip(_module(insns, uops, a, b, launch, wait))
    relaunch = next(op for op in parsed.walk() if isinstance(op, dma.LaunchOp))
    assert (relaunch.first_index, relaunch.insn_count, len(relaunch.reads), len(relaunch.writes)) == (1, 2, 1, 1)


def test_launch_verifier_rejects_an_alloc_as_instructions():
    insns = dma.AllocOp(48, "activation", 16)
    uops = dma.ConstantOp(bytes(8), "uops", 4)
    module = _module(insns, uops, dma.LaunchOp(insns, 0, 1, uops))
    with pytest.raises(VerifyException, match="the instruction buffer must be a 'instructions' buffer, got 'activation'"):
        module.verify()


def test_dense_resource_constant_bytes():
    """Large streams can live in a dense_resource blob (4-byte alignment header, then data)."""
    text = """
    func.func @main() {
      %w = dma.constant weights align 4 dense_resource<dma_w> : tensor<2xi32> -> !dma.buffer<8>
      func.return
    }
    {-#
      dialect_resources: {
        builtin: {
          dma_w: "0x0400000001000000FFFFFFFF"
        }
      }
    #-}
    """
    module = Parser(make_context(), text).parse_module()
    module.verify()
    const = next(op for op in module.walk() if isinstance(op, dma.ConstantOp))
    assert const.data() == np.array([1, -1], "<i4").tobytes()
    assert "dma.constant weights align 4 dense_resource<dma_w> : tensor<2xi32> -> !dma.buffer<8>" in str(module)
