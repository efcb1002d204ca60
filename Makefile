# acp-serverless: build, test, demo and benchmarks.
# `make test` is what CI runs (.ci/run). `make demo` needs no AWS or Acronis account.

# One entry per function directory under functions/.
FUNCTIONS := token-refresh webhook-intake tenant-provisioning usage-snapshot report-download policy-audit

GOARCH ?= arm64
GO_BUILD := CGO_ENABLED=0 GOOS=linux go build -trimpath -tags lambda.norpc -ldflags "-s -w"
TEST_TIMEOUT ?= 30m

.PHONY: all build test check vet fmt-check lint-template mod-tidy unit bench fuzz demo demo-moto sim measure clean

all: build

## build: one Lambda bootstrap per function in bin/<name>/bootstrap (GOARCH=amd64 for this machine)
build: $(FUNCTIONS:%=bin/%/bootstrap)

bin/%/bootstrap: FORCE
	GOARCH=$(GOARCH) $(GO_BUILD) -o $@ ./functions/$*

FORCE:

## test: formatting, vet, template lint, then every test (moto_server is started by the tests)
test: check unit

check: fmt-check vet lint-template mod-tidy

## mod-tidy: go.mod/go.sum are what `go mod tidy` makes them (fails with the diff otherwise)
mod-tidy:
	@go mod tidy -diff || { echo 'go.mod/go.sum are not tidy: run go mod tidy and commit the result' >&2; exit 1; }

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	go vet ./...

lint-template:
	cfn-lint template.yaml

unit:
	go test -race -count=1 -timeout $(TEST_TIMEOUT) ./...

## bench: Go benchmarks (figures quoted in the README come from here)
bench:
	go test -run '^$$' -bench . -benchmem -benchtime 1x -count 1 -timeout 60m ./...

## fuzz: a short run of every fuzz target
fuzz:
	@for pkg in $$(go list ./...); do \
	  for f in $$(go test -list '^Fuzz' $$pkg | grep '^Fuzz'); do \
	    echo "fuzz $$pkg $$f"; go test -run '^$$' -fuzz "^$$f$$" -fuzztime $${FUZZTIME:-15s} $$pkg || exit 1; \
	  done; \
	done

## demo: the whole job on this machine: simulators + local stand-ins for S3 and Secrets Manager
demo:
	go run ./scripts/demo -out demo-out

## demo-moto: the same against moto_server's Secrets Manager and S3 (started and stopped by the demo)
demo-moto:
	go run ./scripts/demo -out demo-out -moto

## sim: the Acronis simulator on its own (prints its URL and an API client)
sim:
	go run ./scripts/sim

## measure: each function's binary size and init time (process start to ready)
measure:
	go run ./scripts/measure

clean:
	rm -rf bin demo-out .aws-sam

# sam build (BuildMethod: makefile) calls build-<LogicalId> with ARTIFACTS_DIR set.
build-TokenRefreshFunction:
	GOARCH=arm64 $(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/token-refresh

build-UsageSnapshotFunction:
	GOARCH=arm64 $(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/usage-snapshot

build-ReportDownloadFunction:
	GOARCH=arm64 $(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/report-download

build-PolicyAuditFunction:
	GOARCH=arm64 $(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/policy-audit

build-WebhookIntakeFunction:
	GOARCH=arm64 $(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/webhook-intake

build-TenantProvisioningFunction:
	GOARCH=arm64 $(GO_BUILD) -o $(ARTIFACTS_DIR)/bootstrap ./functions/tenant-provisioning
