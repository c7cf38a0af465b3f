#!/usr/bin/env bash
# Builds every fuzz target and runs each for FUZZ_SECONDS (default 60) on the stable toolchain,
# starting from the checked-in seeds. A crash fails the script and leaves the input in
# fuzz/artifacts/TARGET/. For a long local run: FUZZ_SECONDS=3600 bash scripts/fuzz.sh, or
# `cd fuzz && cargo fuzz run --sanitizer none ops corpus/ops seeds/ops -- -max_total_time=3600`.
# (`RUSTC_BOOTSTRAP=1 cargo fuzz run TARGET` adds AddressSanitizer.)
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
seconds="${FUZZ_SECONDS:-60}"
cargo fuzz build --sanitizer none
for target in $(cargo fuzz list); do
  mkdir -p "corpus/$target" "seeds/$target"
  echo "fuzzing $target for ${seconds}s"
  cargo fuzz run --sanitizer none "$target" "corpus/$target" "seeds/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 2>&1 | grep -E '^(stat::number_of_executed_units|stat::new_units_added|Done|==|SUMMARY)|panicked|crash' || true
  # grep hides the progress lines; the pipeline status is cargo fuzz's.
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then
    echo "fuzz target $target failed; see fuzz/artifacts/$target/" >&2
    exit 1
  fi
done
