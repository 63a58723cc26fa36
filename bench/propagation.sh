#!/usr/bin/env bash
# bench/propagation.sh — revocation propagation across a cluster (issue 14, BENCHMARKS.md):
# NODES tessera nodes (3) on one throwaway PostgreSQL database on this machine, and ROUNDS (1000)
# logouts through one node, each timed until every other node answers that the session's
# claims token is inactive (bench/propagation.py). Prints p50, p99 and max; fails if a round
# took more than the 1 s that SPEC §11 allows.
#
#   bench/propagation.sh
#   ROUNDS=200 NODES=2 bench/propagation.sh
set -euo pipefail

ROUNDS=${ROUNDS:-1000}
NODES=${NODES:-3}
PG_PORT=${PG_PORT:-15433}
BASE_PORT=${BASE_PORT:-18180}
KEEP=${KEEP:-0}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
die() { printf 'bench/propagation.sh: %s\n' "$*" >&2; exit 1; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/tessera-propagation.XXXXXX")
PIDS=()
cleanup() {
  local status=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  declare -F stop_postgres >/dev/null && stop_postgres
  if [[ "$KEEP" == 1 ]]; then echo "kept $WORK" >&2; else rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building (cargo build --release --bin tessera)" >&2
cargo build --release --quiet --bin tessera
mkdir -p "$WORK/bin" && cp target/release/tessera "$WORK/bin/tessera"

# shellcheck source=bench/pg.sh
source "$ROOT/bench/pg.sh"
start_postgres

ADMIN_PASSWORD="bench-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
USER_PASSWORD="bench-password-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
# Every node shares the master key (SPEC §11).
TESSERA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 -w0)
unset TESSERA_CONFIG TESSERA_DATA_DIR TESSERA_BIND TESSERA_ADMIN_BIND RUST_LOG
export TESSERA_MASTER_KEY TESSERA_ADMIN_PASSWORD="$ADMIN_PASSWORD"

NODE_ARGS=()
for i in $(seq 0 $((NODES - 1))); do
  pub=$((BASE_PORT + 2 * i)) adm=$((BASE_PORT + 2 * i + 1))
  mkdir -p "$WORK/node$i"
  cat >"$WORK/node$i/tessera.toml" <<CONF
[server]
bind = "127.0.0.1:$pub"
admin_bind = "127.0.0.1:$adm"
data_dir = "$WORK/node$i/data"

[store]
backend = "postgres"
url = "$PG_URL"
CONF
  "$WORK/bin/tessera" serve --config "$WORK/node$i/tessera.toml" >"$WORK/node$i/server.log" 2>&1 &
  PIDS+=($!)
  NODE_ARGS+=("http://127.0.0.1:$pub,http://127.0.0.1:$adm")
done
for i in $(seq 0 $((NODES - 1))); do
  pub=$((BASE_PORT + 2 * i))
  for _ in $(seq 300); do
    curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$pub/health" && break
    sleep 0.1
  done
  curl -sf -o /dev/null --max-time 1 "http://127.0.0.1:$pub/health" ||
    die "node $i did not start; see $WORK/node$i/server.log"
done
curl -sS --fail-with-body --max-time 30 -o /dev/null -u "admin:$ADMIN_PASSWORD" \
  -H 'Content-Type: application/json' -X POST "http://127.0.0.1:$((BASE_PORT + 1))/api/v1/users" \
  -d "{\"userid\": \"bench\", \"password\": \"$USER_PASSWORD\"}" || die "creating the user failed"

echo "$NODES nodes on $("$PG_BIN/postgres" --version); $ROUNDS logouts; nproc $(nproc); load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
python3 "$ROOT/bench/propagation.py" "$ROUNDS" "$ADMIN_PASSWORD" bench "$USER_PASSWORD" "${NODE_ARGS[@]}"
