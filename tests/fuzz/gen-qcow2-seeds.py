#!/usr/bin/env python3
"""Make the qcow2 fuzzer's seed corpus with the real qemu-img/qemu-io, so
no image file is kept in git.  Small images (the fuzzer reads at most
64 KiB) that cover both compat levels, refcount widths 1/16/64, lazy
refcounts, snapshots, compressed and zero clusters, plus the regression
inputs earlier fuzzing found (patched headers).

  tests/fuzz/gen-qcow2-seeds.py OUTDIR
"""
import os
import struct
import subprocess
import sys
import tempfile

# (name, qemu-img create -o options, virtual size, qemu-io commands)
SEEDS = [
    ('v3-512', 'compat=1.1,cluster_size=512', '64K',
     ['write -P 0xa5 0 4k', 'write -P 0x5a 40k 2k']),
    ('v2', 'compat=0.10,cluster_size=512', '32K', ['write -P 0x11 1k 3k']),
    ('refcount1', 'cluster_size=512,refcount_bits=1', '32K',
     ['write -P 0x22 0 8k']),
    ('refcount64-lazy', 'cluster_size=512,refcount_bits=64,'
     'lazy_refcounts=on', '16K', ['write -P 0x33 2k 2k']),
    ('zero-clusters', 'cluster_size=512', '64K',
     ['write -P 0x44 0 8k', 'write -z 2k 4k']),
]


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def make_seed(out, name, opts, size, cmds):
    path = os.path.join(out, name + '.qcow2')
    run('qemu-img', 'create', '-q', '-f', 'qcow2', '-o', opts, path, size)
    for cmd in cmds:
        run('qemu-io', '-f', 'qcow2', '-c', cmd, path)
    return path


def make_snapshot(out):
    path = make_seed(out, 'snapshot', 'cluster_size=512', '32K',
                     ['write -P 0x55 0 2k'])
    run('qemu-img', 'snapshot', '-c', 'snap1', path)
    run('qemu-io', '-f', 'qcow2', '-c', 'write -P 0x66 0 1k', path)


def make_compressed(out):
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, 'raw')
        with open(raw, 'wb') as f:
            f.write(bytes(range(256)) * 32)     # compressible 8 KiB
        run('qemu-img', 'convert', '-q', '-c', '-O', 'qcow2', '-o',
            'cluster_size=1024', raw, os.path.join(out, 'compressed.qcow2'))


def make_regressions(out):
    """Header fields earlier fuzzing broke us with, patched in."""
    base = make_seed(out, 'regress-base', 'cluster_size=512', '8K', [])
    with open(base, 'rb') as f:
        image = bytearray(f.read())
    os.unlink(base)
    # refcount_order (header offset 96) read as a negative shift count
    struct.pack_into('>I', image, 96, 0xffffffff)
    with open(os.path.join(out, 'regress-refcount-order-negative.qcow2'),
              'wb') as f:
        f.write(image)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for seed in SEEDS:
        make_seed(out, *seed)
    make_snapshot(out)
    make_compressed(out)
    make_regressions(out)


if __name__ == '__main__':
    main()
