#!/usr/bin/env python3
"""The qtest line protocol itself: reply formats as QEMU writes them, and
one clear FAIL line (never a crash or a hang) for bad requests.
"""
import os
import shutil
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import QtestMachine, is_real_qemu  # noqa: E402

QLITE_ONLY = unittest.skipIf(is_real_qemu(),
                             'QEMU 7.2 aborts on malformed requests and '
                             'lacks the qtest accelerator (clock_*)')


class ProtocolTest(unittest.TestCase):
    def setUp(self):
        self.m = QtestMachine().start()
        self.addCleanup(self.m.close)

    def test_port_reply_format(self):
        m = self.m
        self.assertEqual(m.cmd('inb 0x80'), 'OK 0x00ff')   # port 0x80
        self.assertEqual(m.cmd('inw 0x80'), 'OK 0xffff')
        self.assertEqual(m.cmd('inl 0x80'), 'OK 0xffffffff')
        self.assertEqual(m.cmd('outb 0x80 0x12'), 'OK')
        self.assertEqual(m.cmd('inb 0x80'), 'OK 0x00ff')   # not stored

    def test_memory_sized(self):
        m = self.m
        self.assertEqual(m.cmd('writeq 0x1000 0x1122334455667788'), 'OK')
        self.assertEqual(m.cmd('readq 0x1000'), 'OK 0x1122334455667788')
        self.assertEqual(m.cmd('readl 0x1000'), 'OK 0x0000000055667788')
        self.assertEqual(m.cmd('readw 0x1001'), 'OK 0x0000000000006677')
        self.assertEqual(m.cmd('readb 0x1007'), 'OK 0x0000000000000011')
        self.assertEqual(m.cmd('writeb 0x1000 0x1ff'), 'OK')  # truncated
        self.assertEqual(m.cmd('readb 0x1000'), 'OK 0x00000000000000ff')
        self.assertEqual(m.cmd('writew 0x1002 0xbeef'), 'OK')
        self.assertEqual(m.cmd('readl 0x1000'), 'OK 0x00000000beef77ff')

    def test_memory_buffers(self):
        m = self.m
        self.assertEqual(m.cmd('write 0x2000 4 0x01020304'), 'OK')
        self.assertEqual(m.cmd('read 0x2000 4'), 'OK 0x01020304')
        self.assertEqual(m.cmd('b64read 0x2000 4'), 'OK AQIDBA==')
        self.assertEqual(m.cmd('b64write 0x2000 4 AAECAw=='), 'OK')
        self.assertEqual(m.cmd('read 0x2000 4'), 'OK 0x00010203')
        self.assertEqual(m.cmd('memset 0x2001 2 0x55'), 'OK')
        self.assertEqual(m.cmd('read 0x2000 4'), 'OK 0x00555503')
        self.assertEqual(m.cmd('readl 0x2000'), 'OK 0x0000000003555500')

    def test_misc(self):
        self.assertEqual(self.m.cmd('endianness'), 'OK little')
        self.assertEqual(self.m.cmd('frobnicate 1 2'),
                         "FAIL Unknown command 'frobnicate'")
        self.assertEqual(self.m.cmd('irq_intercept_in /no/such/thing'),
                         'FAIL Unknown device')

    @QLITE_ONLY
    def test_bad_arguments(self):
        m = self.m
        bad = ['inb', 'inb zz', 'inb 0x10000', 'outb 0x80', 'outw 1 x',
               'readq', 'read 0', 'read 0 0x100000000000',
               'write 0 2 0x123', 'write 0 2 0xzz', 'write 0 1 0x0102',
               'b64write 0 4', 'memset 0 4', 'clock_step -5',
               'clock_set nope', 'set_irq_in i8259 unnamed 99 1',
               'set_irq_in i8259 nosuch 0 1', 'set_irq_in i8259 unnamed 1']
        for line in bad:
            reply = m.cmd(line)
            self.assertTrue(reply.startswith('FAIL '), (line, reply))
        # Still serving after all that.
        self.assertEqual(m.cmd('inb 0x80'), 'OK 0x00ff')

    @QLITE_ONLY
    def test_clock(self):
        m = self.m
        start = m.clock_step(0)
        self.assertEqual(m.clock_step(100), start + 100)
        self.assertEqual(m.ok('clock_set %d' % (start + 5000)),
                         str(start + 5000))
        # Time never goes back.
        self.assertEqual(m.ok('clock_set %d' % start), str(start + 5000))

    @QLITE_ONLY
    def test_intercept_only_one_device(self):
        m = self.m
        self.assertEqual(m.cmd('irq_intercept_out i8259'), 'OK')
        self.assertEqual(m.cmd('irq_intercept_out i8259'), 'OK')
        self.assertEqual(m.cmd('irq_intercept_in i8259'),
                         'FAIL IRQ intercept already enabled')

    @QLITE_ONLY
    def test_whitespace_and_crlf(self):
        self.assertEqual(self.m.cmd('  inb\t0x80  \r'), 'OK 0x00ff')


@unittest.skipIf(is_real_qemu(), 'QEMU 7.2 buffers its qtest log (lost when '
                 'the test kills it) and ignores a log it cannot open')
class LogTest(unittest.TestCase):
    """-qtest-log FILE: what the test sent and what came back."""

    def test_log(self):
        tmp = tempfile.mkdtemp(prefix='qlite-qtest-log-')
        self.addCleanup(shutil.rmtree, tmp, ignore_errors=True)
        log = os.path.join(tmp, 'qtest.log')
        m = QtestMachine(args=['-qtest-log', log]).start()
        self.addCleanup(m.close)
        self.assertEqual(m.cmd('inb 0x80'), 'OK 0x00ff')
        m.close()
        with open(log) as f:
            lines = f.read().splitlines()
        self.assertRegex(lines[0], r'^\[R \+[0-9.]+\] inb 0x80$')
        self.assertRegex(lines[1], r'^\[S \+[0-9.]+\] OK 0x00ff$')

    def test_log_unwritable(self):
        with self.assertRaises(Exception):
            QtestMachine(args=['-qtest-log', '/nonexistent/dir/log']).start()


if __name__ == '__main__':
    unittest.main(verbosity=2)
