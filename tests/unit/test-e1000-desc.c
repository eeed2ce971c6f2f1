/*
 * The e1000's pure pieces (hw/net/e1000-desc.c, e1000-eeprom.c,
 * e1000-phy.c): descriptor parsing, ring arithmetic, the receive filter,
 * the FCS, the Microwire EEPROM and the PHY registers.
 */
#include "hw/net/e1000-desc.h"
#include "hw/net/e1000-eeprom.h"
#include "hw/net/e1000-phy.h"
#include "hw/net/e1000-regs.h"

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static void test_txd_legacy(void)
{
    uint8_t d[16] = { 0 };
    E1000TxContext ctx;
    E1000TxBuf b;

    put32(d, 0x12345678);
    put32(d + 4, 0x9);
    /* length 0x5dc, CSO 0x32, CMD EOP|IFCS|IC|RS */
    put32(d + 8, 0x5dc | 0x32 << 16 | 0x0fu << 24);
    d[13] = 0x22;
    d[14] = 0x05;
    g_assert_cmpint(e1000_txd_parse(d, &ctx, &b), ==, E1000_TXD_LEGACY);
    g_assert_cmphex(b.addr, ==, 0x912345678ull);
    g_assert_cmpuint(b.len, ==, 0x5dc);
    g_assert_cmpuint(b.cso, ==, 0x32);
    g_assert_cmpuint(b.css, ==, 0x22);
    g_assert_cmphex(b.cmd, ==, 0x0f);
    g_assert_false(b.ext);
    g_assert_cmphex(b.special, ==, 5);
}

static void test_txd_context_data(void)
{
    uint8_t d[16] = { 0 };
    E1000TxContext ctx;
    E1000TxBuf b;

    d[0] = 14;                  /* IPCSS */
    d[1] = 24;                  /* IPCSO */
    d[2] = 33;                  /* IPCSE */
    d[4] = 34;                  /* TUCSS */
    d[5] = 50;                  /* TUCSO */
    put32(d + 8, 0x12345 | 0u << 20 | (0x20u | 0x7) << 24);
    d[13] = 54;                 /* HDRLEN */
    d[14] = 0xb4;               /* MSS 1460 */
    d[15] = 0x05;
    g_assert_cmpint(e1000_txd_parse(d, &ctx, &b), ==, E1000_TXD_CONTEXT);
    g_assert_cmpuint(ctx.ipcss, ==, 14);
    g_assert_cmpuint(ctx.ipcso, ==, 24);
    g_assert_cmpuint(ctx.ipcse, ==, 33);
    g_assert_cmpuint(ctx.tucss, ==, 34);
    g_assert_cmpuint(ctx.tucso, ==, 50);
    g_assert_cmpuint(ctx.tucse, ==, 0);
    g_assert_cmpuint(ctx.paylen, ==, 0x12345);
    g_assert_cmphex(ctx.tucmd & 7, ==, 7);
    g_assert_cmpuint(ctx.hdrlen, ==, 54);
    g_assert_cmpuint(ctx.mss, ==, 1460);

    memset(d, 0, sizeof(d));
    put32(d, 0x1000);
    put32(d + 8, 0xabcde | 1u << 20 | (0x20u | 0x09) << 24);
    d[13] = E1000_TXD_POPTS_TXSM;
    g_assert_cmpint(e1000_txd_parse(d, &ctx, &b), ==, E1000_TXD_DATA);
    g_assert_true(b.ext);
    g_assert_cmpuint(b.len, ==, 0xabcde);
    g_assert_cmphex(b.cmd, ==, 0x29);
    g_assert_cmphex(b.popts, ==, E1000_TXD_POPTS_TXSM);

    put32(d + 8, 5u << 20 | 0x20u << 24);
    g_assert_cmpint(e1000_txd_parse(d, &ctx, &b), ==, E1000_TXD_BAD);
}

static void test_ring(void)
{
    g_assert_cmpuint(e1000_ring_size(0), ==, 0);
    g_assert_cmpuint(e1000_ring_size(0x7f), ==, 0);
    g_assert_cmpuint(e1000_ring_size(4096), ==, 256);
    g_assert_cmpuint(e1000_ring_size(0xffffffff), ==, 0xfff80 / 16);
    g_assert_cmpuint(e1000_ring_pending(3, 3, 8), ==, 0);
    g_assert_cmpuint(e1000_ring_pending(3, 7, 8), ==, 4);
    g_assert_cmpuint(e1000_ring_pending(6, 2, 8), ==, 4);
}

static void test_rx_sizes(void)
{
    g_assert_cmpuint(e1000_rx_buf_size(0), ==, 2048);
    g_assert_cmpuint(e1000_rx_buf_size(1 << 16), ==, 1024);
    g_assert_cmpuint(e1000_rx_buf_size(3 << 16), ==, 256);
    g_assert_cmpuint(e1000_rx_buf_size(E1000_RCTL_BSEX | 1 << 16), ==,
                     16384);
    g_assert_cmpuint(e1000_rx_buf_size(E1000_RCTL_BSEX | 3 << 16), ==, 4096);
    g_assert_cmpuint(e1000_rx_desc_needed(60, 256), ==, 1);
    g_assert_cmpuint(e1000_rx_desc_needed(1518, 256), ==, 6);
    g_assert_cmpuint(e1000_rx_desc_needed(512, 256), ==, 2);
    g_assert_cmpuint(e1000_rx_min_threshold(0, 256), ==, 128);
    g_assert_cmpuint(e1000_rx_min_threshold(1 << 8, 256), ==, 64);
    g_assert_cmpuint(e1000_rx_min_threshold(2 << 8, 256), ==, 32);
}

static void test_rxd_writeback(void)
{
    uint8_t d[16];

    memset(d, 0xee, sizeof(d));
    e1000_rxd_writeback(d, 0x1234, 3, 0x0abc);
    g_assert_cmphex(d[0], ==, 0xee);        /* the address stays */
    g_assert_cmphex(d[8], ==, 0x34);
    g_assert_cmphex(d[9], ==, 0x12);
    g_assert_cmphex(d[12], ==, 3);
    g_assert_cmphex(d[13], ==, 0);
    g_assert_cmphex(d[14], ==, 0xbc);
    g_assert_cmphex(d[15], ==, 0x0a);
}

static void test_mta_hash(void)
{
    const uint8_t mac[6] = { 0x01, 0x00, 0x5e, 0x00, 0x12, 0x34 };

    g_assert_cmphex(e1000_mta_hash(0, mac), ==, 0x341);
    g_assert_cmphex(e1000_mta_hash(1, mac), ==, 0x682);
    g_assert_cmphex(e1000_mta_hash(2, mac), ==, 0xd04);
    g_assert_cmphex(e1000_mta_hash(3, mac), ==, 0x412);
}

static void test_rx_filter(void)
{
    uint32_t ra[2 * E1000_RA_COUNT] = { 0 };
    uint32_t mta[E1000_MTA_COUNT] = { 0 };
    uint32_t vfta[E1000_VFTA_COUNT] = { 0 };
    E1000RxFilter f = { .ra = ra, .mta = mta, .vfta = vfta,
                        .vet = E1000_VLAN_TPID };
    uint8_t frame[64] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
    uint8_t mac[6];
    uint16_t h;

    ra[0] = 0x12005452;
    ra[1] = 0x5634 | E1000_RAH_AV;
    g_assert_true(e1000_ra_get(ra, 0, mac));
    g_assert_cmpmem(mac, 6, frame, 6);
    g_assert_cmpint(e1000_rx_filter(&f, frame, 64), ==, E1000_RX_UNICAST);
    frame[5] = 0x57;
    g_assert_cmpint(e1000_rx_filter(&f, frame, 64), ==, E1000_RX_REJECT);
    f.rctl = E1000_RCTL_UPE;
    g_assert_cmpint(e1000_rx_filter(&f, frame, 64), ==, E1000_RX_UNICAST);
    g_assert_cmpint(e1000_rx_filter(&f, frame, 13), ==, E1000_RX_REJECT);

    memset(frame, 0xff, 6);
    g_assert_cmpint(e1000_rx_filter(&f, frame, 64), ==, E1000_RX_REJECT);
    f.rctl = E1000_RCTL_BAM;
    g_assert_cmpint(e1000_rx_filter(&f, frame, 64), ==, E1000_RX_BROADCAST);

    memcpy(frame, (uint8_t[]) { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb }, 6);
    g_assert_cmpint(e1000_rx_filter(&f, frame, 64), ==, E1000_RX_REJECT);
    h = e1000_mta_hash(0, frame);
    mta[h >> 5] |= 1u << (h & 31);
    g_assert_cmpint(e1000_rx_filter(&f, frame, 64), ==, E1000_RX_MULTICAST);
    mta[h >> 5] = 0;
    f.rctl = E1000_RCTL_MPE;
    g_assert_cmpint(e1000_rx_filter(&f, frame, 64), ==, E1000_RX_MULTICAST);

    /* VLAN 5 tagged, VFE on: only with VFTA bit 5 */
    f.rctl |= E1000_RCTL_VFE;
    f.vlan_enabled = true;
    frame[12] = 0x81;
    frame[13] = 0x00;
    frame[14] = 0;
    frame[15] = 5;
    g_assert_cmpint(e1000_rx_filter(&f, frame, 64), ==, E1000_RX_REJECT);
    vfta[0] = 1u << 5;
    g_assert_cmpint(e1000_rx_filter(&f, frame, 64), ==, E1000_RX_MULTICAST);
}

static void test_fcs(void)
{
    g_assert_cmphex(e1000_eth_fcs((const uint8_t *)"123456789", 9), ==,
                    0xcbf43926);
}

static const uint8_t test_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const E1000EepromIds test_ids = { 0x100e, 0x8086, 0x1100, 0x1af4 };

/* What Linux's e1000_read_eeprom() does for Microwire, bit by bit. */
static uint16_t bitbang_read(E1000Eeprom *e, unsigned addr)
{
    unsigned cmd = (0x6 << 6) | addr;  /* start 1, READ 10b, address */
    uint16_t v = 0;

    e1000_eeprom_set_pins(e, true, false, false);
    for (int i = 8; i >= 0; i--) {
        bool di = (cmd >> i) & 1;

        e1000_eeprom_set_pins(e, true, false, di);
        e1000_eeprom_set_pins(e, true, true, di);
        e1000_eeprom_set_pins(e, true, false, di);
    }
    for (int i = 0; i < 16; i++) {
        e1000_eeprom_set_pins(e, true, true, false);
        v = (v << 1) | e1000_eeprom_dout(e);
        e1000_eeprom_set_pins(e, true, false, false);
    }
    e1000_eeprom_set_pins(e, false, false, false);
    return v;
}

static void test_eeprom(void)
{
    E1000Eeprom e;

    e1000_eeprom_init(&e, test_mac, &test_ids);
    g_assert_cmphex(e1000_eeprom_sum(&e), ==, E1000_EEPROM_SUM);
    g_assert_cmphex(e1000_eeprom_word(&e, 0), ==, 0x5452);
    g_assert_cmphex(e1000_eeprom_word(&e, 2), ==, 0x5634);
    g_assert_cmphex(e1000_eeprom_word(&e, 64), ==, 0xffff);
    for (unsigned i = 0; i < E1000_EEPROM_WORDS; i++) {
        g_assert_cmphex(bitbang_read(&e, i), ==, e.data[i]);
    }
    g_assert_cmphex(bitbang_read(&e, 0x0d), ==, 0x100e);
    /* leading zeros before the start bit are ignored */
    e1000_eeprom_set_pins(&e, true, false, false);
    e1000_eeprom_set_pins(&e, true, true, false);
    e1000_eeprom_set_pins(&e, true, false, false);
    g_assert_cmphex(bitbang_read(&e, 1), ==, 0x1200);
}

static void test_phy(void)
{
    E1000Phy p;

    e1000_phy_reset(&p, true);
    g_assert_cmphex(e1000_phy_read(&p, PHY_ID1), ==, 0x0141);
    g_assert_cmphex(e1000_phy_read(&p, PHY_ID2), ==, 0x0c20);
    g_assert_cmphex(e1000_phy_read(&p, PHY_BMSR), ==, 0x796d);
    g_assert_true(e1000_phy_link_up(&p));
    g_assert_false(e1000_phy_write(&p, PHY_ID1, 0));
    g_assert_cmphex(e1000_phy_read(&p, PHY_ID1), ==, 0x0141);
    g_assert_true(e1000_phy_write(&p, PHY_BMCR, 0x1340));
    g_assert_false(e1000_phy_link_up(&p));
    g_assert_cmphex(e1000_phy_read(&p, PHY_BMCR), ==, 0x1140);
    e1000_phy_an_complete(&p);
    g_assert_true(e1000_phy_link_up(&p));
    g_assert_cmphex(e1000_phy_read(&p, PHY_1000T_STATUS), ==, 0x3c00);
    e1000_phy_set_link(&p, false);
    g_assert_cmphex(e1000_phy_read(&p, PHY_BMSR), ==, 0x7949);
    e1000_phy_reset(&p, false);
    g_assert_false(e1000_phy_link_up(&p));
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/e1000/txd/legacy", test_txd_legacy);
    g_test_add_func("/e1000/txd/context-data", test_txd_context_data);
    g_test_add_func("/e1000/ring", test_ring);
    g_test_add_func("/e1000/rx/sizes", test_rx_sizes);
    g_test_add_func("/e1000/rx/writeback", test_rxd_writeback);
    g_test_add_func("/e1000/rx/mta-hash", test_mta_hash);
    g_test_add_func("/e1000/rx/filter", test_rx_filter);
    g_test_add_func("/e1000/fcs", test_fcs);
    g_test_add_func("/e1000/eeprom", test_eeprom);
    g_test_add_func("/e1000/phy", test_phy);
    return g_test_run();
}
