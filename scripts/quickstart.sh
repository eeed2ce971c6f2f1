#!/bin/sh
# The README's first command: install what qlite needs, build it, build the
# test guest from Debian's packages and boot it on a serial console.
# Ctrl-a x quits qlite.
set -e
cd "$(dirname "$0")/.."
scripts/install-deps.sh
[ -f build/build.ninja ] || ./configure
ninja -C build

QLITE=build/qlite-system-x86_64
# KVM where it is real hardware virtualisation; a PVM host (kvm_pvm, a
# software hypervisor) boots a stock kernel slower than the CPU emulator.
ACCEL="-machine accel=kvm:tcg"
[ -d /sys/module/kvm_pvm ] && ACCEL="-accel tcg"
if [ -f scripts/build-test-guest.sh ] && scripts/build-test-guest.sh; then
    echo "Booting the test guest (Debian's kernel + busybox); Ctrl-a x quits."
    exec "$QLITE" $ACCEL -m 512M -nographic \
        -kernel build/guest/vmlinuz -initrd build/guest/initramfs.gz \
        -append "console=ttyS0 qlite.scenario=shell"
fi
echo "The test guest could not be built; running the bare-metal CPU tests."
exec python3 tests/guest/run-guest-tests.py --emulator "$QLITE" --out build/guest-kernels -v
