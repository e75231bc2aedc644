#!/usr/bin/env bash
# Quick start: set up .venv, start the local engine, run the flagship DAG (denoise -> captions ->
# publish) end to end through the triggerer path (dag.test() runs the triggers in-line), print where
# the deliverables are. Everything lives under .demo/ (Airflow home, engine data, outputs, logs);
# the engine is stopped on exit. Usage: bash scripts/demo.sh
# Everything it writes is private to the user (umask 077): the engine's data dir and the ready file
# hold the access key secret; the logs never print it. IPROD_DEMO_DIR puts it all elsewhere than .demo/;
# IPROD_DEMO_SKIP_SETUP=1 skips setting up .venv (tests/test_no_secrets.py runs the demo offline).
set -euo pipefail
umask 077
cd "$(dirname "$0")/.."
ROOT=$PWD
DEMO=${IPROD_DEMO_DIR:-$ROOT/.demo}
STARTED=$(date +%s)

step() { printf '\n==> [%3d s] %s\n' "$(($(date +%s) - STARTED))" "$*"; }
fail_with_log() {  # $1: what failed, $2: its log
  echo "error: $1; last lines of $2:" >&2
  tail -n 40 "$2" >&2 || true
  exit 1
}

if [ "${IPROD_DEMO_SKIP_SETUP:-0}" != 1 ]; then
  step "Setting up .venv (Airflow, the provider, the local engine's media tools)"
  bash scripts/setup.sh
fi

mkdir -p "$DEMO/logs"
chmod -R go-rwx "$DEMO"  # an older run may have left readable files (its engine log printed the secret)
export AIRFLOW_HOME=$DEMO/airflow-home
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__CORE__DAGS_FOLDER=$ROOT/dags
export AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING
export NO_PROXY=127.0.0.1,localhost no_proxy=127.0.0.1,localhost  # the engine is local: no proxy
mkdir -p "$AIRFLOW_HOME"

step "Preparing a throwaway Airflow home in ${AIRFLOW_HOME#"$ROOT"/}"
.venv/bin/airflow db migrate >"$DEMO/logs/db-migrate.log" 2>&1 ||
  fail_with_log "airflow db migrate failed" "$DEMO/logs/db-migrate.log"

step "Starting the local engine"
READY=$DEMO/engine.json
rm -f "$READY"
.venv/bin/airflow-iprod local start --port 0 --data-dir "$DEMO/engine" --ready-file "$READY" \
  >"$DEMO/logs/engine.log" 2>&1 &
ENGINE_PID=$!
stop_engine() {
  if kill -0 "$ENGINE_PID" 2>/dev/null; then
    kill -TERM "$ENGINE_PID" 2>/dev/null || true
    wait "$ENGINE_PID" 2>/dev/null || true
  fi
}
trap stop_engine EXIT
trap 'exit 130' INT TERM
for _ in $(seq 1 300); do  # up to 60 s
  [ -s "$READY" ] && break
  kill -0 "$ENGINE_PID" 2>/dev/null || fail_with_log "the engine exited" "$DEMO/logs/engine.log"
  sleep 0.2
done
[ -s "$READY" ] || fail_with_log "the engine did not come up within 60 s" "$DEMO/logs/engine.log"
# the connection the flagship uses by default (conn id iprod_local), as an environment variable
AIRFLOW_CONN_IPROD_LOCAL=$(.venv/bin/python -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["connection"]))' "$READY")
export AIRFLOW_CONN_IPROD_LOCAL
ENDPOINT=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["endpoint"])' "$READY")
echo "engine on http://$ENDPOINT (pid $ENGINE_PID, data in ${DEMO#"$ROOT"/}/engine)"

step "Running the flagship DAG iprod_denoise_then_captions (dag.test: triggers run in-line)"
export IPROD_OUTPUT_DIR=$DEMO/output
export IPROD_POLL_INTERVAL=${IPROD_POLL_INTERVAL:-0.5}  # local jobs take seconds, not minutes
RUN_LOG=$DEMO/logs/dag-run.log
.venv/bin/python dags/denoise_then_captions.py >"$RUN_LOG" 2>&1 ||
  fail_with_log "the DAG run failed" "$RUN_LOG"

RUN_DIR=$(ls -td "$IPROD_OUTPUT_DIR"/*/ 2>/dev/null | head -n 1)
[ -n "$RUN_DIR" ] && [ -f "$RUN_DIR/summary.txt" ] ||
  fail_with_log "the DAG ran but wrote no summary under $IPROD_OUTPUT_DIR" "$RUN_LOG"

step "Done in $(($(date +%s) - STARTED)) s"
cat "$RUN_DIR/summary.txt"
echo
echo "Logs: ${DEMO#"$ROOT"/}/logs (DAG run: dag-run.log, engine: engine.log)."
echo "Run the tests with: bash scripts/test.sh"
