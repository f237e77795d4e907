# Two commands for a newcomer: `make demo` and `make test`. Both build the
# virtual environment from nothing when it is missing, and skip that when it exists.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PYTHON ?= python3

.PHONY: venv demo test test-unit lint format dev serve bench lock clean

$(STAMP): pyproject.toml constraints.txt
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=25.1"
	@# torch first, pinned: this machine's CPU wheel. Any looser request pulls a multi-GB CUDA build.
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -c constraints.txt -e . --group dev
	@touch $(STAMP)

venv: $(STAMP)

demo: venv
	$(PY) scripts/demo.py

test: venv
	$(PY) -m pytest $(PYTEST_ARGS)

test-unit: venv
	$(PY) -m pytest tests/unit $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

format: venv
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Studio on langgraph dev: without a token key, callers are unauthenticated (development only).
dev: venv
	SUPPORT_AUTH_ALLOW_UNAUTHENTICATED=$${SUPPORT_AUTH_ALLOW_UNAUTHENTICATED:-true} \
		$(VENV)/bin/langgraph dev --no-browser

# Production: Aegra on Postgres, one worker (see README, Deploy). Needs DATABASE_URL (the
# server's Postgres; the project's tables can share it) and SUPPORT_AUTH_JWT_SECRET (or RS256).
serve: venv
	AEGRA_CONFIG=$(CURDIR)/aegra.json $(VENV)/bin/uvicorn aegra_api.main:app \
		--host $${HOST:-127.0.0.1} --port $${PORT:-8000} --workers 1

bench: venv
	$(PY) bench/retrieval.py
	$(PY) bench/resilience.py
	$(PY) bench/memory.py
	$(PY) bench/escalation.py
	$(PY) bench/attachments.py
	$(PY) bench/ingest.py
	$(PY) bench/turns.py
	$(PY) bench/concurrency.py
	$(PY) bench/checkpoints.py
	$(PY) bench/onnx_embed.py
	$(PY) bench/streaming.py
	$(PY) bench/server_start.py
	$(PY) bench/server_throughput.py
	$(PY) bench/server_throughput.py --graph reference

# Refresh the pinned versions CI installs (after changing dependencies in pyproject.toml).
lock: venv
	$(PY) -m pip freeze --exclude-editable | grep -v '^support-agent' > constraints.txt

clean:
	rm -rf $(VENV) .support-agent .pytest_cache .mypy_cache .ruff_cache
