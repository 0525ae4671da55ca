#!/usr/bin/env bash
# Builds the suite's container images locally, from Debian's packages, without any registry:
#
#   tasker-bench/postgres:15-local      Debian bookworm (debootstrap minbase) + postgresql-15, with
#                                       scripts/container/postgres/entrypoint.sh (honours what
#                                       Testcontainers' PostgreSqlContainer sets). No pgmq extension
#                                       (Debian has none): the suite installs its pgmq-compatible SQL.
#   tasker-bench/postgres:15-pgmq-local with PGMQ_SOURCE_DIR (a pgmq checkout, e.g. v1.5.1; the repo
#                                       root or its pgmq-extension/): the above plus the real pgmq
#                                       extension installed from it (control file + versioned SQL,
#                                       as its Makefile does; pure-SQL pgmq only). Use it with
#                                       BENCH_POSTGRES=container BENCH_PG_IMAGE=tasker-bench/postgres:15-pgmq-local
#   tasker-bench/orchestrator:local     the above + the project's Node 24 binary + the reference
#                                       orchestrator (orchestrator/) and its production packages only;
#                                       entrypoint: orchestration | worker | migrate
#
#   scripts/container/build-images.sh [--rebuild] [postgres|orchestrator]…   (default: both)
#   scripts/container/build-images.sh --check [postgres|orchestrator]…       exit 3 if missing/stale
#
# Caching: the Debian root filesystem is debootstrap'd once into a tarball under
# $TASKER_IMAGE_CACHE_DIR (default /var/cache/tasker-bench when writable, else <repo>/.tmp/container);
# an image is rebuilt only when its inputs changed (a hash stored as the image label
# tasker-bench.inputs) or with --rebuild (which also refreshes the tarball).
# Needs a running engine (scripts/container/engine.sh) and debootstrap (engine.sh installs it).
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PG_IMAGE="${TASKER_PG_IMAGE:-tasker-bench/postgres:15-local}"
PG_PGMQ_IMAGE="${TASKER_PG_PGMQ_IMAGE:-tasker-bench/postgres:15-pgmq-local}"
PGMQ_SOURCE_DIR="${PGMQ_SOURCE_DIR:-}"
ORCH_IMAGE="${TASKER_ORCHESTRATOR_IMAGE:-tasker-bench/orchestrator:local}"
SUITE=bookworm
if [[ -n "${TASKER_IMAGE_CACHE_DIR:-}" ]]; then
  CACHE_DIR="$TASKER_IMAGE_CACHE_DIR"
elif mkdir -p /var/cache/tasker-bench 2>/dev/null && [[ -w /var/cache/tasker-bench ]]; then
  CACHE_DIR=/var/cache/tasker-bench
else
  CACHE_DIR="$ROOT/.tmp/container"
fi
ROOTFS_TAR="$CACHE_DIR/rootfs-$SUITE-pg15.tar"
LABEL=tasker-bench.inputs
BASE_IMAGE="${TASKER_BASE_IMAGE:-tasker-bench/bookworm-pg15-rootfs:local}"
LOG_DIR="$ROOT/.tmp/container"
mkdir -p "$LOG_DIR"

say() { echo "[build-images] $*" >&2; }
fail() { echo "[build-images] $*" >&2; exit 1; }
elapsed() { echo "$(( $(date +%s%N) / 1000000 - $1 )) ms"; }
now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

REBUILD=false
CHECK=false
TARGETS=()
for arg in "$@"; do
  case "$arg" in
    --rebuild) REBUILD=true ;;
    --check) CHECK=true ;;
    postgres | orchestrator) TARGETS+=("$arg") ;;
    -h | --help) sed -n '2,25p' "$0"; exit 0 ;;
    *) fail "unknown argument $arg (expected --rebuild, --check, postgres, orchestrator)" ;;
  esac
done
((${#TARGETS[@]} > 0)) || TARGETS=(postgres orchestrator)

# The pgmq checkout (PGMQ_SOURCE_DIR): its extension directory and version, checked before any build.
PGMQ_DIR=""
PGMQ_VERSION=""
if [[ -n "$PGMQ_SOURCE_DIR" ]]; then
  for candidate in "$PGMQ_SOURCE_DIR" "$PGMQ_SOURCE_DIR/pgmq-extension"; do
    [[ -f "$candidate/pgmq.control" ]] && { PGMQ_DIR="$(cd "$candidate" && pwd)"; break; }
  done
  [[ -n "$PGMQ_DIR" ]] || fail "PGMQ_SOURCE_DIR=$PGMQ_SOURCE_DIR: no pgmq.control there or in its pgmq-extension/ (expected a pgmq checkout, e.g. git clone --branch v1.5.1 https://github.com/pgmq/pgmq)"
  PGMQ_VERSION="$(sed -n "s/^default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" "$PGMQ_DIR/pgmq.control")"
  [[ "$PGMQ_VERSION" =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || fail "PGMQ_SOURCE_DIR=$PGMQ_SOURCE_DIR: $PGMQ_DIR/pgmq.control has no default_version = 'X.Y.Z'"
  [[ -f "$PGMQ_DIR/sql/pgmq.sql" ]] || fail "PGMQ_SOURCE_DIR=$PGMQ_SOURCE_DIR: $PGMQ_DIR/sql/pgmq.sql is missing (pgmq before 1.2 was a compiled extension; use a 1.5.x checkout)"
  ! grep -q MODULE_PATHNAME "$PGMQ_DIR/sql/pgmq.sql" ||
    fail "PGMQ_SOURCE_DIR=$PGMQ_SOURCE_DIR: pgmq $PGMQ_VERSION needs a compiled library (its SQL uses MODULE_PATHNAME); only a pure-SQL pgmq (1.5.x) can be installed this way"
fi

timeout 10 docker info >/dev/null 2>&1 || fail "no container engine answers (docker info failed): run scripts/container/engine.sh first"

# The Debian mirror this machine's apt uses, for $SUITE (deb822 .sources files or sources.list).
debian_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    uri="$(awk -v suite="$SUITE" '
      BEGIN { RS=""; FS="\n" }
      {
        uris=""; ok=0; deb=0
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^Types:/ && $i ~ /[ \t]deb([ \t]|$)/) deb=1
          if ($i ~ /^URIs:/) { uris=$i; sub(/^URIs:[ \t]*/, "", uris) }
          if ($i ~ /^Suites:/) { n=split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok=1 }
        }
        if (deb && ok && uris != "") { split(uris, u, /[ \t]+/); print u[1]; exit }
      }' "$f")"
    [[ -n "$uri" ]] && { echo "$uri"; return 0; }
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    uri="$(awk -v suite="$SUITE" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++; if ($(i+1) == suite) { print $i; exit } }' "$f")"
    [[ -n "$uri" ]] && { echo "$uri"; return 0; }
  done
  return 1
}

image_label() { docker image inspect --format "{{ index .Config.Labels \"$LABEL\" }}" "$1" 2>/dev/null || true; }

image_id() { docker image inspect --format '{{.Id}}' "$1" 2>/dev/null || true; }

# True when image $1 was built from inputs $2 (its label) and --rebuild was not given: no build.
is_current() { [[ "$REBUILD" == false && "$(image_label "$1")" == "$2" ]]; }

# docker build of image $2 with its output in $LOG_DIR/$1, the rest of the arguments docker's; on
# failure the log's last lines and where it is, and status 1.
docker_build() {
  local log="$LOG_DIR/$1" image="$2"
  shift 2
  docker build --quiet -t "$image" "$@" >"$log" 2>&1 && return 0
  tail -n 10 "$log" >&2
  say "docker build of $image failed (log: $log)"
  return 1
}

# After a rebuild the previous image is untagged: remove it (unless a container still uses it).
drop_superseded() {
  local old="$1" tag="$2"
  [[ -n "$old" && "$old" != "$(image_id "$tag")" ]] && docker rmi "$old" >/dev/null 2>&1 || true
}

# Hashes of what each image is built from (stored as its label; compared to skip or flag a build).
postgres_inputs() {
  { image_id "$BASE_IMAGE"; cat "$ROOT/scripts/container/postgres/Dockerfile" "$ROOT/scripts/container/postgres/entrypoint.sh"; } | sha256sum | cut -c1-16
}
pgmq_inputs() {
  { image_id "$PG_IMAGE"; cat "$ROOT/scripts/container/postgres/pgmq.Dockerfile"; echo "$PGMQ_VERSION"
    (cd "$PGMQ_DIR" && shopt -s nullglob && sha256sum pgmq.control sql/pgmq.sql sql/pgmq--*--*.sql); } | sha256sum | cut -c1-16
}
orchestrator_inputs() {
  # The base image, Node, the lock file, every file of the orchestrator (its sources, migrations,
  # pgmq SQL, Dockerfile and compose file), the task templates and this script.
  { image_id "$BASE_IMAGE"; "$ROOT/node_modules/.bin/node" --version; cat "$ROOT/package-lock.json" "$0"
    (cd "$ROOT" && find orchestrator fixtures/templates -type f -not -path '*/node_modules/*' | LC_ALL=C sort | xargs sha256sum); } | sha256sum | cut -c1-16
}

# --check: is each image there and built from the current sources? (exit 3 when not)
check_images() {
  local rc=0 target
  for target in "${TARGETS[@]}"; do
    case "$target" in
      postgres) check_image "$PG_IMAGE" "$(postgres_inputs)" || rc=3
        if [[ -n "$PGMQ_DIR" ]]; then check_image "$PG_PGMQ_IMAGE" "$(pgmq_inputs)" || rc=3; fi ;;
      orchestrator) check_image "$ORCH_IMAGE" "$(orchestrator_inputs)" || rc=3 ;;
    esac
  done
  return "$rc"
}

check_image() {
  local image="$1" want="$2"
  if [[ -z "$(image_id "$image")" ]]; then echo "$image: missing"; return 1
  elif [[ "$(image_label "$image")" != "$want" ]]; then echo "$image: stale (built from other sources than the checkout holds)"; return 1
  else echo "$image: up to date"; fi
}

build_rootfs_tar() {
  if [[ -s "$ROOTFS_TAR" && "$REBUILD" == false ]]; then
    say "root filesystem: cached $ROOTFS_TAR"
    return 0
  fi
  command -v debootstrap >/dev/null 2>&1 || fail "debootstrap is not installed (apt-get install debootstrap, or run scripts/container/engine.sh)"
  local mirror
  mirror="$(debian_mirror)" || fail "no Debian $SUITE mirror found in /etc/apt/sources.list{,.d/*} (debootstrap needs one)"
  local keyring=()
  [[ -f /usr/share/keyrings/debian-archive-keyring.gpg ]] && keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
  mkdir -p "$CACHE_DIR"
  local dir="$CACHE_DIR/rootfs.$$"
  rm -rf "$dir"
  trap 'rm -rf "$dir"' EXIT
  local t0
  t0="$(now_ms)"
  say "debootstrap $SUITE minbase + postgresql-15 from $mirror (log: $CACHE_DIR/debootstrap.log)…"
  # --cache-dir keeps the downloaded packages, so a --rebuild does not fetch them again.
  mkdir -p "$CACHE_DIR/debs"
  if ! debootstrap --variant=minbase --include=postgresql-15 --cache-dir="$CACHE_DIR/debs" "${keyring[@]}" "$SUITE" "$dir" "$mirror" >"$CACHE_DIR/debootstrap.log" 2>&1; then
    tail -n 5 "$CACHE_DIR/debootstrap.log" >&2
    fail "debootstrap failed (log: $CACHE_DIR/debootstrap.log)"
  fi
  say "debootstrap took $(elapsed "$t0")"
  # Smaller image (~420 → ~200 MB): no package caches, docs or translations; no default cluster
  # (the entrypoint makes its own); no LLVM, which only PostgreSQL's JIT loads (jit = off here;
  # without its provider PostgreSQL simply does not JIT).
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc/* "$dir"/usr/share/man/* \
    "$dir"/usr/share/locale/* "$dir"/usr/share/i18n "$dir"/var/log/*.log \
    "$dir"/var/lib/postgresql/15/main "$dir"/etc/postgresql/15/main \
    "$dir"/usr/lib/postgresql/15/lib/bitcode "$dir"/usr/lib/postgresql/15/lib/llvmjit*.so \
    "$dir"/usr/lib/x86_64-linux-gnu/libLLVM-*.so* "$dir"/usr/lib/x86_64-linux-gnu/libz3.so*
  tar -C "$dir" --numeric-owner -cf "$ROOTFS_TAR.partial" .
  mv "$ROOTFS_TAR.partial" "$ROOTFS_TAR"
  rm -rf "$dir"
  trap - EXIT
  say "root filesystem: $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
}

# The debootstrap'd root filesystem as an image: imported once, the base of both images.
BASE_DONE=false
build_base() {
  [[ "$BASE_DONE" == true ]] && return 0
  BASE_DONE=true
  if [[ "$REBUILD" == false ]] && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    return 0
  fi
  build_rootfs_tar
  local t0 old
  t0="$(now_ms)"
  old="$(image_id "$BASE_IMAGE")"
  docker import \
    --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["/bin/bash"]' \
    "$ROOTFS_TAR" "$BASE_IMAGE" >/dev/null
  say "$BASE_IMAGE: imported in $(elapsed "$t0")"
  BASE_SUPERSEDED="$old"
}

build_postgres() {
  local dir="$ROOT/scripts/container/postgres"
  local inputs
  build_base
  inputs="$(postgres_inputs)"
  is_current "$PG_IMAGE" "$inputs" && { say "$PG_IMAGE: up to date"; return 0; }
  local t0 old
  t0="$(now_ms)"
  old="$(image_id "$PG_IMAGE")"
  docker_build postgres-build.log "$PG_IMAGE" --label "$LABEL=$inputs" --build-arg "BASE_IMAGE=$BASE_IMAGE" "$dir" || exit 1
  drop_superseded "$old" "$PG_IMAGE"
  say "$PG_IMAGE: built in $(elapsed "$t0")"
}

# The real pgmq extension from PGMQ_SOURCE_DIR, on top of the PostgreSQL image.
build_postgres_pgmq() {
  if [[ -z "$PGMQ_DIR" ]]; then
    say "no PGMQ_SOURCE_DIR: $PG_IMAGE has no pgmq extension, so the suite installs its pgmq-compatible layer (orchestrator/pgmq/) in it"
    return 0
  fi
  local inputs
  inputs="$(pgmq_inputs)"
  is_current "$PG_PGMQ_IMAGE" "$inputs" && { say "$PG_PGMQ_IMAGE: up to date (pgmq $PGMQ_VERSION from $PGMQ_DIR)"; return 0; }
  local t0 old ctx f
  t0="$(now_ms)"
  old="$(image_id "$PG_PGMQ_IMAGE")"
  ctx="$LOG_DIR/pgmq-context"
  rm -rf "$ctx"
  mkdir -p "$ctx/extension"
  # What pgmq's Makefile installs: the control file, sql/pgmq.sql as pgmq--<version>.sql, and the
  # upgrade scripts (sql/pgmq--<from>--<to>.sql).
  cp "$PGMQ_DIR/pgmq.control" "$ctx/extension/"
  cp "$PGMQ_DIR/sql/pgmq.sql" "$ctx/extension/pgmq--$PGMQ_VERSION.sql"
  for f in "$PGMQ_DIR"/sql/pgmq--*--*.sql; do [[ -f "$f" ]] && cp "$f" "$ctx/extension/"; done
  docker_build postgres-pgmq-build.log "$PG_PGMQ_IMAGE" --label "$LABEL=$inputs" --build-arg "BASE_IMAGE=$PG_IMAGE" --build-arg "PGMQ_VERSION=$PGMQ_VERSION" \
    -f "$ROOT/scripts/container/postgres/pgmq.Dockerfile" "$ctx" || { rm -rf "$ctx"; exit 1; }
  rm -rf "$ctx"
  drop_superseded "$old" "$PG_PGMQ_IMAGE"
  say "$PG_PGMQ_IMAGE: built in $(elapsed "$t0") with pgmq $PGMQ_VERSION from $PGMQ_DIR; use BENCH_POSTGRES=container BENCH_PG_IMAGE=$PG_PGMQ_IMAGE"
}

build_orchestrator() {
  [[ -f "$ROOT/orchestrator/src/orchestration/main.ts" && -f "$ROOT/orchestrator/src/worker/main.ts" ]] ||
    fail "the reference orchestrator is incomplete (orchestrator/src/{orchestration,worker}/main.ts missing)"
  local node_bin
  node_bin="$(readlink -f "$ROOT/node_modules/.bin/node")"
  [[ -x "$node_bin" ]] || fail "the project's Node binary (node_modules/.bin/node) is missing: run npm ci"
  # Inputs: the base image, Node, the lock file, the orchestrator, the templates, this script.
  local inputs
  build_base
  inputs="$(orchestrator_inputs)"
  is_current "$ORCH_IMAGE" "$inputs" && { say "$ORCH_IMAGE: up to date (inputs $inputs)"; return 0; }
  local t0 ctx old
  t0="$(now_ms)"
  old="$(image_id "$ORCH_IMAGE")"
  mkdir -p "$ROOT/.tmp/container"
  ctx="$ROOT/.tmp/container/orchestrator-context"
  rm -rf "$ctx"
  mkdir -p "$ctx/app"
  # Hard links where possible: the 120 MB Node binary is not copied for every build.
  cp -l "$node_bin" "$ctx/node" 2>/dev/null || cp "$node_bin" "$ctx/node"
  local packages
  packages="$(cd "$ROOT" && "$node_bin" scripts/container/runtime-packages.ts orchestrator)"
  (cd "$ROOT" && tar -cf - package.json $packages) | tar -C "$ctx/app" -xf -
  (cd "$ROOT" && tar --exclude=node_modules -cf - orchestrator fixtures/templates) | tar -C "$ctx/app" -xf -
  cp "$ROOT/orchestrator/docker/entrypoint.sh" "$ctx/entrypoint.sh"
  say "building $ORCH_IMAGE ($(echo "$packages" | wc -l) packages, context $(du -sh "$ctx" | cut -f1))…"
  docker_build orchestrator-build.log "$ORCH_IMAGE" --label "$LABEL=$inputs" --build-arg "BASE_IMAGE=$BASE_IMAGE" \
    -f "$ROOT/orchestrator/docker/Dockerfile" "$ctx" || exit 1
  rm -rf "$ctx"
  # The image must start: Node runs and finds its packages.
  docker run --rm --entrypoint node "$ORCH_IMAGE" -e "await import('pg'); await import('yaml')" >/dev/null ||
    fail "$ORCH_IMAGE was built but node cannot load its packages"
  drop_superseded "$old" "$ORCH_IMAGE"
  say "$ORCH_IMAGE: built in $(elapsed "$t0")"
}

if [[ "$CHECK" == true ]]; then
  check_images
  exit
fi

BASE_SUPERSEDED=""
for target in "${TARGETS[@]}"; do
  case "$target" in
    postgres) build_postgres; build_postgres_pgmq ;;
    orchestrator) build_orchestrator ;;
  esac
done
# The old base goes last: the images built on it had to be replaced first.
drop_superseded "$BASE_SUPERSEDED" "$BASE_IMAGE"
