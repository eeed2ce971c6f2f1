#!/usr/bin/env python3
"""Issue 12's acceptance in the Linux test guest, on qlite and on the real
QEMU (so the test itself is known to be right), for -device e1000,
virtio-net-pci and virtio-net-pci,disable-legacy=on on -netdev user:

- the guest gets 10.0.2.15 from slirp's DHCP and its DNS server at
  10.0.2.3 answers a query (forwarded to the host's resolver);
- the host fetches a 32 MiB file from the guest's web server through
  hostfwd and its sha256 matches the guest's;
- set_link n0 off over QMP: the guest sees its carrier drop; on: back.

Skips, saying why, when the test guest cannot be built.
"""
import hashlib
import os
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_guest import (Guest, Qmp, emulators, free_port,  # noqa
                         skip_reason_guest)

NICS = [('e1000', 'e1000'),
        ('virtio-net', 'virtio-net-pci'),
        ('virtio-net-modern', 'virtio-net-pci,disable-legacy=on')]
FILE_MIB = 32


def fetch(url, timeout):
    """GET @url, retrying while the guest's server is not up yet."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                return r.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def carrier_is(g, value, timeout_s=30):
    """Wait in the guest until eth0's carrier reads @value."""
    out = g.check('i=0; while [ "$(cat /sys/class/net/eth0/carrier)" != %d ]'
                  ' && [ $i -lt %d ]; do sleep 0.1; i=$((i+1)); done; '
                  'echo carrier=$(cat /sys/class/net/eth0/carrier)'
                  % (value, timeout_s * 10))
    return 'carrier=%d' % value in out


class LinuxNet(unittest.TestCase):

    def setUp(self):
        why = skip_reason_guest()
        if why:
            print('SKIP: %s' % why)
            self.skipTest(why)

    def run_one(self, emu, dev, tmp):
        port = free_port()
        qmp_path = os.path.join(tmp, 'qmp.sock')
        args = ['-netdev',
                'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:8080' % port,
                '-device', '%s,netdev=n0' % dev,
                '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
        with Guest(emu, args) as g:
            out = g.check('ip link set eth0 up && '
                          'udhcpc -i eth0 -n -q -t 10 -T 3 2>&1', 300)
            self.assertIn('QLITE-DHCP: eth0 10.0.2.15/24', out)
            self.assertIn('10.0.2.15/24', g.check('ip -4 addr show eth0'))
            self.assertIn('nameserver 10.0.2.3',
                          g.check('cat /etc/resolv.conf'))
            # Any answer (an address or NXDOMAIN: the host may be
            # offline) came back through slirp's DNS; silence would not.
            _, out = g.run('nslookup debian.org 10.0.2.3', 120)
            self.assertTrue('NXDOMAIN' in out or 'Name:' in out or
                            'Address: ' in out.split('debian.org')[-1],
                            out)
            self.assertNotIn('timed out', out)

            g.check('mkdir -p /tmp/www && dd if=/dev/urandom '
                    'of=/tmp/www/f bs=1M count=%d 2>/dev/null' % FILE_MIB,
                    300)
            want = g.check('sha256sum /tmp/www/f', 300).split()[-2]
            g.check('httpd -p 8080 -h /tmp/www')
            data = fetch('http://127.0.0.1:%d/f' % port, 600)
            self.assertEqual(len(data), FILE_MIB << 20)
            self.assertEqual(hashlib.sha256(data).hexdigest(), want)

            qmp = Qmp(qmp_path)
            try:
                self.assertTrue(carrier_is(g, 1))
                self.assertEqual(qmp.cmd('set_link', {'name': 'n0',
                                                      'up': False}),
                                 {'return': {}})
                self.assertTrue(carrier_is(g, 0))
                self.assertEqual(qmp.cmd('set_link', {'name': 'n0',
                                                      'up': True}),
                                 {'return': {}})
                self.assertTrue(carrier_is(g, 1))
            finally:
                qmp.close()
            self.assertEqual(g.poweroff(), 0, g.stderr())

    def test_user_net_dhcp_dns_hostfwd_link(self):
        for name, emu in emulators():
            for nic, dev in NICS:
                with self.subTest(emulator=name, nic=nic), \
                        tempfile.TemporaryDirectory() as tmp:
                    start = time.monotonic()
                    self.run_one(emu, dev, tmp)
                    print('%s %s: %.1f s' % (name, nic,
                                             time.monotonic() - start))


if __name__ == '__main__':
    unittest.main()
