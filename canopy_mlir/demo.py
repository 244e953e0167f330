"""``make demo``: assemble a hand-written program and run it on the emulated card.

The program is a 16x16x16 int8 GEMM followed by ReLU and a fixed-point requantize
(multiply, rounding add, shift, clip), written directly in the ``isa`` instruction set.
It runs on the OpenCL core (PoCL on the CPU unless ``CANOPY_OPENCL_DEVICE`` says
otherwise) and on the numpy reference simulator, and both are compared with numpy.
"""

from __future__ import annotations

import sys

import numpy as np

from canopy_mlir.hw import DEFAULT_CONFIG
from canopy_mlir.dialects.isa import program_from_instructions
from canopy_mlir.isa_programs import (
    Requantize,
    place_gemm,
    read_gemm_output,
    reference_gemm,
    run_gemm,
)
from canopy_mlir.runtime.card import CardError, OpenCLCard, SimulatedCard
from canopy_mlir.runtime.timing import estimate_cycles
from canopy_mlir.runtime.token_checker import ProgramView, check_tokens

SIZE = 16


def main() -> int:
    config = DEFAULT_CONFIG
    rng = np.random.default_rng(2026)
    a = rng.integers(-128, 128, (SIZE, SIZE), dtype=np.int8)
    w = rng.integers(-128, 128, (SIZE, SIZE), dtype=np.int8)
    requant = Requantize(multiplier=5, shift=12, relu=True)

    card = OpenCLCard(config, pool_bytes=1 << 20)
    placed = place_gemm(card, a, w, requant)
    print(f"canopy_mlir demo: {SIZE}x{SIZE}x{SIZE} int8 GEMM + ReLU + requantize "
          f"(x{requant.multiplier}, rounding >> {requant.shift}, clip) on config '{config.name}'")
    print(f"card: {card.describe()}\n")
    print("program (isa dialect):")
    print(program_from_instructions(config, placed.instructions, placed.uops,
                                    placed.addresses.uops, name="gemm_relu_requant"))

    card.run(placed.insn_offset, len(placed.instructions))
    on_card = read_gemm_output(card, placed)

    # The same program on the reference simulator; its pool also feeds the static checks.
    simulated_card = SimulatedCard(config, pool_bytes=1 << 20)
    simulated = run_gemm(simulated_card, a, w, requant)
    view = ProgramView.from_pool(config, simulated_card.pool, placed.insn_offset,
                                 len(placed.instructions))
    tokens = check_tokens(view)
    timing = estimate_cycles(view)
    expected = reference_gemm(a, w, requant)

    print("\nresult on the card (rows 0-3):")
    print(on_card[:4])
    print("numpy reference (rows 0-3):")
    print(expected[:4])
    card_ok = np.array_equal(on_card, expected)
    sim_ok = np.array_equal(simulated, expected)
    print(f"\ncard == numpy reference: {card_ok}   simulator == numpy reference: {sim_ok}")
    print(f"token check: {'ok' if tokens.ok else tokens}")
    print(f"timing model: {timing.total_cycles} cycles, "
          f"GEMM utilisation {timing.gemm_utilization:.1%}")
    return 0 if card_ok and sim_ok and tokens.ok else 1


def run_demo() -> int:
    """``main`` with card errors (no OpenCL device, a bad CANOPY_OPENCL_DEVICE) as one line."""
    try:
        return main()
    except CardError as err:
        print(f"canopy_mlir demo: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(run_demo())
