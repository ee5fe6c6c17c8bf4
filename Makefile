# signd — the two commands the README gives:
#   make demo   the whole product on embedded defaults (daemon, simulated phone, B-T job, verify)
#   make test   install what the tests need (if missing), check that imports match Package.swift,
#               build once, run every test
SWIFT ?= swift
SHELL := /bin/bash
BIN := .build/debug/signd

.PHONY: test deps check-imports build demo bench fuzz clean

deps:
	@bash scripts/test-deps.sh

# Every target's imports against its declared dependencies (scripts/check-imports.py).
check-imports:
	@SWIFT=$(SWIFT) python3 scripts/check-imports.py

build:
	$(SWIFT) build --build-tests

# The suites are XCTest; Swift Testing is disabled so the run does not end on an empty
# "0 tests" line. The last line is a plain "N passed, N failed" summary.
test: deps check-imports
	$(SWIFT) build --build-tests
	@set -o pipefail; $(SWIFT) test --skip-build --disable-swift-testing 2>&1 | tee .build/test.log; \
	status=$$?; \
	summary=$$(grep -E "^[[:space:]]*Executed [0-9]+ tests?, with [0-9]+ failures?" .build/test.log | tail -n 1); \
	total=$$(echo "$$summary" | sed -E 's/.*Executed ([0-9]+) tests?.*/\1/'); \
	failed=$$(echo "$$summary" | sed -E 's/.*with ([0-9]+) failures?.*/\1/'); \
	if [ -n "$$summary" ]; then echo "$$((total - failed)) passed, $$failed failed"; fi; \
	exit $$status

demo:
	@bash scripts/demo.sh

bench:
	@bash bench/run.sh

# libFuzzer targets (docs/testing.md, "Fuzzing"): FUZZ_SECONDS per target (default 60); crashes,
# timeouts and memory blow-ups land in Tests/FuzzRegressionTests/Corpus/, which `make test` replays.
fuzz:
	@bash scripts/fuzz.sh

clean:
	rm -rf .build
