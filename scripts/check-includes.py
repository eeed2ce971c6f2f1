#!/usr/bin/env python3
"""The include graph keeps the layering of docs/architecture.md:

  1. Outside target/i386, no file includes a target/i386 header except
     through include/qlite/x86-cpu.h, the x86 CPU's one door.
  2. Between subsystems, headers in include/qlite/ are the only doors: a
     header that lives in a subsystem's folder is included only from that
     subsystem, with the exceptions ALLOWED lists (white-box tests, and the
     image tool built on the block layer's internals).
  3. system/ is the floor: it includes nothing of startup/, the top.

Prints each violation as FILE:LINE: what; exits 1 if there is one.

  scripts/check-includes.py [SOURCE_ROOT]
  scripts/check-includes.py --self-test   (each rule catches its case)
"""
import os
import re
import sys

import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SKIP_DIRS = {'.git', 'guest', 'subprojects'}
X86_DOOR = 'include/qlite/x86-cpu.h'
# (including folder, included folder): includes of internals allowed.
ALLOWED = [
    ('tests/', ''),             # white-box tests may reach any internals
    ('tools/', 'block/'),       # qlite-img works on block driver state
]


def subsystem(path):
    """The folder that owns a file: two levels under accel/, hw/, target/
    and tests/, one elsewhere."""
    parts = path.split('/')
    if len(parts) > 2 and parts[0] in ('accel', 'hw', 'target', 'tests'):
        return '/'.join(parts[:2]) + '/'
    return parts[0] + '/' if len(parts) > 1 else ''


def resolve(includer, name):
    """The repository path an #include "name" in includer reaches."""
    for base in (os.path.dirname(includer), 'include', ''):
        cand = os.path.normpath(os.path.join(base, name))
        if os.path.isfile(os.path.join(ROOT, cand)):
            return cand
    return None


def sources():
    for top, dirs, files in os.walk(ROOT):
        rel_top = os.path.relpath(top, ROOT)
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and
                   not d.startswith('build') and
                   not (rel_top == '.' and d.startswith('.'))]
        for f in files:
            if f.endswith(('.c', '.h')):
                yield os.path.normpath(os.path.join(rel_top, f))


def violation(src, dst):
    """Why src may not include dst, or None."""
    if dst.startswith('include/'):
        return None
    if dst.startswith('target/i386/') and not src.startswith('target/i386/'):
        if src != X86_DOOR:
            return 'a target/i386 header outside %s' % X86_DOOR
        return None
    if src.startswith('system/') and dst.startswith('startup/'):
        return 'system/ (the floor) reaches up into startup/'
    if src == X86_DOOR:
        return None
    s, d = subsystem(src), subsystem(dst)
    if s == d:
        return None
    for a, b in ALLOWED:
        if src.startswith(a) and dst.startswith(b):
            return None
    return 'the internals of %s from %s (not a door in include/)' % (d, s)


def check():
    bad = 0
    count = 0
    for src in sorted(sources()):
        with open(os.path.join(ROOT, src), errors='replace') as f:
            for n, line in enumerate(f, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                dst = resolve(src, m.group(1))
                if dst is None:
                    continue        # generated (.def tables) or a system one
                count += 1
                why = violation(src, dst)
                if why:
                    print('%s:%d: includes %s: %s' % (src, n, dst, why))
                    bad += 1
    print('%d includes checked, %d violations' % (count, bad))
    return bad


def self_test():
    """A tree with one include per rule, each allowed or not."""
    global ROOT
    tree = {
        'include/qlite/x86-cpu.h': '#include "target/i386/cpu.h"\n',
        'target/i386/cpu.h': '',
        'target/i386/mmu.c': '#include "cpu.h"\n',
        'hw/i386/pc.c': '#include "qlite/x86-cpu.h"\n'
                        '#include "target/i386/cpu.h"\n',          # 1
        'accel/tcg/x.c': '#include "../../hw/i386/pc-internal.h"\n',  # 2
        'hw/i386/pc-internal.h': '',
        'startup/vl.h': '',
        'system/cpus.c': '#include "../startup/vl.h"\n',           # 3
        'tests/unit/t.c': '#include "../../hw/i386/pc-internal.h"\n',
    }
    with tempfile.TemporaryDirectory() as tmp:
        for path, text in tree.items():
            os.makedirs(os.path.join(tmp, os.path.dirname(path)),
                        exist_ok=True)
            with open(os.path.join(tmp, path), 'w') as f:
                f.write(text)
        ROOT = tmp
        bad = check()
    if bad != 3:
        print('self-test: expected 3 violations, found %d' % bad)
        return 1
    print('self-test: each rule caught its case')
    return 0


if __name__ == '__main__':
    if sys.argv[1:] == ['--self-test']:
        sys.exit(self_test())
    if sys.argv[1:]:
        ROOT = os.path.abspath(sys.argv[1])
    sys.exit(1 if check() else 0)
