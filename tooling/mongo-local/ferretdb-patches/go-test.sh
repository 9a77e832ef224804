#!/usr/bin/env bash
# Runs the Go tests of the patch series (key encoding against FerretDB's comparison order, the
# SQL key expression on stored documents) and the SQLite backend's own tests on the patched
# source. Not part of CI (it compiles FerretDB's tests: a few minutes on two cores).
#   ferretdb-patches/go-test.sh [go test flags]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$here/source-tree.sh" "$work/src"
cd "$work/src"
GOFLAGS=-mod=mod go test -buildvcs=false "$@" \
  ./internal/backends/sqlite/... ./internal/handler/sjson/... ./internal/types/... ./internal/util/fsql/... ./internal/handler/ ./internal/handler/common/
