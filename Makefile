# Two entry points for a fresh machine: `make demo` (the main job) and `make test`.
# Both create or reuse the virtual environment in .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint install clean

$(STAMP): pyproject.toml constraints-ci.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints-ci.txt -e '.[dev,onnx]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/moekd demo --out runs/demo

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

test: $(STAMP) lint
	$(BIN)/pytest

clean:
	rm -rf runs .pytest_cache .ruff_cache
