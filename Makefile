# `make demo` and `make test` do all the set-up on a fresh Debian 12 machine (as root) and are idempotent.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Debian packages the project needs. Each later capability adds its own here.
APT_PACKAGES := git make gcc libc6-dev ca-certificates tar gzip pigz zstd umoci busybox-static runc skopeo docker-registry podman
NODE_MAJOR_MIN := 20

STAMP_DEPS := node_modules/.tsbuild-deps
STAMP_BUILD := dist/.tsbuild-build
SOURCES := $(shell find core fsutil http oci patternmatcher content mount diff gc parser frontend llb solver snapshotter executor worker image runner engine daemon cli bench index.ts -name "*.ts" -o -name "*.ne" 2>/dev/null) scripts/bundle.mjs

.PHONY: help deps apt build demo test lint typecheck unit clean bench-parse bench-convert bench-layers bench-solver bench-peers compat peer-apt

help:
	@echo "make demo   install what is missing, build, and run the example"
	@echo "make test   install what is missing, build, then lint, typecheck and the whole test suite"

apt:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi
	@command -v node >/dev/null || { echo "node is missing: install Node.js $(NODE_MAJOR_MIN)+ (apt-get install nodejs npm)"; exit 1; }
	@node -e 'const m=+process.versions.node.split(".")[0]; if (m < $(NODE_MAJOR_MIN)) { console.error("Node.js $(NODE_MAJOR_MIN)+ is required, found " + process.version); process.exit(1) }'

$(STAMP_DEPS): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: apt $(STAMP_DEPS)

$(STAMP_BUILD): $(STAMP_DEPS) $(SOURCES) tsconfig.json tsconfig.build.json
	npm run --silent build
	@chmod +x dist/cli/main.js bin/tsbuild
	@touch $@

build: deps $(STAMP_BUILD)

TSBUILD := bin/tsbuild

demo: build
	@bash scripts/busybox-rootfs.sh build/busybox-rootfs >/dev/null
	@$(TSBUILD) image inspect busybox:latest >/dev/null 2>&1 || \
	  $(TSBUILD) image import --message "busybox from Debian's busybox-static" build/busybox-rootfs busybox:latest
	@echo "== tsbuild build -t hello examples/hello"
	@$(TSBUILD) build --progress plain -t hello examples/hello
	@echo "== tsbuild run --rm hello"
	@$(TSBUILD) run --rm hello
	@echo "== tsbuild image ls"
	@$(TSBUILD) image ls

lint: build
	npx eslint .
	npx prettier --check "**/*.{ts,js}" --log-level warn

typecheck: build
	npx tsc -p tsconfig.json

unit: build
	npx vitest run --reporter=default --reporter=json --outputFile.json=test-results.json

test: lint typecheck unit

clean:
	rm -rf dist node_modules test-results.json

bench-parse: build
	node --expose-gc dist/bench/parse.js

bench-convert: build
	node --expose-gc dist/bench/convert.js

bench-layers: build
	node dist/bench/layers.js

bench-solver: build
	node dist/bench/solver.js

# The peers (BuildKit inside dockerd, buildah, a local registry): only these targets need them.
PEER_PACKAGES := docker.io buildah podman skopeo docker-registry umoci busybox-static

peer-apt:
	@missing=""; for p in $(PEER_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

bench-peers: build peer-apt
	node dist/bench/peers/main.js

compat: build peer-apt
	node dist/bench/compat/main.js
