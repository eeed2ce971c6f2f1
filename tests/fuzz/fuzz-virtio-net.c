/*
 * libFuzzer target for virtio-net-pci: the whole pc board built
 * in-process (tests/fuzz/fuzz-machine.c) with two virtio-net-pci
 * functions, each peered with an in-process back end that records what
 * it gets and can refuse frames (to exercise the sent-callback flow
 * control): 00:04.0 on a plain back end (software checksum and TSO),
 * 00:05.0 on one that carries the virtio-net header, as tap does.
 * Each run starts from a reset board with the BARs of both programmed as
 * firmware would; the input is a program:
 *
 *   SELECT       dev:1                     (which function the rest uses)
 *   CFG_WRITE    reg:1 size:1 value:4      (config space)
 *   CFG_READ     reg:1 size:1
 *   MODERN_WRITE off:2 size:1 value:4      (BAR 4, offset mod 16 KiB)
 *   MODERN_READ  off:2 size:1
 *   LEGACY_WRITE off:1 size:1 value:4      (BAR 0, offset mod 64)
 *   LEGACY_READ  off:1 size:1
 *   MSIX_WRITE   off:2 value:4             (BAR 1, dword aligned)
 *   DRIVER_INIT  features:8 qsize:1        (modern init, three queues
 *                                           with rings in the window)
 *   DESC         q:1 idx:1 kind:1 addr:4 len:4 flags:1 next:1
 *                  (kind 0: addr in the window, 1: raw 32-bit, 2: << 32)
 *   AVAIL        q:1 head:2                (append to queue q's avail)
 *   NOTIFY       q:1
 *   RAM_WRITE    off:2 len:1 bytes:len     (into the 64 KiB window)
 *   NET_HDR      off:2 flags:1 gso:1 hdr_len:2 gso_size:2 cstart:2 coff:2
 *   FRAME        off:2 kind:1 len:2        (a frame template in the window)
 *   INJECT       kind:1 len:2 dst:1 hdr:10 (the back end sends to the NIC)
 *   BLOCK        on:1                      (the back end refuses frames;
 *                                           off delivers what waited)
 *   LINK         up:1                      (set_link on the NIC)
 *   DRAIN        -                         (run bottom halves)
 *
 * An opcode byte is taken modulo the count; a truncated operation ends
 * the program.
 */
#include "fuzz-machine.h"
#include "qlite/main-loop.h"
#include "qlite/net.h"
#include "qlite/pci.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RAM_SIZE       (16 * MiB)
#define FUZZ_NDEV           2
#define FUZZ_WINDOW         0x100000u   /* guest RAM the input writes */
#define FUZZ_WINDOW_SIZE    0x10000u
#define FUZZ_RING           FUZZ_WINDOW /* queue q at + q * 12 KiB */
#define FUZZ_RING_STRIDE    0x3000u
#define FUZZ_NQUEUES        3

enum {
    OP_SELECT, OP_CFG_WRITE, OP_CFG_READ, OP_MODERN_WRITE, OP_MODERN_READ,
    OP_LEGACY_WRITE, OP_LEGACY_READ, OP_MSIX_WRITE, OP_DRIVER_INIT, OP_DESC,
    OP_AVAIL, OP_NOTIFY, OP_RAM_WRITE, OP_NET_HDR, OP_FRAME, OP_INJECT,
    OP_BLOCK, OP_LINK, OP_DRAIN, OP_COUNT
};

typedef struct FuzzNic {
    uint8_t devfn;
    uint16_t bar0;
    uint32_t bar1, bar4;
    const char *netdev, *id;
    NetClientState *backend;
    bool vnet_hdr;
    bool blocked;
    uint16_t avail_idx[FUZZ_NQUEUES];
    uint16_t qsize;
} FuzzNic;

static FuzzNic fuzz_nics[FUZZ_NDEV] = {
    { PCI_DEVFN(4, 0), 0xc000, 0xe0010000u, 0xe0000000u, "fz0", "nic0" },
    { PCI_DEVFN(5, 0), 0xc100, 0xe0030000u, 0xe0020000u, "fz1", "nic1",
      .vnet_hdr = true },
};
static FuzzNic *cur = &fuzz_nics[0];
static MachineState *fuzz_ms;

/* ---- the back end ---- */

static ssize_t fuzz_backend_receive(NetClientState *nc,
                                    const struct iovec *iov, int iovcnt)
{
    FuzzNic *n = nc->opaque;
    size_t len = 0;

    if (n->blocked) {
        return 0;
    }
    for (int i = 0; i < iovcnt; i++) {
        len += iov[i].iov_len;
    }
    /* What a device hands its back end: never more than a GSO frame. */
    if (len > NET_MAX_FRAME + VIRTIO_NET_HDR_LEN) {
        abort();
    }
    return len;
}

static bool fuzz_backend_vnet(NetClientState *nc)
{
    return ((FuzzNic *)nc->opaque)->vnet_hdr;
}

static const NetClientInfo fuzz_backend_info = {
    .kind = NET_CLIENT_TAP,
    .receive = fuzz_backend_receive,
    .has_vnet_hdr = fuzz_backend_vnet,
};

/* ---- register access ---- */

/* What firmware leaves: BARs placed, decoding and bus mastering on. */
static void fuzz_firmware(void)
{
    for (unsigned i = 0; i < FUZZ_NDEV; i++) {
        FuzzNic *n = &fuzz_nics[i];

        fuzz_pci_cfg_access(n->devfn, 0x10, 4, true, n->bar0);
        fuzz_pci_cfg_access(n->devfn, 0x14, 4, true, n->bar1);
        fuzz_pci_cfg_access(n->devfn, 0x20, 4, true, n->bar4);
        fuzz_pci_cfg_access(n->devfn, 0x24, 4, true, 0);
        fuzz_pci_cfg_access(n->devfn, 0x04, 2, true, 0x7);
    }
}

static void common_w(unsigned off, unsigned size, uint32_t val)
{
    fuzz_mem_access(cur->bar4 + off, size, true, val);
}

static uint64_t ring_of(unsigned q)
{
    return FUZZ_RING + FUZZ_RING_STRIDE * (q % FUZZ_NQUEUES);
}

/* 3.1.1 with the rings in the window; the input picks features, size. */
static bool op_driver_init(FuzzInput *in)
{
    uint64_t features, qsize;

    if (!fuzz_take(in, 8, &features) || !fuzz_take(in, 1, &qsize)) {
        return false;
    }
    cur->qsize = 1u << (qsize % 9);     /* 1 .. 256 */
    memset(cur->avail_idx, 0, sizeof(cur->avail_idx));
    common_w(0x14, 1, 0);
    common_w(0x14, 1, 3);
    common_w(0x08, 4, 0);
    common_w(0x0c, 4, (uint32_t)features);
    common_w(0x08, 4, 1);
    common_w(0x0c, 4, (uint32_t)(features >> 32) | 1);  /* VERSION_1 */
    common_w(0x14, 1, 0xb);
    for (unsigned q = 0; q < FUZZ_NQUEUES; q++) {
        common_w(0x16, 2, q);
        common_w(0x18, 2, cur->qsize);
        common_w(0x20, 4, ring_of(q));
        common_w(0x28, 4, ring_of(q) + 0x1000);
        common_w(0x30, 4, ring_of(q) + 0x2000);
        common_w(0x1c, 2, 1);
    }
    common_w(0x14, 1, 0xf);
    return true;
}

static bool op_desc(FuzzInput *in)
{
    uint64_t q;

    return fuzz_take(in, 1, &q) &&
           fuzz_take_virtq_desc(in, ring_of(q), FUZZ_WINDOW,
                                FUZZ_WINDOW_SIZE);
}

static bool op_avail(FuzzInput *in)
{
    uint64_t q, head;

    if (!fuzz_take(in, 1, &q) || !fuzz_take(in, 2, &head)) {
        return false;
    }
    q %= FUZZ_NQUEUES;
    fuzz_virtq_avail(ring_of(q), &cur->avail_idx[q], cur->qsize, head);
    return true;
}

static bool op_net_hdr(FuzzInput *in)
{
    uint64_t off, flags, gso, hlen, gsize, cstart, coff;
    uint8_t h[12] = { 0 };

    if (!fuzz_take(in, 2, &off) || !fuzz_take(in, 1, &flags) ||
        !fuzz_take(in, 1, &gso) || !fuzz_take(in, 2, &hlen) ||
        !fuzz_take(in, 2, &gsize) || !fuzz_take(in, 2, &cstart) ||
        !fuzz_take(in, 2, &coff)) {
        return false;
    }
    h[0] = flags;
    h[1] = gso;
    pci_set_word(h + 2, hlen);
    pci_set_word(h + 4, gsize);
    pci_set_word(h + 6, cstart);
    pci_set_word(h + 8, coff);
    fuzz_guest_write(FUZZ_WINDOW + off % (FUZZ_WINDOW_SIZE - sizeof(h)), h,
                     sizeof(h));
    return true;
}

/* ---- frames ---- */

static const uint8_t fuzz_macs[4][ETH_ALEN] = {
    { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 },     /* nic0's */
    { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff },
    { 0x01, 0x00, 0x5e, 0x00, 0x00, 0x01 },
    { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc },
};

/*
 * A frame of kind 0 TCP/IPv4, 1 TCP/IPv6, 2 UDP/IPv4, 3 ARP, 4 tagged
 * TCP/IPv4, 5 raw, with @len bytes in all (at least the headers).
 */
static size_t fuzz_frame(uint8_t *f, unsigned kind, size_t len,
                         const uint8_t *dst)
{
    size_t l3 = ETH_HLEN, l4, min;
    bool v6 = kind == 1;

    memset(f, 0, len);
    memcpy(f, dst, ETH_ALEN);
    memcpy(f + 6, fuzz_macs[3], ETH_ALEN);
    kind %= 6;
    if (kind == 4) {
        f[12] = 0x81;
        f[14] = 0x00;
        f[15] = 0x05;
        l3 += 4;
    }
    if (kind == 3) {
        f[l3 - 2] = 0x08;
        f[l3 - 1] = 0x06;
        return MAX(len, (size_t)ETH_MIN_FRAME);
    }
    if (kind == 5) {
        return MAX(len, (size_t)ETH_HLEN);
    }
    l4 = l3 + (v6 ? 40 : 20);
    min = l4 + (kind == 2 ? 8 : 20);
    len = MAX(len, min);
    memset(f + min, 0xa5, len - min);
    f[l3 - 2] = v6 ? 0x86 : 0x08;
    f[l3 - 1] = v6 ? 0xdd : 0x00;
    if (v6) {
        f[l3] = 0x60;
        pci_set_word(f + l3 + 4, GUINT16_TO_BE(len - l4));
        f[l3 + 6] = 6;
        f[l3 + 7] = 64;
    } else {
        f[l3] = 0x45;
        pci_set_word(f + l3 + 2, GUINT16_TO_BE(len - l3));
        f[l3 + 8] = 64;
        f[l3 + 9] = kind == 2 ? 17 : 6;
    }
    if (kind == 2) {
        pci_set_word(f + l4 + 4, GUINT16_TO_BE(len - l4));
    } else {
        f[l4 + 12] = 0x50;          /* data offset 5 */
        f[l4 + 13] = 0x18;          /* PSH ACK */
    }
    return len;
}

static bool op_frame(FuzzInput *in)
{
    static uint8_t f[FUZZ_WINDOW_SIZE];
    uint64_t off, kind, len;

    if (!fuzz_take(in, 2, &off) || !fuzz_take(in, 1, &kind) ||
        !fuzz_take(in, 2, &len)) {
        return false;
    }
    off %= FUZZ_WINDOW_SIZE;
    len = MIN(len, (uint64_t)(FUZZ_WINDOW_SIZE - 256));
    len = fuzz_frame(f, kind, len, fuzz_macs[1]);
    fuzz_guest_write(FUZZ_WINDOW + off, f, MIN(len, FUZZ_WINDOW_SIZE - off));
    return true;
}

/* The back end sends: [header when it has one] frame. */
static bool op_inject(FuzzInput *in)
{
    static uint8_t f[VIRTIO_NET_HDR_LEN + NET_MAX_FRAME];
    uint64_t kind, len, dst;
    size_t skip = cur->vnet_hdr ? VIRTIO_NET_HDR_LEN : 0;

    if (!fuzz_take(in, 1, &kind) || !fuzz_take(in, 2, &len) ||
        !fuzz_take(in, 1, &dst) || in->left < 10) {
        return false;
    }
    len = fuzz_frame(f + skip, kind, len, fuzz_macs[dst % 4]);
    if (skip) {
        memcpy(f, in->p, 10);
        f[10] = f[11] = 0;
    }
    in->p += 10;
    in->left -= 10;
    net_send(cur->backend, f, skip + len);
    return true;
}

static bool op_reg(FuzzInput *in, int op)
{
    unsigned sz;
    uint64_t off, size = 2, val = 0;
    bool write = op == OP_CFG_WRITE || op == OP_MODERN_WRITE ||
                 op == OP_LEGACY_WRITE || op == OP_MSIX_WRITE;
    unsigned offlen = op == OP_MODERN_WRITE || op == OP_MODERN_READ ||
                      op == OP_MSIX_WRITE ? 2 : 1;
    bool has_size = op != OP_MSIX_WRITE;

    if (!fuzz_take(in, offlen, &off) ||
        (has_size && !fuzz_take(in, 1, &size)) ||
        (write && !fuzz_take(in, 4, &val))) {
        return false;
    }
    sz = fuzz_access_size(size);
    switch (op) {
    case OP_CFG_WRITE: case OP_CFG_READ:
        fuzz_pci_cfg_access(cur->devfn, off, sz, write, val);
        break;
    case OP_MODERN_WRITE: case OP_MODERN_READ:
        fuzz_mem_access(cur->bar4 + (off % 0x4000 & ~(uint64_t)(sz - 1)),
                        sz, write, val);
        break;
    case OP_LEGACY_WRITE: case OP_LEGACY_READ:
        fuzz_port_access(cur->bar0 + (off % 64 & ~(uint64_t)(sz - 1)),
                         sz, write, val);
        break;
    default:
        fuzz_mem_access(cur->bar1 + (off * 4) % 0x1000, 4, true, val);
        break;
    }
    return true;
}

/* The operations that take one byte. */
static bool op_byte(FuzzInput *in, int op)
{
    uint64_t v;

    if (!fuzz_take(in, 1, &v)) {
        return false;
    }
    switch (op) {
    case OP_SELECT:
        cur = &fuzz_nics[v % FUZZ_NDEV];
        break;
    case OP_NOTIFY:
        fuzz_mem_access(cur->bar4 + 0x3000 + 4 * (v % 4), 2, true, v % 4);
        break;
    case OP_BLOCK:
        cur->blocked = v & 1;
        if (!cur->blocked) {
            net_flush_queued(cur->backend);
        }
        break;
    default:
        net_set_link(cur->id, v & 1, NULL);
        break;
    }
    return true;
}

static bool run_op(FuzzInput *in)
{
    uint64_t op;

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
    case OP_NET_HDR:        return op_net_hdr(in);
    case OP_FRAME:          return op_frame(in);
    case OP_INJECT:         return op_inject(in);
    case OP_SELECT: case OP_NOTIFY: case OP_BLOCK: case OP_LINK:
        return op_byte(in, op);
    case OP_DRAIN:
        while (g_main_context_iteration(NULL, FALSE)) {
        }
        return true;
    default:
        return op_reg(in, op);
    }
}

static void fuzz_add_nic(FuzzNic *n)
{
    g_autofree char *addr = g_strdup_printf("%u", PCI_SLOT(n->devfn));
    DeviceState *dev = qdev_new("virtio-net-pci");
    GError *err = NULL;

    n->backend = net_client_new(&fuzz_backend_info, n->netdev, "fuzz", n);
    dev->id = g_strdup(n->id);
    if (!qdev_prop_set(dev, "netdev", n->netdev, &err) ||
        !qdev_prop_set(dev, "addr", addr, &err) ||
        !qdev_realize_and_unref(dev, qbus_find(TYPE_PCI_BUS), &err)) {
        fprintf(stderr, "fuzz-virtio-net: %s\n", err->message);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FuzzMachineConfig cfg = { .type = "pc", .ram_size = FUZZ_RAM_SIZE };
    GError *err = NULL;

    fuzz_ms = fuzz_machine_create(&cfg, &err);
    if (!fuzz_ms) {
        fprintf(stderr, "fuzz-virtio-net: %s\n", err->message);
        abort();
    }
    for (unsigned i = 0; i < FUZZ_NDEV; i++) {
        fuzz_add_nic(&fuzz_nics[i]);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = { data, size };

    /* Nothing left from the last run: links up, queues empty. */
    for (unsigned i = 0; i < FUZZ_NDEV; i++) {
        FuzzNic *n = &fuzz_nics[i];

        n->blocked = false;
        n->qsize = 256;
        memset(n->avail_idx, 0, sizeof(n->avail_idx));
        net_set_link(n->id, true, NULL);
        net_purge_sent(n->backend);
    }
    fuzz_machine_reset(fuzz_ms);
    cur = &fuzz_nics[0];
    fuzz_firmware();
    while (run_op(&in)) {
        fuzz_machine_handle_requests();
    }
    while (g_main_context_iteration(NULL, FALSE)) {
    }
    return 0;
}
