#!/usr/bin/env bash
# Regenerates tollgate_plugin/_bindings from the contract (wit/plugin.wit) with
# componentize-py's own generator: the classes the SDK uses natively are the
# ones componentize-py generates inside a component, never written by hand.
# Usage: generate-bindings.sh [COMPONENTIZE_PY]   (default: componentize-py on PATH)
set -euo pipefail
cd "$(dirname "$0")"
tool=${1:-componentize-py}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$tool" -d wit -w precheck -w quantity-limits -w resources bindings "$out/gen" >/dev/null
dest=tollgate_plugin/_bindings
rm -rf "$dest"
mkdir -p "$dest/wit_world/imports"
cp "$out/gen/componentize_py_types.py" "$dest/"
for f in __init__.py imports/__init__.py imports/types.py imports/host.py; do
  cp "$out/gen/wit_world/$f" "$dest/wit_world/$f"
done
