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

.PHONY: env run extended test test-slow test-browser test-cluster browser-deps cluster-deps heavy loso loto sbc lint format clean bench bench-stan bench-growth bench-expm

# Rebuilt when pyproject.toml or the lock change, or when the venv's Python is not 3.12.
$(STAMP): pyproject.toml requirements.lock .python-version
	@if ! $(VENV)/bin/python -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then \
		echo "creating $(VENV) with $(PYTHON)"; rm -rf $(VENV); $(PYTHON) -m venv $(VENV); fi
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install --quiet -c requirements.lock -e '.[dev]'
	@touch $(STAMP)

env: $(STAMP)

run: $(STAMP)
	mgbone run --cores $(CORES)
	@echo "report: $(abspath results/report.html)"

# PYTEST_ARGS selects other markers, e.g. make test PYTEST_ARGS='-m "not slow"' (what .ci/run does: every
# non-slow test in one session). TEST_WORKERS pytest-xdist processes, one per core here: most tests are
# single-threaded graph compiles; the tests that read the tiny workflow run (end-to-end, fault, browser,
# cluster) are grouped on one worker, which makes that run once (tests/conftest.py).
TEST_WORKERS ?= 2
test: $(STAMP)
	pytest -n $(TEST_WORKERS) --dist loadgroup $(PYTEST_ARGS)

test-slow: $(STAMP)
	pytest -m slow

# Debian's chromium (needs root and the Debian mirror) and Playwright, when missing; if that is
# impossible the browser test is skipped with the reason, never passed silently.
browser-deps: $(STAMP)
	@command -v chromium >/dev/null || (apt-get install -y -q chromium >/dev/null 2>&1 || \
		(apt-get update -q >/dev/null 2>&1 && apt-get install -y -q chromium >/dev/null 2>&1) || \
		echo "could not install chromium: the browser test will be skipped")
	@$(VENV)/bin/python -c 'import playwright' 2>/dev/null || \
		$(VENV)/bin/python -m pip install --quiet -c requirements.lock -e '.[dev,browser]'

# The `cluster` extra (SLURM executor plugin); the test itself starts a single-node SLURM cluster
# (tests/cluster/slurm.sh: needs root and the Debian mirror, else it is skipped with the reason).
cluster-deps: $(STAMP)
	@$(VENV)/bin/python -c 'import snakemake_executor_plugin_slurm' 2>/dev/null || \
		$(VENV)/bin/python -m pip install --quiet -c requirements.lock -e '.[dev,cluster]'

test-browser: browser-deps
	pytest -m browser -rs

test-cluster: cluster-deps
	pytest -m cluster -rs

# M1 on the default studies plus the later natural-history cohorts, compared with m1_all
extended: $(STAMP)
	mgbone run --cores $(CORES) --configfile config/extended.yaml

# Heavy analyses (config/heavy.yaml merged over the default config): leave-one-study-out refits and
# simulation-based calibration as one job per fit or batch, added to the report; or one of them alone (the target
# comes before --configfile, which takes every word after it as a config file).
heavy: $(STAMP)
	mgbone run --cores $(CORES) --configfile config/heavy.yaml
	@echo "report: $(abspath results/report.html)"

loso: $(STAMP)
	mgbone run --cores $(CORES) loso --configfile config/heavy.yaml

loto: $(STAMP)
	mgbone run --cores $(CORES) loto --configfile config/heavy.yaml

sbc: $(STAMP)
	mgbone run --cores $(CORES) sbc --configfile config/heavy.yaml

bench: $(STAMP)
	python bench/bench_backends.py --out bench/results.md

# The same M1 in Stan (PyStan: matrix_exp_multiply, and ode_rk45) and with pymc.ode.DifferentialEquation, against the
# project's solver;
# and fit cost with 1x, 10x and 100x (synthetic) studies. Installs the `bench` extra (PyStan) when missing.
bench-stan: $(STAMP)
	@$(VENV)/bin/python -c 'import stan' 2>/dev/null || \
		$(VENV)/bin/python -m pip install --quiet -c requirements.lock -e '.[dev,bench]'
	python bench/bench_stan.py

bench-growth: $(STAMP)
	python bench/bench_growth.py

# PyTensor's Expm against the former hand-written Taylor exponential, fastmath on and off (bench/README.md)
bench-expm: $(STAMP)
	python bench/bench_expm.py --paired 6 --fastmath both

lint: $(STAMP)
	snakemake --lint
	snakefmt --check Snakefile workflow/rules
	ruff check src tests workflow/scripts bench

format: $(STAMP)
	snakefmt Snakefile workflow/rules

clean:
	rm -rf results/* .snakemake
