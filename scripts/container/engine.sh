#!/usr/bin/env bash
# Makes a Docker engine answer on this machine, or says in one line why it cannot.
#
#   scripts/container/engine.sh          start (idempotent): done if `docker info` already works;
#                                        else install docker.io, docker-compose and debootstrap
#                                        from Debian (apt-get) when missing and start dockerd in
#                                        the background, waiting until it answers
#   scripts/container/engine.sh stop     stop the dockerd this script started (and only that one)
#   scripts/container/engine.sh status   print whether an engine answers and who started it
#
# Containers are reached on 127.0.0.1: Testcontainers would otherwise pick the bridge gateway on a
# machine with /.dockerenv (such as this project's), so set TESTCONTAINERS_HOST_OVERRIDE=localhost
# when using the engine this script starts.
# State (dockerd's log, the pid of the dockerd we started) lives in $TASKER_ENGINE_STATE_DIR,
# default <repo>/.tmp/container (gitignored). A dockerd someone else started is used, never stopped.
# Exit status: 0 = engine answers; 1 = it cannot (the last line of stderr says why).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
STATE_DIR="${TASKER_ENGINE_STATE_DIR:-$ROOT/.tmp/container}"
PID_FILE="$STATE_DIR/dockerd.pid"
LOG_FILE="$STATE_DIR/dockerd.log"
START_TIMEOUT_S="${TASKER_ENGINE_START_TIMEOUT_S:-60}"
STOP_TIMEOUT_S=30

say() { echo "[engine] $*" >&2; }
fail() { echo "[engine] cannot start a container engine: $*" >&2; exit 1; }

engine_answers() { timeout 10 docker info >/dev/null 2>&1; }

our_pid() {
  [[ -f "$PID_FILE" ]] || return 1
  local pid
  pid="$(cat "$PID_FILE")"
  # Only a live process that is still a dockerd counts (pids are reused).
  [[ "$pid" =~ ^[0-9]+$ ]] && [[ "$(cat "/proc/$pid/comm" 2>/dev/null)" == dockerd ]] && echo "$pid"
}

install_missing() {
  local want=()
  command -v dockerd >/dev/null 2>&1 || want+=(docker.io)
  command -v docker-compose >/dev/null 2>&1 || want+=(docker-compose)
  command -v debootstrap >/dev/null 2>&1 || want+=(debootstrap)
  ((${#want[@]} == 0)) && return 0
  [[ "$(id -u)" == 0 ]] || fail "${want[*]} not installed and not root (install them: apt-get install ${want[*]})"
  command -v apt-get >/dev/null 2>&1 || fail "${want[*]} not installed and no apt-get on this machine"
  say "installing ${want[*]} (apt-get)…"
  local t0=$SECONDS
  mkdir -p "$STATE_DIR"
  if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${want[@]}"; } >"$STATE_DIR/apt.log" 2>&1; then
    tail -n 5 "$STATE_DIR/apt.log" >&2
    fail "apt-get install ${want[*]} failed (log: $STATE_DIR/apt.log)"
  fi
  say "installed in $((SECONDS - t0)) s"
}

start() {
  if engine_answers; then
    say "engine already answers ($(docker info --format '{{.ServerVersion}}' 2>/dev/null))"
    return 0
  fi
  install_missing
  command -v dockerd >/dev/null 2>&1 || fail "dockerd not found after installing docker.io"
  if [[ -S /var/run/docker.sock ]] && ! our_pid >/dev/null; then
    # A socket nobody answers on: a dockerd that died. Its pidfile would block a new one.
    if [[ -f /var/run/docker.pid ]] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then rm -f /var/run/docker.pid; fi
  fi
  mkdir -p "$STATE_DIR"
  local t0=$SECONDS
  if ! our_pid >/dev/null; then
    say "starting dockerd (log: $LOG_FILE)"
    # setsid: not in our process group, so a Ctrl-C in the shell that ran this does not kill it;
    # it is stopped by `engine.sh stop`. --ip: published ports bind 127.0.0.1 unless a port
    # mapping names another address (this project's traffic stays on loopback).
    setsid dockerd --ip=127.0.0.1 >"$LOG_FILE" 2>&1 </dev/null &
    echo $! >"$PID_FILE"
  fi
  local deadline=$((SECONDS + START_TIMEOUT_S))
  until engine_answers; do
    if ! our_pid >/dev/null; then
      tail -n 5 "$LOG_FILE" >&2 || true
      rm -f "$PID_FILE"
      fail "dockerd exited during start-up (log: $LOG_FILE)"
    fi
    if ((SECONDS >= deadline)); then
      tail -n 5 "$LOG_FILE" >&2 || true
      stop_ours
      fail "dockerd did not answer within ${START_TIMEOUT_S} s (log: $LOG_FILE)"
    fi
    sleep 0.5
  done
  say "dockerd $(docker info --format '{{.ServerVersion}}' 2>/dev/null) answers after $((SECONDS - t0)) s (pid $(cat "$PID_FILE"))"
}

stop_ours() {
  local pid
  if ! pid="$(our_pid)"; then
    rm -f "$PID_FILE"
    say "no dockerd started by this script is running; nothing to stop"
    return 0
  fi
  say "stopping dockerd pid $pid (it stops its containers)…"
  kill -TERM "$pid" 2>/dev/null || true
  local deadline=$((SECONDS + STOP_TIMEOUT_S))
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    say "dockerd pid $pid still running after ${STOP_TIMEOUT_S} s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$PID_FILE"
  say "stopped"
}

status() {
  if engine_answers; then
    local pid
    if pid="$(our_pid)"; then echo "engine answers; dockerd pid $pid was started by engine.sh"; else echo "engine answers; started by someone else"; fi
  else
    echo "no engine answers"
    return 1
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop_ours ;;
  status) status ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
