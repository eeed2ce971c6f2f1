/*
 * The board for device fuzzers, built in the order system/vl-run.c uses:
 * address spaces and main loop, chardevs, accelerator, machine init,
 * run-state hooks, reset, start.
 */
#include "fuzz-machine.h"
#include "qlite/accel.h"
#include "qlite/chardev.h"
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/runstate.h"

/* RAM written since the last reset, [dirty_lo, dirty_hi) guest-physical. */
static uint64_t dirty_lo = UINT64_MAX, dirty_hi;

static void fuzz_machine_ram_written(uint64_t addr, uint64_t len)
{
    dirty_lo = MIN(dirty_lo, addr);
    dirty_hi = MAX(dirty_hi, addr + len < addr ? UINT64_MAX : addr + len);
}

static void fuzz_machine_reset_hook(ShutdownCause cause)
{
    machine_reset(qdev_get_machine());
}

static void fuzz_machine_powerdown_hook(void)
{
    MachineState *ms = qdev_get_machine();
    MachineClass *mc = MACHINE_GET_CLASS(ms);

    if (mc->powerdown) {
        mc->powerdown(ms);
    }
}

/* No vCPU threads under qtest: nothing to pause or resume. */
static const RunstateHooks fuzz_machine_hooks = {
    .reset = fuzz_machine_reset_hook,
    .powerdown = fuzz_machine_powerdown_hook,
};

static MachineState *fuzz_machine_new(const FuzzMachineConfig *cfg,
                                      GError **errp)
{
    MachineClass *mc = cfg->type ? machine_find_class(cfg->type)
                                 : machine_default_class();
    MachineState *ms;
    unsigned cpus = cfg->cpus ? cfg->cpus : 1;

    if (!mc) {
        error_setg(errp, "no machine type '%s'", cfg->type);
        return NULL;
    }
    ms = MACHINE(object_new(object_class_get_name(OBJECT_CLASS(mc))));
    object_property_add_child(object_get_root(), "machine", OBJECT(ms));
    object_unref(OBJECT(ms));
    machine_set_current(ms);
    ms->ram_size = cfg->ram_size ? cfg->ram_size : mc->default_ram_size;
    ms->smp = (SmpConfig){ cpus, cpus, 1, 1, 1, cpus };
    if (mc->no_cpus) {
        ms->smp.cpus = 0;
    }
    ms->kernel_cmdline = g_strdup("");
    return ms;
}

MachineState *fuzz_machine_create(const FuzzMachineConfig *cfg,
                                  GError **errp)
{
    g_autoptr(GPtrArray) accels = g_ptr_array_new();
    MachineState *ms;

    qlite_register_all_types();
    ms = fuzz_machine_new(cfg, errp);
    if (!ms) {
        return NULL;
    }
    memory_system_init();
    main_loop_init();
    /* Device code runs with the big lock held, as in the main loop. */
    if (!bql_locked()) {
        bql_lock();
    }
    runstate_set_no_shutdown(true);
    ms->serial_hds[0] = chardev_new_legacy("serial0", "null", errp);
    if (!ms->serial_hds[0]) {
        return NULL;
    }
    g_ptr_array_add(accels, (char *)"qtest");
    if (!accel_setup(accels, "-accel", ms, errp) ||
        !MACHINE_GET_CLASS(ms)->init(ms, errp)) {
        return NULL;
    }
    runstate_set_hooks(&fuzz_machine_hooks);
    memory_add_ram_write_notifier(fuzz_machine_ram_written);
    machine_reset(ms);
    vm_start();
    return ms;
}

void fuzz_machine_handle_requests(void)
{
    int status;

    runstate_handle_requests(&status);
    if (!runstate_is_running()) {
        vm_start();
    }
}

/*
 * Zeroing all of RAM per run would dominate a run's time: clear what the
 * memory API says was written (RAM below 4 GiB is at guest address 0).
 */
void fuzz_machine_reset(MachineState *ms)
{
    uint64_t size = ms->ram ? memory_region_size(ms->ram) : 0;

    if (dirty_lo < MIN(dirty_hi, size)) {
        memset((uint8_t *)memory_region_get_ram_ptr(ms->ram) + dirty_lo, 0,
               MIN(dirty_hi, size) - dirty_lo);
    }
    dirty_lo = UINT64_MAX;
    dirty_hi = 0;
    machine_reset(ms);
    fuzz_machine_handle_requests();
}

bool fuzz_take(FuzzInput *in, unsigned n, uint64_t *out)
{
    uint64_t v = 0;

    if (in->left < n) {
        return false;
    }
    for (unsigned i = 0; i < n; i++) {
        v |= (uint64_t)in->p[i] << (8 * i);
    }
    in->p += n;
    in->left -= n;
    *out = v;
    return true;
}

/* ---- device access, as a guest driver would make it ------------------- */

unsigned fuzz_access_size(uint64_t sel)
{
    return 1u << (sel % 3);     /* 1, 2 or 4 bytes */
}

void fuzz_mem_access(uint64_t addr, unsigned size, bool write, uint64_t val)
{
    if (write) {
        address_space_st(&address_space_memory, addr, size, val);
    } else {
        address_space_ld(&address_space_memory, addr, size, &val);
    }
}

void fuzz_port_access(uint16_t port, unsigned size, bool write, uint64_t val)
{
    if (write) {
        address_space_st(&address_space_io, port, size, val);
    } else {
        address_space_ld(&address_space_io, port, size, &val);
    }
}

void fuzz_pci_cfg_access(uint8_t devfn, uint8_t reg, unsigned size,
                         bool write, uint32_t val)
{
    reg &= ~(size - 1);
    fuzz_port_access(0xcf8, 4, true,
                     0x80000000u | devfn << 8 | (reg & 0xfc));
    fuzz_port_access(0xcfc + (reg & 3), size, write, val);
}

void fuzz_guest_write(uint64_t addr, const void *buf, size_t len)
{
    address_space_write(&address_space_memory, addr, buf, len);
}

bool fuzz_take_ram_write(FuzzInput *in, uint64_t window, uint64_t size)
{
    uint64_t off, len;

    if (!fuzz_take(in, 2, &off) || !fuzz_take(in, 1, &len) ||
        in->left < len) {
        return false;
    }
    off %= size;
    len = MIN(len, size - off);
    fuzz_guest_write(window + off, in->p, len);
    in->p += len;
    in->left -= len;
    return true;
}

/* ---- split virtqueues laid out as desc, avail +0x1000, used +0x2000 ---- */

bool fuzz_take_virtq_desc(FuzzInput *in, uint64_t ring, uint64_t window,
                          uint64_t window_size)
{
    uint64_t idx, kind, addr, len, flags, next;
    uint8_t d[16];

    if (!fuzz_take(in, 1, &idx) || !fuzz_take(in, 1, &kind) ||
        !fuzz_take(in, 4, &addr) || !fuzz_take(in, 4, &len) ||
        !fuzz_take(in, 1, &flags) || !fuzz_take(in, 1, &next)) {
        return false;
    }
    /* Inside the data window, anywhere low, or far past RAM. */
    switch (kind % 3) {
    case 0:
        addr = window + addr % window_size;
        break;
    case 2:
        addr <<= 32;
        break;
    }
    /* struct virtq_desc: le64 addr, le32 len, le16 flags, le16 next. */
    for (int i = 0; i < 8; i++) {
        d[i] = addr >> (8 * i);
    }
    for (int i = 0; i < 4; i++) {
        d[8 + i] = len >> (8 * i);
    }
    d[12] = flags & 7;
    d[13] = 0;
    d[14] = next;
    d[15] = next >> 8;
    fuzz_guest_write(ring + 16 * (idx % 256), d, sizeof(d));
    return true;
}

void fuzz_virtq_avail(uint64_t ring, uint16_t *avail_idx, uint16_t qsize,
                      uint16_t head)
{
    uint16_t h = GUINT16_TO_LE(head), idx;

    fuzz_guest_write(ring + 0x1000 + 4 + 2 * (*avail_idx % qsize), &h, 2);
    (*avail_idx)++;
    idx = GUINT16_TO_LE(*avail_idx);
    fuzz_guest_write(ring + 0x1000 + 2, &idx, 2);
}
