# Build the project's virtualenv and run the demo or the tests.
#
#   make run    start the embedded stack and run the demo flows (Ctrl-C stops it)
#   make test   run the whole pytest suite, then the flow tests with the workflow cache off
#
# Both create .venv with $(PYTHON) (3.11 or newer) and reinstall the project
# whenever pyproject.toml changes.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test venv

run: $(INSTALLED)
	$(BIN)/accord dev --demo

test: $(INSTALLED)
	$(BIN)/pytest
	# The flow tests again with the workflow cache off: every workflow task replays the whole
	# history, so code that is not deterministic fails here rather than after a worker restart.
	ACCORD_WORKFLOW_CACHE=0 $(BIN)/pytest tests/flows -q -m "not slow"

venv: $(INSTALLED)

$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --disable-pip-version-check -e '.[test]'
	touch $@

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { \
		echo "Accord needs Python 3.11 or newer, but $(PYTHON) is $$($(PYTHON) --version 2>&1);" \
			"run make with PYTHON=python3.12 or another newer interpreter" >&2; \
		exit 1; \
	}
	$(PYTHON) -m venv $(VENV)
