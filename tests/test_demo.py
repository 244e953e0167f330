"""`make demo` must run and agree with the reference (it is the README's first command)."""

import subprocess
import sys


def test_demo_prints_a_result_equal_to_the_reference():
    run = subprocess.run([sys.executable, "-m", "canopy_mlir.demo"], capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "card == reference interpreter (bit for bit, 64 images): True" in run.stdout
    assert "top-1 agreement with onnxruntime's float model:" in run.stdout


def test_demo_names_a_missing_device_in_one_line():
    env = {"CANOPY_OPENCL_DEVICE": "no-such-device", "PATH": ""}
    run = subprocess.run([sys.executable, "-m", "canopy_mlir.demo"], capture_output=True,
                         text=True, timeout=300, env=env)
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert "no-such-device" in run.stderr
