#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the PostgreSQL store tests, shared by .ci/run and developers:
#
#   eval "$(scripts/test-postgres.sh start)"   # initdb + start (idempotent); prints the export line
#   swift test                                  # the PostgreSQL suites run when BONSAI_TEST_POSTGRES_URL is set
#   scripts/test-postgres.sh stop               # stop and delete the cluster
#   scripts/test-postgres.sh env                # print the export line again
#
# The cluster lives in $BONSAI_PG_DIR (default /tmp/bonsai-test-pg), listens on 127.0.0.1 and a Unix
# socket in that folder at port $BONSAI_PG_PORT (default 5433), trusts local connections, and runs
# with fsync off (test data is disposable). initdb refuses to run as root, so as root the cluster
# belongs to the `postgres` user (created by Debian's postgresql package). Tests create one scratch
# database per test in it.
set -euo pipefail
dir=${BONSAI_PG_DIR:-/tmp/bonsai-test-pg}
port=${BONSAI_PG_PORT:-5433}
url="postgres://postgres@127.0.0.1:$port/bonsai_test"

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
  if [ -x "$d/initdb" ]; then bindir=$d; break; fi
done

as_owner() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    [ -n "$bindir" ] || { echo "test-postgres.sh: no PostgreSQL server binaries in /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2; exit 1; }
    if [ ! -f "$dir/data/PG_VERSION" ]; then
      mkdir -p "$dir"
      [ "$(id -u)" = 0 ] && chown postgres:postgres "$dir"
      as_owner "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-locale >"$dir/initdb.log" 2>&1 ||
        { cat "$dir/initdb.log" >&2; exit 1; }
    fi
    if ! as_owner "$bindir/pg_ctl" -D "$dir/data" status >/dev/null 2>&1; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" >&2 ||
        { cat "$dir/server.log" >&2; exit 1; }
    fi
    if ! "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = 'bonsai_test'" | grep -q 1; then
      "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres bonsai_test
    fi
    echo "export BONSAI_TEST_POSTGRES_URL=$url"
    ;;
  stop)
    if [ -n "$bindir" ] && [ -f "$dir/data/PG_VERSION" ]; then
      as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
  env)
    echo "export BONSAI_TEST_POSTGRES_URL=$url"
    ;;
  *)
    echo "usage: $0 start|stop|env" >&2
    exit 2
    ;;
esac
