#!/usr/bin/env python3
"""Issue 12: two guests on tap devices.  The test makes a network
namespace with a bridge and two taps in it, boots two guests in that
namespace (one with virtio-net, one with e1000, each on its own tap),
gives them static addresses, and checks that they ping each other and
that a 4 MiB file fetched from one by the other keeps its sha256.  Runs
on qlite and on the real QEMU (so the test itself is known to be right).

Skips, saying why, where the machine cannot make taps (no /dev/net/tun,
not root, no network namespaces or bridges).
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_guest import Guest, emulators, skip_reason_guest  # noqa

NS = 'qlite-tap-%d' % os.getpid()
GUESTS = [('tap0', 'virtio-net-pci', '52:54:00:77:00:01', '192.168.77.1'),
          ('tap1', 'e1000', '52:54:00:77:00:02', '192.168.77.2')]


def ip(*args, ns=True):
    cmd = (['ip', 'netns', 'exec', NS, 'ip'] if ns else ['ip']) + list(args)
    return subprocess.run(cmd, capture_output=True, text=True)


def make_namespace():
    """The namespace, bridge and taps; None or why it could not be made."""
    if not os.path.exists('/dev/net/tun'):
        return 'no /dev/net/tun'
    if os.geteuid() != 0:
        return 'not root: cannot make taps or namespaces'
    steps = [(('netns', 'add', NS), False),
             (('link', 'add', 'br0', 'type', 'bridge'), True),
             (('link', 'set', 'br0', 'up'), True)]
    for tap, _, _, _ in GUESTS:
        steps += [(('tuntap', 'add', 'dev', tap, 'mode', 'tap'), True),
                  (('link', 'set', tap, 'master', 'br0'), True),
                  (('link', 'set', tap, 'up'), True)]
    for args, in_ns in steps:
        r = ip(*args, ns=in_ns)
        if r.returncode != 0:
            return 'ip %s: %s' % (' '.join(args), r.stderr.strip())
    return None


class LinuxTap(unittest.TestCase):

    def setUp(self):
        why = skip_reason_guest()
        if why:
            print('SKIP: %s' % why)
            self.skipTest(why)
        why = make_namespace()
        self.addCleanup(ip, 'netns', 'del', NS, ns=False)
        if why:
            print('SKIP: %s' % why)
            self.skipTest(why)

    def boot(self, emu, tap, dev, mac, addr):
        g = Guest(emu, ['-netdev', 'tap,id=t0,ifname=%s,script=no,'
                        'downscript=no' % tap,
                        '-device', '%s,netdev=t0,mac=%s' % (dev, mac)])
        g.args = ['ip', 'netns', 'exec', NS] + g.args
        g.start()
        self.addCleanup(g.kill)
        g.check('ip addr add %s/24 dev eth0 && ip link set eth0 up' % addr)
        return g

    def test_two_guests_ping_and_move_a_file(self):
        for name, emu in emulators():
            if name == 'qlite-kvm':
                continue    # the taps are the point, not the accelerator
            with self.subTest(emulator=name):
                a, b = [self.boot(emu, *g) for g in GUESTS]
                ip_a, ip_b = GUESTS[0][3], GUESTS[1][3]
                out = a.check('ping -c 3 -W 10 %s' % ip_b, 300)
                self.assertIn('3 packets received', out)
                out = b.check('ping -c 3 -W 10 %s' % ip_a, 300)
                self.assertIn('3 packets received', out)
                b.check('mkdir -p /tmp/www && dd if=/dev/urandom '
                        'of=/tmp/www/f bs=1M count=4 2>/dev/null && '
                        'httpd -p 8080 -h /tmp/www')
                want = b.check('sha256sum /tmp/www/f').split()[-2]
                a.check('wget -q -O /tmp/got http://%s:8080/f' % ip_b, 300)
                got = a.check('sha256sum /tmp/got').split()[-2]
                self.assertEqual(got, want)
                for g in (a, b):
                    self.assertEqual(g.poweroff(), 0, g.stderr())


if __name__ == '__main__':
    unittest.main()
