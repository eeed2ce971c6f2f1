#!/bin/bash
# Build qlite's test guest from Debian 12 packages:
#   build/guest/vmlinuz        the stock kernel linux-image-amd64 points to
#   build/guest/initramfs.gz   busybox-static, the modules listed below,
#                              scripts/guest/init as /init and
#                              scripts/guest/power-button as the handler
#                              busybox acpid runs for the power button
# Packages are fetched with `apt-get download` and unpacked with `dpkg -x`;
# nothing is installed.  A second run with the same inputs does nothing.
#
# usage: scripts/build-test-guest.sh [OUTDIR]     (default: build/guest)
# exit status: 0 built or up to date; 2 the packages could not be fetched
# (no Debian mirror reachable, no apt); 1 anything else.
set -euo pipefail

SRC=$(cd "$(dirname "$0")/.." && pwd)
OUT=${1:-$SRC/build/guest}
# Kernel modules every guest gets: the ACPI power button (button) reaches
# busybox acpid as KEY_POWER on an input device (evdev); both are modules
# in Debian's kernel.  The storage drivers (virtio-blk over virtio-pci, IDE
# disks and CD-ROMs on the PIIX, ext4 and ISO 9660) are there for the disk
# tests; they are loaded at boot and cost little when no disk is present.
# So are the NICs (e1000, virtio-net) for the network tests.
BASE_MODULES="button evdev virtio_pci virtio_blk ata_piix sd_mod sr_mod
isofs ext4 crc32c_generic e1000 virtio_net"
# Further kernel modules the tests need (by name; dependencies are added).
GUEST_MODULES=${GUEST_MODULES:-}

die() { echo "build-test-guest: $*" >&2; exit 1; }
unavailable() { echo "build-test-guest: $*" >&2; exit 2; }

# The cache key: every input that changes the result.
inputs_stamp() {
    {
        cat "$SRC/scripts/build-test-guest.sh" "$SRC/scripts/guest/init" \
            "$SRC/scripts/guest/power-button" "$SRC/scripts/guest/mkcpio.py" \
            "$SRC/scripts/guest/udhcpc.script"
        echo "modules: $GUEST_MODULES"
        apt-cache policy linux-image-amd64 busybox-static 2>/dev/null |
            grep Candidate || true
    } | sha256sum | cut -d' ' -f1
}

# apt needs package lists; fetch them once if there are none.
ensure_apt_lists() {
    command -v apt-get >/dev/null || unavailable "apt-get not found"
    command -v dpkg >/dev/null || unavailable "dpkg not found"
    local policy
    policy=$(apt-cache policy linux-image-amd64 2>/dev/null || true)
    if [[ $policy == *"Candidate: "[0-9]* ]]; then
        return
    fi
    echo "build-test-guest: no package lists, running apt-get update" >&2
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq || unavailable "apt-get update failed"
    else
        sudo -n apt-get update -qq ||
            unavailable "no package lists and cannot run apt-get update"
    fi
}

# apt-get download PKG into $WORK/debs; echo the .deb's path.
fetch_deb() {
    local pkg=$1 deb
    # As root, apt warns that its _apt user cannot write here; harmless.
    (cd "$WORK/debs" && apt-get download -q "$pkg" 2>&1 |
        grep -v 'unsandboxed as root' >&2; exit "${PIPESTATUS[0]}") ||
        unavailable "cannot download $pkg (is a Debian mirror reachable?)"
    deb=$(ls -t "$WORK/debs/${pkg}_"*.deb 2>/dev/null | head -n 1)
    [ -n "$deb" ] || die "apt-get download $pkg left no .deb"
    echo "$deb"
}

# linux-image-amd64 is a metapackage; the kernel is in the versioned
# package it depends on (linux-image-6.1.0-NN-amd64).
kernel_package() {
    apt-cache depends linux-image-amd64 |
        awk '/Depends: linux-image-[0-9]/ { print $2; exit }'
}

unpack_kernel() {
    local meta pkg
    meta=$(fetch_deb linux-image-amd64)
    pkg=$(kernel_package)
    [ -n "$pkg" ] || die "cannot resolve the kernel linux-image-amd64 needs"
    dpkg -x "$(fetch_deb "$pkg")" "$WORK/kernel"
    : "$meta"
    KVER=$(ls "$WORK/kernel/lib/modules" | head -n 1)
    [ -f "$WORK/kernel/boot/vmlinuz-$KVER" ] || die "no vmlinuz in $pkg"
}

unpack_busybox() {
    dpkg -x "$(fetch_deb busybox-static)" "$WORK/busybox"
    [ -x "$WORK/busybox/bin/busybox" ] || die "no busybox in busybox-static"
}

# The package ships no modules.dep (its postinst runs depmod); make one
# with busybox's depmod, which needs nothing from the host.
make_modules_dep() {
    [ -f "$WORK/kernel/lib/modules/$KVER/modules.dep" ] && return
    "$WORK/busybox/bin/busybox" depmod -b "$WORK/kernel" "$KVER" ||
        die "depmod failed for $KVER"
}

# Copy module NAME and what it depends on (modules.dep, deepest first)
# into the rootfs and append them to the load list.
add_module() {
    local name=$1 moddir=$WORK/kernel/lib/modules/$KVER line path dep
    line=$(grep -E "(^|/)${name//-/[-_]}\.ko(\.xz)?:" "$moddir/modules.dep" |
           head -n 1) || die "module $name not in $KVER"
    path=${line%%:*}
    for dep in ${line#*:}; do
        add_module "$(basename "${dep%%.ko*}")"
    done
    grep -qxF "$path" "$ROOT/lib/modules/qlite-load.list" 2>/dev/null &&
        return
    mkdir -p "$ROOT/lib/modules/$(dirname "$path")"
    case "$path" in
    *.xz)
        xz -dc "$moddir/$path" > "$ROOT/lib/modules/${path%.xz}"
        path=${path%.xz}
        ;;
    *)
        cp "$moddir/$path" "$ROOT/lib/modules/$path"
        ;;
    esac
    echo "$path" >> "$ROOT/lib/modules/qlite-load.list"
}

make_rootfs() {
    ROOT=$WORK/root
    rm -rf "$ROOT"
    mkdir -p "$ROOT/bin" "$ROOT/dev" "$ROOT/proc" "$ROOT/sys" \
             "$ROOT/tmp" "$ROOT/lib/modules"
    cp "$WORK/busybox/bin/busybox" "$ROOT/bin/busybox"
    ln -s busybox "$ROOT/bin/sh"
    install -m 755 "$SRC/scripts/guest/init" "$ROOT/init"
    # busybox acpid's built-in table maps KEY_POWER to this path.
    mkdir -p "$ROOT/etc/acpi/PWRF"
    install -m 755 "$SRC/scripts/guest/power-button" \
        "$ROOT/etc/acpi/PWRF/00000080"
    # Where Debian's busybox udhcpc looks for its script.
    mkdir -p "$ROOT/etc/udhcpc"
    install -m 755 "$SRC/scripts/guest/udhcpc.script" \
        "$ROOT/etc/udhcpc/default.script"
    for m in $BASE_MODULES $GUEST_MODULES; do
        add_module "$m"
    done
}

main() {
    local stamp
    command -v python3 >/dev/null || die "python3 not found"
    ensure_apt_lists
    stamp=$(inputs_stamp)
    if [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$stamp" ] &&
       [ -f "$OUT/vmlinuz" ] && [ -f "$OUT/initramfs.gz" ]; then
        echo "build-test-guest: $OUT is up to date"
        return
    fi
    mkdir -p "$OUT"
    WORK=$OUT/work
    rm -rf "$WORK"
    mkdir -p "$WORK/debs"
    unpack_kernel
    unpack_busybox
    make_modules_dep
    make_rootfs
    python3 "$SRC/scripts/guest/mkcpio.py" "$ROOT" "$OUT/initramfs.gz" \
        --node dev/console:c:5:1 --node dev/null:c:1:3
    cp "$WORK/kernel/boot/vmlinuz-$KVER" "$OUT/vmlinuz"
    echo "$KVER" > "$OUT/kernel-version"
    echo "$stamp" > "$OUT/stamp"
    rm -rf "$WORK"
    echo "build-test-guest: built $OUT (kernel $KVER)"
}

main
