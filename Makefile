# genlab developer commands. `make demo` and `make test` create .venv on first use.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
# The torch pin for this machine (a CPU build on disk); later extras that need torch respect it.
CONSTRAINTS := -c constraints.txt

.PHONY: demo test test-all lint bench docs docs-serve gallery clean help

help:
	@echo "make demo      fit the main job on built-in data (creates .venv on first use)"
	@echo "make test      run the default test suite (excludes tests marked slow)"
	@echo "make test-all  run every test, slow ones included"
	@echo "make lint      ruff"
	@echo "make bench     benchmarks against the peers; appends to bench/RESULTS.md"
	@echo "make docs      build the documentation site into site/ (--strict; runs every example)"
	@echo "make docs-serve  live preview of the site (examples not run) at http://127.0.0.1:8000"
	@echo "make gallery   regenerate the gallery's samples and images (docs/gallery/)"

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip

# Stamp files: reinstall only when the project's dependency declarations change.
$(VENV)/.demo-installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet $(CONSTRAINTS) -e ".[plot,neural,images,text,vision]"
	touch $@

$(VENV)/.test-installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet $(CONSTRAINTS) -e ".[plot,dev,peers,neural,images,audio,text,vision,docs]"
	touch $@

$(VENV)/.docs-installed: pyproject.toml constraints.txt | $(PY)
	$(PIP) install --quiet $(CONSTRAINTS) -e ".[plot,neural,images,audio,text,vision,docs]"
	touch $@

demo: $(VENV)/.demo-installed
	$(VENV)/bin/genlab demo

test: $(VENV)/.test-installed
	$(PY) -m pytest

test-all: $(VENV)/.test-installed
	$(PY) -m pytest -m "slow or not slow"

lint: $(VENV)/.test-installed
	$(PY) -m ruff check src tests bench tools

bench: $(VENV)/.test-installed
	$(PY) -m bench gmm

# The site: every ```python / ```console example of every page runs while it builds (tools/docs/examples.py), and
# --strict turns any warning (a broken link, a missing reference, a docstring griffe cannot read) into a failure.
docs: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict

docs-serve: $(VENV)/.docs-installed
	NO_MKDOCS_2_WARNING=1 GENLAB_DOCS_EXAMPLES=skip $(VENV)/bin/mkdocs serve

# the gallery's forecast section uses statsmodels' Nile series (the peers extra): the test installation has it
gallery: $(VENV)/.test-installed
	$(PY) tools/docs/gallery.py

clean:
	rm -rf $(VENV) build dist src/*.egg-info .pytest_cache .ruff_cache demo_output site
