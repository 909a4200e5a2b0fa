# The two commands: `make run` serves development.ini on http://127.0.0.1:6543, `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
PLUGINS := $(wildcard plugins/shopcore_*)
INSTALLED := $(VENV)/.installed

.PHONY: install lock run test fuzz migrate seed bench soak clean wheels vendor-redoc

# The lock files pin every third-party package with hashes (requirements/lock.py); `make lock` refreshes them.
LOCK := requirements/testing.txt
UV_VERSION ?= 0.13.8

$(INSTALLED): setup.py $(wildcard plugins/*/setup.py) $(LOCK)
	$(PYTHON) -m venv $(VENV)
	# Every third-party package exactly as locked, each file checked against its hash; nothing else is resolved.
	$(BIN)/pip install -q --require-hashes --no-deps -r $(LOCK)
	# The core and the plugins from the checkout, editable (which cannot carry a hash), built with the
	# locked setuptools, on top of what is locked.
	$(BIN)/pip install -q --no-deps --no-build-isolation -e . $(foreach p,$(PLUGINS),-e $(p))
	@$(BIN)/pip check || { echo "a requirement of a setup.py is missing from $(LOCK): run make lock" >&2; exit 1; }
	touch $@

install: $(INSTALLED)

# Resolve the dependencies of the core and of every plugins/*/setup.py again, with hashes: after adding or
# changing a requirement. `make lock LOCK_ARGS=--upgrade` takes the newest versions allowed.
lock:
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q uv==$(UV_VERSION)
	$(BIN)/python requirements/lock.py $(LOCK_ARGS)

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

# Mixed traffic for 10 minutes at 80 % of the measured peak (bench/README.md); same needs as bench.
soak: install
	@command -v wrk >/dev/null || { apt-get update && apt-get install -y wrk; }
	@$(BIN)/python -c 'import matplotlib' 2>/dev/null || $(BIN)/pip install -q matplotlib
	$(BIN)/python bench/soak.py $(SOAK_ARGS)

# Wheels of the core and every plugin under dist/ (what `pip install` in production takes).
wheels: install
	$(BIN)/pip wheel -q --no-deps -w dist . $(PLUGINS)

# Redoc's standalone bundle ships in the core's wheel (src/shopcore/docs/vendor/redoc/README.md);
# this refreshes it from the npm package's release. Needs npm; not part of install.
REDOC_VERSION ?= 2.5.4
vendor-redoc:
	rm -rf var/redoc && mkdir -p var/redoc
	cd var/redoc && npm pack -q redoc@$(REDOC_VERSION) && tar xzf redoc-$(REDOC_VERSION).tgz
	cp var/redoc/package/bundles/redoc.standalone.js var/redoc/package/bundles/redoc.standalone.js.LICENSE.txt \
	   src/shopcore/docs/vendor/redoc/
	cp var/redoc/package/LICENSE src/shopcore/docs/vendor/redoc/LICENSE
	sha256sum src/shopcore/docs/vendor/redoc/redoc.standalone.js

clean:
	rm -rf $(VENV) var dist build
