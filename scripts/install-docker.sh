#!/usr/bin/env bash
# Installs the Docker engine and busybox-static (the source of the local base image) when missing,
# starts dockerd in the background when it is not answering, and waits until it does.
# Idempotent: safe to call from CI and from a developer shell any number of times.
#
# Environment:
#   DOCKER_LOG          dockerd's log file (default /var/log/dockerd.log)
#   DOCKER_WAIT_SECONDS how long to wait for the engine to answer (default 60)
set -euo pipefail

LOG="${DOCKER_LOG:-/var/log/dockerd.log}"
WAIT="${DOCKER_WAIT_SECONDS:-60}"
SOCK=/var/run/docker.sock

fail() {
  echo "install-docker: $*" >&2
  exit 1
}

# Ask the engine itself: a socket file can outlive a killed dockerd. `timeout` bounds a hung engine.
# The docker CLI is there once docker.io is (a stray CLI without an engine, e.g. in /usr/local/bin, is fine too).
engine_answers() {
  [ -S "$SOCK" ] && command -v docker >/dev/null 2>&1 && timeout 10 docker -H "unix://$SOCK" info >/dev/null 2>&1
}

if [ "$(id -u)" -ne 0 ] && ! engine_answers; then
  fail "must run as root to install or start dockerd (or start it yourself)"
fi

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
# Check the package, not /bin/busybox: the dynamic busybox package installs there too, and the image
# (which has no libc) needs the static build.
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-docker: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || fail "apt-get update failed"
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || fail "apt-get install ${missing[*]} failed"
fi

if engine_answers; then
  echo "install-docker: engine already answering on $SOCK"
  exit 0
fi

started=""
if pgrep -x dockerd >/dev/null 2>&1; then
  echo "install-docker: dockerd is running but not answering yet; waiting"
else
  # A dockerd killed without cleanup leaves its pid file; a new one refuses to start while that pid is alive,
  # and the pid may since belong to another process.
  rm -f /var/run/docker.pid
  mkdir -p "$(dirname "$LOG")"
  echo "install-docker: starting dockerd (log: $LOG)"
  # setsid + nohup: the engine must outlive this script and the shell that ran it.
  setsid nohup dockerd >>"$LOG" 2>&1 </dev/null &
  # Watch this pid, not the name: until setsid and nohup have exec'd, no process is called dockerd yet.
  started=$!
fi

still_starting() {
  if [ -n "$started" ]; then kill -0 "$started" 2>/dev/null; else pgrep -x dockerd >/dev/null 2>&1; fi
}

for ((i = 0; i < WAIT * 2; i++)); do
  if engine_answers; then
    echo "install-docker: engine ready after ~$((i / 2))s"
    exit 0
  fi
  if ! still_starting; then
    tail -n 30 "$LOG" >&2 || true
    fail "dockerd exited during start-up; see $LOG"
  fi
  sleep 0.5
done

tail -n 30 "$LOG" >&2 || true
fail "dockerd did not answer on $SOCK within ${WAIT}s; see $LOG"
