# wirewatch — the two commands of the README:
#   make demo   set up, start a local Kafka broker and a worker, feed the samples, show the output
#   make test   set up and run the whole test suite (lint, types, unit, integration on a real broker)

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: setup demo test lint unit integration eval bench clean

$(STAMP): requirements.lock pyproject.toml
	@command -v java >/dev/null || { echo "error: java (17+) is required for the local Kafka broker"; exit 1; }
	@command -v mvn >/dev/null || { echo "error: mvn (Maven) is required to fetch the Kafka broker jars"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --require-hashes -r requirements.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/wirewatch demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# A temp dir of this checkout's own: pytest's shared /tmp/pytest-of-$USER rotation
# would let another checkout's run delete a running broker's data.
PYTEST := $(BIN)/pytest -q --basetemp=.pytest-tmp

unit: setup
	$(PYTEST) -m "not integration"

integration: setup
	$(PYTEST) -m integration

test: setup lint
	$(PYTEST)

eval: setup
	$(BIN)/wirewatch eval seeds/eval

bench: setup
	$(BIN)/python benchmarks/dedup_bench.py
	$(BIN)/python benchmarks/pipeline_bench.py
	$(BIN)/python benchmarks/nlp_process_bench.py
	$(BIN)/python benchmarks/long_article_bench.py
	$(BIN)/python benchmarks/produce_batch_bench.py

clean:
	-$(BIN)/wirewatch kafka stop
	rm -rf $(VENV) .wirewatch .pytest_cache .mypy_cache .ruff_cache
