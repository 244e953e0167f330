"""Time the reference simulator and the OpenCL core on one GEMM-heavy program.

The program is the hand-written double-buffered int8 GEMM (ReLU + requantize) from
``canopy_mlir.isa_programs``: by default 256x256x256 at the intelfocl config. Both
backends run the identical pool image; the script checks they agree, then prints MAC/s
for each and their ratio, all measured in this one run.

    python benchmarks/bench_gemm.py [--size 256] [--config intelfocl] [--repeat 5]
                                    [--device pocl|nvidia|0:0]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from canopy_mlir.hw import load_config
from canopy_mlir.isa_programs import Requantize, place_gemm, read_gemm_output, reference_gemm
from canopy_mlir.runtime.card import OpenCLCard, SimulatedCard


def time_runs(card, placed, repeat: int) -> list[float]:
    """Wall time of ``repeat`` launches after one warm-up (kernel build, caches)."""
    card.run(placed.insn_offset, len(placed.instructions))
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        card.run(placed.insn_offset, len(placed.instructions))
        times.append(time.perf_counter() - start)
    return times


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="M = N = K")
    parser.add_argument("--config", default="intelfocl")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--device", default=None, help="OpenCL device (default: PoCL CPU)")
    args = parser.parse_args(argv)

    config = load_config(args.config)
    size = args.size
    rng = np.random.default_rng(0)
    a = rng.integers(-128, 128, (size, size), dtype=np.int8)
    w = rng.integers(-128, 128, (size, size), dtype=np.int8)
    requant = Requantize(multiplier=3, shift=12, relu=True)
    pool = 8 * size * size + (4 << 20)
    macs = size ** 3

    results = {}
    for label, card in (("simulator", SimulatedCard(config, pool_bytes=pool)),
                        ("opencl", OpenCLCard(config, pool_bytes=pool, device=args.device))):
        placed = place_gemm(card, a, w, requant)
        times = time_runs(card, placed, args.repeat)
        output = read_gemm_output(card, placed)
        results[label] = (times, output, card.describe())

    expected = reference_gemm(a, w, requant)
    for label, (_, output, _) in results.items():
        if not np.array_equal(output, expected):
            raise SystemExit(f"{label} result differs from the numpy reference")

    print(f"GEMM {size}x{size}x{size} int8 at '{config.name}' "
          f"({len(placed.instructions)} instructions, {macs / 1e6:.1f} M MACs), "
          f"median of {args.repeat} runs after a warm-up; both equal the numpy reference")
    rates = {}
    for label, (times, _, device) in results.items():
        median = statistics.median(times)
        rates[label] = macs / median
        print(f"  {label:<10} {median * 1e3:9.2f} ms  {rates[label] / 1e9:8.3f} GMAC/s  ({device})")
    print(f"  opencl / simulator speed ratio: {rates['opencl'] / rates['simulator']:.2f}x")


if __name__ == "__main__":
    main()
