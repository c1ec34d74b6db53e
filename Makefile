# One command to set up and run the main job (`make demo`), one for the tests (`make test`).
# Both build .venv from the project's own files; nothing installed by hand is assumed.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml tests/simulator/pyproject.toml | sha256sum | cut -c1-12)

.PHONY: setup demo test lint typecheck bench docs clean

$(STAMP): pyproject.toml tests/simulator/pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev,cpu]' -e tests/simulator
	@rm -f $(VENV)/.installed-*
	@touch $(STAMP)

setup: $(STAMP)

demo: setup
	$(BIN)/mendbot scan examples/vulnerable_app --no-cache --model --fail-on never
	$(BIN)/mendbot demo

test: setup
	bash scripts/ensure-redis.sh
	$(BIN)/ruff check .
	$(BIN)/mypy bot workers models tests/simulator/ghsim
	$(BIN)/python -m pytest -q -p no:cacheprovider

lint: setup
	$(BIN)/ruff check .

typecheck: setup
	$(BIN)/mypy bot workers models tests/simulator/ghsim

docs: setup
	$(BIN)/python scripts/update_rule_table.py

bench: setup
	$(BIN)/python benchmarks/scan_vs_bandit.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
