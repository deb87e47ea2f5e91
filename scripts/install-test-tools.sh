#!/usr/bin/env bash
# Installs the command-line tools the test suite calls besides Node's own packages: promtool (Debian's prometheus
# package), which checks the /metrics exposition. Idempotent: installs only what is missing.
set -euo pipefail

if command -v promtool >/dev/null 2>&1; then
  echo "install-test-tools: promtool already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-test-tools: must run as root to install prometheus (for promtool)" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends prometheus >/dev/null
# The package only ships the server for promtool's sake here: nothing should be left listening.
if command -v pkill >/dev/null 2>&1; then pkill -x prometheus || true; fi
echo "install-test-tools: installed $(promtool --version 2>&1 | head -n 1)"
