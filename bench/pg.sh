# bench/pg.sh — sourced by bench/load.sh and bench/propagation.sh: a throwaway PostgreSQL
# server in the run's temp dir, on loopback, started the way the tests start theirs
# (testkit/postgres.rs). PostgreSQL refuses to run as root, so as nobody then. Default
# settings, fsync on: durable writes are part of what is measured. PG_EXTRA adds server
# options for an experiment (e.g. PG_EXTRA="-c synchronous_commit=off"); figures for
# BENCHMARKS.md are taken without it.
#
# Needs WORK (the temp dir), PG_PORT and die(); sets PG_URL.

PG_DATA="$WORK/pg"
PG_BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)

as_pg() {
  if [[ $(id -u) -eq 0 ]]; then setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$@"; else "$@"; fi
}

stop_postgres() {
  [[ -f "$PG_DATA/postmaster.pid" ]] || return 0
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w stop >/dev/null 2>&1 || true
}

start_postgres() {
  [[ -n "$PG_BIN" ]] || die "the PostgreSQL store needs Debian's postgresql package (initdb, pg_ctl)"
  echo "starting PostgreSQL ($("$PG_BIN/postgres" --version)) on 127.0.0.1:$PG_PORT" >&2
  mkdir -p "$PG_DATA"
  [[ $(id -u) -ne 0 ]] || chown nobody:nogroup "$PG_DATA" "$WORK"
  local password
  password="bench-db-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  printf '%s\n' "$password" >"$WORK/pgpass" && chmod 0644 "$WORK/pgpass"
  as_pg "$PG_BIN/initdb" -D "$PG_DATA" -U tessera --pwfile="$WORK/pgpass" -A scram-sha-256 \
    >"$WORK/initdb.log" 2>&1 || die "initdb failed; see $WORK/initdb.log"
  rm -f "$WORK/pgpass"
  as_pg "$PG_BIN/pg_ctl" -D "$PG_DATA" -l "$PG_DATA/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories=$PG_DATA -c max_connections=200 ${PG_EXTRA:-}" \
    start >/dev/null || die "PostgreSQL did not start; see $PG_DATA/server.log"
  PGPASSWORD="$password" "$PG_BIN/psql" -q -h 127.0.0.1 -p "$PG_PORT" -U tessera -d postgres \
    -c "CREATE DATABASE tessera" || die "creating the database failed"
  PG_URL="postgres://tessera:$password@127.0.0.1:$PG_PORT/tessera"
}
