#!/usr/bin/env python3
"""Boot benchmark (issue 4): time from start to the test guest's ready
marker and peak RSS, for qlite and for qemu-system-x86_64 -accel tcg on
the same kernel and initramfs, in one run.  Prints the time ratio.

  bench/boot-bench.py [--qlite build/qlite-system-x86_64] [--runs N]

Needs the test guest (scripts/build-test-guest.sh -> build/guest/).
"""
import argparse
import os
import resource
import statistics
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.path.join(ROOT, 'build', 'guest')
MARKER = b'QLITE-GUEST-READY'


def boot(binary, timeout):
    """Seconds to the ready marker and the process's peak RSS in KiB."""
    args = [binary, '-accel', 'tcg', '-m', '512M', '-nographic',
            '-kernel', os.path.join(GUEST, 'vmlinuz'),
            '-initrd', os.path.join(GUEST, 'initramfs.gz'),
            '-append', 'console=ttyS0 qlite.scenario=poweroff']
    start = time.monotonic()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    seen = b''
    ready = None
    while True:
        data = proc.stdout.read1(4096)
        if not data:
            break
        seen = (seen + data)[-4096:]
        if ready is None and MARKER in seen:
            ready = time.monotonic() - start
        if time.monotonic() - start > timeout:
            proc.kill()
            break
    _, status, usage = os.wait4(proc.pid, 0)
    if ready is None:
        raise RuntimeError('%s: no ready marker (status %d)' %
                           (binary, status))
    return ready, usage.ru_maxrss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--qlite', default=os.path.join(
        ROOT, 'build', 'qlite-system-x86_64'))
    ap.add_argument('--qemu', default='qemu-system-x86_64')
    ap.add_argument('--runs', type=int, default=1)
    ap.add_argument('--timeout', type=float, default=900)
    opts = ap.parse_args()
    subprocess.run([os.path.join(ROOT, 'scripts', 'build-test-guest.sh')],
                   check=True)
    results = {}
    for name, binary in (('qemu', opts.qemu), ('qlite', opts.qlite)):
        runs = [boot(binary, opts.timeout) for _ in range(opts.runs)]
        secs = statistics.median(r[0] for r in runs)
        rss = max(r[1] for r in runs)
        results[name] = (secs, rss)
        print('%-6s to ready marker: %7.2f s   peak RSS %7.1f MiB' %
              (name, secs, rss / 1024))
    ratio = results['qlite'][0] / results['qemu'][0]
    print('time ratio qlite/qemu: %.2f (median of %d run%s)' %
          (ratio, opts.runs, '' if opts.runs == 1 else 's'))
    print('load average: %s' % open('/proc/loadavg').read().split()[0])


if __name__ == '__main__':
    main()
