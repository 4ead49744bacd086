#!/usr/bin/env bash
# Fuzzes the model decoder, the SDK's error bodies and the sandbox's $filter (the targets of
# fuzz/, with cargo-fuzz) for FUZZ_SECONDS (default 60) each; fails on any crash, hang or
# memory blow-up, and prints each target's executions. Works from a fresh clone.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-60}
targets=(decode_referral error_body odata_filter)

if ! command -v cargo-fuzz >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

# Stable Rust: no sanitizer, since AddressSanitizer needs -Zsanitizer (nightly, or
# RUSTC_BOOTSTRAP=1); the code fuzzed is safe Rust, and libFuzzer still catches every panic,
# overflow (debug assertions are on), stack overflow, hang and the memory limit.
flags=(--release --debug-assertions --sanitizer none)
# FUZZ_SEED makes a run repeatable (CI sets it, so a red run replays the same way); unset,
# libFuzzer picks a new seed each run, which is what exploring wants.
seed=()
if [ -n "${FUZZ_SEED:-}" ]; then
    seed=(-seed="$FUZZ_SEED")
fi

started=$SECONDS
cargo fuzz build "${flags[@]}"
echo "fuzz: built the targets in $((SECONDS - started)) s"

summary=()
failed=()
for target in "${targets[@]}"; do
    # New inputs go to a scratch corpus in the (ignored) target dir; fuzz/corpus/ only seeds.
    scratch=fuzz/target/corpus/$target
    log=fuzz/target/$target.log
    mkdir -p "$scratch"
    echo "fuzz: $target for $seconds s"
    status=0
    cargo fuzz run "${flags[@]}" "$target" "$scratch" "fuzz/corpus/$target" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 "${seed[@]}" >"$log" 2>&1 || status=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" || true
    if [ "$status" -ne 0 ]; then
        tail -n 80 "$log"
        failed+=("$target")
        summary+=("$target FAILED (exit $status, input in fuzz/artifacts/$target/)")
    else
        summary+=("$target ${runs:-?} executions")
    fi
done

result="fuzz: ${#targets[@]} targets, $seconds s each: $(IFS=';'; echo "${summary[*]}" | sed 's/;/, /g')"
if [ "${#failed[@]}" -ne 0 ]; then
    echo "$result: FAILED"
    exit 1
fi
echo "$result: no crash"
