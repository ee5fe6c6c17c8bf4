# signd — the two commands the README gives:
#   make demo   sign and verify a sample on embedded defaults
#   make test   install what the tests need (if missing), build once, run every test
SWIFT ?= swift
BIN := .build/debug/signd

.PHONY: test deps build demo bench clean

deps:
	@bash scripts/test-deps.sh

build:
	$(SWIFT) build --build-tests

test: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

demo:
	@bash scripts/demo.sh

bench:
	@bash bench/run.sh

clean:
	rm -rf .build
