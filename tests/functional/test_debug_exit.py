#!/usr/bin/env python3
"""isa-debug-exit: a write of V ends the emulator with status (V << 1) | 1.
"""
import os
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import QtestMachine, binary  # noqa: E402


class DebugExitTest(unittest.TestCase):
    def exit_status(self, args, request):
        m = QtestMachine(args=args).start()
        self.addCleanup(m.close)
        m.send_only(request)
        return m.wait_exit()

    def test_default_port(self):
        for val in (0x00, 0x01, 0x10, 0x7f):
            with self.subTest(val=val):
                status = self.exit_status(['-device', 'isa-debug-exit'],
                                          'outb 0x501 0x%x' % val)
                self.assertEqual(status, (val << 1) | 1)

    def test_wide_write_counts_whole_value(self):
        # The OS keeps the low 8 bits of the status.
        status = self.exit_status(['-device', 'isa-debug-exit'],
                                  'outl 0x501 0x12345678')
        self.assertEqual(status, ((0x12345678 << 1) | 1) & 0xff)

    def test_second_port_of_range(self):
        status = self.exit_status(['-device', 'isa-debug-exit'],
                                  'outb 0x502 0x03')
        self.assertEqual(status, 7)

    def test_iobase_and_iosize(self):
        args = ['-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04']
        status = self.exit_status(args, 'outb 0xf7 0x21')
        self.assertEqual(status, 0x43)

    def test_reads_zero_and_keeps_running(self):
        m = QtestMachine(args=['-device', 'isa-debug-exit']).start()
        self.addCleanup(m.close)
        self.assertEqual(m.inb(0x501), 0)
        self.assertEqual(m.inb(0x503), 0xff)   # outside the device
        self.assertIsNone(m.proc.poll())

    def test_help_lists_properties(self):
        out = subprocess.run([binary(), '-device', 'isa-debug-exit,help'],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        self.assertIn('iobase=<uint32>', out.stdout)
        self.assertIn('iosize=<uint32>', out.stdout)
        self.assertIn('1281', out.stdout)       # 0x501


if __name__ == '__main__':
    unittest.main(verbosity=2)
