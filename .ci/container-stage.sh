#!/usr/bin/env bash
# CI stage: the container path for real (called by .ci/run after `npm test`).
#   1. a container engine (scripts/container/engine.sh); none can start → the stage is skipped
#      with the reason and exits 0
#   2. the local images, built without a registry (scripts/container/build-images.sh)
#   3. the container tests with the engine up (test/container-*.test.ts)
#   4. the benches on PostgreSQL in a container through Testcontainers (BENCH_POSTGRES=container)
#   5. the end-to-end bench against the compose orchestrator (BENCH_ORCHESTRATOR=compose)
# Always cleans up what it started — containers and networks created during the stage, and the
# dockerd if this stage started it — also on Ctrl-C / SIGTERM. Each step is time-bounded.
set -uo pipefail
cd "$(dirname "$0")/.."

STAGE_T0=$SECONDS
RESULTS_DIR=results/container
PG_IMAGE=tasker-bench/postgres:15-local
# Reach containers' mapped ports on loopback: Testcontainers would pick the bridge gateway on a
# machine with /.dockerenv (as this one), and engine.sh's dockerd publishes on 127.0.0.1 only.
export TESTCONTAINERS_HOST_OVERRIDE="${TESTCONTAINERS_HOST_OVERRIDE:-localhost}"
# The project's Node 24 running Vitest (no npx in between, so signals reach Vitest itself).
VITEST=(node_modules/.bin/node node_modules/vitest/vitest.mjs)
say() { echo "[container-stage] $*"; }

engine_was_up=false
timeout 10 docker info >/dev/null 2>&1 && engine_was_up=true
containers_before=""
networks_before=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if timeout 10 docker info >/dev/null 2>&1; then
    # What the suite itself did not stop (an interrupted run): containers Testcontainers or a
    # tasker-bench compose project created during this stage.
    local ids id
    ids="$( { docker ps -aq --filter label=org.testcontainers=true; docker ps -aq --filter label=com.docker.compose.project; } 2>/dev/null | sort -u)"
    for id in $ids; do
      grep -qx "$id" <<<"$containers_before" && continue
      case "$(docker inspect --format '{{index .Config.Labels "com.docker.compose.project"}}{{index .Config.Labels "org.testcontainers"}}' "$id" 2>/dev/null)" in
        tasker-bench-* | true) say "removing leftover container $id"; docker rm -f "$id" >/dev/null 2>&1 ;;
      esac
    done
    for id in $(docker network ls -q --filter label=com.docker.compose.project 2>/dev/null); do
      grep -qx "$id" <<<"$networks_before" && continue
      [[ "$(docker network inspect --format '{{index .Labels "com.docker.compose.project"}}' "$id" 2>/dev/null)" == tasker-bench-* ]] &&
        docker network rm "$id" >/dev/null 2>&1
    done
  fi
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
  say "SKIPPED: $(echo "$engine_msg" | tail -n 1 | sed 's/^\[engine\] //')"
  exit 0
fi
echo "$engine_msg" | sed 's/^/  /'
containers_before="$(docker ps -aq)"
networks_before="$(docker network ls -q)"

# The images come from Debian's mirror: a mirror that cannot be reached is the machine's problem,
# not the suite's, so the stage is skipped (loudly) rather than failed.
if ! step "build local images (debootstrap on first use)" 900 scripts/container/build-images.sh; then
  say "SKIPPED: the local images could not be built (see above); the container path was not exercised"
  exit 0
fi
docker image ls --format '  {{.Repository}}:{{.Tag}} {{.Size}}' | grep tasker-bench || true

step "container tests with the engine up" 600 "${VITEST[@]}" run --project unit test/container-config.test.ts test/container-engine.test.ts || exit $?

benches=(benchmarks/event-propagation.bench.ts)
[[ -f benchmarks/sql-functions.bench.ts ]] && benches+=(benchmarks/sql-functions.bench.ts)
step "benches on PostgreSQL in a container (Testcontainers, $PG_IMAGE)" 900 \
  env BENCH_POSTGRES=container BENCH_PG_IMAGE="$PG_IMAGE" BENCH_ORCHESTRATOR=off BENCH_PROFILE=smoke \
  BENCH_RESULTS_DIR="$RESULTS_DIR/testcontainers" "${VITEST[@]}" bench --run "${benches[@]}" || exit $?

step "end-to-end bench against the compose orchestrator" 900 \
  env BENCH_POSTGRES=container BENCH_PG_IMAGE="$PG_IMAGE" BENCH_ORCHESTRATOR=compose BENCH_PROFILE=smoke \
  BENCH_RESULTS_DIR="$RESULTS_DIR/compose" "${VITEST[@]}" bench --run benchmarks/e2e-latency.bench.ts || exit $?
