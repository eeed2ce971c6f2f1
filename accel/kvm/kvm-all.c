/*
 * The KVM accelerator: registration and the host check.  The VM itself
 * (memory slots, irqchip, vCPU threads) is built in the files beside this.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "qlite/accel.h"
#include "qlite/error.h"
#include "qlite/object.h"

/* Documentation/virt/kvm/api.rst 4.1: the only stable API version. */
#define KVM_STABLE_API_VERSION 12

static bool kvm_available(GError **errp)
{
    const char *path = accel_kvm_device_path();
    int fd = open(path, O_RDWR | O_CLOEXEC);
    int version;

    if (fd < 0) {
        error_setg(errp, "Could not access KVM kernel module %s: %s",
                   path, g_strerror(errno));
        return false;
    }
    version = ioctl(fd, KVM_GET_API_VERSION, 0);
    close(fd);
    if (version != KVM_STABLE_API_VERSION) {
        error_setg(errp, "%s: KVM API version %d, expected %d", path,
                   version, KVM_STABLE_API_VERSION);
        return false;
    }
    return true;
}

static bool kvm_init_machine(MachineState *ms, GError **errp)
{
    error_setg(errp, "kvm: not implemented yet");
    return false;
}

static bool kvm_start_vcpu(CPUState *cpu, GError **errp)
{
    error_setg(errp, "kvm: not implemented yet");
    return false;
}

static void kvm_kick_vcpu(CPUState *cpu)
{
}

static void kvm_reset_vcpu(CPUState *cpu)
{
}

static void kvm_dump_state(CPUState *cpu, GString *out)
{
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
