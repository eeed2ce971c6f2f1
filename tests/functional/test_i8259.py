#!/usr/bin/env python3
"""The cascaded 8259A PICs, driven over qtest.

qtest has no CPU, so there is no interrupt acknowledge cycle: the tests
acknowledge with the OCW3 poll command instead, which marks the line in
service exactly as INTA does.  The PIC's INT output to the CPU is
intercepted ("IRQ raise 0" / "IRQ lower 0"); requests come in through
set_irq_in on the PIC's inputs.  QEMU 7.2's set_irq_in cannot name an
anonymous GPIO list, so these tests cannot run against the real QEMU; the
poll, ISR, edge and ELCR behaviour they expect was checked against it
through COM1's loopback interrupt instead.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from qtest import QtestMachine, is_real_qemu  # noqa: E402

M_CMD, M_DATA = 0x20, 0x21
S_CMD, S_DATA = 0xa0, 0xa1
ELCR_M, ELCR_S = 0x4d0, 0x4d1

OCW3_READ_IRR = 0x0a
OCW3_READ_ISR = 0x0b
OCW3_POLL = 0x0c
EOI = 0x20


PIC = 'i8259'


@unittest.skipIf(is_real_qemu(), "QEMU 7.2's set_irq_in needs a named "
                 "GPIO list; its PICs have only anonymous ones")
class I8259Test(unittest.TestCase):
    def setUp(self):
        self.m = QtestMachine().start()
        self.addCleanup(self.m.close)
        self.m.ok('irq_intercept_out ' + PIC)

    def line(self, irq, level):
        """Drive ISA IRQ @irq to @level."""
        self.m.set_irq_in(PIC, irq, level)

    def init(self, icw4=0x01):
        """The PC BIOS programming: vectors 0x08 and 0x70, cascade on 2."""
        m = self.m
        for cmd, data, base, icw3 in ((M_CMD, M_DATA, 0x08, 0x04),
                                      (S_CMD, S_DATA, 0x70, 0x02)):
            m.outb(cmd, 0x11)
            m.outb(data, base)
            m.outb(data, icw3)
            m.outb(data, icw4)

    def reg(self, cmd, ocw3):
        self.m.outb(cmd, ocw3)
        return self.m.inb(cmd)

    def poll(self, cmd=M_CMD):
        return self.reg(cmd, OCW3_POLL)

    def int_level(self):
        return self.m.irq_level(0)

    def test_reset_state(self):
        m = self.m
        for port in (M_CMD, M_DATA, S_CMD, S_DATA, ELCR_M, ELCR_S):
            self.assertEqual(m.inb(port), 0, 'port 0x%x' % port)
        self.assertEqual(self.poll(), 0)

    def test_mask_register(self):
        self.init()
        for val in (0xfb, 0x00, 0xa5):
            self.m.outb(M_DATA, val)
            self.assertEqual(self.m.inb(M_DATA), val)
            self.m.outb(S_DATA, val ^ 0xff)
            self.assertEqual(self.m.inb(S_DATA), val ^ 0xff)

    def test_request_poll_eoi(self):
        m = self.m
        self.init()
        m.outb(M_DATA, 0xef)                 # only IRQ 4
        self.line(4, 1)
        self.assertEqual(m.take_irqs(), ['raise 0'])
        self.assertEqual(self.reg(M_CMD, OCW3_READ_IRR), 0x10)
        self.assertEqual(self.poll(), 0x84)
        self.assertEqual(m.take_irqs(), ['lower 0'])
        # Poll marked it in service and consumed the edge.
        self.assertEqual(self.reg(M_CMD, OCW3_READ_IRR), 0x00)
        self.assertEqual(self.reg(M_CMD, OCW3_READ_ISR), 0x10)
        m.outb(M_CMD, EOI)
        self.assertEqual(m.inb(M_CMD), 0x00)  # still reads ISR
        # The line stayed high: edge triggered, no new request.
        self.assertEqual(self.int_level(), 0)
        self.assertEqual(self.poll(), 0)
        self.line(4, 0)
        self.line(4, 1)
        self.assertEqual(m.take_irqs(), ['raise 0'])

    def test_in_service_blocks_same_line(self):
        m = self.m
        self.init()
        m.outb(M_DATA, 0x00)
        self.line(4, 1)
        self.assertEqual(self.poll(), 0x84)
        self.line(4, 0)
        self.line(4, 1)                      # a new edge while in service
        self.assertEqual(self.reg(M_CMD, OCW3_READ_IRR), 0x10)
        self.assertEqual(self.int_level(), 0)
        self.assertEqual(self.poll(), 0)
        m.outb(M_CMD, EOI)
        self.assertEqual(self.int_level(), 1)
        self.assertEqual(self.poll(), 0x84)

    def test_masking(self):
        m = self.m
        self.init()
        m.outb(M_DATA, 0xff)
        self.line(3, 1)
        self.assertEqual(self.int_level(), 0)
        self.assertEqual(self.reg(M_CMD, OCW3_READ_IRR), 0x08)
        self.assertEqual(self.poll(), 0)     # masked lines never win
        m.outb(M_DATA, 0xf7)                 # unmask: the latch fires
        self.assertEqual(self.int_level(), 1)
        self.assertEqual(self.poll(), 0x83)

    def test_fixed_priority_and_nesting(self):
        m = self.m
        self.init()
        m.outb(M_DATA, 0x00)
        self.line(5, 1)
        self.assertEqual(self.poll(), 0x85)
        self.line(6, 1)                      # lower than 5: waits
        self.assertEqual(self.int_level(), 0)
        self.assertEqual(self.poll(), 0)
        self.line(3, 1)                      # higher than 5: nests
        self.assertEqual(self.int_level(), 1)
        self.assertEqual(self.poll(), 0x83)
        self.assertEqual(self.reg(M_CMD, OCW3_READ_ISR), 0x28)
        m.outb(M_CMD, EOI)                   # non-specific: the highest
        self.assertEqual(m.inb(M_CMD), 0x20)
        m.outb(M_CMD, 0x65)                  # specific EOI for 5
        self.assertEqual(m.inb(M_CMD), 0x00)
        self.assertEqual(self.int_level(), 1)
        self.assertEqual(self.poll(), 0x86)

    def test_rotation(self):
        m = self.m
        self.init()
        m.outb(M_DATA, 0x00)
        m.outb(M_CMD, 0xc4)                  # set priority: 4 lowest
        self.line(3, 1)
        self.line(5, 1)
        self.assertEqual(self.poll(), 0x85)  # 5 is now the highest
        m.outb(M_CMD, 0xa0)                  # rotate on EOI: 5 lowest
        self.assertEqual(self.poll(), 0x83)
        m.outb(M_CMD, 0xe3)                  # rotate on specific EOI 3
        self.assertEqual(self.reg(M_CMD, OCW3_READ_ISR), 0x00)
        self.line(7, 1)
        self.line(4, 1)
        self.assertEqual(self.poll(), 0x84)  # 4 follows 3, before 7

    def test_auto_eoi(self):
        m = self.m
        self.init(icw4=0x03)
        m.outb(M_DATA, 0x00)
        self.line(6, 1)
        self.assertEqual(self.poll(), 0x86)
        self.assertEqual(self.reg(M_CMD, OCW3_READ_ISR), 0x00)
        self.line(1, 1)
        self.assertEqual(self.poll(), 0x81)

    def test_level_triggered_via_elcr(self):
        m = self.m
        self.init()
        m.outb(M_DATA, 0x00)
        m.outb(ELCR_M, 0x20)                 # IRQ 5 level triggered
        self.assertEqual(m.inb(ELCR_M), 0x20)
        self.line(5, 1)
        self.assertEqual(self.poll(), 0x85)
        m.outb(M_CMD, EOI)
        # Still asserted: requests again right after the EOI.
        self.assertEqual(self.int_level(), 1)
        self.assertEqual(self.poll(), 0x85)
        self.line(5, 0)
        m.outb(M_CMD, EOI)
        self.assertEqual(self.int_level(), 0)
        self.assertEqual(self.reg(M_CMD, OCW3_READ_IRR), 0x00)

    def test_elcr_masks(self):
        m = self.m
        m.outb(ELCR_M, 0xff)
        m.outb(ELCR_S, 0xff)
        # IRQ 0, 1, 2, 8 and 13 can only be edge triggered.
        self.assertEqual(m.inb(ELCR_M), 0xf8)
        self.assertEqual(m.inb(ELCR_S), 0xde)

    def test_cascade(self):
        m = self.m
        self.init()
        m.outb(M_DATA, 0xfb)                 # master: only the cascade
        m.outb(S_DATA, 0xef)                 # slave: only IRQ 12
        self.line(12, 1)
        self.assertEqual(m.take_irqs(), ['raise 0'])
        self.assertEqual(self.reg(S_CMD, OCW3_READ_IRR), 0x10)
        self.assertEqual(self.poll(M_CMD), 0x82)
        self.assertEqual(self.poll(S_CMD), 0x84)
        self.assertEqual(self.reg(S_CMD, OCW3_READ_ISR), 0x10)
        self.assertEqual(self.reg(M_CMD, OCW3_READ_ISR), 0x04)
        self.assertEqual(self.int_level(), 0)
        m.outb(S_CMD, EOI)
        m.outb(M_CMD, EOI)
        self.assertEqual(self.reg(S_CMD, OCW3_READ_ISR), 0x00)
        self.assertEqual(self.reg(M_CMD, OCW3_READ_ISR), 0x00)

    def test_slave_masked(self):
        m = self.m
        self.init()
        m.outb(M_DATA, 0xfb)
        m.outb(S_DATA, 0xff)
        self.line(10, 1)
        self.assertEqual(self.int_level(), 0)
        m.outb(S_DATA, 0xfb)
        self.assertEqual(self.int_level(), 1)

    def test_special_mask_mode(self):
        m = self.m
        self.init()
        m.outb(M_DATA, 0x00)
        self.line(3, 1)
        self.assertEqual(self.poll(), 0x83)
        self.line(5, 1)
        self.assertEqual(self.poll(), 0)     # 3 in service blocks 5
        m.outb(M_DATA, 0x08)                 # mask 3 ...
        m.outb(M_CMD, 0x68)                  # ... and enter special mask
        self.assertEqual(self.int_level(), 1)
        self.assertEqual(self.poll(), 0x85)
        m.outb(M_CMD, 0x48)                  # leave special mask mode
        m.outb(M_CMD, 0x65)
        self.assertEqual(self.reg(M_CMD, OCW3_READ_ISR), 0x08)

    def test_reinit_clears_state(self):
        m = self.m
        self.init()
        m.outb(M_DATA, 0x00)
        self.line(4, 1)
        self.assertEqual(self.poll(), 0x84)
        m.outb(M_DATA, 0x55)
        self.init()
        self.assertEqual(m.inb(M_DATA), 0x00)
        self.assertEqual(self.reg(M_CMD, OCW3_READ_ISR), 0x00)
        self.assertEqual(self.reg(M_CMD, OCW3_READ_IRR), 0x00)


if __name__ == '__main__':
    unittest.main(verbosity=2)
