# Every target creates what it needs: `make run` or `make test` on a fresh machine is enough.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO := var/demo

.PHONY: help venv system-deps demo run serve test bench psql clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

venv: $(STAMP) ## Create .venv and install Java, system packages and requirements.txt

$(STAMP): requirements.txt
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	@touch $@

system-deps: ## Install Java 17+ (Spark), fluidsynth (test music), PostgreSQL (a server without pgvector), chromium (browser test)
	@missing=""; \
	java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])' || missing="$$missing openjdk-17-jre-headless"; \
	command -v fluidsynth >/dev/null || missing="$$missing fluidsynth"; \
	[ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || missing="$$missing timgm6mb-soundfont"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	if [ -n "$$missing" ]; then \
		echo "installing with apt:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

demo: venv ## The demo: corpus (400 clips, 50,000 TikTok videos), reprocess into the store, serve the app
	@[ -f $(DEMO)/.complete ] || $(PY) -m batch.demo_corpus --out $(DEMO)
	$(PY) -m batch.reprocess --fma-metadata $(DEMO)/fma_metadata --audio $(DEMO)/fma_audio \
		--tiktok $(DEMO)/tiktok --work var/work
	@echo "The app is at http://127.0.0.1:5000 (Ctrl-C stops it)."
	$(PY) -m flask --app webapp run --host 127.0.0.1 --port 5000

run: demo ## Same as make demo

serve: venv ## Serve the web app on http://127.0.0.1:5000 against the store
	$(PY) -m flask --app webapp run

test: venv ## Run the whole test suite
	$(PY) -m pytest

bench: venv ## Run the benchmarks (figures for the README's Performance section)
	$(PY) tests/benchmarks/bench_features.py
	$(PY) tests/benchmarks/bench_load.py
	$(PY) tests/benchmarks/bench_search.py
	$(PY) tests/benchmarks/bench_webapp.py

psql: venv ## Open psql on the store
	$(PY) -m batch.db psql

clean: ## Stop the embedded PostgreSQL and remove generated data (var/); keeps .venv
	@[ ! -x $(PY) ] || $(PY) -m batch.db stop
	rm -rf var/
