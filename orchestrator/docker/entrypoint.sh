#!/bin/sh
# Entry point of tasker-bench/orchestrator:local.
#   orchestration   the API service (it applies the migrations itself before serving); its log
#                   is orchestration-<random>.log, since scaled replicas share one environment
#   worker          run one worker; TASKER_WORKER_ID defaults to worker-<random>, since scaled
#                   replicas share one environment (and, on the host network, one hostname)
#   migrate         only apply pgmq (compatible SQL or extension) and the tasker schema
#   anything else   executed as given (e.g. `node --version`)
# Configuration is the orchestrator's own environment: DATABASE_URL, TASKER_BIND_HOST,
# TASKER_PORT, OTEL_EXPORTER_OTLP_ENDPOINT, … (orchestrator/src/config.ts).
# TASKER_LOG_DIR (a mounted directory): output goes to <dir>/<orchestration-id|worker-id>.log
# instead of the container's stdout, so it outlives the container (the suite mounts its log dir).
set -eu
SRC=/app/orchestrator/src
cmd="${1:-orchestration}"
if [ $# -gt 0 ]; then shift; fi

# Eight random hex digits: names one replica among those `--scale` starts.
random_id() { od -An -N4 -tx1 /dev/urandom | tr -d ' \n'; }

# Replaces this shell with node, its output in $TASKER_LOG_DIR/$1.log when that is set.
run_node() {
  name="$1"
  shift
  if [ -n "${TASKER_LOG_DIR:-}" ]; then
    exec node "$@" >>"$TASKER_LOG_DIR/$name.log" 2>&1
  fi
  exec node "$@"
}

case "$cmd" in
  orchestration)
    run_node "orchestration-$(random_id)" "$SRC/orchestration/main.ts" "$@"
    ;;
  worker)
    if [ -z "${TASKER_WORKER_ID:-}" ]; then
      TASKER_WORKER_ID="worker-$(random_id)"
      export TASKER_WORKER_ID
    fi
    run_node "$TASKER_WORKER_ID" "$SRC/worker/main.ts" "$@"
    ;;
  migrate)
    run_node migrate /app/orchestrator/docker/migrate.ts "$@"
    ;;
  *)
    exec "$cmd" "$@"
    ;;
esac
