/*
 * The Intel 82540EM Gigabit Ethernet controller, "e1000" (8086:100e,
 * subsystem 1af4:1100 as QEMU's), as described by the PCI/PCI-X Family
 * of Gigabit Ethernet Controllers Software Developer's Manual (SDM).
 *
 * BAR0 is 128 KiB of registers, BAR1 the same registers reached through
 * IOADDR/IODATA (SDM 13.3); the interrupt is INTA.  Registers are a
 * table (offset, count, name, read, write, writable mask) with plain
 * storage behind it; this file has the PCI function, the register table,
 * interrupts with ITR moderation, the EEPROM and PHY glue, the link and
 * reset.  Transmit is e1000-tx.c, receive e1000-rx.c; guest-supplied
 * formats are parsed in e1000-desc.c.
 */
#include "qlite/error.h"
#include "e1000-internal.h"

#define E1000_DEVICE_ID     0x100e          /* 82540EM desktop */
#define PCI_CLASS_NETWORK_ETHERNET 0x0200
#define E1000_AN_DELAY_NS   (1000 * 1000)   /* autonegotiation: 1 ms */

/* ---- guest errors and statistics ----------------------------------------- */

void e1000_guest_error(E1000State *s, const char *fmt, ...)
{
    g_autofree char *msg = NULL;
    va_list ap;

    /* Once per reset: a broken driver would otherwise log per frame. */
    if (s->error_logged) {
        return;
    }
    s->error_logged = true;
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qlite_log_guest_error("%s", msg);
}

void e1000_stat_inc(E1000State *s, uint32_t offset)
{
    uint32_t v = e1000_reg(s, offset);

    /* Counters stick at their maximum (SDM 13.7). */
    e1000_reg_set(s, offset, v == UINT32_MAX ? v : v + 1);
}

void e1000_stat_add64(E1000State *s, uint32_t offset_lo, uint64_t n)
{
    uint64_t v = e1000_reg(s, offset_lo) |
                 (uint64_t)e1000_reg(s, offset_lo + 4) << 32;

    v = v + n < v ? UINT64_MAX : v + n;
    e1000_reg_set(s, offset_lo, v);
    e1000_reg_set(s, offset_lo + 4, v >> 32);
}

void e1000_stat_size(E1000State *s, uint32_t first, size_t len)
{
    static const size_t upper[] = { 64, 127, 255, 511, 1023, 1522 };

    for (unsigned i = 0; i < G_N_ELEMENTS(upper); i++) {
        if (len <= upper[i]) {
            e1000_stat_inc(s, first + 4 * i);
            return;
        }
    }
}

/* ---- interrupts ---------------------------------------------------------- */

static void e1000_set_line(E1000State *s, bool level)
{
    if (s->irq_line != level) {
        s->irq_line = level;
        pci_set_irq(&s->parent, level);
    }
}

/*
 * The line is ICR & IMS, but with ITR set a new assertion waits until
 * ITR * 256 ns after the previous one (SDM 13.4.18).
 */
static void e1000_update_irq(E1000State *s)
{
    uint32_t itr = s->mitigation ? e1000_reg(s, E1000_ITR) & 0xffff : 0;
    int64_t now;

    if (!(e1000_reg(s, E1000_ICR) & e1000_reg(s, E1000_IMS))) {
        e1000_set_line(s, false);
        return;
    }
    if (s->irq_line) {
        return;
    }
    now = clock_get_ns(QLITE_CLOCK_VIRTUAL);
    if (itr && now < s->itr_next_ns) {
        timer_mod_ns(s->itr_timer, s->itr_next_ns);
        return;
    }
    e1000_set_line(s, true);
    s->itr_next_ns = now + (int64_t)itr * E1000_ITR_NS;
}

static void e1000_itr_expired(void *opaque)
{
    e1000_update_irq(opaque);
}

void e1000_set_ics(E1000State *s, uint32_t causes)
{
    e1000_reg_set(s, E1000_ICR, e1000_reg(s, E1000_ICR) | causes);
    e1000_update_irq(s);
}

/* ---- link ---------------------------------------------------------------- */

static bool e1000_cable_up(const E1000State *s)
{
    return !s->nc || !s->nc->link_down;
}

/* STATUS.LU follows the cable and the PHY; a change raises LSC. */
static void e1000_update_link(E1000State *s)
{
    uint32_t status = e1000_reg(s, E1000_STATUS);
    bool up = e1000_cable_up(s) && e1000_phy_link_up(&s->phy);

    if (!!(status & E1000_STATUS_LU) == up) {
        return;
    }
    e1000_reg_set(s, E1000_STATUS, up ? status | E1000_STATUS_LU
                                      : status & ~E1000_STATUS_LU);
    e1000_set_ics(s, E1000_ICR_LSC);
    if (up) {
        e1000_rx_kick(s);
    }
}

static void e1000_an_done(void *opaque)
{
    E1000State *s = opaque;

    if (e1000_cable_up(s)) {
        e1000_phy_an_complete(&s->phy);
    }
    e1000_update_link(s);
}

static void e1000_link_status_changed(NetClientState *nc)
{
    E1000State *s = nc->opaque;

    timer_del(s->an_timer);
    e1000_phy_set_link(&s->phy, !nc->link_down);
    e1000_update_link(s);
}

/* The driver restarted autonegotiation: the link comes back after it. */
static void e1000_an_restart(E1000State *s)
{
    e1000_update_link(s);
    if (s->autonegotiation) {
        timer_mod_ns(s->an_timer,
                     clock_get_ns(QLITE_CLOCK_VIRTUAL) + E1000_AN_DELAY_NS);
    } else {
        e1000_an_done(s);
    }
}

/* ---- reset --------------------------------------------------------------- */

/* RA[0] as the hardware loads it from the EEPROM at reset (SDM 13.5.2). */
static void e1000_load_mac(E1000State *s)
{
    const uint16_t *w = s->eeprom.data;

    e1000_reg_set(s, E1000_RA, w[0] | (uint32_t)w[1] << 16);
    e1000_reg_set(s, E1000_RA + 4, w[2] | E1000_RAH_AV);
}

/* Every MAC register to its power-on value; the PHY is left alone. */
static void e1000_mac_reset(E1000State *s)
{
    timer_del(s->itr_timer);
    memset(s->regs, 0, sizeof(s->regs));
    /* The values QEMU's e1000 shows, so guests see the same card. */
    e1000_reg_set(s, E1000_CTRL, E1000_CTRL_POWER_ON);
    e1000_reg_set(s, E1000_STATUS, E1000_STATUS_POWER_ON |
                  (e1000_cable_up(s) && e1000_phy_link_up(&s->phy)
                   ? E1000_STATUS_LU : 0));
    e1000_reg_set(s, E1000_EECD, E1000_EECD_PRES | E1000_EECD_FWE_DIS);
    e1000_reg_set(s, E1000_VET, E1000_VLAN_TPID);
    e1000_reg_set(s, E1000_LEDCTL, 0x602);
    e1000_reg_set(s, E1000_PBA, 0x00100030);    /* 48 KiB RX, 16 KiB TX */
    e1000_eeprom_set_pins(&s->eeprom, false, false, false);
    e1000_load_mac(s);
    s->ioaddr = 0;
    s->itr_next_ns = 0;
    e1000_set_line(s, false);
    e1000_tx_reset(s);
    if (s->nc) {
        net_purge_sent(s->nc);
        net_nic_set_mac(s->nc, s->conf.macaddr);
        net_nic_rx_filter_changed(s->nc);
    }
    s->error_logged = false;
}

static void e1000_reset(PCIDevice *dev)
{
    E1000State *s = E1000(dev);

    timer_del(s->an_timer);
    e1000_phy_reset(&s->phy, e1000_cable_up(s));
    e1000_mac_reset(s);
}

/* ---- registers ----------------------------------------------------------- */

typedef uint32_t E1000ReadFn(E1000State *s, uint32_t offset);
typedef void E1000WriteFn(E1000State *s, uint32_t offset, uint32_t val);

typedef struct E1000RegInfo {
    uint32_t offset;
    uint32_t count;             /* dwords from offset */
    const char *name;
    E1000ReadFn *read;          /* NULL: the stored value */
    E1000WriteFn *write;        /* NULL: store the wmask bits */
    uint32_t wmask;
} E1000RegInfo;

static void e1000_store(E1000State *s, uint32_t offset, uint32_t val,
                        uint32_t wmask)
{
    e1000_reg_set(s, offset, (e1000_reg(s, offset) & ~wmask) | (val & wmask));
}

static uint32_t read_zero(E1000State *s, uint32_t offset)
{
    return 0;
}

static void write_ctrl(E1000State *s, uint32_t offset, uint32_t val)
{
    uint32_t old = e1000_reg(s, E1000_CTRL);

    if (val & E1000_CTRL_RST) {
        e1000_mac_reset(s);
        return;
    }
    e1000_reg_set(s, E1000_CTRL, val & ~E1000_CTRL_PHY_RST);
    if (val & E1000_CTRL_PHY_RST) {
        timer_del(s->an_timer);
        e1000_phy_reset(&s->phy, e1000_cable_up(s));
        e1000_update_link(s);
    }
    if ((old ^ val) & E1000_CTRL_VME && s->nc) {
        net_nic_rx_filter_changed(s->nc);
    }
}

static uint32_t read_eecd(E1000State *s, uint32_t offset)
{
    uint32_t v = e1000_reg(s, E1000_EECD);

    /* Nobody else wants the EEPROM: a request is granted at once. */
    if (v & E1000_EECD_REQ) {
        v |= E1000_EECD_GNT;
    }
    if (e1000_eeprom_dout(&s->eeprom)) {
        v |= E1000_EECD_DO;
    }
    return v;
}

static void write_eecd(E1000State *s, uint32_t offset, uint32_t val)
{
    uint32_t pins = E1000_EECD_SK | E1000_EECD_CS | E1000_EECD_DI;

    e1000_reg_set(s, E1000_EECD, (val & (pins | E1000_EECD_REQ | 0x30)) |
                  E1000_EECD_PRES);
    e1000_eeprom_set_pins(&s->eeprom, val & E1000_EECD_CS,
                          val & E1000_EECD_SK, val & E1000_EECD_DI);
}

static void write_eerd(E1000State *s, uint32_t offset, uint32_t val)
{
    unsigned addr = (val >> E1000_EERD_ADDR_SHIFT) & 0xff;

    if (!(val & E1000_EERD_START)) {
        e1000_reg_set(s, E1000_EERD, val & 0xff00);
        return;
    }
    e1000_reg_set(s, E1000_EERD, E1000_EERD_DONE |
                  addr << E1000_EERD_ADDR_SHIFT |
                  (uint32_t)e1000_eeprom_word(&s->eeprom, addr)
                  << E1000_EERD_DATA_SHIFT);
}

/* One MDIO transaction, done at once (SDM 13.4.6). */
static void write_mdic(E1000State *s, uint32_t offset, uint32_t val)
{
    unsigned phy = (val >> E1000_MDIC_PHY_SHIFT) & 0x1f;
    unsigned reg = (val >> E1000_MDIC_REG_SHIFT) & 0x1f;
    uint32_t op = val & (3u << 26);
    uint32_t r = val & ~(E1000_MDIC_READY | E1000_MDIC_ERROR);

    if (phy != E1000_PHY_ADDR ||
        (op != E1000_MDIC_OP_READ && op != E1000_MDIC_OP_WRITE)) {
        r |= E1000_MDIC_ERROR;
    } else if (op == E1000_MDIC_OP_READ) {
        r = (r & ~E1000_MDIC_DATA_MASK) | e1000_phy_read(&s->phy, reg);
    } else if (e1000_phy_write(&s->phy, reg, val & E1000_MDIC_DATA_MASK)) {
        e1000_an_restart(s);
    }
    e1000_reg_set(s, E1000_MDIC, r | E1000_MDIC_READY);
    if (val & E1000_MDIC_INT_EN) {
        e1000_set_ics(s, E1000_ICR_MDAC);
    }
}

static uint32_t read_icr(E1000State *s, uint32_t offset)
{
    uint32_t v = e1000_reg(s, E1000_ICR);

    e1000_reg_set(s, E1000_ICR, 0);     /* clear on read (SDM 13.4.17) */
    e1000_update_irq(s);
    return v;
}

static void write_icr(E1000State *s, uint32_t offset, uint32_t val)
{
    e1000_reg_set(s, E1000_ICR, e1000_reg(s, E1000_ICR) & ~val);
    e1000_update_irq(s);
}

static void write_ics(E1000State *s, uint32_t offset, uint32_t val)
{
    e1000_set_ics(s, val & E1000_ICR_ALL);
}

static void write_ims(E1000State *s, uint32_t offset, uint32_t val)
{
    e1000_reg_set(s, E1000_IMS,
                  e1000_reg(s, E1000_IMS) | (val & E1000_ICR_ALL));
    e1000_update_irq(s);
}

static void write_imc(E1000State *s, uint32_t offset, uint32_t val)
{
    e1000_reg_set(s, E1000_IMS, e1000_reg(s, E1000_IMS) & ~val);
    e1000_update_irq(s);
}

static void write_itr(E1000State *s, uint32_t offset, uint32_t val)
{
    e1000_reg_set(s, E1000_ITR, val & 0xffff);
    e1000_update_irq(s);
}

static void e1000_filter_changed(E1000State *s)
{
    if (s->nc) {
        net_nic_rx_filter_changed(s->nc);
    }
}

static void write_rctl(E1000State *s, uint32_t offset, uint32_t val)
{
    uint32_t old = e1000_reg(s, E1000_RCTL);

    e1000_reg_set(s, E1000_RCTL, val);
    if ((old ^ val) & ~E1000_RCTL_EN) {
        e1000_filter_changed(s);
    }
    e1000_rx_kick(s);
}

static void write_rdt(E1000State *s, uint32_t offset, uint32_t val)
{
    e1000_reg_set(s, E1000_RDT, val & E1000_RING_IDX_MASK);
    e1000_rx_kick(s);
}

static void write_tdt(E1000State *s, uint32_t offset, uint32_t val)
{
    e1000_reg_set(s, E1000_TDT, val & E1000_RING_IDX_MASK);
    e1000_tx_kick(s);
}

static void write_tctl(E1000State *s, uint32_t offset, uint32_t val)
{
    e1000_reg_set(s, E1000_TCTL, val);
    e1000_tx_kick(s);
}

static void write_ra(E1000State *s, uint32_t offset, uint32_t val)
{
    bool high = (offset - E1000_RA) & 4;
    uint8_t mac[ETH_ALEN];

    /* RAH: address bits 47:32, AS (17:16), AV (31) */
    e1000_reg_set(s, offset, high ? val & 0x8003ffff : val);
    if (offset - E1000_RA < 8 && s->nc &&
        e1000_ra_get(&s->regs[E1000_RA >> 2], 0, mac)) {
        net_nic_set_mac(s->nc, mac);
    }
    e1000_filter_changed(s);
}

static void write_filter_table(E1000State *s, uint32_t offset, uint32_t val)
{
    e1000_reg_set(s, offset, val);
    e1000_filter_changed(s);
}

/* Statistics clear on read; a 64-bit pair clears on its high half. */
static uint32_t read_stat(E1000State *s, uint32_t offset)
{
    uint32_t v = e1000_reg(s, offset);

    switch (offset) {
    case E1000_GORCL: case E1000_GOTCL: case E1000_TORL: case E1000_TOTL:
        return v;
    case E1000_GORCH: case E1000_GOTCH: case E1000_TORH: case E1000_TOTH:
        e1000_reg_set(s, offset - 4, 0);
        break;
    }
    e1000_reg_set(s, offset, 0);
    return v;
}

#define R(reg, n, rd, wr, mask) \
    { E1000_##reg, n, #reg, rd, wr, mask }

static const E1000RegInfo e1000_regs[] = {
    R(CTRL, 1, NULL, write_ctrl, 0),
    R(STATUS, 1, NULL, NULL, 0),
    R(EECD, 1, read_eecd, write_eecd, 0),
    R(EERD, 1, NULL, write_eerd, 0),
    R(CTRL_EXT, 1, NULL, NULL, 0xffffffff),
    R(FLA, 1, NULL, NULL, 0xffffffff),
    R(MDIC, 1, NULL, write_mdic, 0),
    R(FCAL, 1, NULL, NULL, 0xffffffff),
    R(FCAH, 1, NULL, NULL, 0xffff),
    R(FCT, 1, NULL, NULL, 0xffff),
    R(VET, 1, NULL, NULL, 0xffff),
    R(ICR, 1, read_icr, write_icr, 0),
    R(ITR, 1, NULL, write_itr, 0),
    R(ICS, 1, read_zero, write_ics, 0),
    R(IMS, 1, NULL, write_ims, 0),
    R(IMC, 1, read_zero, write_imc, 0),
    R(RCTL, 1, NULL, write_rctl, 0),
    R(FCTTV, 1, NULL, NULL, 0xffff),
    R(TXCW, 1, NULL, NULL, 0xffffffff),
    R(RXCW, 1, NULL, NULL, 0),
    R(TCTL, 1, NULL, write_tctl, 0),
    R(TIPG, 1, NULL, NULL, 0xffffffff),
    R(AIT, 1, NULL, NULL, 0xffff),
    R(LEDCTL, 1, NULL, NULL, 0xffffffff),
    R(PBA, 1, NULL, NULL, 0xffff),
    R(FCRTL, 1, NULL, NULL, 0x8000fff8),
    R(FCRTH, 1, NULL, NULL, 0xfff8),
    R(RDBAL, 1, NULL, NULL, 0xfffffff0),
    R(RDBAH, 1, NULL, NULL, 0xffffffff),
    R(RDLEN, 1, NULL, NULL, E1000_RING_LEN_MASK),
    R(RDH, 1, NULL, NULL, E1000_RING_IDX_MASK),
    R(RDT, 1, NULL, write_rdt, 0),
    R(RDTR, 1, NULL, NULL, 0x8000ffff),
    R(RXDCTL, 1, NULL, NULL, 0xffffffff),
    R(RADV, 1, NULL, NULL, 0xffff),
    R(RSRPD, 1, NULL, NULL, 0xfff),
    R(TDBAL, 1, NULL, NULL, 0xfffffff0),
    R(TDBAH, 1, NULL, NULL, 0xffffffff),
    R(TDLEN, 1, NULL, NULL, E1000_RING_LEN_MASK),
    R(TDH, 1, NULL, NULL, E1000_RING_IDX_MASK),
    R(TDT, 1, NULL, write_tdt, 0),
    R(TIDV, 1, NULL, NULL, 0xffff),
    R(TXDCTL, 1, NULL, NULL, 0xffffffff),
    R(TADV, 1, NULL, NULL, 0xffff),
    R(TSPMT, 1, NULL, NULL, 0xffffffff),
    R(STATS_FIRST, 64, read_stat, NULL, 0),
    R(RXCSUM, 1, NULL, NULL, 0x7ff),
    R(MTA, E1000_MTA_COUNT, NULL, write_filter_table, 0),
    R(RA, 2 * E1000_RA_COUNT, NULL, write_ra, 0),
    R(VFTA, E1000_VFTA_COUNT, NULL, write_filter_table, 0),
    R(WUC, 1, NULL, NULL, 0xffffffff),
    R(WUFC, 1, NULL, NULL, 0xffffffff),
    R(WUS, 1, NULL, NULL, 0xffffffff),
    R(MANC, 1, NULL, NULL, 0xffffffff),
    R(IPAV, 1, NULL, NULL, 0xffffffff),
    R(IP4AT, 7, NULL, NULL, 0xffffffff),
    R(IP6AT, 4, NULL, NULL, 0xffffffff),
    R(WUPL, 1, NULL, NULL, 0xffffffff),
    R(WUPM, 32, NULL, NULL, 0xffffffff),
    R(FFLT, 8, NULL, NULL, 0xffffffff),
    R(FFMT, 256, NULL, NULL, 0xffffffff),
    R(FFVT, 256, NULL, NULL, 0xffffffff),
};

/* Register dword -> 1 + its entry in e1000_regs (0: none), built once. */
static uint8_t e1000_reg_slot[E1000_REG_SPACE / 4];

static void e1000_build_reg_slots(void)
{
    G_STATIC_ASSERT(G_N_ELEMENTS(e1000_regs) < UINT8_MAX);
    for (unsigned i = 0; i < G_N_ELEMENTS(e1000_regs); i++) {
        const E1000RegInfo *r = &e1000_regs[i];

        g_assert(r->offset / 4 + r->count <= G_N_ELEMENTS(e1000_reg_slot));
        for (unsigned j = 0; j < r->count; j++) {
            e1000_reg_slot[r->offset / 4 + j] = i + 1;
        }
    }
}

static const E1000RegInfo *e1000_reg_info(uint64_t offset)
{
    if (offset >= E1000_REG_SPACE || !e1000_reg_slot[offset / 4]) {
        return NULL;
    }
    return &e1000_regs[e1000_reg_slot[offset / 4] - 1];
}

static uint32_t e1000_reg_read(E1000State *s, uint64_t offset)
{
    const E1000RegInfo *r = e1000_reg_info(offset);

    offset &= ~3ull;
    if (!r) {
        qlite_log_unimp("e1000: read of unknown register 0x%" PRIx64,
                        offset);
        return 0;
    }
    return r->read ? r->read(s, offset) : e1000_reg(s, offset);
}

static void e1000_reg_write(E1000State *s, uint64_t offset, uint32_t val)
{
    const E1000RegInfo *r = e1000_reg_info(offset);

    offset &= ~3ull;
    if (!r) {
        qlite_log_unimp("e1000: write of unknown register 0x%" PRIx64,
                        offset);
    } else if (r->write) {
        r->write(s, offset, val);
    } else {
        e1000_store(s, offset, val, r->wmask);
    }
}

/*
 * A descriptor or buffer address may point at our own BAR: such a DMA
 * would re-enter the device in the middle of a ring walk.  Ignore it.
 */
static bool e1000_reentered(E1000State *s)
{
    if (!s->dma_depth) {
        return false;
    }
    e1000_guest_error(s, "e1000: DMA to its own registers ignored");
    return true;
}

static uint64_t e1000_mmio_read(void *opaque, uint64_t addr, unsigned size)
{
    return e1000_reentered(opaque) ? 0 : e1000_reg_read(opaque, addr);
}

static void e1000_mmio_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    if (!e1000_reentered(opaque)) {
        e1000_reg_write(opaque, addr, val);
    }
}

static const MemoryRegionOps e1000_mmio_ops = {
    .read = e1000_mmio_read,
    .write = e1000_mmio_write,
    .valid = { .min_access_size = 4, .max_access_size = 4 },
};

/* BAR1: IOADDR selects a register, IODATA reaches it (SDM 13.3.1). */
static uint64_t e1000_io_read(void *opaque, uint64_t addr, unsigned size)
{
    E1000State *s = opaque;

    if (e1000_reentered(s)) {
        return 0;
    }
    switch (addr) {
    case E1000_IOADDR:
        return s->ioaddr;
    case E1000_IODATA:
        return e1000_reg_read(s, s->ioaddr & (E1000_MMIO_SIZE - 4));
    default:
        return 0;
    }
}

static void e1000_io_write(void *opaque, uint64_t addr, uint64_t val,
                           unsigned size)
{
    E1000State *s = opaque;

    if (e1000_reentered(s)) {
        return;
    }
    switch (addr) {
    case E1000_IOADDR:
        s->ioaddr = val;
        break;
    case E1000_IODATA:
        e1000_reg_write(s, s->ioaddr & (E1000_MMIO_SIZE - 4), val);
        break;
    }
}

static const MemoryRegionOps e1000_io_ops = {
    .read = e1000_io_read,
    .write = e1000_io_write,
    .valid = { .min_access_size = 4, .max_access_size = 4 },
};

/* ---- life cycle ---------------------------------------------------------- */

static const NetClientInfo e1000_net_info = {
    .kind = NET_CLIENT_NIC,
    .receive = e1000_receive,
    .link_status_changed = e1000_link_status_changed,
    .query_rx_filter = e1000_query_rx_filter,
};

static void e1000_realize(PCIDevice *dev, GError **errp)
{
    E1000State *s = E1000(dev);
    PCIDeviceClass *k = PCI_DEVICE_GET_CLASS(dev);
    E1000EepromIds ids = {
        .device_id = k->device_id,
        .vendor_id = k->vendor_id,
        .subsystem_id = k->subsystem_id,
        .subsystem_vendor_id = k->subsystem_vendor_id,
    };

    s->nc = net_nic_new(DEVICE(dev), &s->conf, &e1000_net_info, TYPE_E1000,
                        s, errp);
    if (!s->nc) {
        return;
    }
    dev->config[PCI_INTERRUPT_PIN] = 1;         /* INTA */
    memory_region_init_io(&s->mmio, &e1000_mmio_ops, s, "e1000-mmio",
                          E1000_MMIO_SIZE);
    memory_region_init_io(&s->io, &e1000_io_ops, s, "e1000-io",
                          E1000_IO_SIZE);
    pci_register_bar(dev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);
    pci_register_bar(dev, 1, PCI_BASE_ADDRESS_SPACE_IO, &s->io);
    e1000_eeprom_init(&s->eeprom, s->conf.macaddr, &ids);
    s->itr_timer = timer_new_ns(QLITE_CLOCK_VIRTUAL, e1000_itr_expired, s);
    s->an_timer = timer_new_ns(QLITE_CLOCK_VIRTUAL, e1000_an_done, s);
    s->rx_buf = g_malloc(E1000_RX_BUF_MAX);
    e1000_tx_init(s);
}

static void e1000_exit(PCIDevice *dev)
{
    E1000State *s = E1000(dev);

    g_clear_pointer(&s->itr_timer, timer_free);
    g_clear_pointer(&s->an_timer, timer_free);
    if (s->nc) {
        net_client_free(s->nc);
        s->nc = NULL;
    }
    e1000_tx_cleanup(s);
    g_clear_pointer(&s->rx_buf, g_free);
}

static const Property e1000_props[] = {
    DEFINE_NIC_PROPERTIES(E1000State, conf),
    DEFINE_PROP_BOOL("autonegotiation", E1000State, autonegotiation, true),
    DEFINE_PROP_BOOL("mitigation", E1000State, mitigation, true),
    DEFINE_PROP_END_OF_LIST(),
};

static void e1000_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(oc);

    dc->desc = "Intel Gigabit Ethernet";
    dc->category = DEVICE_CATEGORY_NETWORK;
    dc->user_creatable = true;
    dc->hotpluggable = true;
    dc->props = e1000_props;
    k->realize = e1000_realize;
    k->exit = e1000_exit;
    k->reset = e1000_reset;
    k->vendor_id = PCI_VENDOR_ID_INTEL;
    k->device_id = E1000_DEVICE_ID;
    k->revision = 3;
    k->class_id = PCI_CLASS_NETWORK_ETHERNET;
    k->subsystem_vendor_id = PCI_SUBVENDOR_ID_REDHAT_QUMRANET;
    k->subsystem_id = PCI_SUBDEVICE_ID_QEMU;
    e1000_build_reg_slots();
}

static const TypeInfo e1000_info = {
    .name = TYPE_E1000,
    .parent = TYPE_PCI_DEVICE,
    .instance_size = sizeof(E1000State),
    .class_init = e1000_class_init,
};

type_init(e1000_register_types)
{
    type_register(&e1000_info);
}
