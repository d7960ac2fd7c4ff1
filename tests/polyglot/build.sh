#!/usr/bin/env bash
# Build the JavaScript and Python probe components with pinned toolchains
# from npm and PyPI (never `--aot`: it downloads weval), into $OUT
# (default /tmp/tollgate-polyglot). Then:
#   TOLLGATE_POLYGLOT=$OUT cargo test --release -p tollgate --test runtime -- --ignored
#   cargo run --release -p tollgate --example measure_plugin -- $OUT/precheck-py.wasm FIXTURE.json
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
wit="$here/../../wit/v2"
out="${OUT:-/tmp/tollgate-polyglot}"
mkdir -p "$out/js" "$out/py"

# componentize-js 0.23.0 (SpiderMonkey via StarlingMonkey); no HTTP.
cp "$here/js/precheck.js" "$out/js/"
(cd "$out/js" && [ -f package.json ] || npm init -y >/dev/null)
(cd "$out/js" && npm install --no-audit --no-fund --save-exact @bytecodealliance/componentize-js@0.23.0 >/dev/null)
(cd "$out/js" && npx componentize-js precheck.js --wit "$wit" --world-name precheck \
    -d http -d fetch-event -o "$out/precheck-js.wasm")

# componentize-py 0.25.1 (CPython).
[ -x "$out/py/venv/bin/componentize-py" ] || {
    python3 -m venv "$out/py/venv"
    "$out/py/venv/bin/pip" install --quiet componentize-py==0.25.1
}
cp "$here/py/app.py" "$out/py/"
(cd "$out/py" && rm -rf bindings && venv/bin/componentize-py -d "$wit" -w precheck bindings bindings \
    && venv/bin/componentize-py -d "$wit" -w precheck componentize -p . -p bindings app \
       -o "$out/precheck-py.wasm")
ls -l "$out"/*.wasm
