#!/bin/sh
# Install what qlite needs to build and test on Debian 12 (as root).
# Safe to run again: apt-get skips what is already there.
set -e
PKGS="build-essential meson ninja-build pkg-config python3
libglib2.0-dev libpixman-1-dev libslirp-dev libjansson-dev zlib1g-dev
liburing-dev libseccomp-dev socat cpio gzip busybox-static xz-utils
e2fsprogs xorriso
qemu-system-x86 qemu-utils"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
        missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "installing:$missing"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $missing
fi
