#!/usr/bin/env bash
# Installs what the qemu provider and its VM image build need, from Debian's packages: QEMU (qemu-system-x86,
# qemu-utils for qemu-img), the cloud kernel the guests boot with its modules (linux-image-cloud-amd64), cpio to pack
# the initramfs, and busybox-static, the guests' whole userland. Idempotent: installs only what is missing.
set -euo pipefail

have_package() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
command -v qemu-system-x86_64 >/dev/null 2>&1 || missing+=(qemu-system-x86)
command -v qemu-img >/dev/null 2>&1 || missing+=(qemu-utils)
command -v cpio >/dev/null 2>&1 || missing+=(cpio)
# The plain busybox package is dynamically linked and cannot run in a guest with no libc: the static one replaces it.
have_package busybox-static || missing+=(busybox-static)
ls /boot/vmlinuz-*-cloud-amd64 >/dev/null 2>&1 || missing+=(linux-image-cloud-amd64)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-qemu: QEMU, qemu-img, cpio, busybox-static and the cloud kernel already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-qemu: must run as root to install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-qemu: installed ${missing[*]}"
