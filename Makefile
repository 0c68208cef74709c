# awaken: two commands on a fresh machine.
#   make demo   installs what it needs, runs the flagship reproduction, prints where the report is
#   make test   installs what it needs, runs the whole test suite (what CI runs)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PIP    := $(BIN)/pip --disable-pip-version-check --quiet

.PHONY: install demo test test-quick bench-survival bench-cohort bench-tissue bench-trial human-calibration clean

install: $(STAMP)

$(STAMP): requirements.txt requirements-nodeps.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -r requirements.txt
	$(PIP) install --no-deps -r requirements-nodeps.txt
	$(PIP) install --no-deps --no-build-isolation -e .
	@touch $(STAMP)

demo: install
	$(BIN)/awaken reproduce --out runs/demo --overwrite
	@echo "Dashboard: $(BIN)/awaken dashboard   then open http://127.0.0.1:5006/ (Ctrl-C stops it; docs/dashboard.md)"

test: install
	$(BIN)/pytest

test-quick: install
	$(BIN)/pytest -m "not slow"

# the survival benchmark's Python peers; lifelines 0.30.3 declares pandas<3 but runs the
# CoxTimeVaryingFitter on pandas 3.1.1, so it is installed without its dependency pins
bench-survival: install
	$(PIP) install --no-deps -r benchmarks/requirements-peers.txt
	$(BIN)/python benchmarks/survival_engine.py

# a virtual survivor cohort at 1e4, 1e5 and 1e6 people (the whole `awaken cohort` command)
bench-cohort: install
	$(BIN)/python benchmarks/cohort_scale.py --sizes 10000 100000 1000000 --workers 2

# a 2-arm in-silico trial at 1e5 and 1e6 participants (the whole `awaken trial run` command), its lungs alone
# and libRoadRunner on a sample of the same lungs
bench-trial: install
	$(BIN)/python benchmarks/trial_scale.py --sizes 100000 1000000 --workers 2

# the tissue engine against PhysiCell's SARS-CoV-2 model (builds it from ../shared/peers/pc4covid19), same
# domain, same simulated day, 2 cores; then the kernel's cost per agent up to 10^5 agents
bench-tissue: install
	$(BIN)/python benchmarks/tissue_vs_physicell.py --minutes 1440 --threads 2

# the joint calibration of the human mechanisms (awaken explain; about 10 minutes on 2 cores): writes
# runs/explain and ships its posterior sample (src/awaken/calibration/data/human_posterior.csv); the
# printed posterior medians are the defaults in src/awaken/cohort/data/survivors.yaml (a test checks)
human-calibration: install
	$(BIN)/awaken explain --particles 32 --out runs/explain --overwrite
	$(BIN)/python -m awaken.calibration.explanations runs/explain

clean:
	rm -rf $(VENV) runs build src/*.egg-info .pytest_cache
