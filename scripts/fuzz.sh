#!/usr/bin/env bash
# Runs each cargo-fuzz target in fuzz/ for SECONDS (default 30), or only the TARGETs named.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# cargo-fuzz wants a nightly compiler for its -Z flags; the one stable toolchain here takes
# them with RUSTC_BOOTSTRAP=1. The targets' code is safe Rust, so AddressSanitizer finds
# nothing libFuzzer's panics would not: `--sanitizer none` keeps the build plain and fast,
# and 16 codegen units (not cargo-fuzz's 1) build it in a fraction of the time on two
# cores, for somewhat fewer executions in the seconds each target runs.
# New inputs go to a scratch corpus (the committed seeds in fuzz/seeds/TARGET are read, not
# written); a failing input is kept in fuzz/artifacts/TARGET and the script fails.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

secs="${1:-30}"
shift || true

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi

export RUSTC_BOOTSTRAP=1
export CARGO_INCREMENTAL=0

targets=("$@")
if ((${#targets[@]} == 0)); then
  mapfile -t targets < <(cd fuzz && cargo fuzz list)
fi

scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT

for target in "${targets[@]}"; do
  echo "==> fuzz $target for ${secs}s"
  mkdir -p "$scratch/$target"
  seeds=()
  [[ -d "fuzz/seeds/$target" ]] && seeds=("fuzz/seeds/$target")
  (cd fuzz && cargo fuzz run --sanitizer none --codegen-units 16 "$target" "$scratch/$target" \
    "${seeds[@]/#/../}" -- -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1)
done
