# Two set-up commands on a fresh machine with Python 3 and make:  make demo   make test
# One .venv; each target installs only the extra it needs (a stamp per extra, redone when pyproject.toml changes).
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: demo test docs docs-serve package lab bench clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(VENV)/.extra-%: pyproject.toml | $(PY)
	$(PY) -m pip install -q -e '.[$*]'
	touch $@

demo: $(VENV)/.extra-demo  ## execute the tour notebook against the embedded server (installs jsmagic and a kernel only)
	mkdir -p notebooks/_executed
	$(PY) -m jsmagic.notebook notebooks/00-tour.ipynb notebooks/_executed/00-tour.ipynb

test: $(VENV)/.extra-test  ## run the test suite against real nats-servers
	$(PY) -m pytest -q $(PYTEST_ARGS)

docs: $(VENV)/.extra-docs $(VENV)/.extra-course  ## build the docs site into site/ (course notebooks executed; warnings are errors)
	$(PY) docs/generate.py
	$(PY) -m mkdocs build --strict --site-dir site
	@echo "open site/index.html (it works from the file), or: make docs-serve"

docs-serve:  ## serve site/ at http://127.0.0.1:8000 (search needs no network there)
	$(PY) -m http.server -d site --bind 127.0.0.1 8000

package: $(VENV)/.extra-test  ## build the wheel and the sdist into dist/ and check them with twine
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*

lab: $(VENV)/.extra-lab $(VENV)/.extra-course  ## open JupyterLab on notebooks/ (every course notebook runs)
	$(VENV)/bin/jupyter lab notebooks/

bench: $(VENV)/.extra-test
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) notebooks/_executed .pytest_cache site dist docs/reference docs/course docs/changelog.md
