# The commands people and CI run. `make` lists them; each installs what it needs.
.DEFAULT_GOAL := help
.PHONY: help build check-static test lint demo image smoke bench docker-up ci deny test-arm64 release publish

# Two platforms: `make build TARGET=aarch64-unknown-linux-musl` cross-builds for arm64 (with
# zig, see .cargo/config.toml); `make image PLATFORM=linux/arm64` builds its image.
# Only the command line sets them: a TARGET or PLATFORM in the environment means other things.
TARGET_linux/amd64 := x86_64-unknown-linux-musl
TARGET_linux/arm64 := aarch64-unknown-linux-musl
PLATFORM := $(if $(filter command line,$(origin PLATFORM)),$(PLATFORM),$(if $(and \
	$(filter command line,$(origin TARGET)),$(filter aarch64-%,$(TARGET))),linux/arm64,linux/amd64))
TARGET   := $(if $(filter command line,$(origin TARGET)),$(TARGET),$(TARGET_$(PLATFORM)))
ifeq ($(TARGET),)
$(error PLATFORM must be linux/amd64 or linux/arm64)
endif
TARGET_DIR := $(or $(CARGO_TARGET_DIR),target)
BIN    := $(TARGET_DIR)/$(TARGET)/release/akl
DEPS   := sh scripts/deps.sh
SH_FILES := scripts/*.sh .ci/run docker/entrypoint.sh docker/akeyless_env.sh
# Bytes per binary: it is downloaded into every CI job.
SIZE_BUDGET := 3500000

# Reproducible bytes (`make release` checks them): the checkout, the target directory and
# ~/.cargo are remapped out of the binary and the linker writes no build id. Exported to
# every cargo command, so tests, demo and release share one build; cargo adds them to the
# target's flags in .cargo/config.toml.
CARGO_HOME_DIR := $(abspath $(or $(CARGO_HOME),$(HOME)/.cargo))
REPRO_FLAGS := --remap-path-prefix=$(CURDIR)=/akl --remap-path-prefix=$(CARGO_HOME_DIR)=/cargo \
	--remap-path-prefix=$(abspath $(TARGET_DIR))=/akl/target -C link-arg=-Wl,--build-id=none
# x86_64 links with the lld that ships with the Rust toolchain (gcc finds it through -B),
# which folds identical code: generic code instantiated for several types often compiles
# to the same bytes. That is 41.6 KB of the size budget. Rust promises no distinct address
# to distinct functions, so folding changes nothing a Rust program can rely on.
LLD_DIR = $(shell rustc --print sysroot)/lib/rustlib/$(shell rustc -vV | sed -n 's/^host: //p')/bin/gcc-ld
LINK_FLAGS = -C link-arg=-B$(LLD_DIR) -C link-arg=-fuse-ld=lld -C link-arg=-Wl,--icf=all
export CARGO_TARGET_X86_64_UNKNOWN_LINUX_MUSL_RUSTFLAGS = $(REPRO_FLAGS) $(LINK_FLAGS)
export CARGO_TARGET_AARCH64_UNKNOWN_LINUX_MUSL_RUSTFLAGS := $(REPRO_FLAGS)
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
# arm64 links with zig (scripts/deps.sh installs cargo-zigbuild and zig from PyPI here).
export ZIG_VENV ?= $(HOME)/.cache/ci_base-rs/zig
# make release checks its SBOMs with CycloneDX's Python library, installed here.
export CYCLONEDX_VENV ?= $(HOME)/.cache/ci_base-rs/cyclonedx
CARGO_BUILD := $(if $(filter aarch64-%,$(TARGET)),zigbuild,build)

# The image: `make image BASE_IMAGE=akl-test-base:latest APK_PACKAGES=` builds offline on
# the base the container tests import from busybox-static.
IMAGE        ?= ci_base-rs:alpine
BASE_IMAGE   ?= alpine:3.24.1
APK_PACKAGES ?= ca-certificates bash curl jq git openssh-client
# The offline test base exists per platform: akl-test-base:latest means akl-test-base:arm64
# for linux/arm64.
BASE := $(if $(filter linux/arm64,$(PLATFORM)),$(patsubst akl-test-base:latest,akl-test-base:arm64,$(BASE_IMAGE)),$(BASE_IMAGE))
# root, as ci_base; `AKL_USER=10001` builds the non-root variant.
AKL_USER     ?= root
# The image's OCI labels, from Cargo.toml and git.
VERSION  := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
REVISION := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
LABELS   := --build-arg VERSION=$(VERSION) --build-arg REVISION=$(REVISION) \
	--build-arg SOURCE="$(or $(shell git remote get-url origin 2>/dev/null),unknown)" \
	--build-arg LICENSES="$(or $(shell sed -n 's/^license = "\(.*\)"/\1/p' Cargo.toml),NOASSERTION)"
# The checkout's own Docker engine (scripts/dockerd.sh), unless DOCKER_HOST names another.
OWN_DOCKER   := unix://$(CURDIR)/target/docker/docker.sock
export DOCKER_HOST ?= $(OWN_DOCKER)

help: ## List the targets
	@echo "ci_base-rs: put Akeyless secrets into CI jobs. Targets:"
	@awk 'BEGIN {FS = ":.*## "} /^[a-z0-9-]+:.*## / {printf "  make %-13s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

build: ## Build the static release binary: target/x86_64-unknown-linux-musl/release/akl (TARGET=aarch64-unknown-linux-musl)
	@$(DEPS) build $(if $(filter aarch64-%,$(TARGET)),arm64-build)
	PATH="$(ZIG_VENV)/bin:$$PATH" cargo auditable $(CARGO_BUILD) --release --locked --target $(TARGET)

check-static: build ## Fail unless the binary is static (x86_64: static-pie) and within 3.5 MB
	@file $(BIN)
	@file $(BIN) | grep -Eq 'statically linked|static-pie linked' || { echo "error: $(BIN) is not statically linked" >&2; exit 1; }
	@case "$(TARGET)" in x86_64-*) file $(BIN) | grep -q 'static-pie linked' || { echo "error: $(BIN) is not position-independent (static-pie)" >&2; exit 1; } ;; esac
	@bytes=$$(wc -c <$(BIN)); echo "$(BIN): $$bytes bytes (budget $(SIZE_BUDGET))"; \
		[ "$$bytes" -le $(SIZE_BUDGET) ] || { echo "error: $(BIN) is over the size budget" >&2; exit 1; }

deny: ## The dependency policy (deny.toml): licences, duplicate versions, sources, offline
	@$(DEPS) deny
	cargo fetch --locked
	cargo deny --offline check licenses bans sources

lint: ## cargo fmt --check, clippy with -D warnings, shellcheck, the module layer check
	@$(DEPS) lint
	cargo fmt --all --check
	cargo clippy --locked --workspace --all-targets --all-features -- -D warnings
	shellcheck -s sh $(SH_FILES)
	python3 scripts/modgraph.py

test: ## Lint, the dependency policy, both static builds, the demo, every test (container, SDK and arm64 included: what CI runs)
	@$(DEPS) test
	$(MAKE) --no-print-directory lint deny check-static docker-up
	$(MAKE) --no-print-directory check-static TARGET=aarch64-unknown-linux-musl
	$(MAKE) --no-print-directory demo
	cargo test --locked --workspace --features akl/container-tests,akl/sdk-tests
	$(MAKE) --no-print-directory test-arm64

# The dependencies unoptimised and no debug info: this build is for these tests alone, and
# compiles in a third of the time (1.5 min instead of 6 here) for the same test run.
# Under emulation the code's speed is what counts: akl itself at opt-level 1 runs its tests in
# 140 s instead of 310 s (the masker's property tests); the dependencies stay unoptimised and
# nothing has debug info, which keeps the build to about 3 minutes.
test-arm64: ## The arm64 binary's unit tests, run under qemu-aarch64-static (its container tests are in make test)
	@$(DEPS) arm64
	PATH="$(ZIG_VENV)/bin:$$PATH" cargo-zigbuild test --locked --target aarch64-unknown-linux-musl --bin akl \
		--config 'profile.dev.package."*".opt-level=0' --config profile.dev.debug=0 --config profile.dev.opt-level=1

release: ## Both binaries, their SBOMs, SHA256SUMS and its signature in dist/, from two clean builds that must match
	@$(DEPS) release
	sh scripts/release.sh

demo: build ## Run the main job against the built-in fake Akeyless server
	@$(DEPS) demo
	sh scripts/demo.sh

image: build docker-up ## Build ci_base-rs:alpine for PLATFORM (linux/amd64, linux/arm64) (BASE_IMAGE=, APK_PACKAGES=, AKL_USER= override)
	@$(if $(filter linux/arm64,$(PLATFORM)),$(DEPS) arm64,:) # its RUN steps need qemu through binfmt_misc
	@case "$(BASE)" in akl-test-base:*) sh scripts/base-image.sh "$(BASE)" "" $(PLATFORM) ;; esac
	docker build --platform $(PLATFORM) -f docker/Dockerfile --build-arg BASE_IMAGE="$(BASE)" \
		--build-arg APK_PACKAGES="$(APK_PACKAGES)" --build-arg TARGET=$(TARGET) \
		--build-arg AKL_USER="$(AKL_USER)" $(LABELS) -t $(IMAGE) .

smoke: build docker-up ## Run the container tests: the image started the way GitLab Runner starts it, on amd64 and arm64
	@$(DEPS) arm64
	$(MAKE) --no-print-directory build TARGET=aarch64-unknown-linux-musl
	cargo test --locked --features container-tests --test containers

bench: build docker-up ## Measure akl against the SDK and the ci_base flow: bench/RESULTS.md
	@$(DEPS) bench
	cargo build --release --locked -p fake-akeyless
	$(MAKE) --no-print-directory image BASE_IMAGE=akl-test-base:latest APK_PACKAGES=
	python3 bench/bench.py

# `make publish REGISTRY=registry.example.com/ci_base-rs`: both images, pushed under
# immutable tags, and one manifest list. The tests publish to a loopback registry.
REGISTRY ?= 127.0.0.1:5000/ci_base-rs
TAG      ?= $(VERSION)-$(shell git rev-parse --short=7 HEAD 2>/dev/null || echo unknown)
publish: ## Push the amd64 and arm64 images and their manifest list to REGISTRY as TAG (VERSION-COMMIT)
	$(MAKE) --no-print-directory image PLATFORM=linux/amd64 IMAGE=$(REGISTRY):$(TAG)-amd64
	$(MAKE) --no-print-directory image PLATFORM=linux/arm64 IMAGE=$(REGISTRY):$(TAG)-arm64
	sh scripts/publish.sh $(REGISTRY) $(TAG)

docker-up: ## Start the checkout's own Docker engine, unless DOCKER_HOST names another
	@$(DEPS) docker
	@if [ "$(DOCKER_HOST)" = "$(OWN_DOCKER)" ]; then sh scripts/dockerd.sh start; fi

ci: ## Run .ci/run, exactly as CI does
	sh .ci/run
