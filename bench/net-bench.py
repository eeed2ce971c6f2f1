#!/usr/bin/env python3
"""Network benchmark (issue 12): guest-to-host TCP throughput through
user networking.  The Linux test guest serves a 256 MiB file with busybox
httpd; the host fetches it through hostfwd and times the transfer.  For
-device e1000 and -device virtio-net-pci, on qlite and on
qemu-system-x86_64 -accel tcg with the same guest, in one run
(interleaved, so a machine that slows down hurts both alike).

Prints MiB/s for each and the qlite/QEMU ratio (above 1: qlite is
faster).

  bench/net-bench.py [--qlite build/qlite-system-x86_64] [--runs N]
"""
import argparse
import os
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, 'tests', 'functional'))
from linux_guest import Guest, free_port  # noqa: E402

SIZE_MIB = 256
NICS = ('e1000', 'virtio-net-pci')


def fetch_timed(url):
    """Seconds to read @url to the end, and the byte count."""
    deadline = time.monotonic() + 120
    while True:
        try:
            r = urllib.request.urlopen(url, timeout=600)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    t0 = time.monotonic()
    n = 0
    with r:
        while True:
            chunk = r.read(1 << 20)
            if not chunk:
                break
            n += len(chunk)
    return time.monotonic() - t0, n


def run_one(binary, nic):
    port = free_port()
    args = ['-netdev', 'user,id=n0,hostfwd=tcp:127.0.0.1:%d-:8080' % port,
            '-device', '%s,netdev=n0' % nic]
    with Guest(binary, args, mem='1G') as g:
        g.check('ip link set eth0 up && udhcpc -i eth0 -n -q -t 10 -T 3 '
                '>/dev/null 2>&1', 300)
        g.check('mkdir -p /tmp/www && dd if=/dev/zero of=/tmp/www/f bs=1M '
                'count=%d 2>/dev/null && httpd -p 8080 -h /tmp/www'
                % SIZE_MIB, 600)
        secs, n = fetch_timed('http://127.0.0.1:%d/f' % port)
        if n != SIZE_MIB << 20:
            raise RuntimeError('%s %s: got %d bytes' % (binary, nic, n))
        g.poweroff()
    return SIZE_MIB / secs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--qlite', default=os.path.join(
        ROOT, 'build', 'qlite-system-x86_64'))
    ap.add_argument('--qemu', default='qemu-system-x86_64')
    ap.add_argument('--runs', type=int, default=1)
    opts = ap.parse_args()
    subprocess.run([os.path.join(ROOT, 'scripts', 'build-test-guest.sh')],
                   check=True)
    results = {}
    for _ in range(opts.runs):
        for nic in NICS:
            for name, binary in (('qlite', opts.qlite), ('qemu', opts.qemu)):
                mibs = run_one(binary, nic)
                results.setdefault((nic, name), []).append(mibs)
                print('%s %s: %.1f MiB/s' % (name, nic, mibs), flush=True)
    print('%-22s %10s %10s %8s' % ('MiB/s, median of %d' % opts.runs,
                                   'qlite', 'QEMU', 'ratio'))
    for nic in NICS:
        q = statistics.median(results[(nic, 'qlite')])
        e = statistics.median(results[(nic, 'qemu')])
        print('%-22s %10.1f %10.1f %8.2f' % (nic, q, e, q / e))


if __name__ == '__main__':
    main()
