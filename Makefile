# Two entry points: `make serve` (build + serve the demo vault), `make test`.
# Both run `make setup` first, which does nothing when everything is in place.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.kb-setup-done

.PHONY: setup serve build test lint bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml Makefile
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	@# torch first, pinned to the CPU wheel: an unpinned torch pulls a multi-GB CUDA build
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[embed,dev]'
	@# onnxruntime-web for `[search] browser_model = "full"`, from npm into ~/.cache/kb (tests then need no network)
	@$(PY) -m kb.search.browser_model fetch || echo "note: onnxruntime-web not fetched; browser_model = \"full\" builds will try again"
	@# mermaid, which draws ```mermaid blocks on the pages that have one, likewise
	@$(PY) -m kb.emit.diagrams fetch || echo "note: mermaid not fetched; builds with diagrams will try again"
	@# system packages for the browser tests and the HTML validator (Debian, as root)
	@if ! command -v chromium >/dev/null || ! command -v java >/dev/null; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium default-jre-headless >/dev/null; \
	  else echo "note: install chromium and a Java runtime for the browser and HTML-validator tests"; fi; \
	fi
	@touch $(STAMP)

build: setup
	$(VENV)/bin/kb build content

serve: setup
	$(VENV)/bin/kb serve content

test: setup
	$(PY) -m pytest -q -p no:cacheprovider

lint: setup
	$(VENV)/bin/ruff check kb tests bench

bench: setup
	$(PY) bench/build_bench.py

clean:
	rm -rf site .kb-cache content/.kb-cache
