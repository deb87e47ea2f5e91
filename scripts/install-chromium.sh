#!/usr/bin/env bash
# Installs Debian's Chromium, which the web console's browser tests (test/console) drive with playwright-core: no
# browser is downloaded by npm. Idempotent: installs only when /usr/bin/chromium is missing.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
  echo "install-chromium: $(chromium --version 2>/dev/null || echo chromium) already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-chromium: must run as root to install chromium" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends chromium >/dev/null
echo "install-chromium: installed $(chromium --version 2>/dev/null || echo chromium)"
