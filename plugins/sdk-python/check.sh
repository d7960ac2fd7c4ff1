#!/usr/bin/env bash
# The Python SDK's native checks for CI: the SDK's tests, which also run the
# examples' tests and the tests of freshly rendered templates. The pinned
# toolchain goes into .venv here (or $TOLLGATE_PY_VENV).
set -euo pipefail
cd "$(dirname "$0")"
venv=${TOLLGATE_PY_VENV:-.venv}
[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --require-hashes -r requirements.txt
"$venv/bin/python" -m pytest -q
