# Every target creates .venv and installs what it needs; a fresh machine needs only Python 3.11.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test test-fast bench lint audit emulator worker migrate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[scale,dev]'
	touch $(STAMP)

# `make run` needs only the runtime dependencies (no test, lint or scale extras): its own stamp,
# so a fresh clone reaches its first page in about a minute (README). The other targets install
# the rest into the same .venv on top. --no-compile: modules are compiled when first imported,
# not all of them up front (a few CPU-seconds of the install).
RUN_STAMP := $(VENV)/.installed-run
$(RUN_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --no-compile -e .
	touch $(RUN_STAMP)

## run: the app on embedded defaults (SQLite, in-process worker, local emulator when no TikTok
##      credentials); RUN_ARGS="--port 8080 --emulator-port 9200" to move it
run: $(RUN_STAMP)
	$(BIN)/directpost run $(RUN_ARGS)

## test: the whole suite (browser tests need Chromium: /usr/bin/chromium)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The benchmarks also need matplotlib (the growth chart): the `bench` extra, on top of the rest.
BENCH_STAMP := $(VENV)/.installed-bench
$(BENCH_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet -e '.[scale,dev,bench]'
	touch $(BENCH_STAMP)

## bench: benchmarks against a baseline in the same run, one table + a JSON line per measure
##        (QUICK=1: each benchmark's short form, growth left out, < 3 min; BENCH="a b": only those)
bench: $(BENCH_STAMP)
	$(BIN)/python bench/run.py $(if $(filter 1 yes true,$(QUICK)),--quick) $(BENCH)

## lint: ruff, mypy strict on src/, and the import contracts from architecture.md
lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy
	$(BIN)/lint-imports

## audit: the audit pack (TOS-4) in audit-pack/: every rule with its tests run now, screenshots
##        and a recorded walk-through from Chromium (AUDIT_ARGS="--rules UX-2b,CAP-1" for a few)
audit: $(STAMP)
	$(BIN)/directpost audit $(AUDIT_ARGS)

emulator: $(STAMP)
	$(BIN)/directpost emulator

worker: $(STAMP)
	$(BIN)/directpost worker

migrate: $(STAMP)
	$(BIN)/directpost migrate

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
