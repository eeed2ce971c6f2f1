#!/usr/bin/env python3
"""Issue 11's acceptance in the Linux test guest, on qlite and on the real
QEMU (so the test itself is known to be right):

- /dev/vda (virtio-blk, qcow2), /dev/sda (IDE, raw) and /dev/sr0 (ATAPI,
  an ISO made here): mke2fs, files written and synced, power off; a
  second boot reads them back; on the host e2fsck -fn is clean and
  qemu-img check finds no errors or leaks; the CD's file has the right
  checksum.
- virtio-blk-pci with disable-legacy=on (modern only) and with
  disable-modern=on (legacy only): the same write, drop caches, read.
- readonly=on: a write from the guest fails and the image is unchanged.

Skips, saying why, when the test guest cannot be built.
"""
import hashlib
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_guest import Guest, emulators, skip_reason_guest  # noqa: E402


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, 'rb') as f:
        for chunk in iter(lambda: f.read(1 << 20), b''):
            h.update(chunk)
    return h.hexdigest()


def sh(*args):
    return subprocess.run(args, capture_output=True, text=True)


class Images:
    """Fresh disks and a CD for one emulator's run."""

    def __init__(self, tmp):
        self.qcow2 = os.path.join(tmp, 'vd.qcow2')
        self.raw = os.path.join(tmp, 'sd.raw')
        self.iso = os.path.join(tmp, 'cd.iso')
        self.payload_hash = None
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2',
                        self.qcow2, '64M'], check=True)
        with open(self.raw, 'wb') as f:
            f.truncate(32 << 20)
        cd = os.path.join(tmp, 'cdroot')
        os.mkdir(cd)
        with open(os.path.join(cd, 'payload.bin'), 'wb') as f:
            f.write(os.urandom(300 * 1024 + 123))
        self.payload_hash = sha256_file(os.path.join(cd, 'payload.bin'))
        subprocess.run(['xorriso', '-as', 'mkisofs', '-quiet', '-o',
                        self.iso, cd], check=True, capture_output=True)

    def args(self):
        return ['-drive', 'file=%s,format=qcow2,if=virtio' % self.qcow2,
                '-drive', 'file=%s,format=raw,if=ide,index=0' % self.raw,
                '-drive', 'file=%s,media=cdrom,if=ide,index=2' % self.iso]


def write_and_hash(g, dev, mnt, kib):
    """mke2fs on @dev, a file of random data, sync; its sha256."""
    g.check('mke2fs -F %s >/dev/null 2>&1 && mkdir -p %s && '
            'mount -t ext4 %s %s' % (dev, mnt, dev, mnt))
    g.check('dd if=/dev/urandom of=%s/data bs=1k count=%d 2>/dev/null && '
            'echo hello-%s > %s/hello && sync' % (mnt, kib, dev[5:], mnt))
    out = g.check('sha256sum %s/data' % mnt)
    return out.split()[-2]


def read_hash(g, mnt):
    return g.check('sha256sum %s/data' % mnt).split()[-2]


class HostChecks:

    def assert_ext_clean(self, raw_path):
        r = sh('e2fsck', '-fn', raw_path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)

    def assert_qcow2_clean(self, path):
        r = sh('qemu-img', 'check', path)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertIn('No errors were found', r.stdout)
        raw = path + '.raw'
        subprocess.run(['qemu-img', 'convert', '-O', 'raw', path, raw],
                       check=True)
        try:
            self.assert_ext_clean(raw)
        finally:
            os.unlink(raw)


class LinuxStorage(unittest.TestCase, HostChecks):

    def setUp(self):
        why = skip_reason_guest()
        if why:
            print('SKIP: %s' % why)
            self.skipTest(why)

    def test_disks_and_cd_survive_a_reboot(self):
        for name, emu in emulators():
            with self.subTest(emulator=name), \
                    tempfile.TemporaryDirectory() as tmp:
                img = Images(tmp)
                with Guest(emu, img.args()) as g:
                    h_vda = write_and_hash(g, '/dev/vda', '/mnt/vda', 4096)
                    h_sda = write_and_hash(g, '/dev/sda', '/mnt/sda', 2048)
                    g.check('mkdir -p /mnt/cd && '
                            'mount -t iso9660 -o ro /dev/sr0 /mnt/cd')
                    h_cd = g.check('sha256sum /mnt/cd/payload.bin').split()
                    self.assertEqual(h_cd[-2], img.payload_hash)
                    g.check('umount /mnt/vda /mnt/sda /mnt/cd')
                    self.assertEqual(g.poweroff(), 0, g.stderr())
                self.assert_qcow2_clean(img.qcow2)
                self.assert_ext_clean(img.raw)
                with Guest(emu, img.args()) as g:
                    g.check('mkdir -p /mnt/vda /mnt/sda && '
                            'mount -t ext4 /dev/vda /mnt/vda && '
                            'mount -t ext4 /dev/sda /mnt/sda')
                    self.assertEqual(read_hash(g, '/mnt/vda'), h_vda)
                    self.assertEqual(read_hash(g, '/mnt/sda'), h_sda)
                    self.assertIn('hello-vda',
                                  g.check('cat /mnt/vda/hello'))
                    g.check('umount /mnt/vda /mnt/sda')
                    self.assertEqual(g.poweroff(), 0, g.stderr())
                self.assert_qcow2_clean(img.qcow2)
                print('%s: vda, sda and sr0 checked over two boots' % name)

    def test_virtio_modern_only_and_legacy_only(self):
        for name, emu in emulators():
            for prop in ['disable-legacy=on', 'disable-modern=on']:
                with self.subTest(emulator=name, prop=prop), \
                        tempfile.TemporaryDirectory() as tmp:
                    disk = os.path.join(tmp, 'vd.qcow2')
                    subprocess.run(['qemu-img', 'create', '-q', '-f',
                                    'qcow2', disk, '32M'], check=True)
                    args = ['-drive', 'file=%s,if=none,id=d0' % disk,
                            '-device', 'virtio-blk-pci,drive=d0,%s' % prop]
                    with Guest(emu, args) as g:
                        h = write_and_hash(g, '/dev/vda', '/mnt/v', 2048)
                        g.check('umount /mnt/v && '
                                'echo 3 > /proc/sys/vm/drop_caches && '
                                'mount -t ext4 /dev/vda /mnt/v')
                        self.assertEqual(read_hash(g, '/mnt/v'), h)
                        g.check('umount /mnt/v')
                        self.assertEqual(g.poweroff(), 0, g.stderr())
                    self.assert_qcow2_clean(disk)

    def test_readonly_drive_refuses_writes(self):
        for name, emu in emulators():
            with self.subTest(emulator=name), \
                    tempfile.TemporaryDirectory() as tmp:
                disk = os.path.join(tmp, 'ro.raw')
                with open(disk, 'wb') as f:
                    f.write(os.urandom(8 << 20))
                before = sha256_file(disk)
                args = ['-drive',
                        'file=%s,format=raw,if=virtio,readonly=on' % disk]
                with Guest(emu, args) as g:
                    self.assertIn('1', g.check('cat /sys/block/vda/ro'))
                    rc, out = g.run('dd if=/dev/zero of=/dev/vda bs=4096 '
                                    'count=1 oflag=direct')
                    self.assertNotEqual(rc, 0, out)
                    # The data reads back as it is on the host.
                    out = g.check('dd if=/dev/vda bs=1M count=8 '
                                  '2>/dev/null | sha256sum')
                    self.assertIn(before, out)
                    self.assertEqual(g.poweroff(), 0, g.stderr())
                self.assertEqual(sha256_file(disk), before)


if __name__ == '__main__':
    unittest.main(verbosity=2)
