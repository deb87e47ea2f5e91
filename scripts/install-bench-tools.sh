#!/usr/bin/env bash
# Installs the command-line tools `npm run bench` calls besides Node's own packages, from Debian's packages: wrk, the
# load generator (bench/lib/wrk.ts), which costs the machine a few µs of CPU per request where autocannon cost 55-85.
# Idempotent: installs only what is missing.
set -euo pipefail

missing=()
command -v wrk >/dev/null 2>&1 || missing+=(wrk)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-bench-tools: wrk already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-bench-tools: must run as root to install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-bench-tools: installed ${missing[*]}"
