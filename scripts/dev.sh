#!/usr/bin/env bash
# Run the whole service locally: API + extractor + imagegen, offline providers, local storage.
# Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
export FILMASSETS_ENVIRONMENT=${FILMASSETS_ENVIRONMENT:-development}
scripts/ensure-services.sh filmassets
.venv/bin/alembic upgrade head

pids=()
cleanup() {
  trap - INT TERM EXIT
  echo "[dev] stopping..."
  kill -TERM "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'cleanup; exit 0' INT TERM
trap cleanup EXIT

.venv/bin/python -m services.api & pids+=($!)
.venv/bin/arq services.extractor.worker.WorkerSettings & pids+=($!)
.venv/bin/arq services.imagegen.worker.WorkerSettings & pids+=($!)
echo "[dev] API on ${FILMASSETS_PUBLIC_BASE_URL:-http://127.0.0.1:8000} (docs at /docs); get a token with: make token"
wait -n "${pids[@]}"
