#!/usr/bin/env bash
# Schema-driven testing (issue 7): schemathesis generates requests from openapi.yaml and runs
# every check it has against a live server, on both listeners, with credentials. Any failure
# (a 5xx, a response off its schema, a schema-valid request refused, an invalid one accepted,
# a wrong answer to an unknown method or a missing header, ...) fails the script.
#
#   bash scripts/schemathesis.sh            # from anywhere; under 2 minutes on 2 cores
#
# Environment (all optional):
#   ST_MAX_EXAMPLES  examples per operation and phase (default 100)
#   ST_SEED          hypothesis seed (default 7; fixed, so a run is repeatable)
#   ST_PROFILE       cargo profile to test: dev (default) or release
#   ST_KEEP          set to 1 to keep the temp dir (server log, reports) after the run
#   ST_ARGS          more arguments for `schemathesis run`, e.g. "--phases stateful"
#
# Each listener is tested against its own operations only: scripts/split_openapi.py keeps the
# operations whose x-listener is that listener or "both" (a route of one listener is a 404
# on the other, which schemathesis would rightly report against the whole document).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

MAX_EXAMPLES=${ST_MAX_EXAMPLES:-100}
SEED=${ST_SEED:-7}
PROFILE=${ST_PROFILE:-dev}
SCHEMATHESIS_VERSION=4.32.5

started=$SECONDS

# --- schemathesis ---------------------------------------------------------------------------
if ! python3 -c 'import schemathesis' >/dev/null 2>&1; then
    echo "installing schemathesis $SCHEMATHESIS_VERSION"
    python3 -m pip install --quiet "schemathesis==$SCHEMATHESIS_VERSION" ||
        python3 -m pip install --quiet --break-system-packages "schemathesis==$SCHEMATHESIS_VERSION"
fi
st() { python3 -m schemathesis.cli "$@"; }
installed=$(python3 -c 'import importlib.metadata as m; print(m.version("schemathesis"))')
echo "schemathesis $installed"
if [ "$installed" != "$SCHEMATHESIS_VERSION" ]; then
    echo "note: this script was last checked with schemathesis $SCHEMATHESIS_VERSION" >&2
fi

# --- the server -----------------------------------------------------------------------------
# The dev build by default: CI has just built it for `cargo test`, so this costs seconds, where
# a release build costs minutes; the checks here are about answers, not speed.
if [ "$PROFILE" = release ]; then
    cargo build --locked --release --bin tessera
    bin=target/release/tessera
else
    cargo build --locked --bin tessera
    bin=target/debug/tessera
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tessera-schemathesis.XXXXXX")
server_pid=
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    if [ "${ST_KEEP:-0}" = 1 ]; then
        echo "kept $work"
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two free loopback ports.
read -r public_port intranet_port < <(python3 - <<'EOF'
import socket
socks = [socket.socket() for _ in range(2)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(*(s.getsockname()[1] for s in socks))
EOF
)
public=http://127.0.0.1:$public_port
intranet=http://127.0.0.1:$intranet_port

# Static credentials for every protected service: the directory can't take them away, so a
# generated DELETE, PATCH or PUT on a user can't lock the run out. Cheap hashing, lockouts out
# of reach (random logins fail by the thousand), preamble tokens on so minting answers 200.
admin_user=schemathesis
admin_password=schemathesis-password-1
cat >"$work/tessera.toml" <<EOF
[server]
bind = "127.0.0.1:$public_port"
admin_bind = "127.0.0.1:$intranet_port"
external_url_base = "$public"
data_dir = "$work/data"
username = "$admin_user"
password = "$admin_password"

[passwords]
argon2_memory_kib = 1024
argon2_iterations = 1

[preamble]
token_authentication_mode = "enable"

[login_protection]
max_failures = 100000
max_failures_per_address = 100000
EOF

TESSERA_ADMIN_PASSWORD="correct horse battery staple" RUST_LOG=${RUST_LOG:-warn} \
    "$bin" --config "$work/tessera.toml" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 300); do
    if curl -fsS -o /dev/null "$public/health" 2>/dev/null &&
        curl -fsS -o /dev/null "$intranet/health" 2>/dev/null; then
        break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
        echo "the server did not start:" >&2
        cat "$work/server.log" >&2
        exit 1
    fi
    sleep 0.1
done
curl -fsS -o /dev/null "$intranet/health"

b64() { printf '%s' "$1" | base64 | tr -d '\n'; }
basic="Basic $(b64 "$admin_user:$admin_password")"
admin() { # METHOD PATH [JSON]: an administration call; prints the answer
    curl -fsS -X "$1" -H "Authorization: $basic" -H 'Content-Type: application/json' \
        ${3:+-d "$3"} "$intranet$2"
}
field() { python3 -c 'import json, sys; print(json.load(sys.stdin)[sys.argv[1]])' "$1"; }

# --- data ------------------------------------------------------------------------------------
# What the document's examples name, so the examples phase gets 200s whose bodies are checked:
# alice logs in with the login example's password, admin signs a browser in with the session
# example's (TESSERA_ADMIN_PASSWORD above). An application with a key and an OAuth client give
# the public listener's routes a real caller (see the per-operation headers below).
admin POST /api/v1/users \
    '{"userid":"alice","password":"correct horse battery staple","roles":["Supervisor"]}' >/dev/null
app_id=$(admin POST /api/v1/applications '{"name":"Mobile banking"}' | field app_id)
api_key=$(admin POST "/api/v1/applications/$app_id/keys" '{"name":"ios-prod"}' | field key)
client=$(admin POST /api/v1/oauth/clients \
    '{"name":"billing-service","scopes":["orders.read","orders.write"]}')
client_basic="Basic $(b64 "$(field client_id <<<"$client"):$(field client_secret <<<"$client")")"

# --- configuration ---------------------------------------------------------------------------
# Every check is on (the default; `--checks all` on the command line would override the
# per-operation settings below). The exceptions are only where the document cannot say what the
# server rightly does, and each says why. No cache: every run starts from the seed alone.
cat >"$work/public.toml" <<EOF
headers = { Authorization = "$basic" }
cache = { enabled = false }

# The OAuth client routes: the seeded client calls them, so they answer 200 as well.
[[operations]]
include-operation-id = ["oauth2Token", "getAccessTokenPair"]
headers = { Authorization = "$client_basic" }

# A verdict on a live API key.
[[operations]]
include-operation-id = "check"
headers = { X-VoltMX-App-API-Key = "$api_key" }

# The application-side API: the seeded application, with its own key.
[[operations]]
include-operation-id = "getApplication"
headers = { X-VoltMX-App-API-Key = "$api_key" }
parameters = { app_id = "$app_id" }

# RFC 6749 §5.2: a refresh token that is not live is 400 invalid_grant, a scope the client lacks
# is 400 invalid_scope, and generated ones rarely are either. Every other 400 of this route
# still counts as a rejection of invalid data.
[[operations]]
include-operation-id = "oauth2Token"
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

# The raw refresh token goes in Authorization (a security scheme, so schemathesis expects 401
# when it is left out); without it the route answers 400 invalid_request, as documented and as
# tests/api/refresh.rs pins. A token that is not live answers 401.
[[operations]]
include-operation-id = "accountsClaims"
checks.missing_required_header.enabled = false
EOF

cat >"$work/intranet.toml" <<EOF
headers = { Authorization = "$basic" }
cache = { enabled = false }
phases.stateful.max-steps = 20

# expires_at must lie in the future (else 400), which JSON Schema cannot say; schemathesis also
# replays timestamps it has seen in answers, which are in the past by then.
[[operations]]
include-operation-id = ["createApiKey", "patchApiKey"]
checks.positive_data_acceptance.expected-statuses = ["2xx", "3xx", "400", "401", "403", "404", "409", "429", "5xx"]

# The device token is a singleton whose GET is a status: after DELETE it answers 200
# {"enabled": false, "created_at": null}, as documented, not 404.
[[operations]]
include-operation-id = "getDeviceToken"
checks.use_after_free.enabled = false
EOF

# --- runs ------------------------------------------------------------------------------------
# The public listener first: the intranet run may delete the seeded data.
status=0
run() {
    local listener=$1 url=$2
    python3 scripts/split_openapi.py openapi.yaml "$listener" "$work/$listener.yaml"
    echo "--- schemathesis: $listener listener ($url)"
    # From the temp dir, so nothing schemathesis or hypothesis writes lands in the repository.
    # One worker: with two threads, hypothesis's source inspection has hit CPython's AST
    # thread-safety bug (SystemError "AST constructor recursion depth mismatch", python/cpython
    # #106905), and schemathesis is CPU-bound under the GIL anyway, so two are no faster.
    if ! (cd "$work" && st --config-file "$listener.toml" run "$listener.yaml" \
        --url "$url" \
        --max-examples "$MAX_EXAMPLES" \
        --seed "$SEED" \
        --workers 1 \
        --no-color \
        --report junit,har --report-dir "reports/$listener" ${ST_ARGS:-}); then
        status=1
    fi
}
run public "$public"
run intranet "$intranet"

if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "the server died during the run" >&2
    status=1
fi
if grep -q 'panicked' "$work/server.log"; then
    echo "the server panicked:" >&2
    grep -A5 'panicked' "$work/server.log" >&2
    status=1
fi
if [ $status != 0 ]; then
    echo "--- the server's warnings and errors (last 40 lines)" >&2
    tail -n 40 "$work/server.log" >&2
fi

echo "--- schemathesis: $((SECONDS - started))s, $([ $status = 0 ] && echo passed || echo FAILED)"
exit $status
