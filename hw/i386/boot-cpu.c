/*
 * The boot CPU's entry state a kernel loader recorded (see
 * include/qlite/boot-cpu.h).
 */
#include "qlite/boot-cpu.h"

#define CR0_PE      (1u << 0)
#define CR0_ET      (1u << 4)

static BootCpuState boot_cpu_state;
static bool boot_cpu_state_valid;
static BootCpuState boot_cpu_override_state;
static bool boot_cpu_override_valid;

BootCpuSegment boot_cpu_flat_segment(uint16_t sel, uint8_t type, bool db,
                                     bool l)
{
    return (BootCpuSegment) {
        .selector = sel, .base = 0, .limit = 0xffffffff, .type = type,
        .dpl = 0, .s = true, .present = true, .db = db, .l = l, .g = true,
    };
}

void boot_cpu_flat32(BootCpuState *s, uint64_t entry, uint16_t cs,
                     uint16_t ds)
{
    memset(s, 0, sizeof(*s));
    s->rip = entry;
    s->rflags = 0x2;                    /* bit 1 reserved; IF clear */
    s->cr0 = CR0_PE | CR0_ET;
    s->cs = boot_cpu_flat_segment(cs, BOOT_CPU_CODE_TYPE, true, false);
    s->ds = boot_cpu_flat_segment(ds, BOOT_CPU_DATA_TYPE, true, false);
}

static BootCpuSegment boot_cpu_real_segment(uint16_t sel, uint8_t type)
{
    return (BootCpuSegment) {
        .selector = sel, .base = (uint32_t)sel << 4, .limit = 0xffff,
        .type = type, .s = true, .present = true,
    };
}

void boot_cpu_real16(BootCpuState *s, uint16_t cs, uint16_t ip)
{
    memset(s, 0, sizeof(*s));
    s->rip = ip;
    s->rflags = 0x2;
    s->cr0 = CR0_ET;
    s->gdt_limit = 0xffff;
    s->cs = boot_cpu_real_segment(cs, BOOT_CPU_CODE_TYPE);
    s->ds = boot_cpu_real_segment(0, BOOT_CPU_DATA_TYPE);
}

void boot_cpu_set(const BootCpuState *s)
{
    boot_cpu_state = *s;
    boot_cpu_state_valid = true;
}

const BootCpuState *boot_cpu_get(void)
{
    if (boot_cpu_override_valid) {
        return &boot_cpu_override_state;
    }
    return boot_cpu_state_valid ? &boot_cpu_state : NULL;
}

void boot_cpu_override(const BootCpuState *s)
{
    boot_cpu_override_valid = s != NULL;
    if (s) {
        boot_cpu_override_state = *s;
    }
}
