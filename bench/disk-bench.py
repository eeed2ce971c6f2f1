#!/usr/bin/env python3
"""Disk benchmark (issue 11): in the Linux test guest, on a virtio-blk
qcow2 disk, for qlite and for qemu-system-x86_64 -accel tcg on the same
guest and a fresh copy of the same image, in one run:

  seq-write  dd 256 MiB, bs=1M, oflag=direct    (MiB/s)
  seq-read   dd 256 MiB, bs=1M, iflag=direct    (MiB/s)
  rand-read  2000 x dd of one 4 KiB block at a pseudo-random offset,
             iflag=direct                       (reads/s)

Each is timed on the host between two markers the guest prints, so the
guest's clock plays no part.  The random reads run one dd process each:
they measure the whole path a small synchronous read takes in the guest
(process start included, on the emulated CPU), not the disk alone.
Prints each figure and qlite/QEMU ratios of throughput (above 1: qlite
is faster).

  bench/disk-bench.py [--qlite build/qlite-system-x86_64] [--runs N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'functional'))
from linux_guest import Guest  # noqa: E402

SIZE_MIB = 256
RAND_READS = 2000


def timed(g, cmd, timeout=900):
    """Host seconds between the guest starting and finishing @cmd."""
    n = g.seq = g.seq + 1
    g.con.type('echo "@@T0-$((%d+0))"; %s; echo "@@T1-$((%d+0))=$?"' %
               (n, cmd, n))
    _, t0 = g.con.wait_for(r'@@T0-%d\b' % n, timeout)
    m, t1 = g.con.wait_for(r'@@T1-%d=(\d+)' % n, timeout)
    if m.group(1) != '0':
        raise RuntimeError('guest command failed: %s' % cmd)
    return t1 - t0


def run_one(binary, image):
    args = ['-drive', 'file=%s,if=virtio,format=qcow2,cache=none' % image]
    with Guest(binary, args) as g:
        w = timed(g, 'dd if=/dev/zero of=/dev/vda bs=1M count=%d '
                  'oflag=direct 2>/dev/null' % SIZE_MIB)
        r = timed(g, 'dd if=/dev/vda of=/dev/null bs=1M count=%d '
                  'iflag=direct 2>/dev/null' % SIZE_MIB)
        rr = timed(g, 'i=0; while [ $i -lt %d ]; do dd if=/dev/vda '
                   'of=/dev/null bs=4k count=1 '
                   'skip=$(( (i * 7919) %% %d )) iflag=direct 2>/dev/null; '
                   'i=$((i+1)); done' % (RAND_READS, SIZE_MIB * 256))
        g.poweroff()
    return {'seq-write MiB/s': SIZE_MIB / w, 'seq-read MiB/s': SIZE_MIB / r,
            'rand-read reads/s': RAND_READS / rr}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--qlite', default=os.path.join(
        ROOT, 'build', 'qlite-system-x86_64'))
    ap.add_argument('--qemu', default='qemu-system-x86_64')
    ap.add_argument('--runs', type=int, default=1)
    opts = ap.parse_args()
    subprocess.run([os.path.join(ROOT, 'scripts', 'build-test-guest.sh')],
                   check=True)
    results = {'qlite': [], 'qemu': []}
    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, 'base.qcow2')
        subprocess.run(['qemu-img', 'create', '-q', '-f', 'qcow2', base,
                        '%dM' % (SIZE_MIB + 64)], check=True)
        # Interleaved, so a machine that slows down hurts both alike.
        for _ in range(opts.runs):
            for name, binary in (('qlite', opts.qlite), ('qemu', opts.qemu)):
                img = os.path.join(tmp, name + '.qcow2')
                subprocess.run(['cp', base, img], check=True)
                t = time.monotonic()
                results[name].append(run_one(binary, img))
                print('%s run: %.1f s' % (name, time.monotonic() - t),
                      flush=True)
    keys = list(results['qlite'][0])
    print('%-20s %12s %12s %8s' % ('median of %d' % opts.runs, 'qlite',
                                   'QEMU', 'ratio'))
    for k in keys:
        q = statistics.median(r[k] for r in results['qlite'])
        e = statistics.median(r[k] for r in results['qemu'])
        print('%-20s %12.1f %12.1f %8.2f' % (k, q, e, q / e))


if __name__ == '__main__':
    main()
