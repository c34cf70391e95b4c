# SpendSense workbench. `make run` and `make test` are all a fresh clone needs.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# Jupyter and IPython keep their state inside the project, never in $HOME.
export JUPYTER_CONFIG_DIR := $(CURDIR)/.jupyter/config
export JUPYTER_DATA_DIR := $(CURDIR)/.jupyter/data
export JUPYTER_RUNTIME_DIR := $(CURDIR)/.jupyter/runtime
export IPYTHONDIR := $(CURDIR)/.ipython
export JUPYTER_PLATFORM_DIRS := 1
export PYDEVD_DISABLE_FILE_VALIDATION := 1

.PHONY: help install run test test-fast test-spark lab dashboard api bench lint clean
.DEFAULT_GOAL := help

help:  ## show this help
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m spendsense.jupyter_env
	@touch $(STAMP)

install: $(STAMP)  ## create .venv, install the project and register its Jupyter kernel

run: $(STAMP)  ## generate the default 100 synthetic users and run notebooks 01-05; publish reports/runs/latest
	$(BIN)/spendsense run $(ARGS)

test: $(STAMP)  ## run the whole test suite (unit, notebooks through papermill, browser)
	$(BIN)/python -m pytest $(ARGS)

test-fast: $(STAMP)  ## tests without notebooks and browser
	$(BIN)/python -m pytest -m "not slow and not browser" $(ARGS)

test-spark: $(STAMP)  ## the Spark tests plus the 2,000-user and standalone-cluster Spark-vs-DuckDB parity runs (not part of make test)
	SPENDSENSE_SPARK_PARITY=1 $(BIN)/python -m pytest tests/spark $(ARGS)

lab: $(STAMP)  ## open JupyterLab on the notebooks
	$(BIN)/jupyter lab notebooks/

dashboard: $(STAMP)  ## serve the operator dashboard (Voila) on 127.0.0.1
	$(BIN)/spendsense dashboard $(ARGS)

api: $(STAMP)  ## serve the REST API (FastAPI) on 127.0.0.1:8000; prints a token
	$(BIN)/spendsense api $(ARGS)

bench: $(STAMP)  ## benchmark every stage (default 100,000 users; ARGS="--users 10000")
	$(BIN)/spendsense bench $(ARGS)

lint: $(STAMP)  ## ruff
	$(BIN)/ruff check spendsense tests

clean:  ## remove generated data (synthetic datasets with their raw stores), reports and Jupyter state (keeps .venv and the raw store data/raw)
	rm -rf data/synthetic data/opstore.sqlite* reports/runs reports/bench .jupyter .ipython
