# mlslab — see README.md.
GO        ?= go
VECTORS   ?= $(or $(MLS_TEST_VECTORS),../shared/test-vectors)
FUZZTIME  ?= 60s
BENCHTIME ?= 1s
COUNT     ?= 6
DATE      := $(shell date -u +%F)

.PHONY: all build test vet demo conformance fuzz bench bench-compare clean interop-tsmls

all: build

build:
	$(GO) build ./...

## test: the project's test command (CI runs exactly this): vet + all tests.
test:
	$(GO) mod download
	$(GO) vet ./...
	$(GO) test ./...

vet:
	$(GO) vet ./...

## demo: the default scenario; writes results/demo/ (CSV, summary, figures).
demo:
	$(GO) run ./cmd/mlssim run workloads/demo.yaml --out results/demo

## conformance: every IETF vector file, one row per file.
conformance:
	$(GO) run ./cmd/mlssim conformance $(VECTORS)

## fuzz: run every fuzz target for FUZZTIME each.
fuzz:
	@set -e; for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) $$pkg; \
	  done; done

## bench: the benchmark suite, COUNT runs each, into bench/out/DATE.txt.
bench:
	mkdir -p bench/out
	$(GO) test -run='^$$' -bench=. -benchmem -count=$(COUNT) -benchtime=$(BENCHTIME) -timeout=0 ./... | tee bench/out/$(DATE).txt

## interop-tsmls: live interop with ts-mls 1.6.4 (Node.js >= 20 and npm; installs bench/peers/tsmls/node_modules).
interop-tsmls:
	cd bench/peers/tsmls && npm ci --no-audit --no-fund
	$(GO) test -count=1 ./interop/tsmls/...

clean:
	rm -rf bin bench/out
