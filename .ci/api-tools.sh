#!/usr/bin/env bash
# The Python tools of the API contract tests (tests/e2e/contract.rs), pinned
# in tests/contract/requirements.txt, in a venv under target/ (reused while
# the pins are unchanged). Prints the venv's path.
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TOLLGATE_API_TOOLS:-$PWD/target/api-tools}"
stamp="$venv/.requirements"
if [ ! -x "$venv/bin/python" ] || ! cmp -s tests/contract/requirements.txt "$stamp"; then
  python3 -m venv "$venv" >&2
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/contract/requirements.txt >&2
  cp tests/contract/requirements.txt "$stamp"
fi
echo "$venv"
