"""benchmarks/bench_card_utilisation.py: its ALU floor, checked by hand and against what
the compiler's programs reach on the timing model (no program may beat the floor).

Takes ~5 s (ResNet-18-style at 32x32 through canopy-default, no PoCL).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

from canopy_mlir.hw import load_config
from canopy_mlir.zoo import resnet18_style

BENCH = Path(__file__).resolve().parents[1] / "benchmarks" / "bench_card_utilisation.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_card_utilisation", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        sys.modules.pop(spec.name, None)


def test_the_floor_by_hand(bench) -> None:
    Timing = bench.LaunchTiming
    # a conv of 100 output vectors at 4 GEMM cycles each (a 1x1 conv over 64 channels on
    # intelfocl) and a pool of 50 vectors: 400 bound cycles.
    layers = [Timing("conv", 400, 999, 0, 0, 0, 0, 100), Timing("pool", 0, 99, 0, 0, 0, 0, 50)]
    assert bench.alu_floor(layers, 1) == pytest.approx(400 / (400 + 2 * 100))
    assert bench.alu_floor(layers, 3) == pytest.approx(400 / (400 + 6 * 100))
    assert bench.alu_floor(layers, 3, conv_only=False) == pytest.approx(400 / (400 + 600 + 2 * 50))


def test_no_compiled_program_beats_the_floor(bench, capsys) -> None:
    config = load_config("intelfocl")
    module, _ = bench.compile_to_dma(resnet18_style(32), "intelfocl")
    layers = bench.launch_timings(module, config)
    convs = [t for t in layers if t.bound]
    assert len(convs) == 20 and all(t.stored > 0 for t in convs)
    measured = sum(t.bound for t in convs) / sum(t.cycles for t in convs)
    # Every conv here requantizes (shift, max, min at least): the 3-step floor holds too.
    assert measured <= bench.alu_floor(layers, 3) < bench.alu_floor(layers, 1) < 1
    for t in convs:  # and layer by layer
        assert t.utilisation <= bench.alu_floor([t], 3)
    bench.print_alu_floor(layers)
    assert "ALU floor (" in capsys.readouterr().out
