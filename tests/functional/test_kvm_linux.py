#!/usr/bin/env python3
"""Boot the Debian test guest (scripts/build-test-guest.sh) on qlite with
KVM: the stock kernel reaches the guest's ready marker and the scenario
ends qlite with status 0.

Until the machine has ACPI, `poweroff -f` only halts the guest, so the
guest ends with `reboot -f` (qlite.exit=reboot) under -no-reboot: the
kernel's reboot path (keyboard controller, then a triple fault) ends qlite.

Skips, saying why, where /dev/kvm is missing, the guest cannot be built
(no Debian mirror), or the host's KVM is PVM (kvm_pvm: a software
hypervisor on shadow paging, where the stock kernel's decompressor alone
takes many minutes; QLITE_KVM_PVM_OK=1 tries anyway).
QLITE_GUEST_TIMEOUT sets the boot timeout in seconds (default 120).
"""
import os
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_kvm import SRC_ROOT, binary, kvm_unusable  # noqa: E402

GUEST_DIR = os.environ.get('QLITE_GUEST_DIR') or os.path.join(
    SRC_ROOT, 'build', 'guest')
BOOT_TIMEOUT = float(os.environ.get('QLITE_GUEST_TIMEOUT', '120'))
READY = b'QLITE-GUEST-READY'


def skip_reason():
    why = kvm_unusable()
    if why:
        return 'KVM is not usable here (%s)' % why
    if (os.path.isdir('/sys/module/kvm_pvm') and
            not os.environ.get('QLITE_KVM_PVM_OK')):
        return ('host KVM is PVM (kvm_pvm, no VMX/SVM): a stock kernel '
                'boots too slowly to test; QLITE_KVM_PVM_OK=1 tries')
    return skip_reason_guest()


def skip_reason_guest():
    """Why the test guest cannot be had here, or None (builds it)."""
    p = subprocess.run([os.path.join(SRC_ROOT, 'scripts',
                                     'build-test-guest.sh'), GUEST_DIR],
                       capture_output=True)
    if p.returncode == 2:
        return 'cannot build the test guest: %s' % \
            p.stderr.decode(errors='replace').strip().splitlines()[-1]
    if p.returncode != 0:
        raise RuntimeError('build-test-guest.sh failed:\n' +
                           p.stderr.decode(errors='replace'))
    return None


class LinuxGuestTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.why = skip_reason()

    def setUp(self):
        if self.why:
            print('SKIP: %s' % self.why)
            self.skipTest(self.why)

    def boot(self, scenario, extra=()):
        args = [binary(), '-accel', 'kvm', '-m', '512M', '-nographic',
                '-no-reboot', '-kernel', os.path.join(GUEST_DIR, 'vmlinuz'),
                '-initrd', os.path.join(GUEST_DIR, 'initramfs.gz'),
                '-append', 'console=ttyS0 qlite.scenario=%s '
                'qlite.exit=reboot' % scenario] + list(extra)
        start = time.monotonic()
        p = subprocess.run(args, stdin=subprocess.DEVNULL,
                           capture_output=True, timeout=BOOT_TIMEOUT)
        return p, time.monotonic() - start

    def test_poweroff_scenario(self):
        p, secs = self.boot('poweroff')
        out = p.stdout.decode(errors='replace')
        self.assertIn(READY.decode(), out, out[-3000:])
        self.assertIn('QLITE-GUEST-DONE', out)
        self.assertEqual(p.returncode, 0, p.stderr)
        for bad in ('BUG:', 'WARNING:', 'Call Trace', 'Oops',
                    'Kernel panic'):
            self.assertNotIn(bad, out)
        print('booted and ended in %.1f s' % secs)

    def test_cpuinfo_scenario(self):
        p, _ = self.boot('cpuinfo')
        out = p.stdout.decode(errors='replace')
        self.assertIn('QLITE-CPUS: 1', out, out[-3000:])
        self.assertEqual(p.returncode, 0, p.stderr)


if __name__ == '__main__':
    # Exit 77 when every test skipped, so meson reports SKIP, not OK.
    res = unittest.main(verbosity=2, exit=False).result
    if res.testsRun and len(res.skipped) == res.testsRun:
        sys.exit(77)
    sys.exit(0 if res.wasSuccessful() else 1)
