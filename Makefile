# apitap — passive API-traffic sensor. `make help` lists the targets.

GO        ?= go
CLANG     ?= clang-14
BIN       := bin/apitap
DEMO_PCAP := testdata/demo.pcap
FUZZTIME  ?= 30s
BENCHOUT  ?= bench.txt
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)

.DEFAULT_GOAL := help

.PHONY: help
help: ## Show this help.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z0-9_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/apitap (static, without cgo: dropping capabilities needs it).
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN) ./cmd/apitap

.PHONY: install
install: build ## Install apitap as a hardened systemd service (root).
	scripts/deploy/install.sh $(BIN)

.PHONY: demo
demo: build ## Run apitap on the bundled capture and print the report.
	./$(BIN) read -r $(DEMO_PCAP) --spec testdata/demo-openapi.yaml

.PHONY: test
test: ## Run every test: unit, corpus, kernel and namespace-lab tests (the last two need root).
	$(GO) vet ./...
	$(GO) test -count=1 -tags e2e -timeout 40m ./...

.PHONY: e2e
e2e: build ## Run only the network-namespace lab tests (needs root, nginx, curl, tcpdump).
	$(GO) test -count=1 -tags e2e -timeout 30m ./scripts/...

.PHONY: bench
bench: ## Run the benchmarks (count 10) into $(BENCHOUT) for benchstat.
	$(GO) test -run '^$$' -bench . -benchmem -count 10 ./... | tee $(BENCHOUT)

.PHONY: bench-core
bench-core: ## The whole-pipeline benchmark on the generated 300 MB capture (5 rounds).
	$(GO) test -run '^$$' -bench 'BenchmarkPipeline' -benchmem -benchtime 5x -timeout 30m ./sensor/engine

.PHONY: bench-analysis
bench-analysis: ## What discovery and classification cost on top of the core (10 rounds, medians).
	$(GO) test -run '^$$' -bench 'BenchmarkAnalysisOverhead' -benchtime 10x -timeout 30m ./sensor/analysis

.PHONY: bench-live
bench-live: build bench-core ## Replay the synthetic capture onto a veth at rising rates (root, tcpreplay).
	APITAP_BENCH_LIVE=1 $(GO) test -tags e2e -count=1 -run TestLiveBenchE2E -v -timeout 20m ./scripts/lab

.PHONY: bench-ebpf
bench-ebpf: build ## eBPF (TCX) vs AF_PACKET CPU and ring drops, TLS chunk decode (root, nginx).
	APITAP_BENCH_EBPF=1 APITAP_BENCH_BULK_MBPS=200 $(GO) test -tags e2e -count=1 -run TestEBPFBenchE2E -v -timeout 10m ./scripts/lab
	$(GO) test -run '^$$' -bench 'BenchmarkTLSChunks|BenchmarkCaptureReadPacket|BenchmarkSocketMapLookup' -benchmem ./sensor/ebpf

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each.
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

.PHONY: fmt
fmt: ## Format the Go code.
	gofmt -w $$(git ls-files '*.go')

.PHONY: lint
lint: ## go vet, gofmt check (and staticcheck when installed).
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); exit 1; }
	@if command -v staticcheck >/dev/null; then staticcheck ./...; fi

.PHONY: generate
generate: ## Regenerate the eBPF objects and bindings (installs clang-14 if missing).
	@command -v $(CLANG) >/dev/null || apt-get install -y clang-14 llvm libbpf-dev
	$(GO) generate ./sensor/ebpf/...

.PHONY: verify-generated
verify-generated: generate ## Fail if the committed eBPF objects differ from a fresh build.
	git diff --exit-code -- bpf sensor/ebpf

.PHONY: clean
clean: ## Remove build output.
	rm -rf bin $(BENCHOUT)
