/*
 * libFuzzer target for the e1000: the whole pc board built in-process
 * (tests/fuzz/fuzz-machine.c) with one e1000 at 00:04.0 whose netdev is
 * a back end of this file's own ("fuzz0"): it takes what the NIC sends,
 * can refuse it (so the NIC waits for the sent callback), can loop it
 * back, and sends the NIC frames from the input.  Each run starts from a
 * reset board with BARs programmed as firmware would; the input is a
 * program of register writes, descriptors and frames:
 *
 *   MMIO_WRITE   off:3 value:4          (BAR 0, dword offset mod 128 KiB)
 *   MMIO_READ    off:3
 *   IO_WRITE     off:1 value:4          (BAR 1: IOADDR, IODATA)
 *   IO_READ      off:1
 *   CFG_WRITE    reg:1 size:1 value:4   (config space of 00:04.0)
 *   CFG_READ     reg:1 size:1
 *   DRIVER_INIT  rxlen:1 txlen:1 rctl:4 (rings in the window, enabled)
 *   TX_DESC      idx:1 kind:1 addr:4 word2:4 word3:4
 *                  (kind 0: addr in the window, 1: raw 32-bit, 2: << 32)
 *   TX_KICK      tail:2                 (TDT)
 *   RX_DESC      idx:1 kind:1 addr:4    (a receive buffer, kinds as TX)
 *   RX_KICK      tail:2                 (RDT)
 *   RAM_WRITE    off:2 len:1 bytes:len  (into the 64 KiB window)
 *   INJECT       dst:1 len:2 bytes      (a frame from the back end; bytes
 *                                        short of len read as zero)
 *   BACKEND      flags:1                (bit 0 busy, bit 1 loop back;
 *                                        not busy flushes what waits)
 *   LINK         up:1                   (set_link on the back end)
 *   CLOCK        ns:3                   (virtual time: ITR, autoneg)
 *   EEPROM       addr:1                 (a Microwire READ through EECD)
 *
 * An opcode byte is taken modulo the count; a truncated operation ends
 * the program.  Each run ends with a query-rx-filter.
 */
#include "fuzz-machine.h"
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/net.h"
#include "qlite/pci.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RAM_SIZE       (16 * MiB)
#define FUZZ_DEVFN          PCI_DEVFN(4, 0)
#define FUZZ_BAR0           0xe0000000u
#define FUZZ_BAR1           0xc000
#define FUZZ_WINDOW         0x100000u   /* guest RAM the input writes */
#define FUZZ_WINDOW_SIZE    0x10000u
#define FUZZ_TX_RING        FUZZ_WINDOW
#define FUZZ_RX_RING        (FUZZ_WINDOW + 0x1000)
#define FUZZ_BUFS           (FUZZ_WINDOW + 0x2000)
#define FUZZ_MAX_DESC       256         /* 4 KiB of ring each */
#define FUZZ_MAX_FRAME      (NET_MAX_FRAME + 16)

enum {
    OP_MMIO_WRITE, OP_MMIO_READ, OP_IO_WRITE, OP_IO_READ, OP_CFG_WRITE,
    OP_CFG_READ, OP_DRIVER_INIT, OP_TX_DESC, OP_TX_KICK, OP_RX_DESC,
    OP_RX_KICK, OP_RAM_WRITE, OP_INJECT, OP_BACKEND, OP_LINK, OP_CLOCK,
    OP_EEPROM, OP_COUNT
};

static MachineState *fuzz_ms;
static NetClientState *fuzz_be;
static bool fuzz_be_busy;
static bool fuzz_be_loop;
static uint8_t fuzz_frame[FUZZ_MAX_FRAME];

static void reg_w(uint32_t off, uint32_t val)
{
    fuzz_mem_access(FUZZ_BAR0 + off, 4, true, val);
}

/* ---- the back end ------------------------------------------------------ */

static ssize_t fuzz_be_receive(NetClientState *nc, const struct iovec *iov,
                               int iovcnt)
{
    size_t len = 0;

    for (int i = 0; i < iovcnt; i++) {
        len += iov[i].iov_len;
    }
    if (fuzz_be_busy) {
        return 0;
    }
    if (fuzz_be_loop) {
        fuzz_be_loop = false;   /* once: no endless ping-pong */
        net_send_iov(nc, iov, iovcnt, NULL);
    }
    return MAX(len, 1);
}

static const NetClientInfo fuzz_be_info = {
    .kind = NET_CLIENT_USER,
    .receive = fuzz_be_receive,
};

/* ---- operations --------------------------------------------------------- */

/* What firmware leaves: BARs placed, decoding and bus mastering on. */
static void fuzz_firmware(void)
{
    fuzz_pci_cfg_access(FUZZ_DEVFN, 0x10, 4, true, FUZZ_BAR0);
    fuzz_pci_cfg_access(FUZZ_DEVFN, 0x14, 4, true, FUZZ_BAR1);
    fuzz_pci_cfg_access(FUZZ_DEVFN, 0x04, 2, true, 0x7);
}

static uint64_t fuzz_addr(uint64_t kind, uint64_t addr)
{
    switch (kind % 3) {
    case 0:
        return FUZZ_WINDOW + addr % FUZZ_WINDOW_SIZE;
    case 2:
        return addr << 32;
    default:
        return addr;
    }
}

/* Rings as a driver sets them up, with buffers of 2 KiB in the window. */
static bool op_driver_init(FuzzInput *in)
{
    uint64_t rxlen, txlen, rctl;

    if (!fuzz_take(in, 1, &rxlen) || !fuzz_take(in, 1, &txlen) ||
        !fuzz_take(in, 4, &rctl)) {
        return false;
    }
    rxlen = 8 * (1 + rxlen % (FUZZ_MAX_DESC / 8));
    txlen = 8 * (1 + txlen % (FUZZ_MAX_DESC / 8));
    for (unsigned i = 0; i < rxlen; i++) {
        uint64_t buf = GUINT64_TO_LE(FUZZ_BUFS + 256 * (i % 64));

        fuzz_guest_write(FUZZ_RX_RING + 16 * i, &buf, 8);
    }
    reg_w(0x2800, FUZZ_RX_RING);
    reg_w(0x2804, 0);
    reg_w(0x2808, 16 * rxlen);
    reg_w(0x2810, 0);
    reg_w(0x2818, rxlen - 1);
    reg_w(0x3800, FUZZ_TX_RING);
    reg_w(0x3804, 0);
    reg_w(0x3808, 16 * txlen);
    reg_w(0x3810, 0);
    reg_w(0x3818, 0);
    reg_w(0x00d0, 0xffffffff);                  /* IMS */
    reg_w(0x0100, (uint32_t)rctl | 2);          /* RCTL.EN */
    reg_w(0x0400, 0xa);                         /* TCTL.EN | PSP */
    return true;
}

static bool op_tx_desc(FuzzInput *in)
{
    uint64_t idx, kind, addr, w2, w3;
    uint8_t d[16];

    if (!fuzz_take(in, 1, &idx) || !fuzz_take(in, 1, &kind) ||
        !fuzz_take(in, 4, &addr) || !fuzz_take(in, 4, &w2) ||
        !fuzz_take(in, 4, &w3)) {
        return false;
    }
    addr = fuzz_addr(kind, addr);
    pci_set_long(d, addr);
    pci_set_long(d + 4, addr >> 32);
    pci_set_long(d + 8, w2);
    pci_set_long(d + 12, w3);
    fuzz_guest_write(FUZZ_TX_RING + 16 * (idx % FUZZ_MAX_DESC), d, sizeof(d));
    return true;
}

static bool op_rx_desc(FuzzInput *in)
{
    uint64_t idx, kind, addr;
    uint8_t d[16] = { 0 };

    if (!fuzz_take(in, 1, &idx) || !fuzz_take(in, 1, &kind) ||
        !fuzz_take(in, 4, &addr)) {
        return false;
    }
    addr = fuzz_addr(kind, addr);
    pci_set_long(d, addr);
    pci_set_long(d + 4, addr >> 32);
    fuzz_guest_write(FUZZ_RX_RING + 16 * (idx % FUZZ_MAX_DESC), d, sizeof(d));
    return true;
}

static bool op_inject(FuzzInput *in)
{
    static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
    uint64_t dst, len;
    size_t have;

    if (!fuzz_take(in, 1, &dst) || !fuzz_take(in, 2, &len)) {
        return false;
    }
    len = len * (dst & 0x80 ? 2 : 1);           /* up to 128 KiB */
    len = MIN(len, sizeof(fuzz_frame));
    have = MIN(len, in->left);
    memcpy(fuzz_frame, in->p, have);
    memset(fuzz_frame + have, 0, len - have);
    in->p += have;
    in->left -= have;
    if (len >= 6 && (dst & 3) == 0 && fuzz_be->peer) {
        memcpy(fuzz_frame, fuzz_be->peer->mac, 6);
    } else if (len >= 6 && (dst & 3) == 1) {
        memcpy(fuzz_frame, bcast, 6);
    }
    net_send(fuzz_be, fuzz_frame, len);
    return true;
}

static bool op_reg(FuzzInput *in, int op)
{
    unsigned sz;
    uint64_t off, size = 2, val = 0;
    bool write = op == OP_MMIO_WRITE || op == OP_IO_WRITE ||
                 op == OP_CFG_WRITE;
    unsigned offlen = op == OP_MMIO_WRITE || op == OP_MMIO_READ ? 3 : 1;
    bool has_size = op == OP_CFG_WRITE || op == OP_CFG_READ;

    if (!fuzz_take(in, offlen, &off) ||
        (has_size && !fuzz_take(in, 1, &size)) ||
        (write && !fuzz_take(in, 4, &val))) {
        return false;
    }
    sz = fuzz_access_size(size);
    switch (op) {
    case OP_MMIO_WRITE: case OP_MMIO_READ:
        fuzz_mem_access(FUZZ_BAR0 + (off * 4) % 0x20000, 4, write, val);
        break;
    case OP_IO_WRITE: case OP_IO_READ:
        fuzz_port_access(FUZZ_BAR1 + (off * 4) % 0x40, 4, write, val);
        break;
    default:
        fuzz_pci_cfg_access(FUZZ_DEVFN, off, sz, write, val);
        break;
    }
    return true;
}

/* As Linux's e1000_read_eeprom() clocks it: start, READ, address, data. */
static void op_eeprom(unsigned addr)
{
    const uint32_t eecd = 0x0010, req = 0x40, cs = 2, sk = 1, di = 4;
    unsigned cmd = (6u << 6) | (addr & 0x3f);

    reg_w(eecd, req);
    reg_w(eecd, req | cs);
    for (int i = 8; i >= 0; i--) {
        uint32_t bit = (cmd >> i) & 1 ? di : 0;

        reg_w(eecd, req | cs | bit);
        reg_w(eecd, req | cs | bit | sk);
        reg_w(eecd, req | cs | bit);
    }
    for (int i = 0; i < 16; i++) {
        reg_w(eecd, req | cs | sk);
        fuzz_mem_access(FUZZ_BAR0 + eecd, 4, false, 0);
        reg_w(eecd, req | cs);
    }
    reg_w(eecd, 0);
}

static bool op_small(FuzzInput *in, int op)
{
    uint64_t v;

    if (!fuzz_take(in, op == OP_CLOCK ? 3 : op == OP_TX_KICK ||
                   op == OP_RX_KICK ? 2 : 1, &v)) {
        return false;
    }
    switch (op) {
    case OP_TX_KICK:
        reg_w(0x3818, v);
        break;
    case OP_RX_KICK:
        reg_w(0x2818, v);
        break;
    case OP_BACKEND:
        fuzz_be_busy = v & 1;
        fuzz_be_loop = v & 2;
        if (!fuzz_be_busy) {
            net_flush_queued(fuzz_be);
        }
        break;
    case OP_LINK:
        net_set_link("fuzz0", v & 1, NULL);
        break;
    case OP_EEPROM:
        op_eeprom(v);
        break;
    default:
        clock_virtual_advance(clock_get_ns(QLITE_CLOCK_VIRTUAL) + v);
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
    case OP_TX_DESC:        return op_tx_desc(in);
    case OP_RX_DESC:        return op_rx_desc(in);
    case OP_RAM_WRITE:      return fuzz_take_ram_write(in, FUZZ_WINDOW,
                                                     FUZZ_WINDOW_SIZE);
    case OP_INJECT:         return op_inject(in);
    case OP_TX_KICK: case OP_RX_KICK: case OP_BACKEND: case OP_LINK:
    case OP_CLOCK: case OP_EEPROM:
        return op_small(in, op);
    default:
        return op_reg(in, op);
    }
}

/* What query-rx-filter makes of the tables the run left. */
static void fuzz_query_filter(void)
{
    NetRxFilter f;

    if (fuzz_be->peer) {
        net_nic_query_rx_filter(fuzz_be->peer, &f);
        net_rx_filter_clear(&f);
    }
}

static void fuzz_add_device(void)
{
    DeviceState *dev = qdev_new("e1000");
    GError *err = NULL;

    fuzz_be = net_client_new(&fuzz_be_info, "fuzz0", "fuzz", NULL);
    if (!qdev_prop_set(dev, "netdev", "fuzz0", &err) ||
        !qdev_prop_set(dev, "addr", "4", &err) ||
        !qdev_realize_and_unref(dev, qbus_find(TYPE_PCI_BUS), &err)) {
        fprintf(stderr, "fuzz-e1000: %s\n", err->message);
        abort();
    }
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FuzzMachineConfig cfg = { .type = "pc", .ram_size = FUZZ_RAM_SIZE };
    GError *err = NULL;

    fuzz_ms = fuzz_machine_create(&cfg, &err);
    if (!fuzz_ms) {
        fprintf(stderr, "fuzz-e1000: %s\n", err->message);
        abort();
    }
    fuzz_add_device();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = { data, size };

    /* Nothing left over from the last run: link up, queues empty. */
    fuzz_be_busy = false;
    fuzz_be_loop = false;
    net_set_link("fuzz0", true, NULL);
    net_purge_sent(fuzz_be);
    fuzz_machine_reset(fuzz_ms);
    fuzz_firmware();
    while (run_op(&in)) {
        fuzz_machine_handle_requests();
    }
    net_flush_queued(fuzz_be);
    fuzz_query_filter();
    return 0;
}
