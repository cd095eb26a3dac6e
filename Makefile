# Two commands matter: `make chat` (chat with the bundled KB) and `make test` (the whole suite).
# Both create .venv and install qa into it first. Needs Python 3.11+.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: chat test lint wheel-check bench-speed bench-quality clean

$(BIN)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The CPU build of torch first, so sentence-transformers does not pull a multi-GB CUDA build.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $@

chat: $(BIN)/.installed
	$(BIN)/qa chat

test: $(BIN)/.installed
	$(BIN)/ruff check qa tests bench
	$(BIN)/mypy qa
	$(BIN)/pytest -q

lint: $(BIN)/.installed
	$(BIN)/ruff check qa tests bench
	$(BIN)/ruff format --check qa tests bench
	$(BIN)/mypy qa

# Build the wheel, install it into a new venv without extras (no torch), and use it as a new user
# would: qa ask on the bundled KB (English, Chinese), qa import of a CSV, qa serve. Needs no .venv.
wheel-check:
	PYTHON=$(PYTHON) bash .ci/wheel_smoke.sh

bench-speed: $(BIN)/.installed
	$(BIN)/python bench/speed.py

bench-quality: $(BIN)/.installed
	$(BIN)/python bench/quality.py

clean:
	rm -rf $(VENV) build *.egg-info
