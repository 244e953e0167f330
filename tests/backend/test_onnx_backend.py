"""ONNX's backend conformance node tests, run through ``canopy_mlir.backend``.

``onnx.backend.test.BackendTest`` generates one test per ONNX node test case (a one-op
model, its inputs and the expected outputs, compared with the case's rtol/atol and exact
dtype). We include the test-name families of the operators the importer supports
(:func:`supported_op_types`), CPU device only; other operators' tests are not collected.

Every included test either passes, or is *excluded* by a pattern in
``tests/backend/exclusions.py`` with the reason. Excluded tests still run and are
reported as xfailed with that reason; one that passes fails the suite, so that its
exclusion gets removed. A summary line (``tests/backend/conftest.py``) counts both.
"""

from __future__ import annotations

import functools
import re
import unittest
import warnings
from collections.abc import Callable

import onnx
import onnx.backend.test
import pytest

import canopy_mlir.backend
from canopy_mlir.frontend.onnx_importer import supported_op_types
from exclusions import EXCLUSIONS

DEVICE_SUFFIX = "_cpu"

_FAMILY_NAMES: dict[str, tuple[str, ...]] = {
    "BatchNormalization": ("batchnorm",),
    "Conv": ("conv", "basic_conv"),
    "Dropout": ("dropout", "training_dropout"),
    "Pad": ("constant_pad", "edge_pad", "reflect_pad", "wrap_pad"),
    "ReduceMean": ("reduce_mean",),
}
"""ONNX node-test name stems that are not simply the lower-cased operator name."""


def family_patterns(op_type: str) -> list[str]:
    """Regexes matching the ONNX node tests of ``op_type`` (device suffix included)."""
    if op_type == "Constant":  # test_constant_pad* belongs to Pad
        return [rf"^test_constant{DEVICE_SUFFIX}$"]
    stems = _FAMILY_NAMES.get(op_type, (op_type.lower(),))
    return [rf"^test_{re.escape(stem)}_" for stem in stems]


INCLUDES: dict[str, list[str]] = {op: family_patterns(op) for op in supported_op_types()}
"""Operator type -> the test-name families included for it."""

_INCLUDE_RES = [re.compile(p) for patterns in INCLUDES.values() for p in patterns]
_EXCLUDE_RES = {pattern: re.compile(pattern) for pattern in EXCLUSIONS}


def is_included(test_name: str) -> bool:
    return test_name.endswith(DEVICE_SUFFIX) and any(r.search(test_name) for r in _INCLUDE_RES)


def exclusion_of(test_name: str) -> tuple[str, str] | None:
    """``(pattern, reason)`` of the first exclusion matching ``test_name``."""
    for pattern, regex in _EXCLUDE_RES.items():
        if regex.search(test_name):
            return pattern, EXCLUSIONS[pattern]
    return None


def _expect_failure(test: Callable, pattern: str, reason: str) -> Callable:
    """Run an excluded test: its failure is an xfail carrying ``reason``; its success
    fails, asking for the stale exclusion to go."""

    @functools.wraps(test)
    def run(*args, **kwargs):
        try:
            test(*args, **kwargs)
        except Exception:  # noqa: BLE001 - any failure is the expected one
            pytest.xfail(f"excluded [{pattern}]: {reason}")
        raise AssertionError(
            f"this excluded test passes now: remove {pattern!r} from tests/backend/exclusions.py "
            f"(its reason was: {reason})"
        )

    return run


def _node_test_case() -> type[unittest.TestCase]:
    with warnings.catch_warnings():  # ONNX's case generators overflow casts on purpose
        warnings.simplefilter("ignore", RuntimeWarning)
        backend_test = onnx.backend.test.BackendTest(canopy_mlir.backend, __name__)
    for pattern in _INCLUDE_RES:
        backend_test.include(pattern.pattern)
    case = backend_test.test_cases["OnnxBackendNodeModelTest"]
    for name in [n for n in vars(case) if n.startswith("test_")]:
        if not is_included(name):
            delattr(case, name)  # another operator's test, or another device
            continue
        excluded = exclusion_of(name)
        if excluded is not None:
            setattr(case, name, _expect_failure(getattr(case, name), *excluded))
    return case


OnnxBackendNodeModelTest = _node_test_case()
INCLUDED_TESTS = sorted(n for n in vars(OnnxBackendNodeModelTest) if n.startswith("test_"))


# ------------------------------------------------------------- the lists themselves
def test_every_supported_operator_has_included_tests():
    families = {op: [n for n in INCLUDED_TESTS if any(re.search(p, n) for p in pats)]
                for op, pats in INCLUDES.items()}
    assert not [op for op, names in families.items() if not names], families


def test_every_exclusion_matches_an_included_test():
    stale = [p for p, regex in _EXCLUDE_RES.items() if not any(regex.search(n) for n in INCLUDED_TESTS)]
    assert not stale, f"exclusions that match no included test: {stale}"


def test_every_exclusion_has_a_reason():
    assert all(isinstance(r, str) and len(r.split()) >= 4 for r in EXCLUSIONS.values())
