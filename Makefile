# Two entry points for a fresh machine: `make demo` (the main job) and `make test`.
# Both create or reuse the virtual environment in .venv.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# `pip install moekd` alone is the scanner; the demo needs the training extras (`[train]`:
# torch, transformers, ..., onnx for export) and tests add the dev extras on top.
RUN_STAMP := $(VENV)/.installed-run
DEV_STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint install clean wheel

# The demo installs with --no-compile: byte-compiling every installed module took half of the
# install's two minutes, and one run imports a fraction of them. Tests start hundreds of
# processes, so the dev install compiles everything (where PYTHONDONTWRITEBYTECODE is set,
# nothing else would: the test suite ran 620 s instead of ~350 s).
$(RUN_STAMP): pyproject.toml constraints-ci.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-compile -c constraints-ci.txt -e '.[train]'
	touch $@

$(DEV_STAMP): $(RUN_STAMP)
	$(BIN)/python -m pip install -q -c constraints-ci.txt -e '.[train,dev]'
	# Some packages ship files for newer Pythons (torch's py312_intrinsics.py); pip skips them too.
	$(BIN)/python -m compileall -q -j 0 $(VENV)/lib > /dev/null 2>&1 || true
	touch $@

install: $(DEV_STAMP)

# The install skips byte-compiling (all of torch and transformers: slower than it saves), so
# the run itself may write the bytecode of what it imports: where PYTHONDONTWRITEBYTECODE is
# set, every process (the worker pool's too) recompiled transformers, ~18 s each.
demo: $(RUN_STAMP)
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/moekd demo --out runs/demo

lint: $(DEV_STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/lint-imports

test: $(DEV_STAMP) lint
	$(BIN)/pytest

# A release wheel carries the shipped detector, which git never holds (no model files are
# committed): package a student of a finished run into deploy/shipped/ (INT8 ONNX, threshold,
# card), then build the wheel, and refuse a wheel that lacks it. The defaults are the devign-cpu
# evidence run's robust 1.5 MB student; e.g. `make wheel RUN=runs/devign-cpu-robustness`.
RUN ?= runs/devign-cpu-robustness
STUDENT ?= moekd_robust-1.5mb/seed-42
DEVIGN ?= ../shared/data/devign
PRECISION ?= 0.6
SHIPPED := src/moekd/deploy/shipped
wheel: $(RUN_STAMP)
	$(BIN)/moekd package-model $(RUN) --student $(STUDENT) --valid $(DEVIGN)/valid.jsonl \
		--test $(DEVIGN)/test.jsonl --precision $(PRECISION) --out $(SHIPPED) \
		--name "moekd devign detector ($(STUDENT))"
	rm -rf build dist/moekd-*.whl
	$(BIN)/python -m pip wheel . --no-deps --no-build-isolation -q -w dist
	$(BIN)/python -c "import glob, sys, zipfile; (w,) = glob.glob('dist/moekd-*.whl'); \
		names = zipfile.ZipFile(w).namelist(); \
		ok = any(n.endswith('shipped/model.int8.onnx') for n in names); \
		sys.exit(w + ': the shipped model is missing') if not ok else print(w)"

clean:
	rm -rf runs .pytest_cache .ruff_cache
