/*
 * The KVM accelerator (Linux Documentation/virt/kvm/api.rst): the VM, the
 * in-kernel interrupt controllers and PIT, and the interrupt lines the
 * board wires its devices to.  Memory slots, vCPU threads and x86 state
 * are in the files beside this one (kvm-internal.h).
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm-internal.h"
#include "qlite/accel.h"
#include "qlite/cpu.h"
#include "qlite/error.h"
#include "qlite/irqchip.h"
#include "qlite/machine.h"
#include "qlite/object.h"

/* api.rst 4.1: the only stable API version. */
#define KVM_STABLE_API_VERSION 12
/*
 * api.rst 4.48/4.61: three pages for the real-mode TSS and one for the
 * identity page table (Intel without unrestricted guest), just below
 * the BIOS; nothing else is mapped there on a PC.
 */
#define KVM_IDENTITY_MAP_ADDR   UINT64_C(0xfeffc000)
#define KVM_TSS_ADDR            0xfeffd000

KVMState *kvm_state;
static IrqLine **kvm_gsi_lines;

int kvm_ioctl(int fd, unsigned long request, void *arg)
{
    int ret;

    do {
        ret = ioctl(fd, request, arg);
    } while (ret < 0 && errno == EINTR);
    return ret < 0 ? -errno : ret;
}

static int kvm_check_extension(KVMState *s, int cap)
{
    int ret = ioctl(s->fd, KVM_CHECK_EXTENSION, cap);

    return ret < 0 ? 0 : ret;
}

static int kvm_open(GError **errp)
{
    const char *path = accel_kvm_device_path();
    int fd = open(path, O_RDWR | O_CLOEXEC);
    int version;

    if (fd < 0) {
        error_setg(errp, "Could not access KVM kernel module %s: %s",
                   path, g_strerror(errno));
        return -1;
    }
    version = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (version != KVM_STABLE_API_VERSION) {
        error_setg(errp, "%s: KVM API version %d, expected %d", path,
                   version, KVM_STABLE_API_VERSION);
        close(fd);
        return -1;
    }
    return fd;
}

static bool kvm_available(GError **errp)
{
    int fd = kvm_open(errp);

    if (fd < 0) {
        return false;
    }
    close(fd);
    return true;
}

static bool kvm_check_caps(KVMState *s, GError **errp)
{
    static const struct {
        int cap;
        const char *name;
    } needed[] = {
        { KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY" },
        { KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP" },
        { KVM_CAP_SET_TSS_ADDR, "KVM_CAP_SET_TSS_ADDR" },
        { KVM_CAP_SET_IDENTITY_MAP_ADDR, "KVM_CAP_SET_IDENTITY_MAP_ADDR" },
        { KVM_CAP_EXT_CPUID, "KVM_CAP_EXT_CPUID" },
        { KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT" },
        { KVM_CAP_IRQ_ROUTING, "KVM_CAP_IRQ_ROUTING" },
        { KVM_CAP_MP_STATE, "KVM_CAP_MP_STATE" },
    };

    for (size_t i = 0; i < G_N_ELEMENTS(needed); i++) {
        if (!kvm_check_extension(s, needed[i].cap)) {
            g_set_error(errp, QLITE_ERROR, QLITE_ERROR_KVM_MISSING_CAP,
                        "kvm: the host kernel lacks %s", needed[i].name);
            return false;
        }
    }
    s->readonly_mem = kvm_check_extension(s, KVM_CAP_READONLY_MEM) > 0;
    return true;
}

static bool kvm_vm_ioctl_ok(int ret, const char *what, GError **errp)
{
    if (ret < 0) {
        error_setg(errp, "kvm: %s failed: %s", what, g_strerror(-ret));
        return false;
    }
    return true;
}

/*
 * GSI routing as on a PC (QEMU's layout): GSIs 0-15 reach the PIC pins
 * (none for the cascade, GSI 2) and the IOAPIC pins of the same number,
 * except GSI 0, the PIT, which reaches IOAPIC pin 2 (the interrupt
 * source override ACPI tables describe); GSIs 16-23 the IOAPIC only.
 */
static bool kvm_setup_gsi_routing(KVMState *s, GError **errp)
{
    g_autofree struct kvm_irq_routing *r = g_malloc0(
        sizeof(*r) + 48 * sizeof(struct kvm_irq_routing_entry));
    unsigned n = 0;

    for (unsigned gsi = 0; gsi < KVM_NUM_GSIS; gsi++) {
        if (gsi < 16 && gsi != 2) {
            r->entries[n++] = (struct kvm_irq_routing_entry) {
                .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
                .u.irqchip.irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
                                               KVM_IRQCHIP_PIC_SLAVE,
                .u.irqchip.pin = gsi & 7,
            };
        }
        if (gsi != 2) {
            r->entries[n++] = (struct kvm_irq_routing_entry) {
                .gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
                .u.irqchip.irqchip = KVM_IRQCHIP_IOAPIC,
                .u.irqchip.pin = gsi == 0 ? 2 : gsi,
            };
        }
    }
    r->nr = n;
    return kvm_vm_ioctl_ok(kvm_ioctl(s->vm_fd, KVM_SET_GSI_ROUTING, r),
                           "KVM_SET_GSI_ROUTING", errp);
}

static bool kvm_get_chip(KVMState *s, struct kvm_irqchip *chip, int id,
                         GError **errp)
{
    chip->chip_id = id;
    return kvm_vm_ioctl_ok(kvm_ioctl(s->vm_fd, KVM_GET_IRQCHIP, chip),
                           "KVM_GET_IRQCHIP", errp);
}

/* PIC + IOAPIC + local APICs in the kernel, then the PIT. */
static bool kvm_create_chips(KVMState *s, MachineState *ms, GError **errp)
{
    const char *pit = machine_get_prop(ms, "pit");
    struct kvm_pit_config pit_config = { .flags = KVM_PIT_SPEAKER_DUMMY };

    if (!kvm_vm_ioctl_ok(kvm_ioctl(s->vm_fd, KVM_CREATE_IRQCHIP, NULL),
                         "KVM_CREATE_IRQCHIP", errp) ||
        !kvm_setup_gsi_routing(s, errp) ||
        !kvm_get_chip(s, &s->pic_reset[0], KVM_IRQCHIP_PIC_MASTER, errp) ||
        !kvm_get_chip(s, &s->pic_reset[1], KVM_IRQCHIP_PIC_SLAVE, errp) ||
        !kvm_get_chip(s, &s->ioapic_reset, KVM_IRQCHIP_IOAPIC, errp)) {
        return false;
    }
    s->has_pit = !pit || strcmp(pit, "off") != 0;
    if (!s->has_pit) {
        return true;
    }
    if (!kvm_check_extension(s, KVM_CAP_PIT2) ||
        !kvm_check_extension(s, KVM_CAP_PIT_STATE2)) {
        error_setg(errp, "kvm: the host kernel has no in-kernel PIT "
                   "(use -machine pit=off)");
        return false;
    }
    return kvm_vm_ioctl_ok(kvm_ioctl(s->vm_fd, KVM_CREATE_PIT2, &pit_config),
                           "KVM_CREATE_PIT2", errp) &&
           kvm_vm_ioctl_ok(kvm_ioctl(s->vm_fd, KVM_GET_PIT2, &s->pit_reset),
                           "KVM_GET_PIT2", errp);
}

static bool kvm_check_machine_opts(MachineState *ms, GError **errp)
{
    const char *irqchip = machine_get_prop(ms, "kernel-irqchip");

    if (irqchip && strcmp(irqchip, "on") && strcmp(irqchip, "true")) {
        error_setg(errp, "kernel-irqchip=%s is not supported with kvm; "
                   "qlite always uses the in-kernel irqchip", irqchip);
        return false;
    }
    return true;
}

static bool kvm_create_vm(KVMState *s, MachineState *ms, GError **errp)
{
    uint64_t identity = KVM_IDENTITY_MAP_ADDR;

    s->vm_fd = kvm_ioctl(s->fd, KVM_CREATE_VM, 0);
    if (s->vm_fd < 0) {
        error_setg(errp, "kvm: cannot create the VM: %s",
                   g_strerror(-s->vm_fd));
        return false;
    }
    s->vcpu_mmap_size = ioctl(s->fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (s->vcpu_mmap_size < (int)sizeof(struct kvm_run)) {
        error_setg(errp, "kvm: bad vCPU mmap size %d", s->vcpu_mmap_size);
        return false;
    }
    return kvm_vm_ioctl_ok(kvm_ioctl(s->vm_fd, KVM_SET_IDENTITY_MAP_ADDR,
                                     &identity),
                           "KVM_SET_IDENTITY_MAP_ADDR", errp) &&
           kvm_vm_ioctl_ok(ioctl(s->vm_fd, KVM_SET_TSS_ADDR,
                                 (unsigned long)KVM_TSS_ADDR) < 0 ? -errno : 0,
                           "KVM_SET_TSS_ADDR", errp) &&
           kvm_create_chips(s, ms, errp);
}

/* ---- interrupt lines ---------------------------------------------------- */

static void kvm_gsi_set(void *opaque, int gsi, int level)
{
    struct kvm_irq_level irq = { .irq = gsi, .level = level != 0 };
    int ret = kvm_ioctl(kvm_state->vm_fd, KVM_IRQ_LINE, &irq);

    if (ret < 0) {
        error_report("kvm: KVM_IRQ_LINE %d failed: %s", gsi,
                     g_strerror(-ret));
    }
}

/* ISA IRQ n is GSI n: the in-kernel PIC and IOAPIC route it from there. */
static IrqLine **kvm_isa_irqs(void)
{
    if (!kvm_gsi_lines) {
        kvm_gsi_lines = irq_new_array(kvm_gsi_set, NULL, KVM_NUM_GSIS);
    }
    return kvm_gsi_lines;
}

static bool kvm_send_msi(uint64_t addr, uint32_t data)
{
    struct kvm_msi msi = {
        .address_lo = (uint32_t)addr,
        .address_hi = addr >> 32,
        .data = data,
    };

    return kvm_ioctl(kvm_state->vm_fd, KVM_SIGNAL_MSI, &msi) >= 0;
}

/* PIC, IOAPIC, PIT and local APICs all live in the kernel. */
static const AccelIrqchip kvm_irqchip = {
    .isa_irqs = kvm_isa_irqs,
    .send_msi = kvm_send_msi,
};

static bool kvm_init_machine(MachineState *ms, GError **errp)
{
    KVMState *s = g_new0(KVMState, 1);

    s->vm_fd = -1;
    s->fd = kvm_open(errp);
    if (s->fd < 0 || !kvm_check_caps(s, errp) ||
        !kvm_check_machine_opts(ms, errp)) {
        goto fail;
    }
    kvm_state = s;
    if (!kvm_create_vm(s, ms, errp) ||
        !kvm_x86_get_supported_cpuid(errp) ||
        !kvm_mem_init(errp)) {
        goto fail;
    }
    kvm_cpu_signals_init();
    kvm_stats_vm_init();
    irqchip_set_accel(&kvm_irqchip);
    return true;

fail:
    kvm_state = NULL;
    if (s->vm_fd >= 0) {
        close(s->vm_fd);
    }
    if (s->fd >= 0) {
        close(s->fd);
    }
    g_free(s->cpuid);
    g_free(s);
    return false;
}

/* Put the in-kernel PIC, IOAPIC and PIT back in their power-on state. */
static void kvm_reset_chips(KVMState *s)
{
    int ret = kvm_ioctl(s->vm_fd, KVM_SET_IRQCHIP, &s->pic_reset[0]);

    if (ret >= 0) {
        ret = kvm_ioctl(s->vm_fd, KVM_SET_IRQCHIP, &s->pic_reset[1]);
    }
    if (ret >= 0) {
        ret = kvm_ioctl(s->vm_fd, KVM_SET_IRQCHIP, &s->ioapic_reset);
    }
    if (ret >= 0 && s->has_pit) {
        ret = kvm_ioctl(s->vm_fd, KVM_SET_PIT2, &s->pit_reset);
    }
    if (ret < 0) {
        error_report("kvm: cannot reset the in-kernel irqchip: %s",
                     g_strerror(-ret));
    }
}

/* ---- AccelOps ----------------------------------------------------------- */

static bool kvm_start_vcpu(CPUState *cpu, GError **errp)
{
    return kvm_cpu_start(cpu, errp);
}

static void kvm_kick_vcpu(CPUState *cpu)
{
    kvm_cpu_kick(cpu);
}

/* Machine reset, vCPUs paused; CPU 0 comes first and resets the chips. */
static void kvm_reset_vcpu(CPUState *cpu)
{
    g_autoptr(GError) err = NULL;
    KVMVcpu *v;

    if (cpu->index == 0) {
        kvm_reset_chips(kvm_state);
    }
    v = kvm_vcpu_get(cpu, &err);
    if (v) {
        v->failed = false;
        v->in_shutdown = false;
    }
    if (!v || !kvm_x86_vcpu_reset(v, &err)) {
        error_report("kvm: cannot reset CPU %d: %s", cpu->index,
                     err->message);
    }
}

static void kvm_dump_state(CPUState *cpu, GString *out)
{
    g_autoptr(GError) err = NULL;
    KVMVcpu *v = kvm_vcpu_get(cpu, &err);

    if (!v) {
        g_string_append_printf(out, "CPU#%d: %s\n", cpu->index,
                               err->message);
        return;
    }
    kvm_cpu_kick(cpu);      /* out of KVM_RUN: the ioctls wait for that */
    kvm_x86_dump_state(v, out);
}

static const AccelOps kvm_ops = {
    .name = "kvm",
    .type_name = "kvm-accel",
    .available = kvm_available,
    .init_machine = kvm_init_machine,
    .start_vcpu = kvm_start_vcpu,
    .kick_vcpu = kvm_kick_vcpu,
    .reset_vcpu = kvm_reset_vcpu,
    .dump_state = kvm_dump_state,
};

type_init(kvm_register_types)
{
    accel_register(&kvm_ops);
}
