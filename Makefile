# Two set-up commands on a fresh machine with Python 3 and make:  make demo   make test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test lab bench clean

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

lab: $(STAMP)  ## open JupyterLab on notebooks/
	$(PY) -m pip install -q -e '.[lab]'
	$(VENV)/bin/jupyter lab notebooks/

bench: $(STAMP)
	for b in bench/*.py; do $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) notebooks/_executed .pytest_cache
