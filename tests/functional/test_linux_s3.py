#!/usr/bin/env python3
"""ACPI S3 with a Linux guest, on qlite and on the real QEMU (so that the
test itself is known to be right): Debian's kernel sees \\_S3 ("mem" in
/sys/power/state), suspends on `echo mem > /sys/power/state` (QMP
SUSPEND, query-status "suspended"), and resumes through its FACS waking
vector when QMP system_wakeup wakes it (WAKEUP; qlite plays firmware on
this direct kernel boot, QEMU runs SeaBIOS), and again when the RTC
alarm it set two seconds ahead (/sys/class/rtc/rtc0/wakealarm) wakes it.  The shell goes on after
each resume, CPU 1 comes back (-smp 2: Linux takes it offline before S3
and starts it again with INIT/SIPI), and the kernel logs no warning.

Skips, saying why, when the test guest cannot be built.
"""
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_guest import (Guest, Qmp, emulators,  # noqa: E402
                         skip_reason_guest)

BAD = ('BUG:', 'WARNING:', 'Call Trace', 'Oops', 'Kernel panic')
RESUMED = r'Waking up from system sleep state S3'


class LinuxS3(unittest.TestCase):

    def setUp(self):
        why = skip_reason_guest()
        if why:
            print('SKIP: %s' % why)
            self.skipTest(why)
        self.dir = tempfile.mkdtemp(prefix='qlite-s3-linux-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def wait_event(self, qmp, name, timeout=60):
        """Poll with query-status until @name is among the events."""
        deadline = time.monotonic() + timeout
        while not any(e['event'] == name for e in qmp.events):
            self.assertLess(time.monotonic(), deadline, 'no %s' % name)
            qmp.cmd('query-status')
            time.sleep(0.1)
        qmp.events = [e for e in qmp.events if e['event'] != name]

    def suspend(self, g, qmp, cmd, n):
        """Type @cmd, which suspends; after the resume it prints S3-n."""
        start = len(g.con.text())
        g.con.type('%s; echo "S3-$((%d+0))-DONE"' % (cmd, n))
        self.wait_event(qmp, 'SUSPEND')
        return start

    def check_one(self, name, emu):
        sock = os.path.join(self.dir, '%s.sock' % name)
        qmp_arg = 'unix:%s,server=on,wait=off' % sock
        with Guest(emu, ['-qmp', qmp_arg], smp=2) as g:
            qmp = Qmp(sock)
            self.addCleanup(qmp.close)
            self.assertIn('mem', g.check('cat /sys/power/state'))

            start = self.suspend(g, qmp, 'echo mem > /sys/power/state', 1)
            st = qmp.cmd('query-status')['return']
            self.assertEqual((st['status'], st['running']),
                             ('suspended', False))
            time.sleep(0.5)             # stays suspended: nothing armed
            self.assertEqual(qmp.cmd('query-status')['return']['status'],
                             'suspended')
            self.assertEqual(qmp.cmd('system_wakeup'), {'return': {}})
            self.wait_event(qmp, 'WAKEUP')
            g.con.wait_for(r'S3-1-DONE', 120, start)

            start = self.suspend(g, qmp, 'echo +2 > /sys/class/rtc/rtc0/'
                                 'wakealarm; echo mem > /sys/power/state', 2)
            self.wait_event(qmp, 'WAKEUP', timeout=120)
            g.con.wait_for(r'S3-2-DONE', 120, start)

            dmesg = g.check('dmesg')
            self.assertEqual(dmesg.count(RESUMED), 2, dmesg[-3000:])
            self.assertEqual(dmesg.count('CPU1 is up'), 2, dmesg[-3000:])
            self.assertIn('processor\t: 1', g.check('cat /proc/cpuinfo'))
            for bad in BAD:
                self.assertNotIn(bad, dmesg, name)

    def test_suspend_and_resume(self):
        for name, emu in emulators():
            with self.subTest(emulator=name):
                self.check_one(name, emu)


if __name__ == '__main__':
    unittest.main()
