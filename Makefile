# The commands people and CI run. `make` lists them; each installs what it needs.
.DEFAULT_GOAL := help
.PHONY: help build check-static test lint demo ci

TARGET := x86_64-unknown-linux-musl
BIN    := target/$(TARGET)/release/akl
DEPS   := sh scripts/deps.sh
SH_FILES := scripts/*.sh .ci/run

help: ## List the targets
	@echo "ci_base-rs: put Akeyless secrets into CI jobs. Targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build the static release binary: target/x86_64-unknown-linux-musl/release/akl
	@$(DEPS) build
	cargo build --release --locked

check-static: build ## Fail unless `file` says the binary is statically linked
	@file $(BIN)
	@file $(BIN) | grep -q 'statically linked' || { echo "error: $(BIN) is not statically linked" >&2; exit 1; }

lint: ## cargo fmt --check, clippy with -D warnings, shellcheck
	@$(DEPS) lint
	cargo fmt --check
	cargo clippy --locked --all-targets -- -D warnings
	shellcheck -s sh $(SH_FILES)

test: ## Lint, check the static build, run every test (what CI runs)
	@$(DEPS) test
	$(MAKE) --no-print-directory lint check-static
	cargo test --locked

demo: build ## Run the main job against the built-in fake Akeyless server
	@$(DEPS) demo
	sh scripts/demo.sh

ci: ## Run .ci/run, exactly as CI does
	sh .ci/run
