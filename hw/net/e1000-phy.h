/*
 * The e1000's copper PHY, a Marvell 88E1011 as on the 82540EM, reached
 * through MDIC (SDM 13.4.6, 13.5): the IEEE 802.3 clause 22 registers and
 * the Marvell-specific ones Linux's e1000 driver reads.  Pure: the device
 * tells it the cable's state and runs autonegotiation's timer.
 * Internal to hw/net/e1000*.
 */
#ifndef HW_NET_E1000_PHY_H
#define HW_NET_E1000_PHY_H

#include "qlite/osdep.h"

#define E1000_PHY_ADDR          1       /* the only PHY on the MDIO bus */
#define E1000_PHY_REGS          32

/* Clause 22 registers. */
#define PHY_BMCR                0x00
#define   PHY_BMCR_SPEED_1000   0x0040
#define   PHY_BMCR_FD           0x0100
#define   PHY_BMCR_AN_RESTART   0x0200
#define   PHY_BMCR_AN_ENABLE    0x1000
#define   PHY_BMCR_RESET        0x8000
#define PHY_BMSR                0x01
#define   PHY_BMSR_LINK         0x0004
#define   PHY_BMSR_AN_COMPLETE  0x0020
#define PHY_ID1                 0x02
#define PHY_ID2                 0x03
#define   PHY_ID1_M88E1011      0x0141
#define   PHY_ID2_M88E1011      0x0c20
#define PHY_ANAR                0x04
#define PHY_ANLPAR              0x05
#define PHY_ANER                0x06
#define PHY_NPTX                0x07
#define PHY_LPRNP               0x08
#define PHY_1000T_CTRL          0x09
#define PHY_1000T_STATUS        0x0a
#define PHY_EXT_STATUS          0x0f
/* Marvell 88E1011 specific. */
#define M88_PHY_SPEC_CTRL       0x10
#define M88_PHY_SPEC_STATUS     0x11
#define   M88_PSSR_LINK         0x0400
#define M88_INT_ENABLE          0x12
#define M88_INT_STATUS          0x13
#define M88_EXT_PHY_SPEC_CTRL   0x14
#define M88_RX_ERR_CNTR         0x15
#define M88_PAGE_SELECT         0x1d
#define M88_GEN_CONTROL         0x1e

typedef struct E1000Phy {
    uint16_t regs[E1000_PHY_REGS];
} E1000Phy;

/* Power-on values; @link_up: the cable is plugged (autoneg done). */
void e1000_phy_reset(E1000Phy *p, bool link_up);
uint16_t e1000_phy_read(const E1000Phy *p, unsigned reg);
/*
 * A driver write.  Returns true when it restarted autonegotiation: the
 * link is down until the device calls e1000_phy_an_complete().
 */
bool e1000_phy_write(E1000Phy *p, unsigned reg, uint16_t val);
/* Autonegotiation finished with a 1000BASE-T full-duplex partner. */
void e1000_phy_an_complete(E1000Phy *p);
/* The cable went away (link down) or came back (renegotiated). */
void e1000_phy_set_link(E1000Phy *p, bool up);
bool e1000_phy_link_up(const E1000Phy *p);

#endif
