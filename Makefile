# Set-up and everyday commands. Each target creates .venv on first use, from the lock file.
VENV ?= .venv
BIN := $(VENV)/bin
PYTHON ?= python3
PORT ?= 3000
CHROMIUM := /usr/bin/chromium
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# `make lock`: re-resolve requirements*.lock from pyproject.toml (see README, "Set-up on a fresh machine").
UV_VERSION := 0.13.9
LOCK_VENV := .lock-venv
LOCK_UPGRADE ?= --upgrade
LOCK_OPTS = --universal --python-version 3.11 --generate-hashes $(LOCK_UPGRADE) --quiet \
	--custom-compile-command 'make lock'

.PHONY: serve serve-socket manifest demo shell test lint lock

# Pinned versions with hashes first, then the project itself without resolving anything again.
$(BIN)/incident-bot: requirements-dev.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --require-hashes -r requirements-dev.lock
	$(BIN)/pip install --quiet --no-deps -e .
	@touch $@

serve: $(BIN)/incident-bot  ## HTTP mode on ./incident-bot.db (needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)
	$(BIN)/incident-bot serve --http --port $(PORT)

serve-socket: $(BIN)/incident-bot  ## Socket Mode on ./incident-bot.db (needs SLACK_BOT_TOKEN, SLACK_APP_TOKEN)
	$(BIN)/incident-bot serve --port $(PORT)

manifest: $(BIN)/incident-bot  ## the Slack app manifest for `make serve`: make manifest URL=https://<public host>
	$(if $(URL),,$(error make manifest URL=https://<public host> (Socket Mode: paste manifest-socket.yml instead)))
	@$(BIN)/incident-bot manifest --http-url '$(URL)'

demo: $(BIN)/incident-bot  ## a scripted incident against the built-in Slack emulator, no workspace needed
	$(BIN)/incident-bot demo

shell: $(BIN)/incident-bot  ## a local Slack workspace in the terminal, with the real bot
	$(BIN)/incident-bot shell

test: $(BIN)/incident-bot $(CHROMIUM)  ## the whole suite, on SQLite and on PostgreSQL, web pages in Chromium
	$(BIN)/pytest -q -n 3 --dist loadfile

# Debian's Chromium and ChromeDriver, for the web view's browser tests (sudo unless root).
$(CHROMIUM):
	$(SUDO) apt-get install -y -q --no-install-recommends chromium chromium-driver \
		|| ($(SUDO) apt-get update -q && $(SUDO) apt-get install -y -q --no-install-recommends chromium chromium-driver)

lint: $(BIN)/incident-bot
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

lock:  ## re-resolve both lock files to the newest versions pyproject.toml allows (LOCK_UPGRADE= keeps pins)
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	$(LOCK_VENV)/bin/pip install --quiet uv==$(UV_VERSION)
	$(LOCK_VENV)/bin/uv pip compile pyproject.toml $(LOCK_OPTS) -o requirements.lock
	$(LOCK_VENV)/bin/uv pip compile pyproject.toml --extra dev -c requirements.lock $(LOCK_OPTS) \
		-o requirements-dev.lock
	rm -rf $(LOCK_VENV)
