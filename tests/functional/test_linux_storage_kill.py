#!/usr/bin/env python3
"""Issue 11: SIGKILL while the guest writes and syncs, again and again.

The qcow2 image carries an ext4 file system made on the host.  Each round
boots the Linux test guest, which writes files of random data in a loop,
syncing after each and printing its name and checksum; the host kills the
emulator with SIGKILL at a random moment.  After every kill:
`qemu-img check` reports no corruption (leaked clusters are allowed: a
kill may leak, never corrupt), and after e2fsck replays the journal on a
copy, every file the guest reported synced reads back with its checksum.

20 rounds on qlite; 3 on the real QEMU, to show the test itself holds.
Skips, saying why, when the test guest cannot be built.
"""
import hashlib
import os
import random
import re
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from linux_guest import Guest, emulators, skip_reason_guest  # noqa: E402

ROUNDS = {'qlite': int(os.environ.get('QLITE_KILL_ROUNDS', '20')),
          'qlite-kvm': int(os.environ.get('QLITE_KILL_ROUNDS', '20')),
          'qemu': 3}


def sh(*args, **kw):
    return subprocess.run(args, capture_output=True, text=True, **kw)


def make_image(tmp):
    raw = os.path.join(tmp, 'fs.raw')
    with open(raw, 'wb') as f:
        f.truncate(64 << 20)
    subprocess.run(['mkfs.ext4', '-q', '-F', raw], check=True)
    img = os.path.join(tmp, 'disk.qcow2')
    subprocess.run(['qemu-img', 'convert', '-O', 'qcow2', raw, img],
                   check=True)
    os.unlink(raw)
    return img


class KillWhileWriting(unittest.TestCase):

    def setUp(self):
        why = skip_reason_guest()
        if why:
            print('SKIP: %s' % why)
            self.skipTest(why)

    def one_round(self, emu, img, rnd, synced):
        args = ['-drive', 'file=%s,if=virtio,format=qcow2' % img]
        g = Guest(emu, args).start()
        try:
            g.check('mkdir -p /mnt/d && mount -t ext4 /dev/vda /mnt/d')
            # The loop runs until the kill; each line names a file that
            # sync has made durable, with its checksum.
            g.con.type(
                'i=0; while true; do i=$((i+1)); f=r%d-$i; '
                'dd if=/dev/urandom of=/mnt/d/$f bs=4k count=$((i%%7+1)) '
                '2>/dev/null; sync; '
                'echo "SYN""CED $f $(sha256sum < /mnt/d/$f)"; done' % rnd)
            g.con.wait_for(r'SYNCED r%d-1 ' % rnd, 120)
            time.sleep(random.uniform(0.0, 2.0))
            text = g.con.text()
            g.proc.kill()
            g.proc.wait()
        finally:
            g.kill()
        for m in re.finditer(r'SYNCED (r\d+-\d+) ([0-9a-f]{64})', text):
            synced[m.group(1)] = m.group(2)

    def check_image(self, img):
        # A killed process's io_uring requests still in flight keep the
        # image open until they complete: the kernel tears the ring down
        # after the process has gone, so the lock outlives it a little.
        start = time.monotonic()
        while True:
            r = sh('qemu-img', 'check', img)
            waited = time.monotonic() - start
            if 'Failed to get' not in r.stderr or waited > 60:
                if waited > 0.5:
                    print('waited %.1f s for the image lock' % waited)
                return r
            time.sleep(0.1)

    def verify(self, img, synced, tmp):
        r = self.check_image(img)
        # 0: clean, 3: leaked clusters only; 2 would be corruption.
        self.assertIn(r.returncode, (0, 3), r.stdout + r.stderr)
        self.assertNotIn('corrupt', r.stdout.lower().replace(
            'no errors', ''))
        copy = os.path.join(tmp, 'check.raw')
        subprocess.run(['qemu-img', 'convert', '-O', 'raw', img, copy],
                       check=True)
        try:
            r = sh('e2fsck', '-fy', copy)
            self.assertIn(r.returncode, (0, 1), r.stdout + r.stderr)
            # One debugfs run dumps every file named so far.
            out = os.path.join(tmp, 'dump')
            os.makedirs(out, exist_ok=True)
            cmds = os.path.join(tmp, 'cmds')
            with open(cmds, 'w') as f:
                for name in synced:
                    f.write('dump /%s %s/%s\n' % (name, out, name))
            sh('debugfs', '-f', cmds, copy)
            for name, digest in synced.items():
                path = os.path.join(out, name)
                self.assertTrue(os.path.exists(path),
                                'synced file %s lost' % name)
                with open(path, 'rb') as f:
                    got = hashlib.sha256(f.read()).hexdigest()
                os.unlink(path)
                self.assertEqual(got, digest, 'synced file %s damaged' %
                                 name)
        finally:
            os.unlink(copy)

    def test_sigkill_during_synced_writes(self):
        for name, emu in emulators():
            with self.subTest(emulator=name), \
                    tempfile.TemporaryDirectory() as tmp:
                img = make_image(tmp)
                synced = {}
                for rnd in range(ROUNDS[name]):
                    self.one_round(emu, img, rnd, synced)
                    self.verify(img, synced, tmp)
                print('%s: %d kills, %d synced files all read back' %
                      (name, ROUNDS[name], len(synced)))


if __name__ == '__main__':
    unittest.main(verbosity=2)
