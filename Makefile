# The two commands: `make run` serves development.ini on http://127.0.0.1:6543, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := $(wildcard plugins/shopcore_*)
INSTALLED := $(VENV)/.installed

.PHONY: install run test fuzz migrate seed bench clean

$(INSTALLED): setup.py $(wildcard plugins/*/setup.py)
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[testing]'
	# The plugins require shopcore, so they go in once it is installed.
	$(BIN)/pip install -q $(foreach p,$(PLUGINS),-e $(p))
	# Only Redoc's static files are used; its Django dependency is not needed.
	$(BIN)/pip install -q --no-deps drf-spectacular-sidecar
	touch $@

install: $(INSTALLED)

migrate: install
	$(BIN)/shopcore-admin development.ini migrate

seed: migrate
	@test -f var/.demo-seeded || { $(BIN)/shopcore-admin development.ini seed-demo && touch var/.demo-seeded; }

run: seed
	$(BIN)/pserve development.ini

test: install
	$(BIN)/pytest $(PYTEST_ARGS)

# The API fuzzing of tests/reliability at length: many more examples per operation, failures shrunk.
fuzz: install
	SHOPCORE_FUZZ_EXAMPLES=$${SHOPCORE_FUZZ_EXAMPLES:-300} SHOPCORE_FUZZ_STATEFUL_EXAMPLES=$${SHOPCORE_FUZZ_STATEFUL_EXAMPLES:-300} \
	SHOPCORE_FUZZ_SHRINK=1 $(BIN)/pytest tests/reliability/test_fuzz.py $(PYTEST_ARGS)

# The load benchmark (bench/README.md): needs PostgreSQL and Redis running; not part of `make test`.
bench: install
	@command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
	@$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/pip install -q matplotlib
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var
