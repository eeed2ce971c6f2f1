/*
 * MAXPHYADDR (SDM vol 3 4.1.4): CPUID 0x80000008 EAX[7:0] reports the
 * phys-bits the command line asks for, and a paging entry with an
 * address bit at or above it is a reserved-bit #PF (error code P|RSVD,
 * 4.7), while the bit just below it is a valid address.
 *
 * guest-args: -cpu max,phys-bits=39
 *
 * Under KVM ("kvm" on the command line) -cpu max is the host's CPU with
 * the host's MAXPHYADDR, as QEMU makes it (host-phys-bits): the checks
 * then use the phys-bits CPUID reports.
 */
#include "guest.h"

#define PHYS_BITS   39

extern uint64_t pds[];          /* entry64.S: 4 page directories */
static uint64_t pt[512] __attribute__((aligned(4096)));
static uint8_t frame[4096] __attribute__((aligned(4096)));

/* pt[] maps 0x40000000.. (PD 1, entry 0) with 4K pages. */
#define TEST_VA     0x40000000ul

#define READ_TRAP(p) ({ \
    unsigned n_ = last_trap.count; \
    __asm__ volatile(SET_RESUME "movb (%0), %%al\n9:" : : "r"(p) \
                     : "rax", "r11", "memory"); \
    last_trap.count == n_ ? 0u : (unsigned)last_trap.vector; })

static unsigned read_with_pte(uint64_t pte)
{
    pt[0] = pte;
    write_cr3(read_cr3());
    return READ_TRAP((volatile uint8_t *)TEST_VA);
}

void kernel_main(void)
{
    uint32_t r[4];
    uint64_t good = (uintptr_t)frame | PTE_P | PTE_W;
    unsigned vec, bits = PHYS_BITS;

    pds[512] = (uintptr_t)pt | PTE_P | PTE_W | PTE_U;
    write_cr3(read_cr3());

    cpuid(0x80000008, 0, r);
    if (guest_cmdline_has("kvm")) {
        bits = r[0] & 0xff;
        guest_printf("skip: CPUID phys-bits is %u, not %u: under KVM "
                     "-cpu max has the host's MAXPHYADDR, as QEMU's "
                     "host-phys-bits\n", bits, PHYS_BITS);
    } else {
        CHECK_EQ(r[0] & 0xff, PHYS_BITS,
                 "CPUID 0x80000008 EAX[7:0] = phys-bits");
    }
    CHECK_EQ(read_with_pte(good), 0, "a page in RAM reads");

    /* Bit 38 is an address bit: no fault for the entry itself. */
    vec = read_with_pte(good | (UINT64_C(1) << (bits - 1)));
    CHECK(vec != VEC_PF || !(last_trap.error & PFERR_RSVD),
          "bit phys-bits-1 is no reserved bit");

    vec = read_with_pte(good | (UINT64_C(1) << bits));
    CHECK_EQ(vec, VEC_PF, "bit phys-bits in a PTE: #PF");
    CHECK(last_trap.error & PFERR_RSVD, "  with RSVD in the error code");
    if (guest_cmdline_has("qemu")) {
        guest_printf("skip: P is set with RSVD: QEMU 7.2 leaves P clear "
                     "for an address bit above MAXPHYADDR (SDM vol 3 4.7: "
                     "the entries were present)\n");
    } else {
        CHECK(last_trap.error & PFERR_P, "  and P (the entry is present)");
    }
    CHECK_EQ(last_trap.cr2, TEST_VA, "  CR2 is the address");

    vec = read_with_pte(good | (UINT64_C(1) << 51));
    CHECK_EQ(vec, VEC_PF, "bit 51 in a PTE: #PF");
    CHECK(last_trap.error & PFERR_RSVD, "  a reserved-bit fault");
    pt[0] = 0;
    write_cr3(read_cr3());
}
