#!/usr/bin/env bash
# bench/load.sh — the load harness of issue 6 (BENCHMARKS.md explains every figure).
#
# Builds the release binary, starts tessera on loopback with a bench config in a temp dir
# (default argon2id cost), seeds through the admin API a user, an OAuth client, an app with an
# API key, a claims token and refresh tokens, then measures requests/s with p50/p99 at
# $CONNECTIONS connections for $DURATION seconds each with wrk, and prints a table of every
# figure with its ratio to its baseline: GET /health (the ceiling of the HTTP stack, measured in
# the same run) for the HTTP routes, and the raw argon2id verify rate on all cores for login.
# Also: idle RSS and RSS under load, start-to-healthy time, a login flood, and (SCALE=1) the
# same on a store with 100,000 users, 1,000,000 refresh tokens and 1,000,000 API keys.
#
#   bench/load.sh                     # about 3 minutes plus the build
#   DURATION=5 bench/load.sh          # shorter runs
#   SCALE=1 bench/load.sh             # adds the large-store phase (several more minutes)
#   KEEP=1 bench/load.sh              # keep the temp dir (server log, wrk output)
#   PROFILE="introspect" bench/load.sh   # perf profile of the named scenarios
#   BACKEND=postgres bench/load.sh    # the same on PostgreSQL (a throwaway server of its own,
#                                     # on this machine, started like the tests start theirs)
#   NODES=3 BACKEND=postgres bench/load.sh   # 3 nodes on that one database (issue 14)
#
# NODES=N (PostgreSQL only) starts N nodes of the same binary on the one database, node i on
# PUBLIC_PORT+2(i-1) / ADMIN_PORT+2(i-1) with a data_dir of its own and otherwise the same
# config (the admin password, external_url_base, and a TESSERA_MASTER_KEY made for the run,
# since the signing keys they share through the database are sealed with it). Seeding and
# minting go through node 1. Each figure runs one wrk -t1 per node at once, CONNECTIONS split
# between them, each refresh chain with its own disjoint share of the tokens; req/s and
# non-2xx are summed, p50/p99 are the worst node's, and per-node req/s are listed under the
# table. Start-up times, RSS and PROFILE are node 1's; the login flood runs against node 1
# only, the others idle.
#
# Traffic goes to 127.0.0.1 only. Every wait is bounded; the servers it started (only their
# pids) and PostgreSQL are stopped and the temp dir removed on any exit.
set -euo pipefail

DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-32}
THREADS=${THREADS:-2}
FLOOD_CONNECTIONS=${FLOOD_CONNECTIONS:-128}
PUBLIC_PORT=${PUBLIC_PORT:-18080}
ADMIN_PORT=${ADMIN_PORT:-18081}
SCALE=${SCALE:-0}
SCALE_USERS=${SCALE_USERS:-100000}
SCALE_SESSIONS=${SCALE_SESSIONS:-100000}
SCALE_TOKENS_PER_SESSION=${SCALE_TOKENS_PER_SESSION:-10}
SCALE_KEYS=${SCALE_KEYS:-1000000}
KEEP=${KEEP:-0}
PROFILE=${PROFILE:-}
BACKEND=${BACKEND:-sled}
PG_PORT=${PG_PORT:-15432}
NODES=${NODES:-1}
[[ "$BACKEND" == sled || "$BACKEND" == postgres ]] || { echo "BACKEND is sled or postgres" >&2; exit 1; }
[[ "$BACKEND" == sled || "$SCALE" == 0 ]] || { echo "SCALE=1 seeds a sled store: BACKEND=sled only" >&2; exit 1; }
[[ "$NODES" =~ ^[1-9][0-9]*$ ]] || { echo "NODES is a number of nodes, 1 or more" >&2; exit 1; }
if ((NODES > 1)); then
  [[ "$BACKEND" == postgres ]] ||
    { echo "NODES=$NODES needs BACKEND=postgres: the nodes share one database, and a sled store belongs to one process" >&2; exit 1; }
  # Each node pools up to 32 connections (max_connections below); bench/pg.sh allows 200.
  ((NODES * 32 <= 190)) || { echo "NODES=$NODES: at most 5 nodes (32 PostgreSQL connections each, 200 in all)" >&2; exit 1; }
  ((CONNECTIONS >= NODES)) || { echo "NODES=$NODES needs CONNECTIONS >= NODES (one wrk per node)" >&2; exit 1; }
fi
# The mixed workload, by weight: mostly verification, some issuance, rare logins.
MIX=${MIX:-check_api_key:30,introspect:25,check_claims:20,client_credentials:10,refresh:10,health:5,login:0.1}
export MIX

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
PUB="http://127.0.0.1:$PUBLIC_PORT"
ADM="http://127.0.0.1:$ADMIN_PORT"
# Node i (1-based; node 1 is $PUB/$ADM): its public and admin ports.
NODE_PUBLIC_PORT=() NODE_ADMIN_PORT=()
for i in $(seq "$NODES"); do
  NODE_PUBLIC_PORT[i]=$((PUBLIC_PORT + 2 * (i - 1)))
  NODE_ADMIN_PORT[i]=$((ADMIN_PORT + 2 * (i - 1)))
done
if ((NODES > 1)); then
  PORTS="${NODE_PUBLIC_PORT[*]} ${NODE_ADMIN_PORT[*]} $PG_PORT"
  [[ $(tr ' ' '\n' <<<"$PORTS" | sort | uniq -d) == "" ]] ||
    { echo "NODES=$NODES: the node ports ($PORTS, the last PG_PORT) overlap; choose PUBLIC_PORT / ADMIN_PORT further apart" >&2; exit 1; }
fi
WRK_LUA="$ROOT/bench/wrk.lua"
BIN=""  # set after the build: the copied release binary

log() { printf '\n== %s\n' "$*" >&2; }
die() { printf 'bench/load.sh: %s\n' "$*" >&2; exit 1; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# --- tools -----------------------------------------------------------------------------------
# wrk (Debian package): C, one epoll loop per thread, so it takes little of the two cores the
# server also needs; its Lua hooks chain refresh tokens and report p50/p99 (BENCHMARKS.md).
install_missing() {
  local missing=()
  command -v wrk >/dev/null || missing+=(wrk)
  command -v jq >/dev/null || missing+=(jq)
  command -v curl >/dev/null || missing+=(curl)
  if ((${#missing[@]})); then
    log "installing ${missing[*]}"
    local sudo=""
    [[ $(id -u) -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}
install_missing

# --- clean-up --------------------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tessera-bench.XXXXXX")
SERVER_PID=""
BACKGROUND=()

is_our_server() {
  [[ -n "$1" ]] && tr '\0' ' ' 2>/dev/null <"/proc/$1/cmdline" | grep -q "$BIN"
}

stop_server() {
  local pid=$SERVER_PID
  SERVER_PID=""
  is_our_server "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do
    is_our_server "$pid" || return 0
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
}

# NODES>1: nodes 2..N, and the wrk runs against them in flight. Stopped like the server: only
# these pids, each checked against its command line, SIGTERM and then SIGKILL after 10 s.
NODE_PIDS=()
WRK_PIDS=()
stop_nodes() {
  local pids=("${NODE_PIDS[@]}") pid live
  NODE_PIDS=()
  for pid in "${pids[@]}"; do
    if is_our_server "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  for _ in $(seq 100); do
    live=""
    for pid in "${pids[@]}"; do if is_our_server "$pid"; then live=1; fi; done
    [[ -n "$live" ]] || return 0
    sleep 0.1
  done
  for pid in "${pids[@]}"; do
    if is_our_server "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
}

cleanup() {
  local status=$?
  for pid in "${BACKGROUND[@]}" "${WRK_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_server
  stop_nodes
  [[ "$BACKEND" == sled ]] || ! declare -F stop_postgres >/dev/null || stop_postgres
  if [[ "$KEEP" == 1 ]]; then
    echo "kept $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build -----------------------------------------------------------------------------------
# Built once and copied: the run never calls cargo again, so a rebuild of target/ by anyone
# else meanwhile cannot change the binary under test or stall the run.
log "building (cargo build --release, with the argon2_rate and seed_store helpers)"
# One cargo call, release profile: the helpers share the server's compiled library.
mkdir -p "$WORK/bin"
cargo build --release --quiet --bin tessera --bench argon2_rate --bench seed_store \
  --message-format=json >"$WORK/build.json" || die "the release build failed"
jq -r 'select(.reason == "compiler-artifact" and .executable != null) |
       "\(.target.name) \(.executable)"' "$WORK/build.json" |
  while read -r name path; do cp "$path" "$WORK/bin/$name"; done
BIN="$WORK/bin/tessera"
for exe in tessera argon2_rate seed_store; do
  [[ -x "$WORK/bin/$exe" ]] || die "the build did not produce $exe"
done

for port in "${NODE_PUBLIC_PORT[@]}" "${NODE_ADMIN_PORT[@]}"; do
  if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$port/"; then
    die "something already answers on 127.0.0.1:$port (set PUBLIC_PORT / ADMIN_PORT)"
  fi
done

# --- PostgreSQL (BACKEND=postgres) -------------------------------------------------------------
# shellcheck source=bench/pg.sh
source "$ROOT/bench/pg.sh"
[[ "$BACKEND" == sled ]] || start_postgres

# --- the bench config ------------------------------------------------------------------------
ADMIN_PASSWORD="bench-admin-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
BENCH_USER=bench
BENCH_PASSWORD="bench-password-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export BENCH_USER BENCH_PASSWORD
# write_config FILE PUBLIC_PORT ADMIN_PORT DATA_DIR: every node's config is this one.
write_config() {
  cat >"$1" <<EOF
# bench/load.sh: loopback ports, a temp data dir, default argon2id cost.
[server]
bind = "127.0.0.1:$2"
admin_bind = "127.0.0.1:$3"
external_url_base = "$PUB"
data_dir = "$4"

[tokens]
# The seeded claims token must outlive the run (SCALE=1 takes a while).
claims_ttl_seconds = 86400
EOF
  if [[ "$BACKEND" == postgres ]]; then
    cat >>"$1" <<EOF

[store]
backend = "postgres"
url = "$PG_URL"
max_connections = 32
EOF
  fi
}
write_config "$WORK/tessera.toml" "$PUBLIC_PORT" "$ADMIN_PORT" "$WORK/data"
for i in $(seq 2 "$NODES"); do
  mkdir -p "$WORK/node$i"
  write_config "$WORK/node$i/tessera.toml" "${NODE_PUBLIC_PORT[i]}" "${NODE_ADMIN_PORT[i]}" "$WORK/node$i/data"
done
# Only the config above and the admin password: nothing from the caller's environment.
unset TESSERA_CONFIG TESSERA_DATA_DIR TESSERA_BIND TESSERA_ADMIN_BIND TESSERA_MASTER_KEY RUST_LOG
export TESSERA_ADMIN_PASSWORD="$ADMIN_PASSWORD"
if ((NODES > 1)); then
  # The nodes share the signing keys through the database, sealed with the master key: one
  # key for every node (SPEC §11), made for this run, as bench/propagation.sh does.
  TESSERA_MASTER_KEY=$(head -c 32 /dev/urandom | base64 -w0)
  export TESSERA_MASTER_KEY
fi

# Starts the server; sets SERVER_PID and START_MS (exec to the first 200 from /health).
start_server() {
  local out
  if command -v python3 >/dev/null; then
    out=$(python3 "$ROOT/bench/start_to_healthy.py" 127.0.0.1 "$PUBLIC_PORT" "$WORK/server.log" 60 \
      -- "$BIN" serve --config "$WORK/tessera.toml") || die "the server did not start; see $WORK/server.log"
    SERVER_PID=${out%% *}
    START_MS=${out##* }
  else
    # Coarser (each probe forks curl), but bounded the same way.
    local t0 t1
    t0=$(date +%s%N)
    "$BIN" serve --config "$WORK/tessera.toml" >>"$WORK/server.log" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 6000); do
      curl -sf -o /dev/null --max-time 0.5 "$PUB/health" && break
      sleep 0.01
    done
    curl -sf -o /dev/null --max-time 1 "$PUB/health" || die "the server did not start; see $WORK/server.log"
    t1=$(date +%s%N)
    START_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", (b - a) / 1e6 }')
  fi
}

rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SERVER_PID/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

# Samples the server's RSS every 0.2 s into $WORK/rss-$1 until stop_rss.
RSS_SAMPLER=""
start_rss() {
  local file="$WORK/rss-$1" pid=$SERVER_PID
  : >"$file"
  (while [[ -e "/proc/$pid/status" ]]; do
    awk '/^VmRSS:/ { print $2 }' "/proc/$pid/status" >>"$file" 2>/dev/null || true
    sleep 0.2
  done) &
  RSS_SAMPLER=$!
  BACKGROUND+=("$RSS_SAMPLER")
}
stop_rss() {
  kill "$RSS_SAMPLER" 2>/dev/null || true
  wait "$RSS_SAMPLER" 2>/dev/null || true
  sort -n "$WORK/rss-$1" | tail -1
}

admin() { # METHOD PATH [JSON]
  local args=(-sS --fail-with-body --max-time 30 -u "admin:$ADMIN_PASSWORD" -X "$1" "$ADM$2")
  [[ $# -ge 3 ]] && args+=(-H 'Content-Type: application/json' -d "$3")
  curl "${args[@]}"
}

login_json() { jq -nc --arg u "$BENCH_USER" --arg p "$BENCH_PASSWORD" '{userid: $u, password: $p}'; }
login() { curl -sS --fail-with-body --max-time 30 -X POST "$PUB/login" -H 'Content-Type: application/json' -d "$(login_json)"; }

# N refresh tokens, each the start of its own session (N logins, two at a time).
mint_refresh_tokens() { # N FILE
  local body
  body=$(login_json)
  seq "$1" | xargs -P 2 -I{} curl -sS --max-time 30 -X POST "$PUB/login" \
    -H 'Content-Type: application/json' -d "$body" | jq -r '.refresh_token // empty' >"$2" || true
  [[ $(wc -l <"$2") -eq $1 ]] || die "minted $(wc -l <"$2") of $1 refresh tokens"
}

# NODES>1: node I's share of TOTAL connections, as even as it goes (the first nodes get one
# more), so the nodes' wrk runs add up to TOTAL.
node_share() { # TOTAL I
  echo $(($1 / NODES + ($2 <= $1 % NODES ? 1 : 0)))
}
# Node I's own refresh tokens: FILE-nodeI.txt, from split_tokens.
node_tokens() { # FILE I
  echo "${1%.txt}-node$2.txt"
}
# "11+11+10": the connections of each node's wrk.
node_split() {
  local i parts=()
  for i in $(seq "$NODES"); do parts+=("$(node_share "$CONNECTIONS" "$i")"); done
  (IFS=+; echo "${parts[*]}")
}
# Deals FILE out into disjoint node files, each its wrk's connections + 1 (see CHAINS below).
split_tokens() { # FILE
  local i n first=1
  for i in $(seq "$NODES"); do
    n=$(($(node_share "$CONNECTIONS" "$i") + 1))
    sed -n "${first},$((first + n - 1))p" "$1" >"$(node_tokens "$1" "$i")"
    [[ $(wc -l <"$(node_tokens "$1" "$i")") -eq $n ]] || die "too few refresh tokens for node $i"
    first=$((first + n))
  done
}

# --- results ---------------------------------------------------------------------------------
declare -A RPS P50 P99 MAXMS NON2XX LOAD RSS_AFTER
field() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2"; }

# start_profile NAME SECONDS: with NAME in PROFILE (and perf installed), records the server
# (node 1) for SECONDS in the background and sets PERF_PID to the recorder's pid (a child of
# this shell, so that finish_profile can wait for it); PERF_PID is empty otherwise.
start_profile() {
  PERF_PID=""
  if [[ " $PROFILE " == *" $1 "* ]] && command -v perf >/dev/null; then
    perf record -q -F 499 -g -p "$SERVER_PID" -o "$WORK/perf-$1.data" -- sleep "$2" \
      >/dev/null 2>&1 &
    PERF_PID=$!
  fi
}

# finish_profile NAME PID WHICH: waits for the recorder PID (if any) and writes its report.
finish_profile() {
  local name=$1 pid=$2 which=$3
  [[ -n "$pid" ]] || return 0
  wait "$pid" || true
  perf report -i "$WORK/perf-$name.data" --stdio --no-children --percent-limit 1.5 \
    2>/dev/null | grep -v '^$' | head -80 >"$WORK/perf-$name.txt" || true
  echo "perf profile of $name$which: $WORK/perf-$name.txt (KEEP=1 keeps it)" >&2
  [[ "$KEEP" == 1 ]] || sed -n '1,60p' "$WORK/perf-$name.txt" >&2
}

# run_wrk NAME SCENARIO CONNECTIONS THREADS [SECONDS]
# With NODES>1 it runs against every node (run_wrk_nodes); WRK_NODES=1 run_wrk … keeps to node 1.
run_wrk() {
  if ((${WRK_NODES:-$NODES} > 1)); then
    run_wrk_nodes "$@"
    return
  fi
  local name=$1 scenario=$2 conns=$3 threads=$4 seconds=${5:-$DURATION} out line
  out="$WORK/wrk-$name.txt"
  LOAD[$name]=$(loadavg)
  start_profile "$name" "$seconds"
  SCENARIO=$scenario WRK_THREADS=$threads timeout $((seconds + 30)) \
    wrk -t"$threads" -c"$conns" -d"${seconds}s" --timeout 10s -s "$WRK_LUA" "$PUB" >"$out" 2>&1 ||
    die "wrk $name failed: $(tail -5 "$out")"
  finish_profile "$name" "$PERF_PID" ""
  line=$(grep '^RESULT' "$out") || die "wrk $name printed no result: $(tail -5 "$out")"
  RSS_AFTER[$name]=$(mib "$(rss_kib)")
  RPS[$name]=$(field rps "$line")
  P50[$name]=$(field p50_ms "$line")
  P99[$name]=$(field p99_ms "$line")
  MAXMS[$name]=$(field max_ms "$line")
  NON2XX[$name]=$(field non2xx "$line")
  printf '%-22s %10s req/s  p50 %8s ms  p99 %8s ms  non-2xx %s  RSS %s MiB  (load %s)\n' \
    "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "${NON2XX[$name]}" "${RSS_AFTER[$name]}" \
    "${LOAD[$name]}" >&2
}

# run_wrk_nodes NAME SCENARIO CONNECTIONS THREADS [SECONDS]: one wrk -t1 per node, all at once,
# CONNECTIONS split between them (node_share), each with its own refresh tokens. THREADS is
# not used. req/s, requests and non-2xx are summed; p50, p99 and max are the worst node's;
# RSS and a PROFILE are node 1's. Each node's result stays in wrk-NAME-nodeI.txt.
declare -A PER_NODE
# wrk_sum KEY FORMAT RESULTS / wrk_max KEY RESULTS: over the RESULT lines of the nodes.
wrk_sum() {
  awk -v k="$1" -v f="$2" 'NF { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k) s += kv[2] } }
    END { printf f, s }' <<<"$3"
}
wrk_max() {
  awk -v k="$1" 'NF { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == k && kv[2] + 0 > m) m = kv[2] + 0 } }
    END { printf "%.3f", m }' <<<"$2"
}
NODE_FIGURES=()
run_wrk_nodes() {
  local name=$1 scenario=$2 conns=$3 seconds=${5:-$DURATION} i c out results="" line failed=""
  LOAD[$name]=$(loadavg)
  start_profile "$name" "$seconds"
  WRK_PIDS=()
  for i in $(seq "$NODES"); do
    c=$(node_share "$conns" "$i")
    REFRESH_FILE=$(node_tokens "$REFRESH_FILE" "$i") SCENARIO=$scenario WRK_THREADS=1 \
      timeout $((seconds + 30)) wrk -t1 -c"$c" -d"${seconds}s" --timeout 10s -s "$WRK_LUA" \
      "http://127.0.0.1:${NODE_PUBLIC_PORT[i]}" >"$WORK/wrk-$name-node$i.txt" 2>&1 &
    WRK_PIDS+=("$!")
  done
  for i in $(seq "$NODES"); do
    wait "${WRK_PIDS[i - 1]}" || failed+=" $i"
  done
  WRK_PIDS=()
  [[ -z "$failed" ]] || die "wrk $name failed on node(s)$failed: $(tail -5 "$WORK/wrk-$name-node${failed##* }.txt")"
  finish_profile "$name" "$PERF_PID" " (node 1)"
  for i in $(seq "$NODES"); do
    out="$WORK/wrk-$name-node$i.txt"
    line=$(grep '^RESULT' "$out") || die "wrk $name printed no result on node $i: $(tail -5 "$out")"
    results+="$line"$'\n'
  done
  RSS_AFTER[$name]=$(mib "$(rss_kib)")
  RPS[$name]=$(wrk_sum rps "%.1f" "$results")
  P50[$name]=$(wrk_max p50_ms "$results")
  P99[$name]=$(wrk_max p99_ms "$results")
  MAXMS[$name]=$(wrk_max max_ms "$results")
  NON2XX[$name]=$(wrk_sum non2xx "%d" "$results")
  PER_NODE[$name]=$(awk 'NF { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
    printf "%s%s (p99 %s, non-2xx %s)", (n++ ? " / " : ""), v["rps"], v["p99_ms"], v["non2xx"] }' <<<"$results")
  NODE_FIGURES+=("$name")
  printf '%-22s %10s req/s  p50 %8s ms  p99 %8s ms  non-2xx %s  RSS %s MiB  (load %s)\n' \
    "$name" "${RPS[$name]}" "${P50[$name]}" "${P99[$name]}" "${NON2XX[$name]}" "${RSS_AFTER[$name]}" \
    "${LOAD[$name]}" >&2
  printf '%-22s per node: %s\n' "" "${PER_NODE[$name]}" >&2
}

# --- phase 1: first start, seed through the admin API ------------------------------------------
log "machine"
{
  echo "nproc: $(nproc)"
  echo "cpu: $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  echo "memory: $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "load average at start: $(loadavg)"
} | tee "$WORK/machine.txt" >&2

log "first start on an empty store"
start_server
START_EMPTY_MS=$START_MS
echo "start to healthy (empty store, first-start bootstrap): $START_EMPTY_MS ms" >&2

log "seeding through the admin API"
admin POST /api/v1/users "$(jq -nc --arg u "$BENCH_USER" --arg p "$BENCH_PASSWORD" \
  '{userid: $u, password: $p, roles: ["Supervisor"]}')" >/dev/null
APP_ID=$(admin POST /api/v1/applications '{"name": "bench-app"}' | jq -r .app_id)
API_KEY=$(admin POST "/api/v1/applications/$APP_ID/keys" '{"name": "bench-key"}' | jq -r .key)
CLIENT=$(admin POST /api/v1/oauth/clients '{"name": "bench-client", "scopes": ["read"]}')
CLIENT_ID=$(jq -r .client_id <<<"$CLIENT")
CLIENT_SECRET=$(jq -r .client_secret <<<"$CLIENT")
CLIENT_BASIC=$(printf '%s:%s' "$CLIENT_ID" "$CLIENT_SECRET" | base64 -w0)
CLAIMS_TOKEN=$(login | jq -r .claims_token.value)
export API_KEY CLIENT_BASIC CLAIMS_TOKEN
# Each seeded credential works before anything is measured.
curl -sSf --max-time 10 -o /dev/null "$PUB/api/v1/check" -H "X-VoltMX-App-API-Key: $API_KEY"
curl -sSf --max-time 10 -o /dev/null "$PUB/api/v1/check" -H "X-VoltMX-Authorization: $CLAIMS_TOKEN"
[[ $(curl -sSf --max-time 10 -H "Authorization: Basic $CLIENT_BASIC" "$PUB/oauth2/introspect" \
  -d "token=$CLAIMS_TOKEN" | jq -r .active) == true ]] || die "the claims token does not introspect as active"
curl -sSf --max-time 10 -o /dev/null -H "Authorization: Basic $CLIENT_BASIC" "$PUB/oauth2/token" \
  -d grant_type=client_credentials
echo "user $BENCH_USER, app $APP_ID with a key, OAuth client $CLIENT_ID, a claims token" >&2

# 1,000 stored keys for the small-store figures (the scale target compares with 1,000).
if [[ "$BACKEND" == sled ]]; then
  log "stop, add 999 API keys offline (1,000 in all), start again"
  stop_server
  "$WORK/bin/seed_store" --dir "$WORK/data" --apps 10 --api-keys 999 --threads 8 2>&1 |
    grep -v '^  ' >&2
else
  # seed_store writes sled files; a shared database takes its keys through the API.
  log "add 999 API keys through the admin API (1,000 in all), stop, start again"
  seq 999 | xargs -P 8 -I{} curl -sS --fail-with-body --max-time 30 -o /dev/null \
    -u "admin:$ADMIN_PASSWORD" -H 'Content-Type: application/json' \
    -X POST "$ADM/api/v1/applications/$APP_ID/keys" -d '{"name": "seed-{}"}' ||
    die "seeding keys failed"
  stop_server
fi
start_server
START_SMALL_MS=$START_MS
sleep 1
IDLE_RSS_KIB=$(rss_kib)
echo "start to healthy (1,000 keys): $START_SMALL_MS ms; idle RSS $(mib "$IDLE_RSS_KIB") MiB" >&2

if ((NODES > 1)); then
  log "starting nodes 2..$NODES on the same database"
  for i in $(seq 2 "$NODES"); do
    "$BIN" serve --config "$WORK/node$i/tessera.toml" >>"$WORK/node$i/server.log" 2>&1 &
    NODE_PIDS+=("$!")
  done
  for i in $(seq 2 "$NODES"); do
    url="http://127.0.0.1:${NODE_PUBLIC_PORT[i]}"
    for _ in $(seq 600); do
      curl -sf -o /dev/null --max-time 0.5 "$url/health" && break
      sleep 0.1
    done
    curl -sf -o /dev/null --max-time 1 "$url/health" || die "node $i did not start; see $WORK/node$i/server.log"
    # The seeded credentials, made through node 1, work here too.
    curl -sSf --max-time 10 -o /dev/null "$url/api/v1/check" -H "X-VoltMX-App-API-Key: $API_KEY" ||
      die "node $i refuses the API key seeded through node 1"
    curl -sSf --max-time 10 -o /dev/null "$url/api/v1/check" -H "X-VoltMX-Authorization: $CLAIMS_TOKEN" ||
      die "node $i refuses the claims token issued by node 1"
    [[ $(curl -sSf --max-time 10 -H "Authorization: Basic $CLIENT_BASIC" "$url/oauth2/introspect" \
      -d "token=$CLAIMS_TOKEN" | jq -r .active) == true ]] || die "node $i does not introspect node 1's claims token as active"
    echo "node $i: $url (admin 127.0.0.1:${NODE_ADMIN_PORT[i]}), pid ${NODE_PIDS[i - 2]}; the seeded credentials work on it" >&2
  done
fi

# One chain per connection, plus one per wrk thread: wrk 4.1 calls request() once per thread
# before it connects and discards the result, which would otherwise cost a chain.
if ((NODES == 1)); then
  CHAINS=$((CONNECTIONS + THREADS))
  log "minting refresh tokens ($CHAINS for refresh, $CHAINS for mixed, by login)"
else
  # One wrk -t1 per node: each needs its connections + 1 tokens, dealt below.
  CHAINS=$((CONNECTIONS + NODES))
  log "minting refresh tokens ($CHAINS for refresh, $CHAINS for mixed, by login through node 1; each node's wrk gets its own share)"
fi
export REFRESH_FILE="$WORK/refresh-tokens.txt"
mint_refresh_tokens "$CHAINS" "$WORK/refresh-tokens.txt"
mint_refresh_tokens "$CHAINS" "$WORK/refresh-tokens-mixed.txt"
if ((NODES > 1)); then
  for file in "$WORK/refresh-tokens.txt" "$WORK/refresh-tokens-mixed.txt"; do
    split_tokens "$file"
  done
  echo "per node: $(for i in $(seq "$NODES"); do printf '%s ' "$(wc -l <"$(node_tokens "$WORK/refresh-tokens.txt" "$i")")"; done)tokens for refresh, the same for mixed" >&2
fi

# --- phase 2: the measurements -----------------------------------------------------------------
if ((NODES == 1)); then
  log "measuring: ${DURATION}s each, $CONNECTIONS connections, wrk -t$THREADS"
else
  log "measuring: ${DURATION}s each, $CONNECTIONS connections over $NODES nodes ($(node_split)), one wrk -t1 per node at once"
fi
run_wrk health health "$CONNECTIONS" "$THREADS"

# The raw argon2id rate at the server's parameters on every core, right before and right
# after the login run; the higher of the two is login's baseline (the stricter ratio).
# The bench config leaves [passwords] at its defaults; these are they.
ARGON2_PARAMS=(--m-kib 19456 --t 2 --p 1)
argon2_raw() { # NAME
  local line
  LOAD[$1]=$(loadavg)
  line=$(timeout $((DURATION + 60)) "$WORK/bin/argon2_rate" --threads "$(nproc)" \
    --seconds "$DURATION" "${ARGON2_PARAMS[@]}" | grep '^ARGON2_RATE') || die "argon2_rate failed"
  RPS[$1]=$(field verifies_per_s "$line")
  printf '%-22s %10s verifies/s on %s threads  (load %s)\n' "$1" "${RPS[$1]}" "$(nproc)" \
    "${LOAD[$1]}" >&2
}
argon2_raw argon2_raw_before
run_wrk login login "$CONNECTIONS" "$THREADS"
argon2_raw argon2_raw_after
ARGON2_RATE=$(awk -v a="${RPS[argon2_raw_before]}" -v b="${RPS[argon2_raw_after]}" \
  'BEGIN { print (a > b ? a : b) }')
run_wrk refresh refresh "$CONNECTIONS" "$THREADS"
run_wrk client_credentials client_credentials "$CONNECTIONS" "$THREADS"
run_wrk introspect introspect "$CONNECTIONS" "$THREADS"
run_wrk check_api_key check_api_key "$CONNECTIONS" "$THREADS"
run_wrk check_claims check_claims "$CONNECTIONS" "$THREADS"

REFRESH_FILE="$WORK/refresh-tokens-mixed.txt"
start_rss mixed
run_wrk mixed mixed "$CONNECTIONS" "$THREADS"
MIXED_RSS_KIB=$(stop_rss mixed)
REFRESH_FILE="$WORK/refresh-tokens.txt"

run_wrk health_again health "$CONNECTIONS" "$THREADS"

# A login flood: $FLOOD_CONNECTIONS connections logging in, beyond what the hasher admits
# (max_concurrent_hashes slots, 32 waiting per slot), while 4 connections each ask /health and
# introspect, and a probe times single logins.
log "login flood: $FLOOD_CONNECTIONS connections of logins, with /health and introspection beside"
((NODES == 1)) || echo "(node 1 only; nodes 2..$NODES stay up, idle)" >&2
start_rss flood
LOAD[flood]=$(loadavg)
SCENARIO=login WRK_THREADS=1 timeout $((DURATION + 30)) wrk -t1 -c"$FLOOD_CONNECTIONS" -d"${DURATION}s" \
  --timeout 10s -s "$WRK_LUA" "$PUB" >"$WORK/wrk-flood_login.txt" 2>&1 &
FLOOD_PID=$!
BACKGROUND+=("$FLOOD_PID")
sleep 1
# Each background run_wrk writes its own file; the parent reads the results below.
SIDE_SECONDS=$((DURATION > 3 ? DURATION - 2 : 1))
WRK_NODES=1 run_wrk flood_health health 4 1 "$SIDE_SECONDS" &
FH=$!
WRK_NODES=1 run_wrk flood_introspect introspect 4 1 "$SIDE_SECONDS" &
FI=$!
BACKGROUND+=("$FH" "$FI")
PROBES="$WORK/flood-probes.txt"
: >"$PROBES"
for _ in $(seq 10); do
  curl -s -o /dev/null --max-time 10 -w '%{http_code} %{time_total}\n' -X POST "$PUB/login" \
    -H 'Content-Type: application/json' -d "$(login_json)" >>"$PROBES" || echo "000 10" >>"$PROBES"
  sleep 0.3
done
wait "$FH" "$FI" "$FLOOD_PID" || true
FLOOD_RSS_KIB=$(stop_rss flood)
for name in flood_login flood_health flood_introspect; do
  line=$(grep '^RESULT' "$WORK/wrk-$name.txt") || die "$name printed no result"
  RPS[$name]=$(field rps "$line")
  P50[$name]=$(field p50_ms "$line")
  P99[$name]=$(field p99_ms "$line")
  MAXMS[$name]=$(field max_ms "$line")
  NON2XX[$name]=$(field non2xx "$line")
  LOAD[$name]=${LOAD[flood]}
done
# Logins the flood got through (200s), per second: hashing throughput while excess is refused.
line=$(grep '^RESULT' "$WORK/wrk-flood_login.txt")
RPS[flood_login_ok]=$(awk -v n="$(field requests "$line")" -v e="$(field non2xx "$line")" \
  -v s="$(field seconds "$line")" 'BEGIN { printf "%.1f", (n - e) / s }')
LOAD[flood_login_ok]=${LOAD[flood]}
PROBE_SUMMARY=$(awk '{ n[$1]++; if ($2 > max[$1]) max[$1] = $2 }
  END { for (c in n) printf "%s×%d (max %.3f s) ", c, n[c], max[c] }' "$PROBES")
echo "login probes during the flood: $PROBE_SUMMARY" >&2

sleep 2
IDLE_AFTER_KIB=$(rss_kib)
HWM_KIB=$(hwm_kib)

# --- phase 3 (SCALE=1): a large store ----------------------------------------------------------
if [[ "$SCALE" == 1 ]]; then
  log "stop, seed $SCALE_USERS users, $SCALE_SESSIONS sessions x $SCALE_TOKENS_PER_SESSION refresh tokens, $SCALE_KEYS API keys in all"
  stop_server
  SEED_START=$(date +%s)
  "$WORK/bin/seed_store" --dir "$WORK/data" --users "$SCALE_USERS" \
    --sessions "$SCALE_SESSIONS" --tokens-per-session "$SCALE_TOKENS_PER_SESSION" \
    --apps 1000 --api-keys $((SCALE_KEYS - 1000)) --threads 32 2>&1 | grep -v '^  ' >&2
  echo "seeding took $(($(date +%s) - SEED_START)) s; store on disk: $(du -sh "$WORK/data" | cut -f1)" >&2
  start_server
  START_LARGE_MS=$START_MS
  sleep 1
  IDLE_LARGE_KIB=$(rss_kib)
  echo "start to healthy (large store): $START_LARGE_MS ms; idle RSS $(mib "$IDLE_LARGE_KIB") MiB" >&2
  run_wrk scale_health health "$CONNECTIONS" "$THREADS"
  run_wrk scale_introspect introspect "$CONNECTIONS" "$THREADS"
  run_wrk scale_check_api_key check_api_key "$CONNECTIONS" "$THREADS"
  LARGE_HWM_KIB=$(hwm_kib)
fi

stop_server
stop_nodes

# --- the table ---------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.0f%%", 100 * a / b; else print "-" }'; }
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }
verdict() { if "$@"; then echo yes; else echo NO; fi; }

H=${RPS[health]}
SLOTS=$(nproc)
{
  echo
  if ((NODES == 1)); then
    echo "tessera load run: $(date -u +%Y-%m-%dT%H:%M:%SZ), ${DURATION}s per figure, $CONNECTIONS connections, wrk -t$THREADS, loopback, store: $BACKEND"
  else
    echo "tessera load run: $(date -u +%Y-%m-%dT%H:%M:%SZ), ${DURATION}s per figure, $CONNECTIONS connections over $NODES nodes ($(node_split)), one wrk -t1 per node at once, loopback, store: $BACKEND, $NODES nodes on one database"
  fi
  cat "$WORK/machine.txt"
  echo
  if ((NODES > 1)); then
    echo "$NODES nodes: req/s and non-2xx are the sum over the nodes; p50 and p99 are the worst node's"
    echo "(the highest of the nodes' own p50 / p99), not percentiles of the pooled requests; RSS is"
    echo "node 1's. Per-node req/s below the table. The login flood runs against node 1 only."
    echo
  fi
  FORMAT='%-20s %10s %9s %9s %8s  %-14s %6s  %-24s %-4s %8s  %s\n'
  # shellcheck disable=SC2059
  printf "$FORMAT" figure "req/s" "p50 ms" "p99 ms" non-2xx baseline ratio target met "RSS MiB" "load avg"
  row() { # name baseline_name baseline_value target verdict
    # shellcheck disable=SC2059
    printf "$FORMAT" "$1" "${RPS[$1]}" "${P50[$1]:--}" "${P99[$1]:--}" "${NON2XX[$1]:--}" "$2" \
      "$(ratio "${RPS[$1]}" "$3")" "$4" "$5" "${RSS_AFTER[$1]:--}" "${LOAD[$1]}"
  }
  pct() { ratio "$1" "$2" | tr -d %; }
  row health health "$H" "(the ceiling)" "-"
  row argon2_raw_before - 0 "(raw, $SLOTS threads)" "-"
  row login argon2_raw "$ARGON2_RATE" ">= 90% of argon2_raw" "$(verdict ge "$(pct "${RPS[login]}" "$ARGON2_RATE")" 90)"
  row argon2_raw_after - 0 "(raw, $SLOTS threads)" "-"
  row refresh health "$H" ">= 3000/s (durable)" "$(verdict ge "${RPS[refresh]}" 3000)"
  row client_credentials health "$H" ">= 30% of health" \
    "$(verdict ge "$(pct "${RPS[client_credentials]}" "$H")" 30)"
  row introspect health "$H" ">= 50%, p99 < 5 ms" \
    "$(verdict eval 'ge "$(pct "${RPS[introspect]}" "$H")" 50 && lt "${P99[introspect]}" 5')"
  row check_api_key health "$H" ">= 50%, p99 < 5 ms" \
    "$(verdict eval 'ge "$(pct "${RPS[check_api_key]}" "$H")" 50 && lt "${P99[check_api_key]}" 5')"
  row check_claims health "$H" "(none; cf. introspect)" "-"
  row mixed health "$H" "(none)" "-"
  row health_again health "$H" "(drift check)" "-"
  echo "(argon2_raw = the higher of the two raw runs: $ARGON2_RATE verifies/s)"
  if ((NODES > 1)); then
    echo
    echo "per node: req/s (p99 ms, non-2xx), node 1 / … / node $NODES:"
    for name in "${NODE_FIGURES[@]}"; do printf '  %-18s %s\n' "$name" "${PER_NODE[$name]}"; done
    echo
    echo "login flood, node 1 only, nodes 2..$NODES idle (${FLOOD_CONNECTIONS} connections of logins; 4 each of health and introspect beside;"
    echo "ratios are to the health of all $NODES nodes):"
  else
    echo
    echo "login flood (${FLOOD_CONNECTIONS} connections of logins; 4 each of health and introspect beside):"
  fi
  RSS_AFTER[flood_login]=$(mib "$FLOOD_RSS_KIB")
  row flood_login - 0 "excess: 429/503 quickly" "-"
  row flood_login_ok argon2_raw "$ARGON2_RATE" "(200s only)" "-"
  row flood_health health "$H" "p99 < 20 ms" "$(verdict lt "${P99[flood_health]}" 20)"
  row flood_introspect health "$H" "p99 < 20 ms" "$(verdict lt "${P99[flood_introspect]}" 20)"
  echo "single logins timed during the flood (status×count, slowest): $PROBE_SUMMARY"
  echo
  LIMIT_KIB=$(((100 + 19 * SLOTS) * 1024))
  if ((NODES == 1)); then echo "memory and start-up:"; else echo "memory and start-up, node 1:"; fi
  echo "  idle RSS after start (1,000 keys):  $(mib "$IDLE_RSS_KIB") MiB   target <= 20 MiB: $(verdict lt "$IDLE_RSS_KIB" 20481)"
  echo "  RSS under the mixed load (max):     $(mib "$MIXED_RSS_KIB") MiB   target <= 100 MiB + 19 MiB x $SLOTS hashes: $(verdict lt "$MIXED_RSS_KIB" $((LIMIT_KIB + 1)))"
  echo "  RSS during the login flood (max):   $(mib "$FLOOD_RSS_KIB") MiB"
  echo "  idle RSS after the runs:            $(mib "$IDLE_AFTER_KIB") MiB;  peak (VmHWM): $(mib "$HWM_KIB") MiB"
  echo "  start to healthy, empty store:      $START_EMPTY_MS ms (first-start bootstrap: admin hash, signing key)"
  echo "  start to healthy, 1,000 keys:       $START_SMALL_MS ms"
  if [[ "$SCALE" == 1 ]]; then
    echo "  start to healthy, large store:      $START_LARGE_MS ms   target < 100 ms: $(verdict lt "$START_LARGE_MS" 100)"
    echo "  idle RSS, large store:              $(mib "$IDLE_LARGE_KIB") MiB;  peak (VmHWM): $(mib "$LARGE_HWM_KIB") MiB"
    echo
    echo "scale ($SCALE_KEYS API keys, $SCALE_USERS users, $((SCALE_SESSIONS * SCALE_TOKENS_PER_SESSION)) refresh tokens vs 1,000 keys):"
    row scale_health health "$H" "(drift check)" "-"
    row scale_introspect introspect "${RPS[introspect]}" "within 10% of 1,000" \
      "$(verdict ge "$(pct "${RPS[scale_introspect]}" "${RPS[introspect]}")" 90)"
    row scale_check_api_key check_api_key "${RPS[check_api_key]}" "within 10% of 1,000" \
      "$(verdict ge "$(pct "${RPS[scale_check_api_key]}" "${RPS[check_api_key]}")" 90)"
  fi
  echo
  echo "load average at the end: $(loadavg)"
} | tee "$WORK/table.txt"
