#!/usr/bin/env python3
"""Run control with several vCPUs on the CPU emulator: QMP stop, cont,
query-status, system_reset, system_powerdown, quit and SIGTERM each answer
promptly with -smp 1, 2 and 4, whether the vCPUs are halted or busy.

The regression: with every vCPU halted (no kernel, or an idle guest), the
one tcg thread woke for a pause, reported only vCPU 0 stopped and slept
again, so pause_all_vcpus() waited forever and stop, quit and SIGTERM hung
the main loop.

Three guests, each checked to be in its state before the commands:
  halted    no kernel: the built-in ROM halts vCPU 0; the others wait for
            a SIPI (also halted)
  busy-bsp  a kernel that spins (jmp $) on vCPU 0; the others wait for a
            SIPI
  busy-all  a kernel that starts every other vCPU (INIT, SIPI) on a
            "jmp $" at 0x8000, then spins too
Each bound below is a deadline on a condition, not a sleep.  The same
tests run on KVM where /dev/kvm is usable (QLITE_KVM_DEVICE overrides the
path) and skip, saying why, where it is not.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_kvm import make_kernel  # noqa: E402
from test_qmp_client import Emulator, QMPError  # noqa: E402

BOUND = 10.0        # seconds any command or exit may take, however loaded
LOOPS = 100         # rounds of the run-control loop
LOOP_BOUND = 1.0    # seconds a reply in that loop may take (issue 13)
SPIN = b'\xeb\xfe'  # jmp $


def mov_abs32(addr, value):
    """mov dword [addr], value (32-bit flat mode)."""
    return (b'\xc7\x05' + addr.to_bytes(4, 'little') +
            value.to_bytes(4, 'little'))


# 32-bit flat mode: "jmp $" at 0x8000, enable the local APIC, INIT and
# then SIPI (vector 8: CS 0x0800, IP 0) to all but self, and spin.
START_APS = (mov_abs32(0x8000, 0xfeeb) +
             mov_abs32(0xfee000f0, 0x1ff) +         # SVR: APIC enabled
             mov_abs32(0xfee00300, 0x000c4500) +    # INIT, assert
             mov_abs32(0xfee00300, 0x000c4608) +    # SIPI, vector 8
             SPIN)

GUESTS = {'halted': None, 'busy-bsp': SPIN, 'busy-all': START_APS}


def kvm_unusable():
    """Why KVM cannot run here, or None."""
    path = os.environ.get('QLITE_KVM_DEVICE') or '/dev/kvm'
    try:
        os.close(os.open(path, os.O_RDWR))
    except OSError as e:
        return '%s: %s' % (path, e.strerror)
    return None


def cpu_states(client):
    """Per vCPU from "info registers -a": CS, IP and, where the dump
    has it (tcg; KVM halts in the kernel), whether it is halted."""
    text = client.ok('human-monitor-command',
                     {'command-line': 'info registers -a'})
    cs = [int(c, 16) for c in re.findall(r'^CS =([0-9a-f]{4})', text,
                                         re.M)]
    ip = [int(i, 16) for i in re.findall(r'[ER]IP=([0-9a-f]+)', text)]
    halted = [h == '1' for h in re.findall(r'HLT=(\d)', text)]
    halted = halted or [None] * len(cs)
    return [{'cs': c, 'ip': i, 'halted': h}
            for c, i, h in zip(cs, ip, halted)]


BOOT_CS = 0x10                  # the Linux loader's flat code segment
ROM_HLT = (0xe010, 0xe011)      # the built-in ROM's "hlt; jmp hlt"


def in_state(guest, cpus):
    bsp, aps = cpus[0], cpus[1:]
    if guest == 'halted':
        there = bsp['cs'] == 0xf000 and bsp['ip'] in ROM_HLT
        halted = [True] * len(cpus)
    elif guest == 'busy-bsp':
        there = bsp['cs'] == BOOT_CS
        halted = [False] + [True] * len(aps)
    else:
        there = bsp['cs'] == BOOT_CS and all(ap['cs'] == 0x0800
                                             for ap in aps)
        halted = [False] * len(cpus)
    return there and all(c['halted'] in (None, h)
                         for c, h in zip(cpus, halted))


class SmpRunstateTest(unittest.TestCase):
    accel = 'tcg'

    def setUp(self):
        if self.accel == 'kvm' and kvm_unusable():
            print('SKIP: KVM is not usable here (%s)' % kvm_unusable())
            self.skipTest('KVM is not usable here (%s)' % kvm_unusable())
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)

    def start(self, guest, smp):
        extra = ['-accel', self.accel, '-smp', str(smp), '-m', '128M',
                 '-nodefaults']
        if GUESTS[guest] is not None:
            path = os.path.join(self.tmp.name, guest + '.bzImage')
            make_kernel(path, GUESTS[guest], kernel_64=False)
            extra += ['-kernel', path]
        vm = Emulator(machine=('-machine', 'pc'), extra=extra)
        self.addCleanup(vm.close)
        client = vm.connect()
        self.wait_guest(client, guest, smp)
        return vm, client

    def wait_guest(self, client, guest, smp):
        """Wait until the vCPUs are in the state @guest stands for."""
        deadline = time.monotonic() + BOUND
        while True:
            states = cpu_states(client)
            self.assertEqual(len(states), smp, states)
            if in_state(guest, states):
                return
            if time.monotonic() > deadline:
                self.fail('%s with -smp %d: vCPUs never got there: %r' %
                          (guest, smp, states))
            time.sleep(0.05)

    def timed(self, client, name, args=None):
        """Run a command; it must answer, and within BOUND."""
        t = time.monotonic()
        client.send({'execute': name, 'arguments': args or {}})
        try:
            reply = client.recv(timeout=BOUND)
        except QMPError as e:
            self.fail('%s: no reply within %.0fs (%s)' % (name, BOUND, e))
        self.assertIn('return', reply, '%s: %r' % (name, reply))
        self.assertLess(time.monotonic() - t, BOUND)
        return reply['return']

    def expect_event(self, client, name):
        try:
            return client.event(name, BOUND)
        except QMPError as e:
            self.fail('no %s event within %.0fs (%s)' % (name, BOUND, e))

    def assertStatus(self, client, status):
        self.assertEqual(self.timed(client, 'query-status')['status'],
                         status)

    def assertExits(self, vm, what):
        try:
            return vm.wait(BOUND)
        except subprocess.TimeoutExpired:
            self.fail('%s: still running after %.0fs' % (what, BOUND))

    def control(self, client, guest, smp):
        """stop/cont twice (the second stop right after a cont, before
        the vCPU thread has run again), system_reset and system_powerdown
        while running, system_reset while paused."""
        for _ in range(2):
            self.assertStatus(client, 'running')
            self.timed(client, 'stop')
            self.expect_event(client, 'STOP')
            self.assertStatus(client, 'paused')
            self.timed(client, 'cont')
            self.expect_event(client, 'RESUME')
        self.timed(client, 'system_reset')
        self.expect_event(client, 'RESET')
        self.wait_guest(client, guest, smp)
        self.timed(client, 'system_powerdown')
        self.expect_event(client, 'POWERDOWN')
        self.timed(client, 'stop')
        self.timed(client, 'system_reset')
        self.expect_event(client, 'RESET')
        self.assertStatus(client, 'paused')
        self.timed(client, 'cont')
        self.wait_guest(client, guest, smp)
        self.assertStatus(client, 'running')

    def check_loop(self, guest, smp):
        """Issue 13's loop: stop, cont and query-status 100 times, each
        reply (and its event) within a second; every 10th round a
        system_reset too."""
        vm, client = self.start(guest, smp)
        worst = 0.0
        for i in range(LOOPS):
            for name, event in (('stop', 'STOP'), ('cont', 'RESUME'),
                                ('query-status', None)) + (
                    (('system_reset', 'RESET'),) if i % 10 == 9 else ()):
                t = time.monotonic()
                self.timed(client, name)
                if event:
                    self.expect_event(client, event)
                worst = max(worst, time.monotonic() - t)
        print('%s -smp %d: %d rounds, slowest reply %.3f s' %
              (guest, smp, LOOPS, worst))
        self.assertLess(worst, LOOP_BOUND)
        self.timed(client, 'quit')
        self.assertEqual(self.assertExits(vm, 'quit'), 0, vm.log())

    def check_quit(self, guest, smp):
        vm, client = self.start(guest, smp)
        self.control(client, guest, smp)
        self.timed(client, 'quit')
        self.assertEqual(self.assertExits(vm, 'quit'), 0, vm.log())

    def check_sigterm(self, guest, smp):
        vm, client = self.start(guest, smp)
        vm.proc.send_signal(signal.SIGTERM)
        ev = self.expect_event(client, 'SHUTDOWN')
        self.assertEqual(ev['data']['reason'], 'host-signal', ev)
        self.assertEqual(self.assertExits(vm, 'SIGTERM'), 0, vm.log())

    def check_sigterm_paused(self, guest, smp):
        vm, client = self.start(guest, smp)
        self.timed(client, 'stop')
        vm.proc.send_signal(signal.SIGTERM)
        self.assertEqual(self.assertExits(vm, 'SIGTERM (paused)'), 0,
                         vm.log())


class KVMSmpRunstateTest(SmpRunstateTest):
    accel = 'kvm'


def _add_tests(cls):
    for guest in GUESTS:
        for smp in (1, 2, 4):
            for check in ('quit', 'sigterm', 'sigterm_paused', 'loop'):
                def test(self, guest=guest, smp=smp, check=check):
                    getattr(self, 'check_' + check)(guest, smp)
                name = 'test_%s_smp%d_%s' % (guest.replace('-', '_'), smp,
                                             check)
                setattr(cls, name, test)


_add_tests(SmpRunstateTest)

if __name__ == '__main__':
    unittest.main(verbosity=2)
