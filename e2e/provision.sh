#!/usr/bin/env bash
# Provision everything the e2e tests need on a Debian 12 (bookworm) machine, as root:
#   1. Debian packages (qemu-user-static, binfmt-support, docker-registry, debootstrap, ...)
#   2. QEMU binfmt handlers for arm/v7 and arm64 (flag F, so they work inside containers)
#   3. Docker Engine + buildx (from Debian trixie through a temporary apt source when
#      missing), containerd image store, dockerd running
#   4. a plain-HTTP registry on $E2E_REGISTRY (default localhost:5000)
#   5. multi-arch (linux/amd64 + linux/arm/v7) base images in that registry:
#        $E2E_REGISTRY/debian:bookworm, $E2E_REGISTRY/python:$E2E_PYTHON{,-slim}
#      copied from Docker Hub when it can be reached, otherwise built from scratch
#      with debootstrap and Debian's python3.
# Idempotent: every step checks first, so a second run takes seconds.
# Leaves dockerd and the registry running.
#
# Environment:
#   E2E_REGISTRY       registry host:port            (default localhost:5000)
#   E2E_PYTHON         python tag                    (default 3.11)
#   E2E_DEBIAN_MIRROR  Debian mirror URI             (default: read from the apt sources)
#   E2E_STATE_DIR      registry config/data, locks   (default /var/lib/wheel-slim-e2e)
set -euo pipefail

START_SECONDS=$SECONDS
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PROVISION_DIR="$HERE/provision"

REGISTRY="${E2E_REGISTRY:-localhost:5000}"
PYTHON_TAG="${E2E_PYTHON:-3.11}"
STATE_DIR="${E2E_STATE_DIR:-/var/lib/wheel-slim-e2e}"
REGISTRY_CONFIG="$STATE_DIR/registry.yml"
REGISTRY_ROOT="$STATE_DIR/registry"
REGISTRY_PIDFILE="$STATE_DIR/registry.pid"
REGISTRY_LOG=/var/log/wheel-slim-e2e-registry.log
DOCKERD_LOG=/var/log/dockerd.log
LOG_DIR="$STATE_DIR/logs"
PLATFORMS="linux/amd64,linux/arm/v7"
BASE_SUITE=bookworm

TRIXIE_SOURCE=/etc/apt/sources.list.d/wheel-slim-e2e-trixie.sources
TRIXIE_PREFS=/etc/apt/preferences.d/wheel-slim-e2e-trixie
POLICY_RC=/usr/sbin/policy-rc.d
ARCHIVE_KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg

export DEBIAN_FRONTEND=noninteractive
# sbin dirs may be missing from a CI PATH; append so that PATH's own order is kept.
export PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"

log() { printf 'provision: %s\n' "$*"; }
die() { printf 'provision: ERROR: %s\n' "$*" >&2; exit 1; }
took() { printf '%ss' "$((SECONDS - $1))"; }

# ---------------------------------------------------------------- cleanup on any exit
APT_UPDATED=""
CREATED_POLICY_RC=""
ROOTFS_DIRS=()

remove_rootfs() { # DIR: unmount whatever debootstrap left mounted, never cross into a mount
  local dir="$1" m
  [ -d "$dir" ] || return 0
  while read -r m; do umount -l "$m" 2>/dev/null || true; done < <(
    awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/mounts | sort -r)
  rm -rf --one-file-system "$dir"
}

remove_trixie_source() {
  if [ -e "$TRIXIE_SOURCE" ] || [ -e "$TRIXIE_PREFS" ]; then
    rm -f "$TRIXIE_SOURCE" "$TRIXIE_PREFS"
    apt-get update -qq >/dev/null 2>&1 || log "warning: apt-get update after removing the trixie source failed"
  fi
}

cleanup() {
  local rc=$? d
  set +e
  remove_trixie_source
  if [ -n "$CREATED_POLICY_RC" ]; then rm -f "$POLICY_RC"; fi
  for d in "${ROOTFS_DIRS[@]}"; do remove_rootfs "$d"; done
  if [ "$rc" -ne 0 ]; then log "FAILED after $((SECONDS - START_SECONDS))s (exit $rc)"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- preconditions
[ "$(id -u)" -eq 0 ] || die "must run as root (apt-get, mount, dockerd)"
command -v apt-get >/dev/null || die "apt-get not found: this script needs a Debian machine"
mkdir -p "$STATE_DIR" "$LOG_DIR"

# One provisioning at a time on a machine (parallel test jobs may all call this).
# (fd 9 is closed for the daemons started below, so that they do not keep the lock.)
exec 9>"$STATE_DIR/provision.lock"
if ! flock -n 9; then
  log "another provisioning is running, waiting for it (up to 60 min)"
  flock -w 3600 9 || die "lock $STATE_DIR/provision.lock: timed out waiting for the other provisioning"
fi

# A previous run killed with SIGKILL could have left the temporary source behind.
remove_trixie_source

apt_update() {
  if [ -z "$APT_UPDATED" ]; then
    apt-get update -qq || die "apt-get update failed (is Debian's package mirror reachable?)"
    APT_UPDATED=1
  fi
}

apt_install() { # PKG... (extra apt-get options may come first)
  apt-get install -y -q --no-install-recommends \
    -o DPkg::Lock::Timeout=300 \
    -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
}

pkg_installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }

# Keep package maintainer scripts from starting services (docker, docker-registry) with
# their default configuration: this script starts them itself.
block_service_starts() {
  if [ ! -e "$POLICY_RC" ]; then
    printf '#!/bin/sh\nexit 101\n' > "$POLICY_RC"
    chmod 755 "$POLICY_RC"
    CREATED_POLICY_RC=1
  fi
}

# The mirror URI of the machine's own Debian sources: deb822 files in sources.list.d
# (files named *.disabled* are ignored), then the classic one-line format.
debian_mirror() {
  local f uri=""
  if [ -n "${E2E_DEBIAN_MIRROR:-}" ]; then echo "${E2E_DEBIAN_MIRROR%/}"; return 0; fi
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    case "$f" in *.disabled*) continue ;; esac
    # stanzas are separated by blank lines; pick a "deb" stanza whose Suites name the
    # base suite (so not debian-security), else the first deb stanza without -security.
    uri=$(awk -v suite="$BASE_SUITE" '
      BEGIN { RS = ""; FS = "\n" }
      {
        u = ""; s = ""; t = ""; on = 1
        for (i = 1; i <= NF; i++) {
          line = $i
          if (line ~ /^[ \t]*#/) continue
          low = tolower(line)
          val = line; sub(/^[^:]*:[ \t]*/, "", val)
          if (low ~ /^uris:/)            { split(val, a, /[ \t]+/); u = a[1] }
          else if (low ~ /^suites:/)     { s = " " val " " }
          else if (low ~ /^types:/)      { t = " " val " " }
          else if (low ~ /^enabled:[ \t]*no/) { on = 0 }
        }
        if (!on || u == "" || t !~ / deb /) next
        if (s ~ (" " suite " ")) { print u; found = 1; exit }
        if (fallback == "" && s !~ /-security/) fallback = u
      }
      END { if (!found && fallback != "") print fallback }' "$f")
    if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    uri=$(awk -v suite="$BASE_SUITE" '
      $1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
        if ($(i + 1) == suite) { print $i; found = 1; exit }
        if (fallback == "" && $(i + 1) !~ /-security/) fallback = $i
      }
      END { if (!found && fallback != "") print fallback }' "$f")
    if [ -n "$uri" ]; then echo "${uri%/}"; return 0; fi
  done
  return 1
}

# ---------------------------------------------------------------- 1. Debian packages
step=$SECONDS
# python3-*-whl: the setuptools and wheel wheels the e2e package index serves for build isolation.
PKGS=(zstd qemu-user-static binfmt-support docker-registry debootstrap ca-certificates curl jq python3-setuptools-whl python3-wheel-whl)
missing=()
for p in "${PKGS[@]}"; do pkg_installed "$p" || missing+=("$p"); done
# Mount binfmt_misc first, so that qemu-user-static's postinst can register its handlers.
if ! mountpoint -q /proc/sys/fs/binfmt_misc; then
  mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
    || die "QEMU: cannot mount binfmt_misc at /proc/sys/fs/binfmt_misc (needs a privileged machine)"
fi
if [ "${#missing[@]}" -eq 0 ]; then
  log "debian packages: already installed (${PKGS[*]})"
else
  log "debian packages: installing ${missing[*]}"
  block_service_starts
  apt_update
  apt_install "${missing[@]}" >"$LOG_DIR/apt-packages.log" 2>&1 \
    || { tail -n 30 "$LOG_DIR/apt-packages.log" >&2; die "debian packages: could not install ${missing[*]} (log: $LOG_DIR/apt-packages.log)"; }
  log "debian packages: installed in $(took "$step")"
fi

# ---------------------------------------------------------------- 2. QEMU binfmt
binfmt_ok() { # NAME
  local f=/proc/sys/fs/binfmt_misc/$1
  [ -r "$f" ] && grep -qx enabled "$f" && grep -q '^flags:.*F' "$f"
}
for fmt in qemu-arm qemu-aarch64; do
  if binfmt_ok "$fmt"; then
    log "qemu: $fmt already enabled"
  else
    log "qemu: enabling $fmt"
    [ -e /proc/sys/fs/binfmt_misc/status ] && [ "$(cat /proc/sys/fs/binfmt_misc/status)" = enabled ] \
      || echo 1 > /proc/sys/fs/binfmt_misc/status 2>/dev/null || true
    update-binfmts --enable "$fmt" >/dev/null 2>&1 || true
    binfmt_ok "$fmt" || die "QEMU: /proc/sys/fs/binfmt_misc/$fmt is not enabled with flag F (update-binfmts --enable $fmt failed)"
  fi
done

# ---------------------------------------------------------------- 3. Docker Engine + buildx
DOCKER=docker
docker() { command "$DOCKER" "$@"; }

# First docker client (PATH's one, then Debian's) that reaches a server and has buildx.
pick_docker() {
  local c seen=""
  for c in "$(type -P docker || true)" /usr/bin/docker; do
    [ -n "$c" ] && [ -x "$c" ] || continue
    case " $seen " in *" $c "*) continue ;; esac
    seen="$seen $c"
    if [ -n "$(command "$c" version --format '{{.Server.Version}}' 2>/dev/null)" ] \
       && command "$c" buildx version >/dev/null 2>&1; then
      DOCKER=$c
      return 0
    fi
  done
  return 1
}

have_buildx_plugin() {
  local c
  for c in "$(type -P docker || true)" /usr/bin/docker; do
    [ -n "$c" ] && [ -x "$c" ] && command "$c" buildx version >/dev/null 2>&1 && return 0
  done
  return 1
}

ensure_daemon_json() {
  local f=/etc/docker/daemon.json tmp
  mkdir -p /etc/docker
  if [ -s "$f" ]; then
    jq -e '.features["containerd-snapshotter"] == true' "$f" >/dev/null 2>&1 && return 0
    tmp=$(mktemp)
    jq '.features = ((.features // {}) + {"containerd-snapshotter": true})' "$f" > "$tmp" \
      || { rm -f "$tmp"; die "docker engine: $f is not valid JSON, cannot add containerd-snapshotter"; }
    cat "$tmp" > "$f"; rm -f "$tmp"
  else
    echo '{"features":{"containerd-snapshotter":true}}' > "$f"
  fi
  log "docker engine: $f enables the containerd image store"
}

install_docker_from_trixie() {
  local mirror
  mirror=$(debian_mirror) || die "docker engine: cannot find the Debian mirror URI in /etc/apt/sources.list.d/*.sources or /etc/apt/sources.list"
  [ -r "$ARCHIVE_KEYRING" ] || die "docker engine: $ARCHIVE_KEYRING missing (package debian-archive-keyring)"
  log "docker engine: installing docker.io docker-cli docker-buildx from Debian trixie (temporary apt source)"
  block_service_starts
  cat > "$TRIXIE_SOURCE" <<EOF
Types: deb
URIs: $mirror
Suites: trixie
Components: main
Signed-By: $ARCHIVE_KEYRING
EOF
  # Only these three packages come from trixie; their dependencies stay bookworm
  # (a bare "-t trixie" would also upgrade libc6, dpkg, base-files, ... to trixie).
  cat > "$TRIXIE_PREFS" <<'EOF'
Package: *
Pin: release n=trixie
Pin-Priority: 100

Package: docker.io docker-cli docker-buildx
Pin: release n=trixie
Pin-Priority: 990
EOF
  apt-get update -qq || die "docker engine: apt-get update with the temporary trixie source failed"
  apt_install docker.io docker-cli docker-buildx >"$LOG_DIR/apt-docker.log" 2>&1 \
    || { tail -n 30 "$LOG_DIR/apt-docker.log" >&2; die "docker engine: could not install docker.io docker-cli docker-buildx from trixie (log: $LOG_DIR/apt-docker.log)"; }
  remove_trixie_source
  log "docker engine: installed $(dpkg-query -W -f='docker.io ${Version}' docker.io), $(dpkg-query -W -f='docker-buildx ${Version}' docker-buildx)"
}

start_dockerd() {
  local i
  if pgrep -x dockerd >/dev/null 2>&1; then
    log "docker engine: dockerd process exists but does not answer yet, waiting"
  else
    log "docker engine: starting dockerd (log: $DOCKERD_LOG)"
    setsid nohup dockerd >>"$DOCKERD_LOG" 2>&1 </dev/null 9>&- &
  fi
  for i in $(seq 1 60); do
    if pick_docker && docker info >/dev/null 2>&1; then
      sleep 1; pick_docker   # choose again once it answers, so PATH's client wins when it works
      return 0
    fi
    sleep 1
  done
  tail -n 30 "$DOCKERD_LOG" >&2 || true
  die "docker engine: dockerd did not answer 'docker info' within 60 s (log: $DOCKERD_LOG)"
}

step=$SECONDS
DOCKER_PREEXISTING=""
if pick_docker; then
  DOCKER_PREEXISTING=1
  log "docker engine: already running (server $(docker version --format '{{.Server.Version}}'))"
  if ! docker info --format '{{json .DriverStatus}}' 2>/dev/null | grep -q 'io.containerd.snapshotter'; then
    log "warning: the running dockerd does not use the containerd image store; multi-platform --load may not work"
  fi
else
  if command -v dockerd >/dev/null 2>&1 && have_buildx_plugin; then
    log "docker engine: already installed (dockerd $(dockerd --version 2>/dev/null | sed 's/^Docker version //'))"
  else
    ensure_daemon_json   # before the package is installed, in case anything starts it
    install_docker_from_trixie
  fi
  ensure_daemon_json
  start_dockerd
  log "docker engine: running (server $(docker version --format '{{.Server.Version}}')) after $(took "$step")"
fi
log "docker engine: using client $DOCKER ($(docker version --format '{{.Client.Version}}' 2>/dev/null), API $(docker version --format '{{.Client.APIVersion}}' 2>/dev/null))"
docker buildx version >/dev/null 2>&1 || die "docker buildx: 'docker buildx version' fails with $DOCKER"
BUILDX_PLATFORMS=$(docker buildx ls 2>/dev/null | grep -o 'linux/[a-z0-9]*\(/v[0-9]*\)\?' | sort -u | paste -sd' ' -) || true
if grep -qw 'linux/arm/v7' <<<"$BUILDX_PLATFORMS"; then
  log "docker buildx: $(docker buildx version | awk '{print $2}') lists linux/arm/v7"
elif grep -qw 'linux/arm64' <<<"$BUILDX_PLATFORMS"; then
  # Debian's dockerd 26.1.5+dfsg1-9+deb13u1 runs BuildKit's arm check successfully but
  # leaves linux/arm/v7 (and linux/386) out of the list; arm/v7 builds work all the same.
  # The real proof is the arm/v7 container run after the base image below.
  log "docker buildx: $(docker buildx version | awk '{print $2}') lists linux/arm64 but not linux/arm/v7; arm/v7 is checked with a real container below"
else
  docker buildx ls >&2 || true
  die "docker buildx: 'docker buildx ls' lists no emulated platform (QEMU binfmt not seen by the builder)"
fi

# ---------------------------------------------------------------- 4. registry
REGISTRY_HOST="${REGISTRY%:*}"
REGISTRY_PORT="${REGISTRY##*:}"
[ "$REGISTRY_PORT" != "$REGISTRY" ] || REGISTRY_PORT=80
REGISTRY_URL="http://127.0.0.1:$REGISTRY_PORT/v2/"
registry_up() { curl -fsS -m 5 -o /dev/null "$REGISTRY_URL" 2>/dev/null; }

case "$REGISTRY_HOST" in
  localhost|127.0.0.1)
    mkdir -p "$REGISTRY_ROOT"
    want=$(cat <<EOF
# written by e2e/provision.sh
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $REGISTRY_ROOT
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$REGISTRY_PORT
EOF
)
    if [ ! -f "$REGISTRY_CONFIG" ] || [ "$(cat "$REGISTRY_CONFIG")" != "$want" ]; then
      printf '%s\n' "$want" > "$REGISTRY_CONFIG"
    fi
    if registry_up; then
      log "registry: $REGISTRY already running"
    else
      command -v docker-registry >/dev/null || die "registry: docker-registry binary not found (package docker-registry)"
      log "registry: starting docker-registry on 127.0.0.1:$REGISTRY_PORT (data: $REGISTRY_ROOT, log: $REGISTRY_LOG)"
      setsid nohup docker-registry serve "$REGISTRY_CONFIG" >>"$REGISTRY_LOG" 2>&1 </dev/null 9>&- &
      echo $! > "$REGISTRY_PIDFILE"
      for _ in $(seq 1 30); do registry_up && break; sleep 1; done
      registry_up || { tail -n 20 "$REGISTRY_LOG" >&2 || true; die "registry: $REGISTRY_URL did not answer within 30 s (log: $REGISTRY_LOG)"; }
      log "registry: $REGISTRY answering"
    fi
    ;;
  *)
    REGISTRY_URL="http://$REGISTRY/v2/"
    registry_up || die "registry: $REGISTRY is not local and does not answer at $REGISTRY_URL"
    log "registry: using remote $REGISTRY"
    ;;
esac

# ---------------------------------------------------------------- 5. base images
# platforms of an image index, one "os/arch[/variant]" a line
index_platforms() { # REF
  local raw
  raw=$(docker buildx imagetools inspect --raw "$1" 2>/dev/null) || return 1
  jq -r '.manifests[]?.platform | select(. != null)
         | "\(.os)/\(.architecture)\(if .variant then "/" + .variant else "" end)"' <<<"$raw"
}
image_ok() { # REF: exists as an index with both platforms
  local p
  p=$(index_platforms "$1") || return 1
  grep -qx linux/amd64 <<<"$p" && grep -qx linux/arm/v7 <<<"$p"
}
single_image_exists() { docker buildx imagetools inspect --raw "$1" >/dev/null 2>&1; }

DEBIAN_IMAGE="$REGISTRY/debian:$BASE_SUITE"
PY_FULL="$REGISTRY/python:$PYTHON_TAG"
PY_SLIM="$REGISTRY/python:$PYTHON_TAG-slim"

HUB=""
hub_reachable() {
  if [ -z "$HUB" ]; then
    HUB=no
    if [ -n "$DOCKER_PREEXISTING" ] \
       && timeout 20 "$DOCKER" buildx imagetools inspect "python:$PYTHON_TAG-slim" >/dev/null 2>&1; then
      HUB=yes
    fi
    log "docker hub: $([ "$HUB" = yes ] && echo reachable, copying official images || echo not reachable, building from Debian packages)"
  fi
  [ "$HUB" = yes ]
}

copy_from_hub() { # SRC DEST
  local plat_args=()
  if docker buildx imagetools create --help 2>&1 | grep -q -- '--platform'; then
    plat_args=(--platform linux/amd64 --platform linux/arm/v7)
  fi
  docker buildx imagetools create "${plat_args[@]}" -t "$2" "$1" >"$LOG_DIR/copy.log" 2>&1 \
    || { tail -n 20 "$LOG_DIR/copy.log" >&2; die "images: could not copy $1 from Docker Hub to $2"; }
}

build_debian_arch() { # DEBARCH PLATFORM TAG [SUITE]
  local arch=$1 platform=$2 tag=$3 suite=${4:-$BASE_SUITE} dir t=$SECONDS
  local mirror logf="$LOG_DIR/debootstrap-$suite-$1.log"
  mirror=$(debian_mirror) || die "images: cannot find the Debian mirror URI in the apt sources (needed by debootstrap)"
  dir=$(mktemp -d /var/tmp/wheel-slim-e2e-rootfs-"$arch".XXXXXX)
  ROOTFS_DIRS+=("$dir")
  log "images: debootstrap --variant=minbase --arch=$arch $suite (log: $logf)"
  debootstrap --variant=minbase --arch="$arch" "$suite" "$dir" "$mirror" >"$logf" 2>&1 || {
    tail -n 20 "$logf" >&2
    [ -f "$dir/debootstrap/debootstrap.log" ] && tail -n 20 "$dir/debootstrap/debootstrap.log" >&2
    die "images: debootstrap of $suite/$arch failed (log: $logf)"
  }
  grep -rqs "$mirror" "$dir/etc/apt/sources.list" "$dir/etc/apt/sources.list.d" \
    || die "images: the $arch rootfs has no apt source pointing at $mirror"
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/*
  log "images: importing the $arch rootfs as $tag ($platform)"
  tar --numeric-owner -C "$dir" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -c . \
    | docker import --platform "$platform" -c 'CMD ["bash"]' -c 'ENV LANG=C.UTF-8' - "$tag" >/dev/null \
    || die "images: docker import of the $arch rootfs failed"
  docker push -q "$tag" >/dev/null || die "images: docker push $tag failed"
  remove_rootfs "$dir"
  log "images: $tag pushed after $(took "$t")"
}

ensure_debian_image() {
  local t=$SECONDS a_tag="$DEBIAN_IMAGE-amd64" v7_tag="$DEBIAN_IMAGE-armhf"
  if image_ok "$DEBIAN_IMAGE"; then log "images: $DEBIAN_IMAGE already present"; return 0; fi
  if hub_reachable; then
    log "images: copying debian:$BASE_SUITE from Docker Hub to $DEBIAN_IMAGE"
    copy_from_hub "debian:$BASE_SUITE" "$DEBIAN_IMAGE"
    return 0
  fi
  log "images: building $DEBIAN_IMAGE with debootstrap"
  single_image_exists "$a_tag" || build_debian_arch amd64 linux/amd64 "$a_tag"
  single_image_exists "$v7_tag" || build_debian_arch armhf linux/arm/v7 "$v7_tag"
  docker buildx imagetools create -t "$DEBIAN_IMAGE" "$a_tag" "$v7_tag" >"$LOG_DIR/imagetools.log" 2>&1 \
    || { tail -n 20 "$LOG_DIR/imagetools.log" >&2; die "images: docker buildx imagetools create $DEBIAN_IMAGE failed"; }
  image_ok "$DEBIAN_IMAGE" || die "images: $DEBIAN_IMAGE lacks linux/amd64 or linux/arm/v7 after creation"
  log "images: $DEBIAN_IMAGE created after $(took "$t")"
}

# An older Debian release (glibc 2.31 against bookworm's 2.36), amd64 only: the runtime image a
# bookworm builder's wheels must be refused on. Nothing runs in it; only its files are read.
OLD_RUNTIME_IMAGE="$REGISTRY/debian:bullseye"
ensure_old_runtime_image() {
  if single_image_exists "$OLD_RUNTIME_IMAGE"; then log "images: $OLD_RUNTIME_IMAGE already present"; return 0; fi
  if hub_reachable; then copy_from_hub debian:bullseye "$OLD_RUNTIME_IMAGE"; return 0; fi
  build_debian_arch amd64 linux/amd64 "$OLD_RUNTIME_IMAGE" bullseye
}

verify_python_image() { # REF FLAVOUR
  local ref=$1 flavour=$2 plat out
  for plat in linux/amd64 linux/arm/v7; do
    out=$(docker run --rm --pull always -q --platform "$plat" "$ref" sh -c '
      set -e
      python3 -c "import platform, sys; print(platform.machine(), sys.version.split()[0])"
      python3 -m pip --version >/dev/null
      if command -v gcc >/dev/null || command -v cc >/dev/null; then echo compiler; else echo no-compiler; fi' 2>&1) \
      || { echo "$out" >&2; die "images: $ref ($plat) does not run python3 -m pip"; }
    if [ "$flavour" = slim ] && grep -qx compiler <<<"$out"; then die "images: $ref ($plat) has a compiler"; fi
    if [ "$flavour" = full ] && ! grep -qx compiler <<<"$out"; then die "images: $ref ($plat) has no compiler"; fi
    log "images: $ref $plat ok: $(head -n1 <<<"$out"), $(tail -n1 <<<"$out")"
  done
}

ensure_python_image() { # REF FLAVOUR(full|slim)
  local ref=$1 flavour=$2 t=$SECONDS hub_src logf="$LOG_DIR/build-python-$2.log"
  if image_ok "$ref"; then log "images: $ref already present"; return 0; fi
  if hub_reachable; then
    hub_src="python:$PYTHON_TAG"; [ "$flavour" = slim ] && hub_src="python:$PYTHON_TAG-slim"
    log "images: copying $hub_src from Docker Hub to $ref"
    copy_from_hub "$hub_src" "$ref"
    return 0
  fi
  [ "$PYTHON_TAG" = 3.11 ] || die "images: cannot build $ref without Docker Hub: Debian $BASE_SUITE ships Python 3.11 only"
  image_ok "$DEBIAN_IMAGE" || die "images: base image $DEBIAN_IMAGE missing"
  log "images: building $ref ($flavour) for $PLATFORMS (several minutes under QEMU; log: $logf)"
  docker buildx build --platform "$PLATFORMS" --provenance=false --push --progress=plain \
    --build-arg "BASE=$DEBIAN_IMAGE" -f "$PROVISION_DIR/python-$flavour.Dockerfile" -t "$ref" \
    "$PROVISION_DIR" >"$logf" 2>&1 \
    || { tail -n 30 "$logf" >&2; die "images: docker buildx build of $ref failed (log: $logf)"; }
  image_ok "$ref" || die "images: $ref lacks linux/amd64 or linux/arm/v7 after the build"
  verify_python_image "$ref" "$flavour"
  log "images: $ref built after $(took "$t")"
}

ensure_debian_image
ensure_old_runtime_image
# QEMU inside containers, for real (binfmt with flag F, as BuildKit's RUN steps need it).
arch_out=$(docker run --rm --platform linux/arm/v7 "$DEBIAN_IMAGE" uname -m 2>"$LOG_DIR/arm-run.log") \
  || { cat "$LOG_DIR/arm-run.log" >&2; die "QEMU: cannot run a linux/arm/v7 container of $DEBIAN_IMAGE"; }
[ "$arch_out" = armv7l ] || die "QEMU: a linux/arm/v7 container says '$arch_out', not armv7l"
log "qemu: linux/arm/v7 container runs (uname -m: $arch_out)"
ensure_python_image "$PY_FULL" full
ensure_python_image "$PY_SLIM" slim

# ---------------------------------------------------------------- 6. summary
log "summary:"
log "  docker client  $DOCKER $(docker version --format '{{.Client.Version}}')"
log "  docker server  $(docker version --format '{{.Server.Version}}') (dockerd log: $DOCKERD_LOG)"
log "  buildx         $(docker buildx version | awk '{print $2}')"
log "  registry       $REGISTRY ($REGISTRY_URL)"
for ref in "$DEBIAN_IMAGE" "$PY_FULL" "$PY_SLIM"; do
  plats=$(index_platforms "$ref" | sort -u | paste -sd' ' -) || plats="MISSING"
  log "  image          $ref: $plats"
done
log "done in $((SECONDS - START_SECONDS))s"
