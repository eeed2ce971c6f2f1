#!/usr/bin/env python3
"""Parallel workload benchmark (issue 15): the test guest at -smp 2 runs
two CPU-bound busybox shell loops at once (scenario "parallel" of
scripts/guest/init, qlite.work iterations each); the host times the
console's QLITE-WORK-START to QLITE-WORK-END, the work's wall time.
qlite and qemu-system-x86_64 -accel tcg run interleaved; the table gives
medians and the time ratio qlite/QEMU (at most 0.8 is the goal).

  bench/parallel-bench.py [--smp 2] [--work N] [--runs N]
                          [--accel-opts thread=multi] [--qlite PATH]

Needs the test guest (scripts/build-test-guest.sh -> build/guest/).
"""
import argparse
import sys

import guestbench as gb

START, END = 'QLITE-WORK-START', 'QLITE-WORK-END'


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--qlite', default=gb.QLITE)
    ap.add_argument('--qemu', default='qemu-system-x86_64')
    ap.add_argument('--smp', type=int, default=2)
    ap.add_argument('--work', type=int, default=100000,
                    help='shell loop iterations per process')
    ap.add_argument('--runs', type=int, default=3)
    ap.add_argument('--accel-opts', default='')
    ap.add_argument('--timeout', type=float, default=900)
    opts = ap.parse_args()
    gb.build_guest()
    binary = {'qlite': opts.qlite, 'qemu': opts.qemu}

    def measure(name):
        seen, _ = gb.run_guest(binary[name], opts.smp, 'parallel',
                               [START, END], opts.accel_opts,
                               'qlite.work=%d' % opts.work, opts.timeout)
        return seen[END] - seen[START]

    print('2 busy processes x %d loop iterations, -smp %d, -accel %s, '
          'median of %d, load %s' % (opts.work, opts.smp,
                                     gb.accel_arg(opts.accel_opts),
                                     opts.runs, gb.load()))
    try:
        times = gb.interleave(opts.runs, measure)
    except gb.RunError as e:
        print('parallel: %s' % e)
        return 1
    tl, tq = gb.median(times['qlite']), gb.median(times['qemu'])
    for name in ('qlite', 'qemu'):
        print('%-6s work wall time %7.2f s  (runs: %s)' %
              (name, gb.median(times[name]),
               ' '.join('%.2f' % t for t in times[name])))
    print('time ratio qlite/QEMU: %.2f' % (tl / tq))
    gb.record('parallel-smp%d' % opts.smp, tl, tq)
    print('load after: %s' % gb.load())
    return 0


if __name__ == '__main__':
    sys.exit(main())
