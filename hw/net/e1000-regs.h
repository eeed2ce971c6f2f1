/*
 * Intel 8254x ("e1000") register offsets, bits and descriptor layouts, as
 * the PCI/PCI-X Family of Gigabit Ethernet Controllers Software
 * Developer's Manual (the "SDM" below) gives them: chapter 13 for the
 * registers, chapter 3 for descriptors, chapter 5 for the EEPROM.
 * Internal to hw/net/e1000*.
 */
#ifndef HW_NET_E1000_REGS_H
#define HW_NET_E1000_REGS_H

#define E1000_MMIO_SIZE     0x20000     /* BAR0: 128 KiB */
#define E1000_IO_SIZE       0x40        /* BAR1: IOADDR, IODATA */
#define E1000_IOADDR        0x00
#define E1000_IODATA        0x04

/* General (SDM 13.4.1 - 13.4.10). */
#define E1000_CTRL          0x0000
#define   E1000_CTRL_FD         (1u << 0)
#define   E1000_CTRL_LRST       (1u << 3)
#define   E1000_CTRL_ASDE       (1u << 5)
#define   E1000_CTRL_SLU        (1u << 6)
#define   E1000_CTRL_ILOS       (1u << 7)
#define   E1000_CTRL_SPEED_1000 (2u << 8)
#define   E1000_CTRL_RST        (1u << 26)
#define   E1000_CTRL_VME        (1u << 30)
#define   E1000_CTRL_PHY_RST    (1u << 31)
#define   E1000_CTRL_POWER_ON   0x00140240  /* SLU, 1000, SWDPIN0, ADVD3WUC */
#define E1000_STATUS        0x0008
#define   E1000_STATUS_FD       (1u << 0)
#define   E1000_STATUS_LU       (1u << 1)
#define   E1000_STATUS_SPEED_1000 (2u << 6)
#define   E1000_STATUS_ASDV_1000  (2u << 8)
#define   E1000_STATUS_POWER_ON 0x80080781u /* FD, 1000, ASDV; LU apart */
#define E1000_EECD          0x0010
#define   E1000_EECD_SK         (1u << 0)
#define   E1000_EECD_CS         (1u << 1)
#define   E1000_EECD_DI         (1u << 2)
#define   E1000_EECD_DO         (1u << 3)
#define   E1000_EECD_FWE_DIS    (1u << 4)  /* FWE field 01b: writes off */
#define   E1000_EECD_REQ        (1u << 6)
#define   E1000_EECD_GNT        (1u << 7)
#define   E1000_EECD_PRES       (1u << 8)
#define E1000_EERD          0x0014
#define   E1000_EERD_START      (1u << 0)
#define   E1000_EERD_DONE       (1u << 4)
#define   E1000_EERD_ADDR_SHIFT 8
#define   E1000_EERD_DATA_SHIFT 16
#define E1000_CTRL_EXT      0x0018
#define E1000_FLA           0x001c
#define E1000_MDIC          0x0020
#define   E1000_MDIC_DATA_MASK  0xffffu
#define   E1000_MDIC_REG_SHIFT  16
#define   E1000_MDIC_PHY_SHIFT  21
#define   E1000_MDIC_OP_WRITE   (1u << 26)
#define   E1000_MDIC_OP_READ    (2u << 26)
#define   E1000_MDIC_READY      (1u << 28)
#define   E1000_MDIC_INT_EN     (1u << 29)
#define   E1000_MDIC_ERROR      (1u << 30)
#define E1000_FCAL          0x0028
#define E1000_FCAH          0x002c
#define E1000_FCT           0x0030
#define E1000_VET           0x0038
#define E1000_FCTTV         0x0170
#define E1000_TXCW          0x0178
#define E1000_RXCW          0x0180
#define E1000_LEDCTL        0x0e00
#define E1000_PBA           0x1000

/* Interrupts (SDM 13.4.17 - 13.4.21). */
#define E1000_ICR           0x00c0
#define E1000_ITR           0x00c4
#define E1000_ICS           0x00c8
#define E1000_IMS           0x00d0
#define E1000_IMC           0x00d8
#define   E1000_ICR_TXDW        (1u << 0)
#define   E1000_ICR_TXQE        (1u << 1)
#define   E1000_ICR_LSC         (1u << 2)
#define   E1000_ICR_RXSEQ       (1u << 3)
#define   E1000_ICR_RXDMT0      (1u << 4)
#define   E1000_ICR_RXO         (1u << 6)
#define   E1000_ICR_RXT0        (1u << 7)
#define   E1000_ICR_MDAC        (1u << 9)
#define   E1000_ICR_RXCFG       (1u << 10)
#define   E1000_ICR_TXD_LOW     (1u << 15)
#define   E1000_ICR_SRPD        (1u << 16)
#define   E1000_ICR_ALL         0x0001f6dfu    /* causes an 82540 has */
#define   E1000_ITR_NS          256            /* ITR counts 256 ns */

/* Receive (SDM 13.4.22 - 13.4.33). */
#define E1000_RCTL          0x0100
#define   E1000_RCTL_EN         (1u << 1)
#define   E1000_RCTL_SBP        (1u << 2)
#define   E1000_RCTL_UPE        (1u << 3)
#define   E1000_RCTL_MPE        (1u << 4)
#define   E1000_RCTL_LPE        (1u << 5)
#define   E1000_RCTL_RDMTS_SHIFT 8          /* 2 bits: 1/2, 1/4, 1/8 */
#define   E1000_RCTL_MO_SHIFT   12          /* 2 bits: MTA hash offset */
#define   E1000_RCTL_BAM        (1u << 15)
#define   E1000_RCTL_BSIZE_SHIFT 16         /* 2 bits */
#define   E1000_RCTL_VFE        (1u << 18)
#define   E1000_RCTL_BSEX       (1u << 25)
#define   E1000_RCTL_SECRC      (1u << 26)
#define E1000_FCRTL         0x2160
#define E1000_FCRTH         0x2168
#define E1000_RDBAL         0x2800
#define E1000_RDBAH         0x2804
#define E1000_RDLEN         0x2808
#define E1000_RDH           0x2810
#define E1000_RDT           0x2818
#define E1000_RDTR          0x2820
#define E1000_RXDCTL        0x2828
#define E1000_RADV          0x282c
#define E1000_RSRPD         0x2c00
#define E1000_RXCSUM        0x5000
#define E1000_MTA           0x5200          /* 128 dwords */
#define   E1000_MTA_COUNT       128
#define E1000_RA            0x5400          /* 16 pairs RAL, RAH */
#define   E1000_RA_COUNT        16
#define   E1000_RAH_AV          (1u << 31)
#define E1000_VFTA          0x5600          /* 128 dwords */
#define   E1000_VFTA_COUNT      128

/* Transmit (SDM 13.4.33 - 13.4.46). */
#define E1000_TCTL          0x0400
#define   E1000_TCTL_EN         (1u << 1)
#define   E1000_TCTL_PSP        (1u << 3)
#define E1000_TIPG          0x0410
#define E1000_AIT           0x0458
#define E1000_TDBAL         0x3800
#define E1000_TDBAH         0x3804
#define E1000_TDLEN         0x3808
#define E1000_TDH           0x3810
#define E1000_TDT           0x3818
#define E1000_TIDV          0x3820
#define E1000_TXDCTL        0x3828
#define E1000_TADV          0x382c
#define E1000_TSPMT         0x3830
#define E1000_RING_LEN_MASK 0x000fff80u     /* RDLEN/TDLEN: 128-byte units */
#define E1000_RING_IDX_MASK 0x0000ffffu     /* RDH/RDT/TDH/TDT */

/* Wake-up and manageability: plain storage for the driver. */
#define E1000_WUC           0x5800
#define E1000_WUFC          0x5808
#define E1000_WUS           0x5810
#define E1000_MANC          0x5820
#define E1000_IPAV          0x5838
#define E1000_IP4AT         0x5840          /* 4 pairs */
#define E1000_IP6AT         0x5880          /* 4 dwords */
#define E1000_WUPL          0x5900
#define E1000_WUPM          0x5a00          /* 32 dwords */
#define E1000_FFLT          0x5f00          /* 4 pairs */
#define E1000_FFMT          0x9000          /* 128 pairs */
#define E1000_FFVT          0x9800          /* 128 pairs */

/* Statistics (SDM 13.7): 0x4000 - 0x40fc, all clear on read. */
#define E1000_STATS_FIRST   0x4000
#define E1000_STATS_LAST    0x40fc
#define E1000_MPC           0x4010
#define E1000_PRC64         0x405c          /* then 127, 255, 511, 1023, */
#define E1000_GPRC          0x4074          /*   1522 at +4 each */
#define E1000_BPRC          0x4078
#define E1000_MPRC          0x407c
#define E1000_GPTC          0x4080
#define E1000_GORCL         0x4088
#define E1000_GORCH         0x408c
#define E1000_GOTCL         0x4090
#define E1000_GOTCH         0x4094
#define E1000_RNBC          0x40a0
#define E1000_RUC           0x40a4
#define E1000_ROC           0x40ac
#define E1000_TORL          0x40c0
#define E1000_TORH          0x40c4
#define E1000_TOTL          0x40c8
#define E1000_TOTH          0x40cc
#define E1000_TPR           0x40d0
#define E1000_TPT           0x40d4
#define E1000_PTC64         0x40d8          /* then ... 1522 as PRC */
#define E1000_MPTC          0x40f0
#define E1000_BPTC          0x40f4
#define E1000_TSCTC         0x40f8

/*
 * Transmit descriptors (SDM 3.3), 16 bytes, little-endian:
 *
 *   legacy:   63..0 buffer address
 *             79..64 length  87..80 CSO  95..88 CMD
 *             99..96 STA  103..100 rsv  111..104 CSS  127..112 special
 *   context:  7..0 IPCSS  15..8 IPCSO  31..16 IPCSE
 *             39..32 TUCSS  47..40 TUCSO  63..48 TUCSE
 *             83..64 PAYLEN  87..84 DTYP=0000  95..88 TUCMD
 *             99..96 STA  111..104 HDRLEN  127..112 MSS
 *   data:     63..0 buffer address
 *             83..64 DTALEN  87..84 DTYP=0001  95..88 DCMD
 *             99..96 STA  111..104 POPTS  127..112 special
 */
#define E1000_DESC_SIZE     16
#define E1000_TXD_CMD_EOP   (1u << 0)
#define E1000_TXD_CMD_IFCS  (1u << 1)
#define E1000_TXD_CMD_IC    (1u << 2)       /* legacy: insert checksum */
#define E1000_TXD_CMD_TSE   (1u << 2)       /* data, context: TSO */
#define E1000_TXD_CMD_RS    (1u << 3)
#define E1000_TXD_CMD_DEXT  (1u << 5)
#define E1000_TXD_CMD_VLE   (1u << 6)
#define E1000_TXD_CMD_IDE   (1u << 7)
#define E1000_TXD_TUCMD_TCP (1u << 0)       /* context: TCP, else UDP */
#define E1000_TXD_TUCMD_IP  (1u << 1)       /* context: IPv4, else IPv6 */
#define E1000_TXD_DTYP_CTX  0
#define E1000_TXD_DTYP_DATA 1
#define E1000_TXD_STA_DD    (1u << 0)
#define E1000_TXD_POPTS_IXSM (1u << 0)
#define E1000_TXD_POPTS_TXSM (1u << 1)
#define E1000_TXD_STA_OFF   12              /* status byte in the desc */

/*
 * Receive descriptor (SDM 3.2.3), 16 bytes:
 *   63..0 buffer address  79..64 length  95..80 packet checksum
 *   103..96 status  111..104 errors  127..112 special (VLAN tag)
 */
#define E1000_RXD_STA_DD    (1u << 0)
#define E1000_RXD_STA_EOP   (1u << 1)
#define E1000_RXD_STA_IXSM  (1u << 2)       /* ignore checksum indication */
#define E1000_RXD_STA_VP    (1u << 3)

#define E1000_VLAN_TPID     0x8100          /* VET's power-on value */
#define E1000_VLAN_HLEN     4
#define E1000_FCS_LEN       4

#endif
