#!/usr/bin/env bash
# Makes DIRECTORY a git repository of the FerretDB module source with one commit per patch of
# the series (tags base, 0001, 0002, ...), for reading, testing or editing the patches.
# After editing, regenerate a patch with `git diff <previous tag> <its tag>` (see README.md).
#   ferretdb-patches/source-tree.sh DIRECTORY
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
target="${1:?usage: source-tree.sh DIRECTORY}"
version="v1.24.2"
if [ -e "$target" ]; then
  echo "source-tree: $target exists" >&2
  exit 1
fi
module_dir="$(GOFLAGS=-mod=mod go mod download -json "github.com/FerretDB/FerretDB@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
mkdir -p "$target"
cp -r "$module_dir/." "$target/"
chmod -R u+w "$target"
cd "$target"
git init -q
git add -A
git -c user.name=ferretdb-patches -c user.email=ferretdb-patches@localhost commit -qm "FerretDB $version module source"
git tag base
mapfile -t patches < <(find "$here" -maxdepth 1 -name '[0-9][0-9][0-9][0-9]-*.patch' | LC_ALL=C sort)
for patch in "${patches[@]}"; do
  git apply "$patch"
  git add -A
  git -c user.name=ferretdb-patches -c user.email=ferretdb-patches@localhost commit -qm "$(basename "$patch")"
  git tag "$(basename "$patch" | cut -c1-4)"
done
# generated at build time (git-ignored by FerretDB's .gitignore)
echo "$version" > build/version/version.txt
echo "source-tree: $target ($(git tag | wc -l | tr -d ' ') tags)" >&2
