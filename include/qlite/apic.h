/*
 * The local APIC (xAPIC, one per vCPU, MMIO at 0xfee00000) and the I/O
 * APIC as the CPU emulator and the board see them.
 *
 * CPU side contract (target/i386 + accel/tcg):
 *  - before running guest code of @cs on a thread, call
 *    apic_set_current_cpu(cs) so that MMIO to 0xfee00000 reaches that
 *    CPU's APIC (TCG's round-robin loop calls it on every switch);
 *  - on CPU_INTERRUPT_HARD with EFLAGS.IF set, call apic_intr_ack(cs): it
 *    returns the vector to deliver (APIC first, then the 8259 through
 *    LINT0 in ExtINT mode) or -1;
 *  - MOV to/from CR8 go through apic_set_tpr()/apic_get_tpr();
 *  - WRMSR/RDMSR of IA32_APIC_BASE (0x1b) call apic_set_base() after
 *    storing the value (#GP when it refuses the mode change),
 *    IA32_TSC_DEADLINE (0x6e0) goes through
 *    apic_set_tsc_deadline()/apic_get_tsc_deadline(), the x2APIC MSRs
 *    0x800-0x8ff through apic_msr_read()/apic_msr_write();
 *  - on CPU_INTERRUPT_INIT the CPU resets itself and calls
 *    apic_init_reset(cs); on CPU_INTERRUPT_SIPI it starts at
 *    cs->sipi_vector << 12 if it waits for SIPI.
 */
#ifndef QLITE_APIC_H
#define QLITE_APIC_H

#include "qlite/qdev.h"

typedef struct CPUState CPUState;

#define TYPE_APIC "apic"
#define TYPE_IOAPIC "ioapic"
#define APIC_DEFAULT_ADDRESS    0xfee00000
#define IOAPIC_DEFAULT_ADDRESS  0xfec00000
#define IOAPIC_NUM_PINS         24
#define APIC_MAX_CPUS           256

/* IA32_APIC_BASE bits (SDM vol 3 10.4.4). */
#define MSR_IA32_APICBASE_BSP     (1u << 8)
#define MSR_IA32_APICBASE_EXTD    (1u << 10)     /* x2APIC mode */
#define MSR_IA32_APICBASE_ENABLE  (1u << 11)
#define MSR_IA32_APICBASE_BASE    UINT64_C(0xfffffff000)

/* Board: create and realize the APIC of @cs with @apic_id. */
DeviceState *apic_create(CPUState *cs, uint32_t apic_id, GError **errp);
/* The APIC device of @cs, or NULL. */
DeviceState *apic_get(CPUState *cs);

/* CPU side (see above). */
void apic_set_current_cpu(CPUState *cs);
int apic_intr_ack(CPUState *cs);
void apic_set_tpr(CPUState *cs, uint8_t cr8);
uint8_t apic_get_tpr(CPUState *cs);
/* False for an illegal mode transition (SDM 10.12.5): #GP. */
bool apic_set_base(CPUState *cs, uint64_t val);
uint64_t apic_get_base(CPUState *cs);
void apic_init_reset(CPUState *cs);
/* @deadline and @tsc_now in TSC ticks; @tsc_hz the TSC's rate. */
void apic_set_tsc_deadline(CPUState *cs, uint64_t deadline,
                           uint64_t tsc_now, uint64_t tsc_hz);
uint64_t apic_get_tsc_deadline(CPUState *cs);
/*
 * x2APIC register @reg = MSR index - 0x800; false when the access must
 * raise #GP (not in x2APIC mode, no such register, reserved bits set).
 */
bool apic_msr_read(CPUState *cs, unsigned reg, uint64_t *val);
bool apic_msr_write(CPUState *cs, unsigned reg, uint64_t val);

/*
 * The 8259's INTR output: to every APIC whose LINT0 is in ExtINT mode
 * (or that is disabled), or straight to CPU 0 when there is no APIC.
 */
void apic_deliver_pic_intr(int level);

/*
 * Deliver an interrupt message (IOAPIC redirection entry or MSI):
 * @dest and @dest_mode (0 physical, 1 logical), @delivery_mode (SDM
 * table 10-? : 0 fixed, 1 lowest priority, 4 NMI, 5 INIT, 7 ExtINT),
 * @trigger_mode 1 for level.
 */
void apic_deliver_irq(uint8_t dest, uint8_t dest_mode, uint8_t delivery_mode,
                      uint8_t vector, uint8_t trigger_mode);
/* An MSI write of @data at @addr (0xfeeXXXXX). */
void apic_deliver_msi(uint64_t addr, uint32_t data);

/*
 * EOI of a level-triggered vector: the I/O APIC listens to clear its
 * remote IRR (the "EOI broadcast").
 */
typedef void (*ApicEoiFn)(void *opaque, int vector);
void apic_add_eoi_listener(ApicEoiFn fn, void *opaque);

#endif
