#!/usr/bin/env python3
"""Issue 4: the machine's powerdown request (QMP system_powerdown) makes a
Linux guest shut down cleanly, on qlite's own CPU emulator.

Debian 12's stock kernel and the busybox initramfs of
scripts/build-test-guest.sh boot on tcg with a QMP socket.  system_powerdown
emits POWERDOWN and presses the ACPI power button (PIIX4 PM1 PWRBTN_STS,
SCI on IRQ 9); the kernel's button driver reports KEY_POWER, busybox acpid
runs the guest's handler (scripts/guest/power-button), which prints
QLITE-GUEST-POWERDOWN and powers off; the kernel says "reboot: Power down",
enters S5, and qlite exits with status 0 after a SHUTDOWN event
(guest-shutdown).  Once at the powerbutton scenario's wait, once at the
interactive shell with -smp 2.

Skips, saying why, when the guest cannot be built (no Debian mirror).
QLITE_GUEST_TIMEOUT sets the boot timeout in seconds (default 400).
"""
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_kvm_linux import GUEST_DIR, skip_reason_guest  # noqa: E402
from test_kvm import binary  # noqa: E402
from linux_guest import Console  # noqa: E402
from test_qmp_client import QMPClient  # noqa: E402

BOOT_TIMEOUT = float(os.environ.get('QLITE_GUEST_TIMEOUT', '400'))
# From the button to qlite's exit; about a second on a 2-core host.
POWERDOWN_TIMEOUT = 60
BAD = ('BUG:', 'WARNING:', 'Call Trace', 'Oops', 'Kernel panic')


class LinuxPowerdownOnTcg(unittest.TestCase):

    def setUp(self):
        why = skip_reason_guest()
        if why:
            print('SKIP: %s' % why)
            self.skipTest(why)
        self.dir = tempfile.mkdtemp(prefix='qlite-powerdown-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def boot(self, scenario, smp):
        sock = os.path.join(self.dir, 'qmp.sock')
        args = [binary(), '-accel', 'tcg', '-m', '512M', '-smp', str(smp),
                '-nographic',
                '-kernel', os.path.join(GUEST_DIR, 'vmlinuz'),
                '-initrd', os.path.join(GUEST_DIR, 'initramfs.gz'),
                '-append', 'console=ttyS0 qlite.scenario=%s' % scenario,
                '-qmp', 'unix:%s,server=on,wait=off' % sock]
        with open(os.path.join(self.dir, 'stderr'), 'wb') as err:
            proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                    stdout=subprocess.PIPE, stderr=err)
        con = Console(proc)
        self.addCleanup(self.stop, proc, con)
        deadline = time.monotonic() + 10
        while not os.path.exists(sock):
            if proc.poll() is not None:
                self.fail('qlite exited: %s' % self.stderr())
            self.assertLess(time.monotonic(), deadline, 'no QMP socket')
            time.sleep(0.02)
        qmp = QMPClient(path=sock)
        self.addCleanup(qmp.close)
        return proc, con, qmp

    def stderr(self):
        with open(os.path.join(self.dir, 'stderr'), 'rb') as f:
            return f.read().decode(errors='replace')

    @staticmethod
    def stop(proc, con):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        con.thread.join(10)
        proc.stdin.close()
        proc.stdout.close()

    def power_button(self, proc, con, qmp):
        """Press the button; the guest must power off cleanly."""
        start = time.monotonic()
        self.assertEqual(qmp.cmd('system_powerdown'), {'return': {}})
        qmp.event('POWERDOWN')
        con.wait_for(r'QLITE-GUEST-POWERDOWN', POWERDOWN_TIMEOUT)
        con.wait_for(r'reboot: Power down', POWERDOWN_TIMEOUT)
        try:
            proc.wait(timeout=POWERDOWN_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail('qlite still runs %d s after the power button:\n%s'
                      % (POWERDOWN_TIMEOUT, con.text()[-3000:]))
        print('power button to exit: %.1f s' % (time.monotonic() - start))
        self.assertEqual(proc.returncode, 0, self.stderr())
        ev = qmp.event('SHUTDOWN')
        self.assertEqual(ev['data'], {'guest': True,
                                      'reason': 'guest-shutdown'})
        out = con.text()
        for bad in BAD:
            self.assertNotIn(bad, out, out[-6000:])

    def test_powerbutton_scenario(self):
        proc, con, qmp = self.boot('powerbutton', 1)
        con.wait_for(r'QLITE-POWERBUTTON-WAIT', BOOT_TIMEOUT)
        # The button driver bound to the fixed power button (FADT).
        self.assertIn('ACPI: button: Power Button [PWRF]', con.text())
        self.assertNotIn('acpid did not start', con.text())
        self.power_button(proc, con, qmp)

    def test_shell_smp2(self):
        proc, con, qmp = self.boot('shell', 2)
        con.wait_for(r'QLITE-GUEST-READY', BOOT_TIMEOUT)
        # The shell is up and answers before the button is pressed.
        time.sleep(1)
        con.type('echo UP-$((1+1))')
        con.wait_for(r'UP-2', 60)
        self.power_button(proc, con, qmp)


if __name__ == '__main__':
    # Exit 77 when every test skipped, so meson reports SKIP, not OK.
    res = unittest.main(verbosity=2, exit=False).result
    if res.testsRun and len(res.skipped) == res.testsRun:
        sys.exit(77)
    sys.exit(0 if res.wasSuccessful() else 1)
