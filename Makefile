# The two commands a new user needs: `make demo` and `make test`.
# Everything else they depend on is installed by `make tools` into ./bin.

SHELL        := /usr/bin/env bash
BIN          := $(CURDIR)/bin
export PATH  := $(BIN):$(PATH)
export CHECKPOINT_DISABLE := 1
GO_PACKAGES  := ./...

.PHONY: tools build install-provider demo demo-down test test-unit test-acc lint generate check-generate bench faults kill profile clean

tools: ## install pinned tools into ./bin; check moto and PostgreSQL
	@scripts/tools.sh

build: ## build the provider and pivotctl into ./bin
	go build -o $(BIN)/terraform-provider-pivot .
	go build -o $(BIN)/pivotctl ./cmd/pivotctl

install-provider: build ## put the provider in the filesystem mirror Terraform reads
	@scripts/install-provider.sh

demo: tools install-provider ## apply the demo configuration on the local platform stack
	@scripts/demo.sh

demo-down: build ## stop the local platform stack and remove the demo state
	@scripts/demo.sh down

test: tools lint check-generate check-release test-go ## everything CI runs

test-go: build install-provider ## unit, acceptance (TF_ACC=1) and end-to-end tests
	PIVOT_KILL_POINTS=$${PIVOT_KILL_POINTS:-4} TF_ACC=1 go test -count=1 -timeout 40m $(GO_PACKAGES)

lint: install-provider ## vet, golangci-lint, terraform fmt/validate, actionlint, buf and proto house rules
	go vet $(GO_PACKAGES)
	golangci-lint run --timeout 10m $(GO_PACKAGES)
	@scripts/lint-terraform.sh
	actionlint
	@scripts/lint-proto.sh
	$(BIN)/pivotctl lint proto

check-release: ## goreleaser check and a linux/amd64 snapshot in the registry layout
	@scripts/check-release.sh

generate: ## regenerate protobuf code and provider docs
	@scripts/generate.sh

check-generate: generate ## fail when generated files differ from the committed ones
	@test -z "$$(git status --porcelain -- docs services/internal/gen 'services/*/env-schema.json')" || { git status --short -- docs services/internal/gen 'services/*/env-schema.json'; false; } || \
		(echo "generated files are stale: run 'make generate' and commit" >&2; exit 1)

faults: tools install-provider ## the release flow (staging, prod, tenants) through 30% throttling, server errors, lost answers and IAM/cluster propagation delays
	@mkdir -p .pivot
	PIVOT_E2E_FAULTS="throttle=0.3,5xx=0.05,lost=0.02,role=5s,cluster=5s" TF_ACC=1 go test -count=1 -timeout 40m -run 'TestReleaseFlow$$' -v ./e2e/ > .pivot/faults.log 2>&1; \
	  rc=$$?; grep -E '^\s*(---|PASS|FAIL|ok)|faults injected|Error:' .pivot/faults.log; echo "full log: .pivot/faults.log"; exit $$rc

kill: tools install-provider ## kill -9 at 12 points of a staging and of a tenant apply (make test runs 4 of each); each must converge and leave nothing
	@mkdir -p .pivot
	PIVOT_KILL_POINTS=$${PIVOT_KILL_POINTS:-12} TF_ACC=1 go test -count=1 -timeout 80m -run 'TestKill' -v ./e2e/ > .pivot/kill.log 2>&1; \
	  rc=$$?; grep -E '^\s*(---|PASS|FAIL|ok)|Error:' .pivot/kill.log; echo "full log: .pivot/kill.log"; exit $$rc

bench: tools install-provider ## benchmarks: each prints a ratio against a baseline measured in the same run
	@scripts/bench.sh

profile: tools install-provider ## CPU profile of the provider during a plan: the NATS bench's 300 resources, or DIR=<initialised root>
	@DIR="$(DIR)" scripts/profile.sh

clean:
	rm -rf $(BIN)/terraform-provider-pivot $(BIN)/pivotctl dist .pivot
