# Two set-up commands on a fresh machine with Python 3 and make:  make demo   make test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test docs package lab bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)  ## execute the tour notebook against the embedded server
	mkdir -p notebooks/_executed
	$(PY) -m jsmagic.notebook notebooks/00-tour.ipynb notebooks/_executed/00-tour.ipynb


test: $(STAMP)  ## run the test suite against real nats-servers
	$(PY) -m pytest -q $(PYTEST_ARGS)

docs: $(STAMP)  ## build the docs site into site/ (course notebooks executed; warnings are errors)
	$(PY) -m pip install -q -e '.[docs]'
	$(PY) docs/generate.py
	$(PY) -m mkdocs build --strict --site-dir site

package: $(STAMP)  ## build the wheel and the sdist into dist/ and check them with twine
	$(PY) -m pip install -q build twine
	rm -rf dist
	$(PY) -m build --outdir dist .
	$(PY) -m twine check --strict dist/*

lab: $(STAMP)  ## open JupyterLab on notebooks/
	$(PY) -m pip install -q -e '.[lab]'
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP)
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) notebooks/_executed .pytest_cache site dist docs/reference docs/course docs/changelog.md
