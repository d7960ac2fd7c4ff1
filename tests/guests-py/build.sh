#!/usr/bin/env bash
# Builds every Python component the host's tests use into OUT_DIR:
#   <guest>.wasm            each test guest of tests/guests-py/
#   <example>.wasm          each Python example (plugins/examples/*-py)
#   template-<hook>.wasm    each Python template, rendered as `tollgate plugin
#                           new --lang python` does (its fixtures are in
#                           plugins/templates/python/<hook>/content/fixtures)
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

# The sources under a directory, as one digest.
digest_of() {
  (cd "$1" && find -L . -type f \( -name '*.py' -o -name '*.wit' -o -name '*.txt' -o -name '*.json' \) \
    -not -path './tests/*' -not -path './fixtures/*' -not -path './dist/*' -not -path '*/.venv/*' \
    -not -path '*/__pycache__/*' | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -d' ' -f1
}
sdk_digest=$(digest_of "$sdk")

# build NAME PROJECT_DIR SOURCE_DIR: PROJECT_DIR's component as OUT_DIR/NAME.wasm
# unless SOURCE_DIR and the SDK are unchanged since it was built.
build() {
  local digest
  digest="$sdk_digest $(digest_of "$3")"
  if [ -f "$out/$1.wasm" ] && [ "$(cat "$out/$1.sha256" 2>/dev/null)" = "$digest" ]; then
    return
  fi
  echo "building $1" >&2
  cp "$(python3 "$sdk/build.py" "$2" --venv "$venv")" "$out/$1.wasm"
  echo "$digest" > "$out/$1.sha256"
}

for project in "$root"/tests/guests-py/*/ "$root"/plugins/examples/*-py/; do
  project=${project%/}
  build "$(basename "$project")" "$project" "$project"
done
for template in "$root"/plugins/templates/python/*/; do
  hook=$(basename "$template")
  rm -rf "$out/templates/$hook"
  python3 "$root/plugins/templates/python/render.py" "$hook" "template-$hook" "$out/templates/$hook"
  build "template-$hook" "$out/templates/$hook" "$template"
done
ls "$out"/*.wasm
