"""Relocatable programs: lowering once at placeholder addresses, then relocating, gives the
program the generator gives at the final addresses (what convert-tile-to-dma relies on).

Expected values: the generator called directly at random addresses. Takes ~10 s.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_lower_conv import conv_cases

from canopy_mlir.hw import load_config
from canopy_mlir.isa_codegen import (
    ConvSpec,
    DramPlacement,
    IsaCodegenError,
    lower_conv,
    unsupported,
)
from canopy_mlir.isa_codegen.program import RELOCATION_STRIDE, placeholder_placement
from canopy_mlir.isa_codegen.tail import needs_padding_mask, padding_starts
from canopy_mlir.isa_format import LoadInsn, MemoryType


def _random_placement(rng: np.random.Generator, tails: int, mask: bool) -> DramPlacement:
    def at() -> int:
        return int(rng.integers(0, 1 << 24))

    return DramPlacement(input=at(), weight=at(), output=at(), uops=at(),
                         tail=tuple(at() for _ in range(tails)), mask=at() if mask else None)


@pytest.mark.parametrize("config_name", ["tiny", "intelfocl"])
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.filter_too_much, HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_relocated_conv_equals_conv_lowered_there(config_name, data, seed) -> None:
    _, conv, _, _ = data.draw(conv_cases(config_name))
    config = load_config(config_name)
    spec = ConvSpec.from_op(conv, config)
    if unsupported(spec, config) is not None:
        return
    mask = needs_padding_mask(spec.tail, spec.logical, config, padding_starts(spec))
    tails = len(spec.tail_kinds)
    relocatable = lower_conv(spec, config, placeholder_placement(tails, mask))
    placement = _random_placement(np.random.default_rng(seed), tails, mask)
    direct = lower_conv(spec, config, placement)
    moved = relocatable.relocated(placement)
    assert moved.instructions == direct.instructions
    assert moved.uops == direct.uops
    np.testing.assert_array_equal(relocatable.relocated_words(placement), direct.encoded_instructions())


def _masked_conv_program():
    """test_lower_conv's masked conv (tiny-b2: its tail makes zero padding non-zero)."""
    from test_lower_conv import _conv

    from canopy_mlir.dialects.tile import AluStep

    steps = [AluStep("add", operand=0), AluStep("shr", imm=6), AluStep("add", imm=3),
             AluStep("max", imm=0), AluStep("min", imm=255)]
    _, conv, _, _ = _conv("tiny-b2", (3, 6, 5, 5), (10, 6, 3, 3), pads=(1, 1, 1, 1),
                          tile=[2, 5, 1, 1], buffers=2, steps=steps, specs=["act"], element="ui8")
    config = load_config("tiny-b2")
    spec = ConvSpec.from_op(conv, config)
    assert needs_padding_mask(spec.tail, spec.logical, config, padding_starts(spec))
    return config, lower_conv(spec, config, placeholder_placement(1, True))


def test_relocation_needs_every_operand_the_program_reads() -> None:
    _, program = _masked_conv_program()
    with pytest.raises(IsaCodegenError, match="addresses mask"):
        program.relocated(DramPlacement(input=0, weight=0, output=0, uops=0, tail=(0,)))


def test_relocation_past_the_address_field_is_refused() -> None:
    _, program = _masked_conv_program()
    far = (1 << 32) - 1
    with pytest.raises(IsaCodegenError, match="does not fit the 32-bit dram_base field"):
        program.relocated_words(DramPlacement(input=far, weight=0, output=0, uops=0, tail=(0,), mask=0))


def test_placeholder_addresses_name_their_operand() -> None:
    _, program = _masked_conv_program()
    loads = [i for i in program.instructions if isinstance(i, LoadInsn) and i.x_size]
    roles = {(i.memory_type, i.dram_base // RELOCATION_STRIDE) for i in loads}
    assert (MemoryType.UOP, 4) in roles and (MemoryType.INP, 1) in roles
    assert (MemoryType.WGT, 2) in roles and (MemoryType.ACC, 5) in roles
