# Set-up and everyday commands. Each target creates .venv on first use.
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: serve demo shell test lint

$(BIN)/incident-bot: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	@touch $@

serve: $(BIN)/incident-bot  ## run the bot over HTTP on ./incident-bot.db (needs SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET)
	$(BIN)/incident-bot serve --http

demo: $(BIN)/incident-bot  ## a scripted incident against the built-in Slack emulator, no workspace needed
	$(BIN)/incident-bot demo

test: $(BIN)/incident-bot  ## the whole suite, on SQLite and on PostgreSQL
	$(BIN)/pytest -q

lint: $(BIN)/incident-bot
	$(BIN)/ruff check .
