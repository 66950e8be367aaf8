#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for tests: a fresh cluster in a temp folder, listening on loopback only
# (127.0.0.1, a free port, trust authentication: nothing but this machine can reach it), with a
# database `collateral_test`. Used by .ci/run and by developers.
#
#   eval "$(scripts/test-postgres.sh start)"   # exports TEST_DATABASE_URL and PG_TEST_DIR
#   ... run the tests ...
#   scripts/test-postgres.sh stop "$PG_TEST_DIR" # stops the cluster and deletes its folder
#
#   scripts/test-postgres.sh run -- <command...> # start, run the command with TEST_DATABASE_URL, stop
#
# Finds initdb/pg_ctl in /usr/lib/postgresql/<newest>/bin, else on PATH (Debian: apt-get install postgresql).
# PostgreSQL refuses to run as root: as root, the cluster is owned by and runs as the `postgres` user.
set -euo pipefail

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ]; then
    echo "$dir"
  elif command -v initdb >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  else
    echo "test-postgres: no initdb found; install PostgreSQL (Debian: apt-get install -y postgresql)" >&2
    exit 1
  fi
}

free_port() {
  node -e "const s=require('node:net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# Runs a command as the cluster's owner (postgres when we are root).
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start() {
  local bin dir port log
  bin=$(pg_bin)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/collateral-pg.XXXXXX")
  port=$(free_port)
  log="$dir/postgres.log"
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "test-postgres: running as root needs a 'postgres' user (the Debian package creates it)" >&2; exit 1; }
    chown postgres "$dir"
  fi
  as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --no-locale >"$dir/initdb.log" 2>&1 || {
    cat "$dir/initdb.log" >&2
    exit 1
  }
  # Loopback only, sockets in the temp folder (not /var/run), fsync on (the durability we test).
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200 -c fsync=on" start >&2 || {
    cat "$log" >&2
    exit 1
  }
  as_owner "$bin/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -qc 'CREATE DATABASE collateral_test' >&2
  echo "export PG_TEST_DIR='$dir'"
  echo "export TEST_DATABASE_URL='postgres://postgres@127.0.0.1:$port/collateral_test'"
  echo "test-postgres: cluster in $dir on 127.0.0.1:$port" >&2
}

stop() {
  local dir=${1:-${PG_TEST_DIR:-}}
  [ -n "$dir" ] && [ -d "$dir/data" ] || { echo "test-postgres: no cluster folder given" >&2; return 0; }
  as_owner "$(pg_bin)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  run)
    shift
    [ "${1:-}" = "--" ] && shift
    eval "$(start)"
    trap 'stop "$PG_TEST_DIR"' EXIT
    "$@"
    ;;
  *)
    echo "usage: $0 start | stop <dir> | run -- <command...>" >&2
    exit 2
    ;;
esac
