"""lit configuration for canopy_mlir's FileCheck tests.

Run with ``make test`` (or ``PATH=.venv/bin:$PATH .venv/bin/lit -sv tests/filecheck``):
``canopy-opt``, ``canopy-disasm`` and ``filecheck`` are found on PATH. ``%python`` is
the interpreter running lit (the virtualenv's), for tests that craft binary inputs.
"""

import os
import sys

import lit.formats

config.name = "canopy_mlir"  # noqa: F821 (lit injects `config`)
config.test_format = lit.formats.ShTest(execute_external=False)  # noqa: F821
config.suffixes = [".mlir"]  # noqa: F821
config.excludes = ["Inputs"]  # noqa: F821
config.test_source_root = os.path.dirname(__file__)  # noqa: F821
config.environment["PATH"] = os.environ.get("PATH", "")  # noqa: F821
config.substitutions.append(("%python", sys.executable))  # noqa: F821
