#!/usr/bin/env bash
# CI stage: the container path for real (called by .ci/run after `npm test`).
#   1. a container engine (scripts/container/engine.sh)
#   2. the local images, built without a registry (scripts/container/build-images.sh)
#   3. the container tests with the engine up (test/container-*.test.ts)
#   4. the benches on PostgreSQL in a container through Testcontainers (BENCH_POSTGRES=container);
#      with PGMQ_SOURCE_DIR (a pgmq checkout) also on an image with the real pgmq extension
#   5. the end-to-end bench against the compose orchestrator (BENCH_ORCHESTRATOR=compose)
# When no engine starts or the images cannot be built, TASKER_CONTAINER_STAGE decides:
#   auto (default)  on CI (CI set and not "false") the stage FAILS; elsewhere it is skipped, saying why
#   required        the stage fails wherever the container path cannot run
#   skip            the stage is skipped at once, on purpose (exit 0); CI stays green without it
# Always cleans up what it started — the containers and networks labelled with this run's id
# (BENCH_RUN_ID, set here; every container the suite starts carries tasker-bench.run=<id>), and
# the dockerd if this stage started it — also on Ctrl-C / SIGTERM. Each step is time-bounded.
set -uo pipefail
cd "$(dirname "$0")/.."

STAGE_T0=$SECONDS
RESULTS_DIR=results/container
PG_IMAGE=tasker-bench/postgres:15-local
PG_PGMQ_IMAGE=tasker-bench/postgres:15-pgmq-local
# Reach containers' mapped ports on loopback: Testcontainers would pick the bridge gateway on a
# machine with /.dockerenv (as this one), and engine.sh's dockerd publishes on 127.0.0.1 only.
export TESTCONTAINERS_HOST_OVERRIDE="${TESTCONTAINERS_HOST_OVERRIDE:-localhost}"
# The project's Node 24 running Vitest (no npx in between, so signals reach Vitest itself).
VITEST=(node_modules/.bin/node node_modules/vitest/vitest.mjs)
say() { echo "[container-stage] $*"; }

MODE="${TASKER_CONTAINER_STAGE:-auto}"
case "$MODE" in
  auto | required | skip) ;;
  *) say "TASKER_CONTAINER_STAGE=$MODE is not one of auto|required|skip"; exit 2 ;;
esac
if [[ "$MODE" == skip ]]; then
  say "SKIPPED on purpose (TASKER_CONTAINER_STAGE=skip): the container path was not exercised"
  exit 0
fi
on_ci=false
[[ -n "${CI:-}" && "${CI:-}" != false ]] && on_ci=true

# The container path cannot run here: a failure on CI (or when required), else a loud skip.
unavailable() {
  if [[ "$MODE" == required || "$on_ci" == true ]]; then
    say "FAILED: $1; the container path was not exercised ($([[ "$MODE" == required ]] && echo "TASKER_CONTAINER_STAGE=required" || echo "on CI")). To skip this stage on purpose, set TASKER_CONTAINER_STAGE=skip"
    exit 1
  fi
  say "SKIPPED: $1; the container path was not exercised (on CI this fails unless TASKER_CONTAINER_STAGE=skip)"
  exit 0
}

# Every container the suite starts in this stage carries tasker-bench.run=$BENCH_RUN_ID; the
# cleanup removes those and nothing else (not other runs', not other Testcontainers containers).
export BENCH_RUN_ID="${BENCH_RUN_ID:-container-stage-$$-$(date +%s)}"

engine_was_up=false
timeout 10 docker info >/dev/null 2>&1 && engine_was_up=true

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # What the suite itself did not stop (an interrupted run): this run's containers and networks.
  if timeout 10 docker info >/dev/null 2>&1; then scripts/container/remove-run.sh "$BENCH_RUN_ID" 2>&1 | sed 's/^/  /'; fi
  if [[ "$engine_was_up" == false ]]; then scripts/container/engine.sh stop || true; fi
  say "done in $((SECONDS - STAGE_T0)) s (exit $rc)"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# step LABEL SECONDS COMMAND…: runs COMMAND bounded in time, prints its duration; returns its status.
step() {
  local label="$1" limit="$2"
  shift 2
  local t0=$SECONDS rc=0
  say "▶ $label"
  # --foreground: stays in this process group, so a Ctrl-C reaches the command (whose own
  # handlers stop what it started) and not only this script.
  timeout --foreground --kill-after=20 "$limit" "$@" || rc=$?
  if ((rc == 124 || rc == 137)); then say "✗ $label: timed out after ${limit} s"; else say "$( ((rc == 0)) && echo ✓ || echo ✗) $label: $((SECONDS - t0)) s"; fi
  return "$rc"
}

if ! engine_msg="$(timeout 300 scripts/container/engine.sh 2>&1)"; then
  echo "$engine_msg" | sed 's/^/  /'
  unavailable "$(echo "$engine_msg" | tail -n 1 | sed 's/^\[engine\] //')"
fi
echo "$engine_msg" | sed 's/^/  /'
say "run id $BENCH_RUN_ID (label tasker-bench.run on every container this stage starts)"

# The images come from Debian's mirror: one that cannot be reached fails the stage on CI and
# skips it elsewhere (see TASKER_CONTAINER_STAGE).
if ! step "build local images (debootstrap on first use)" 900 scripts/container/build-images.sh; then
  unavailable "the local images could not be built (see above)"
fi
docker image ls --format '  {{.Repository}}:{{.Tag}} {{.Size}}' | grep tasker-bench || true

step "container tests with the engine up" 600 "${VITEST[@]}" run --project unit test/container-config.test.ts test/container-engine.test.ts || exit $?

benches=(benchmarks/event-propagation.bench.ts)
[[ -f benchmarks/sql-functions.bench.ts ]] && benches+=(benchmarks/sql-functions.bench.ts)
step "benches on PostgreSQL in a container (Testcontainers, $PG_IMAGE)" 900 \
  env BENCH_POSTGRES=container BENCH_PG_IMAGE="$PG_IMAGE" BENCH_ORCHESTRATOR=off BENCH_PROFILE=smoke \
  BENCH_RESULTS_DIR="$RESULTS_DIR/testcontainers" "${VITEST[@]}" bench --run "${benches[@]}" || exit $?

# With a pgmq checkout (PGMQ_SOURCE_DIR; build-images.sh installed it into its own image), the
# same benches on the real pgmq extension.
if [[ -n "${PGMQ_SOURCE_DIR:-}" ]]; then
  step "benches on the real pgmq extension (Testcontainers, $PG_PGMQ_IMAGE)" 900 \
    env BENCH_POSTGRES=container BENCH_PG_IMAGE="$PG_PGMQ_IMAGE" BENCH_ORCHESTRATOR=off BENCH_PROFILE=smoke \
    BENCH_RESULTS_DIR="$RESULTS_DIR/testcontainers-pgmq" "${VITEST[@]}" bench --run "${benches[@]}" || exit $?
fi

step "end-to-end bench against the compose orchestrator" 900 \
  env BENCH_POSTGRES=container BENCH_PG_IMAGE="$PG_IMAGE" BENCH_ORCHESTRATOR=compose BENCH_PROFILE=smoke \
  BENCH_RESULTS_DIR="$RESULTS_DIR/compose" "${VITEST[@]}" bench --run benchmarks/e2e-latency.bench.ts || exit $?
