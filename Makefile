# Latchkey's one entry point for tasks. The README's two commands: `make demo`, `make test`.
SHELL := bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
# Packages built for the server (ssr) and for the browser (hydrate, wasm32).
SSR := -p domain -p jose -p messages -p app -p server -p latchkey-bench -p devkit --features app/ssr
WASM := -p frontend -p app --target wasm32-unknown-unknown

.PHONY: help setup demo test lint fmt-check domain-deps clippy unit e2e build-release frontend fuzz bench package package-test

help:
	@echo "make demo   set everything up and serve the demo at http://127.0.0.1:3000 (OpenID Connect apps on :3001, :3002; apps behind nginx :3003 and Caddy :3004)"
	@echo "make test   set everything up and run every test (lint, unit, integration, end-to-end)"
	@echo "make setup  install the toolchain pieces only"
	@echo "make lint | unit | e2e   parts of make test"
	@echo "make fuzz   run each fuzz target for FUZZ_SECS seconds (nightly, cargo-fuzz)"
	@echo "make bench  load benchmark of whole sign-ins (DB=sqlite|postgres, BENCH_SECS per level)"
	@echo "make package  the Debian package, target/debian/latchkey_<version>_<arch>.deb (release build)"

setup:
	@bash .ci/setup.sh

# --precompress writes .br and .gz beside each asset; the server sends them to browsers that
# accept them (the wasm of the islands: about 320 KB raw, 110 KB brotli).
build-release: setup
	$(CARGO) leptos build --release --precompress

# The demo is the devkit's `latchkey-demo` (the real server in-process, with a throwaway slapd and
# SQLite, and two demo apps under Node that sign in through it), serving the release browser
# assets; nothing of it is in the `latchkey` binary.
demo: frontend
	$(CARGO) build --release -p devkit --bin latchkey-demo
	./target/release/latchkey-demo --listen 127.0.0.1:3000

test: setup lint unit e2e package-test
	@echo "make test: everything passed"

lint: fmt-check domain-deps clippy

# The domain crate depends on no web, storage or network crate: a fact of its Cargo.toml, kept.
DOMAIN_MUST_NOT_USE := leptos|leptos_axum|leptos_router|leptos_meta|axum|axum-core|sqlx|ldap3|reqwest|tower-sessions|tower-http|hyper
domain-deps:
	@bad=$$($(CARGO) tree -p domain -e normal,build --prefix none --format '{p}' | awk '{print $$1}' | { grep -Ex '$(DOMAIN_MUST_NOT_USE)' || true; } | sort -u | tr '\n' ' '); \
	if [ -n "$$bad" ]; then echo "domain-deps: the domain crate must not depend on $$bad(see domain/Cargo.toml)"; exit 1; fi; \
	echo "domain-deps: the domain crate uses no web, storage or network crate"

fmt-check:
	$(CARGO) fmt --all -- --check

clippy:
	$(CARGO) clippy $(SSR) --all-targets -- -D warnings
	$(CARGO) clippy $(WASM) --all-targets -- -D warnings

# Unit tests and integration tests against a real slapd, SQLite and PostgreSQL.
unit:
	$(CARGO) test $(SSR)

# The browser assets (wasm, JS, CSS) as in production: size-optimised and through wasm-opt,
# whose faults only show in a release build.
frontend: setup
	$(CARGO) leptos build --release --frontend-only --precompress

# End-to-end in Chromium: the devkit's `latchkey-demo` and `twilio-standin` as the tests build
# them (dev profile, so no second compile of every dependency; devkit/tests/binaries.rs makes
# `cargo test` build them), the demo serving the release browser assets.
e2e: frontend
	$(CARGO) test $(SSR) --no-run
	LATCHKEY_DEMO_BIN=target/debug/latchkey-demo TWILIO_STANDIN_BIN=target/debug/twilio-standin \
	  node --test --test-concurrency=1 end2end/tests/

# The Debian package: the release binary (stripped) with the browser assets built in
# (`embed-assets`), /etc/latchkey/latchkey.toml, the hardened unit, the latchkey user
# (packaging/debian/, .ci/package.sh). README: "Install on Debian/Ubuntu".
package: frontend
	$(CARGO) build --release -p server --bin latchkey --features embed-assets
	.ci/package.sh target/release/latchkey target/debian

# The package installed into a clean Debian (debootstrap, cached in target/package/), checked,
# serving a sign-in, upgraded, purged (devkit/tests/package.rs). Built from a dev-profile binary
# with the assets built in, so no second release build: about a minute once the tests are built.
# The binary is copied at once: any later `cargo test` puts one without the assets at target/debug/.
PACKAGE_VERSION := $(shell awk '/^\[workspace.package\]/ { p = 1 } p && /^version/ { gsub(/"/, "", $$3); print $$3; exit }' Cargo.toml)
package-test: frontend
	@[ "$$(id -u)" -eq 0 ] || { echo "package-test: needs root (chroot and dpkg into a Debian root of its own)"; exit 1; }
	rm -rf target/package/test && mkdir -p target/package/test
	$(CARGO) build $(SSR) --features server/embed-assets --bin latchkey && \
	  cp target/debug/latchkey target/package/test/latchkey
	DEB_COMPRESSION=gzip DEB_LEVEL=1 .ci/package.sh target/package/test/latchkey target/package/test $(PACKAGE_VERSION)-1
	DEB_COMPRESSION=gzip DEB_LEVEL=1 .ci/package.sh target/package/test/latchkey target/package/test $(PACKAGE_VERSION)-2
	LATCHKEY_TEST_ROOT_TAR=$(CURDIR)/$$(.ci/package-root.sh) \
	  LATCHKEY_TEST_DEB=$(CURDIR)/target/package/test/latchkey_$(PACKAGE_VERSION)-1_$$(dpkg --print-architecture).deb \
	  LATCHKEY_TEST_DEB_NEXT=$(CURDIR)/target/package/test/latchkey_$(PACKAGE_VERSION)-2_$$(dpkg --print-architecture).deb \
	  $(CARGO) test $(SSR) --test package

# Fuzzing (not part of `make test`): phone numbers, codes and configuration, each for FUZZ_SECS
# seconds on nightly with sanitizers. A crash leaves its input in server/fuzz/artifacts/; turn it
# into a regular test beside the code it broke.
FUZZ_SECS ?= 60
fuzz:
	@command -v cargo-fuzz >/dev/null || $(CARGO) install cargo-fuzz --version 0.13.2 --locked
	cd server/fuzz && for target in phone code config; do \
	  $(CARGO) +nightly fuzz run $$target -- -max_total_time=$(FUZZ_SECS) || exit 1; \
	done

# The load benchmark (not part of `make test`): the release binary and site assets, a slapd of
# BENCH_PEOPLE people, the Twilio stand-in and DB (sqlite or postgres); whole sign-ins at each of
# BENCH_LEVELS concurrent virtual users for BENCH_SECS seconds, beside the directory floor.
# Prints a table; writes target/bench/bench-$(DB).json and .png. See docs/performance.md.
DB ?= sqlite
BENCH_SECS ?= 20
BENCH_LEVELS ?= 1,8,32,128
BENCH_PEOPLE ?= 1000
# BENCH_SOAK=N: N sign-ins at C = 8 under production-sized limits instead of the levels, with
# the CPU per sign-in of each tenth. BENCH_OLD=path: an older latchkey binary measured first in
# the same run, for new/old ratios.
BENCH_SOAK ?= 0
BENCH_OLD ?=
# Sign-ins counted under valgrind's callgrind for instructions per sign-in (0: none); this VM
# exposes no hardware counters to perf.
BENCH_INSTRUCTIONS ?= 100
# Non-empty: the directory over TLS (ldaps://, its certificate verified), as deployments reach it.
BENCH_DIRECTORY_TLS ?=
# The server and the load generator build with the `profiling` profile: release code with its
# symbols and line tables, for callgrind_annotate and perf (the release profile strips them).
bench: frontend
	@command -v valgrind >/dev/null || { echo "bench: installing valgrind (instructions per sign-in)"; \
	  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind; }
	$(CARGO) build --profile profiling -p server -p latchkey-bench --bin latchkey --bin latchkey-bench
	./target/profiling/latchkey-bench --db $(DB) --secs $(BENCH_SECS) --levels $(BENCH_LEVELS) \
	  --people $(BENCH_PEOPLE) --bin target/profiling/latchkey --site target/site --out target/bench \
	  --soak $(BENCH_SOAK) --instructions $(BENCH_INSTRUCTIONS) $(if $(BENCH_OLD),--old $(BENCH_OLD)) \
	  $(if $(BENCH_DIRECTORY_TLS),--directory-tls)
