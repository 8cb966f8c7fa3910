#!/usr/bin/env bash
# The end-to-end test environment of imgb: a private dockerd, two registries (one with htpasswd
# auth), a podman API service and a local busybox base image; for builder nodes (several engines
# per stack) a second dockerd (unix socket and tcp://127.0.0.1:2376) and an sshd on
# 127.0.0.1:2222 in front of it, so that DOCKER_HOST=ssh://root@127.0.0.1:2222 reaches it. Nothing here touches the network
# beyond loopback and unix sockets, and nothing is pulled: the base image is built from
# busybox-static.
#
#   scripts/testenv.sh start    install what is missing, start everything, wait until ready
#   scripts/testenv.sh stop     stop everything this script started (pidfiles)
#   scripts/testenv.sh status   one line per service; exit 1 when something is down
#   scripts/testenv.sh env      `export …` lines for the test suites: eval "$(scripts/testenv.sh env)"
#
# Idempotent: `start` twice leaves running services alone. Logs: /run/imgb-test/*.log.
# Global config (/etc/containers, /etc/docker) is never modified.
set -euo pipefail

RUN_DIR=/run/imgb-test
DATA_DIR=/var/lib/imgb-test
SERVICE_TMP=$DATA_DIR/tmp
DOCKER_SOCK="$RUN_DIR/docker.sock"
DOCKER_TCP=tcp://127.0.0.1:2375
PODMAN_SOCK="$RUN_DIR/podman.sock"
REGISTRY_ADDR=127.0.0.1:5000
AUTH_REGISTRY_ADDR=127.0.0.1:5001
AUTH_USER=imgb
AUTH_PASSWORD=imgb-test-password # test-only credential of the throwaway registry on :5001
BASE_IMAGE=imgb-test/busybox:latest
# Builder nodes: a second daemon, reachable over its unix socket, tcp and ssh (key-only root
# login through a private sshd whose sessions find /usr/bin/docker first and this daemon).
DOCKER2_SOCK="$RUN_DIR/docker2.sock"
DOCKER2_TCP=tcp://127.0.0.1:2376
SSH_DIR="$RUN_DIR/ssh"
SSH_PORT=2222
DOCKER2_SSH=ssh://root@127.0.0.1:$SSH_PORT
# The same busybox for linux/arm64 (local, in docker and podman storage) and a two-platform index
# of both in the registry on :5000, which builds for several platforms pull from (loopback).
ARM64_BASE_IMAGE=imgb-test/busybox:arm64
MULTIARCH_BASE=$REGISTRY_ADDR/imgb-test/busybox-multi:latest
# Everything the suites run: the engines, the registry, htpasswd (apache2-utils), skopeo, curl;
# python3 (tarfile round-trips), procps (ps), git (release version), setpriv (util-linux).
# qemu-user-static + binfmt-support: RUN steps of foreign platforms (linux/arm64) under emulation;
# zsh, fish: the completion scripts are loaded into real shells.
PACKAGES=(docker.io podman buildah docker-registry busybox-static apache2-utils skopeo curl python3 procps git util-linux openssh-client openssh-server qemu-user-static binfmt-support zsh fish)
# Commands installed from PACKAGE only when missing from PATH (node/npm often come from elsewhere).
COMMAND_PACKAGES=(npm:npm)
# The Debian client: it matches the 20.10 daemon and has the BuildKit frontend built in.
DOCKER_CLI=/usr/bin/docker

log() { printf 'testenv: %s\n' "$*" >&2; }
die() { printf 'testenv: error: %s\n' "$*" >&2; exit 1; }

ensure_packages() {
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
  done
  for p in "${COMMAND_PACKAGES[@]}"; do
    command -v "${p%%:*}" >/dev/null 2>&1 || missing+=("${p#*:}")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  [ "$(id -u)" -eq 0 ] || die "missing packages (${missing[*]}) and not root: run as root or install them"
  log "installing ${missing[*]}"
  apt-get update -qq || die "apt-get update failed"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || die "apt-get install ${missing[*]} failed"
}

# Is the process in pidfile $1 alive?
alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# Start "$@" detached (own session, no stdin), output to log $2, pid to pidfile $1. The
# services get a temp dir of their own, never the caller's TMPDIR: they outlive the command that
# started them, and write there at any time (containerd dumps its goroutine stacks to
# $TMPDIR/containerd.PID.stacks.log when dockerd finds it unresponsive and restarts it; podman's
# service keeps build files there), which .ci/run's "nothing left in TMPDIR" check would blame
# on the tests.
spawn() {
  local pidfile=$1 logfile=$2; shift 2
  mkdir -p "$SERVICE_TMP"
  TMPDIR="$SERVICE_TMP" setsid "$@" >>"$logfile" 2>&1 </dev/null &
  echo $! >"$pidfile"
}

# Poll `$2…` until it succeeds or $1 seconds pass.
wait_until() {
  local timeout=$1 i; shift
  for ((i = 0; i < timeout * 4; i++)); do
    "$@" >/dev/null 2>&1 && return 0
    sleep 0.25
  done
  return 1
}

fail_with_log() {
  local what=$1 logfile=$2
  printf 'testenv: error: %s did not become ready; last lines of %s:\n' "$what" "$logfile" >&2
  tail -n 25 "$logfile" >&2 || true
  exit 1
}

# overlay inside this sandbox may be unavailable (nested overlay, missing module, no privileges):
# try a real mount on the filesystem that will hold the data, fall back to vfs.
overlay_works() {
  local d="$DATA_DIR/.overlay-probe" ok=1
  rm -rf "$d" && mkdir -p "$d"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$d/lower,upperdir=$d/upper,workdir=$d/work" "$d/merged" 2>/dev/null; then
    umount "$d/merged" && ok=0
  fi
  rm -rf "$d"
  return $ok
}

docker_storage_driver() {
  if [ -s "$RUN_DIR/storage-driver" ]; then cat "$RUN_DIR/storage-driver"; return; fi
  local driver=vfs
  overlay_works && driver=overlay2
  echo "$driver" >"$RUN_DIR/storage-driver"
  echo "$driver"
}

docker_ready() { "$DOCKER_CLI" -H "unix://$DOCKER_SOCK" version --format '{{.Server.Version}}'; }

start_dockerd() {
  if alive "$RUN_DIR/docker.pid" && docker_ready >/dev/null 2>&1; then
    "$DOCKER_CLI" -H "$DOCKER_TCP" version >/dev/null 2>&1 \
      || log "warning: the running dockerd (pid $(cat "$RUN_DIR/docker.pid")) does not listen on $DOCKER_TCP (started by hand?): '$0 stop && $0 start' restarts it"
    return 0
  fi
  local driver; driver=$(docker_storage_driver)
  log "starting dockerd (storage driver $driver) on unix://$DOCKER_SOCK and $DOCKER_TCP"
  mkdir -p "$DATA_DIR/docker" "$RUN_DIR/docker-exec"
  echo '{}' >"$RUN_DIR/daemon.json" # never read /etc/docker/daemon.json
  rm -f "$RUN_DIR/docker.pid"
  spawn "$RUN_DIR/dockerd.launcher.pid" "$RUN_DIR/dockerd.log" dockerd \
    --config-file "$RUN_DIR/daemon.json" \
    --data-root "$DATA_DIR/docker" --exec-root "$RUN_DIR/docker-exec" --pidfile "$RUN_DIR/docker.pid" \
    -H "unix://$DOCKER_SOCK" -H "$DOCKER_TCP" \
    --bridge=none --iptables=false --ip-masq=false --ip6tables=false --userland-proxy=false \
    --storage-driver "$driver"
  # dockerd 20.10 warns (and may pause) about a TCP socket without TLS: allow for it.
  wait_until 60 docker_ready || fail_with_log dockerd "$RUN_DIR/dockerd.log"
}

docker2_ready() { "$DOCKER_CLI" -H "unix://$DOCKER2_SOCK" version --format '{{.Server.Version}}'; }

# The second daemon of the builder-node suites: own data, exec root and pidfile, same flags and
# storage driver as the first. Started beside it, never instead of it.
start_dockerd2() {
  if alive "$RUN_DIR/docker2.pid" && docker2_ready >/dev/null 2>&1; then return 0; fi
  local driver; driver=$(docker_storage_driver)
  log "starting a second dockerd (storage driver $driver) on unix://$DOCKER2_SOCK and $DOCKER2_TCP"
  mkdir -p "$DATA_DIR/docker2" "$RUN_DIR/docker2-exec"
  echo '{}' >"$RUN_DIR/daemon2.json"
  rm -f "$RUN_DIR/docker2.pid"
  spawn "$RUN_DIR/dockerd2.launcher.pid" "$RUN_DIR/dockerd2.log" dockerd \
    --config-file "$RUN_DIR/daemon2.json" \
    --data-root "$DATA_DIR/docker2" --exec-root "$RUN_DIR/docker2-exec" --pidfile "$RUN_DIR/docker2.pid" \
    -H "unix://$DOCKER2_SOCK" -H "$DOCKER2_TCP" \
    --bridge=none --iptables=false --ip-masq=false --ip6tables=false --userland-proxy=false \
    --storage-driver "$driver"
  wait_until 60 docker2_ready || fail_with_log "the second dockerd" "$RUN_DIR/dockerd2.log"
}

# docker over ssh:// with the test's client config: the docker CLI runs plain `ssh`, so a shim
# first on PATH adds `-F` (what the docker flavor's `ssh_config` node key does for users).
ssh_docker() { PATH="$SSH_DIR/bin:$PATH" DOCKER_HOST="$DOCKER2_SSH" "$DOCKER_CLI" "$@"; }

ssh_ready() { ssh_docker version --format '{{.Server.Version}}'; }

# An sshd on loopback only, for docker over ssh://: its own host key and config, root login with
# the test key pair only. Sessions get PATH with /usr/bin first (docker over ssh runs `docker
# system dial-stdio` there, and /usr/local/bin may hold another docker CLI) and DOCKER_HOST of the
# second daemon. The client side is a private ssh config (key, known host) for the suites.
start_sshd() {
  if alive "$RUN_DIR/sshd.pid" && ssh_ready >/dev/null 2>&1; then return 0; fi
  mkdir -p "$SSH_DIR/bin" /run/sshd
  chmod 700 "$SSH_DIR"
  [ -s "$SSH_DIR/host_ed25519_key" ] || ssh-keygen -q -t ed25519 -N '' -C imgb-test-host -f "$SSH_DIR/host_ed25519_key"
  [ -s "$SSH_DIR/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C imgb-test-client -f "$SSH_DIR/id_ed25519"
  cp "$SSH_DIR/id_ed25519.pub" "$SSH_DIR/authorized_keys"
  printf '[127.0.0.1]:%s %s\n' "$SSH_PORT" "$(cut -d' ' -f1,2 "$SSH_DIR/host_ed25519_key.pub")" >"$SSH_DIR/known_hosts"
  cat >"$SSH_DIR/sshd_config" <<SSHD
ListenAddress 127.0.0.1:$SSH_PORT
HostKey $SSH_DIR/host_ed25519_key
PidFile $RUN_DIR/sshd.pid
AuthorizedKeysFile $SSH_DIR/authorized_keys
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
UsePAM no
StrictModes no
X11Forwarding no
PrintMotd no
SetEnv PATH=/usr/bin:/bin:/usr/sbin:/sbin DOCKER_HOST=unix://$DOCKER2_SOCK
SSHD
  cat >"$SSH_DIR/client_config" <<CLIENT
Host 127.0.0.1
  User root
  Port $SSH_PORT
  IdentityFile $SSH_DIR/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $SSH_DIR/known_hosts
  StrictHostKeyChecking yes
  BatchMode yes
CLIENT
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$SSH_DIR/client_config" >"$SSH_DIR/bin/ssh"
  chmod 755 "$SSH_DIR/bin/ssh"
  log "starting sshd on 127.0.0.1:$SSH_PORT (docker over $DOCKER2_SSH)"
  rm -f "$RUN_DIR/sshd.pid"
  spawn "$RUN_DIR/sshd.launcher.pid" "$RUN_DIR/sshd.log" /usr/sbin/sshd -D -e -f "$SSH_DIR/sshd_config"
  wait_until 30 ssh_ready || fail_with_log sshd "$RUN_DIR/sshd.log"
}

write_registry_config() { # name addr storage [auth]
  local name=$1 addr=$2 storage=$3 auth=${4:-}
  mkdir -p "$storage"
  {
    echo "version: 0.1"
    echo "log: { level: info, formatter: text }"
    echo "storage:"
    echo "  filesystem: { rootdirectory: $storage }"
    echo "  delete: { enabled: true }"
    echo "http:"
    echo "  addr: $addr"
    echo "  secret: imgb-test-$name"
    if [ -n "$auth" ]; then
      echo "auth:"
      echo "  htpasswd: { realm: imgb-test, path: $auth }"
    fi
  } >"$RUN_DIR/$name.yml"
}

registry_ready() { # addr expected-http-code
  [ "$(curl -s -o /dev/null -w '%{http_code}' "http://$1/v2/")" = "$2" ]
}

start_registry() { # name addr expected-code [htpasswd]
  local name=$1 addr=$2 code=$3 auth=${4:-}
  if alive "$RUN_DIR/$name.pid" && registry_ready "$addr" "$code"; then return 0; fi
  log "starting $name on $addr"
  write_registry_config "$name" "$addr" "$DATA_DIR/$name" "$auth"
  spawn "$RUN_DIR/$name.pid" "$RUN_DIR/$name.log" docker-registry serve "$RUN_DIR/$name.yml"
  wait_until 30 registry_ready "$addr" "$code" || fail_with_log "$name ($addr)" "$RUN_DIR/$name.log"
}

podman_ready() { curl -sf --unix-socket "$PODMAN_SOCK" http://d/_ping; }

start_podman_service() {
  if alive "$RUN_DIR/podman.pid" && podman_ready >/dev/null 2>&1; then return 0; fi
  log "starting podman system service on unix://$PODMAN_SOCK"
  rm -f "$PODMAN_SOCK"
  spawn "$RUN_DIR/podman.pid" "$RUN_DIR/podman.log" podman system service --time=0 "unix://$PODMAN_SOCK"
  wait_until 30 podman_ready || fail_with_log "podman system service" "$RUN_DIR/podman.log"
}

# A busybox rootfs: the static binary plus one symlink per applet, and the few files a RUN needs.
build_rootfs() {
  local root="$DATA_DIR/busybox-rootfs" applet
  [ -x "$root/bin/busybox" ] && [ -e "$root/bin/sh" ] && { echo "$root"; return; }
  rm -rf "$root"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,var}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  # `busybox --install -s DIR` puts every link in one DIR; --list-full keeps the usual layout.
  for applet in $("$root/bin/busybox" --list-full); do
    [ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$root/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  echo "$root"
}

import_base_images() {
  local root=""
  if ! "$DOCKER_CLI" -H "unix://$DOCKER_SOCK" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    root=$(build_rootfs)
    log "importing $BASE_IMAGE into docker"
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . \
      | "$DOCKER_CLI" -H "unix://$DOCKER_SOCK" import - "$BASE_IMAGE" >/dev/null \
      || die "docker import of $BASE_IMAGE failed"
  fi
  if ! "$DOCKER_CLI" -H "unix://$DOCKER2_SOCK" image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    [ -n "$root" ] || root=$(build_rootfs)
    log "importing $BASE_IMAGE into the second docker"
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . \
      | "$DOCKER_CLI" -H "unix://$DOCKER2_SOCK" import - "$BASE_IMAGE" >/dev/null \
      || die "docker import of $BASE_IMAGE into the second dockerd failed"
  fi
  # podman and buildah share containers/storage: one import serves both (and the service).
  if ! podman image exists "$BASE_IMAGE" 2>/dev/null; then
    [ -n "$root" ] || root=$(build_rootfs)
    log "importing $BASE_IMAGE into podman/buildah storage"
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . \
      | podman import - "$BASE_IMAGE" >/dev/null || die "podman import of $BASE_IMAGE failed"
  fi
}

# binfmt_misc with qemu-aarch64 registered: arm64 binaries run here (F flag: inside chroots too).
ensure_binfmt() {
  local bm=/proc/sys/fs/binfmt_misc
  [ -e "$bm/register" ] || mount -t binfmt_misc binfmt_misc "$bm" \
    || die "cannot mount binfmt_misc on $bm (needed to RUN linux/arm64 steps under qemu)"
  [ -e "$bm/qemu-aarch64" ] || update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 \
    || update-binfmts --import qemu-aarch64 >/dev/null 2>&1 || true
  [ -e "$bm/qemu-aarch64" ] \
    || die "qemu-aarch64 is not registered in $bm (package qemu-user-static; try: update-binfmts --enable qemu-aarch64)"
  grep -q '^enabled' "$bm/qemu-aarch64" || echo 1 >"$bm/qemu-aarch64"
}

# busybox-static for arm64, unpacked: the rootfs of the linux/arm64 base.
build_arm64_rootfs() {
  local root="$DATA_DIR/busybox-arm64-rootfs" deb_dir="$DATA_DIR/debs" deb applet
  [ -x "$root/bin/busybox" ] && [ -e "$root/bin/sh" ] && { echo "$root"; return; }
  mkdir -p "$deb_dir"
  deb=$(ls "$deb_dir"/busybox-static_*_arm64.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    dpkg --print-foreign-architectures | grep -qx arm64 || dpkg --add-architecture arm64
    apt-get update -qq >&2 || die "apt-get update (arm64 lists) failed"
    (cd "$deb_dir" && apt-get download -qq busybox-static:arm64 >&2) || die "apt-get download busybox-static:arm64 failed"
    deb=$(ls "$deb_dir"/busybox-static_*_arm64.deb | head -n1)
  fi
  rm -rf "$root" "$root.x"
  dpkg-deb -x "$deb" "$root.x" || die "dpkg-deb -x $deb failed"
  mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,etc,tmp,root,proc,sys,dev,var}
  chmod 1777 "$root/tmp"
  cp "$root.x/bin/busybox" "$root/bin/busybox"
  rm -rf "$root.x"
  # The applet list of the amd64 busybox (same package version): the arm64 binary runs only under qemu.
  for applet in $(/bin/busybox --list-full); do
    [ "$applet" = bin/busybox ] || ln -sf /bin/busybox "$root/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  echo "$root"
}

registry_has() { # repo tag
  [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    "http://$REGISTRY_ADDR/v2/$1/manifests/$2")" = 200 ]
}

import_arm64_images() {
  local root="" amd_root
  if ! "$DOCKER_CLI" -H "unix://$DOCKER_SOCK" image inspect "$ARM64_BASE_IMAGE" >/dev/null 2>&1; then
    root=$(build_arm64_rootfs)
    log "importing $ARM64_BASE_IMAGE (linux/arm64) into docker"
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . \
      | "$DOCKER_CLI" -H "unix://$DOCKER_SOCK" import --platform linux/arm64 - "$ARM64_BASE_IMAGE" >/dev/null \
      || die "docker import of $ARM64_BASE_IMAGE failed"
  fi
  if ! podman image exists "$ARM64_BASE_IMAGE" 2>/dev/null; then
    [ -n "$root" ] || root=$(build_arm64_rootfs)
    log "importing $ARM64_BASE_IMAGE (linux/arm64) into podman/buildah storage"
    tar --numeric-owner --owner=0 --group=0 -C "$root" -c . \
      | podman import --arch arm64 - "$ARM64_BASE_IMAGE" >/dev/null || die "podman import of $ARM64_BASE_IMAGE failed"
  fi
  if ! registry_has imgb-test/busybox-multi latest; then
    log "pushing $MULTIARCH_BASE (linux/amd64 + linux/arm64 index)"
    local list=imgb-test/busybox-multi-list:latest
    podman manifest rm "$list" >/dev/null 2>&1 || true
    podman manifest create "$list" >/dev/null || die "podman manifest create failed"
    podman manifest add "$list" "containers-storage:localhost/$BASE_IMAGE" >/dev/null || die "podman manifest add (amd64) failed"
    podman manifest add "$list" "containers-storage:localhost/$ARM64_BASE_IMAGE" >/dev/null || die "podman manifest add (arm64) failed"
    podman manifest push --all --tls-verify=false "$list" "docker://$MULTIARCH_BASE" >/dev/null 2>&1 \
      || die "podman manifest push of $MULTIARCH_BASE failed"
    podman manifest rm "$list" >/dev/null 2>&1 || true
  fi
}

# Without overlay, podman and buildah need vfs too: containers/storage reads STORAGE_DRIVER, so
# /etc/containers/storage.conf stays untouched (the suites get it through `env`).
podman_storage_env() {
  [ "$(docker_storage_driver)" = vfs ] && export STORAGE_DRIVER=vfs
  return 0
}

cmd_start() {
  ensure_packages
  mkdir -p "$RUN_DIR" "$DATA_DIR"
  podman_storage_env
  htpasswd -Bbn "$AUTH_USER" "$AUTH_PASSWORD" >"$RUN_DIR/htpasswd"
  start_dockerd
  start_dockerd2
  start_sshd
  start_registry registry "$REGISTRY_ADDR" 200
  start_registry registry-auth "$AUTH_REGISTRY_ADDR" 401 "$RUN_DIR/htpasswd"
  start_podman_service
  import_base_images
  ensure_binfmt
  import_arm64_images
  log "ready (eval \"\$($0 env)\" to use it)"
}

stop_one() { # name pidfile
  local name=$1 pidfile=$2 pid i
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    log "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 80; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && { log "$name did not stop in 20s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  fi
  rm -f "$pidfile"
}

cmd_stop() {
  stop_one "podman system service" "$RUN_DIR/podman.pid"
  stop_one registry-auth "$RUN_DIR/registry-auth.pid"
  stop_one registry "$RUN_DIR/registry.pid"
  stop_one sshd "$RUN_DIR/sshd.pid"
  stop_one sshd "$RUN_DIR/sshd.launcher.pid"
  stop_one "second dockerd" "$RUN_DIR/docker2.pid"
  stop_one "second dockerd" "$RUN_DIR/dockerd2.launcher.pid"
  # docker.pid is written by dockerd itself; the launcher pidfile covers a daemon that died early.
  stop_one dockerd "$RUN_DIR/docker.pid"
  stop_one dockerd "$RUN_DIR/dockerd.launcher.pid"
  rm -f "$PODMAN_SOCK"
}

cmd_status() {
  local rc=0
  [ "$(cat "$RUN_DIR/storage-driver" 2>/dev/null)" = vfs ] && export STORAGE_DRIVER=vfs
  check() { # label command…
    local label=$1; shift
    if "$@" >/dev/null 2>&1; then printf '%-16s up\n' "$label"; else printf '%-16s DOWN\n' "$label"; rc=1; fi
  }
  check dockerd docker_ready
  check dockerd-tcp "$DOCKER_CLI" -H "$DOCKER_TCP" version --format '{{.Server.Version}}'
  check dockerd2 docker2_ready
  check dockerd2-tcp "$DOCKER_CLI" -H "$DOCKER2_TCP" version --format '{{.Server.Version}}'
  check dockerd2-ssh ssh_ready
  check base-docker2 "$DOCKER_CLI" -H "unix://$DOCKER2_SOCK" image inspect "$BASE_IMAGE"
  check registry registry_ready "$REGISTRY_ADDR" 200
  check registry-auth registry_ready "$AUTH_REGISTRY_ADDR" 401
  check podman-service podman_ready
  check base-docker "$DOCKER_CLI" -H "unix://$DOCKER_SOCK" image inspect "$BASE_IMAGE"
  check base-podman podman image exists "$BASE_IMAGE"
  check binfmt-aarch64 grep -q '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64
  check arm64-docker "$DOCKER_CLI" -H "unix://$DOCKER_SOCK" image inspect "$ARM64_BASE_IMAGE"
  check arm64-podman podman image exists "$ARM64_BASE_IMAGE"
  check multiarch-base registry_has imgb-test/busybox-multi latest
  return $rc
}

cmd_env() {
  cat <<EOF
export DOCKER_HOST=unix://$DOCKER_SOCK
export IMGB_TEST_DOCKER_HOST=unix://$DOCKER_SOCK
export IMGB_TEST_DOCKER_TCP=$DOCKER_TCP
export IMGB_TEST_DOCKER2_HOST=unix://$DOCKER2_SOCK
export IMGB_TEST_DOCKER2_TCP=$DOCKER2_TCP
export IMGB_TEST_DOCKER2_SSH=$DOCKER2_SSH
export IMGB_TEST_SSH_CONFIG=$SSH_DIR/client_config
export IMGB_TEST_SSH_KEY=$SSH_DIR/id_ed25519
export IMGB_TEST_PODMAN_URL=unix://$PODMAN_SOCK
export IMGB_TEST_REGISTRY=$REGISTRY_ADDR
export IMGB_TEST_AUTH_REGISTRY=$AUTH_REGISTRY_ADDR
export IMGB_TEST_BASE_IMAGE=$BASE_IMAGE
export IMGB_TEST_ARM64_BASE_IMAGE=$ARM64_BASE_IMAGE
export IMGB_TEST_MULTIARCH_BASE=$MULTIARCH_BASE
EOF
  if [ "$(cat "$RUN_DIR/storage-driver" 2>/dev/null)" = vfs ]; then echo "export STORAGE_DRIVER=vfs"; fi
}

case "${1:-}" in
  start) cmd_start ;;
  stop) cmd_stop ;;
  status) cmd_status ;;
  env) cmd_env ;;
  *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
