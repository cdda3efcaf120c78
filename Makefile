# The two commands of the README, and what they stand on.
#   make run    set up, render the dev stack offline (plan.json), then serve it on
#               127.0.0.1 with the sample model until Ctrl-C (no cloud)
#   make test   set up, then lint, type-check and run every test
# Both create .venv (with the `amlkit` command in it) on a fresh machine.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.amlkit-installed
SAMPLE_MODEL := runtime-image/sample/model/model.joblib
SAMPLE_REQUEST := runtime-image/sample/sample-request.json
STACK ?= dev

.PHONY: setup run plan test lint typecheck pytest bench clean

setup: $(STAMP) $(SAMPLE_MODEL)

$(STAMP): pyproject.toml runtime-image/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --python $(BIN)/python --compile-bytecode -e ./runtime-image -e '.[dev,local]'
	@touch $(STAMP)

# The sample model is trained here, from a deterministic synthetic dataset: nothing is downloaded.
$(SAMPLE_MODEL): $(STAMP) runtime-image/sample/train.py
	$(BIN)/python runtime-image/sample/train.py --output runtime-image/sample/model

# The offline plan, then the stack's online endpoints served on 127.0.0.1 with the
# sample model, the sample request sent through each; Ctrl-C stops them.
# LOCAL_ARGS=--once stops as soon as the request is answered; --port 0 takes free ports.
run: plan
	$(BIN)/amlkit local serve --stack $(STACK) --request $(SAMPLE_REQUEST) $(LOCAL_ARGS)

plan: setup
	$(BIN)/amlkit plan --stack $(STACK) --json plan.json

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The sample scripts are checked too, outside the package tree: they are two modules
# both named `score`, so each folder gets its own mypy run.
typecheck: setup
	$(BIN)/mypy
	$(BIN)/mypy --strict runtime-image/sample/onlinescoring/score.py
	$(BIN)/mypy --strict runtime-image/sample/batchscoring/score.py runtime-image/sample/train.py

pytest: setup
	$(BIN)/pytest

test: lint typecheck pytest

bench: setup
	$(BIN)/python bench/plan_bench.py

clean:
	rm -rf $(VENV) plan.json runtime-image/sample/model .pytest_cache .mypy_cache .ruff_cache
