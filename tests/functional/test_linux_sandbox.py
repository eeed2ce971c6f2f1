#!/usr/bin/env python3
"""Issue 16's sandbox acceptance in the Linux test guest, on qlite and,
where QEMU has the same option, on the real QEMU (so the test itself is
known to be right):

- with qlite's default (the seccomp filter on, no option) and with
  "-sandbox on": a virtio-blk qcow2 disk and -netdev user; the guest makes
  a file system, writes, reads back after a remount, gets an address by
  DHCP on a virtio-net or e1000 NIC, and powers off with exit
  status 0; /proc shows the filter loaded (Seccomp: 2);
- QMP after start under the filter: blockdev-add of a file, netdev_add
  user and netdev_add tap without a script succeed (open, socket, ioctl
  are on the list); netdev_add tap with a script, which would exec, is
  refused with an error and qlite lives on;
  with "-sandbox on,spawn=allow" the script runs;
- -chroot into an empty directory and -runas nobody (root only): the
  kernel, initrd and disk were opened before; the guest does its I/O and
  powers off with exit status 0.

Skips, saying why, when the test guest cannot be built.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_guest import Guest, Qmp, emulators, skip_reason_guest  # noqa

NICS = ('virtio-net-pci', 'e1000')


def pick_nic(binary):
    """The first of NICS the emulator has, or None."""
    out = subprocess.run([binary, '-device', 'help'], capture_output=True,
                         text=True).stdout
    return next((n for n in NICS if '"%s"' % n in out), None)


def asan_build(binary):
    """ASan builds start with the sandbox off (system/sandbox.c)."""
    with open(binary, 'rb') as f:
        return b'__asan_init' in f.read()


def seccomp_mode(pid):
    """The filter mode every thread of @pid is in (TSYNC gave the vCPU
    and worker threads the filter too), or the set of modes seen."""
    modes = set()
    for tid in os.listdir('/proc/%d/task' % pid):
        with open('/proc/%d/task/%s/status' % (pid, tid)) as f:
            for line in f:
                if line.startswith('Seccomp:'):
                    modes.add(int(line.split()[1]))
    return modes.pop() if len(modes) == 1 else modes


def disk_io(g):
    """ext2 on /dev/vda: write, remount, read back the same sha256."""
    g.check('mke2fs -F /dev/vda >/dev/null 2>&1 && mkdir -p /m && '
            'mount /dev/vda /m && dd if=/dev/urandom of=/m/data bs=1k '
            'count=4096 2>/dev/null && sync', 300)
    want = sha256_of(g.check('sha256sum /m/data', 300))
    g.check('umount /m && echo 3 > /proc/sys/vm/drop_caches && '
            'mount /dev/vda /m', 300)
    got = sha256_of(g.check('sha256sum /m/data && umount /m', 300))
    return want, got


def sha256_of(out):
    """The sum sha256sum printed (kernel messages may share the lines)."""
    return re.search(r'\b([0-9a-f]{64})  /m/data', out).group(1)


class LinuxSandbox(unittest.TestCase):

    def setUp(self):
        why = skip_reason_guest()
        if why:
            print('SKIP: %s' % why)
            self.skipTest(why)

    def image(self, tmp):
        path = os.path.join(tmp, 'vd.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', path,
                        '64M'], check=True)
        return path

    def boot_and_use(self, emu, sandbox, tmp, during):
        """Boot with @sandbox options, disk and network, do the I/O, call
        @during(qmp) while it runs, power off."""
        binary = emu[0]
        qmp_path = os.path.join(tmp, 'qmp.sock')
        nic = pick_nic(binary)
        args = ['-drive', 'file=%s,format=qcow2,if=virtio' %
                self.image(tmp),
                '-netdev', 'user,id=n0',
                '-qmp', 'unix:%s,server=on,wait=off' % qmp_path]
        args += ['-device', '%s,netdev=n0' % nic] if nic else []
        g = Guest(emu, args + list(sandbox))
        with g:
            if sandbox or not asan_build(binary):
                self.assertEqual(seccomp_mode(g.proc.pid), 2)
            want, got = disk_io(g)
            self.assertEqual(want, got)
            if nic:
                out = g.check('ip link set eth0 up && '
                              'udhcpc -i eth0 -n -q -t 10 -T 3 2>&1', 300)
                self.assertIn('10.0.2.15', out)
            else:
                print('SKIP (guest DHCP): %s has none of %s' % (binary,
                                                                NICS))
            qmp = Qmp(qmp_path)
            try:
                during(qmp)
            finally:
                qmp.close()
            self.assertEqual(g.poweroff(), 0, g.stderr())

    def qmp_after_start(self, qmp, tmp):
        raw = os.path.join(tmp, 'late.raw')
        with open(raw, 'wb') as f:
            f.truncate(1 << 20)
        r = qmp.cmd('blockdev-add', {'driver': 'raw', 'node-name': 'late',
                                     'file': {'driver': 'file',
                                              'filename': raw}})
        self.assertEqual(r, {'return': {}})
        r = qmp.cmd('netdev_add', {'type': 'user', 'id': 'n1'})
        self.assertEqual(r, {'return': {}})

    def tap_script(self, qmp, tmp, expect_run):
        """netdev_add tap,script=: refused under spawn=deny, run under
        spawn=allow; either way the machine goes on."""
        if os.getuid() != 0 or not os.path.exists('/dev/net/tun'):
            print('SKIP (tap script): needs root and /dev/net/tun')
            return
        mark = os.path.join(tmp, 'script-ran')
        script = os.path.join(tmp, 'ifup.sh')
        with open(script, 'w') as f:
            f.write('#!/bin/sh\necho "$1" > %s\n' % mark)
        os.chmod(script, 0o755)
        r = qmp.cmd('netdev_add', {'type': 'tap', 'id': 't1',
                                   'ifname': 'qlsbx%d' % os.getpid(),
                                   'script': script, 'downscript': 'no'})
        if expect_run:
            self.assertEqual(r, {'return': {}})
            self.assertTrue(os.path.exists(mark))
            self.assertEqual(qmp.cmd('netdev_del', {'id': 't1'}),
                             {'return': {}})
        else:
            self.assertIn('error', r)
            self.assertIn('sandbox forbids starting programs',
                          r['error']['desc'])
            self.assertFalse(os.path.exists(mark))
            # without a script, a tap opens under the filter
            r = qmp.cmd('netdev_add', {'type': 'tap', 'id': 't2',
                                       'ifname': 'qlsby%d' % os.getpid(),
                                       'script': 'no', 'downscript': 'no'})
            self.assertEqual(r, {'return': {}})
            self.assertEqual(qmp.cmd('netdev_del', {'id': 't2'}),
                             {'return': {}})
        self.assertEqual(qmp.cmd('query-status')['return']['status'],
                         'running')

    def test_default_and_sandbox_on(self):
        for name, emu in emulators():
            variants = [('-sandbox on', ['-sandbox', 'on'])]
            if name.startswith('qlite'):
                variants.insert(0, ('default', []))
            for label, sandbox in variants:
                with self.subTest(emulator=name, sandbox=label), \
                        tempfile.TemporaryDirectory() as tmp:
                    start = time.monotonic()

                    def during(qmp):
                        self.qmp_after_start(qmp, tmp)
                        if name.startswith('qlite'):
                            self.tap_script(qmp, tmp, expect_run=False)
                    self.boot_and_use(emu, sandbox, tmp, during)
                    print('%s %s: %.1f s' % (name, label,
                                             time.monotonic() - start))

    def test_spawn_allow_runs_tap_script(self):
        name, emu = emulators()[0]
        with tempfile.TemporaryDirectory() as tmp:
            self.boot_and_use(
                emu, ['-sandbox', 'on,spawn=allow'], tmp,
                lambda qmp: self.tap_script(qmp, tmp, expect_run=True))

    def test_chroot_and_runas(self):
        if os.getuid() != 0:
            print('SKIP: -chroot and -runas need root')
            self.skipTest('not root')
        for name, emu in emulators():
            with self.subTest(emulator=name), \
                    tempfile.TemporaryDirectory() as tmp:
                root = os.path.join(tmp, 'root')
                os.mkdir(root)
                img = self.image(tmp)
                os.chmod(tmp, 0o755)    # nobody may reach nothing else
                g = Guest(emu, ['-drive', 'file=%s,format=qcow2,if=virtio'
                                % img, '-chroot', root, '-runas', 'nobody'])
                with g:
                    with open('/proc/%d/status' % g.proc.pid) as f:
                        st = f.read()
                    self.assertIn('\nUid:\t65534\t65534\t65534\t65534', st)
                    self.assertEqual(os.readlink('/proc/%d/root' %
                                                 g.proc.pid), root)
                    want, got = disk_io(g)
                    self.assertEqual(want, got)
                    self.assertEqual(g.poweroff(), 0, g.stderr())


if __name__ == '__main__':
    unittest.main()
