#!/usr/bin/env python3
"""Write the seed inputs of fuzz-pc-devices (tests/fuzz/fuzz-pc-devices.c).

    tests/fuzz/gen-pc-devices-seeds.py [OUTDIR]

Each seed is a short program in the fuzzer's input language that drives
one device the way a guest driver would, so that fuzzing starts from
programmed devices rather than from reset ones.  The encoding must follow
the opcode list and fuzz_ports[] of fuzz-pc-devices.c.
"""
import os
import struct
import sys

PORTS = [0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1,
         0x40, 0x41, 0x42, 0x43, 0x61,
         0x70, 0x71,
         0x60, 0x64,
         0x92, 0x80,
         0x510, 0x511, 0x514, 0x518,
         0xcf8, 0xcf9, 0xcfc, 0xcfd, 0xcfe, 0xcff,
         0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff,
         0xb2, 0xb3, 0x600, 0x604, 0x608, 0xafe0, 0xafe2]

(PIO_IN, PIO_OUT, PIO_IN_ANY, PIO_OUT_ANY, MMIO_READ, MMIO_WRITE,
 CLOCK_STEP, RAM_WRITE, FWCFG_DMA, PCI_READ, PCI_WRITE, INTA, CPU_SELECT,
 APIC_MSR) = range(14)
WIN_IOAPIC, WIN_LAPIC, WIN_MSI, WIN_RAM, WIN_ROM, WIN_HOLE = range(6)
SIZES = {1: 0, 2: 1, 4: 2, 8: 3}


class Program:
    def __init__(self):
        self.b = bytearray()

    def out(self, port, val, size=1):
        if port in PORTS:
            self.b += struct.pack('<BBBI', PIO_OUT, PORTS.index(port),
                                  SIZES[size], val & 0xffffffff)
        else:
            self.b += struct.pack('<BHBI', PIO_OUT_ANY, port, SIZES[size],
                                  val & 0xffffffff)

    def inp(self, port, size=1):
        if port in PORTS:
            self.b += struct.pack('<BBB', PIO_IN, PORTS.index(port),
                                  SIZES[size])
        else:
            self.b += struct.pack('<BHB', PIO_IN_ANY, port, SIZES[size])

    def write(self, win, off, val, size=4):
        self.b += struct.pack('<BBIBQ', MMIO_WRITE, win, off, SIZES[size],
                              val)

    def read(self, win, off, size=4):
        self.b += struct.pack('<BBIB', MMIO_READ, win, off, SIZES[size])

    def step(self, ns=0):
        self.b += struct.pack('<BI', CLOCK_STEP, ns)

    def ram(self, addr, data):
        self.b += struct.pack('<BHB', RAM_WRITE, addr, len(data)) + data

    def dma(self, desc, control, length, addr):
        self.b += struct.pack('<BHIII', FWCFG_DMA, desc, control, length,
                              addr)

    def pci_read(self, bdf, reg, size=4):
        self.b += struct.pack('<BHBB', PCI_READ, bdf, reg, SIZES[size])

    def pci_write(self, bdf, reg, val, size=4):
        self.b += struct.pack('<BHBBI', PCI_WRITE, bdf, reg, SIZES[size],
                              val)

    def inta(self):
        self.b += bytes([INTA])

    def cpu(self, idx):
        self.b += bytes([CPU_SELECT, idx])

    def apic_msr(self, tpr, base):
        self.b += struct.pack('<BBQ', APIC_MSR, tpr, base)


def pic_init(p):
    for base, vec, cascade in ((0x20, 0x08, 0x04), (0xa0, 0x70, 0x02)):
        p.out(base, 0x11)
        p.out(base + 1, vec)
        p.out(base + 1, cascade)
        p.out(base + 1, 0x01)
        p.out(base + 1, 0x00)


def seed_pic_pit(p):
    pic_init(p)
    p.out(0x43, 0x34)               # channel 0, lo/hi, mode 2
    p.out(0x40, 0x9c)
    p.out(0x40, 0x2e)
    for _ in range(3):
        p.step(0)
        p.inta()
        p.out(0x20, 0x20)           # EOI
    p.out(0x43, 0x00)               # latch
    p.inp(0x40)
    p.inp(0x40)
    p.out(0x43, 0xe2)               # read-back status of channel 0
    p.inp(0x40)
    p.out(0x61, 0x03)               # speaker gate
    p.out(0x43, 0xb6)               # channel 2, mode 3
    p.out(0x42, 0x00)
    p.out(0x42, 0x10)
    p.step(100000)
    p.inp(0x61)
    p.out(0x20, 0x0c)               # poll command
    p.inp(0x20)
    p.out(0x4d0, 0x20, 1)           # ELCR
    p.inp(0x4d1)


def seed_rtc(p):
    for reg in (0x0, 0x2, 0x4, 0x6, 0x7, 0x8, 0x9, 0xa, 0xb, 0xc, 0xd,
                0x32, 0x34, 0x35):
        p.out(0x70, reg)
        p.inp(0x71)
    pic_init(p)
    p.out(0x21, 0xfb)
    p.out(0xa1, 0xfe)
    p.out(0x70, 0x0a)
    p.out(0x71, 0x26)               # 1024 Hz
    p.out(0x70, 0x0b)
    p.out(0x71, 0x72)               # PIE | AIE | UIE, 24h
    p.out(0x70, 0x01)
    p.out(0x71, 0xff)               # alarm: don't care
    p.step(2000000)
    p.inta()
    p.out(0x70, 0x0c)
    p.inp(0x71)
    p.out(0x70, 0x0b)
    p.out(0x71, 0x86)               # SET, binary
    p.out(0x70, 0x00)
    p.out(0x71, 59)
    p.out(0x70, 0x0b)
    p.out(0x71, 0x06)
    p.step(1100000000)


def seed_serial(p):
    p.out(0x3fb, 0x80)              # DLAB
    p.out(0x3f8, 0x01)
    p.out(0x3f9, 0x00)
    p.out(0x3fb, 0x03)              # 8N1
    p.out(0x3fa, 0xc7)              # FIFO on, clear
    p.out(0x3fc, 0x1b)              # loopback, OUT2, RTS, DTR
    p.out(0x3f9, 0x0f)              # every interrupt
    for c in b'hello':
        p.out(0x3f8, c)
    p.step(1000000)
    for _ in range(6):
        p.inp(0x3fa)
        p.inp(0x3fd)
        p.inp(0x3f8)
        p.inp(0x3fe)
    p.out(0x3fc, 0x03)
    p.out(0x3f8, 0x41)
    p.out(0x3ff, 0x55)
    p.inp(0x3ff)


def seed_i8042(p):
    p.out(0x64, 0x20)               # read config
    p.inp(0x60)
    p.out(0x64, 0x60)
    p.out(0x60, 0x47)               # both IRQs, translation
    p.out(0x64, 0xaa)               # self test
    p.inp(0x64)
    p.inp(0x60)
    p.out(0x60, 0xff)               # keyboard reset
    p.inp(0x60)
    p.inp(0x60)
    p.out(0x60, 0xf0)               # scancode set
    p.out(0x60, 0x02)
    p.out(0x64, 0xd4)               # to the mouse
    p.out(0x60, 0xf4)
    p.inp(0x60)
    p.out(0x64, 0xd2)               # write keyboard output buffer
    p.out(0x60, 0x1c)
    p.inp(0x64)
    p.inp(0x60)
    p.out(0x64, 0xd1)               # output port: A20
    p.out(0x60, 0xdf)
    p.out(0x64, 0xd0)
    p.inp(0x60)
    p.out(0x92, 0x02)               # fast A20
    p.inp(0x92)


def seed_fw_cfg(p):
    p.out(0x510, 0x0000, 2)         # signature
    for _ in range(4):
        p.inp(0x511)
    p.out(0x510, 0x0001, 2)         # id
    p.inp(0x511, 4)
    p.inp(0x514, 4)                 # DMA signature
    p.inp(0x518, 4)
    p.out(0x510, 0x0019, 2)         # file directory
    p.inp(0x511, 4)
    # DMA: select the directory and read it to 0x1000
    p.dma(0x100, (0x19 << 16) | 0x08 | 0x02, 0x400, 0x1000)
    p.dma(0x100, 0x04, 0x10, 0)     # skip
    p.dma(0x100, 0x02, 0x40, 0xfff0)  # read across the window edge
    p.dma(0x100, 0x10, 0x8, 0x2000)  # write: refused
    p.dma(0x100, (0x05 << 16) | 0x0a, 8, 0xfffffff8)  # to ROM/unassigned
    p.out(0x514, 0, 4)
    p.out(0x518, 0x00010000, 4)     # descriptor at 0x100 (big-endian)


def seed_pci(p):
    for dev in range(6):
        for fn in range(8):
            bdf = (dev << 3) | fn
            p.pci_read(bdf, 0x00)
            p.pci_read(bdf, 0x08)
            p.pci_read(bdf, 0x0e, 1)
    p.pci_write(0x08, 0x60, 0x0b0a0b0a)      # PIIX3 PIRQ routing
    p.pci_read(0x08, 0x60)
    p.pci_write(0x0b, 0x40, 0x601)           # PIIX4 PM: PMBA 0x600
    p.pci_write(0x0b, 0x80, 0x01, 1)         # PMIOSE
    p.pci_write(0x0b, 0x04, 0x0001, 2)
    p.inp(0x600, 2)
    p.out(0x602, 0x0121, 2)                  # PM1a_EN
    p.inp(0x608, 4)                          # PM timer
    p.out(0xb2, 0xf1)                        # ACPI enable
    p.inp(0x604, 2)
    p.out(0x604, 0x2001, 2)                  # SLP_EN, S0
    p.pci_write(0x00, 0x59, 0x30, 1)         # i440FX PAM
    p.pci_write(0x00, 0x72, 0x0a, 1)         # SMRAM
    p.pci_write(0x18, 0x10, 0xffffffff)      # a BAR of nothing
    p.inp(0xcf8, 4)
    p.out(0xcf8, 0x7fffff00, 4)
    p.inp(0xcfc, 4)
    p.inp(0xcf9)


def seed_ioapic(p):
    p.write(WIN_IOAPIC, 0x00, 0x01)          # version
    p.read(WIN_IOAPIC, 0x10)
    for pin in range(24):
        p.write(WIN_IOAPIC, 0x00, 0x10 + 2 * pin)
        p.write(WIN_IOAPIC, 0x10, 0x30 + pin | (pin & 1) << 15)
        p.write(WIN_IOAPIC, 0x00, 0x11 + 2 * pin)
        p.write(WIN_IOAPIC, 0x10, 0)
    p.write(WIN_LAPIC, 0xf0, 0x1ff)          # software enable
    p.out(0x43, 0x34)
    p.out(0x40, 0x00)
    p.out(0x40, 0x01)
    p.step(0)
    p.inta()
    p.write(WIN_LAPIC, 0xb0, 0)              # EOI
    p.write(WIN_IOAPIC, 0x40, 0x32)          # directed EOI
    p.write(WIN_IOAPIC, 0x00, 0x00)
    p.write(WIN_IOAPIC, 0x10, 0x0f000000)    # id
    p.write(WIN_IOAPIC, 0x00, 0x60)          # past the table
    p.read(WIN_IOAPIC, 0x10)


def seed_lapic(p):
    p.write(WIN_LAPIC, 0xf0, 0x1ff)
    p.write(WIN_LAPIC, 0x80, 0x00)           # TPR
    p.write(WIN_LAPIC, 0x3e0, 0x0b)          # divide by 1
    p.write(WIN_LAPIC, 0x320, 0x20040)       # periodic, vector 0x40
    p.write(WIN_LAPIC, 0x380, 0x1000)
    for _ in range(3):
        p.step(0)
        p.inta()
        p.write(WIN_LAPIC, 0xb0, 0)
    p.read(WIN_LAPIC, 0x390)
    p.write(WIN_LAPIC, 0x310, 0x01000000)    # IPI to APIC 1
    p.write(WIN_LAPIC, 0x300, 0x00004050)
    p.write(WIN_LAPIC, 0x300, 0x000c4500)    # INIT to all but self
    p.write(WIN_LAPIC, 0x300, 0x000c4608)    # SIPI
    p.cpu(1)
    p.read(WIN_LAPIC, 0x20)
    p.write(WIN_LAPIC, 0xf0, 0x1ff)
    p.read(WIN_LAPIC, 0x100)
    p.cpu(0)
    p.write(WIN_MSI, 0x1000, 0x4061)         # MSI to APIC 1
    p.write(WIN_MSI, 0x0000, 0x0041)
    p.write(WIN_LAPIC, 0x280, 0)             # ESR
    p.read(WIN_LAPIC, 0x280)
    p.write(WIN_LAPIC, 0x350, 0x700)         # LINT0 ExtINT
    p.apic_msr(2, 0xfee00900)
    p.apic_msr(0, 0xfee00100)                # disabled
    p.read(WIN_LAPIC, 0xf0)
    p.read(WIN_LAPIC, 0x30, 1)


def seed_resets(p):
    p.out(0x64, 0xfe)                        # i8042 pulse reset
    p.out(0x92, 0x01)                        # port 92 reset
    p.out(0xcf9, 0x02)
    p.out(0xcf9, 0x06)                       # PIIX3 hard reset
    p.read(WIN_ROM, 0x3fff0)
    p.write(WIN_ROM, 0x3fff0, 0x90)
    p.read(WIN_HOLE, 0x1000, 8)
    p.ram(0x800, bytes(range(32)))
    p.read(WIN_RAM, 0x800, 8)


SEEDS = {
    'seed-pic-pit': seed_pic_pit,
    'seed-rtc': seed_rtc,
    'seed-serial': seed_serial,
    'seed-i8042': seed_i8042,
    'seed-fw-cfg': seed_fw_cfg,
    'seed-pci': seed_pci,
    'seed-ioapic': seed_ioapic,
    'seed-lapic': seed_lapic,
    'seed-resets': seed_resets,
}


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), 'corpus-pc-devices')
    os.makedirs(outdir, exist_ok=True)
    for name, fn in SEEDS.items():
        p = Program()
        fn(p)
        with open(os.path.join(outdir, name), 'wb') as f:
            f.write(p.b)


if __name__ == '__main__':
    main()
