# The two promises of the README: `make repro` runs the study, `make test` runs the tests.
# Both set up .venv from this repository's own files first (nothing installed by hand).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: setup setup-gpu lock repro test test-fast lab bench lint clean

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	@command -v $(PYTHON) >/dev/null || { echo "error: $(PYTHON) not found; install Python 3.11 or run make PYTHON=python3"; exit 1; }
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	touch $(STAMP)

# Re-pin constraints.txt: resolve pyproject.toml afresh in a scratch venv and freeze what it got.
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -e ".[dev]"
	{ echo "# Pinned versions for make setup (pip install -c constraints.txt). Refresh with: make lock"; \
	  .venv-lock/bin/python -m pip freeze --exclude-editable | grep -v '^genrecrnn'; } > constraints.txt
	rm -rf .venv-lock

# The CUDA TensorFlow instead of tensorflow-cpu (Linux x86_64 with an NVIDIA driver); the code runs unchanged.
setup-gpu: $(STAMP)
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev,gpu]"
	$(BIN)/python -m pip uninstall --yes --quiet tensorflow-cpu
	$(BIN)/python -m pip install --quiet --force-reinstall --no-deps "tensorflow>=2.16,<2.22"
	$(BIN)/python -c "import tensorflow as tf; print('GPUs:', tf.config.list_physical_devices('GPU'))"

repro: $(STAMP)
	test -d .dvc || $(BIN)/dvc init --quiet
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/dvc repro
	@echo
	@PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/genrecrnn summary

test: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest

test-fast: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python -m pytest -m "not slow"

lab: $(STAMP)
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/jupyter lab notebooks/

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/python $$b || exit 1; done

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/nbstripout --verify --keep-id notebooks/*.ipynb  # cell ids are part of the sources (nbformat 4.5)

clean:
	rm -rf $(VENV) .pytest_cache
