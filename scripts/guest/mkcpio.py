#!/usr/bin/env python3
"""Write a gzip'd cpio archive ("newc" format, the one the Linux kernel
unpacks as an initramfs) from a directory tree, with every file owned by
root, timestamps zeroed and entries sorted, so equal trees give equal bytes.

Device nodes cannot be made without root, so they are given on the command
line: --node dev/console:c:5:1 adds a character device.

newc header (all fields 8 ASCII hex digits, after the magic "070701"):
  ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor
  rdevminor namesize check
then the NUL-terminated name, padded to 4 bytes; then the data, padded
to 4 bytes.  "TRAILER!!!" ends the archive.
"""
import argparse
import gzip
import os
import stat
import sys


def pad4(n):
    return (4 - n % 4) % 4


class CpioWriter:
    def __init__(self, out):
        self.out = out
        self.ino = 1

    def entry(self, name, mode, data=b'', rdev=(0, 0), nlink=1):
        name_b = name.encode() + b'\0'
        fields = [self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0,
                  rdev[0], rdev[1], len(name_b), 0]
        self.ino += 1
        hdr = b'070701' + b''.join(b'%08x' % f for f in fields)
        self.out.write(hdr + name_b + b'\0' * pad4(len(hdr) + len(name_b)))
        self.out.write(data + b'\0' * pad4(len(data)))

    def trailer(self):
        self.ino = 0
        self.entry('TRAILER!!!', 0)


def walk(root):
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        rel = os.path.relpath(dirpath, root)
        if rel != '.':
            yield rel
        for f in sorted(filenames + [d for d in dirnames
                                     if os.path.islink(
                                         os.path.join(dirpath, d))]):
            yield os.path.normpath(os.path.join(rel, f))


def add_path(w, root, rel):
    path = os.path.join(root, rel)
    st = os.lstat(path)
    perm = stat.S_IMODE(st.st_mode)
    if stat.S_ISLNK(st.st_mode):
        w.entry(rel, stat.S_IFLNK | 0o777, os.readlink(path).encode())
    elif stat.S_ISDIR(st.st_mode):
        w.entry(rel, stat.S_IFDIR | perm, nlink=2)
    elif stat.S_ISREG(st.st_mode):
        with open(path, 'rb') as f:
            w.entry(rel, stat.S_IFREG | perm, f.read())
    else:
        sys.exit('mkcpio: %s: unsupported file type' % path)


def parse_node(spec):
    try:
        name, kind, major, minor = spec.split(':')
        if kind not in ('c', 'b'):
            raise ValueError
        mode = (stat.S_IFCHR if kind == 'c' else stat.S_IFBLK) | 0o600
        return name, mode, (int(major), int(minor))
    except ValueError:
        sys.exit('mkcpio: bad --node %r (want PATH:c|b:MAJOR:MINOR)' % spec)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('root')
    ap.add_argument('output')
    ap.add_argument('--node', action='append', default=[])
    args = ap.parse_args()
    tmp = args.output + '.tmp'
    with open(tmp, 'wb') as raw:
        with gzip.GzipFile(fileobj=raw, mode='wb', mtime=0,
                           compresslevel=9) as out:
            w = CpioWriter(out)
            for rel in walk(args.root):
                add_path(w, args.root, rel)
            for spec in args.node:
                name, mode, rdev = parse_node(spec)
                w.entry(name, mode, rdev=rdev)
            w.trailer()
    os.replace(tmp, args.output)


if __name__ == '__main__':
    main()
