#!/usr/bin/env python3
"""Fault-injection loop (issue 16, deliver 4), in SQLite's manner.

For create, write, snapshot, resize, convert and check -r all, run the
operation once without faults to count its I/O calls, then again and
again under qlite-img-faultinject, failing the Nth read, write, flush or
truncate (EIO, or ENOSPC from then on) or cutting the power after some
bytes (with and without reordering of unflushed writes).  After each:

 - nothing crashed (exit status 0, 1, or the power cut's);
 - qemu-img check and qlite-img check agree (status, corruptions,
   leaks), and the image has no corruption it did not have before;
 - the data flushed before the operation reads back, and the
   operation's own data reads back if it reported success.

N is bounded per operation and fault kind (MAX_N), so that the loop
stays within the suite's time.

usage: test_faultinject.py QLITE_IMG_FAULTINJECT QLITE_IMG
"""
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time

FI = QLITE = TMP = None
MAX_N = 20          # failing calls tried per operation and kind
CUTS = 24           # power-cut points per operation
CUT_STATUS = 86     # FAULTINJECT_CUT_STATUS
SIZE = 2 << 20
D0 = (0, 256 << 10, 0x11)       # flushed before each operation
BENCH = dict(off=128 << 10, count=24, size=16 << 10, step=48 << 10,
             pat=0x5a)


def sh(*args, check=True):
    r = subprocess.run([str(a) for a in args], capture_output=True,
                       text=True)
    if check and r.returncode != 0:
        raise AssertionError('%s: rc %d %s' % (' '.join(map(str, args)),
                                               r.returncode, r.stderr))
    return r


def path(name):
    return os.path.join(TMP, name)


def check_json(tool, img):
    r = sh(tool, 'check', '--output=json', img, check=False)
    try:
        res = json.loads(r.stdout) if r.stdout.strip() else {}
    except ValueError:
        res = {}
    return r.returncode, (res.get('corruptions', 0), res.get('leaks', 0))


def raw_bytes(img):
    out = path('read.raw')
    r = sh('qemu-img', 'convert', '-O', 'raw', img, out, check=False)
    if r.returncode:
        return None
    with open(out, 'rb') as f:
        return f.read()


def expect_d0(data, what):
    start, end, pat = D0
    if data[start:end] != bytes([pat]) * (end - start):
        raise AssertionError('%s: flushed data does not read back' % what)


def bench_ranges():
    b = BENCH
    return [(b['off'] + i * b['step'], b['size']) for i in range(b['count'])]


# ---- operations: prepare(img) makes the input, run(img) the arguments,
# verify(img, ok) checks the data (ok: the operation reported success).

def make_d0(img, opts='cluster_size=512'):
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-o', opts, img, SIZE)
    sh('qemu-io', '-c', 'write -P 0x11 0 256k', img)


def verify_d0(img, ok):
    data = raw_bytes(img)
    if data is None:
        raise AssertionError('qemu-img cannot read the image')
    expect_d0(data, 'image')


def verify_write(img, ok):
    data = raw_bytes(img)
    if data is None:
        raise AssertionError('qemu-img cannot read the image')
    new = bytearray(data)
    want = bytearray(SIZE)
    want[D0[0]:D0[1]] = bytes([D0[2]]) * (D0[1] - D0[0])
    for off, n in bench_ranges():
        for s in range(off, off + n, 512):
            sec = bytes(new[s:s + 512])
            if sec == bytes([BENCH['pat']]) * 512:
                want[s:s + 512] = sec
            elif ok:
                raise AssertionError('write reported success but sector '
                                     '%#x does not read back' % s)
    if bytes(new) != bytes(want):
        bad = next(i for i in range(SIZE) if new[i] != want[i])
        raise AssertionError('byte %#x reads %#x, neither old nor new' % (
            bad, new[bad]))


def verify_create(img, ok):
    if ok:
        data = raw_bytes(img)
        assert data == bytes(SIZE), 'created image does not read zeroes'


def verify_snapshot(img, ok):
    verify_d0(img, ok)
    names = sh('qemu-img', 'snapshot', '-l', img).stdout
    if ok:
        assert ' s1 ' in names, 'snapshot s1 missing after success'
    if ' s1 ' in names:
        sh('qemu-img', 'convert', '-O', 'raw', '-l', 's1', img,
           path('snap.raw'))
        with open(path('snap.raw'), 'rb') as f:
            expect_d0(f.read(), 'snapshot s1')


def verify_resize(img, ok):
    data = raw_bytes(img)
    if data is None:
        raise AssertionError('qemu-img cannot read the image')
    expect_d0(data, 'image')
    if ok:
        assert len(data) == SIZE + (1 << 20), 'size %d' % len(data)
    assert data[D0[1]:].count(0) == len(data) - D0[1], 'garbage past D0'


def prepare_convert(img):
    with open(path('src.raw'), 'wb') as f:
        f.write(bytes([D0[2]]) * D0[1])
        f.truncate(SIZE)


def verify_convert(img, ok):
    if ok:
        data = raw_bytes(img)
        with open(path('src.raw'), 'rb') as f:
            assert data == f.read(), 'converted image differs'


def prepare_broken(img):
    """Leaks, and a refcount table on an L2 table (a rebuild)."""
    make_d0(img, 'cluster_size=4096')
    with open(img, 'r+b') as f:
        f.seek(40)
        l1 = struct.unpack('>Q', f.read(8))[0]
        f.seek(l1)
        l2 = struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00
        f.seek(48)
        f.write(struct.pack('>Q', l2))


OPS = [
    ('create', None, lambda i: ['create', '-q', '-f', 'qcow2', '-o',
                                'cluster_size=512', i, SIZE],
     verify_create, True),
    ('write', make_d0, lambda i: [
        'bench', '-w', '-q', '-f', 'qcow2', '-d', '1', '-c',
        BENCH['count'], '-s', BENCH['size'], '-S', BENCH['step'], '-o',
        BENCH['off'], '--pattern=%#x' % BENCH['pat'], i], verify_write,
     False),
    ('snapshot', make_d0, lambda i: ['snapshot', '-c', 's1', i],
     verify_snapshot, False),
    ('resize', make_d0, lambda i: ['resize', '-q', i, '+1M'],
     verify_resize, False),
    ('convert', prepare_convert, lambda i: [
        'convert', '-f', 'raw', '-O', 'qcow2', '-o', 'cluster_size=4096',
        path('src.raw'), i], verify_convert, True),
    ('check-r-all', prepare_broken, lambda i: ['check', '-q', '-r', 'all',
                                               i], verify_d0, False),
]

COUNTS = re.compile(r'faultinject: reads=(\d+) writes=(\d+) flushes=(\d+) '
                    r'truncates=(\d+) bytes=(\d+)')


def counts(stderr):
    m = COUNTS.search(stderr)
    if not m:
        raise AssertionError('no counters from the fault injector: %s' %
                             stderr)
    return dict(zip(('read', 'write', 'flush', 'truncate', 'bytes'),
                    map(int, m.groups())))


def specs(c):
    """The faults to try for an operation whose clean run made @c."""
    for op in ('read', 'write', 'flush', 'truncate'):
        for n in range(1, min(c[op], MAX_N) + 1):
            # Odd N: one transient EIO; even N: a full disk from then on.
            if n % 2:
                yield 'fail-op=%s,fail-at=%d,errno=EIO' % (op, n)
            else:
                yield 'fail-op=%s,fail-at=%d,errno=ENOSPC,sticky=on' % (
                    op, n)
    for k in range(1, CUTS + 1):
        cut = max(1, c['bytes'] * k // (CUTS + 1))
        yield 'cut-after-bytes=%d%s' % (cut, ',reorder=on' if k % 2 else '')


def copied_flags_only(name, img):
    """snapshot -c raises refcounts, then clears the COPIED flags of what
    they now share; a lasting write error between the two leaves flags
    that disagree with refcounts (qemu-img's snapshot has the same
    window).  Allowed only if that is all, and check -r all repairs it."""
    if name != 'snapshot':
        return False
    r = sh('qemu-img', 'check', img, check=False)
    errors = [l for l in r.stderr.splitlines() if l.startswith('ERROR')]
    if any('OFLAG_COPIED' not in l for l in errors):
        return False
    sh(QLITE, 'check', '-q', '-r', 'all', img, check=False)
    return check_json('qemu-img', img)[0] in (0, 3)


def one_run(name, prepare, args, verify, made, spec, before):
    img = path('%s.qcow2' % name)
    if os.path.exists(img):
        os.unlink(img)
    if prepare and not made:
        shutil.copy(path('%s.base' % name), img)
    r = sh(FI, spec, *args(img), check=False)
    what = '%s [%s]' % (name, spec)
    if r.returncode not in (0, 1, CUT_STATUS):
        raise AssertionError('%s: exit status %d (a crash?) %s' % (
            what, r.returncode, r.stderr[-500:]))
    ok = r.returncode == 0
    if made and not os.path.exists(img):
        return r
    theirs, mine = check_json('qemu-img', img), check_json(QLITE, img)
    if theirs[0] != mine[0] or (theirs[0] in (0, 2, 3) and
                                theirs[1] != mine[1]):
        raise AssertionError('%s: qemu-img check %r, qlite-img check %r' % (
            what, theirs, mine))
    if theirs[0] == 1 and not made and before != 1:
        raise AssertionError('%s: the image no longer opens' % what)
    if theirs[0] == 2 and before not in (1, 2) and \
            not copied_flags_only(name, img):
        raise AssertionError('%s: the image is corrupt now' % what)
    if theirs[0] != 1:
        try:
            verify(img, ok)
        except AssertionError as e:
            raise AssertionError('%s: %s' % (what, e))
    return r


def run_op(name, prepare, args, verify, made):
    if prepare:
        prepare(path('%s.base' % name))
    before = (check_json('qemu-img', path('%s.base' % name))[0]
              if prepare and not made else 0)
    clean = one_run(name, prepare, args, verify, made, 'sticky=off', before)
    if clean.returncode != 0:
        raise AssertionError('%s without faults: %s' % (name, clean.stderr))
    c = counts(clean.stderr)
    tried = 0
    for spec in specs(c):
        one_run(name, prepare, args, verify, made, spec, before)
        tried += 1
    return c, tried


def refblock_crossing_leaks():
    """Issue 16 finding 10: power cuts while writes cross refcount block
    boundaries (512-byte clusters: one block per 128 KiB) with nothing
    flushed leave no leak: a new block is written alone, not with the
    blocks counting clusters whose L2 tables are still cached."""
    base, img = path('leak.base'), path('leak.qcow2')
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-o', 'cluster_size=512',
       base, '8M')
    worst = 0
    for cut in range(20000, 1300000, 80000):
        shutil.copy(base, img)
        r = sh(FI, 'cut-after-bytes=%d' % cut, 'bench', '-w', '-q', '-f',
               'qcow2', '-d', '1', '-c', '80', '-s', '16k', '-S', '16k', img,
               check=False)
        assert r.returncode == CUT_STATUS, (cut, r.returncode, r.stderr)
        rc, (corruptions, leaks) = check_json('qemu-img', img)
        assert rc in (0, 3) and not corruptions, (cut, rc)
        worst = max(worst, leaks)
    # Before the fix: every cluster written so far (up to 2536).
    assert worst <= 4, 'a power cut leaked %d clusters' % worst
    return worst


def main():
    global FI, QLITE, TMP
    if not shutil.which('qemu-img') or not shutil.which('qemu-io'):
        print('FAIL: qemu-img/qemu-io not found (install qemu-utils)')
        sys.exit(1)
    FI, QLITE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    failures = []
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory() as tmp:
        TMP = tmp
        for name, prepare, args, verify, made in OPS:
            try:
                c, tried = run_op(name, prepare, args, verify, made)
                print('ok   %-12s %3d faults (clean run: %s)' % (
                    name, tried, c), flush=True)
            except AssertionError as e:
                print('FAIL %s: %s' % (name, e), flush=True)
                failures.append(name)
        try:
            print('ok   finding 10: at most %d leaked clusters' %
                  refblock_crossing_leaks(), flush=True)
        except AssertionError as e:
            print('FAIL finding 10: %s' % e, flush=True)
            failures.append('refblock-crossing-leaks')
    print('%.1f s' % (time.monotonic() - t0))
    if failures:
        print('FAILED: %s' % ', '.join(failures))
        sys.exit(1)
    print('PASS')


if __name__ == '__main__':
    main()
