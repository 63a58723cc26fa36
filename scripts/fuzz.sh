#!/usr/bin/env bash
# Runs every cargo-fuzz target for FUZZ_SECONDS each (default 60) and prints the executions.
# cargo-fuzz drives libFuzzer with -Z flags; the stable toolchain accepts them with
# RUSTC_BOOTSTRAP=1 (no nightly toolchain can be fetched here).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
seconds="${FUZZ_SECONDS:-60}"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
export RUSTC_BOOTSTRAP=1
targets=(basic_header secret_format preamble jwt config login_body)
for target in "${targets[@]}"; do
  echo "--- $target (${seconds}s)"
  mkdir -p "fuzz/corpus/$target"
  cargo fuzz run "$target" "fuzz/corpus/$target" -- -max_total_time="$seconds" -rss_limit_mb=2048 2>&1 \
    | grep -E "^#[0-9]+ +(DONE|pulse)|Done [0-9]+ runs|ERROR|panicked|SUMMARY" | tail -3
done
