/*
 * KVM vCPUs: one thread each, running the KVM_RUN loop.
 *
 * The thread holds the big lock except inside KVM_RUN, so device models
 * see every I/O and MMIO exit with the lock held, as under TCG.  A kick
 * (pause, reset, "info registers") sets kvm_run.immediate_exit and sends
 * SIGUSR1 to the thread: a vCPU inside KVM_RUN leaves it with EINTR, one
 * about to enter returns at once (api.rst 5, immediate_exit).
 */
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm-internal.h"
#include "qlite/cpu.h"
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/memory.h"
#include "qlite/runstate.h"

#define KVM_SIG_KICK SIGUSR1

static QliteBH *kvm_error_bh;

/* ---- creating vCPUs ----------------------------------------------------- */

static bool kvm_vcpu_create(CPUState *cpu, KVMVcpu *v, GError **errp)
{
    void *run;

    v->fd = kvm_ioctl(kvm_state->vm_fd, KVM_CREATE_VCPU,
                      (void *)(uintptr_t)cpu->index);
    if (v->fd < 0) {
        error_setg(errp, "kvm: cannot create vCPU %d: %s", cpu->index,
                   g_strerror(-v->fd));
        return false;
    }
    run = mmap(NULL, kvm_state->vcpu_mmap_size, PROT_READ | PROT_WRITE,
               MAP_SHARED, v->fd, 0);
    if (run == MAP_FAILED) {
        error_setg(errp, "kvm: cannot map vCPU %d's run area: %s",
                   cpu->index, g_strerror(errno));
        close(v->fd);
        return false;
    }
    v->run = run;
    return kvm_x86_vcpu_init(v, errp);
}

/* The vCPU behind @cpu, created on first use (main thread, BQL held). */
KVMVcpu *kvm_vcpu_get(CPUState *cpu, GError **errp)
{
    KVMVcpu *v;

    if (cpu->accel) {
        return cpu->accel;
    }
    v = g_new0(KVMVcpu, 1);
    v->cpu = cpu;
    v->stats_fd = -1;
    if (!kvm_vcpu_create(cpu, v, errp)) {
        g_free(v);
        return NULL;
    }
    kvm_stats_vcpu_init(v);
    cpu->accel = v;
    return v;
}

/* ---- kicks --------------------------------------------------------------- */

/* Empty: the signal's only job is to make KVM_RUN return EINTR. */
static void kvm_sig_kick(int sig)
{
}

void kvm_cpu_signals_init(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kvm_sig_kick;       /* no SA_RESTART: we want EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(KVM_SIG_KICK, &sa, NULL);
}

void kvm_cpu_kick(CPUState *cpu)
{
    KVMVcpu *v = cpu->accel;

    if (!v || !v->run) {
        return;
    }
    __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&v->thread_started, __ATOMIC_ACQUIRE)) {
        pthread_kill(v->thread, KVM_SIG_KICK);
    }
}

/*
 * Host signals (SIGINT, SIGTERM, ...) belong to the main loop; the vCPU
 * thread takes only the kick and the synchronous faults.
 */
static void kvm_vcpu_block_signals(void)
{
    sigset_t set;

    sigfillset(&set);
    sigdelset(&set, KVM_SIG_KICK);
    sigdelset(&set, SIGBUS);
    sigdelset(&set, SIGSEGV);
    sigdelset(&set, SIGFPE);
    sigdelset(&set, SIGILL);
    sigdelset(&set, SIGABRT);
    sigdelset(&set, SIGTRAP);
    pthread_sigmask(SIG_SETMASK, &set, NULL);
}

/* ---- errors -------------------------------------------------------------- */

/* Main thread: stop the VM (a vCPU thread cannot wait for itself). */
static void kvm_error_stop(void *opaque)
{
    vm_stop(RUN_STATE_INTERNAL_ERROR);
}

/*
 * vCPU thread, BQL held: report, dump the registers, and park this vCPU
 * until a reset while the main loop stops the VM.
 */
static void G_GNUC_PRINTF(2, 3) kvm_vcpu_fail(KVMVcpu *v, const char *fmt,
                                               ...)
{
    g_autoptr(GString) regs = g_string_new(NULL);
    g_autofree char *msg = NULL;
    va_list ap;

    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    kvm_x86_dump_state(v, regs);
    error_report("kvm: CPU %d: %s", v->cpu->index, msg);
    fputs(regs->str, stderr);
    v->failed = true;
    v->cpu->halted = true;
    bh_schedule(kvm_error_bh);
}

/* ---- exits --------------------------------------------------------------- */

static void kvm_handle_io(KVMVcpu *v)
{
    struct kvm_run *run = v->run;
    unsigned size = run->io.size;
    uint64_t end = run->io.data_offset + (uint64_t)size * run->io.count;
    uint8_t *data = (uint8_t *)run + run->io.data_offset;

    if ((size != 1 && size != 2 && size != 4) ||
        end > (uint64_t)kvm_state->vcpu_mmap_size) {
        kvm_vcpu_fail(v, "bad I/O exit (size %u, count %u)", size,
                      run->io.count);
        return;
    }
    for (uint32_t i = 0; i < run->io.count; i++, data += size) {
        uint64_t val = 0;

        if (run->io.direction == KVM_EXIT_IO_OUT) {
            memcpy(&val, data, size);
            address_space_st(&address_space_io, run->io.port, size, val);
        } else {
            address_space_ld(&address_space_io, run->io.port, size, &val);
            memcpy(data, &val, size);
        }
    }
}

/* Powers of two as one access (device registers); the rest as bytes. */
static void kvm_handle_mmio(KVMVcpu *v)
{
    struct kvm_run *run = v->run;
    uint64_t addr = run->mmio.phys_addr;
    unsigned len = run->mmio.len;
    bool single = len == 1 || len == 2 || len == 4 || len == 8;
    uint64_t val = 0;

    if (len == 0 || len > sizeof(run->mmio.data)) {
        kvm_vcpu_fail(v, "bad MMIO exit (length %u)", len);
        return;
    }
    if (run->mmio.is_write) {
        memcpy(&val, run->mmio.data, len);
        if (single) {
            address_space_st(&address_space_memory, addr, len, val);
        } else {
            address_space_write(&address_space_memory, addr, &val, len);
        }
    } else {
        if (single) {
            address_space_ld(&address_space_memory, addr, len, &val);
        } else {
            address_space_read(&address_space_memory, addr, &val, len);
        }
        memcpy(run->mmio.data, &val, len);
    }
}

static void kvm_handle_system_event(KVMVcpu *v)
{
    switch (v->run->system_event.type) {
    case KVM_SYSTEM_EVENT_SHUTDOWN:
        qlite_system_shutdown_request(SHUTDOWN_CAUSE_GUEST_SHUTDOWN);
        break;
    case KVM_SYSTEM_EVENT_RESET:
        qlite_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        break;
    default:
        kvm_vcpu_fail(v, "system event %u", v->run->system_event.type);
        return;
    }
    v->in_shutdown = true;
    v->cpu->halted = true;
}

static void kvm_handle_internal_error(KVMVcpu *v)
{
    struct kvm_run *run = v->run;
    g_autoptr(GString) data = g_string_new(NULL);
    uint32_t n = MIN(run->internal.ndata, G_N_ELEMENTS(run->internal.data));

    for (uint32_t i = 0; i < n; i++) {
        g_string_append_printf(data, " 0x%llx",
                               (unsigned long long)run->internal.data[i]);
    }
    kvm_vcpu_fail(v, "KVM internal error, suberror %u%s%s%s",
                  run->internal.suberror,
                  run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
                  " (instruction emulation failed)" : "",
                  n ? ", data" : "", data->str);
}

static void kvm_handle_exit(KVMVcpu *v)
{
    struct kvm_run *run = v->run;

    switch (run->exit_reason) {
    case KVM_EXIT_IO:
        kvm_handle_io(v);
        break;
    case KVM_EXIT_MMIO:
        kvm_handle_mmio(v);
        break;
    case KVM_EXIT_HLT:
    case KVM_EXIT_INTR:
    case KVM_EXIT_IRQ_WINDOW_OPEN:
        break;      /* the in-kernel irqchip does the waiting */
    case KVM_EXIT_SHUTDOWN:
        /* A triple fault: the machine resets (or exits: -no-reboot). */
        qlite_system_reset_request(SHUTDOWN_CAUSE_GUEST_RESET);
        v->in_shutdown = true;
        v->cpu->halted = true;
        break;
    case KVM_EXIT_SYSTEM_EVENT:
        kvm_handle_system_event(v);
        break;
    case KVM_EXIT_FAIL_ENTRY:
        kvm_vcpu_fail(v, "KVM could not enter the guest: hardware entry "
                      "failure reason 0x%llx",
                      (unsigned long long)
                      run->fail_entry.hardware_entry_failure_reason);
        break;
    case KVM_EXIT_INTERNAL_ERROR:
        kvm_handle_internal_error(v);
        break;
    default:
        kvm_vcpu_fail(v, "unhandled KVM exit reason %u", run->exit_reason);
        break;
    }
}

/* ---- the loop ------------------------------------------------------------ */

/* Work for a halted vCPU: only a reset clears a failure or a shutdown. */
static bool kvm_vcpu_has_work(CPUState *cpu)
{
    KVMVcpu *v = cpu->accel;

    return !v->failed && !v->in_shutdown;
}

/* One trip through KVM_RUN; BQL held on entry and exit. */
static void kvm_vcpu_run_once(KVMVcpu *v)
{
    CPUState *cpu = v->cpu;
    int ret;

    cpu_wait_io_event(cpu, kvm_vcpu_has_work);
    /* Clear before checking: a kick after the check exits KVM_RUN. */
    __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
    if (g_atomic_int_get(&cpu->exit_request)) {
        return;
    }
    bql_unlock();
    ret = ioctl(v->fd, KVM_RUN, 0);
    bql_lock();
    if (ret < 0) {
        if (errno != EINTR && errno != EAGAIN) {
            kvm_vcpu_fail(v, "KVM_RUN failed: %s", g_strerror(errno));
        }
        return;
    }
    kvm_handle_exit(v);
}

static gpointer kvm_vcpu_thread(gpointer opaque)
{
    KVMVcpu *v = opaque;

    kvm_vcpu_block_signals();
    cpu_thread_publish_tid(&v->cpu->thread_id);
    v->thread = pthread_self();
    __atomic_store_n(&v->thread_started, true, __ATOMIC_RELEASE);
    bql_lock();
    v->cpu->created = true;
    for (;;) {
        kvm_vcpu_run_once(v);
    }
    return NULL;
}

bool kvm_cpu_start(CPUState *cpu, GError **errp)
{
    g_autofree char *name = g_strdup_printf("CPU %d/KVM", cpu->index);
    KVMVcpu *v = kvm_vcpu_get(cpu, errp);

    if (!v) {
        return false;
    }
    if (!kvm_error_bh) {
        kvm_error_bh = bh_new(kvm_error_stop, NULL);
    }
    cpu->thread = g_thread_try_new(name, kvm_vcpu_thread, v, errp);
    if (!cpu->thread) {
        return false;
    }
    cpu_thread_await_tid(&cpu->thread_id);
    return true;
}
