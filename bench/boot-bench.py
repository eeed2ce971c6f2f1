#!/usr/bin/env python3
"""Boot benchmark (issues 4 and 15): time from start to the test guest's
ready marker, and peak RSS, for qlite and qemu-system-x86_64 -accel tcg
on the same kernel and initramfs, at each -smp given.  The two run
interleaved (qlite, QEMU, qlite, QEMU, ...); the table gives medians and
the time ratio qlite/QEMU (at most 0.8 is issue 15's goal).

  bench/boot-bench.py [--smp 1,2,4] [--runs N] [--accel-opts thread=multi]
                      [--qlite PATH] [--qemu PATH]

--accel-opts is appended to "-accel tcg," for both emulators.  Needs the
test guest (scripts/build-test-guest.sh -> build/guest/, run first).
"""
import argparse
import sys

import guestbench as gb


def bench_smp(opts, smp):
    """Median seconds and peak RSS per emulator; None if one failed."""
    rss = {'qlite': 0, 'qemu': 0}
    binary = {'qlite': opts.qlite, 'qemu': opts.qemu}

    def measure(name):
        seen, kib = gb.run_guest(binary[name], smp, 'poweroff', [gb.READY],
                                 opts.accel_opts, timeout=opts.timeout)
        rss[name] = max(rss[name], kib)
        return seen[gb.READY]

    try:
        times = gb.interleave(opts.runs, measure)
    except gb.RunError as e:
        print('smp %d: %s' % (smp, e))
        return None
    return {n: (gb.median(times[n]), rss[n]) for n in times}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--qlite', default=gb.QLITE)
    ap.add_argument('--qemu', default='qemu-system-x86_64')
    ap.add_argument('--smp', default='1,2,4')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--accel-opts', default='')
    ap.add_argument('--timeout', type=float, default=900)
    opts = ap.parse_args()
    gb.build_guest()
    print('boot to the ready marker, -accel %s, median of %d run%s, '
          'load %s' % (gb.accel_arg(opts.accel_opts), opts.runs,
                       '' if opts.runs == 1 else 's', gb.load()))
    print('%-5s %9s %9s %11s %10s %10s' % ('smp', 'qlite', 'QEMU',
          'qlite/QEMU', 'qlite RSS', 'QEMU RSS'))
    failed = False
    for smp in [int(s) for s in opts.smp.split(',')]:
        r = bench_smp(opts, smp)
        if r is None:
            failed = True
            continue
        (tl, rl), (tq, rq) = r['qlite'], r['qemu']
        print('%-5d %8.2fs %8.2fs %11.2f %7.0f MiB %6.0f MiB' %
              (smp, tl, tq, tl / tq, rl / 1024, rq / 1024))
        gb.record('boot-smp%d' % smp, tl, tq)
    print('load after: %s' % gb.load())
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
