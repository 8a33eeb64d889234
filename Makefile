# One task runner; CI (.ci/run) uses the same commands as the README.
PY ?= python3

.PHONY: install test lint format typecheck check bench

install:
	$(PY) -m pip install -e '.[dev]'

test:
	$(PY) -m pytest

lint:
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

format:
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

typecheck:
	$(PY) -m mypy

check: lint typecheck test

bench:
	$(PY) bench/bench_analyze.py
