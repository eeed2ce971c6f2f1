#!/usr/bin/env python3
"""Issue 11: the block commands over QMP, side by side with the real QEMU.

The same command line (libvirt's -blockdev form with virtio-blk-pci, an
if=virtio drive and an IDE CD-ROM) runs on qlite and on QEMU 7.2; each
answer of query-block, query-named-block-nodes and query-blockstats must
have the same shape (the same member names at every level) and the same
values where they do not depend on the run (names, sizes, flags).  The
tray commands must send the same DEVICE_TRAY_MOVED events, and bad
requests the same error classes.
"""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_qmp_client import Emulator, binary  # noqa: E402

QEMU = shutil.which('qemu-system-x86_64')


def shape(v):
    """Member names at every level; lists by their first element."""
    if isinstance(v, dict):
        return {k: shape(x) for k, x in v.items()}
    if isinstance(v, list):
        return [shape(v[0])] if v else []
    return type(v).__name__


# Values that name run-specific things (generated node names, timings).
VOLATILE = {'node-name', 'actual-size', 'idle_time_ns', 'rd_total_time_ns',
            'wr_total_time_ns', 'flush_total_time_ns', 'format-specific',
            'dirty-flag', 'filename', 'file', 'qdev',
            # qlite does not count invalid requests apart (says false).
            'account_invalid'}


def stable(v):
    if isinstance(v, dict):
        out = {k: stable(x) for k, x in v.items() if k not in VOLATILE}
        # QEMU rounds a protocol node's length up to 512 bytes.
        if v.get('drv') == 'file':
            out['image'].pop('virtual-size', None)
        return out
    if isinstance(v, list):
        return [stable(x) for x in v]
    return v


class BlockQmp(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix='qlite-qmp-block-')
        t = cls.tmp
        for name, size in (('libvirt', '64M'), ('plain', '32M')):
            subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2',
                            os.path.join(t, name + '.qcow2'), size],
                           check=True)
        os.mkdir(os.path.join(t, 'cd'))
        with open(os.path.join(t, 'cd', 'x.txt'), 'w') as f:
            f.write('x' * 5000)
        for iso in ('a.iso', 'b.iso'):
            subprocess.run(['xorriso', '-as', 'mkisofs', '-quiet', '-o',
                            os.path.join(t, iso), os.path.join(t, 'cd')],
                           check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def start(self, emulator, copy):
        """Each emulator gets its own copies of the images (locks)."""
        d = os.path.join(self.tmp, copy)
        os.makedirs(d, exist_ok=True)
        for f in ('libvirt.qcow2', 'plain.qcow2', 'a.iso', 'b.iso'):
            shutil.copy(os.path.join(self.tmp, f), d)
        j = os.path.join
        args = ['-nodefaults', '-S',
                '-blockdev', '{"driver":"file","filename":"%s",'
                '"node-name":"f0"}' % j(d, 'libvirt.qcow2'),
                '-blockdev', '{"driver":"qcow2","file":"f0",'
                '"node-name":"d0"}',
                '-device', 'virtio-blk-pci,drive=d0,id=vd0',
                '-drive', 'file=%s,if=virtio' % j(d, 'plain.qcow2'),
                '-drive', 'file=%s,if=none,id=cd0,media=cdrom,format=raw'
                % j(d, 'a.iso'),
                '-device', 'ide-cd,drive=cd0,id=cdrom0,bus=ide.1']
        emu = Emulator(args, machine=('-machine', 'pc', '-accel', 'tcg'),
                       emulator=emulator)
        self.addCleanup(emu.close)
        return emu, emu.connect(), d

    def both(self):
        if not QEMU:
            self.skipTest('qemu-system-x86_64 is not installed')
        return self.start(binary(), 'qlite'), self.start(QEMU, 'qemu')

    def test_queries_match_qemu(self):
        (_, ql, _), (_, qe, _) = self.both()
        for cmd in ('query-block', 'query-named-block-nodes',
                    'query-blockstats'):
            a, b = ql.ok(cmd), qe.ok(cmd)
            key = 'device' if cmd != 'query-named-block-nodes' else 'file'
            if cmd == 'query-named-block-nodes':
                # Compare the nodes users named, and the counts.
                a = [n for n in a if not n['node-name'].startswith('#')]
                b = [n for n in b if not n['node-name'].startswith('#')]
            if cmd == 'query-blockstats':
                for e in a + b:
                    e.pop('parent', None)   # per-node counters: not kept
            self.assertEqual(sorted(e.get('device', '') for e in a),
                             sorted(e.get('device', '') for e in b), cmd)
            by_a = {(e.get('device', ''), e.get('node-name', '')
                     if e.get('device', '') == '' else ''): e for e in a}
            for e in b:
                k = (e.get('device', ''), e.get('node-name', '')
                     if e.get('device', '') == '' else '')
                self.assertIn(k, by_a, '%s: %r' % (cmd, k))
                self.assertEqual(shape(by_a[k]), shape(e), '%s %r' % (cmd, k))
                self.assertEqual(stable(by_a[k]), stable(e),
                                 '%s %r' % (cmd, k))
            del key
        # The qdev paths libvirt matches its aliases against.
        qdev_a = sorted(e.get('qdev', '') for e in ql.ok('query-block'))
        qdev_b = sorted(e.get('qdev', '') for e in qe.ok('query-block'))
        self.assertIn('/machine/peripheral/vd0/virtio-backend', qdev_a)
        self.assertIn('cdrom0', qdev_a)
        self.assertEqual([q for q in qdev_a if 'peripheral' in q or
                          not q.startswith('/')],
                         [q for q in qdev_b if 'peripheral' in q or
                          not q.startswith('/')])

    def tray_story(self, c, d):
        """Eject, change the medium, errors; what the client saw."""
        seen = []
        seen.append(c.cmd('eject', {'id': 'cdrom0'}))
        seen.append(c.event('DEVICE_TRAY_MOVED')['data'])
        info = {e['device']: e for e in c.ok('query-block')}
        seen.append((info['cd0'].get('tray_open'), 'inserted' in info['cd0']))
        seen.append(c.cmd('blockdev-change-medium',
                          {'id': 'cdrom0', 'filename': d + '/b.iso',
                           'format': 'raw'}))
        seen.append(c.event('DEVICE_TRAY_MOVED')['data'])
        info = {e['device']: e for e in c.ok('query-block')}
        seen.append((info['cd0'].get('tray_open'),
                     os.path.basename(info['cd0']['inserted']['file'])))
        for bad in (('eject', {'device': 'virtio0'}),
                    ('eject', {'device': 'nosuch'}),
                    ('block_resize', {'device': 'nosuch', 'size': 1 << 20}),
                    ('blockdev-del', {'node-name': 'd0'}),
                    ('blockdev-del', {'node-name': 'nosuch'}),
                    ('blockdev-remove-medium', {'id': 'cdrom0'})):
            r = c.cmd(*bad)
            seen.append((bad[0], r.get('error', {}).get('class')))
        seen.append(c.cmd('block_resize', {'device': 'virtio0',
                                           'size': 48 << 20}))
        info = {e['device']: e for e in c.ok('query-block')}
        seen.append(info['virtio0']['inserted']['image']['virtual-size'])
        return seen

    def test_tray_and_errors_match_qemu(self):
        (_, ql, dl), (_, qe, dq) = self.both()
        a, b = self.tray_story(ql, dl), self.tray_story(qe, dq)
        self.assertEqual(a, b)
        self.assertEqual(a[-1], 48 << 20)

    def test_legacy_options_match_qemu(self):
        """-hda, -hdb, -cdrom and a bare image name make the IDE drives
        QEMU makes, under the same names."""
        if not QEMU:
            self.skipTest('qemu-system-x86_64 is not installed')
        seen = []
        for emu, copy in ((binary(), 'legacy-qlite'), (QEMU, 'legacy-qemu')):
            d = os.path.join(self.tmp, copy)
            os.makedirs(d, exist_ok=True)
            for f in ('plain.qcow2', 'libvirt.qcow2', 'a.iso'):
                shutil.copy(os.path.join(self.tmp, f), d)
            e = Emulator(['-nodefaults', '-S',
                          '-hdb', os.path.join(d, 'plain.qcow2'),
                          '-cdrom', os.path.join(d, 'a.iso'),
                          os.path.join(d, 'libvirt.qcow2')],
                         machine=('-machine', 'pc', '-accel', 'tcg'),
                         emulator=emu)
            self.addCleanup(e.close)
            c = e.connect()
            seen.append(sorted((b['device'], b['removable'],
                                b.get('inserted', {}).get('ro'))
                               for b in c.ok('query-block')))
        self.assertEqual(seen[0], seen[1])
        self.assertIn(('ide1-cd0', True, True), seen[0])

    def test_blockdev_add_del(self):
        emu, c, d = self.start(binary(), 'adddel')
        extra = os.path.join(d, 'extra.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', extra,
                        '16M'], check=True)
        c.ok('blockdev-add', {'driver': 'qcow2', 'node-name': 'x0',
                              'file': {'driver': 'file',
                                       'filename': extra}})
        names = [n['node-name'] for n in c.ok('query-named-block-nodes')]
        self.assertIn('x0', names)
        r = c.cmd('blockdev-add', {'driver': 'qcow2', 'node-name': 'x0',
                                   'file': {'driver': 'file',
                                            'filename': extra}})
        self.assertEqual(r['error']['class'], 'GenericError')
        c.ok('blockdev-del', {'node-name': 'x0'})
        names = [n['node-name'] for n in c.ok('query-named-block-nodes')]
        self.assertNotIn('x0', names)
        # The image is closed: another process may write it now.
        r = subprocess.run(['qemu-img', 'check', extra],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn('virtio0', c.ok('human-monitor-command',
                                      {'command-line': 'info block'}))


if __name__ == '__main__':
    unittest.main(verbosity=2)
