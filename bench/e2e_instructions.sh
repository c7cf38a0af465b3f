#!/usr/bin/env bash
# Instructions per message on the client's thread, end to end (tokio or blocking I/O included),
# counted by callgrind on `e2e`: deterministic, so usable on a loaded or noisy machine. Each
# cell runs a scenario at two sizes; the difference over the difference in messages (warm-up
# included) leaves out setup. Only user-space instructions count: the kernel's share of a
# syscall does not show here, see e2e's CPU column for it. valgrind counts every byte a
# `rep movsb`/`rep stosb` moves as an instruction, so a memcpy or memset weighs more here than
# its time. Echo counts vary by about 10% between runs: how often a read finds nothing yet
# depends on timing.
# Usage: bash e2e_instructions.sh  (from bench/; needs valgrind; about 15 minutes)
# CLIENTS="ws-proto-tokio sockudo-ws" bash e2e_instructions.sh  for some clients only.
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-/work/target-bench}"
cargo build --release -q --bin e2e
bin="$CARGO_TARGET_DIR/release/e2e"
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
read -r -a clients <<<"${CLIENTS:-ws-proto-tokio ws-proto-std fastwebsockets tokio-websockets tokio-tungstenite sockudo-ws wtx yawc raw}"
# scenario filter, its base message count in e2e, the two scales
scenarios=("recv 16 B:1000000:0.01:0.02" "recv 1 KiB:200000:0.02:0.04" "send 16 B:1000000:0.01:0.02" "echo:20000:0.1:0.2")
# The client thread is the main thread: callgrind's part 1 with --separate-threads.
count() {
  BENCH_CLIENTS="$1" BENCH_SCENARIOS="$2" BENCH_ROUNDS=1 BENCH_SCALE="$3" \
    valgrind --tool=callgrind --separate-threads=yes --callgrind-out-file="$out/cg" \
    "$bin" >/dev/null 2>&1
  sed -n 's/^summary: //p' "$out/cg-01"
  rm -f "$out"/cg*
}
# e2e's message count at a scale, plus its warm-up run (a fiftieth, at least one).
messages() { python3 -c "n=max(round($1*$2),1); print(n+max(n//50,1))"; }
printf '| client |'; for s in "${scenarios[@]}"; do printf ' %s |' "${s%%:*}"; done; echo
printf '|---|'; for _ in "${scenarios[@]}"; do printf -- '---:|'; done; echo
for c in "${clients[@]}"; do
  printf '| %s |' "$c"
  for s in "${scenarios[@]}"; do
    IFS=: read -r name base lo hi <<<"$s"
    a=$(count "$c" "$name" "$lo"); b=$(count "$c" "$name" "$hi")
    na=$(messages "$base" "$lo"); nb=$(messages "$base" "$hi")
    printf ' %d |' $(( (b - a) / (nb - na) ))
  done
  echo
done
