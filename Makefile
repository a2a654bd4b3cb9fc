# Every target creates what it needs: `make run` or `make test` on a fresh machine is enough.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
DEMO := var/demo
HCL_TOOLS := var/node/node_modules/@cdktf/hcl-tools/package.json
REPROCESS_DEMO = $(PY) -m batch.jobs.reprocess --fma-metadata $(DEMO)/fma_metadata --audio $(DEMO)/fma_audio \
	--tiktok $(DEMO)/tiktok --sound-audio $(DEMO)/sound_audio --work var/work

.PHONY: help venv system-deps hcl-tools tf-fmt package cluster-start cluster-stop demo demo-next-day run serve dev test screenshots bench psql clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-14s %s\n", $$1, $$2}'

venv: $(STAMP) ## Create .venv and install Java, system packages and requirements.txt

$(STAMP): requirements.txt
	@$(MAKE) --no-print-directory system-deps
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet -r requirements.txt
	@touch $@

system-deps: ## Install Java 17+ (Spark), fluidsynth (test music), PostgreSQL (a server without pgvector), chromium (browser test), node (Terraform format check), ffmpeg and espeak-ng (TikTok-style edits of test music)
	@missing=""; \
	java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])' || missing="$$missing openjdk-17-jre-headless"; \
	command -v fluidsynth >/dev/null || missing="$$missing fluidsynth"; \
	[ -f /usr/share/sounds/sf2/TimGM6mb.sf2 ] || missing="$$missing timgm6mb-soundfont"; \
	ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || missing="$$missing postgresql"; \
	command -v chromium >/dev/null || missing="$$missing chromium"; \
	command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	command -v ffmpeg >/dev/null || missing="$$missing ffmpeg"; \
	command -v espeak-ng >/dev/null || missing="$$missing espeak-ng"; \
	if [ -n "$$missing" ]; then \
		echo "installing with apt:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing; \
	fi

hcl-tools: $(HCL_TOOLS) ## Install HashiCorp's HCL formatter and parser (WebAssembly, from npm) into var/node

$(HCL_TOOLS):
	@$(MAKE) --no-print-directory system-deps
	mkdir -p var/node
	npm install --silent --no-audit --no-fund --prefix var/node @cdktf/hcl-tools@0.21.0 @cdktf/hcl2json@0.21.0

tf-fmt: $(HCL_TOOLS) ## Check that infra/aws is formatted as terraform fmt would (add ARGS=--write to fix)
	HCL_TOOLS_PREFIX=var/node node infra/aws/tools/fmt.mjs $(ARGS) infra/aws

package: venv ## Zip the code for spark-submit, EMR and the web host (var/dist/fma_tiktok.zip)
	$(PY) -m infra.local.cluster package

cluster-start: venv ## Start a Spark standalone master and a 2-core worker on this machine
	$(PY) -m infra.local.cluster start

cluster-stop: venv ## Stop the standalone master and worker by pid
	$(PY) -m infra.local.cluster stop

demo: venv ## The demo: corpus (400 tracks, 6 of them whole songs, 50,000 TikTok videos, a chart and four weekly ones), reprocess into the store, train, serve the app
	@[ -f $(DEMO)/.complete-4 ] || $(PY) -m batch.demo.corpus --out $(DEMO)
	@[ -f $(DEMO)/watch.txt ] || $(PY) -m batch.demo.watch create --demo $(DEMO)
	$(REPROCESS_DEMO)
	@[ -f $(DEMO)/charts/demo-top200.csv ] || $(PY) -c \
		"from batch.demo.charts import write_chart; write_chart('$(DEMO)/charts/demo-top200.csv')"
	$(PY) -m batch.jobs.popularity --features var/work/features --matched var/work/tiktok --load
	@[ -d $(DEMO)/charts/history ] || $(PY) -c \
		"from batch.demo.charts import write_chart_history; write_chart_history('$(DEMO)/charts/history')"
	$(PY) -m text_pipeline.jobs.charts $(DEMO)/charts --matched var/work/tiktok --load
	@echo "The demo watches $(DEMO)/fma_audio/000/000002.mp3 at $$(cat $(DEMO)/watch.txt)"
	$(PY) -m webapp.serve --host 127.0.0.1 --port 5000

demo-next-day: venv ## The demo's next day: a later TikTok dump whose new sounds use the watched song, reprocessed (run make demo first)
	@[ -f $(DEMO)/watch.txt ] || { echo "make demo-next-day: run make demo first"; exit 2; }
	@[ -f $(DEMO)/tiktok/dump-0002.ndjson ] || $(PY) -m batch.demo.watch next-day --demo $(DEMO)
	$(REPROCESS_DEMO)
	@echo "The watch page now shows the new uses: $$(cat $(DEMO)/watch.txt)"
	$(PY) -m webapp.serve --host 127.0.0.1 --port 5000

run: demo ## Same as make demo

serve: venv ## Serve the web app on http://127.0.0.1:5000 against the store (gunicorn, one worker per core)
	$(PY) -m webapp.serve

dev: venv ## Flask's development server with reloading, for working on the app (not for users)
	$(PY) -m flask --app webapp run --reload

test: venv $(HCL_TOOLS) ## Run the whole test suite
	$(PY) -m pytest

screenshots: venv ## Render the README's pictures (docs/screenshots/) in chromium from a demo corpus run through the pipeline
	SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -q tests/test_end_to_end.py -k "reports_every_step or screenshots"
	SCREENSHOTS_DIR=docs/screenshots $(PY) -m pytest -q tests/test_whole_song.py -k "chromium and not no-javascript"

bench: venv ## Run the benchmarks (figures for the README's Performance section; the 25M run is apart: tests/benchmarks/bench_full_run.py)
	$(PY) tests/benchmarks/bench_features.py
	$(PY) tests/benchmarks/bench_load.py
	$(PY) tests/benchmarks/bench_search.py
	$(PY) tests/benchmarks/bench_webapp.py
	$(PY) tests/benchmarks/bench_cluster.py
	$(PY) tests/benchmarks/bench_charts.py
	$(PY) tests/benchmarks/bench_analyse.py
	$(PY) tests/benchmarks/bench_identify.py
	$(PY) tests/benchmarks/bench_shards.py
	$(PY) tests/benchmarks/bench_watches.py
	$(PY) tests/benchmarks/bench_fetch.py
	$(PY) tests/benchmarks/bench_decode.py
	$(PY) tests/benchmarks/bench_whole_song.py
	$(PY) tests/benchmarks/bench_serve.py
	$(PY) tests/benchmarks/bench_reload.py
	$(PY) tests/benchmarks/bench_style.py
	$(PY) tests/benchmarks/bench_style_search.py
	$(PY) tests/benchmarks/bench_style_cost.py
	$(PY) tests/benchmarks/bench_tempo_key.py

psql: venv ## Open psql on the store
	$(PY) -m batch.store.db psql

clean: ## Stop the embedded PostgreSQL and remove generated data (var/); keeps .venv
	@[ ! -x $(PY) ] || $(PY) -m batch.store.db stop
	rm -rf var/
