# UdaConnect — `make run` starts the whole system locally, `make test` runs
# every test. Both install what they need on Debian (as root, with apt-get).

SHELL := /bin/bash
export PATH := $(PATH):/usr/local/go/bin
GO ?= go
MODULE := github.com/udaconnect/udaconnect

# The throwaway database of the tests, and the kept one of `make run`.
TEST_PG := .test/pg
TEST_PG_PORT ?= 55432
RUN_PG := .run/pg
RUN_PG_PORT ?= 55433

# Debian packages the tests use besides PostGIS (db/postgres.sh installs that).
TEST_PACKAGES := shellcheck ruby chromium graphviz

.PHONY: run test test-go test-web test-browser docs deps web fuzz

# REPLICAS=n starts n replicas of persons, locations and connections.
REPLICAS ?= 1
run: web
	REPLICAS=$(REPLICAS) deploy/local/run.sh

test: deps web
	@trap 'db/postgres.sh stop $(TEST_PG)' EXIT; \
	url=$$(PG_FSYNC=off db/postgres.sh start $(TEST_PG) $(TEST_PG_PORT)) || exit 1; \
	export TEST_DATABASE_URL=$$url; \
	$(MAKE) --no-print-directory test-go test-web test-browser

test-go:
	$(GO) vet $(MODULE)/...
	$(GO) test -race -count=1 $(MODULE)/...

test-web: frontend/web/node_modules/.package-lock.json
	cd frontend/web && npm test

# Every Go fuzz target (func Fuzz... in a _test.go file), each for FUZZTIME.
# Their seeds run in `make test`; an input that fails is written to the
# package's testdata/fuzz/<target>/, where it stays as a regression test:
# commit it with the fix.
FUZZTIME ?= 30s
fuzz:
	@set -e; for file in $$(grep -rl --include='*_test.go' '^func Fuzz' frontend shared functions eventing); do \
	  dir=$$(dirname $$file); \
	  for target in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$file); do \
	    echo "== $$dir $$target ($(FUZZTIME))"; \
	    $(GO) test -run '^$$' -fuzz "^$$target\$$" -fuzztime $(FUZZTIME) ./$$dir; \
	  done; \
	done

# The browser tests, in Debian's Chromium, against the whole system started as
# `make run` starts it, on other ports and a fresh database of the test cluster.
# E2E_PORT=n moves them all (n, n+10 … n+14), so that two checkouts can test at once.
E2E_PORT ?= 18080
test-browser: frontend/web/node_modules/.package-lock.json
	@test -n "$$TEST_DATABASE_URL" || { echo "TEST_DATABASE_URL is not set: run make test"; exit 1; }
	@psql "$$TEST_DATABASE_URL" -qc 'DROP DATABASE IF EXISTS browser_e2e WITH (FORCE)' -c 'CREATE DATABASE browser_e2e'
	@mkdir -p .test; \
	RUN_DIR=.test/run DATABASE_URL=$${TEST_DATABASE_URL%/*}/browser_e2e?sslmode=disable LOG_LEVEL=warn \
	  DOOR_PORT=$(E2E_PORT) BROKER_PORT=$$(($(E2E_PORT)+10)) PERSONS_PORT=$$(($(E2E_PORT)+11)) LOCATIONS_PORT=$$(($(E2E_PORT)+12)) CONNECTIONS_PORT=$$(($(E2E_PORT)+13)) DEADLETTERS_PORT=$$(($(E2E_PORT)+14)) \
	  deploy/local/run.sh > .test/run.log 2>&1 & pid=$$!; \
	for i in $$(seq 600); do curl -fsS -o /dev/null http://127.0.0.1:$(E2E_PORT)/readyz 2>/dev/null && break; \
	  kill -0 $$pid 2>/dev/null || break; sleep 0.2; done; \
	(cd frontend/web && BASE_URL=http://127.0.0.1:$(E2E_PORT) ORGANIZER_TOKEN=$$(cat ../../.test/run/organizer-token) npm run e2e); status=$$?; \
	kill -TERM $$pid; wait $$pid; \
	[ $$status = 0 ] || { echo "the system's output: .test/run.log and .test/run/logs/"; tail -20 .test/run.log; }; \
	exit $$status

deps:
	@missing=$$(for p in $(TEST_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing $$missing with apt-get"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages: $$missing (install them with apt-get)"; exit 1; \
	  fi; \
	fi

# The web app, built into frontend/web/dist, which the door embeds; rebuilt
# only when its sources change.
WEB_SOURCES := $(shell find frontend/web/src frontend/web/index.html frontend/web/vite.config.ts frontend/web/package-lock.json -type f 2>/dev/null)
web: frontend/web/dist/index.html
frontend/web/node_modules/.package-lock.json: frontend/web/package-lock.json
	cd frontend/web && npm ci --no-audit --no-fund
frontend/web/dist/index.html: frontend/web/node_modules/.package-lock.json $(WEB_SOURCES)
	cd frontend/web && npm run build

# docs/architecture.png from its Graphviz source.
docs: docs/architecture.png
docs/architecture.png: docs/architecture.dot
	dot -Tpng -Gdpi=110 -o $@ $<

# The benchmarks (issue 6), on a PostgreSQL cluster of their own in .bench/pg
# whose bench_* databases each run recreates; the processes run on ports
# 28080-28093. The tables go to docs/bench.md, docs/bench.json and README.md;
# BENCH_FLAGS=-quick is a smaller run whose tables stay in .bench/.
BENCH_PG := .bench/pg
BENCH_PG_PORT ?= 55452
.PHONY: bench
bench: web
	@trap 'db/postgres.sh stop $(BENCH_PG)' EXIT; \
	url=$$(db/postgres.sh start $(BENCH_PG) $(BENCH_PG_PORT)) && \
	$(GO) run ./shared/cmd/bench -database-url "$$url" $(BENCH_FLAGS)
