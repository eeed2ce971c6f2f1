/*
 * The 88E1011 PHY behind the e1000's MDIC register (see e1000-phy.h).
 * Registers are a table of power-on values and writable masks; the
 * status registers follow the link from the functions below.
 */
#include "e1000-phy.h"

/* BMSR without link and AN-complete: 10/100 HD/FD, extended status,
 * preamble suppression, autonegotiation ability, extended capability. */
#define BMSR_BASE               0x7949
/* What a 1000BASE-T full-duplex partner advertises and we see of it. */
#define ANLPAR_PARTNER          0x45e1
#define ANER_PARTNER_AN_ABLE    0x0001
#define T1000_STATUS_PARTNER    0x3c00  /* receivers OK, LP 1000 FD/HD */
#define M88_PSSR_1000_FD        0xac00  /* 1000, FD, resolved, link */

static const struct {
    uint16_t init;
    uint16_t wmask;
} phy_regs[E1000_PHY_REGS] = {
    [PHY_BMCR] = { PHY_BMCR_AN_ENABLE | PHY_BMCR_FD | PHY_BMCR_SPEED_1000,
                   0x7dc0 },
    [PHY_BMSR] = { BMSR_BASE, 0 },
    [PHY_ID1] = { PHY_ID1_M88E1011, 0 },
    [PHY_ID2] = { PHY_ID2_M88E1011, 0 },
    [PHY_ANAR] = { 0x0de1, 0xffff },
    [PHY_NPTX] = { 0x2001, 0xffff },
    [PHY_1000T_CTRL] = { 0x0e00, 0xffff },
    [PHY_EXT_STATUS] = { 0x3000, 0 },
    [M88_PHY_SPEC_CTRL] = { 0x0360, 0xffff },
    [M88_INT_ENABLE] = { 0, 0xffff },
    [M88_EXT_PHY_SPEC_CTRL] = { 0x0d60, 0xffff },
    [0x16] = { 0, 0xffff },
    [0x18] = { 0, 0xffff },             /* LED control */
    [0x1a] = { 0, 0xffff },
    [M88_PAGE_SELECT] = { 0, 0xffff },
    [M88_GEN_CONTROL] = { 0, 0xffff },
};

static void phy_link_lost(E1000Phy *p)
{
    p->regs[PHY_BMSR] &= ~(PHY_BMSR_LINK | PHY_BMSR_AN_COMPLETE);
    p->regs[PHY_ANLPAR] = 0;
    p->regs[PHY_ANER] = 0;
    p->regs[PHY_1000T_STATUS] = 0;
    p->regs[M88_PHY_SPEC_STATUS] = 0;
}

void e1000_phy_an_complete(E1000Phy *p)
{
    p->regs[PHY_BMSR] |= PHY_BMSR_LINK | PHY_BMSR_AN_COMPLETE;
    p->regs[PHY_ANLPAR] = ANLPAR_PARTNER;
    p->regs[PHY_ANER] = ANER_PARTNER_AN_ABLE;
    p->regs[PHY_1000T_STATUS] = T1000_STATUS_PARTNER;
    p->regs[M88_PHY_SPEC_STATUS] = M88_PSSR_1000_FD;
}

void e1000_phy_reset(E1000Phy *p, bool link_up)
{
    for (unsigned i = 0; i < E1000_PHY_REGS; i++) {
        p->regs[i] = phy_regs[i].init;
    }
    phy_link_lost(p);
    if (link_up) {
        e1000_phy_an_complete(p);
    }
}

uint16_t e1000_phy_read(const E1000Phy *p, unsigned reg)
{
    return reg < E1000_PHY_REGS ? p->regs[reg] : 0;
}

bool e1000_phy_write(E1000Phy *p, unsigned reg, uint16_t val)
{
    uint16_t wmask;

    if (reg >= E1000_PHY_REGS) {
        return false;
    }
    wmask = phy_regs[reg].wmask;
    p->regs[reg] = (p->regs[reg] & ~wmask) | (val & wmask);
    if (reg != PHY_BMCR || !(val & (PHY_BMCR_RESET | PHY_BMCR_AN_RESTART)) ||
        !(p->regs[PHY_BMCR] & PHY_BMCR_AN_ENABLE)) {
        return false;
    }
    /* A reset or restart renegotiates: the link is down meanwhile. */
    phy_link_lost(p);
    return true;
}

void e1000_phy_set_link(E1000Phy *p, bool up)
{
    if (up) {
        e1000_phy_an_complete(p);
    } else {
        phy_link_lost(p);
    }
}

bool e1000_phy_link_up(const E1000Phy *p)
{
    return p->regs[PHY_BMSR] & PHY_BMSR_LINK;
}
