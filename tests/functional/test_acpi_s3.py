#!/usr/bin/env python3
"""ACPI S3 (suspend to RAM) on the pc board, driven over qtest and QMP:
SLP_TYP 1 with SLP_EN in PM1_CNT suspends (run state "suspended", event
SUSPEND, CMOS shutdown status 0xfe for firmware); system_wakeup, the
power button and an RTC alarm the guest enabled (PM1_EN.RTC_EN) wake it
(event WAKEUP, PM1_STS.WAK_STS and the source's status bit, ACPI 6.4
4.8.3.1.1).  No firmware runs under qtest, so the test programs the PM
base again after the wake-up's reset, as firmware would.

S3GuestTest runs tests/guest/s3.c with "s3-qmp": the guest suspends,
QMP sees "suspended", and system_wakeup resumes it through its FACS
waking vector (qlite plays firmware; QEMU runs SeaBIOS): a check of the
events and of the resume path that also runs against the real QEMU
(QLITE_BINARY=qemu-system-x86_64).
"""
import importlib.util
import os
import shutil
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import is_real_qemu  # noqa: E402
from test_pc_platform import (PM1_STS, PM1_EN, PM1_CNT,  # noqa: E402
                              PWRBTN, cmos, enable_pm, start_with_qmp)
from test_qmp_client import Emulator  # noqa: E402

GUEST_DIR = os.path.join(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))), 'guest')

TMR, RTC, WAK = 1 << 0, 1 << 10, 1 << 15
TMR_FLIP_NS = (1 << 23) * 1e9 / 3579545  # bit 23 of the PM timer flips
SLP_S3 = (1 << 10) | (1 << 13)          # SLP_TYP 1 (\_S3), SLP_EN
NOT_SUSPENDED = 'Unable to wake up: guest is not in suspended state'


@unittest.skipIf(is_real_qemu(), 'Debian QEMU lacks qtest')
class S3Test(unittest.TestCase):
    def setUp(self):
        self.m, self.qmp = start_with_qmp(self, 'qlite-s3-')
        enable_pm(self.m)

    def cmos(self, reg, val=None):
        return cmos(self.m, reg, val)

    def status(self):
        return self.qmp.ok('query-status')

    def suspend(self):
        self.m.outw(PM1_STS, 0xffff)
        self.m.outw(PM1_CNT, SLP_S3)
        self.qmp.event('SUSPEND')
        self.assertEqual(self.status(),
                         {'running': False, 'singlestep': False,
                          'status': 'suspended'})

    def woke(self):
        """WAKEUP came, the machine runs; PM1_STS after the reset."""
        self.qmp.event('WAKEUP')
        self.assertEqual(self.status()['status'], 'running')
        enable_pm(self.m)
        return self.m.inw(PM1_STS)

    def test_wakeup_needs_suspended(self):
        r = self.qmp.cmd('system_wakeup')
        self.assertEqual(r['error']['class'], 'GenericError')
        self.assertEqual(r['error']['desc'], NOT_SUSPENDED)

    def test_system_wakeup(self):
        self.suspend()
        self.assertEqual(self.cmos(0x0f), 0xfe)     # S3 resume, for firmware
        self.assertEqual(self.qmp.ok('system_wakeup'), {})
        self.assertEqual(self.woke() & (WAK | RTC | PWRBTN), WAK)
        r = self.qmp.cmd('system_wakeup')
        self.assertEqual(r['error']['desc'], NOT_SUSPENDED)

    def test_other_sleep_types_do_nothing(self):
        self.m.outw(PM1_CNT, (5 << 10) | (1 << 13))
        self.m.outw(PM1_CNT, 1 << 10)               # S3 without SLP_EN
        self.assertEqual(self.status()['status'], 'running')

    def arm_alarm(self):
        """Binary mode, alarm on every second, AIE on."""
        self.cmos(0x0b, 0x02 | 0x04)
        for reg in (0x01, 0x03, 0x05):
            self.cmos(reg, 0xff)
        self.cmos(0x0c)
        self.cmos(0x0b, 0x02 | 0x04 | 0x20)

    def test_rtc_alarm_wakes_when_enabled(self):
        self.arm_alarm()
        self.m.outw(PM1_EN, RTC)
        self.suspend()
        self.m.clock_step(1_100_000_000)
        self.assertEqual(self.woke() & (WAK | RTC), WAK | RTC)
        self.assertEqual(self.cmos(0x0b) & 0x20, 0)  # AIE reset

    def test_rtc_alarm_without_rtc_en_does_not_wake(self):
        self.arm_alarm()
        self.suspend()
        self.m.clock_step(2_100_000_000)
        self.assertEqual(self.status()['status'], 'suspended')
        self.qmp.ok('system_wakeup')
        self.assertEqual(self.woke() & (WAK | RTC), WAK)

    def test_pm_timer_wakes_when_enabled(self):
        self.m.outw(PM1_EN, TMR)
        self.suspend()
        self.m.clock_step(int(TMR_FLIP_NS) + 1000)
        self.assertEqual(self.woke() & (WAK | TMR), WAK | TMR)

    def test_stop_and_cont_leave_it_suspended(self):
        self.suspend()
        self.qmp.ok('stop')
        self.qmp.ok('cont')
        self.assertEqual(self.status()['status'], 'suspended')
        self.qmp.ok('system_wakeup')
        self.assertEqual(self.woke() & WAK, WAK)

    def test_power_button_wakes(self):
        self.suspend()
        self.qmp.ok('system_powerdown')
        self.qmp.event('POWERDOWN')
        self.assertEqual(self.woke() & (WAK | PWRBTN), WAK | PWRBTN)

    def test_reset_leaves_suspended(self):
        self.suspend()
        self.qmp.ok('system_reset')
        self.qmp.event('RESET')
        self.assertEqual(self.status()['status'], 'running')

    def test_hmp_system_wakeup(self):
        args = {'command-line': 'system_wakeup'}
        out = self.qmp.ok('human-monitor-command', args)
        self.assertIn(NOT_SUSPENDED, out)
        self.suspend()
        self.assertEqual(self.qmp.ok('human-monitor-command', args), '')
        self.qmp.event('WAKEUP')


@unittest.skipIf(is_real_qemu(), 'Debian QEMU lacks qtest')
class S3DisabledTest(unittest.TestCase):
    """-global PIIX4_PM.disable_s3=1 (libvirt's <suspend-to-mem
    enabled='no'/>): no suspend; disable_s4=0 is refused (no S4)."""

    def test_disable_s3(self):
        m, qmp = start_with_qmp(self, 'qlite-nos3-',
                                ['-global', 'PIIX4_PM.disable_s3=1'])
        enable_pm(m)
        m.outw(PM1_CNT, SLP_S3)
        self.assertEqual(qmp.ok('query-status')['status'], 'running')
        self.assertEqual(qmp.ok('system_powerdown'), {})    # still alive

    def test_no_s4(self):
        with self.assertRaises(Exception):
            start_with_qmp(self, 'qlite-s4-',
                           ['-global', 'PIIX4_PM.disable_s4=0'])


def build_s3_kernel(out):
    """tests/guest/s3.c, built as run-guest-tests.py builds every kernel."""
    spec = importlib.util.spec_from_file_location(
        'run_guest_tests', os.path.join(GUEST_DIR, 'run-guest-tests.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.build('s3', out)


class S3GuestTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='qlite-s3-guest-')
        self.addCleanup(shutil.rmtree, self.dir, ignore_errors=True)
        self.serial = os.path.join(self.dir, 'serial.log')
        self.elf = build_s3_kernel(self.dir)

    def start(self, append):
        self.vm = Emulator(machine=(), extra=[
            '-accel', 'tcg', '-m', '128M', '-device', 'isa-debug-exit',
            '-serial', 'file:' + self.serial, '-kernel', self.elf,
            '-append', append, '-S'])
        self.addCleanup(self.vm.close)
        self.qmp = self.vm.connect()
        self.qmp.ok('cont')             # connected: no event is missed

    def output(self):
        with open(self.serial, errors='replace') as f:
            return f.read()

    def test_suspend_then_system_wakeup(self):
        self.start('s3-qmp')
        self.qmp.event('SUSPEND', timeout=30)
        self.assertIn('s3: suspending', self.output())
        st = self.qmp.ok('query-status')
        self.assertEqual((st['status'], st['running']), ('suspended', False))
        time.sleep(0.5)                 # no wake-up source is armed
        self.assertEqual(self.qmp.ok('query-status')['status'], 'suspended')
        self.assertEqual(self.qmp.ok('system_wakeup'), {})
        self.qmp.event('WAKEUP')
        self.assertEqual(self.vm.wait(30), 33, self.output())
        out = self.output()
        self.assertIn('GUEST TEST PASSED', out)
        self.assertNotIn('FAIL', out)

    @unittest.skipIf(is_real_qemu(), 'qlite plays firmware here')
    def test_unusable_waking_vector_boots_afresh(self):
        self.start('s3-qmp s3-badvec')
        self.qmp.event('SUSPEND', timeout=30)
        self.qmp.ok('system_wakeup')
        self.qmp.event('WAKEUP')
        self.assertEqual(self.vm.wait(30), 33, self.output())
        out = self.output()
        self.assertIn('s3: booted afresh after the wake-up', out)
        self.assertIn('GUEST TEST PASSED', out)


if __name__ == '__main__':
    unittest.main()
