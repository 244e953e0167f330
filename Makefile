# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates or refreshes .venv by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The -t opencl-host test builds a C++ program with g++ against libOpenCL: Debian's
# ocl-icd-opencl-dev brings the headers and the ICD loader (PoCL itself comes from PyPI).
OPENCL_HEADER := /usr/include/CL/cl.h
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[pocl,test]'
	touch $(STAMP)

$(OPENCL_HEADER):
	$(SUDO) apt-get update -qq
	$(SUDO) apt-get install -y -qq g++ ocl-icd-opencl-dev

demo: $(STAMP)
	$(BIN)/python -m canopy_mlir.demo

test: $(STAMP) $(OPENCL_HEADER)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/lit -sv tests/filecheck
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n 2 -q tests

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_gemm.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
