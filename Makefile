# Two entry points for a fresh machine: `make demo` (the main job) and `make test`.
# Both create or reuse the virtual environment in .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The demo needs the package alone; tests add the dev and ONNX extras on top.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint install clean

# --no-compile: byte-compiling every installed module took half of the install's two minutes;
# Python compiles what it imports on first use.
$(RUN_STAMP): pyproject.toml constraints-ci.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile -c constraints-ci.txt -e .
	touch $@

$(DEV_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install -q --no-compile -c constraints-ci.txt -e '.[dev,onnx]'
	touch $@

install: $(DEV_STAMP)

demo: $(RUN_STAMP)
	$(BIN)/moekd demo --out runs/demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

test: $(DEV_STAMP) lint
	$(BIN)/pytest

clean:
	rm -rf runs .pytest_cache .ruff_cache
