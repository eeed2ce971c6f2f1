/*
 * The e1000 device's state, shared by its files: e1000.c (the PCI
 * function, registers, interrupts, link), e1000-tx.c (transmit) and
 * e1000-rx.c (receive).  Internal to hw/net/e1000*.
 */
#ifndef HW_NET_E1000_INTERNAL_H
#define HW_NET_E1000_INTERNAL_H

#include "qlite/main-loop.h"
#include "qlite/net.h"
#include "qlite/pci.h"
#include "e1000-desc.h"
#include "e1000-eeprom.h"
#include "e1000-phy.h"
#include "e1000-regs.h"

#define TYPE_E1000          "e1000"
#define E1000_REG_SPACE     0xa000      /* registers live below this */
#define E1000_TX_BUF_MAX    (NET_MAX_FRAME + 256)
#define E1000_RX_BUF_MAX    (NET_MAX_FRAME + E1000_FCS_LEN)

/* The packet being gathered from transmit descriptors up to EOP. */
typedef struct E1000TxPacket {
    uint8_t *buf;               /* E1000_TX_BUF_MAX bytes */
    size_t len;
    bool started;               /* a buffer of it came in */
    bool bad;                   /* lost data: dropped at EOP */
    bool tse;                   /* first data descriptor's TSE */
    uint8_t popts;              /* first data descriptor's POPTS */
    bool legacy_csum;           /* a legacy descriptor asked IC */
    uint8_t cso;
    uint8_t css;
} E1000TxPacket;

typedef struct E1000State {
    PCIDevice parent;
    /* properties */
    NICConf conf;
    bool autonegotiation;       /* PHY restarts take AN_DELAY */
    bool mitigation;            /* honour ITR */
    /* wiring */
    NetClientState *nc;
    MemoryRegion mmio;
    MemoryRegion io;
    QliteTimer *itr_timer;      /* holds an interrupt back for ITR */
    QliteTimer *an_timer;       /* autonegotiation completes */
    /* registers, by offset / 4 (plain storage where the table says) */
    uint32_t regs[E1000_REG_SPACE / 4];
    uint32_t ioaddr;            /* BAR1's IOADDR */
    E1000Eeprom eeprom;
    E1000Phy phy;
    /* interrupt line and its moderation */
    bool irq_line;
    int64_t itr_next_ns;        /* no new assertion before this */
    /* transmit */
    E1000TxContext tx_ctx;
    E1000TxPacket tx;
    bool tx_waiting;            /* the peer queued our frame: wait */
    bool tx_running;            /* inside e1000_tx_kick() */
    /* receive */
    uint8_t *rx_buf;            /* E1000_RX_BUF_MAX bytes */
    bool error_logged;          /* a guest error was logged this reset */
    unsigned dma_depth;         /* inside transmit or receive DMA */
} E1000State;

#define E1000(obj) OBJECT_CHECK(E1000State, (obj), TYPE_E1000)

static inline uint32_t e1000_reg(const E1000State *s, uint32_t offset)
{
    return s->regs[offset >> 2];
}

static inline void e1000_reg_set(E1000State *s, uint32_t offset, uint32_t v)
{
    s->regs[offset >> 2] = v;
}

/* A ring's guest-physical base from its BAL/BAH pair. */
static inline uint64_t e1000_ring_base(const E1000State *s, uint32_t bal)
{
    return ((uint64_t)e1000_reg(s, bal + 4) << 32) |
           (e1000_reg(s, bal) & ~0xfu);
}

/* e1000.c */
void e1000_set_ics(E1000State *s, uint32_t causes);
void e1000_guest_error(E1000State *s, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
void e1000_stat_inc(E1000State *s, uint32_t offset);
void e1000_stat_add64(E1000State *s, uint32_t offset_lo, uint64_t n);
/* The PRC64.. or PTC64.. counter for a frame of @len bytes with FCS. */
void e1000_stat_size(E1000State *s, uint32_t first, size_t len);

/* e1000-tx.c */
void e1000_tx_init(E1000State *s);
void e1000_tx_reset(E1000State *s);
void e1000_tx_cleanup(E1000State *s);
/* TDT or TCTL written: send what the ring holds. */
void e1000_tx_kick(E1000State *s);

/* e1000-rx.c */
ssize_t e1000_receive(NetClientState *nc, const struct iovec *iov,
                      int iovcnt);
void e1000_query_rx_filter(NetClientState *nc, NetRxFilter *f);
/* RDT or RCTL written: frames that waited for buffers may go in. */
void e1000_rx_kick(E1000State *s);

#endif
