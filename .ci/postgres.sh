#!/usr/bin/env bash
# Start a throw-away PostgreSQL on loopback for the test suite and print its
# URL. Installs the Debian package when it is missing. Idempotent.
#
#   export TOLLGATE_TEST_POSTGRES_URL=$(.ci/postgres.sh)
set -euo pipefail
PORT=${TOLLGATE_PG_PORT:-55432}
DIR=${TOLLGATE_PG_DIR:-/tmp/tollgate-pg}
URL="postgres://postgres@127.0.0.1:$PORT/postgres"

bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
if [ -z "$bin" ] || [ ! -x "$bin/initdb" ]; then
  echo "installing PostgreSQL from Debian packages..." >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq postgresql >&2
  bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n1)
fi

# initdb and postgres refuse to run as root: use the postgres account then.
as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

if "$bin/pg_isready" -h 127.0.0.1 -p "$PORT" -q 2>/dev/null; then
  echo "$URL"
  exit 0
fi
if [ ! -f "$DIR/PG_VERSION" ]; then
  rm -rf "$DIR"
  mkdir -p "$DIR"
  [ "$(id -u)" = 0 ] && chown postgres "$DIR"
  as_owner "$bin/initdb" -D "$DIR" -U postgres --auth=trust -E UTF8 >/dev/null
fi
as_owner "$bin/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w \
  -o "-p $PORT -h 127.0.0.1 -k $DIR -c fsync=off -c max_connections=400" start >&2
echo "$URL"
