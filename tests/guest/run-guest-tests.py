#!/usr/bin/env python3
"""Build the bare-metal test kernels and run each one in an emulator.

Each tests/guest/<name>.c is one kernel.  A name ending in "64" is a
long-mode kernel (entry64.S, built -m64 and converted to ELF32 because
multiboot loaders take ELF32 only); the others are 32-bit protected-mode
kernels.  A kernel passes when the emulator exits with status 33 (the guest
wrote 0x10 to isa-debug-exit, see lib/guest.h) and the serial output says
"GUEST TEST PASSED" with no "FAIL" line.  A source may override this with
a line "guest-expect: exit=N" and add emulator options with
"guest-args: ..." (used by the triple-fault kernel).  A line
"guest-smp: 2 4" runs the kernel once per CPU count, with "-smp N".

  run-guest-tests.py --emulator build/qlite-system-x86_64 --out DIR [NAME...]

--qemu says the emulator is the real QEMU (a check that the tests
themselves are right): the kernel gets "qemu" on its command line, so that
it can skip, with a reason, a case where QEMU is known to be wrong.
--accel kvm runs the kernels under KVM; the run is skipped (exit 77)
without a usable /dev/kvm.  Under KVM the command line also has "kvm",
and "pvm" where the host's /dev/kvm is PVM (kvm_pvm, which runs a guest
kernel's ring-0 code in KVM's instruction emulator), so that a kernel can
skip, with the reason, a case that KVM or PVM itself does not do.
--repeat N runs each kernel N times in a row (a check for races in the SMP
kernels); --smp N picks the CPU counts a "guest-smp" kernel runs with, in
place of its own list.
"""
import argparse
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(HERE, 'lib')
CFLAGS = ['-ffreestanding', '-fno-pic', '-fno-pie', '-nostdlib', '-O2',
          '-fno-stack-protector', '-mgeneral-regs-only', '-Wall', '-Wextra',
          '-Werror', '-Wno-unused-parameter',
          '-fno-asynchronous-unwind-tables', '-fcf-protection=none',
          '-I', LIB]


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True)
    if r.returncode != 0:
        raise RuntimeError('%s failed:\n%s' % (' '.join(cmd), r.stdout))


def build(name, out):
    """Compile and link one kernel; returns the ELF32 path."""
    wide = name.endswith('64')
    m = '-m64' if wide else '-m32'
    extra = ['-mno-red-zone', '-mcmodel=small'] if wide else []
    objdir = os.path.join(out, name + '.d')
    os.makedirs(objdir, exist_ok=True)
    srcs = [os.path.join(HERE, name + '.c'), os.path.join(LIB, 'guest.c'),
            os.path.join(LIB, 'entry64.S' if wide else 'entry32.S'),
            os.path.join(LIB, 'trap64.S' if wide else 'trap32.S')]
    objs = []
    for src in srcs:
        obj = os.path.join(objdir, os.path.basename(src) + '.o')
        run(['gcc', m] + CFLAGS + extra + ['-c', src, '-o', obj])
        objs.append(obj)
    elf = os.path.join(out, name + '.elf')
    link = os.path.join(objdir, 'linked.elf')
    libgcc = subprocess.run(['gcc', m, '-print-libgcc-file-name'],
                            stdout=subprocess.PIPE, text=True).stdout.strip()
    run(['ld', '-m', 'elf_x86_64' if wide else 'elf_i386', '-n', '-static',
         '-z', 'noexecstack', '--no-warn-rwx-segments',
         '-T', os.path.join(LIB, 'link.ld'), '-o', link] + objs + [libgcc])
    if wide:
        run(['objcopy', '-O', 'elf32-i386', link, elf])
    else:
        os.replace(link, elf)
    return elf


def expectations(name):
    text = open(os.path.join(HERE, name + '.c')).read()
    m = re.search(r'guest-expect: exit=(\d+)', text)
    a = re.search(r'guest-args: (.*?)\s*(\*/)?$', text, re.M)
    return (int(m.group(1)) if m else 33), (a.group(1).split() if a else [])


def host_is_pvm():
    """Is /dev/kvm served by PVM (the kvm_pvm module)?"""
    return os.path.isdir('/sys/module/kvm_pvm')


def guest_words(opts):
    """The words the kernel finds on its command line (see above)."""
    words = ['qemu'] if opts.qemu else []
    if opts.accel == 'kvm':
        words.append('kvm')
        if host_is_pvm():
            words.append('pvm')
    return words


def variants(opts, name):
    """(label, extra emulator options) for each run of kernel @name."""
    text = open(os.path.join(HERE, name + '.c')).read()
    m = re.search(r'guest-smp: ([\d ]+?)\s*(\*/)?$', text, re.M)
    if not m:
        return [(name, [])]
    counts = opts.smp or [int(n) for n in m.group(1).split()]
    return [('%s -smp %d' % (name, n), ['-smp', str(n)]) for n in counts]


def run_kernel(opts, name, elf, extra):
    status, args = expectations(name)
    # An SMP kernel's vCPUs wait for each other: on a busy host each
    # needs its host CPU, so it gets the timeout once per vCPU.
    timeout = opts.timeout * (int(extra[1]) if extra[:1] == ['-smp'] else 1)
    cmd = [opts.emulator, '-accel', opts.accel, '-nographic', '-device',
           'isa-debug-exit', '-m', '128M', '-kernel', elf] + args + extra
    words = guest_words(opts)
    if words:
        cmd += ['-append', ' '.join(words)]
    start = time.monotonic()
    try:
        r = subprocess.run(cmd, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b'').decode(errors='replace')
        return False, 'timed out after %ds\n%s' % (timeout, out), timeout
    out = r.stdout.decode(errors='replace').replace('\r', '')
    took = time.monotonic() - start
    ok = r.returncode == status and 'FAIL' not in out
    if status == 33:
        ok = ok and 'GUEST TEST PASSED' in out
    else:
        ok = ok and 'GUEST EXPECTS EXIT' in out
    why = 'exit status %d (want %d), %.1fs' % (r.returncode, status, took)
    return ok, why + '\n' + out, took


def skip_reason(opts):
    """Why this run cannot happen here, or None."""
    if not shutil.which(opts.emulator):
        return '%s not found' % opts.emulator
    if opts.accel == 'kvm' and not os.access('/dev/kvm', os.R_OK | os.W_OK):
        return 'no usable /dev/kvm'
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--emulator', required=True)
    ap.add_argument('--out', required=True)
    ap.add_argument('--timeout', type=int, default=60)
    ap.add_argument('--qemu', action='store_true',
                    help='the emulator is the real QEMU')
    ap.add_argument('--accel', default='tcg', choices=['tcg', 'kvm'])
    ap.add_argument('--repeat', type=int, default=1,
                    help='run each kernel this many times in a row')
    ap.add_argument('--smp', type=int, action='append',
                    help='CPU count for "guest-smp" kernels (repeatable)')
    ap.add_argument('-v', '--verbose', action='store_true')
    ap.add_argument('names', nargs='*')
    opts = ap.parse_args()
    names = opts.names or sorted(
        f[:-2] for f in os.listdir(HERE) if f.endswith('.c'))
    why = skip_reason(opts)
    if why:
        print('SKIP: ' + why)
        return 77
    os.makedirs(opts.out, exist_ok=True)
    failed = []
    for name in names:
        try:
            elf = build(name, opts.out)
        except RuntimeError as e:
            print('FAIL %s: build: %s' % (name, e))
            failed.append(name)
            continue
        for label, extra in variants(opts, name):
            if not run_variant(opts, name, elf, label, extra):
                failed.append(label)
    print('%d kernels, %d failed%s' % (len(names), len(failed),
          (': ' + ' '.join(failed)) if failed else ''))
    return 1 if failed else 0


def run_variant(opts, name, elf, label, extra):
    """Run one kernel --repeat times; print each failure; True if none."""
    passes = 0
    first = None
    times = []
    for i in range(opts.repeat):
        ok, log, took = run_kernel(opts, name, elf, extra)
        first = first or log.splitlines()[0]
        times.append(took)
        if ok:
            passes += 1
        if not ok or opts.verbose:
            print('%s %s (run %d): %s' % ('PASS' if ok else 'FAIL', label,
                                          i + 1, log))
    summary = first if opts.repeat == 1 else (
        '%d/%d runs passed, %.1f-%.1fs each, %.1fs in all' % (
            passes, opts.repeat, min(times), max(times), sum(times)))
    ok = passes == opts.repeat
    print('%s %s: %s' % ('PASS' if ok else 'FAIL', label, summary))
    return ok


if __name__ == '__main__':
    sys.exit(main())
