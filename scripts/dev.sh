#!/usr/bin/env bash
# Run the whole service locally: API + extractor + imagegen, offline providers, local storage.
# A worker that exits is started again (after a short pause); Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
export FILMASSETS_ENVIRONMENT=${FILMASSETS_ENVIRONMENT:-development}
scripts/ensure-services.sh "$(.venv/bin/python -m shared.cli dbname)"
.venv/bin/alembic upgrade head

pids=()
stopping=0
cleanup() {
  stopping=1
  trap - INT TERM EXIT
  echo "[dev] stopping..."
  # The API, and the supervise loops, which stop their worker (see supervise).
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

# Keep a process running: one crashed worker must not take the API and the other worker down.
# The loop runs in a subshell: a TERM sent to it directly (``pkill -f scripts/dev.sh`` reaches every
# copy of this script at once) must stop its worker too, not leave it running without a parent.
supervise() {
  local name=$1; shift
  local child=""
  trap '[[ -n $child ]] && kill -TERM "$child" 2>/dev/null; wait 2>/dev/null; exit 0' INT TERM
  while [[ $stopping -eq 0 ]]; do
    "$@" &
    child=$!
    wait "$child" || true
    child=""
    [[ $stopping -eq 0 ]] || break
    echo "[dev] $name exited; restarting in 2 s"
    sleep 2
  done
}

.venv/bin/python -m services.api & pids+=($!)
supervise extractor .venv/bin/python -m services.extractor & pids+=($!)
supervise imagegen .venv/bin/python -m services.imagegen & pids+=($!)
echo "[dev] API on $(.venv/bin/python -m shared.cli base-url) (docs at /docs); get a token with: make token"
wait "${pids[0]}"
