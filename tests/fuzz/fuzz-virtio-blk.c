/*
 * libFuzzer target for virtio-blk-pci: the whole pc board built
 * in-process (tests/fuzz/fuzz-machine.c) with one virtio-blk-pci at 00:04.0
 * over a 1 MiB raw image.  Each run starts from a reset board with its
 * BARs programmed as firmware would; the input is a program of register
 * writes and ring-memory writes:
 *
 *   CFG_WRITE    reg:1 size:1 value:4      (config space of 00:04.0)
 *   CFG_READ     reg:1 size:1
 *   MODERN_WRITE off:2 size:1 value:4      (BAR 4, offset mod 16 KiB)
 *   MODERN_READ  off:2 size:1
 *   LEGACY_WRITE off:1 size:1 value:4      (BAR 0, offset mod 128)
 *   LEGACY_READ  off:1 size:1
 *   MSIX_WRITE   off:2 value:4             (BAR 1, dword aligned)
 *   MSIX_READ    off:2
 *   DRIVER_INIT  features:8 qsize:1        (the modern init sequence,
 *                                           rings at FUZZ_RING)
 *   DESC         idx:1 kind:1 addr:4 len:4 flags:1 next:1
 *                  (kind 0: addr in the window, 1: raw 32-bit, 2: << 32)
 *   AVAIL        head:2                    (append to the avail ring)
 *   NOTIFY       queue:1
 *   RAM_WRITE    off:2 len:1 bytes:len     (into the 64 KiB window)
 *   HEADER       off:2 type:1 sector:4     (a request header)
 *   DRAIN        -                         (let block I/O complete)
 *
 * An opcode byte is taken modulo the count; a truncated operation ends
 * the program.  Block requests still in flight are drained at the end.
 */
#include "fuzz-machine.h"
#include "qlite/block.h"
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/pci.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RAM_SIZE       (16 * MiB)
#define FUZZ_IMG_SIZE       (1 * MiB)
#define FUZZ_DEVFN          PCI_DEVFN(4, 0)
#define FUZZ_BAR0           0xc000
#define FUZZ_BAR1           0xe0010000u
#define FUZZ_BAR4           0xe0000000u
#define FUZZ_WINDOW         0x100000u   /* guest RAM the input writes */
#define FUZZ_WINDOW_SIZE    0x10000u
#define FUZZ_RING           FUZZ_WINDOW /* desc; avail +4K; used +8K */

enum {
    OP_CFG_WRITE, OP_CFG_READ, OP_MODERN_WRITE, OP_MODERN_READ,
    OP_LEGACY_WRITE, OP_LEGACY_READ, OP_MSIX_WRITE, OP_MSIX_READ,
    OP_DRIVER_INIT, OP_DESC, OP_AVAIL, OP_NOTIFY, OP_RAM_WRITE, OP_HEADER,
    OP_DRAIN, OP_COUNT
};


static MachineState *fuzz_ms;
static BlockBackend *fuzz_blk;
static uint16_t fuzz_avail_idx;
static uint16_t fuzz_qsize = 256;

/* What firmware leaves: BARs placed, decoding and bus mastering on. */
static void fuzz_firmware(void)
{
    fuzz_pci_cfg_access(FUZZ_DEVFN, 0x10, 4, true, FUZZ_BAR0);
    fuzz_pci_cfg_access(FUZZ_DEVFN, 0x14, 4, true, FUZZ_BAR1);
    fuzz_pci_cfg_access(FUZZ_DEVFN, 0x20, 4, true, FUZZ_BAR4);
    fuzz_pci_cfg_access(FUZZ_DEVFN, 0x24, 4, true, 0);
    fuzz_pci_cfg_access(FUZZ_DEVFN, 0x04, 2, true, 0x7);
}

static void common_w(unsigned off, unsigned size, uint32_t val)
{
    fuzz_mem_access(FUZZ_BAR4 + off, size, true, val);
}

/* 3.1.1 with rings in the window; the fuzzer picks features and size. */
static bool op_driver_init(FuzzInput *in)
{
    uint64_t features, qsize;

    if (!fuzz_take(in, 8, &features) || !fuzz_take(in, 1, &qsize)) {
        return false;
    }
    fuzz_qsize = 1u << (qsize % 9);     /* 1 .. 256 */
    fuzz_avail_idx = 0;
    common_w(0x14, 1, 0);
    common_w(0x14, 1, 3);
    common_w(0x08, 4, 0);
    common_w(0x0c, 4, (uint32_t)features);
    common_w(0x08, 4, 1);
    common_w(0x0c, 4, (uint32_t)(features >> 32) | 1);  /* VERSION_1 */
    common_w(0x14, 1, 0xb);
    common_w(0x16, 2, 0);
    common_w(0x18, 2, fuzz_qsize);
    common_w(0x20, 4, FUZZ_RING);
    common_w(0x28, 4, FUZZ_RING + 0x1000);
    common_w(0x30, 4, FUZZ_RING + 0x2000);
    common_w(0x1c, 2, 1);
    common_w(0x14, 1, 0xf);
    return true;
}

static bool op_desc(FuzzInput *in)
{
    return fuzz_take_virtq_desc(in, FUZZ_RING, FUZZ_WINDOW, FUZZ_WINDOW_SIZE);
}

static bool op_avail(FuzzInput *in)
{
    uint64_t head;

    if (!fuzz_take(in, 2, &head)) {
        return false;
    }
    fuzz_virtq_avail(FUZZ_RING, &fuzz_avail_idx, fuzz_qsize, head);
    return true;
}

static bool op_header(FuzzInput *in)
{
    uint64_t off, type, sector;
    uint8_t h[16] = { 0 };

    if (!fuzz_take(in, 2, &off) || !fuzz_take(in, 1, &type) ||
        !fuzz_take(in, 4, &sector)) {
        return false;
    }
    pci_set_long(h, type);
    pci_set_long(h + 8, sector);
    fuzz_guest_write(FUZZ_WINDOW + off % (FUZZ_WINDOW_SIZE - 16), h,
                     sizeof(h));
    return true;
}

static bool op_reg(FuzzInput *in, int op)
{
    unsigned sz;
    uint64_t off, size = 2, val = 0;
    bool write = op == OP_CFG_WRITE || op == OP_MODERN_WRITE ||
                 op == OP_LEGACY_WRITE || op == OP_MSIX_WRITE;
    unsigned offlen = op == OP_MODERN_WRITE || op == OP_MODERN_READ ||
                      op == OP_MSIX_WRITE || op == OP_MSIX_READ ? 2 : 1;
    bool has_size = op != OP_MSIX_WRITE && op != OP_MSIX_READ;

    if (!fuzz_take(in, offlen, &off) ||
        (has_size && !fuzz_take(in, 1, &size)) ||
        (write && !fuzz_take(in, 4, &val))) {
        return false;
    }
    sz = fuzz_access_size(size);
    switch (op) {
    case OP_CFG_WRITE: case OP_CFG_READ:
        fuzz_pci_cfg_access(FUZZ_DEVFN, off, sz, write, val);
        break;
    case OP_MODERN_WRITE: case OP_MODERN_READ:
        fuzz_mem_access(FUZZ_BAR4 + (off % 0x4000 & ~(uint64_t)(sz - 1)),
                        sz, write, val);
        break;
    case OP_LEGACY_WRITE: case OP_LEGACY_READ:
        fuzz_port_access(FUZZ_BAR0 + (off % 128 & ~(uint64_t)(sz - 1)),
                         sz, write, val);
        break;
    default:
        fuzz_mem_access(FUZZ_BAR1 + (off * 4) % 0x1000, 4, write, val);
        break;
    }
    return true;
}

static void fuzz_drain(void)
{
    blk_drain(fuzz_blk);
    while (g_main_context_iteration(NULL, FALSE)) {
    }
}

static bool run_op(FuzzInput *in)
{
    uint64_t op, q;

    if (!fuzz_take(in, 1, &op)) {
        return false;
    }
    op %= OP_COUNT;
    switch (op) {
    case OP_DRIVER_INIT:    return op_driver_init(in);
    case OP_DESC:           return op_desc(in);
    case OP_AVAIL:          return op_avail(in);
    case OP_RAM_WRITE:      return fuzz_take_ram_write(in, FUZZ_WINDOW,
                                                     FUZZ_WINDOW_SIZE);
    case OP_HEADER:         return op_header(in);
    case OP_NOTIFY:
        if (!fuzz_take(in, 1, &q)) {
            return false;
        }
        fuzz_mem_access(FUZZ_BAR4 + 0x3000 + 4 * (q % 4), 2, true, q % 4);
        return true;
    case OP_DRAIN:
        fuzz_drain();
        return true;
    default:
        return op_reg(in, op);
    }
}

/* A raw image in a file nobody else sees (unlinked once open). */
static void fuzz_make_drive(void)
{
    g_autofree char *path = NULL;
    g_autofree char *opt = NULL;
    GError *err = NULL;
    DriveInfo *d;
    int fd = g_file_open_tmp("qlite-fuzz-vblk-XXXXXX", &path, &err);

    if (fd < 0 || ftruncate(fd, FUZZ_IMG_SIZE) < 0) {
        fprintf(stderr, "fuzz-virtio-blk: no image file\n");
        abort();
    }
    close(fd);
    opt = g_strdup_printf("if=none,id=vd0,format=raw,file=%s", path);
    d = drive_new(opt, IF_NONE, &err);
    unlink(path);
    if (!d) {
        fprintf(stderr, "fuzz-virtio-blk: %s\n", err->message);
        abort();
    }
    fuzz_blk = d->blk;
}

static void fuzz_add_device(void)
{
    DeviceState *dev = qdev_new("virtio-blk-pci");
    GError *err = NULL;

    if (!qdev_prop_set(dev, "drive", "vd0", &err) ||
        !qdev_prop_set(dev, "addr", "4", &err) ||
        !qdev_prop_set(dev, "num-queues", "2", &err) ||
        !qdev_realize_and_unref(dev, qbus_find(TYPE_PCI_BUS), &err)) {
        fprintf(stderr, "fuzz-virtio-blk: %s\n", err->message);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FuzzMachineConfig cfg = { .type = "pc", .ram_size = FUZZ_RAM_SIZE };
    GError *err = NULL;

    fuzz_ms = fuzz_machine_create(&cfg, &err);
    if (!fuzz_ms) {
        fprintf(stderr, "fuzz-virtio-blk: %s\n", err->message);
        abort();
    }
    fuzz_make_drive();
    fuzz_add_device();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = { data, size };

    fuzz_machine_reset(fuzz_ms);
    fuzz_avail_idx = 0;
    fuzz_qsize = 256;
    fuzz_firmware();
    while (run_op(&in)) {
        fuzz_machine_handle_requests();
    }
    fuzz_drain();
    return 0;
}
