# The README's commands. `make demo` and `make test` set everything up themselves on a fresh clone.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test up down lint bench clean package

$(STAMP): requirements.txt requirements-dev.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $(STAMP)

demo: $(STAMP)  ## run the scripted journey on the local stack (moto), print the timeline
	$(PY) -m infra.onetrip.demo

test: $(STAMP)  ## the whole suite (what CI runs); pytest's "no tests collected" (5) is not a failure
	$(PY) -m pytest -q; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

up: $(STAMP)  ## start the local stack in the background (API on :8000, moto on :4566)
	$(VENV)/bin/onetrip up --detach

down:  ## stop everything `make up` started
	$(VENV)/bin/onetrip down

STAGE ?= dev
package: $(STAMP)  ## dist/$(STAGE)/: stateful + application templates and the code, cfn-lint clean (STAGE=dev|prod|all)
	$(VENV)/bin/onetrip package --stage $(STAGE)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

bench: $(STAMP)
	$(PY) -m bench

clean:
	rm -rf $(VENV) .onetrip dist .pytest_cache .ruff_cache .mypy_cache
