#!/usr/bin/env bash
# Installs the command-line tools the test suite calls besides Node's own packages, from Debian's packages:
# promtool (package prometheus), which checks the /metrics exposition, and libfaketime (package faketime), under which
# the fault suite runs a replica with its clock a minute off. Idempotent: installs only what is missing.
set -euo pipefail

missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || [ -n "$(ls /usr/lib/*/faketime/libfaketime.so.1 2>/dev/null)" ] || missing+=(faketime)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-test-tools: promtool and libfaketime already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-tools: must run as root to install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# The prometheus package is installed for promtool alone: nothing should be left listening.
if command -v pkill >/dev/null 2>&1; then pkill -x prometheus || true; fi
echo "install-test-tools: installed ${missing[*]}"
