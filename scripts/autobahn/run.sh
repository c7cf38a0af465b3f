#!/usr/bin/env bash
# Autobahn|TestSuite conformance run for WebSocket *clients* (RFC 6455).
#
# usage: scripts/autobahn/run.sh NAME=COMMAND [NAME=COMMAND ...]
#
#   Each argument is one client under test: NAME is its agent name, COMMAND a
#   shell command (run with `bash -c` from the repo root) that connects to
#   ws://127.0.0.1:9001, fetches /getCaseCount, runs every case via
#   /runCase?case=N&agent=NAME and finally calls /updateReports?agent=NAME.
#   Quote each argument as a whole, e.g.
#
#     scripts/autobahn/run.sh \
#       'ws-proto-std=cargo run --release -q -p ws-proto-std --example autobahn_std -- ws://127.0.0.1:9001 ws-proto-std'
#
# Installs the suite (Python 2.7 only) into .autobahn/suite on first use, starts
# the fuzzing server on 127.0.0.1:9001 for the duration of the run, runs the
# clients one after the other, then checks .autobahn/reports/clients/index.json
# with report.py and exits with its status (non-zero too if a client command
# failed or timed out).
#
# Environment (all optional):
#   AUTOBAHN_TIMEOUT          overall time budget in seconds for all clients (default 2400)
#   AUTOBAHN_PYTHON2          Python 2.7 interpreter (default: pyenv's 2.7.x, else python2.7)
#   AUTOBAHN_SERVER_WAIT      seconds to wait for the server to listen (default 60)
#   AUTOBAHN_README           file whose autobahn table to update (default README.md,
#                             relative to the repo root; empty: don't touch any README)
#   AUTOBAHN_REPORT_ARGS      extra arguments for report.py (word-split)
#   AUTOBAHN_PORT             port of the fuzzing server (default 9001), so that several runs
#                             can go in parallel, each with its own server
#   AUTOBAHN_OUT              folder for this run's spec, server log and reports
#                             (default .autobahn/reports)
#   AUTOBAHN_CASES            comma-separated case patterns to run (default: the spec's, all)
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
cd "$ROOT"   # fuzzingserver.json's "outdir" is relative to the repo root

HOST=127.0.0.1
PORT="${AUTOBAHN_PORT:-9001}"
URL="ws://$HOST:$PORT"
STATE="$ROOT/.autobahn"
SUITE="$STATE/suite"
OUT="${AUTOBAHN_OUT:-$STATE/reports}"
REPORTS="$OUT/clients"
SERVER_LOG="$OUT/fuzzingserver.log"
SPEC="$OUT/spec.json"
REQS="$HERE/requirements-py27.txt"
TIMEOUT_TOTAL="${AUTOBAHN_TIMEOUT:-2400}"
SERVER_WAIT="${AUTOBAHN_SERVER_WAIT:-60}"
README="${AUTOBAHN_README-README.md}"

log() { printf 'autobahn: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 2; }

[ "$#" -ge 1 ] || die "usage: $0 NAME=COMMAND [NAME=COMMAND ...]"
agents=()
for arg in "$@"; do
  case "$arg" in
    *=*) name="${arg%%=*}" ;;
    *) die "client argument must be NAME=COMMAND, got: $arg" ;;
  esac
  [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "bad agent name '$name' (use letters, digits, . _ -)"
  [ -n "${arg#*=}" ] || die "empty command for agent '$name'"
  agents+=("$name")
done

command -v python3 >/dev/null || die "python3 not found (needed for report.py)"
command -v timeout >/dev/null || die "timeout(1) not found (coreutils)"

# --- find Python 2.7 -------------------------------------------------------
find_python2() {
  if [ -n "${AUTOBAHN_PYTHON2:-}" ]; then
    echo "$AUTOBAHN_PYTHON2"; return
  fi
  if command -v pyenv >/dev/null 2>&1; then
    local v
    v="$(pyenv versions --bare 2>/dev/null | grep -E '^2\.7\.[0-9]+$' | sort -t. -k3,3n | tail -n1 || true)"
    if [ -n "$v" ]; then
      echo "$(pyenv prefix "$v")/bin/python"; return
    fi
  fi
  command -v python2.7 || command -v python2 || true
}
PY2="$(find_python2)"
[ -n "$PY2" ] || die "no Python 2.7 found (set AUTOBAHN_PYTHON2 or install 2.7.18 with pyenv)"
"$PY2" -c 'import sys; sys.exit(0 if sys.version_info[:2] == (2, 7) else 1)' 2>/dev/null \
  || die "$PY2 is not Python 2.7"

# --- install the suite (idempotent) ----------------------------------------
mkdir -p "$STATE"
# Parallel runs share one installation: the first installs, the others wait for it.
exec 9>"$STATE/install.lock"
flock 9
stamp="$(cat "$REQS" <("$PY2" -c 'import sys; print(sys.version)') | sha256sum | cut -d' ' -f1)"
if [ "$(cat "$SUITE/.stamp" 2>/dev/null || true)" != "$stamp" ]; then
  log "installing Autobahn|TestSuite into ${SUITE#"$ROOT"/} (one-time, ~1 min)"
  mkdir -p "$STATE"
  tmp="$STATE/suite.tmp.$$"
  rm -rf "$tmp"
  if ! PYTHONNOUSERSITE=1 "$PY2" -m pip install --no-input --disable-pip-version-check \
        --no-warn-script-location --target "$tmp" -r "$REQS" >"$STATE/install.log" 2>&1; then
    tail -n 60 "$STATE/install.log" >&2
    rm -rf "$tmp"
    die "pip install failed (full log: .autobahn/install.log)"
  fi
  # zope.interface relies on a namespace .pth file, which --target does not process.
  touch "$tmp/zope/__init__.py"
  PYTHONNOUSERSITE=1 PYTHONPATH="$tmp" "$PY2" -c 'import zope.interface, autobahntestsuite.wstest' \
    || { rm -rf "$tmp"; die "installed suite does not import"; }
  echo "$stamp" >"$tmp/.stamp"
  rm -rf "$SUITE"
  mv "$tmp" "$SUITE"
fi
flock -u 9
SUITE_VERSION="$(PYTHONNOUSERSITE=1 PYTHONPATH="$SUITE" "$PY2" -c \
  'import autobahntestsuite; print(autobahntestsuite.__version__)')"

# --- start the fuzzing server ----------------------------------------------
port_open() {
  python3 - "$HOST" "$PORT" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(1)
try:
    s.connect((sys.argv[1], int(sys.argv[2])))
except OSError:
    sys.exit(1)
finally:
    s.close()
PY
}
port_open && die "$HOST:$PORT is already in use (a stale fuzzing server?)"

rm -rf "$OUT"
mkdir -p "$REPORTS"
# The checked-in spec, with this run's port and report folder.
python3 - "$HERE/fuzzingserver.json" "$SPEC" "$URL" "$REPORTS" "${AUTOBAHN_CASES:-}" <<'PY'
import json, sys
spec = json.load(open(sys.argv[1]))
spec["url"], spec["outdir"] = sys.argv[3], sys.argv[4]
if sys.argv[5]:
    spec["cases"] = sys.argv[5].split(",")
json.dump(spec, open(sys.argv[2], "w"), indent=2)
PY
SERVER_PID=""
CLIENT_PID=""
# shellcheck disable=SC2329  # invoked by the EXIT trap
cleanup() {
  local rc=$?
  if [ -n "$CLIENT_PID" ] && kill -0 "$CLIENT_PID" 2>/dev/null; then
    kill -TERM "$CLIENT_PID" 2>/dev/null || true   # timeout(1) passes it on
    wait "$CLIENT_PID" 2>/dev/null || true
  fi
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# fuzzingserver_py27.py is `wstest` bound to 127.0.0.1 only (plain wstest binds
# all interfaces); --webport 0: no embedded HTTP report server (port 8080).
PYTHONNOUSERSITE=1 PYTHONUNBUFFERED=1 PYTHONPATH="$SUITE" \
  "$PY2" "$HERE/fuzzingserver_py27.py" -m fuzzingserver -s "$SPEC" --webport 0 \
  >"$SERVER_LOG" 2>&1 </dev/null &
SERVER_PID=$!

deadline=$((SECONDS + SERVER_WAIT))
until port_open; do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    tail -n 40 "$SERVER_LOG" >&2
    die "fuzzing server exited during startup"
  fi
  if [ "$SECONDS" -ge "$deadline" ]; then
    tail -n 40 "$SERVER_LOG" >&2
    die "fuzzing server did not listen on $HOST:$PORT within ${SERVER_WAIT}s"
  fi
  sleep 0.2
done
CASE_COUNT="$(python3 "$HERE/wsctl.py" "$URL" case-count)"
# For a caller that checks several runs' reports together.
echo "$CASE_COUNT" >"$OUT/case-count"
echo "$SUITE_VERSION" >"$OUT/suite-version"
log "fuzzing server $SUITE_VERSION up on $URL (pid $SERVER_PID, $CASE_COUNT cases, log .autobahn/fuzzingserver.log)"

# --- run the clients ---------------------------------------------------------
client_failed=0
run_start=$SECONDS
for arg in "$@"; do
  name="${arg%%=*}"
  cmd="${arg#*=}"
  remaining=$((TIMEOUT_TOTAL - (SECONDS - run_start)))
  if [ "$remaining" -le 0 ]; then
    log "client $name: not started, overall timeout of ${TIMEOUT_TOTAL}s used up"
    client_failed=1
    continue
  fi
  log "client $name: $cmd"
  t0=$SECONDS
  # timeout(1) kills the command's whole process group (cargo + the example).
  timeout --kill-after=10 "$remaining" bash -c "$cmd" </dev/null &
  CLIENT_PID=$!
  rc=0
  wait "$CLIENT_PID" || rc=$?
  CLIENT_PID=""
  if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
    log "client $name: TIMED OUT (overall budget ${TIMEOUT_TOTAL}s) after $((SECONDS - t0))s"
    client_failed=1
  elif [ "$rc" -ne 0 ]; then
    log "client $name: exited with status $rc after $((SECONDS - t0))s"
    client_failed=1
  else
    log "client $name: done in $((SECONDS - t0))s"
  fi
  kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 40 "$SERVER_LOG" >&2; die "fuzzing server died"; }
done

# Write the reports ourselves too, so that results exist even for a client that
# died before calling /updateReports (the server reports every agent it has seen).
python3 "$HERE/wsctl.py" "$URL" update-reports "${agents[0]}" \
  || die "could not make the fuzzing server write its reports"

# --- check -------------------------------------------------------------------
# permessage-deflate is implemented: UNIMPLEMENTED is a failure for every case.
report_args=(--expected-cases "$CASE_COUNT" --suite-version "$SUITE_VERSION")
[ -z "$README" ] || report_args+=(--readme "$README")
set +e
# shellcheck disable=SC2086
python3 "$HERE/report.py" "$REPORTS/index.json" "${agents[@]}" "${report_args[@]}" \
  ${AUTOBAHN_REPORT_ARGS:-}
status=$?
set -e
if [ "$status" -eq 0 ] && [ "$client_failed" -ne 0 ]; then
  log "report passed, but a client command failed or timed out (see above)"
  status=1
fi
exit "$status"
