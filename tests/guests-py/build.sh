#!/usr/bin/env bash
# Builds every Python test guest (tests/guests-py/*) and Python example
# (plugins/examples/*-py) into OUT_DIR/<name>.wasm, for the host's tests.
#
#   tests/guests-py/build.sh OUT_DIR
#
# One virtualenv (OUT_DIR/.venv, or $TOLLGATE_PY_VENV) serves every build,
# and a component whose inputs (its project, the SDK, the contract) did not
# change since the last run is not rebuilt, so repeated runs are fast.
set -euo pipefail
if [ $# -ne 1 ]; then
  echo "usage: $0 OUT_DIR" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
venv=${TOLLGATE_PY_VENV:-$out/.venv}
sdk="$root/plugins/sdk-python"

# The SDK and the contract are inputs of every component.
sdk_digest=$(cd "$sdk" && find -L . wit -type f \( -name '*.py' -o -name '*.wit' -o -name '*.txt' \) \
  -not -path './tests/*' -not -path '*/__pycache__/*' -not -path './.venv/*' | LC_ALL=C sort | xargs sha256sum | sha256sum)

for project in "$root"/tests/guests-py/*/ "$root"/plugins/examples/*-py/; do
  project=${project%/}
  name=$(basename "$project")
  digest=$( (echo "$sdk_digest"; cd "$project" && find . -type f \( -name '*.py' -o -name '*.json' -o -name '*.txt' \) \
    -not -path './.venv/*' -not -path './dist/*' -not -path '*/__pycache__/*' -not -path './fixtures/*' \
    | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1)
  if [ -f "$out/$name.wasm" ] && [ "$(cat "$out/$name.sha256" 2>/dev/null)" = "$digest" ]; then
    continue
  fi
  echo "building $name" >&2
  built=$(python3 "$sdk/build.py" "$project" --venv "$venv")
  cp "$built" "$out/$name.wasm"
  echo "$digest" > "$out/$name.sha256"
done
ls "$out"/*.wasm
