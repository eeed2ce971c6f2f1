#!/usr/bin/env python3
"""Issue 15: the Linux test guest at -smp 4 with one host thread per vCPU
(-accel tcg,thread=multi): it boots and lists 4 processors; 4 busy shell
loops run at once and each finishes with its exact count; while they run,
QMP stop and cont answer within a second each, 20 times, and the guest
goes on afterwards; dmesg has no BUG/WARNING/Oops; poweroff ends the
emulator with status 0.

Runs on qlite and on the real QEMU (so that the test itself is known to
be right); skips, saying why, where the test guest cannot be built.
"""
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_kvm_linux import skip_reason_guest  # noqa: E402
from linux_guest import Guest, Qmp, emulators  # noqa: E402

LOOPS = 20          # stop/cont rounds while the guest is busy
WORK = 3000         # iterations of each busy loop


class LinuxSmp4(unittest.TestCase):

    def setUp(self):
        why = skip_reason_guest()
        if why:
            print('SKIP: %s' % why)
            self.skipTest(why)

    def boot_and_check(self, binary):
        with tempfile.TemporaryDirectory() as tmp:
            sock = os.path.join(tmp, 'qmp')
            g = Guest((binary, 'tcg,thread=multi'),
                      ['-qmp', 'unix:%s,server=on,wait=off' % sock], smp=4)
            with g:
                qmp = Qmp(sock)
                out = g.check('grep -c ^processor /proc/cpuinfo')
                self.assertIn('4', out.split())
                # Four loops at once, each printing its own count.
                g.con.type('p=""; for i in 1 2 3 4; do (n=0; while '
                           '[ $n -lt %d ]; do n=$((n+1)); done; '
                           'echo "LOOP-$i=$n") & p="$p $!"; done; '
                           'wait $p; echo "ALL-$((2+2))-DONE"' % WORK)
                for _ in range(LOOPS):
                    for cmd, state in (('stop', 'paused'),
                                       ('cont', 'running')):
                        t0 = time.monotonic()
                        r = qmp.cmd(cmd)
                        self.assertEqual(r, {'return': {}}, r)
                        r = qmp.cmd('query-status')
                        self.assertLess(time.monotonic() - t0, 1.0, cmd)
                        self.assertEqual(r['return']['status'], state)
                g.con.wait_for(r'ALL-4-DONE', 300)
                text = g.con.text()
                for i in range(1, 5):
                    self.assertIn('LOOP-%d=%d' % (i, WORK), text)
                bad = g.check('dmesg | grep -c -E "BUG:|WARNING:|Oops|'
                              'Call Trace|Kernel panic" || true')
                self.assertIn('0', bad.split(), bad)
                qmp.close()
                self.assertEqual(g.poweroff(), 0, g.stderr())

    def test_smp4(self):
        for name, (binary, accel) in emulators():
            if accel != 'tcg':
                continue
            with self.subTest(emulator=name):
                self.boot_and_check(binary)


if __name__ == '__main__':
    # Exit 77 when every test skipped, so meson reports SKIP, not OK.
    res = unittest.main(verbosity=2, exit=False).result
    if res.testsRun and len(res.skipped) == res.testsRun:
        sys.exit(77)
    sys.exit(0 if res.wasSuccessful() else 1)
