#!/usr/bin/env python3
"""Interop between qlite-img and the real qemu-img (Debian's qemu-utils).

 - images made by qemu-img/qemu-io read back by qlite-img byte for byte;
 - images written by qlite-img pass `qemu-img check` with no errors or
   leaks and `qemu-img compare` equal;
 - info/map/check JSON use qemu-img 7.2's field names and values;
 - damaged images give an error naming the field, never a crash.

usage: test_interop.py QLITE_IMG CRASH_WRITER
"""
import json
import os
import shutil
import struct
import subprocess
import sys
import tempfile

QLITE = None
WRITER = None
TMP = None
FAILURES = []


def sh(*args, check=True, **kw):
    r = subprocess.run(list(args), capture_output=True, text=True, **kw)
    if check and r.returncode != 0:
        raise AssertionError('%s failed (%d): %s%s' % (
            ' '.join(args), r.returncode, r.stdout, r.stderr))
    return r


def path(name):
    return os.path.join(TMP, name)


def case(fn):
    """Run one test case, record its failure, go on with the others."""
    def wrapper(*a):
        name = fn.__name__ + (repr(a) if a else '')
        try:
            fn(*a)
            print('ok  ', name, flush=True)
        except AssertionError as e:
            print('FAIL', name, e, flush=True)
            FAILURES.append(name)
    return wrapper


def same_raw(img, fmt='qcow2'):
    """qlite-img and qemu-img convert -O raw give the same bytes."""
    sh(QLITE, 'convert', '-f', fmt, '-O', 'raw', img, path('mine.raw'))
    sh('qemu-img', 'convert', '-f', fmt, '-O', 'raw', img, path('ref.raw'))
    with open(path('mine.raw'), 'rb') as a, open(path('ref.raw'), 'rb') as b:
        if a.read() != b.read():
            raise AssertionError('%s: qlite-img reads different data' % img)


def qemu_clean(img):
    r = sh('qemu-img', 'check', '--output=json', img, check=False)
    if r.returncode != 0:
        raise AssertionError('qemu-img check %s: rc %d %s %s' % (
            img, r.returncode, r.stdout, r.stderr))
    res = json.loads(r.stdout)
    for k in ('corruptions', 'leaks', 'check-errors'):
        if res.get(k, 0):
            raise AssertionError('qemu-img check %s: %s' % (img, res))


def qlite_clean(img):
    r = sh(QLITE, 'check', '--output=json', img, check=False)
    if r.returncode != 0:
        raise AssertionError('qlite-img check %s: rc %d %s %s' % (
            img, r.returncode, r.stdout, r.stderr))


def qemu_io(img, *cmds):
    args = ['qemu-io', '-f', 'qcow2']
    for c in cmds:
        args += ['-c', c]
    sh(*(args + [img]))


def write_pattern(img, cs):
    size = 16 << 20
    qemu_io(img, 'write -P 0x11 0 1M', 'write -P 0x22 %d 5k' % (3 << 20),
            'write -P 0x33 %d 3000' % (5 << 20 | 777),
            'write -z %d 1M' % (4 << 20), 'write -P 0x44 %d 1M' % (size - (1 << 20)),
            'discard 0 %d' % max(cs, 65536))


@case
def read_qemu_images(compat, cs, rb):
    img = path('q.qcow2')
    opts = 'compat=%s,cluster_size=%d' % (compat, cs)
    if rb != 16:
        opts += ',refcount_bits=%d' % rb
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-o', opts, img, '16M')
    write_pattern(img, cs)
    same_raw(img)
    qlite_clean(img)
    compare_info(img)


def compare_info(img, chain=False):
    extra = ['--backing-chain'] if chain else []
    mine = json.loads(sh(QLITE, 'info', '--output=json', *extra,
                         img).stdout)
    ref = json.loads(sh('qemu-img', 'info', '--output=json', *extra,
                        img).stdout)
    for a, b in zip(mine if chain else [mine], ref if chain else [ref]):
        for k in set(a) | set(b):
            if k == 'actual-size':
                continue
            if k == 'snapshots':
                ka = [(s['id'], s['name']) for s in a.get(k, [])]
                kb = [(s['id'], s['name']) for s in b.get(k, [])]
                if ka != kb:
                    raise AssertionError('snapshots differ %r %r' % (ka, kb))
                continue
            if a.get(k) != b.get(k):
                raise AssertionError('info %s: %r != %r' % (
                    k, a.get(k), b.get(k)))


@case
def read_backing_chain():
    base, mid, top = path('base.qcow2'), path('mid.qcow2'), path('top.qcow2')
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-o', 'compat=0.10', base,
       '16M')
    qemu_io(base, 'write -P 0x11 0 8M')
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F',
       'qcow2', '-o', 'cluster_size=4096', mid, cwd=TMP)
    qemu_io(mid, 'write -P 0x22 1M 1M', 'write -z 3M 64k')
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', '-b', 'mid.qcow2', '-F',
       'qcow2', top, '20M', cwd=TMP)
    qemu_io(top, 'write -P 0x33 1536k 1M', 'write -z 0 64k',
            'write -P 0x55 17M 64k')
    same_raw(top)
    compare_info(top, chain=True)
    mine = sh(QLITE, 'map', '--output=json', top).stdout
    ref = sh('qemu-img', 'map', '--output=json', top).stdout
    if mine != ref:
        raise AssertionError('map differs:\n%s\n%s' % (mine, ref))


@case
def read_compressed(cs):
    src = path('src.raw')
    with open(src, 'wb') as f:
        for i in range(64):
            f.write((bytes([i]) * 1000 + os.urandom(24)) * 64
                    if i % 3 else bytes(65536))
    img = path('c.qcow2')
    sh('qemu-img', 'convert', '-c', '-f', 'raw', '-O', 'qcow2', '-o',
       'cluster_size=%d' % cs, src, img)
    same_raw(img)
    qlite_clean(img)


@case
def read_snapshots():
    img = path('s.qcow2')
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', img, '8M')
    qemu_io(img, 'write -P 1 0 2M')
    sh('qemu-img', 'snapshot', '-c', 'one', img)
    qemu_io(img, 'write -P 2 1M 2M')
    sh('qemu-img', 'snapshot', '-c', 'two', img)
    qemu_io(img, 'write -P 3 0 512k')
    same_raw(img)
    qlite_clean(img)
    compare_info(img)
    mine = sh(QLITE, 'snapshot', '-l', img).stdout
    ref = sh('qemu-img', 'snapshot', '-l', img).stdout
    if mine != ref:
        raise AssertionError('snapshot -l differs:\n%s%s' % (mine, ref))
    sh(QLITE, 'snapshot', '-a', 'one', img)
    qemu_clean(img)
    sh('qemu-img', 'convert', '-O', 'raw', '-l', 'one', img,
       path('one.raw'))
    sh('qemu-img', 'compare', '-f', 'raw', '-F', 'qcow2', path('one.raw'),
       img)


def make_src(name, size=9 << 20):
    src = path(name)
    with open(src, 'wb') as f:
        f.write(os.urandom(3 << 20))
        f.write(bytes(2 << 20))
        f.write((b'qlite' * 13107 + b'x') * 32)
        f.truncate(size)
    return src


@case
def write_convert(opts, compress):
    src = make_src('w.raw')
    img = path('w.qcow2')
    args = [QLITE, 'convert', '-f', 'raw', '-O', 'qcow2', '-o', opts]
    sh(*(args + (['-c'] if compress else []) + [src, img]))
    qemu_clean(img)
    sh('qemu-img', 'compare', '-f', 'raw', '-F', 'qcow2', src, img)


def make_zero_runs(name):
    """Data and zeroes mixed: holes, zeroes written out, zero blocks
    inside data, a zero run not on a cluster boundary, a short tail."""
    src = path(name)
    with open(src, 'wb') as f:
        f.truncate((12 << 20) + 777)
        for mib in (0, 1, 4, 7, 8):
            f.seek(mib << 20)
            f.write(os.urandom(1 << 20))
        f.seek(2 << 20)
        f.write(bytes(1 << 20))
        f.seek((1 << 20) + 8192)
        f.write(bytes(4096))
        f.seek((4 << 20) + 65536 + 1000)
        f.write(bytes(70000))
        f.seek(12 << 20)
        f.write(os.urandom(777))
    return src


def map_json(img):
    """What is data and what zero, runs merged: the host layout (which
    convert's out-of-order writers change) splits qemu-img map's runs."""
    r = sh('qemu-img', 'map', '--output=json', img)
    runs = []
    for e in json.loads(r.stdout):
        if runs and runs[-1][2:] == (e['data'], e['zero']):
            runs[-1] = (runs[-1][0], runs[-1][1] + e['length']) + runs[-1][2:]
        else:
            runs.append((e['start'], e['length'], e['data'], e['zero']))
    return runs


@case
def convert_zero_runs_like_qemu(sparse, compress):
    """convert of an image with zero runs: the same bytes and the same
    allocation as qemu-img's, for raw -> qcow2 and qcow2 -> qcow2."""
    src = make_zero_runs('z.raw')
    mid = path('z.qcow2')
    sh('qemu-img', 'convert', '-f', 'raw', '-O', 'qcow2', src, mid)
    for s, fmt in ((src, 'raw'), (mid, 'qcow2')):
        args = ['convert', '-f', fmt, '-O', 'qcow2', '-S', sparse]
        args += ['-c'] if compress else []
        for tool, out in (('qemu-img', 'zq.qcow2'), (QLITE, 'zl.qcow2')):
            if os.path.exists(path(out)):
                os.unlink(path(out))
            sh(*([tool] + args + [s, path(out)]))
        qemu_clean(path('zl.qcow2'))
        sh('qemu-img', 'compare', '-f', fmt, '-F', 'qcow2', s,
           path('zl.qcow2'))
        if not compress and map_json(path('zq.qcow2')) != \
                map_json(path('zl.qcow2')):
            raise AssertionError('-S %s from %s: allocation differs from '
                                 'qemu-img\'s: %s vs %s' % (
                                     sparse, fmt, map_json(path('zl.qcow2')),
                                     map_json(path('zq.qcow2'))))
    r = sh(QLITE, 'convert', '-S', '1000', '-O', 'qcow2', src,
           path('zbad.qcow2'), check=False)
    if r.returncode == 0 or 'multiples of 512' not in r.stderr:
        raise AssertionError('-S 1000 accepted: %s' % r.stderr)


@case
def write_random_ops(opts):
    """The crash writer run to completion: writes, zeroes, discards."""
    img = path('ops.qcow2')
    sh(QLITE, 'create', '-q', '-f', 'qcow2', '-o', opts, img, '16M')
    sh(WRITER, img, path('ops.log'), '7', '65536', '3000')
    qemu_clean(img)
    same_raw(img)


@case
def bench_write_matches_qemu(cache):
    """qlite-img bench -w (io_uring for allocated clusters, the worker pool
    for allocations) leaves the same image as qemu-img bench -w."""
    imgs = [path('bq.qcow2'), path('bl.qcow2')]
    for img in imgs:
        sh('qemu-img', 'create', '-q', '-f', 'qcow2', img, '8M')
        qemu_io(img, 'write -P 0x5 0 4M')
    args = ['bench', '-w', '-f', 'qcow2', '-c', '5000', '-d', '32', '-s',
            '4k', '-S', str(997 * 4096), '-t', cache, '--pattern=0x6b']
    sh(*(['qemu-img'] + args + [imgs[0]]))
    sh(*([QLITE] + args + [imgs[1]]))
    qemu_clean(imgs[1])
    sh('qemu-img', 'compare', imgs[0], imgs[1])


@case
def write_backing_and_snapshots():
    base = path('wb.qcow2')
    top = path('wt.qcow2')
    src = make_src('wb.raw', 8 << 20)
    sh(QLITE, 'convert', '-f', 'raw', '-O', 'qcow2', src, base)
    sh(QLITE, 'create', '-q', '-f', 'qcow2', '-b', 'wb.qcow2', '-F', 'qcow2',
       top, cwd=TMP)
    sh(WRITER, top, path('wt.log'), '9', '65536', '500')
    qemu_clean(top)
    same_raw(top)
    sh(QLITE, 'snapshot', '-c', 'a', top)
    qemu_clean(top)
    sh(WRITER, top, path('wt.log'), '10', '65536', '300')
    sh(QLITE, 'snapshot', '-c', 'b', top)
    sh(WRITER, top, path('wt.log'), '11', '65536', '300')
    qemu_clean(top)
    same_raw(top)
    sh(QLITE, 'snapshot', '-a', 'a', top)
    qemu_clean(top)
    sh(QLITE, 'snapshot', '-d', 'b', top)
    qemu_clean(top)
    sh('qemu-img', 'snapshot', '-d', 'a', top)
    qemu_clean(top)
    sh(QLITE, 'resize', top, '+3M')
    qemu_clean(top)
    same_raw(top)


@case
def check_json_and_repair():
    img = path('leak.qcow2')
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', img, '4M')
    qemu_io(img, 'write -P 9 0 256k')
    with open(img, 'r+b') as f:
        f.seek(48)
        rt = struct.unpack('>Q', f.read(8))[0]
        f.seek(rt)
        rb = struct.unpack('>Q', f.read(8))[0]
        f.seek(0, 2)
        leak = (f.tell() + 65535) // 65536
        f.seek(rb + 2 * leak)
        f.write(struct.pack('>H', 1))      # one cluster past the data
        f.truncate((leak + 1) * 65536)     # ... inside the file: a leak
    mine = sh(QLITE, 'check', '--output=json', img, check=False)
    ref = sh('qemu-img', 'check', '--output=json', img, check=False)
    if mine.returncode != ref.returncode or \
            json.loads(mine.stdout) != json.loads(ref.stdout):
        raise AssertionError('check differs: %s %s' % (mine.stdout,
                                                       ref.stdout))
    sh(QLITE, 'check', '-r', 'leaks', img)
    qemu_clean(img)


def corrupt(name, edits, base_opts='', size='1M', writes=True):
    img = path(name)
    sh('qemu-img', 'create', '-q', '-f', 'qcow2',
       *(['-o', base_opts] if base_opts else []), img, size)
    if writes:
        qemu_io(img, 'write -P 5 0 128k')
    with open(img, 'r+b') as f:
        for off, data in edits(f):
            f.seek(off)
            f.write(data)
    return img


def expect_error(img, words, cmd=('info',)):
    tail = [path('out.raw')] if cmd[0] == 'convert' else []
    r = sh(QLITE, *cmd, img, *tail, check=False)
    if r.returncode <= 0 or r.returncode >= 128:
        raise AssertionError('%s on %s: rc %d (want a clean error) %s' % (
            cmd, img, r.returncode, r.stderr))
    for w in words:
        if w not in r.stderr:
            raise AssertionError('error for %s does not name %r: %s' % (
                img, w, r.stderr))


def be64(v):
    return struct.pack('>Q', v)


def be32(v):
    return struct.pack('>I', v)


def l2_offset(f):
    f.seek(40)
    l1 = struct.unpack('>Q', f.read(8))[0]
    f.seek(l1)
    return struct.unpack('>Q', f.read(8))[0] & 0x00fffffffffffe00


@case
def bad_images():
    img = path('trunc.qcow2')
    with open(img, 'wb') as f:
        f.write(b'QFI\xfb\x00\x00\x00\x03' + bytes(30))
    expect_error(img, ['trunc.qcow2', 'truncated header'])
    expect_error(corrupt('l1.qcow2', lambda f: [(36, be32(0x7fffffff))]),
                 ['l1.qcow2', 'l1_size'])
    expect_error(corrupt('rt.qcow2', lambda f: [(56, be32(0x10000000))]),
                 ['rt.qcow2', 'refcount_table_clusters'])
    expect_error(corrupt('ov.qcow2', lambda f: [(48, be64(0))]),
                 ['ov.qcow2', 'refcount_table_offset', 'header'])
    expect_error(corrupt('ov2.qcow2', lambda f: [(40, be64(0x10000))]),
                 ['ov2.qcow2', 'l1_table_offset', 'overlaps'])
    expect_error(corrupt('feat.qcow2', lambda f: [(72, be64(1 << 4))]),
                 ['feat.qcow2', 'extended L2 entries'])
    expect_error(corrupt('feat2.qcow2', lambda f: [(72, be64(1 << 20))]),
                 ['feat2.qcow2', 'Unknown incompatible feature'])
    expect_error(corrupt('eof.qcow2', lambda f: [
        (l2_offset(f), be64((1 << 63) | (1 << 40)))]),
        ['eof.qcow2', 'L2 entry', 'past the end'],
        ('convert', '-O', 'raw'))
    img = corrupt('loop.qcow2', lambda f: [], writes=False)
    sh('qemu-img', 'rebase', '-u', '-b', 'loop.qcow2', '-F', 'qcow2', img,
       cwd=TMP)
    expect_error(img, ['loop.qcow2', 'backing_file', 'loops'],
                 ('convert', '-O', 'raw'))


@case
def bad_compressed():
    src = path('cz.raw')
    with open(src, 'wb') as f:
        f.write(b'abc' * 100000)
        f.truncate(1 << 20)
    img = path('cz.qcow2')
    sh('qemu-img', 'convert', '-c', '-O', 'qcow2', src, img)
    with open(img, 'r+b') as f:
        l2 = l2_offset(f)
        f.seek(l2)
        e = struct.unpack('>Q', f.read(8))[0]
        f.seek(e & ((1 << 54) - 1))
        f.write(b'\xff' * 64)           # garbage deflate stream
    expect_error(img, ['cz.qcow2', 'Compressed cluster descriptor'],
                 ('convert', '-O', 'raw'))


@case
def create_bad_option_leaves_nothing():
    """Issue 16 finding 5: a bad -o is refused before the file exists, as
    qemu-img does it."""
    for fmt in ('qcow2', 'raw'):
        for tool in (QLITE, 'qemu-img'):
            img = path('bad-opt-%s-%s' % (fmt, os.path.basename(tool)))
            r = sh(tool, 'create', '-q', '-f', fmt, '-o', 'bogus=1', img,
                   '1G', check=False)
            assert r.returncode == 1, (tool, r.returncode, r.stderr)
            assert "'bogus'" in r.stderr, r.stderr
            assert not os.path.exists(img), '%s left %s' % (tool, img)


@case
def check_repair_clears_corrupt_bit():
    """Issue 16 finding 3: check -r all on a consistent image marked
    corrupt clears the mark, as qemu-img does; plain check keeps it."""
    for tool in (QLITE, 'qemu-img'):
        img = path('corrupt-bit-%s.qcow2' % os.path.basename(tool))
        sh('qemu-img', 'create', '-q', '-f', 'qcow2', img, '16M')
        with open(img, 'r+b') as f:
            f.seek(72)
            v = int.from_bytes(f.read(8), 'big')
            f.seek(72)
            f.write((v | 2).to_bytes(8, 'big'))
        sh(tool, 'check', img)
        assert 'corrupt: true' in sh('qemu-img', 'info', img).stdout, tool
        sh(tool, 'check', '-r', 'all', img)
        info = sh('qemu-img', 'info', img).stdout
        assert 'corrupt: false' in info, (tool, info)
        qemu_clean(img)


def misplaced_tables():
    """Issue 16 finding 4: (name, header edits) for images whose L1 table
    or refcount table lies past the end of the file or on other
    metadata.  The edits get the image's layout: l1, rt, rb, l2, eof."""
    q, i = be64, be32
    return [
        ('l1-past-eof', lambda h: [(40, q(h['eof'] + 0x100000))]),
        ('l1-straddles-eof', lambda h: [(40, q(h['eof'] - 0x10000)),
                                        (36, i(0x4000))]),
        ('rt-past-eof', lambda h: [(48, q(h['eof'] + 0x100000))]),
        ('rt-straddles-eof', lambda h: [(48, q(h['eof'] - 0x10000)),
                                        (56, i(4))]),
        ('l1-on-rt', lambda h: [(40, q(h['rt']))]),
        ('l1-on-rb', lambda h: [(40, q(h['rb']))]),
        ('l1-on-l2', lambda h: [(40, q(h['l2']))]),
        ('l1-on-header', lambda h: [(40, q(0))]),
        ('rt-on-l1', lambda h: [(48, q(h['l1']))]),
        ('rt-on-rb', lambda h: [(48, q(h['rb']))]),
        ('rt-on-l2', lambda h: [(48, q(h['l2']))]),
        ('rt-on-header', lambda h: [(48, q(0))]),
    ]


def make_misplaced(name, edits, corrupt_bit):
    img = path(name + '.qcow2')
    sh('qemu-img', 'create', '-q', '-f', 'qcow2', img, '16M')
    qemu_io(img, 'write -P 5 0 128k', 'write -P 6 8M 64k')
    with open(img, 'r+b') as f:
        def rd(off):
            f.seek(off)
            return struct.unpack('>Q', f.read(8))[0]
        h = {'l1': rd(40), 'rt': rd(48)}
        h['rb'] = rd(h['rt'])
        h['l2'] = rd(h['l1']) & 0x00fffffffffffe00
        h['eof'] = f.seek(0, 2)
        edits = edits(h)
        if corrupt_bit:
            edits.append((72, be64(2)))
        for off, data in edits:
            f.seek(off)
            f.write(data)
    return img


def qemu_check_rc(img):
    return sh('qemu-img', 'check', img, check=False).returncode


def is_corrupt(img):
    return 'corrupt: true' in sh('qemu-img', 'info', img).stdout


@case
def check_repairs_misplaced_tables():
    """check opens these images and reports them; check -r all leaves
    the image as consistent as qemu-img check -r all leaves it (status
    and qemu-img's verdict afterwards), and clears the corrupt bit once
    the image is consistent."""
    for name, edits in misplaced_tables():
        img = make_misplaced(name, edits, True)
        r = sh(QLITE, 'check', img, check=False)
        assert 'Could not open' not in r.stderr and r.returncode in (1, 2), \
            (name, r.returncode, r.stderr[-300:])
        ref = path(name + '-ref.qcow2')
        shutil.copy(img, ref)
        mine = sh(QLITE, 'check', '-r', 'all', img, check=False)
        theirs = sh('qemu-img', 'check', '-r', 'all', ref, check=False)
        after_mine, after_ref = qemu_check_rc(img), qemu_check_rc(ref)
        assert after_mine == after_ref, (name, after_mine, after_ref,
                                         mine.stderr[-300:])
        # qemu-img may fail its own run and still leave a clean image.
        want = after_ref if theirs.returncode != 1 else 0
        assert mine.returncode == want, (name, mine.returncode,
                                         theirs.returncode,
                                         mine.stderr[-300:])
        assert is_corrupt(img) == (after_mine != 0), name


@case
def snapshot_of_l2_past_eof_fails_cleanly():
    """Issue 16 finding 1: snapshot -c on an image whose L2 entry points
    past the end of the file fails with status 1 and a message (it
    aborted, or counted a cluster that is not there).  qemu-img is no
    yardstick here: it accepts some of these offsets and fails others."""
    for off in (0x8000000, 1 << 40, 0x7f0000000000):
        for tool in (QLITE,):
            img = path('l2-eof-%x-%s.qcow2' % (off, os.path.basename(tool)))
            sh('qemu-img', 'create', '-q', '-f', 'qcow2', img, '16M')
            sh('qemu-io', '-c', 'write -P 0x11 0 64k', img)
            with open(img, 'r+b') as f:
                f.seek(40)
                l1 = int.from_bytes(f.read(8), 'big')
                f.seek(l1)
                l2 = int.from_bytes(f.read(8), 'big') & 0x00fffffffffffe00
                f.seek(l2)
                f.write(((1 << 63) | off).to_bytes(8, 'big'))
            r = sh(tool, 'snapshot', '-c', 'snap', img, check=False)
            assert r.returncode == 1, (tool, hex(off), r.returncode,
                                       r.stderr)
            assert 'past the end of the file' in r.stderr, r.stderr


def main():
    global QLITE, WRITER, TMP
    if not shutil.which('qemu-img') or not shutil.which('qemu-io'):
        print('FAIL: qemu-img/qemu-io not found (install qemu-utils)')
        sys.exit(1)
    QLITE, WRITER = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    with tempfile.TemporaryDirectory() as tmp:
        TMP = tmp
        for compat in ('0.10', '1.1'):
            for cs in (512, 4096, 65536, 2 << 20):
                read_qemu_images(compat, cs, 16)
        for rb in (1, 8, 64):
            read_qemu_images('1.1', 65536, rb)
        read_backing_chain()
        for cs in (4096, 65536):
            read_compressed(cs)
        read_snapshots()
        for opts in ('compat=0.10', 'compat=1.1', 'cluster_size=512',
                     'cluster_size=2M', 'refcount_bits=1',
                     'refcount_bits=64,cluster_size=4096',
                     'lazy_refcounts=on'):
            write_convert(opts, False)
        write_convert('cluster_size=4096', True)
        write_convert('compat=0.10', True)
        for sparse in ('4k', '0', '64k'):
            convert_zero_runs_like_qemu(sparse, False)
        convert_zero_runs_like_qemu('4k', True)
        for opts in ('cluster_size=65536', 'cluster_size=512,refcount_bits=4',
                     'compat=0.10', 'lazy_refcounts=on'):
            write_random_ops(opts)
        for cache in ('writeback', 'none', 'writethrough'):
            bench_write_matches_qemu(cache)
        write_backing_and_snapshots()
        check_json_and_repair()
        bad_images()
        bad_compressed()
        create_bad_option_leaves_nothing()
        check_repair_clears_corrupt_bit()
        snapshot_of_l2_past_eof_fails_cleanly()
        check_repairs_misplaced_tables()
    if FAILURES:
        print('FAILED: %d case(s): %s' % (len(FAILURES), ', '.join(FAILURES)))
        sys.exit(1)
    print('PASS')


if __name__ == '__main__':
    main()
