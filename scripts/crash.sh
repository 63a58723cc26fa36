#!/usr/bin/env bash
# The long crash test (issue 7): the suite's crash test (tests/api/crash.rs) with
# TESSERA_CRASH_ROUNDS kills (default 25) in a release build. Each round drives a mixed write
# load against the real binary, kills it with SIGKILL at a random moment, runs `tessera check`
# on the data dir, restarts it and verifies every acknowledged write, revocation and rotation.
#
#   scripts/crash.sh                          # 25 rounds, a fresh seed
#   TESSERA_CRASH_SEED=123 scripts/crash.sh   # replay a seed's choices
#
# Prints each round's line and a summary; exits non-zero if any problem was found.
set -uo pipefail

rounds="${TESSERA_CRASH_ROUNDS:-25}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
log="$(mktemp -t tessera-crash.XXXXXX.log)"

TESSERA_CRASH_ROUNDS="$rounds" cargo test --release --locked --test api crash:: \
    -- --nocapture --test-threads=1 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

echo
echo "== crash summary =="
grep -m1 '^crash: seed' "$log" || true
done_rounds=$(grep -c '^crash round ' "$log" || true)
inconsistent=$(grep '^crash round ' "$log" | grep -c 'INCONSISTENT' || true)
echo "rounds completed: $done_rounds of $rounds; rounds where tessera check found problems: $inconsistent"
grep '^crash summary:' "$log" || echo "no summary line: the test did not finish (see $log)"
if [ "$status" -ne 0 ]; then
    echo "CRASH TEST FAILED (exit $status); the problems are listed above; full output in $log"
    exit "$status"
fi
echo "CRASH TEST PASSED; full output in $log"
