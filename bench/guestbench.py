"""Shared by bench/boot-bench.py and bench/parallel-bench.py: boot the
test guest (scripts/build-test-guest.sh -> build/guest) under an
emulator, note when marker lines appear on its serial console, and run
qlite and QEMU interleaved so that load from other processes hits both
alike.
"""
import os
import selectors
import statistics
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GUEST = os.path.join(ROOT, 'build', 'guest')
QLITE = os.path.join(ROOT, 'build', 'qlite-system-x86_64')
READY = 'QLITE-GUEST-READY'


class RunError(Exception):
    """The emulator refused the options or the guest never got there."""


def build_guest():
    subprocess.run([os.path.join(ROOT, 'scripts', 'build-test-guest.sh')],
                   check=True)


def accel_arg(accel_opts):
    return 'tcg,' + accel_opts if accel_opts else 'tcg'


def run_guest(binary, smp, scenario, markers, accel_opts='', append='',
              timeout=900):
    """Boot with qlite.scenario=SCENARIO; return ({marker: seconds from
    start}, peak RSS in KiB).  Raises RunError if a marker is missing."""
    args = [binary, '-accel', accel_arg(accel_opts), '-smp', str(smp),
            '-m', '512M', '-nographic',
            '-kernel', os.path.join(GUEST, 'vmlinuz'),
            '-initrd', os.path.join(GUEST, 'initramfs.gz'),
            '-append', ('console=ttyS0 qlite.scenario=%s %s' %
                        (scenario, append)).strip()]
    with tempfile.TemporaryFile() as err:
        start = time.monotonic()
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=err)
        seen = _watch(proc, markers, start, timeout)
        _, status, usage = os.wait4(proc.pid, 0)
        err.seek(0)
        msg = err.read().decode(errors='replace').strip()
    missing = [m for m in markers if m not in seen]
    if missing:
        last = msg.splitlines()[-1] if msg else 'no message'
        raise RunError('%s %s: never printed %s (exit status %d: %s)' %
                       (os.path.basename(binary), ' '.join(args[1:5]),
                        missing[0], status >> 8, last))
    return seen, usage.ru_maxrss


def _watch(proc, markers, start, timeout):
    """Read the console until EOF or the deadline; kill on the deadline."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    seen, tail = {}, b''
    while True:
        left = start + timeout - time.monotonic()
        if left <= 0 or not sel.select(left):
            proc.kill()
            break
        data = proc.stdout.read1(4096)
        if not data:
            break
        now = time.monotonic() - start
        tail = (tail + data)[-4096:]
        for m in markers:
            if m not in seen and m.encode() in tail:
                seen[m] = now
    sel.close()
    proc.stdout.close()
    return seen


def interleave(runs, measure):
    """measure(name) -> seconds, for 'qlite' then 'qemu', RUNS times;
    returns {name: [seconds...]}."""
    times = {'qlite': [], 'qemu': []}
    for _ in range(runs):
        for name in times:
            times[name].append(measure(name))
    return times


def median(values):
    return statistics.median(values)


def record(key, qlite_s, qemu_s):
    """Append a result line for bench/run-all.sh if BENCH_SUMMARY is set."""
    path = os.environ.get('BENCH_SUMMARY')
    if path:
        with open(path, 'a') as f:
            f.write('%s %.3f %.3f %.3f\n' %
                    (key, qlite_s, qemu_s, qlite_s / qemu_s))


def load():
    return open('/proc/loadavg').read().split()[0]
