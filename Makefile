# The two commands of the README, and what they stand on.
#   make run    set up, then render the dev stack offline (no cloud): plan.json
#   make test   set up, then lint, type-check and run every test
# Both create .venv (with the `amlkit` command in it) on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.amlkit-installed
SAMPLE_MODEL := runtime-image/sample/model/model.joblib
STACK ?= dev

.PHONY: setup run plan test lint typecheck pytest bench clean

setup: $(STAMP) $(SAMPLE_MODEL)

$(STAMP): pyproject.toml runtime-image/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -e ./runtime-image -e '.[dev]'
	@touch $(STAMP)

# The sample model is trained here, from a deterministic synthetic dataset: nothing is downloaded.
$(SAMPLE_MODEL): $(STAMP) runtime-image/sample/train.py
	$(BIN)/python runtime-image/sample/train.py --output runtime-image/sample/model

run: setup
	$(BIN)/amlkit plan --stack $(STACK) --json plan.json

plan: run

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check components amlkit stacks policy tests

typecheck: setup
	$(BIN)/mypy

pytest: setup
	$(BIN)/pytest

test: lint typecheck pytest

bench: setup
	$(BIN)/python bench/plan_bench.py

clean:
	rm -rf $(VENV) plan.json runtime-image/sample/model .pytest_cache .mypy_cache .ruff_cache
