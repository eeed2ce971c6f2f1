/*
 * x86 vCPU state under KVM: the CPUID table each vCPU gets, its power-on
 * state (what KVM gave the fresh vCPU, saved and put back on every
 * reset), the Linux boot loader's entry state for CPU 0, and the register
 * dump for "info registers" and error reports.
 */
#include <sys/ioctl.h>

#include "kvm-internal.h"
#include "qlite/cpu.h"
#include "qlite/error.h"
#include "qlite/boot-cpu.h"

#define CPUID_1_ECX_X2APIC      (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_HYPERVISOR  (1u << 31)
#define CPUID_1_EDX_HTT         (1u << 28)
#define MSR_MTRR_DEF_TYPE       0x2ff
#define MSR_PAT                 0x277
/* MTRRs enabled, default type write-back, as firmware leaves them. */
#define MTRR_DEF_TYPE_FW        0xc06
#define PAT_POWER_ON            UINT64_C(0x0007040600070406)
#define MSR_IA32_MISC_ENABLE    0x1a0
/*
 * IA32_MISC_ENABLE at power-on (SDM vol 4 table 2-2): fast strings on
 * (bit 0), BTS and PEBS unavailable (bits 11, 12): KVM starts a vCPU with
 * fast strings only and lets only the host set the two read-only bits.
 */
#define MISC_ENABLE_POWER_ON    (UINT64_C(1) | (UINT64_C(1) << 11) | \
                                 (UINT64_C(1) << 12))

/*
 * MSRs whose power-on value is 0 and that a guest's previous run may have
 * set: the kvmclock and paravirt areas (left set, KVM would keep writing
 * into the rebooted guest's memory), and the system-call entry points.
 */
static const uint32_t kvm_msrs_zero_on_reset[] = {
    0x11, 0x12,                                 /* old kvmclock */
    0x4b564d00, 0x4b564d01, 0x4b564d02,         /* wall clock, clock, APF */
    0x4b564d03, 0x4b564d04, 0x4b564d06,         /* steal, PV EOI, APF int */
    0x174, 0x175, 0x176,                        /* SYSENTER_CS/ESP/EIP */
    0xc0000081, 0xc0000082, 0xc0000083,         /* STAR, LSTAR, CSTAR */
    0xc0000084, 0xc0000102, 0xc0000103,         /* FMASK, KGSBASE, TSC_AUX */
};

/* ---- CPUID --------------------------------------------------------------- */

/*
 * The in-kernel APIC (qlite always uses KVM's irqchip) does x2APIC, which
 * KVM_GET_SUPPORTED_CPUID reports, and the TSC-deadline timer, which is a
 * capability of its own that some kernels leave out of that table.  Leaf
 * 1 offers both where the APIC the guest really gets can do them.
 */
static void kvm_cpuid_add_apic_features(struct kvm_cpuid2 *c)
{
    void *cap = (void *)(uintptr_t)KVM_CAP_TSC_DEADLINE_TIMER;
    bool deadline = kvm_ioctl(kvm_state->fd, KVM_CHECK_EXTENSION, cap) > 0;

    for (uint32_t i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];

        if (e->function == 1) {
            e->ecx |= CPUID_1_ECX_X2APIC;
            if (deadline) {
                e->ecx |= CPUID_1_ECX_TSC_DEADLINE;
            }
        }
    }
}

bool kvm_x86_get_supported_cpuid(GError **errp)
{
    for (unsigned nent = 128; nent <= 4096; nent *= 2) {
        struct kvm_cpuid2 *c = g_malloc0(sizeof(*c) +
                                         nent * sizeof(c->entries[0]));
        int ret;

        c->nent = nent;
        ret = kvm_ioctl(kvm_state->fd, KVM_GET_SUPPORTED_CPUID, c);
        if (ret >= 0) {
            kvm_cpuid_add_apic_features(c);
            kvm_state->cpuid = c;
            return true;
        }
        g_free(c);
        if (ret != -E2BIG) {
            error_setg(errp, "kvm: KVM_GET_SUPPORTED_CPUID failed: %s",
                       g_strerror(-ret));
            return false;
        }
    }
    error_setg(errp, "kvm: KVM_GET_SUPPORTED_CPUID: too many entries");
    return false;
}

static unsigned kvm_apic_id_shift(unsigned n)
{
    unsigned shift = 0;

    while ((1u << shift) < n) {
        shift++;
    }
    return shift;
}

/* The topology leaves (Intel 0xb/0x1f): one socket, one thread per core. */
static void kvm_cpuid_fix_ext_topology(struct kvm_cpuid_entry2 *e,
                                       unsigned id, unsigned n)
{
    e->edx = id;
    switch (e->index) {
    case 0:             /* SMT level: one thread per core */
        e->eax = 0;
        e->ebx = 1;
        e->ecx = 1u << 8;
        break;
    case 1:             /* core level */
        e->eax = kvm_apic_id_shift(n);
        e->ebx = n;
        e->ecx = 1 | (2u << 8);
        break;
    default:            /* no more levels */
        e->eax = e->ebx = 0;
        e->ecx = e->index;
        break;
    }
}

/* APIC ID and package size for vCPU @id of @n (SDM 2A CPUID). */
static void kvm_cpuid_fix_entry(struct kvm_cpuid_entry2 *e, unsigned id,
                                unsigned n)
{
    unsigned level;

    switch (e->function) {
    case 1:
        e->ebx = (e->ebx & 0xffff) | (MIN(n, 255u) << 16) | (id << 24);
        e->ecx |= CPUID_1_ECX_HYPERVISOR;
        e->edx = n > 1 ? e->edx | CPUID_1_EDX_HTT : e->edx & ~CPUID_1_EDX_HTT;
        break;
    case 4:
        level = (e->eax >> 5) & 7;
        e->eax &= 0x3fff;
        if (e->eax & 0x1f) {
            e->eax |= (MIN(n, 64u) - 1) << 26;
            e->eax |= (level >= 3 ? n - 1 : 0) << 14;
        }
        break;
    case 0xb:
    case 0x1f:
        kvm_cpuid_fix_ext_topology(e, id, n);
        break;
    case 0x80000008:    /* AMD: cores per package, APIC ID size */
        e->ecx = (e->ecx & ~0xf0ffu) | (kvm_apic_id_shift(n) << 12) |
                 ((n - 1) & 0xff);
        break;
    case 0x8000001e:    /* AMD: extended APIC ID, core ID */
        e->eax = id;
        e->ebx = id & 0xff;
        e->ecx = 0;
        break;
    }
}

static bool kvm_x86_set_cpuid(KVMVcpu *v, GError **errp)
{
    const struct kvm_cpuid2 *sup = kvm_state->cpuid;
    size_t size = sizeof(*sup) + sup->nent * sizeof(sup->entries[0]);
    g_autofree struct kvm_cpuid2 *c = g_memdup2(sup, size);
    unsigned n = MAX(cpu_count(), 1);
    int ret;

    for (uint32_t i = 0; i < c->nent; i++) {
        kvm_cpuid_fix_entry(&c->entries[i], v->cpu->index, n);
    }
    ret = kvm_ioctl(v->fd, KVM_SET_CPUID2, c);
    if (ret < 0) {
        error_setg(errp, "kvm: KVM_SET_CPUID2 failed: %s", g_strerror(-ret));
        return false;
    }
    return true;
}

/* ---- power-on state --------------------------------------------------- */

static bool kvm_vcpu_ioctl_ok(KVMVcpu *v, unsigned long req, void *arg,
                              const char *what, GError **errp)
{
    int ret = kvm_ioctl(v->fd, req, arg);

    if (ret < 0) {
        error_setg(errp, "kvm: CPU %d: %s failed: %s", v->cpu->index, what,
                   g_strerror(-ret));
        return false;
    }
    return true;
}

bool kvm_x86_vcpu_init(KVMVcpu *v, GError **errp)
{
    KVMVcpuReset *r = &v->reset;

    return kvm_x86_set_cpuid(v, errp) &&
        kvm_vcpu_ioctl_ok(v, KVM_GET_REGS, &r->regs, "KVM_GET_REGS", errp) &&
        kvm_vcpu_ioctl_ok(v, KVM_GET_SREGS, &r->sregs, "KVM_GET_SREGS",
                          errp) &&
        kvm_vcpu_ioctl_ok(v, KVM_GET_FPU, &r->fpu, "KVM_GET_FPU", errp) &&
        kvm_vcpu_ioctl_ok(v, KVM_GET_LAPIC, &r->lapic, "KVM_GET_LAPIC",
                          errp) &&
        kvm_vcpu_ioctl_ok(v, KVM_GET_MP_STATE, &r->mp_state,
                          "KVM_GET_MP_STATE", errp);
}

/* One MSR; failures are ignored (the host may not have it). */
static void kvm_set_msr(KVMVcpu *v, uint32_t index, uint64_t value)
{
    /* struct kvm_msrs ends in a flexible array: room for one entry */
    union {
        struct kvm_msrs hdr;
        uint8_t room[sizeof(struct kvm_msrs) + sizeof(struct kvm_msr_entry)];
    } m = { .hdr.nmsrs = 1 };

    m.hdr.entries[0] = (struct kvm_msr_entry){ .index = index,
                                               .data = value };
    kvm_ioctl(v->fd, KVM_SET_MSRS, &m);
}

static void kvm_reset_msrs(KVMVcpu *v, bool direct_boot)
{
    for (size_t i = 0; i < G_N_ELEMENTS(kvm_msrs_zero_on_reset); i++) {
        kvm_set_msr(v, kvm_msrs_zero_on_reset[i], 0);
    }
    kvm_set_msr(v, MSR_PAT, PAT_POWER_ON);
    kvm_set_msr(v, MSR_IA32_MISC_ENABLE, MISC_ENABLE_POWER_ON);
    /* Without firmware, the loader stands in for it: MTRRs on, WB. */
    kvm_set_msr(v, MSR_MTRR_DEF_TYPE, direct_boot ? MTRR_DEF_TYPE_FW : 0);
}

static struct kvm_segment kvm_segment_from_boot(const BootCpuSegment *b)
{
    return (struct kvm_segment) {
        .base = b->base, .limit = b->limit, .selector = b->selector,
        .type = b->type, .present = b->present, .dpl = b->dpl,
        .db = b->db, .s = b->s, .l = b->l, .g = b->g,
    };
}

/* The boot loader's entry state on top of the power-on state. */
static void kvm_apply_boot_state(const BootCpuState *b,
                                 struct kvm_regs *regs,
                                 struct kvm_sregs *sregs)
{
    __u64 *gpr[BOOT_CPU_NR_GPRS] = {
        &regs->rax, &regs->rcx, &regs->rdx, &regs->rbx,
        &regs->rsp, &regs->rbp, &regs->rsi, &regs->rdi,
        &regs->r8, &regs->r9, &regs->r10, &regs->r11,
        &regs->r12, &regs->r13, &regs->r14, &regs->r15,
    };

    for (int i = 0; i < BOOT_CPU_NR_GPRS; i++) {
        *gpr[i] = b->gprs[i];
    }
    regs->rip = b->rip;
    regs->rflags = b->rflags;
    sregs->cs = kvm_segment_from_boot(&b->cs);
    sregs->ds = sregs->es = sregs->fs = sregs->gs = sregs->ss =
        kvm_segment_from_boot(&b->ds);
    sregs->gdt.base = b->gdt_base;
    sregs->gdt.limit = b->gdt_limit;
    sregs->cr0 = b->cr0;
    sregs->cr3 = b->cr3;
    sregs->cr4 = b->cr4;
    sregs->efer = b->efer;
}

bool kvm_x86_vcpu_reset(KVMVcpu *v, GError **errp)
{
    const BootCpuState *boot = boot_cpu_get();
    KVMVcpuReset *r = &v->reset;
    struct kvm_regs regs = r->regs;
    struct kvm_sregs sregs = r->sregs;
    struct kvm_xcrs xcrs = { .nr_xcrs = 1, .xcrs[0] = { .xcr = 0,
                                                        .value = 1 } };

    if (boot && v->cpu->index == 0) {
        kvm_apply_boot_state(boot, &regs, &sregs);
    }
    kvm_reset_msrs(v, boot != NULL);
    /* XCR0 back to x87 only; older hosts without XSAVE refuse: fine. */
    kvm_ioctl(v->fd, KVM_SET_XCRS, &xcrs);
    return kvm_vcpu_ioctl_ok(v, KVM_SET_SREGS, &sregs, "KVM_SET_SREGS",
                             errp) &&
        kvm_vcpu_ioctl_ok(v, KVM_SET_REGS, &regs, "KVM_SET_REGS", errp) &&
        kvm_vcpu_ioctl_ok(v, KVM_SET_FPU, &r->fpu, "KVM_SET_FPU", errp) &&
        kvm_vcpu_ioctl_ok(v, KVM_SET_LAPIC, &r->lapic, "KVM_SET_LAPIC",
                          errp) &&
        kvm_vcpu_ioctl_ok(v, KVM_SET_MP_STATE, &r->mp_state,
                          "KVM_SET_MP_STATE", errp);
}

/* ---- dumps --------------------------------------------------------------- */

static void kvm_dump_segment(GString *out, const char *name,
                             const struct kvm_segment *s)
{
    unsigned flags = (s->type << 8) | (s->s << 12) | (s->dpl << 13) |
                     (s->present << 15) | (s->avl << 20) | (s->l << 21) |
                     (s->db << 22) | (s->g << 23);

    g_string_append_printf(out, "%-3s=%04x %016" PRIx64 " %08x %08x\n",
                           name, s->selector, (uint64_t)s->base, s->limit,
                           flags);
}

static void kvm_dump_regs(GString *out, const struct kvm_regs *r)
{
    g_string_append_printf(out,
        "RAX=%016llx RBX=%016llx RCX=%016llx RDX=%016llx\n"
        "RSI=%016llx RDI=%016llx RBP=%016llx RSP=%016llx\n"
        "R8 =%016llx R9 =%016llx R10=%016llx R11=%016llx\n"
        "R12=%016llx R13=%016llx R14=%016llx R15=%016llx\n"
        "RIP=%016llx RFL=%08llx\n",
        r->rax, r->rbx, r->rcx, r->rdx, r->rsi, r->rdi, r->rbp, r->rsp,
        r->r8, r->r9, r->r10, r->r11, r->r12, r->r13, r->r14, r->r15,
        r->rip, r->rflags);
}

static void kvm_dump_sregs(GString *out, const struct kvm_sregs *s)
{
    kvm_dump_segment(out, "ES", &s->es);
    kvm_dump_segment(out, "CS", &s->cs);
    kvm_dump_segment(out, "SS", &s->ss);
    kvm_dump_segment(out, "DS", &s->ds);
    kvm_dump_segment(out, "FS", &s->fs);
    kvm_dump_segment(out, "GS", &s->gs);
    kvm_dump_segment(out, "LDT", &s->ldt);
    kvm_dump_segment(out, "TR", &s->tr);
    g_string_append_printf(out,
        "GDT=     %016llx %08x\nIDT=     %016llx %08x\n"
        "CR0=%08llx CR2=%016llx CR3=%016llx CR4=%08llx\n"
        "EFER=%016llx APIC_BASE=%016llx\n",
        s->gdt.base, s->gdt.limit, s->idt.base, s->idt.limit,
        s->cr0, s->cr2, s->cr3, s->cr4, s->efer, s->apic_base);
}

/* QEMU's "info registers" layout, as far as KVM tells. */
void kvm_x86_dump_state(KVMVcpu *v, GString *out)
{
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    int ret;

    g_string_append_printf(out, "CPU#%d\n", v->cpu->index);
    ret = kvm_ioctl(v->fd, KVM_GET_REGS, &regs);
    if (ret >= 0) {
        kvm_dump_regs(out, &regs);
        ret = kvm_ioctl(v->fd, KVM_GET_SREGS, &sregs);
    }
    if (ret < 0) {
        g_string_append_printf(out, "(cannot read the registers: %s)\n",
                               g_strerror(-ret));
        return;
    }
    kvm_dump_sregs(out, &sregs);
}
