/*
 * Port I/O: POST port 0x80, the 16550A scratch register (COM1 + 7)
 * round-trip at every value class, unassigned ports reading all ones, and
 * string I/O with REP OUTSB.
 */
#include "guest.h"

void kernel_main(void)
{
    static const uint8_t post[4] = { 1, 2, 3, 4 };
    bool scratch_ok = true;

    outb(0x80, 0x42);
    CHECK(true, "OUT to port 0x80 does not fault");
    for (unsigned v = 0; v < 256; v += 17) {
        outb(COM1 + 7, (uint8_t)v);
        scratch_ok &= inb(COM1 + 7) == v;
    }
    CHECK(scratch_ok, "serial scratch register keeps every value");
    outb(COM1 + 7, 0xa5);
    CHECK_EQ(inb(COM1 + 7), 0xa5, "scratch 0xa5 round-trip");
    CHECK_EQ(inb(COM1 + 5) & 0x60, 0x60, "LSR: transmitter empty");
    CHECK_EQ(inb(0x2f0), 0xff, "unassigned port reads 0xff (byte)");
    CHECK_EQ(inw(0x2f0), 0xffff, "unassigned port reads 0xffff (word)");
    CHECK_EQ(inl(0x2f0), 0xffffffffu, "unassigned port reads ~0 (dword)");
    __asm__ volatile("rep outsb" : : "S"(post), "c"(4), "d"(0x80)
                     : "memory");
    CHECK(true, "REP OUTSB to port 0x80");
}
