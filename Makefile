PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)

.PHONY: install test lint format clean run bench bench-projections browser soak messages

# The pages' translations, compiled from their catalogues whenever a catalogue changes.
CATALOGUES := $(wildcard pages/translations/*/LC_MESSAGES/messages.po)
COMPILED := $(CATALOGUES:.po=.mo)

install: $(STAMP) $(COMPILED)

%.mo: %.po $(STAMP)
	$(BIN)/pybabel compile --statistics -i $< -o $@

# After changing a page's text: extract every message and add the new ones to each catalogue, to be translated.
messages: $(STAMP)
	$(BIN)/pybabel extract -F pages/babel.cfg -k _l -k lazy_gettext -k lazy_ngettext:1,2 -k lazy_pgettext:1c,2 --no-location --sort-output --omit-header \
		-o pages/translations/messages.pot .
	$(BIN)/pybabel update -i pages/translations/messages.pot -d pages/translations \
		--ignore-obsolete --no-fuzzy-matching --width 120

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

# The dashboard's browser tests drive Debian's Chromium (no browser download at test time).
browser:
	@command -v chromium >/dev/null 2>&1 || { \
		echo "installing Debian's chromium for the browser tests"; \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo -n ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	}

# Two test processes; one that runs out of tests takes some of the other's queue (a few tests run for seconds).
test: install lint browser
	$(BIN)/pytest -n 2 --dist worksteal

run: install
	$(BIN)/tracker db upgrade
	$(BIN)/tracker demo load --if-empty
	$(BIN)/tracker demo keys
	@echo "Serving the pages at http://$${TRACKER_BIND:-127.0.0.1:8000}/ and the API docs at http://$${TRACKER_BIND:-127.0.0.1:8000}/api/v1/docs"
	$(BIN)/gunicorn -c gunicorn.conf.py wsgi:app

BENCH_SCALE ?= small
bench: install browser
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	BENCH_SCALE=$(BENCH_SCALE) $(BIN)/python -m bench.run

# Reliability soak on loopback: real gunicorn and the projection worker on PostgreSQL, worker kills and one
# PostgreSQL restart (pg_ctlcluster: run as root or postgres). Stops by itself; exits 1 if anything was lost.
SOAK_SECONDS ?= 180
soak: $(STAMP)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python -m soak --duration $(SOAK_SECONDS)

bench-projections: $(STAMP)
	$(BIN)/python -m bench.projections

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

clean:
	rm -rf $(VENV) var .pytest_cache .hypothesis *.egg-info
