#!/usr/bin/env bash
# Instructions per message in the sans-IO core, counted by callgrind: deterministic, so usable on
# a loaded machine where timings are not. Each case runs N and 2N messages; the difference over
# N leaves out the setup.  Usage: bash instructions.sh  (from bench/; needs valgrind)
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
cargo build --release -q --bin core_ops
bin="$CARGO_TARGET_DIR/release/core_ops"
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$@" 2>&1 | sed -n 's/.*Collected : //p'; }
printf '| operation | payload | instructions per message |\n|---|---:|---:|\n'
for case in "recv 16" "lend 16" "recvtext 16" "recv 1024" "recvtext 1024" "send 16" "send 1024"; do
  set -- $case
  n=$(( $2 > 1000 ? 20000 : 100000 ))
  a=$(count "$1" "$n" "$2")
  b=$(count "$1" $(( 2 * n )) "$2")
  printf '| %s | %s B | %d |\n' "$1" "$2" $(( (b - a) / n ))
done
