# Two entry points for a fresh machine: `make demo` and `make test`.
# Each creates or refreshes .venv by itself.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[pocl,test]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m canopy_mlir.demo

test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/lit -sv tests/filecheck
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -n 2 -q tests

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_gemm.py

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis
