# The template's human interface: `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The uv of pyproject.toml's test group.
UV_VERSION := 0.13.9
# Python caches bytecode, as it does by default: where PYTHONDONTWRITEBYTECODE is set (many CI
# images), every generated suite would compile the thousands of modules it imports from source.
unexport PYTHONDONTWRITEBYTECODE
# The template's own Python; the project template is linted once rendered, by the tests.
LINTED := harness.py local_extensions.py hooks sagemaker_projects scripts tests

.DEFAULT_GOAL := help
.PHONY: help test lint lock demo bench bench-scale seed register release clean

help:  ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

# uv from PyPI into a plain venv, then the test group from uv.lock into that same venv (uv is
# in the group, so it stays). uv never downloads a Python.
$(VENV)/.installed: pyproject.toml uv.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)
	UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=$(VENV) $(BIN)/uv sync --locked --quiet --group test --python $(BIN)/python
	@touch $@

lint: $(VENV)/.installed  ## Lint the template's own Python (generated code is linted by the tests)
	$(BIN)/ruff check $(LINTED)
	$(BIN)/ruff format --check $(LINTED)

# Two workers or more: most tests wait on subprocesses (a generated suite, make, git, cruft).
test: lint  ## Render every variant and run the whole harness
	$(BIN)/python -m pytest --numprocesses auto --dist worksteal

# make lock ARGS=--upgrade moves every unpinned dependency to its newest allowed version.
lock: $(VENV)/.installed  ## Refresh the locks the template ships, one per framework (needs PyPI)
	$(BIN)/python scripts/lock.py $(ARGS)

demo: $(VENV)/.installed  ## Render the default project into build/demo and run it end to end
	$(BIN)/python scripts/demo.py

# make seed ANSWERS="git_provider=gitlab model_framework=xgboost" TEMPLATE_NAME=churn-models
seed: $(VENV)/.installed  ## Build the SageMaker Projects template's files (docs/sagemaker-projects.md)
	$(BIN)/python -m sagemaker_projects.seed $(ANSWERS) $(if $(TEMPLATE_NAME),--template-name $(TEMPLATE_NAME))

# make register ROUTE=s3 SEED=build/sagemaker-projects/<name>/<version> STUDIO_ROLE=<arn> DOMAIN=d-...
register: $(VENV)/.installed  ## Publish a seed as a SageMaker Projects template (ROUTE=s3 or servicecatalog)
	$(if $(filter s3 servicecatalog,$(ROUTE)),,$(error give ROUTE=s3 or ROUTE=servicecatalog))
	$(if $(SEED),,$(error give SEED=<the folder make seed printed>))
	$(if $(STUDIO_ROLE),,$(error give STUDIO_ROLE=<the Studio execution role's ARN>))
	$(BIN)/python -m sagemaker_projects.register --route $(ROUTE) --seed $(SEED) \
		--studio-role-arn $(STUDIO_ROLE) $(if $(DOMAIN),--domain-id $(DOMAIN))

bench: $(VENV)/.installed  ## Time rendering, the local run, the generated tests and inference
	$(BIN)/python scripts/bench.py

bench-scale: $(VENV)/.installed  ## How each step's time and memory grow from 1e5 to 1e7 rows
	$(BIN)/python scripts/bench_scale.py

release:  ## Tag v<_template_version of cookiecutter.json> after checking CHANGELOG.md
	$(PYTHON) scripts/release.py

clean:  ## Remove the harness environment and every build output
	rm -rf $(VENV) build .pytest_cache .ruff_cache
