#!/usr/bin/env bash
# Builds every JavaScript/TypeScript test guest (tests/guests-js/*) and
# example (plugins/examples/*-ts, *-js) into OUT_DIR as <name>.wasm, <name>
# being the project's tollgate.json name. One `npm ci` of the pinned shared
# toolchain in plugins/js serves them all (skipped while its node_modules
# matches package-lock.json).
#
#   tests/guests-js/build.sh OUT_DIR
set -euo pipefail
out=${1:?usage: tests/guests-js/build.sh OUT_DIR}
root=$(cd "$(dirname "$0")/../.." && pwd)
toolchain=$root/plugins/js

if ! node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 6) ? 0 : 1)' 2>/dev/null; then
  echo "error: Node.js 20.6 or later (with npm) is needed to build the JavaScript plugins; found: $(node --version 2>/dev/null || echo none)" >&2
  exit 1
fi
if [ ! -f "$toolchain/node_modules/.package-lock.json" ] ||
   [ "$toolchain/package-lock.json" -nt "$toolchain/node_modules/.package-lock.json" ]; then
  (cd "$toolchain" && npm ci --no-audit --no-fund --loglevel=error)
fi

mkdir -p "$out"
export TOLLGATE_JS_TOOLCHAIN=$toolchain
for project in "$root"/tests/guests-js/*/ "$root"/plugins/examples/*-ts/ "$root"/plugins/examples/*-js/; do
  name=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1])).name)' "$project/tollgate.json")
  node "$root/plugins/sdk-js/tools/cli.mjs" build "$project" --out "$out/$name.wasm"
done
