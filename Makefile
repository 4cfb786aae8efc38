# Vigil build, test and benchmark targets. See README.md.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c

GO ?= go
VIGIL_SHARED ?= $(abspath ../shared)
export VIGIL_SHARED
BENCH_DATA ?= $(abspath bench-data)
BENCH_COUNT ?= 5

.PHONY: all build test test-live conformance bench bench-store bench-data lint fuzz clean

all: build test

build:
	$(GO) build -o vigil ./cmd/vigil

## test: unit tests of every package (no shared corpus needed).
test:
	$(GO) vet ./...
	$(GO) test -race -count=1 ./...

## test-live: the OpenSearch sink suite against a real cluster at
## OPENSEARCH_URL (e.g. the one deploy/docker-compose.yml starts).
test-live:
	@test -n "$${OPENSEARCH_URL:-}" || { echo "test-live: set OPENSEARCH_URL (e.g. https://admin:PASSWORD@127.0.0.1:9200)"; exit 1; }
	$(GO) test -tags live -count=1 -v ./internal/sink/opensearch/

## conformance: tests against ../shared (es-loader output, ECS oracle,
## Sigma rules, large-file memory); prints agreement figures.
conformance:
	@test -d "$(VIGIL_SHARED)/corpus" || { echo "conformance: shared folder not found at $(VIGIL_SHARED) (set VIGIL_SHARED)"; exit 1; }
	env -u VIGIL_GEOIP_DIR $(GO) test -count=1 -tags conformance -v -timeout 30m ./test/conformance/... ./internal/app/... ./internal/logtype/... \
	  ./internal/detect/... ./internal/enrich/... ./internal/demo/... ./internal/sink/... 2>&1 \
	  | grep -v -E '^(=== (RUN|PAUSE|CONT)|    --- PASS|--- PASS)'

## bench-data: the 100k-record benchmark set, generated once by the corpus generator.
bench-data: $(BENCH_DATA)/manifest.json
$(BENCH_DATA)/manifest.json:
	python3 "$(VIGIL_SHARED)/corpus/esloader-compat/gen_data.py" --out "$(BENCH_DATA)"

## bench: throughput per log type on one core and on all cores (medians of BENCH_COUNT runs).
bench: bench-data
	VIGIL_BENCH_DATA="$(BENCH_DATA)" $(GO) test -run '^$$' -bench . -benchtime 2x -count $(BENCH_COUNT) -cpu 1,2 ./test/bench/ | tee bench-load.txt
	$(GO) run ./test/bench/benchsummary < bench-load.txt
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./internal/codec/... ./internal/normalize/ ./internal/detect/... ./internal/query/
	$(GO) test -run '^$$' -bench 'BulkEncode$$|SinkEndToEnd' -cpu 1,2 -count $(BENCH_COUNT) ./internal/sink/opensearch/
	$(MAKE) bench-store

## bench-store: the embedded store's ingest rate on all cores (written
## directly, through the store sink, and DuckDB's own insert of the same rows
## as a ceiling) and, over a month of BENCH_STORE_DOCS generated documents
## (default 10M, kept in bench-data/store for later runs), the median
## latency of each dashboard panel and search.
BENCH_STORE_DOCS ?= 10000000
bench-store:
	$(GO) test -run '^$$' -bench 'Ingest|DuckDBAlone' -count $(BENCH_COUNT) -timeout 1h ./internal/store/duckdb/
	VIGIL_BENCH_DOCS=$(BENCH_STORE_DOCS) VIGIL_BENCH_DIR="$(BENCH_DATA)/store" $(GO) test -run '^$$' -bench 'Queries' -count 1 -timeout 2h ./internal/store/duckdb/

## lint: gofmt, go vet and golangci-lint (installed into ./bin on first use).
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "not gofmt-formatted:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	@if ! command -v golangci-lint >/dev/null && [ ! -x bin/golangci-lint ]; then \
	  GOBIN=$(abspath bin) $(GO) install github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.5.0; fi
	PATH="$(abspath bin):$$PATH" golangci-lint run ./...

## fuzz: run every fuzz target for FUZZTIME each.
FUZZTIME ?= 20s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg | grep '^Fuzz' || true); do \
	    echo "fuzz $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; done; done

clean:
	rm -rf vigil bin bench-load.txt
