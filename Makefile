# Two commands do everything on a fresh machine (each creates .venv on first use):
#   make run    the main job: the whole pipeline (record, imitate, evaluate) at the default scale
#   make test   the test suite
# and `make quick` runs the whole pipeline at classroom scale (<= 20 min on 2 cores).
PY := .venv/bin/python

.venv/installed: requirements.txt
	python3 -m venv .venv
	.venv/bin/pip install -q -r requirements.txt
	touch $@

run: .venv/installed
	$(PY) evaluate.py

quick: .venv/installed
	$(PY) evaluate.py --quick

test: .venv/installed
	$(PY) -m pytest -q tests

bench: .venv/installed
	$(PY) dqn.py --bench
	$(PY) transformer.py --bench

.PHONY: run quick test bench
