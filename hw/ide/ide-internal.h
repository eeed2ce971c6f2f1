/*
 * What the IDE files share: a channel (IDEBus) with its two units
 * (IDEState), the bus master (SFF-8038i) and the ATAPI state.
 *
 * One transfer is in progress per unit at most.  Disk I/O is
 * asynchronous: a request carries the unit's generation number, and a
 * reset bumps it, so that a completion arriving after a reset is dropped.
 */
#ifndef HW_IDE_INTERNAL_H
#define HW_IDE_INTERNAL_H

#include "qlite/block.h"
#include "qlite/error.h"
#include "qlite/ide.h"

#define IDE_SECTOR_SIZE     512
#define ATAPI_SECTOR_SIZE   2048
/* Every transfer goes through this buffer, a chunk at a time. */
#define IDE_BUF_SIZE        (128 * 1024)
#define IDE_BUF_SECTORS     (IDE_BUF_SIZE / IDE_SECTOR_SIZE)
#define ATAPI_BUF_SECTORS   (IDE_BUF_SIZE / ATAPI_SECTOR_SIZE)
#define IDE_MAX_MULT        16      /* READ/WRITE MULTIPLE block, sectors */

/* Status register (ATA/ATAPI-6 7.15.6). */
#define ATA_ST_ERR      0x01
#define ATA_ST_DRQ      0x08
#define ATA_ST_DSC      0x10        /* seek complete (obsolete, still set) */
#define ATA_ST_DF       0x20
#define ATA_ST_DRDY     0x40
#define ATA_ST_BSY      0x80
/* Error register. */
#define ATA_ERR_ABRT    0x04
#define ATA_ERR_IDNF    0x10
#define ATA_ERR_UNC     0x40
/* Device register. */
#define ATA_DEV_DEV     0x10        /* unit 1 */
#define ATA_DEV_LBA     0x40
/* Device control register. */
#define ATA_CTL_NIEN    0x02
#define ATA_CTL_SRST    0x04
#define ATA_CTL_HOB     0x80
/* ATAPI interrupt reason, in the sector count register. */
#define ATAPI_IR_COD    0x01
#define ATAPI_IR_IO     0x02

/* Bus master (SFF-8038i 2.0, section 2.1). */
#define BM_CMD_START    0x01
#define BM_CMD_READ     0x08        /* bus master writes to memory */
#define BM_ST_ACTIVE    0x01
#define BM_ST_ERROR     0x02
#define BM_ST_INT       0x04
#define BM_ST_DMA0_CAP  0x20
#define BM_ST_DMA1_CAP  0x40
/* A PRD table may not cross a 64 KiB boundary: 8192 entries at most. */
#define BM_PRD_MAX      8192

typedef enum {
    IDE_KIND_NONE,
    IDE_KIND_HD,
    IDE_KIND_CD,
} IDEKind;

typedef struct IDEBus IDEBus;
typedef struct IDEState IDEState;
typedef void IDEFn(IDEState *s);

/* SCSI sense keys (SPC-3 4.5.6) and the codes we use. */
#define SENSE_NONE              0x00
#define SENSE_NOT_READY         0x02
#define SENSE_MEDIUM_ERROR      0x03
#define SENSE_ILLEGAL_REQUEST   0x05
#define SENSE_UNIT_ATTENTION    0x06
#define ASC_INVALID_OPCODE      0x20
#define ASC_LBA_OUT_OF_RANGE    0x21
#define ASC_INVALID_FIELD       0x24
#define ASC_MEDIUM_CHANGED      0x28
#define ASC_INCOMPATIBLE_MEDIUM 0x30
#define ASC_MEDIUM_NOT_PRESENT  0x3a
#define ASC_REMOVAL_PREVENTED   0x53
#define ASC_UNRECOVERED_READ    0x11

/* GET EVENT STATUS NOTIFICATION media event codes (MMC-5 6.6.2.3). */
#define MEDIA_EV_NONE           0
#define MEDIA_EV_EJECT_REQUEST  1
#define MEDIA_EV_NEW_MEDIA      2
#define MEDIA_EV_REMOVAL        3

typedef struct IDECdState {
    uint8_t packet[12];
    uint8_t sense_key, asc, ascq;
    bool ua_pending;            /* medium changed: next command reports it */
    uint8_t media_event;        /* waiting for GET EVENT STATUS, or 0 */
    bool tray_open;
    bool locked;                /* PREVENT ALLOW MEDIUM REMOVAL */
    bool dma;                   /* this packet's data goes by DMA */
    uint16_t bcl;               /* PIO byte count limit, even */
    int64_t lba;                /* next sector of a READ */
    uint32_t sectors_left;
    uint32_t bytes_left;        /* reply bytes the guest has yet to take */
    uint32_t buf_len;           /* valid bytes in io_buffer */
    uint32_t buf_pos;           /* next byte for the guest */
} IDECdState;

struct IDEState {
    IDEBus *bus;
    int unit;
    IDEKind kind;               /* NONE: no device plugged */
    DeviceState *dev;
    BlockBackend *blk;          /* NULL: empty CD drive */
    char serial[21];
    char model[41];
    char version[9];
    uint64_t wwn;
    uint64_t nb_sectors;        /* disk size in 512-byte sectors */
    uint16_t cylinders, heads, sectors;     /* CHS geometry */

    /* Taskfile: current values and the ones before (ATA "HOB"). */
    uint8_t feature, nsector, sector, lcyl, hcyl;
    uint8_t hob_feature, hob_nsector, hob_sector, hob_lcyl, hob_hcyl;
    uint8_t select, status, error;

    /* The command in progress. */
    uint8_t cmd;
    bool lba48;
    int64_t lba;                /* next sector */
    uint32_t sectors_left;
    uint32_t chunk;             /* sectors of the current block or chunk */
    uint32_t block;             /* sectors per DRQ block (PIO) */
    bool is_write;
    uint8_t mult_sectors;       /* SET MULTIPLE MODE; 0: disabled */
    uint8_t xfer_mode;          /* SET FEATURES 03h value */
    bool wce;                   /* volatile write cache enabled */

    /* DMA: the command waits for the bus master's start bit. */
    bool dma_pending;
    IDEFn *dma_start;

    /* PIO data window into io_buffer. */
    uint8_t *io_buffer;
    uint32_t data_ptr, data_end;
    bool pio_out;               /* the guest writes the window */
    IDEFn *end_transfer;

    uint32_t gen;               /* bumped by each reset */
    IDEFn *retry;               /* werror/rerror=stop: redo when running */
    IDECdState cd;
};

typedef struct BMDMAState {
    uint8_t cmd;
    uint8_t status;
    uint32_t prd_addr;
    /* Cursor in the PRD table for the transfer in progress. */
    uint32_t prd_index;
    uint64_t cur_addr;
    uint32_t cur_left;
    bool cur_last;
} BMDMAState;

struct IDEBus {
    BusState parent;
    int index;                  /* 0: primary, 1: secondary */
    IDEState ifs[IDE_NUM_UNITS];
    uint8_t unit;               /* selected by the DEV bit */
    uint8_t devctl;
    bool irq_pending;           /* INTRQ, until the status is read */
    IrqLine *irq;
    BMDMAState bm;
    MemoryRegion cmd_io;
    MemoryRegion ctl_io;
};

#define IDE_BUS(obj) OBJECT_CHECK(IDEBus, (obj), TYPE_IDE_BUS)

/* core.c: registers, PIO, ATA commands, reset */
void ide_bus_init(IDEBus *bus, int index, IrqLine *irq);
void ide_bus_reset(IDEBus *bus);
extern const MemoryRegionOps ide_cmd_ops;
extern const MemoryRegionOps ide_ctl_ops;
void ide_drive_attach(IDEState *s, IDEKind kind, DeviceState *dev,
                      BlockBackend *blk);
void ide_drive_detach(IDEState *s);
void ide_set_irq(IDEBus *bus);
void ide_set_signature(IDEState *s);
void ide_transfer_start(IDEState *s, uint32_t offset, uint32_t len,
                        bool out, IDEFn *end);
void ide_cmd_done(IDEState *s);
void ide_abort(IDEState *s);
/* Run @fn after the pending aio of @s, unless a reset came between. */
typedef void IDEAioFn(IDEState *s, int ret);
void *ide_aio_req(IDEState *s, IDEAioFn *fn);
void ide_aio_cb(void *opaque, int ret);
/*
 * A request failed with @ret: emit BLOCK_IO_ERROR and return what
 * -drive rerror=/werror= wants.  For STOP, @retry runs once the VM runs
 * again (the unit stays BSY until then).
 */
BlockErrorAction ide_error_action(IDEState *s, int ret, bool is_read,
                                  IDEFn *retry);

/* identify.c */
void ide_identify(IDEState *s, uint8_t *buf);
void ide_identify_packet(IDEState *s, uint8_t *buf);

/* bmdma.c: the bus master and its PRD tables */
extern const MemoryRegionOps bmdma_ops;
void bmdma_reset(IDEBus *bus);
/* A DMA command is ready on @s: start now if the bus master runs. */
void ide_dma_ready(IDEState *s, IDEFn *start);
/* Copy between io_buffer and the PRD regions; false: table is bad. */
bool bmdma_copy(IDEBus *bus, uint8_t *buf, uint32_t len, bool to_guest);
void bmdma_rewind(IDEBus *bus);
/* The transfer ended: interrupt, or a PRD error (status bits, abort). */
void bmdma_done(IDEState *s);
void bmdma_prd_error(IDEState *s);
bool bmdma_running(IDEBus *bus);

/* atapi.c */
void atapi_packet_cmd(IDEState *s);
void atapi_reset(IDEState *s);
bool atapi_has_medium(IDEState *s);
void atapi_set_tray(IDEState *s, bool open);
extern const BlockDevOps atapi_block_ops;

#endif
