/*
 * libFuzzer target for the pc board's guest-facing devices: the input is a
 * program of port and MMIO accesses, virtual-clock steps and interrupt
 * acknowledges, run against the whole board built in-process with the
 * qtest accelerator (tests/fuzz/fuzz-machine.c).  Every run starts from a
 * reset board with zeroed RAM.
 *
 * Each operation is one opcode byte (taken modulo FUZZ_OP_COUNT) and its
 * operands, little-endian; a truncated operation ends the program:
 *
 *   PIO_IN      port-index:1 size:1        (a port from fuzz_ports[])
 *   PIO_OUT     port-index:1 size:1 value:4
 *   PIO_IN_ANY  port:2 size:1              (any port)
 *   PIO_OUT_ANY port:2 size:1 value:4
 *   MMIO_READ   window:1 offset:4 size:1   (offset modulo the window)
 *   MMIO_WRITE  window:1 offset:4 size:1 value:8
 *   CLOCK_STEP  ns:4                       (0: to the next deadline;
 *                                          at most 2.5 s per run)
 *   RAM_WRITE   addr:2 len:1 bytes:len     (into the first 64 KiB)
 *   FWCFG_DMA   desc:2 control:4 length:4 addr:4
 *                  (writes the descriptor at desc, then kicks 0x514)
 *   PCI_READ    bdf:2 reg:1 size:1         (through 0xcf8/0xcfc)
 *   PCI_WRITE   bdf:2 reg:1 size:1 value:4
 *   INTA        -                          (the CPU takes an interrupt)
 *   CPU_SELECT  index:1                    (whose LAPIC MMIO reaches)
 *   APIC_MSR    tpr:1 base:8               (CR8 and IA32_APIC_BASE writes)
 *
 * QLITE_FUZZ_TRACE=1 prints the run as qtest protocol lines (comments
 * for what qtest cannot say), so a crash becomes a regression test in
 * tests/functional/ by pasting.
 */
#include "fuzz-machine.h"
#include "qlite/apic.h"
#include "qlite/cpu.h"
#include "qlite/main-loop.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RAM_SIZE       (16 * MiB)
#define FUZZ_CPUS           2
#define FUZZ_RAM_WINDOW     0x10000     /* RAM_WRITE and DMA descriptors */
/*
 * Virtual time per run: enough for RTC seconds and alarms, bounded
 * because a guest may program a timer every microsecond (legal, and
 * then each step runs a callback per period).
 */
#define FUZZ_MAX_STEP_NS    INT64_C(1100000000)
#define FUZZ_MAX_RUN_NS     INT64_C(2500000000)

/* The ports of the devices under test; PIO_IN_ANY reaches the others. */
static const uint16_t fuzz_ports[] = {
    0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1,           /* i8259, ELCR */
    0x40, 0x41, 0x42, 0x43, 0x61,                   /* PIT, port 61 */
    0x70, 0x71,                                     /* RTC */
    0x60, 0x64,                                     /* i8042 */
    0x92, 0x80,                                     /* port 92, POST */
    0x510, 0x511, 0x514, 0x518,                     /* fw_cfg (+DMA) */
    0xcf8, 0xcf9, 0xcfc, 0xcfd, 0xcfe, 0xcff,       /* PCI, reset */
    0x3f8, 0x3f9, 0x3fa, 0x3fb, 0x3fc, 0x3fd, 0x3fe, 0x3ff, /* COM1 */
    0xb2, 0xb3, 0x600, 0x604, 0x608, 0xafe0, 0xafe2, /* ACPI PM */
};

typedef struct FuzzWindow {
    uint64_t base;
    uint64_t size;
} FuzzWindow;

static const FuzzWindow fuzz_windows[] = {
    { 0xfec00000, 0x1000 },         /* IOAPIC */
    { 0xfee00000, 0x1000 },         /* LAPIC page */
    { 0xfee00000, 0x100000 },       /* LAPIC page + MSI window */
    { 0x0, FUZZ_RAM_WINDOW },       /* low RAM */
    { 0xfffc0000, 0x40000 },        /* ROM below 4 GiB */
    { 0xe0000000, 0x20000000 },     /* PCI hole: mostly unassigned */
};

enum {
    FUZZ_OP_PIO_IN,
    FUZZ_OP_PIO_OUT,
    FUZZ_OP_PIO_IN_ANY,
    FUZZ_OP_PIO_OUT_ANY,
    FUZZ_OP_MMIO_READ,
    FUZZ_OP_MMIO_WRITE,
    FUZZ_OP_CLOCK_STEP,
    FUZZ_OP_RAM_WRITE,
    FUZZ_OP_FWCFG_DMA,
    FUZZ_OP_PCI_READ,
    FUZZ_OP_PCI_WRITE,
    FUZZ_OP_INTA,
    FUZZ_OP_CPU_SELECT,
    FUZZ_OP_APIC_MSR,
    FUZZ_OP_COUNT
};


static MachineState *fuzz_ms;
static bool fuzz_trace;
static int64_t fuzz_run_end;    /* no clock step goes past this */

static unsigned fuzz_size(uint64_t sel)
{
    return 1u << (sel & 3);
}

static uint64_t fuzz_mask(uint64_t val, unsigned size)
{
    return size == 8 ? val : val & ((UINT64_C(1) << (8 * size)) - 1);
}

static const char *fuzz_suffix(unsigned size)
{
    return size == 1 ? "b" : size == 2 ? "w" : size == 4 ? "l" : "q";
}

/* Port accesses are at most 4 bytes wide. */
static void fuzz_pio(uint16_t port, unsigned size, bool write, uint64_t val)
{
    size = MIN(size, 4);
    val = fuzz_mask(val, size);
    if (fuzz_trace) {
        if (write) {
            fprintf(stderr, "out%s 0x%x 0x%" PRIx64 "\n", fuzz_suffix(size),
                    port, val);
        } else {
            fprintf(stderr, "in%s 0x%x\n", fuzz_suffix(size), port);
        }
    }
    if (write) {
        address_space_st(&address_space_io, port, size, val);
    } else {
        address_space_ld(&address_space_io, port, size, &val);
    }
}

static void fuzz_mmio(uint64_t addr, unsigned size, bool write, uint64_t val)
{
    val = fuzz_mask(val, size);
    if (fuzz_trace) {
        if (write) {
            fprintf(stderr, "write%s 0x%" PRIx64 " 0x%" PRIx64 "\n",
                    fuzz_suffix(size), addr, val);
        } else {
            fprintf(stderr, "read%s 0x%" PRIx64 "\n", fuzz_suffix(size),
                    addr);
        }
    }
    if (write) {
        address_space_st(&address_space_memory, addr, size, val);
    } else {
        address_space_ld(&address_space_memory, addr, size, &val);
    }
}

static bool fuzz_op_pio(FuzzInput *in, bool any, bool write)
{
    uint64_t port, size, val = 0;

    if (!fuzz_take(in, any ? 2 : 1, &port) || !fuzz_take(in, 1, &size) ||
        (write && !fuzz_take(in, 4, &val))) {
        return false;
    }
    if (!any) {
        port = fuzz_ports[port % G_N_ELEMENTS(fuzz_ports)];
    }
    fuzz_pio(port, fuzz_size(size), write, val);
    return true;
}

static bool fuzz_op_mmio(FuzzInput *in, bool write)
{
    uint64_t win, off, size, val = 0;
    const FuzzWindow *w;
    unsigned n;

    if (!fuzz_take(in, 1, &win) || !fuzz_take(in, 4, &off) ||
        !fuzz_take(in, 1, &size) || (write && !fuzz_take(in, 8, &val))) {
        return false;
    }
    w = &fuzz_windows[win % G_N_ELEMENTS(fuzz_windows)];
    n = fuzz_size(size);
    fuzz_mmio(w->base + off % (w->size - n + 1), n, write, val);
    return true;
}

static bool fuzz_op_clock(FuzzInput *in)
{
    int64_t now = clock_get_ns(QLITE_CLOCK_VIRTUAL);
    int64_t target;
    uint64_t ns;

    if (!fuzz_take(in, 4, &ns)) {
        return false;
    }
    if (ns) {
        target = now + (int64_t)MIN(ns, (uint64_t)FUZZ_MAX_STEP_NS);
    } else {
        target = clock_virtual_next_deadline();
    }
    target = MIN(target, fuzz_run_end);
    if (fuzz_trace) {
        fprintf(stderr, "clock_step %" PRIi64 "\n", MAX(target - now, 0));
    }
    if (target > now) {
        clock_virtual_advance(target);
    }
    return true;
}

static void fuzz_ram_write(uint64_t addr, const uint8_t *buf, size_t len)
{
    if (fuzz_trace) {
        fprintf(stderr, "write 0x%" PRIx64 " %zu 0x", addr, len);
        for (size_t i = 0; i < len; i++) {
            fprintf(stderr, "%02x", buf[i]);
        }
        fprintf(stderr, "\n");
    }
    address_space_write(&address_space_memory, addr, buf, len);
}

static bool fuzz_op_ram_write(FuzzInput *in)
{
    uint64_t addr, len;

    if (!fuzz_take(in, 2, &addr) || !fuzz_take(in, 1, &len) ||
        in->left < len) {
        return false;
    }
    len = MIN(len, FUZZ_RAM_WINDOW - addr);
    fuzz_ram_write(addr, in->p, len);
    in->p += len;
    in->left -= len;
    return true;
}

/*
 * The fw_cfg DMA interface: a 16-byte big-endian descriptor
 * { be32 control; be32 length; be64 address } in guest RAM, whose address
 * goes big-endian into 0x514 (high half) and 0x518 (low half, starts it).
 */
static bool fuzz_op_fwcfg_dma(FuzzInput *in)
{
    uint64_t desc, control, length, addr;
    uint8_t d[16];

    if (!fuzz_take(in, 2, &desc) || !fuzz_take(in, 4, &control) ||
        !fuzz_take(in, 4, &length) || !fuzz_take(in, 4, &addr)) {
        return false;
    }
    desc = MIN(desc, FUZZ_RAM_WINDOW - sizeof(d));
    for (int i = 0; i < 4; i++) {
        d[i] = control >> (24 - 8 * i);
        d[4 + i] = length >> (24 - 8 * i);
    }
    for (int i = 0; i < 8; i++) {
        d[8 + i] = addr >> (56 - 8 * i);
    }
    fuzz_ram_write(desc, d, sizeof(d));
    fuzz_pio(0x514, 4, true, 0);
    fuzz_pio(0x518, 4, true, GUINT32_SWAP_LE_BE((uint32_t)desc));
    return true;
}

static bool fuzz_op_pci(FuzzInput *in, bool write)
{
    uint64_t bdf, reg, size, val = 0;
    unsigned n;

    if (!fuzz_take(in, 2, &bdf) || !fuzz_take(in, 1, &reg) ||
        !fuzz_take(in, 1, &size) || (write && !fuzz_take(in, 4, &val))) {
        return false;
    }
    n = MIN(fuzz_size(size), 4);
    reg &= ~(uint64_t)(n - 1);      /* as a CPU splits it: aligned */
    fuzz_pio(0xcf8, 4, true, 0x80000000u | bdf << 8 | (reg & 0xfc));
    fuzz_pio(0xcfc + (reg & 3), n, write, val);
    return true;
}

/* What the CPU does when its INTR is up and it takes the interrupt. */
static void fuzz_op_inta(void)
{
    CPUState *cpu = cpu_get(0);

    if (fuzz_trace) {
        fprintf(stderr, "# inta (CPU 0 acknowledges an interrupt)\n");
    }
    if (cpu && (g_atomic_int_get(&cpu->interrupt_request) &
                CPU_INTERRUPT_HARD)) {
        apic_intr_ack(cpu);
    }
}

static bool fuzz_op_cpu_select(FuzzInput *in)
{
    uint64_t idx;

    if (!fuzz_take(in, 1, &idx)) {
        return false;
    }
    idx %= FUZZ_CPUS;
    if (fuzz_trace) {
        fprintf(stderr, "# LAPIC accesses now reach CPU %u\n",
                (unsigned)idx);
    }
    apic_set_current_cpu(cpu_get(idx));
    return true;
}

/* MOV CR8 and WRMSR IA32_APIC_BASE, as the CPU passes them on. */
static bool fuzz_op_apic_msr(FuzzInput *in)
{
    uint64_t tpr, base;
    CPUState *cpu = cpu_get(0);

    if (!fuzz_take(in, 1, &tpr) || !fuzz_take(in, 8, &base)) {
        return false;
    }
    if (fuzz_trace) {
        fprintf(stderr, "# CPU 0: cr8 = %u, apic_base = 0x%" PRIx64 "\n",
                (unsigned)(tpr & 0xf), base);
    }
    apic_set_tpr(cpu, tpr & 0xf);
    apic_set_base(cpu, base);
    return true;
}

static bool fuzz_run_op(FuzzInput *in)
{
    uint64_t op;

    if (!fuzz_take(in, 1, &op)) {
        return false;
    }
    switch (op % FUZZ_OP_COUNT) {
    case FUZZ_OP_PIO_IN:        return fuzz_op_pio(in, false, false);
    case FUZZ_OP_PIO_OUT:       return fuzz_op_pio(in, false, true);
    case FUZZ_OP_PIO_IN_ANY:    return fuzz_op_pio(in, true, false);
    case FUZZ_OP_PIO_OUT_ANY:   return fuzz_op_pio(in, true, true);
    case FUZZ_OP_MMIO_READ:     return fuzz_op_mmio(in, false);
    case FUZZ_OP_MMIO_WRITE:    return fuzz_op_mmio(in, true);
    case FUZZ_OP_CLOCK_STEP:    return fuzz_op_clock(in);
    case FUZZ_OP_RAM_WRITE:     return fuzz_op_ram_write(in);
    case FUZZ_OP_FWCFG_DMA:     return fuzz_op_fwcfg_dma(in);
    case FUZZ_OP_PCI_READ:      return fuzz_op_pci(in, false);
    case FUZZ_OP_PCI_WRITE:     return fuzz_op_pci(in, true);
    case FUZZ_OP_INTA:          fuzz_op_inta(); return true;
    case FUZZ_OP_CPU_SELECT:    return fuzz_op_cpu_select(in);
    default:                    return fuzz_op_apic_msr(in);
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FuzzMachineConfig cfg = {
        .type = "pc", .ram_size = FUZZ_RAM_SIZE, .cpus = FUZZ_CPUS,
    };
    GError *err = NULL;

    fuzz_trace = g_getenv("QLITE_FUZZ_TRACE") != NULL;
    fuzz_ms = fuzz_machine_create(&cfg, &err);
    if (!fuzz_ms) {
        fprintf(stderr, "fuzz-pc-devices: %s\n", err->message);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = { data, size };

    apic_set_current_cpu(cpu_get(0));
    fuzz_machine_reset(fuzz_ms);
    fuzz_run_end = clock_get_ns(QLITE_CLOCK_VIRTUAL) + FUZZ_MAX_RUN_NS;
    if (fuzz_trace) {
        fprintf(stderr, "# new run: board reset, RAM zeroed\n");
    }
    while (fuzz_run_op(&in)) {
        fuzz_machine_handle_requests();
    }
    return 0;
}
