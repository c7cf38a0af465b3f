#!/usr/bin/env bash
# The Autobahn TestSuite against both adapters. Each adapter gets its own fuzzing server on its
# own port, and the two run in parallel: the server is single-threaded Python and the
# permessage-deflate cases (12.*, 13.*) keep it busy for about 20 minutes per client, so two
# cores halve the wall time. Both reports are then checked together, and the README's
# conformance table is regenerated from them.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -q -p ws-proto-std --example autobahn_std
cargo build --release -q -p ws-proto-tokio --example autobahn_tokio
cargo build --release -q -p ws-proto-tokio --example autobahn_streaming

run() { # agent port example [case patterns]
  AUTOBAHN_PORT="$2" AUTOBAHN_OUT=".autobahn/$1" AUTOBAHN_README="" AUTOBAHN_CASES="${4:-}" \
    bash scripts/autobahn/run.sh "$1=target/release/examples/$3 ws://127.0.0.1:$2 $1" \
    >".autobahn/$1.log" 2>&1
}
mkdir -p .autobahn
status=0
run ws-proto-std 9001 autobahn_std &
std_pid=$!
run ws-proto-tokio 9002 autobahn_tokio &
tokio_pid=$!
# The streaming agent (every message received and echoed in chunks) on the cases without
# compression: 9.*'s large messages and 6.*'s UTF-8 are what streaming must get right. They
# take about two minutes, beside the other two.
run ws-proto-streaming 9003 autobahn_streaming "1.*,2.*,3.*,4.*,5.*,6.*,7.*,8.*,9.*,10.*" &
streaming_pid=$!
wait "$std_pid" || status=1
wait "$tokio_pid" || status=1
wait "$streaming_pid" || status=1
for agent in ws-proto-std ws-proto-tokio ws-proto-streaming; do
  echo "---- $agent"
  grep -v '^autobahn: client .*: target/' ".autobahn/$agent.log" | tail -n 60
done

# One report over both runs, for the README table.
merged=.autobahn/merged
rm -rf "$merged"
mkdir -p "$merged"
python3 - "$merged" .autobahn/ws-proto-std/clients .autobahn/ws-proto-tokio/clients <<'PY'
import json, os, shutil, sys
out, sources = sys.argv[1], sys.argv[2:]
index = {}
for src in sources:
    path = os.path.join(src, "index.json")
    if not os.path.exists(path):
        continue
    index.update(json.load(open(path)))
    for name in os.listdir(src):
        if name.endswith(".json") and name != "index.json":
            shutil.copy(os.path.join(src, name), out)
json.dump(index, open(os.path.join(out, "index.json"), "w"))
PY
python3 scripts/autobahn/report.py "$merged/index.json" ws-proto-std ws-proto-tokio \
  --expected-cases "$(cat .autobahn/ws-proto-std/case-count 2>/dev/null || echo 0)" \
  --suite-version "$(cat .autobahn/ws-proto-std/suite-version 2>/dev/null || echo unknown)" \
  --readme README.md || status=1
exit "$status"
