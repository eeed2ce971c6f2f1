#!/bin/sh
# Install what qlite needs to build and test on Debian 12 (as root).
# Safe to run again: apt-get skips what is already there.
set -e
PKGS="build-essential meson ninja-build pkg-config python3
libglib2.0-dev libpixman-1-dev libslirp-dev libjansson-dev zlib1g-dev
liburing-dev libseccomp-dev socat cpio gzip busybox-static xz-utils
e2fsprogs xorriso clang
qemu-system-x86 qemu-utils"
# libvirt for tests/interop/test_libvirt.py: the daemon and its QEMU
# driver, virsh and virt-install, without the system daemon's package
# (the test runs its own session daemon) or the recommended GUI tools.
LIBVIRT_PKGS="libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients
virtinst"

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
updated=""

# install [apt-get options] -- packages: those not installed yet
install() {
    opts=""
    while [ "$1" != "--" ]; do opts="$opts $1"; shift; done
    shift
    missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
            grep -q "ok installed" || missing="$missing $p"
    done
    [ -n "$missing" ] || return 0
    echo "installing:$missing"
    if [ -z "$updated" ]; then
        $SUDO apt-get update -q
        updated=1
    fi
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q $opts $missing
}

install -- $PKGS
install --no-install-recommends -- $LIBVIRT_PKGS ||
    echo "install-deps: libvirt could not be installed; test_libvirt skips"
