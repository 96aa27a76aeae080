# Two commands on a fresh machine: `make demo`, then `make test`.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SPARK_STAMP := $(VENV)/.installed-spark
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export GX_ANALYTICS_ENABLED := false
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: demo test test-fast lint format install dev clean bench

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11"; exit 1; }
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@# The project's own bytecode, once: with PYTHONDONTWRITEBYTECODE set (as on these
	@# machines) every run would compile its modules again (~0.2 s of each run's start).
	$(BIN)/python -m compileall -q orchestration ingestion expectations report >/dev/null
	touch $(STAMP)

# The Spark target (dbt-spark, pyspark; tests/e2e/test_spark.py): for `make test` only,
# so `make demo` stays quick.
$(SPARK_STAMP): $(STAMP)
	$(BIN)/pip install --quiet -e '.[dev,spark]'
	touch $(SPARK_STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/spm demo-data
	$(BIN)/spm run

# Two workers, each taking whole modules (their fixtures run once), slowest first
# (tests/conftest.py): 5 min 27 s to 11 min 47 s on 2 cores (the machine drifts), against
# 14 min 16 s in one process.
PYTEST_WORKERS := -n 2 --dist loadscope --no-loadscope-reorder

test: $(STAMP) $(SPARK_STAMP)
	$(BIN)/python -m pytest $(PYTEST_WORKERS)

test-fast: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_WORKERS) -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	cd dbt_project && ../$(BIN)/sqlfluff lint models macros tests

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .
	cd dbt_project && ../$(BIN)/sqlfluff fix models

dev: $(STAMP)
	DAGSTER_HOME=$${DAGSTER_HOME:-$(CURDIR)/.dagster_home} && mkdir -p $$DAGSTER_HOME && \
	  cp -n dagster.yaml $$DAGSTER_HOME/dagster.yaml 2>/dev/null; \
	  DAGSTER_HOME=$$DAGSTER_HOME $(BIN)/dagster dev -m orchestration.definitions

clean:
	rm -rf data dbt_project/target dbt_project/logs .pytest_cache

# Benchmark: `make bench SCALE=10000000` (default 1,000,000 order lines; NIGHTS next-day runs).
SCALE ?= 1000000
NIGHTS ?= 3
bench: $(STAMP)
	$(BIN)/spm bench --scale $(SCALE) --nights $(NIGHTS)
