#!/usr/bin/env bash
# Writes content/Cargo.lock of every Rust template (plugins/templates/<hook>),
# resolved from the guest workspace's plugins/Cargo.lock so a new plugin
# builds with the same pinned versions as the examples. Run after a change
# of plugins/Cargo.lock or of a template's dependencies. The test
# template test checks a build keeps every locked version.
#
#   plugins/templates/lock.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
placeholder=tollgate-template-lock
for template in "$root"/plugins/templates/*/content/Cargo.toml; do
  content=$(dirname "$template")
  work=$(mktemp -d)
  sed "s/{{name}}/$placeholder/g" "$template" > "$work/Cargo.toml"
  mkdir -p "$work/src" "$work/tollgate-sdk"
  touch "$work/src/lib.rs"
  cp "$root/plugins/templates/sdk/Cargo.toml" "$work/tollgate-sdk/Cargo.toml"
  cp -r "$root/plugins/sdk/src" "$work/tollgate-sdk/src"
  cp "$root/plugins/Cargo.lock" "$work/Cargo.lock"
  (cd "$work" && cargo metadata --offline --format-version 1 > /dev/null)
  sed "s/\"$placeholder\"/\"{{name}}\"/" "$work/Cargo.lock" > "$content/Cargo.lock"
  rm -rf "$work"
  echo "$(basename "$(dirname "$content")"): Cargo.lock written"
done
