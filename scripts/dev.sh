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
  # The supervise loops' children (the worker processes) first, then the loops and the API.
  for pid in "${pids[@]}"; do pkill -TERM -P "$pid" 2>/dev/null || true; done
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

# Keep a process running: one crashed worker must not take the API and the other worker down.
supervise() {
  local name=$1; shift
  while [[ $stopping -eq 0 ]]; do
    "$@" || true
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
