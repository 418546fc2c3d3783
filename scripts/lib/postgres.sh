# Finds a PostgreSQL for the tests, or makes one: TEST_DATABASE_URL or DATABASE_URL when set and reachable,
# else 127.0.0.1:5432 (user postgres), else Debian's postgresql in a private throwaway cluster on a free port.
# Sourced by scripts/test; exports TEST_DATABASE_URL.

pg_reachable() {
  command -v psql >/dev/null 2>&1 && psql "$1" -Atqc 'select 1' >/dev/null 2>&1
}

ensure_postgres() {
  if ! command -v psql >/dev/null 2>&1; then apt_install postgresql-client; fi
  local candidate
  for candidate in "${TEST_DATABASE_URL:-}" "${DATABASE_URL:-}" "postgres://postgres@127.0.0.1:5432/postgres"; do
    case "$candidate" in postgres://*|postgresql://*) ;; *) continue ;; esac
    if pg_reachable "$candidate"; then
      export TEST_DATABASE_URL="$candidate"
      say "using PostgreSQL at ${candidate%%\?*}" | sed 's#://[^@]*@#://…@#'
      return
    fi
  done

  say "no PostgreSQL reachable: starting a private throwaway cluster"
  local bindir
  bindir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$bindir" ] || ! [ -x "$bindir/initdb" ]; then
    apt_install postgresql
    bindir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  local dir="$ROOT/target/pg-test" port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  local owner=postgres
  rm -rf "$dir" && mkdir -p "$dir"
  # initdb refuses to run as root: the cluster belongs to the postgres system user when we are root.
  if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; run_pg() { su postgres -s /bin/sh -c "$*"; }; else owner=$(id -un); run_pg() { sh -c "$*"; }; fi
  run_pg "'$bindir/initdb' -D '$dir/data' -U postgres --auth=trust -E UTF8 >'$dir/initdb.log'"
  run_pg "'$bindir/pg_ctl' -D '$dir/data' -l '$dir/server.log' -o \"-p $port -k '$dir' -c listen_addresses=127.0.0.1 -c fsync=off\" -w start >/dev/null"
  export TEST_DATABASE_URL="postgres://postgres@127.0.0.1:$port/postgres"
  trap "run_pg \"'$bindir/pg_ctl' -D '$dir/data' -m immediate stop\" >/dev/null 2>&1 || true" EXIT
  say "private PostgreSQL (owner $owner) on port $port; stopped when the tests end"
}
