# Two commands on a fresh machine: `make run` and `make test` (both build .venv when missing or stale).
SHELL := /bin/bash
PYTHON ?= python3.12
VENV := .venv
BIN := $(abspath $(VENV))/bin
STAMP := $(VENV)/.installed
CORES ?= 8
export PATH := $(BIN):$(PATH)
export PYTHONHASHSEED := 0
export MPLBACKEND := Agg
export OPENBLAS_NUM_THREADS := 1
export OMP_NUM_THREADS := 1

.PHONY: env run test test-slow test-browser lint format clean sbc bench

# Rebuilt when pyproject.toml or the lock change, or when the venv's Python is not 3.12.
$(STAMP): pyproject.toml requirements.lock .python-version
	@if ! $(VENV)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then \
		echo "creating $(VENV) with $(PYTHON)"; rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

env: $(STAMP)

run: $(STAMP)
	snakemake --cores $(CORES)
	@echo "report: $(abspath results/report.html)"

test: $(STAMP)
	pytest

test-slow: $(STAMP)
	pytest -m slow

# Installs Debian's chromium (needs root and the Debian mirror) and Playwright when missing; if that is
# impossible the browser test is skipped with the reason, never passed silently.
test-browser: $(STAMP)
	@command -v chromium >/dev/null || (apt-get install -y -q chromium >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1) || \
		echo "could not install chromium: the browser test will be skipped")
	@$(VENV)/bin/python -c 'import playwright' 2>/dev/null || \
		$(VENV)/bin/python -m pip install --quiet -c requirements.lock -e '.[dev,browser]'
	pytest -m browser -rs

sbc: $(STAMP)
	python -m mgbone.inference.calibration --model M1 --simulations 100 --out results/sbc

bench: $(STAMP)
	python bench/bench_backends.py --out bench/results.md

lint: $(STAMP)
	snakemake --lint
	snakefmt --check Snakefile workflow/rules

format: $(STAMP)
	snakefmt Snakefile workflow/rules

clean:
	rm -rf results/* .snakemake
