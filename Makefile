# haup's make targets. CI (.ci/run) calls the same targets a person would.
GO        ?= go
SHELL     := /bin/bash
.SHELLFLAGS := -o pipefail -c
BIN       := bin
CHECK_DIR := checkbin/dist
ARCHES    := amd64 arm64
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X github.com/haup-project/haup/cmd.version=$(VERSION)
export BENCH_OUT ?= $(CURDIR)/bench-results.json

.PHONY: all build check-bins unit test deps lab lab-up lab-down bench clean

all: build

# The health check is cross-compiled for every supported node architecture
# and embedded into haup, so any operator machine can serve any node.
check-bins:
	@for a in $(ARCHES); do \
	  CGO_ENABLED=0 GOOS=linux GOARCH=$$a $(GO) build -trimpath -ldflags '-s -w' \
	    -o $(CHECK_DIR)/haup-check-linux-$$a ./cmd/haup-check || exit 1; \
	done

build: check-bins
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/haup .

# Hermetic tests only: no lab, no daemons (-short skips the others).
unit:
	$(GO) test -short ./...

deps:
	./scripts/deps.sh

# Every test: hermetic, the SSH transport against a real sshd, the health
# check against real PostgreSQL, the lab image, the lab and haup end to end on
# the lab. Needs root (Linux namespaces, systemd-nspawn).
# The end-to-end test's figures go to E2E_FIGURES, stamped with the clean
# commit they were measured on, for make bench to reuse.
E2E_FIGURES := $(CURDIR)/.bench/e2e-figures.json

test: deps build
	rm -f $(E2E_FIGURES)
	./scripts/e2e-figures.sh begin $(E2E_FIGURES)
	HAUP_CHECK_DIR=$(CURDIR)/$(CHECK_DIR) BENCH_OUT=$(E2E_FIGURES) HAUP_E2E_STEP_TIMES=$(CURDIR)/.bench/e2e-steps.tsv $(GO) test -count=1 -p 1 -timeout 80m ./...
	./scripts/e2e-figures.sh stamp $(E2E_FIGURES)

# The main job: a two-node lab, then haup applied to it.
lab: deps build
	$(BIN)/haup lab up
	$(BIN)/haup apply .lab/inventory.yaml
	@echo "waiting for the cluster to settle (standby clone, VIP election)..."
	@for i in $$(seq 1 90); do $(BIN)/haup status .lab/inventory.yaml >/dev/null 2>&1 && break; sleep 1; done
	$(BIN)/haup status .lab/inventory.yaml

lab-up: deps build
	$(BIN)/haup lab up

lab-down: build
	$(BIN)/haup lab down

# Benchmarks print tables and merge their figures into $(BENCH_OUT): the
# validation of a 50 MB inventory, the health check against the recipe's,
# the agent's cost per write of the metrics file (metrics_scrape_ms),
# lab up cold and warm and the keepalived version its nodes install
# (lab_keepalived_version), the image's promotion time, its build with
# TimescaleDB compiled (the debootstrap roots kept), and on the lab greenfield/no-op apply,
# fencing, switchovers, haup drill per fault in asynchronous and zero-loss
# mode, a partition, and a saturated-primary soak (HAUP_SOAK_SECONDS, default
# 600; CI sets 120). The end-to-end test's figures are those make test
# measured when it ran on this same clean commit (CI runs both in a row);
# otherwise that test runs here too.
bench: deps build
	rm -f $(BENCH_OUT)
	@if ./scripts/e2e-figures.sh fresh $(E2E_FIGURES); then \
	  echo "bench: the end-to-end figures are those make test measured on this commit ($(E2E_FIGURES))"; \
	  cp $(E2E_FIGURES) $(BENCH_OUT); \
	fi
	e2e=$$(./scripts/e2e-figures.sh fresh $(E2E_FIGURES) || echo '|TestEndToEnd'); \
	HAUP_BENCH=1 $(GO) test -count=1 -p 1 -timeout 80m -v \
	  -run "TestValidate50MB|TestCheckBenchmark|TestMetricsScrapeCost|TestLabUpTimes|TestPromotionTime|TestLabImageBuildCold$$e2e" \
	  -bench 'BenchmarkFailover|BenchmarkSoak|BenchmarkStatusWatch' -benchtime 1x \
	  ./inventory ./healthcheck ./metrics ./lab ./labimage ./e2e 2>&1 | grep -vE '^\s*$$|^=== (RUN|PAUSE|CONT)'
	@echo "figures: $(BENCH_OUT)"; cat $(BENCH_OUT)

clean:
	rm -rf $(BIN) $(CHECK_DIR)/haup-check-*
