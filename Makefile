# The two commands of the README: `make run` and `make test`.
GO      ?= go
BIN     := bin/hotline
GOFILES := $(shell find . -name '*.go' -not -path './ui/node_modules/*')

.PHONY: all build run test fuzz lint schema deps clean

all: build

$(BIN): $(GOFILES) go.mod go.sum $(shell find schema deploy ui -type f -not -path '*/node_modules/*')
	$(GO) build -o $(BIN) ./core/cmd/hotline

build: $(BIN)

# Starts the whole platform on the embedded default: a private PostgreSQL
# under ./var, the configuration in flows/ forms/ scripts/, the demo
# organisation and accounts.
run: deps build
	$(BIN) serve --demo

# Every test against real PostgreSQL: one throwaway server for the run,
# a fresh database per test cloned from a migrated template; then every
# fuzz target for FUZZTIME each (deploy/fuzz.sh).
FUZZTIME ?= 5s
test: deps build
	$(BIN) testdb -- sh -c '$(GO) test -count=1 ./... && GO="$(GO)" FUZZTIME="$(FUZZTIME)" deploy/fuzz.sh'

fuzz: build
	$(BIN) testdb -- env GO="$(GO)" FUZZTIME="$(FUZZTIME)" deploy/fuzz.sh

lint: build
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(BIN) lint flows forms scripts
	$(BIN) schema --check

# Regenerates schema/graphql/schema.graphql and schema/config/*.schema.json.
schema: build
	$(BIN) schema

deps:
	@deploy/deps.sh

clean:
	rm -rf bin
