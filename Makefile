# make report | make test | make validate [DIR=folder] | make verify | make render | make synth
# make dist | make dictionary | make bench | make lint | make clean
# Every target that needs Python bootstraps .venv from requirements.lock first; the same
# commands are `.venv/bin/evaluation …` (or `evaluation …` after `source .venv/bin/activate`).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: report test bench attack lint clean setup validate verify render synth dist dictionary

setup: $(STAMP)

# Reinstall only when the lock or the package metadata changed (or .venv is missing).
# The lock is installed with uv (pinned; faster than pip), compiled to bytecode as pip does
# (worker processes start with -B and would otherwise compile every import); pip if uv fails.
UV_VERSION := 0.9.13
$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION) \
	  && $(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock \
	  || $(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name python3 >/dev/null
	@touch $(STAMP)

# The package's own bytecode, written once: this machine's Python runs with
# PYTHONDONTWRITEBYTECODE, so without it every process (CLI, validation child, workers,
# kernels) compiles the modules it imports again (0.1–0.3 s of CPU each). Cheap when current.
BYTECODE = test ! -d src || $(BIN)/python -m compileall -q src

report: $(STAMP)
	@$(BYTECODE)
	$(BIN)/evaluation run
	@echo "The report is build/report/index.html: open it in a web browser (it works offline),"
	@echo "e.g. xdg-open build/report/index.html (Linux) or open build/report/index.html (macOS)."
	@echo "Word and PDF: build/report/evaluation.docx and .pdf. To hand it over: make dist."

validate: $(STAMP)
	$(BIN)/evaluation validate $(DIR)

verify: $(STAMP)
	$(BIN)/evaluation verify

render: $(STAMP)
	$(BIN)/evaluation render

synth: $(STAMP)
	$(BIN)/evaluation synth

dictionary: $(STAMP)
	$(BIN)/evaluation dictionary

# One archive for a funder or a replicator (report, public results, manifest, checksums).
dist: report
	$(BIN)/evaluation export build/dist

# Two pytest workers (one per core); tests that share a session build run on one worker.
TEST_WORKERS ?= 2
test: $(STAMP)
	@$(BYTECODE)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

bench: $(STAMP)
	@$(BYTECODE)
	$(BIN)/python -m evaluation.pipeline.bench

# the adversary against the joint disclosure decision of 20 synthetic datasets (seeds, scales)
attack: $(STAMP)
	$(BIN)/python tests/attack_seeds.py

lint: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests

clean:
	rm -rf build .pytest_cache .ruff_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
