#!/usr/bin/env bash
# The soak test (issue 7): a release tessera on loopback under a mixed load — logins,
# refreshes, introspections, API key checks, client_credentials, revocations and logouts,
# from scripts/soak_load.py — for SOAK_MINUTES (default 30), sampled every SOAK_SAMPLE_SECONDS
# (default 10): resident memory (VmRSS), open file descriptors, data dir size, and the load's
# response counts.
#
# scripts/soak_judge.py gives the verdict. It fails (exit 1) on any 5xx, or if RSS grows more
# than SOAK_MAX_RSS_GROWTH percent (default 10) after the warm-up, read from the line fitted
# through every sample after it. The warm-up is the first fifth of the run and at least the 7
# minutes the store takes to reach its steady size here (sessions last 5 minutes, and tessera
# sweeps ended sessions and expired tokens every 2 minutes: SWEEP_EVERY in src/app.rs). A run
# shorter than that is judged on everything but RSS. Connection errors, unexpected 4xx and
# wrong answers are reported, and so is the data dir trend.
#
# Tokens are short-lived here (claims and refresh tokens 2 min, sessions 5 min) so that
# expiry, and the sweeping of what expired, happens within the run. argon2id is cheap
# (SOAK_ARGON2_KIB, default 1024 KiB) so that logins are not all the CPU of a small machine.
#
# SOAK_MIX=read runs a mix that writes nothing to the store after one login per client
# (introspections and key checks): RSS that still grows then is a leak, not the store.
#
# SOAK_KEEP=1 keeps the work dir (server log, samples, data dir) and prints where it is.
#
# SOAK_BIN runs another tessera binary instead of building this tree's. SOAK_WRAP runs the
# server under a tool, e.g. SOAK_WRAP="heaptrack -o /tmp/soak-heap" (the RSS figures then are
# the wrapper's; read the tool's own report).
#
#   SOAK_MINUTES=3 scripts/soak.sh
set -euo pipefail

minutes="${SOAK_MINUTES:-30}"
sample="${SOAK_SAMPLE_SECONDS:-10}"
threads="${SOAK_THREADS:-8}"
max_growth="${SOAK_MAX_RSS_GROWTH:-10}"
argon2_kib="${SOAK_ARGON2_KIB:-1024}"
mix="${SOAK_MIX:-mixed}"
admin_password="soak-admin-password"
static_user="soak-gateway"
static_password="soak-gateway-password"

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
[ -n "${SOAK_BIN:-}" ] || cargo build --release --locked --bin tessera
bin="${SOAK_BIN:-$root/target/release/tessera}"

work="$(mktemp -d -t tessera-soak.XXXXXX)"
data="$work/data"
samples="$work/samples.tsv"
server_pid=""
load_pid=""
cleanup() {
    [ -n "$load_pid" ] && kill "$load_pid" 2>/dev/null || true
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null || true
    wait 2>/dev/null || true
    if [ -n "${SOAK_KEEP:-}" ]; then echo "soak: kept $work" >&2; else rm -rf "$work"; fi
}
trap cleanup EXIT

# The store reaches its steady size once the first sessions have ended and been swept: one
# session lifetime plus one sweep interval (SWEEP_EVERY in src/app.rs, 2 minutes).
session_max_age=300
sweep_every=120

cat >"$work/tessera.toml" <<EOF
[server]
bind = "127.0.0.1:0"
admin_bind = "127.0.0.1:0"
data_dir = "$data"
username = "$static_user"
password = "$static_password"

[tokens]
claims_ttl_seconds = 120
refresh_ttl_seconds = 120
session_max_age_seconds = $session_max_age
access_token_ttl_seconds = 120

[passwords]
argon2_memory_kib = $argon2_kib
argon2_iterations = 1

[login_protection]
max_failures = 1000000
max_failures_per_address = 1000000
EOF

# The access log would be a line per request; everything else is kept.
TESSERA_ADMIN_PASSWORD="$admin_password" RUST_LOG="info,tessera::access=warn" \
    ${SOAK_WRAP:-} "$bin" --config "$work/tessera.toml" serve 2>"$work/server.log" &
server_pid=$!

public="" intranet=""
for _ in $(seq 1 300); do
    line="$(grep -m1 'listening: public ' "$work/server.log" || true)"
    if [ -n "$line" ]; then
        public="$(sed -E 's/.*listening: public ([^ ]+) .*/\1/' <<<"$line")"
        intranet="$(sed -E 's/.* intranet ([^ ]+).*/\1/' <<<"$line")"
        break
    fi
    kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log"; echo "soak: tessera exited" >&2; exit 1; }
    sleep 0.1
done
[ -n "$public" ] || { cat "$work/server.log"; echo "soak: tessera did not listen" >&2; exit 1; }
echo "soak: tessera pid $server_pid, public $public, intranet $intranet, $minutes min, $threads clients, $mix mix"

seconds=$((minutes * 60))
python3 "$root/scripts/soak_load.py" --public "$public" --intranet "$intranet" \
    --admin-password "$admin_password" --static-user "$static_user" \
    --static-password "$static_password" --seconds "$seconds" --threads "$threads" \
    --stats "$work/stats.json" --mix "$mix" >"$work/load.out" 2>&1 &
load_pid=$!

stat_of() { # a field of the load's stats file, 0 until it exists
    python3 - "$work/stats.json" "$1" <<'EOF' 2>/dev/null || echo 0
import json, sys
stats = json.load(open(sys.argv[1]))
print(eval(sys.argv[2], {}, stats))
EOF
}

printf 't_s\trss_kb\tfds\tdata_bytes\trequests\t5xx\n' >"$samples"
start=$(date +%s)
max_samples=$((seconds / sample + 30))
for _ in $(seq 1 "$max_samples"); do
    kill -0 "$load_pid" 2>/dev/null || break
    kill -0 "$server_pid" 2>/dev/null || { echo "soak: tessera died" >&2; break; }
    sleep "$sample"
    kill -0 "$server_pid" 2>/dev/null || { echo "soak: tessera died" >&2; break; }
    # A sample taken after the load ended would measure an idle server.
    kill -0 "$load_pid" 2>/dev/null || break
    t=$(($(date +%s) - start))
    rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server_pid/status")
    fds=$(ls "/proc/$server_pid/fd" | wc -l)
    size=$(du -sb "$data" | cut -f1)
    requests=$(stat_of 'requests')
    errors=$(stat_of 'classes["5xx"]')
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$t" "$rss" "$fds" "$size" "$requests" "$errors" >>"$samples"
    printf 'soak [%5ss] rss %8s kB  fds %4s  data %11s B  requests %9s  5xx %s\n' \
        "$t" "$rss" "$fds" "$size" "$requests" "$errors"
done
wait "$load_pid" || { cat "$work/load.out"; echo "soak: the load failed" >&2; exit 1; }
load_pid=""
server_alive=1
kill -0 "$server_pid" 2>/dev/null || server_alive=0

logged=$(grep -c 'ERROR' "$work/server.log" || true)
echo "server log: $logged ERROR lines"
grep -m5 'ERROR' "$work/server.log" || true

dead=()
[ "$server_alive" = 1 ] || dead=(--dead)
python3 "$root/scripts/soak_judge.py" "$samples" "$work/stats.json" --seconds "$seconds" \
    --max-growth "$max_growth" --settle $((session_max_age + sweep_every)) "${dead[@]}"
