/*
 * Triple fault (SDM vol 3A 6.15, interrupt 8): with an empty IDT, INT3
 * cannot be delivered (#GP), nor can that #GP (so #DF), nor the #DF: the
 * processor shuts down, which the board turns into a reset, and
 * -no-reboot into an exit with status 0.
 *
 * guest-expect: exit=0
 * guest-args: -no-reboot
 */
#include "guest.h"

void kernel_main(void)
{
    static const struct __attribute__((packed)) {
        uint16_t limit;
        uint32_t base;
    } empty_idt = { 0, 0 };

    guest_puts("GUEST EXPECTS EXIT 0 (triple fault under -no-reboot)\n");
    __asm__ volatile("lidt %0\n\tint3" : : "m"(empty_idt) : "memory");
    guest_puts("FAIL: INT3 with an empty IDT returned\n");
    guest_fail();
}
