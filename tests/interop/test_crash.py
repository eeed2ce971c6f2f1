#!/usr/bin/env python3
"""Crash test: SIGKILL a writing qlite process at random points, then
check with the real qemu-img that the qcow2 image has no corruption and
that every write acknowledged before a completed flush reads back.

usage: test_crash.py QLITE_IMG CRASH_WRITER [ITERATIONS]
"""
import os
import random
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

PAGE = 4096
BLOCK = 65536
MAGIC = 0x51434c57
START_TIMEOUT = 120     # seconds a writer may take to start, however loaded


def need_qemu_img():
    if not shutil.which('qemu-img'):
        sys.exit('FAIL: qemu-img not found (install qemu-utils)')


def page_state(data, block, page):
    """None for a zero page, else the sequence number it carries."""
    if data.count(0) == len(data):
        return None
    magic, blk, seq, pg = struct.unpack('>IIQI', data[:20])
    if magic != MAGIC or blk != block or pg != page:
        raise AssertionError('block %d page %d: foreign content' %
                             (block, page))
    for i in range(24, PAGE, 509):
        if data[i] != (seq * 131 + block * 7 + page * 3 + i) & 0xff:
            raise AssertionError('block %d page %d: damaged data' %
                                 (block, page))
    return seq


def parse_log(path):
    ops, pending = [], None
    last_flush = -1
    with open(path) as f:
        for line in f:
            parts = line.split()
            if parts == ['F']:
                last_flush = len(ops)
            elif len(parts) == 4 and parts[0] == 'i':
                pending = (parts[1], int(parts[2]), int(parts[3]))
            elif len(parts) == 4 and parts[0] == 'd':
                ops.append((parts[1], int(parts[2]), int(parts[3])))
                pending = None
    return ops, last_flush, pending


def op_state(op):
    kind, _, seq = op
    return seq if kind == 'W' else None


def acceptable(baseline, ops, last_flush, pending, npages):
    """Per page (block, page): the states a crash may leave it in.  A
    killed write may leave a block torn at page granularity."""
    durable = dict(baseline)
    done = ops[:last_flush] if last_flush >= 0 else []
    for op in done:
        for p in range(npages):
            durable[(op[1], p)] = op_state(op)
    ok = {k: {s} for k, s in durable.items()}
    later = ops[len(done):] + ([pending] if pending else [])
    for op in later:
        for p in range(npages):
            ok[(op[1], p)].add(op_state(op))
    return ok


def read_raw(img, out):
    subprocess.run(['qemu-img', 'convert', '-f', 'qcow2', '-O', 'raw', img,
                    out], check=True)
    with open(out, 'rb') as f:
        return f.read()


def verify(raw, nblocks, npages, ok):
    states = {}
    for b in range(nblocks):
        for p in range(npages):
            off = b * BLOCK + p * PAGE
            s = page_state(raw[off:off + PAGE], b, p)
            if s not in ok[(b, p)]:
                raise AssertionError(
                    'block %d page %d holds seq %r, expected one of %r' %
                    (b, p, s, sorted(ok[(b, p)], key=lambda x: x or 0)))
            states[(b, p)] = s
    return states


def qemu_check(img):
    r = subprocess.run(['qemu-img', 'check', '--output=json', img],
                       capture_output=True, text=True)
    if r.returncode not in (0, 3):
        raise AssertionError('qemu-img check failed (%d): %s %s' %
                             (r.returncode, r.stdout, r.stderr))
    return r.returncode


def start_writer(writer, img, log, seed):
    """Start a writer and wait until it has opened the image and its log
    (it prints "ready"): a kill before that would test nothing, and leave
    no log to read on a loaded machine."""
    p = subprocess.Popen([writer, img, log, str(seed), str(BLOCK)],
                         stdout=subprocess.PIPE)
    readable, _, _ = select.select([p.stdout], [], [], START_TIMEOUT)
    line = p.stdout.readline() if readable else b''
    if line != b'ready\n':
        p.kill()
        status = p.wait()
        raise AssertionError('crash writer did not start: %s' % (
            'exit status %d' % status if readable else
            'no "ready" within %ds' % START_TIMEOUT))
    return p


def run(qlite_img, writer, iterations, cluster_size, tmp, rng):
    img = os.path.join(tmp, 'crash-%d.qcow2' % cluster_size)
    size = 32 * 1024 * 1024
    nblocks = size // BLOCK
    subprocess.run([qlite_img, 'create', '-q', '-f', 'qcow2', '-o',
                    'cluster_size=%d' % cluster_size, img, str(size)],
                   check=True)
    npages = BLOCK // PAGE
    baseline = {(b, p): None for b in range(nblocks) for p in range(npages)}
    leaks = 0
    for it in range(iterations):
        log = os.path.join(tmp, 'log-%d' % it)
        p = start_writer(writer, img, log, it + 1)
        time.sleep(rng.uniform(0.02, 0.25))     # the kill point: random
        p.send_signal(signal.SIGKILL)
        p.wait()
        p.stdout.close()
        if qemu_check(img) == 3:
            leaks += 1
        ops, last_flush, pending = parse_log(log)
        ok = acceptable(baseline, ops, last_flush, pending, npages)
        raw = read_raw(img, os.path.join(tmp, 'raw'))
        baseline = verify(raw, nblocks, npages, ok)
        os.unlink(log)
        print('cluster_size=%d iteration %d: %d ops, flush at %d, ok' %
              (cluster_size, it, len(ops), last_flush), flush=True)
    return leaks


def main():
    need_qemu_img()
    qlite_img, writer = sys.argv[1], sys.argv[2]
    iterations = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    rng = random.Random(int(os.environ.get('CRASH_SEED', '1234')))
    with tempfile.TemporaryDirectory() as tmp:
        total = 0
        leaks = 0
        for cs in (65536, 4096):
            leaks += run(qlite_img, writer, iterations, cs, tmp, rng)
            total += iterations
    print('PASS: %d kills, no corruption, all flushed writes read back '
          '(%d runs left leaked clusters)' % (total, leaks))


if __name__ == '__main__':
    try:
        main()
    except AssertionError as e:
        print('FAIL:', e)
        sys.exit(1)
