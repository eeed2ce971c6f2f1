#!/usr/bin/env python3
"""Debian 12's stock kernel on the PIIX3 IDE: ata_piix, sd_mod and sr_mod
find /dev/sda (a raw or qcow2 image, if=ide) and /dev/sr0 (an ISO 9660
image made at test time).  The guest makes a file system on the disk
(busybox mke2fs), writes a file, syncs, mounts it again with the page
cache dropped and reads the file back; it reads a file from the CD and
checks its checksum; the host then checks the image (e2fsck, qemu-img
check).

Runs on KVM where it is usable (not PVM), else on the CPU emulator.
Skips, saying why, when the guest cannot be built or xorriso is missing.
QLITE_GUEST_TIMEOUT sets the boot timeout in seconds (default 400).
"""
import hashlib
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_kvm_linux import GUEST_DIR, skip_reason_guest  # noqa: E402
from test_kvm import binary, kvm_unusable  # noqa: E402
from test_linux_tcg import Console  # noqa: E402

BOOT_TIMEOUT = float(os.environ.get('QLITE_GUEST_TIMEOUT', '400'))


def accel():
    if kvm_unusable() or os.path.isdir('/sys/module/kvm_pvm'):
        return 'tcg'
    return 'kvm'


class LinuxIDE(unittest.TestCase):
    def setUp(self):
        why = skip_reason_guest()
        if why:
            self.skipTest(why)
        if not shutil.which('xorriso'):
            self.skipTest('xorriso not installed')
        self.dir = tempfile.mkdtemp(prefix='qlite-ide-linux-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)

    def make_iso(self):
        tree = os.path.join(self.dir, 'tree')
        os.mkdir(tree)
        payload = random.Random(5).randbytes(3 << 20)
        with open(os.path.join(tree, 'payload.bin'), 'wb') as f:
            f.write(payload)
        iso = os.path.join(self.dir, 'cd.iso')
        subprocess.run(['xorriso', '-as', 'mkisofs', '-quiet', '-o', iso,
                        tree], check=True, stderr=subprocess.DEVNULL)
        return iso, hashlib.md5(payload).hexdigest()

    def boot(self, disk_args, iso):
        args = [binary(), '-accel', accel(), '-m', '512M', '-nographic',
                '-kernel', os.path.join(GUEST_DIR, 'vmlinuz'),
                '-initrd', os.path.join(GUEST_DIR, 'initramfs.gz'),
                '-append', 'console=ttyS0 qlite.scenario=shell',
                '-drive', 'file=%s,if=ide,index=2,media=cdrom' % iso
                ] + disk_args
        proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        self.addCleanup(self.stop, proc)
        con = Console(proc)
        con.wait_for(r'QLITE-GUEST-READY', BOOT_TIMEOUT)
        time.sleep(1)
        return proc, con

    @staticmethod
    def stop(proc):
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for f in (proc.stdin, proc.stdout, proc.stderr):
            f.close()

    def run_cmd(self, con, cmd, tag, timeout=120):
        """Run @cmd; return its output up to the end marker."""
        n = getattr(self, '_n', 0) + 1
        self._n = n
        # $((..)) keeps the echoed command line from matching the marker.
        con.type('%s; echo %s-$((%d+0))-END' % (cmd, tag, n))
        m, _ = con.wait_for(r'(?s)%s-%d-END\r?\n' % (tag, n), timeout)
        return con.text()[:m.start()]

    def exercise(self, fmt):
        if not shutil.which('e2fsck') or not shutil.which('qemu-img'):
            self.skipTest('e2fsprogs or qemu-img not installed')
        disk = os.path.join(self.dir, 'disk.' + fmt)
        subprocess.run(['qemu-img', 'create', '-q', '-f', fmt, disk, '64M'],
                       check=True)
        iso, md5 = self.make_iso()
        proc, con = self.boot(['-drive', 'file=%s,format=%s,if=ide,index=0'
                               % (disk, fmt)], iso)
        out = self.run_cmd(con, 'cat /proc/partitions', 'PARTS')
        self.assertIn('sda', out)
        self.assertIn('sr0', out)
        out = self.run_cmd(
            con, 'mke2fs -F /dev/sda >/dev/null 2>&1 && mkdir -p /mnt /cd && '
            'mount -t ext4 /dev/sda /mnt && '
            'dd if=/dev/urandom of=/mnt/f bs=1k count=2048 2>/dev/null && '
            'md5sum /mnt/f > /tmp/sum && sync && umount /mnt && '
            'echo 3 > /proc/sys/vm/drop_caches && '
            'mount -t ext4 /dev/sda /mnt && '
            'md5sum -c /tmp/sum && echo DISK-$((1+1))-OK', 'DISK', 300)
        self.assertIn('DISK-2-OK', out, con.text()[-2000:])
        out = self.run_cmd(
            con, 'umount /mnt && mount -t iso9660 -o ro /dev/sr0 /cd && '
            'md5sum /cd/payload.bin', 'CD', 300)
        self.assertIn(md5, out, con.text()[-2000:])
        out = self.run_cmd(con, 'dmesg | grep -c -E "BUG:|WARNING:|'
                           'Call Trace|Oops|I/O error|failed command"'
                           ' | sed "s/^/BAD=/"', 'DMESG')
        self.assertIn('BAD=0', out, con.text()[-2000:])
        con.type('umount /cd; sync; poweroff -f')
        proc.wait(timeout=120)
        if fmt == 'qcow2':
            subprocess.run(['qemu-img', 'check', disk], check=True,
                           capture_output=True)
            raw = os.path.join(self.dir, 'check.raw')
            subprocess.run(['qemu-img', 'convert', '-O', 'raw', disk, raw],
                           check=True)
            disk = raw
        p = subprocess.run(['e2fsck', '-fn', disk], capture_output=True)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def test_raw_disk_and_cd(self):
        self.exercise('raw')

    def test_qcow2_disk(self):
        self.exercise('qcow2')


if __name__ == '__main__':
    unittest.main()
