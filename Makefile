# Two commands do everything on a fresh machine (each creates .venv on first use):
#   make run    the main job: the whole pipeline (record, imitate three seeds, evaluate) at the default
#               scale, its independent jobs one per core at once (pipeline.py --jobs)
#   make test   the test suite
# and `make quick` asks the questions at classroom scale from the committed teacher and imitator.
PY := .venv/bin/python

.venv/installed: requirements.txt
	python3 -m venv .venv
	.venv/bin/pip install -q -r requirements.txt
	touch $@

# three seeds of the imitator's recipe, each playing its own arms (the table shows their spread)
SEEDS ?= runs/imitator_seed1,runs/imitator_seed2
run: .venv/installed
	$(PY) pipeline.py --seeds $(SEEDS)

quick: .venv/installed
	$(PY) pipeline.py --quick

test: .venv/installed
	$(PY) -m pytest -q tests

# Optional: our speed next to PyTorch's, measured in one run on this machine (and a correctness
# check: same weights and inputs, same loss and gradients). PyTorch goes into its own environment,
# never into the project's. Elsewhere, a CPU-only wheel: make bench TORCH="torch --index-url https://download.pytorch.org/whl/cpu"
TORCH ?= torch==2.13.0
.venv-bench/installed: requirements.txt
	python3 -m venv .venv-bench
	.venv-bench/bin/pip install -q -r requirements.txt $(TORCH)
	touch $@

bench: .venv/installed .venv-bench/installed
	$(PY) benchmarks/speed.py --only dqn,profile,threads,transformer,imitator --json auto
	.venv-bench/bin/python benchmarks/compare_pytorch.py --json auto

.PHONY: run quick test bench
