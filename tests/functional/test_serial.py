#!/usr/bin/env python3
"""The 16550A UART at COM1 (0x3f8, ISA IRQ 4), driven over qtest.

Each test starts a machine whose COM1 is a socket: what the UART transmits
arrives on the socket, what the test sends on it reaches the receiver.  The
PIC's inputs are intercepted, so ISA IRQ 4 shows up as "IRQ raise 4" and
"IRQ lower 4".  With QLITE_BINARY set to a real qemu-system-x86_64 the
tests that share QEMU's semantics run against it (the reference).
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import QtestMachine, is_real_qemu  # noqa: E402

BASE = 0x3f8
RBR = THR = DLL = BASE + 0
IER = DLM = BASE + 1
IIR = FCR = BASE + 2
LCR = BASE + 3
MCR = BASE + 4
LSR = BASE + 5
MSR = BASE + 6
SCR = BASE + 7

LSR_DR = 0x01
LSR_OE = 0x02
# 8N1 at divisor 1 (115200 baud): 10 bits per character.
CHAR_NS = 10 * 1000000000 // 115200

QLITE_ONLY = unittest.skipIf(is_real_qemu(),
                             'qlite semantics (virtual clock steps or '
                             'datasheet modem deltas) that QEMU lacks')


def pic_path():
    # QEMU's tests intercept the IOAPIC; qlite's pc names its PIC i8259.
    return 'ioapic' if is_real_qemu() else 'i8259'


class SerialTest(unittest.TestCase):
    def setUp(self):
        self.m = QtestMachine(serial=True).start()
        self.addCleanup(self.m.close)
        self.m.ok('irq_intercept_in ' + pic_path())

    def program(self, fcr=0x07, ier=0x00):
        """115200 8N1, FIFO control @fcr, interrupts @ier."""
        m = self.m
        m.outb(LCR, 0x80)
        m.outb(DLL, 0x01)
        m.outb(DLM, 0x00)
        m.outb(LCR, 0x03)
        m.outb(FCR, fcr)
        m.outb(IER, ier)

    def read_rx(self, count):
        """Read @count bytes from RBR as they arrive."""
        m = self.m
        data = b''
        deadline = time.monotonic() + 10
        while len(data) < count and time.monotonic() < deadline:
            if m.inb(LSR) & LSR_DR:
                data += bytes([m.inb(RBR)])
            else:
                time.sleep(0.01)
        return data

    def test_reset_values(self):
        m = self.m
        expect = {IER: 0x00, IIR: 0x01, LCR: 0x00, MCR: 0x08, LSR: 0x60,
                  MSR: 0xb0, SCR: 0x00}
        for port, val in expect.items():
            self.assertEqual(m.inb(port), val, 'port 0x%x' % port)
        m.outb(LCR, 0x80)
        self.assertEqual(m.inb(DLL), 0x0c)   # 9600 baud
        self.assertEqual(m.inb(DLM), 0x00)
        self.assertEqual(m.take_irqs(), [])

    def test_divisor_latch(self):
        m = self.m
        m.outb(IER, 0x00)
        m.outb(LCR, 0x83)
        m.outb(DLL, 0x34)
        m.outb(DLM, 0x12)
        self.assertEqual((m.inb(DLM), m.inb(DLL)), (0x12, 0x34))
        m.outb(LCR, 0x03)
        self.assertEqual(m.inb(IER), 0x00)   # DLM did not touch IER
        self.assertEqual(m.inb(LCR), 0x03)

    def test_transmit_and_thre_irq(self):
        m = self.m
        self.program(fcr=0x07)
        self.assertEqual(m.inb(IIR), 0xc1)   # FIFOs on, nothing enabled
        self.assertEqual(m.take_irqs(), [])
        # Enabling ETBEI with THR empty interrupts at once.
        m.outb(IER, 0x02)
        self.assertEqual(m.take_irqs(), ['raise 4'])
        # Reading IIR that names THRE acknowledges it.
        self.assertEqual(m.inb(IIR), 0xc2)
        self.assertEqual(m.take_irqs(), ['lower 4'])
        self.assertEqual(m.inb(IIR), 0xc1)
        # A byte goes out, THR is empty again: THRE interrupts again.
        m.outb(THR, ord('A'))
        self.assertEqual(m.serial_recv(1), b'A')
        self.assertEqual(m.take_irqs(), ['raise 4'])
        self.assertEqual(m.inb(LSR), 0x60)
        # LSR reads leave it pending; IIR acknowledges it.
        self.assertEqual(m.take_irqs(), [])
        self.assertEqual(m.inb(IIR), 0xc2)
        self.assertEqual(m.take_irqs(), ['lower 4'])
        # Masking the source drops the line.
        m.outb(THR, ord('B'))
        self.assertEqual(m.take_irqs(), ['raise 4'])
        m.outb(IER, 0x00)
        self.assertEqual(m.take_irqs(), ['lower 4'])
        for ch in b'hello, world':
            m.outb(THR, ch)
        self.assertEqual(m.serial_recv(13), b'Bhello, world')
        self.assertEqual(m.take_irqs(), [])

    def test_fifo_reset_raises_thre(self):
        m = self.m
        self.program(fcr=0x00, ier=0x02)
        self.assertEqual(m.take_irqs(), ['raise 4'])
        self.assertEqual(m.inb(IIR), 0x02)   # no FIFO bits
        self.assertEqual(m.take_irqs(), ['lower 4'])
        m.outb(FCR, 0x07)                    # clearing TX empties THR
        self.assertEqual(m.take_irqs(), ['raise 4'])
        self.assertEqual(m.inb(IIR), 0xc2)
        self.assertEqual(m.take_irqs(), ['lower 4'])

    def test_receive(self):
        m = self.m
        self.program(fcr=0x07, ier=0x01)     # trigger level 1
        self.assertEqual(m.take_irqs(), [])
        m.serial_send(b'xyz')
        self.assertTrue(m.poll_until(lambda: m.inb(LSR) & LSR_DR))
        self.assertEqual(m.irq_level(4), 1)
        self.assertEqual(m.inb(IIR), 0xc4)   # received data available
        self.assertEqual(self.read_rx(3), b'xyz')
        self.assertEqual(m.irq_level(4), 0)
        self.assertEqual(m.inb(LSR) & (LSR_DR | LSR_OE), 0)
        self.assertEqual(m.inb(IIR), 0xc1)

    def test_receive_flow_control(self):
        """More bytes than the FIFO holds: none lost, no overrun."""
        m = self.m
        self.program(fcr=0xc7, ier=0x01)     # trigger level 14
        data = bytes(range(0x41, 0x41 + 40))
        m.serial_send(data)
        self.assertTrue(m.poll_until(
            lambda: m.inb(LSR) and m.irq_level(4)))
        self.assertEqual(m.inb(IIR), 0xc4)
        time.sleep(0.2)                      # let the rest press on
        self.assertEqual(m.inb(LSR) & LSR_OE, 0)
        got = self.read_rx(len(data))
        self.assertEqual(got, data)
        self.assertEqual(m.inb(LSR) & LSR_OE, 0)

    @QLITE_ONLY
    def test_character_timeout(self):
        m = self.m
        self.program(fcr=0x47, ier=0x01)     # trigger level 4
        m.serial_send(b'ab')
        self.assertTrue(m.poll_until(lambda: m.inb(LSR) & LSR_DR))
        time.sleep(0.1)                      # both bytes in the FIFO
        self.assertEqual(m.take_irqs(), [])  # below the trigger level
        m.clock_step(4 * CHAR_NS - 1000)
        self.assertEqual(m.take_irqs(), [])
        m.clock_step(2000)
        self.assertEqual(m.take_irqs(), ['raise 4'])
        self.assertEqual(m.inb(IIR), 0xcc)   # character timeout
        self.assertEqual(m.inb(RBR), ord('a'))
        self.assertEqual(m.take_irqs(), ['lower 4'])
        m.clock_step(4 * CHAR_NS + 1000)     # 'b' still waits
        self.assertEqual(m.take_irqs(), ['raise 4'])
        self.assertEqual(m.inb(RBR), ord('b'))
        self.assertEqual(m.take_irqs(), ['lower 4'])
        m.clock_step(10 * CHAR_NS)
        self.assertEqual(m.take_irqs(), [])
        self.assertEqual(m.inb(IIR), 0xc1)

    def test_loopback(self):
        m = self.m
        self.program(fcr=0x00, ier=0x01)
        m.outb(MCR, 0x1f)                    # loop, all outputs on
        self.assertEqual(m.inb(MSR) & 0xf0, 0xf0)
        m.outb(THR, 0x55)
        self.assertEqual(m.take_irqs(), ['raise 4'])
        self.assertEqual(m.inb(LSR), 0x61)
        self.assertEqual(m.inb(IIR), 0x04)
        self.assertEqual(m.inb(RBR), 0x55)
        self.assertEqual(m.take_irqs(), ['lower 4'])
        self.assertEqual(m.inb(LSR), 0x60)
        # Linux's probe: loop with RTS and OUT2 reads CTS and DCD back.
        m.outb(MCR, 0x1a)
        self.assertEqual(m.inb(MSR) & 0xf0, 0x90)
        m.outb(MCR, 0x08)
        self.assertEqual(m.inb(MSR) & 0xf0, 0xb0)
        self.assertEqual(m.serial_quiet(), b'')   # nothing left the UART

    def test_line_status_overrun(self):
        m = self.m
        self.program(fcr=0x00, ier=0x04)     # no FIFO; line status irq
        m.outb(MCR, 0x18)
        m.outb(THR, ord('a'))
        self.assertEqual(m.take_irqs(), [])
        m.outb(THR, ord('b'))                # 'a' never read: overrun
        self.assertEqual(m.take_irqs(), ['raise 4'])
        self.assertEqual(m.inb(IIR), 0x06)
        self.assertEqual(m.inb(LSR), 0x63)   # reading LSR clears OE
        self.assertEqual(m.take_irqs(), ['lower 4'])
        self.assertEqual(m.inb(LSR), 0x61)
        self.assertEqual(m.inb(RBR), ord('b'))

    def test_interrupt_priority(self):
        """Line status beats received data, which beats THRE."""
        m = self.m
        self.program(fcr=0x00, ier=0x07)
        m.outb(MCR, 0x18)
        m.outb(THR, 1)
        self.assertEqual(m.inb(IIR), 0x04)
        m.outb(THR, 2)
        self.assertEqual(m.inb(IIR), 0x06)
        m.inb(LSR)
        self.assertEqual(m.inb(IIR), 0x04)
        self.assertEqual(m.irq_level(4), 1)
        m.inb(RBR)
        self.assertEqual(m.inb(IIR), 0x02)
        self.assertEqual(m.irq_level(4), 0)
        self.assertEqual(m.inb(IIR), 0x01)

    @QLITE_ONLY
    def test_modem_status_irq(self):
        """In loopback the MCR outputs drive MSR, with deltas latched."""
        m = self.m
        self.program(fcr=0x00, ier=0x08)
        m.outb(MCR, 0x10)                    # DCD, DSR, CTS all drop
        self.assertEqual(m.take_irqs(), ['raise 4'])
        self.assertEqual(m.inb(IIR), 0x00)
        self.assertEqual(m.inb(MSR), 0x0b)   # DDCD, DDSR, DCTS
        self.assertEqual(m.take_irqs(), ['lower 4'])
        self.assertEqual(m.inb(MSR), 0x00)
        m.outb(MCR, 0x16)                    # RTS -> CTS, OUT1 -> RI
        self.assertEqual(m.take_irqs(), ['raise 4'])
        self.assertEqual(m.inb(MSR), 0x51)   # RI rising is no delta
        self.assertEqual(m.take_irqs(), ['lower 4'])
        m.outb(MCR, 0x12)                    # RI falls: TERI
        self.assertEqual(m.take_irqs(), ['raise 4'])
        self.assertEqual(m.inb(MSR), 0x14)
        self.assertEqual(m.take_irqs(), ['lower 4'])

    def test_scratch(self):
        m = self.m
        for val in (0xa5, 0x5a, 0x00, 0xff):
            m.outb(SCR, val)
            self.assertEqual(m.inb(SCR), val)


if __name__ == '__main__':
    unittest.main(verbosity=2)
