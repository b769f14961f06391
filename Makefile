# The two commands of the README: `make run` and `make test`.
GO      ?= go
BIN     := bin/hotline
GOFILES := $(shell find . -name '*.go' -not -path './ui/node_modules/*')

.PHONY: all build ui run test fuzz lint schema deps clean

all: build

$(BIN): $(GOFILES) go.mod go.sum ui/dist/index.html $(shell find schema deploy ui -type f -not -path '*/node_modules/*' -not -path 'ui/e2e/*' -not -path 'ui/dist/*')
	$(GO) build -o $(BIN) ./core/cmd/hotline

# The web workstations (ui/, Vue + Vite), built into ui/dist, which the
# binary embeds. npm ci runs again only when the lockfile changed since
# the last one (npm writes node_modules/.package-lock.json); vite build
# only when a source did. A Go build without ui/dist still works and
# serves a page saying to run `make ui`.
UI_SRC := $(shell find ui/src ui/public -type f 2>/dev/null) ui/index.html ui/vite.config.ts ui/tsconfig.json
ui/node_modules/.package-lock.json: ui/package.json ui/package-lock.json
	cd ui && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

ui/dist/index.html: ui/node_modules/.package-lock.json $(UI_SRC)
	cd ui && npm run --silent build

ui: ui/dist/index.html

build: $(BIN)

# Starts the whole platform on the embedded default: a private PostgreSQL
# under ./var, the configuration in flows/ forms/ scripts/ (published as
# files are saved: --watch), the demo
# organisation and accounts.
run: deps build
	$(BIN) serve --demo --watch

# Every test against real PostgreSQL: one throwaway server for the run,
# a fresh database per test cloned from a migrated template; then every
# fuzz target for FUZZTIME each (deploy/fuzz.sh).
#
# The Go tests run with the race detector, every package (the telephony,
# ACD and flow timers are concurrent, and a race found anywhere is a bug).
# -parallel 8 lets eight t.Parallel tests of a package run at once instead
# of GOMAXPROCS (2 on CI): only core/telephony and core/pgserver have any,
# and the telephony ones spend their time waiting on sipp and baresip in
# real time (a call walks a 20 s menu), not on the CPU. Measured on 2
# cores (issue 17): go test about 7m50 with -race -parallel 8
# (telephony 98 s, ticket search 97 s, knowledge 74 s, app 70 s, flow
# 50 s), using about 1.6 cores throughout; -p 4 saved 12 s and made a
# timing test flaky, so packages still run GOMAXPROCS at a time. The
# fuzz targets add about a minute.
#
# Last, every benchmark of README runs its README command for a few
# seconds on a small data set (deploy/bench/quick.sh, about a minute and a
# half, most of it the UI benchmarks), so a
# benchmark that no longer starts fails here. It runs outside testdb: the
# benchmarks start their own PostgreSQL, as their README commands do.
FUZZTIME ?= 3s
GOTESTFLAGS ?= -race -parallel 8
#
# Then the web UI: its type check (vue-tsc, about 20 s), its unit tests
# (vitest, about 20 s) and the end-to-end suites (ui/e2e/run.mjs: Debian
# chromium driven by playwright-core against a real `hotline serve
# --demo` on a free port, about two and a half minutes, the phone suite's
# walk through the IVR the longest step), which save their screenshots in
# ui/e2e/screenshots/.
#
# Each stage prints the time it starts at, so a slow CI run says where
# its minutes went.
STAGE = @echo "make test: $(1), $$(date +%T)"
test: deps build
	$(call STAGE,go test + fuzz)
	$(BIN) testdb -- sh -c '$(GO) test -count=1 $(GOTESTFLAGS) ./... && GO="$(GO)" FUZZTIME="$(FUZZTIME)" deploy/fuzz.sh'
	$(call STAGE,benchmarks)
	deploy/bench/quick.sh
	$(call STAGE,ui typecheck + vitest)
	cd ui && npm run --silent typecheck && npx vitest run
	$(call STAGE,ui end-to-end)
	cd ui && node e2e/run.mjs ../$(BIN)
	$(call STAGE,done)

fuzz: build
	$(BIN) testdb -- env GO="$(GO)" FUZZTIME="$(FUZZTIME)" deploy/fuzz.sh

lint: build
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN) lint flows forms scripts
	$(BIN) schema --check
	$(BIN) kinds --docs --check

# Regenerates schema/graphql/schema.graphql, schema/config/*.schema.json and
# the reference in schema/reference/ (hotline kinds --docs also removes the
# pages of entries no longer registered).
schema: build
	$(BIN) schema

# Debian packages (deploy/deps.sh), then the UI's npm packages.
deps:
	@deploy/deps.sh
	@$(MAKE) --no-print-directory ui/node_modules/.package-lock.json

clean:
	rm -rf bin
	find ui/dist -mindepth 1 -not -name .gitkeep -delete
