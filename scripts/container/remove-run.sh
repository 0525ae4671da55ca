#!/usr/bin/env bash
# Removes one run's containers and networks: those labelled tasker-bench.run=<run id>. The suite
# puts that label on every container it starts (BENCH_RUN_ID; harness/main/postgres/container.ts for
# Testcontainers, orchestrator/docker/docker-compose.yml for the compose services and network), so
# nothing else is touched: not another run's containers, not other Testcontainers containers.
#
#   scripts/container/remove-run.sh <run id>
# Exit status: 0 = nothing of the run is left; 1 = something could not be listed or removed.
set -uo pipefail

id="${1:-}"
if ! [[ "$id" =~ ^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$ ]]; then
  echo "[remove-run] usage: $0 <run id> (the BENCH_RUN_ID: 1-100 letters, digits, '.', '_' or '-')" >&2
  exit 2
fi
filter="label=tasker-bench.run=$id"
rc=0
containers="$(docker ps -aq --filter "$filter")" || { echo "[remove-run] cannot list containers ($filter)" >&2; exit 1; }
for c in $containers; do
  echo "[remove-run] removing container $c ($filter)"
  docker rm -f "$c" >/dev/null || rc=1
done
networks="$(docker network ls -q --filter "$filter")" || { echo "[remove-run] cannot list networks ($filter)" >&2; exit 1; }
for n in $networks; do
  echo "[remove-run] removing network $n ($filter)"
  docker network rm "$n" >/dev/null || rc=1
done
exit "$rc"
