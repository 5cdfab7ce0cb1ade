# paymentd — the two commands a newcomer needs are `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test test-pure lint format typecheck check bench bench-codec bench-instructions sounds demo readme clean

# `pip install -e .` also compiles the ESL codec's optional accelerator in place
# (paymentd/esl/_speedups.pyx, with Cython and a C compiler); without them the
# package installs all the same and runs its pure-Python code.
$(STAMP): pyproject.toml setup.py paymentd/esl/_speedups.pyx
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test,dev]'
	@$(BIN)/python -c "from paymentd.esl import _accel; \
		print('ESL codec:', 'compiled accelerator' if _accel.speedups else 'pure Python only')"
	touch $(STAMP)

## Run the daemon with its embedded defaults (SQLite ledger, sandbox gateway).
run: $(STAMP)
	$(BIN)/paymentd serve $(if $(CONFIG),--config $(CONFIG))

## Run every test.
test: $(STAMP)
	$(BIN)/pytest $(PYTEST_ARGS)

## The codec's tests again on its pure-Python code alone (the accelerator switched off).
test-pure: $(STAMP)
	PAYMENTD_PURE_PYTHON=1 $(BIN)/pytest $(PYTEST_ARGS) tests/esl tests/eslio tests/testing

lint: $(STAMP)
	$(BIN)/ruff check paymentd tests bench scripts setup.py
	$(BIN)/ruff format --check paymentd tests bench scripts setup.py

format: $(STAMP)
	$(BIN)/ruff check --fix paymentd tests bench scripts setup.py
	$(BIN)/ruff format paymentd tests bench scripts setup.py

typecheck: $(STAMP)
	$(BIN)/mypy --strict paymentd

check: lint typecheck test

# greenswitch, in a venv of its own, is the yardstick that carries across machines:
# the bench times it between its own rounds (paymentd never imports it).
GREENSWITCH := bench/.greenswitch

bench-codec: $(STAMP)
	@test -x $(GREENSWITCH)/bin/python || { $(PYTHON) -m venv $(GREENSWITCH) && \
		$(GREENSWITCH)/bin/pip install --quiet greenswitch; } || rm -rf $(GREENSWITCH)
	$(BIN)/python bench/bench_codec.py \
		$$(test -x $(GREENSWITCH)/bin/python && echo --greenswitch $(GREENSWITCH)/bin/python)

bench: bench-codec

## Instructions per event (callgrind): the codec's measure that a busy machine does not move.
bench-instructions: $(STAMP)
	$(BIN)/python bench/instructions.py

## Re-record sounds/ from the prompt catalog (needs festival festvox-us-slt-hts espeak-ng sox).
sounds: $(STAMP)
	$(BIN)/python scripts/make_sounds.py

## Refresh the configuration reference in README.md (a test fails when it is stale).
readme: $(STAMP)
	$(BIN)/python scripts/sync_readme.py

## One narrated, simulated call (starts a throw-away daemon if none is running).
demo: $(STAMP)
	$(BIN)/paymentd demo --spawn

clean:
	rm -rf $(VENV) $(GREENSWITCH) .pytest_cache .mypy_cache .ruff_cache .hypothesis
