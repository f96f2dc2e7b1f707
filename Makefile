# genlab developer commands. `make demo` and `make test` create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The torch pin for this machine (a CPU build on disk); later extras that need torch respect it.
CONSTRAINTS := -c constraints.txt

.PHONY: demo test test-all lint bench clean help

help:
	@echo "make demo      fit the main job on built-in data (creates .venv on first use)"
	@echo "make test      run the default test suite (excludes tests marked slow)"
	@echo "make test-all  run every test, slow ones included"
	@echo "make lint      ruff"
	@echo "make bench     benchmarks against the peers; appends to bench/RESULTS.md"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamp files: reinstall only when the project's dependency declarations change.
$(VENV)/.demo-installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet $(CONSTRAINTS) -e ".[plot,neural,images,text,vision]"
	touch $@

$(VENV)/.test-installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet $(CONSTRAINTS) -e ".[plot,dev,peers,neural,images,audio,text,vision]"
	touch $@

demo: $(VENV)/.demo-installed
	$(VENV)/bin/genlab demo

test: $(VENV)/.test-installed
	$(PY) -m pytest

test-all: $(VENV)/.test-installed
	$(PY) -m pytest -m "slow or not slow"

lint: $(VENV)/.test-installed
	$(PY) -m ruff check src tests bench

bench: $(VENV)/.test-installed
	$(PY) -m bench gmm

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache demo_output
