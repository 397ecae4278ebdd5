# The two commands: `make run` starts the whole product on its embedded default,
# `make test` runs every test against real PostgreSQL, Redis, SMTP and (where present) Chromium.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: run test unit install lint clean messages

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: pyproject.toml $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	$(BIN)/sopdesk up

test: $(VENV)/.installed-test
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The tests of pure rules alone (every tests/unit folder): no PostgreSQL, Redis or SMTP needed.
unit: $(VENV)/.installed-test
	$(BIN)/python -m pytest services/*/tests/unit shared/tests/unit tests/unit $(PYTEST_ARGS)

# The keys the code and templates look up, one messages.pot per catalogue (babel.cfg says where
# and how); the words themselves are the translations/<lang>/LC_MESSAGES/messages.po beside it.
messages: $(VENV)/.installed
	$(BIN)/pybabel -q extract -F babel.cfg --no-default-keywords -k t --project=sopdesk -o shared/translations/messages.pot shared sopdesk
	for service in intake assignment notify procurement; do \
		$(BIN)/pybabel -q extract -F babel.cfg --no-default-keywords -k t --project=sopdesk \
			-o services/$$service/translations/messages.pot services/$$service || exit 1; \
	done

clean:
	rm -rf $(VENV) var .pytest_cache
