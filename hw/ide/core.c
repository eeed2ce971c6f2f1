/*
 * An IDE channel: the taskfile registers (ATA/ATAPI-6 section 7), PIO
 * data transfers, resets, interrupts, and the ATA command set of a disk.
 *
 * Writes to the command block go to both units (as on the cable); reads
 * come from the unit the DEV bit selects, and read 0 when that unit is
 * absent, so a probe sees no echo.  Disk reads and writes are blk_aio_*
 * requests; the unit shows BSY while one is in flight.
 */
#include "ide-internal.h"
#include "qlite/main-loop.h"
#include "qlite/runstate.h"

/* Commands (ATA/ATAPI-6 section 8). */
#define ATA_CMD_DEVICE_RESET    0x08

typedef struct IDECmd {
    IDEFn *fn;
    uint8_t kinds;              /* bit per IDEKind that accepts it */
    bool ext;                   /* 48-bit taskfile */
} IDECmd;

static const IDECmd ide_cmds[256];

/* ---- interrupts ---- */

static void ide_update_irq(IDEBus *bus)
{
    irq_set(bus->irq, bus->irq_pending && !(bus->devctl & ATA_CTL_NIEN));
}

/*
 * INTRQ goes up; reading the status register takes it down.  The ISA
 * line is edge-triggered, so a new interrupt while one is pending is
 * made a new edge.  The bus master sees every interrupt (SFF-8038i).
 */
void ide_set_irq(IDEBus *bus)
{
    if (bus->irq_pending) {
        irq_set(bus->irq, 0);
    }
    bus->irq_pending = true;
    bus->bm.status |= BM_ST_INT;
    ide_update_irq(bus);
}

/* ---- asynchronous requests ---- */

typedef struct IDEAioReq {
    IDEState *s;
    uint32_t gen;
    IDEAioFn *fn;
} IDEAioReq;

void *ide_aio_req(IDEState *s, IDEAioFn *fn)
{
    IDEAioReq *req = g_new(IDEAioReq, 1);

    req->s = s;
    req->gen = s->gen;
    req->fn = fn;
    return req;
}

/*
 * Completions run in the main thread, which holds the big lock while it
 * dispatches; take it anyway when some other caller (a drain) runs us.
 */
void ide_aio_cb(void *opaque, int ret)
{
    IDEAioReq *req = opaque;
    bool locked = bql_locked();

    if (!locked) {
        bql_lock();
    }
    if (req->gen == req->s->gen) {
        req->fn(req->s, ret);
    }
    if (!locked) {
        bql_unlock();
    }
    g_free(req);
}

BlockErrorAction ide_error_action(IDEState *s, int ret, bool is_read,
                                  IDEFn *retry)
{
    BlockErrorAction action = blk_get_error_action(s->blk, is_read, ret);

    blk_error_action(s->blk, action, is_read, ret);
    if (action == BLOCK_ERROR_ACTION_STOP) {
        s->retry = retry;
    }
    return action;
}

/* The VM runs again: redo what werror/rerror=stop held back. */
static void ide_runstate_changed(void *opaque, bool running)
{
    IDEBus *bus = opaque;

    for (int i = 0; i < IDE_NUM_UNITS && running; i++) {
        IDEState *s = &bus->ifs[i];
        IDEFn *retry = s->retry;

        s->retry = NULL;
        if (retry) {
            retry(s);
        }
    }
}

/* ---- status, signatures, resets ---- */

void ide_cmd_done(IDEState *s)
{
    s->status = ATA_ST_DRDY | ATA_ST_DSC;
    ide_set_irq(s->bus);
}

void ide_abort(IDEState *s)
{
    s->status = ATA_ST_DRDY | ATA_ST_ERR;
    s->error = ATA_ERR_ABRT;
    ide_set_irq(s->bus);
}

/* An address the disk does not have: IDNF (ATA-6 7.15.6.3). */
static void ide_idnf(IDEState *s)
{
    s->status = ATA_ST_DRDY | ATA_ST_ERR;
    s->error = ATA_ERR_IDNF | ATA_ERR_ABRT;
    ide_set_irq(s->bus);
}

static void ide_io_error(IDEState *s, int ret)
{
    s->status = ATA_ST_DRDY | ATA_ST_ERR;
    s->error = ret == -EIO ? ATA_ERR_UNC : ATA_ERR_ABRT;
    ide_set_irq(s->bus);
}

/*
 * A failed disk request, by the error policy: true when the command goes
 * on as if it had worked (ignore); else it was reported or is held.
 */
static bool ide_rw_error(IDEState *s, int ret, bool is_read, IDEFn *retry)
{
    switch (ide_error_action(s, ret, is_read, retry)) {
    case BLOCK_ERROR_ACTION_IGNORE:
        return true;
    case BLOCK_ERROR_ACTION_STOP:
        return false;
    default:
        s->bus->bm.status &= ~BM_ST_ACTIVE;
        ide_io_error(s, ret);
        return false;
    }
}

/* The register values that tell ATA from ATAPI (ATA-6 9.12). */
void ide_set_signature(IDEState *s)
{
    s->select = 0xa0 | (s->unit << 4);
    s->nsector = 1;
    s->sector = 1;
    if (s->kind == IDE_KIND_CD) {
        s->lcyl = 0x14;
        s->hcyl = 0xeb;
    } else {
        s->lcyl = 0;
        s->hcyl = 0;
    }
}

static uint8_t ide_ready_status(IDEState *s)
{
    return s->kind == IDE_KIND_HD ? ATA_ST_DRDY | ATA_ST_DSC : 0;
}

/* Drop whatever the unit was doing; completions in flight are ignored. */
static void ide_unit_reset(IDEState *s)
{
    s->gen++;
    s->retry = NULL;
    s->dma_pending = false;
    s->end_transfer = NULL;
    s->data_ptr = s->data_end = 0;
    s->feature = s->hob_feature = 0;
    s->hob_nsector = s->hob_sector = s->hob_lcyl = s->hob_hcyl = 0;
    s->lba48 = false;
    s->sectors_left = 0;
    ide_set_signature(s);
    s->error = 0x01;            /* diagnostics passed */
    s->status = ide_ready_status(s);
    if (s->kind == IDE_KIND_CD) {
        atapi_reset(s);
    }
}

/* Device control SRST (ATA-6 9.2): BSY while set, reset when cleared. */
static void ide_soft_reset(IDEBus *bus, bool asserted)
{
    for (int i = 0; i < IDE_NUM_UNITS; i++) {
        IDEState *s = &bus->ifs[i];

        ide_unit_reset(s);
        if (asserted) {
            s->status = ATA_ST_BSY;
        }
    }
    bus->unit = 0;
    bus->irq_pending = false;
    ide_update_irq(bus);
}

void ide_bus_reset(IDEBus *bus)
{
    bus->devctl = 0;
    for (int i = 0; i < IDE_NUM_UNITS; i++) {
        bus->ifs[i].xfer_mode = 0;
        bus->ifs[i].mult_sectors = IDE_MAX_MULT;
    }
    ide_soft_reset(bus, false);
    bmdma_reset(bus);
}

void ide_bus_init(IDEBus *bus, int index, IrqLine *irq)
{
    bus->index = index;
    bus->irq = irq;
    for (int i = 0; i < IDE_NUM_UNITS; i++) {
        IDEState *s = &bus->ifs[i];

        s->bus = bus;
        s->unit = i;
        /* Kept for the bus's life: a stale request may still fill it. */
        s->io_buffer = g_malloc0(IDE_BUF_SIZE);
    }
    runstate_add_change_notifier(ide_runstate_changed, bus);
}

void ide_drive_attach(IDEState *s, IDEKind kind, DeviceState *dev,
                      BlockBackend *blk)
{
    s->kind = kind;
    s->dev = dev;
    s->blk = blk;
    s->nb_sectors = 0;
    if (kind == IDE_KIND_HD) {
        int64_t len = blk_getlength(blk);

        s->nb_sectors = len > 0 ? len / IDE_SECTOR_SIZE : 0;
    }
    /* CHS as BIOSes translate: 16 heads, 63 sectors per track. */
    s->heads = 16;
    s->sectors = 63;
    s->cylinders = MAX(1, MIN(s->nb_sectors / (16 * 63), 16383));
    s->wce = blk ? blk_enable_write_cache(blk) : true;
    s->mult_sectors = IDE_MAX_MULT;
    s->xfer_mode = 0;
    memset(&s->cd, 0, sizeof(s->cd));
    ide_unit_reset(s);
}

void ide_drive_detach(IDEState *s)
{
    ide_unit_reset(s);
    s->kind = IDE_KIND_NONE;
    s->dev = NULL;
    s->blk = NULL;
}

/* ---- PIO data ---- */

/* Open a data window of @len bytes at @offset of io_buffer; DRQ on. */
void ide_transfer_start(IDEState *s, uint32_t offset, uint32_t len,
                        bool out, IDEFn *end)
{
    g_assert(offset <= IDE_BUF_SIZE && len <= IDE_BUF_SIZE - offset);
    s->data_ptr = offset;
    s->data_end = offset + len;
    s->pio_out = out;
    s->end_transfer = end;
    s->status = ATA_ST_DRDY | ATA_ST_DSC | ATA_ST_DRQ;
}

static void ide_transfer_end(IDEState *s)
{
    IDEFn *fn = s->end_transfer;

    s->status &= ~ATA_ST_DRQ;
    s->end_transfer = NULL;
    if (fn) {
        fn(s);
    }
}

static bool ide_data_open(IDEState *s, bool out)
{
    return s->kind != IDE_KIND_NONE && (s->status & ATA_ST_DRQ) &&
           s->pio_out == out && s->data_ptr < s->data_end;
}

/* The data port takes 16- or 32-bit accesses (ATA-6 7.6, PIIX 32-bit). */
static uint64_t ide_data_read(IDEState *s, unsigned size)
{
    uint32_t v = 0;

    if (!ide_data_open(s, false)) {
        return 0;
    }
    size = MIN(size, s->data_end - s->data_ptr);
    memcpy(&v, s->io_buffer + s->data_ptr, size);
    s->data_ptr += size;
    if (s->data_ptr >= s->data_end) {
        ide_transfer_end(s);
    }
    return GUINT32_FROM_LE(v);
}

static void ide_data_write(IDEState *s, uint64_t val, unsigned size)
{
    uint32_t v = GUINT32_TO_LE((uint32_t)val);

    if (!ide_data_open(s, true)) {
        return;
    }
    size = MIN(size, s->data_end - s->data_ptr);
    memcpy(s->io_buffer + s->data_ptr, &v, size);
    s->data_ptr += size;
    if (s->data_ptr >= s->data_end) {
        ide_transfer_end(s);
    }
}

/* ---- addressing ---- */

/* The starting sector the taskfile names, or -1 (CHS sector 0). */
static int64_t ide_get_sector(IDEState *s)
{
    uint32_t cyl = s->lcyl | (s->hcyl << 8);

    if (s->lba48) {
        return ((uint64_t)s->hob_hcyl << 40) | ((uint64_t)s->hob_lcyl << 32) |
               ((uint64_t)s->hob_sector << 24) | (s->hcyl << 16) |
               (s->lcyl << 8) | s->sector;
    }
    if (s->select & ATA_DEV_LBA) {
        return ((s->select & 0x0f) << 24) | (s->hcyl << 16) |
               (s->lcyl << 8) | s->sector;
    }
    if (s->sector == 0) {
        return -1;
    }
    return ((int64_t)cyl * s->heads + (s->select & 0x0f)) * s->sectors +
           s->sector - 1;
}

/* Sector count; 0 means 256 (LBA28) or 65536 (LBA48). */
static uint32_t ide_get_count(IDEState *s)
{
    if (s->lba48) {
        uint32_t n = s->nsector | (s->hob_nsector << 8);
        return n ? n : 65536;
    }
    return s->nsector ? s->nsector : 256;
}

/* Check the range and load lba/sectors_left; on failure, error status. */
static bool ide_prepare_rw(IDEState *s, bool write)
{
    int64_t lba = ide_get_sector(s);
    uint32_t n = ide_get_count(s);

    if (!s->blk || (write && blk_is_read_only(s->blk))) {
        ide_abort(s);
        return false;
    }
    if (lba < 0 || (uint64_t)lba + n > s->nb_sectors) {
        qlite_log_guest_error("ide: sectors %" PRId64 "+%u past the disk's "
                              "%" PRIu64, lba, n, s->nb_sectors);
        ide_idnf(s);
        return false;
    }
    s->lba = lba;
    s->sectors_left = n;
    s->is_write = write;
    return true;
}

static void ide_submit(IDEState *s, uint32_t sectors, IDEAioFn *done)
{
    struct iovec iov = {
        .iov_base = s->io_buffer,
        .iov_len = sectors * IDE_SECTOR_SIZE,
    };

    s->chunk = sectors;
    s->status = ATA_ST_BSY | ATA_ST_DRDY;
    if (s->is_write) {
        blk_aio_pwritev(s->blk, s->lba * IDE_SECTOR_SIZE, &iov, 1, 0,
                        ide_aio_cb, ide_aio_req(s, done));
    } else {
        blk_aio_preadv(s->blk, s->lba * IDE_SECTOR_SIZE, &iov, 1,
                       ide_aio_cb, ide_aio_req(s, done));
    }
}

static void ide_advance(IDEState *s)
{
    s->lba += s->chunk;
    s->sectors_left -= s->chunk;
}

/* ---- PIO reads and writes: a DRQ block of s->block sectors ---- */

static void ide_pio_read_next(IDEState *s);

static void ide_pio_read_taken(IDEState *s)
{
    if (s->sectors_left) {
        ide_pio_read_next(s);
    } else {
        s->status = ATA_ST_DRDY | ATA_ST_DSC;
    }
}

static void ide_pio_read_cb(IDEState *s, int ret)
{
    if (ret < 0 && !ide_rw_error(s, ret, true, ide_pio_read_next)) {
        return;
    }
    ide_advance(s);
    ide_transfer_start(s, 0, s->chunk * IDE_SECTOR_SIZE, false,
                       ide_pio_read_taken);
    ide_set_irq(s->bus);
}

static void ide_pio_read_next(IDEState *s)
{
    ide_submit(s, MIN(s->sectors_left, s->block), ide_pio_read_cb);
}

static void ide_pio_write_next(IDEState *s);
static void ide_pio_write_block(IDEState *s);

static void ide_pio_write_cb(IDEState *s, int ret)
{
    if (ret < 0 && !ide_rw_error(s, ret, false, ide_pio_write_block)) {
        return;
    }
    ide_advance(s);
    if (s->sectors_left) {
        ide_pio_write_next(s);
    } else {
        s->status = ATA_ST_DRDY | ATA_ST_DSC;
    }
    ide_set_irq(s->bus);
}

static void ide_pio_write_block(IDEState *s)
{
    ide_submit(s, s->chunk, ide_pio_write_cb);
}

static void ide_pio_write_next(IDEState *s)
{
    s->chunk = MIN(s->sectors_left, s->block);
    ide_transfer_start(s, 0, s->chunk * IDE_SECTOR_SIZE, true,
                       ide_pio_write_block);
}

static void ide_start_pio(IDEState *s, bool write, uint32_t block)
{
    if (!ide_prepare_rw(s, write)) {
        return;
    }
    s->block = block;
    if (write) {
        ide_pio_write_next(s);
    } else {
        ide_pio_read_next(s);
    }
}

/* ---- DMA reads and writes, through io_buffer a chunk at a time ---- */

static void ide_dma_next(IDEState *s);
static void ide_dma_cb(IDEState *s, int ret);

/* werror/rerror=stop: the same chunk again (the buffer still holds it). */
static void ide_dma_redo(IDEState *s)
{
    ide_submit(s, s->chunk, ide_dma_cb);
}

static void ide_dma_cb(IDEState *s, int ret)
{
    if (ret < 0 && !ide_rw_error(s, ret, !s->is_write, ide_dma_redo)) {
        return;
    }
    if (!s->is_write &&
        !bmdma_copy(s->bus, s->io_buffer, s->chunk * IDE_SECTOR_SIZE, true)) {
        bmdma_prd_error(s);
        return;
    }
    ide_advance(s);
    ide_dma_next(s);
}

static void ide_dma_next(IDEState *s)
{
    uint32_t n = MIN(s->sectors_left, IDE_BUF_SECTORS);

    if (!n) {
        s->status = ATA_ST_DRDY | ATA_ST_DSC;
        bmdma_done(s);
        return;
    }
    if (s->is_write &&
        !bmdma_copy(s->bus, s->io_buffer, n * IDE_SECTOR_SIZE, false)) {
        bmdma_prd_error(s);
        return;
    }
    ide_submit(s, n, ide_dma_cb);
}

static void ide_dma_start(IDEState *s)
{
    bmdma_rewind(s->bus);
    ide_dma_next(s);
}

static void ide_start_dma(IDEState *s, bool write)
{
    if (!ide_prepare_rw(s, write)) {
        return;
    }
    s->status = ATA_ST_BSY | ATA_ST_DRDY;
    ide_dma_ready(s, ide_dma_start);
}

/* ---- ATA commands ---- */

static void cmd_read_pio(IDEState *s)
{
    ide_start_pio(s, false, 1);
}

static void cmd_write_pio(IDEState *s)
{
    ide_start_pio(s, true, 1);
}

static void cmd_read_multiple(IDEState *s)
{
    if (!s->mult_sectors) {
        ide_abort(s);
        return;
    }
    ide_start_pio(s, false, s->mult_sectors);
}

static void cmd_write_multiple(IDEState *s)
{
    if (!s->mult_sectors) {
        ide_abort(s);
        return;
    }
    ide_start_pio(s, true, s->mult_sectors);
}

static void cmd_read_dma(IDEState *s)
{
    ide_start_dma(s, false);
}

static void cmd_write_dma(IDEState *s)
{
    ide_start_dma(s, true);
}

/* READ VERIFY: nothing to transfer; the range is all we check. */
static void cmd_verify(IDEState *s)
{
    if (ide_prepare_rw(s, false)) {
        ide_cmd_done(s);
    }
}

static void cmd_done(IDEState *s)
{
    ide_cmd_done(s);
}

static void cmd_flush(IDEState *s);

static void ide_flush_cb(IDEState *s, int ret)
{
    if (ret < 0 && !ide_rw_error(s, ret, false, cmd_flush)) {
        return;
    }
    ide_cmd_done(s);
}

static void cmd_flush(IDEState *s)
{
    if (!s->blk || s->kind != IDE_KIND_HD) {
        ide_cmd_done(s);
        return;
    }
    s->status = ATA_ST_BSY | ATA_ST_DRDY;
    blk_aio_flush(s->blk, ide_aio_cb, ide_aio_req(s, ide_flush_cb));
}

static void ide_identify_taken(IDEState *s)
{
    s->status = ATA_ST_DRDY | ATA_ST_DSC;
}

/* An ATAPI device aborts IDENTIFY DEVICE and shows its signature. */
static void cmd_identify(IDEState *s)
{
    if (s->kind == IDE_KIND_CD) {
        ide_set_signature(s);
        ide_abort(s);
        return;
    }
    ide_identify(s, s->io_buffer);
    ide_transfer_start(s, 0, 512, false, ide_identify_taken);
    ide_set_irq(s->bus);
}

static void cmd_identify_packet(IDEState *s)
{
    ide_identify_packet(s, s->io_buffer);
    ide_transfer_start(s, 0, 512, false, ide_identify_taken);
    ide_set_irq(s->bus);
}

/* SET MULTIPLE MODE: a power of two up to IDE_MAX_MULT; 0 disables. */
static void cmd_set_multiple(IDEState *s)
{
    uint8_t n = s->nsector;

    if (n > IDE_MAX_MULT || (n & (n - 1))) {
        ide_abort(s);
        return;
    }
    s->mult_sectors = n;
    ide_cmd_done(s);
}

/* SET FEATURES 03h: the mode class in bits 7:3 (ATA-6 8.46.11). */
static bool ide_transfer_mode_ok(uint8_t v)
{
    switch (v >> 3) {
    case 0:
        return true;            /* PIO default mode */
    case 1:
        return (v & 7) <= 4;    /* PIO flow control mode */
    case 4:
        return (v & 7) <= 2;    /* multiword DMA */
    case 8:
        return (v & 7) <= 5;    /* Ultra DMA */
    default:
        return false;
    }
}

static void cmd_set_features(IDEState *s)
{
    switch (s->feature) {
    case 0x02:                  /* enable volatile write cache */
    case 0x82:                  /* disable it */
        s->wce = s->feature == 0x02;
        if (s->blk && s->kind == IDE_KIND_HD) {
            blk_set_enable_write_cache(s->blk, s->wce);
        }
        break;
    case 0x03:
        if (!ide_transfer_mode_ok(s->nsector)) {
            ide_abort(s);
            return;
        }
        s->xfer_mode = s->nsector;
        break;
    case 0x55:                  /* read look-ahead off, on */
    case 0xaa:
    case 0x66:                  /* power-on defaults off, on */
    case 0xcc:
        break;
    default:
        ide_abort(s);
        return;
    }
    ide_cmd_done(s);
}

static void cmd_check_power_mode(IDEState *s)
{
    s->nsector = 0xff;          /* active or idle */
    ide_cmd_done(s);
}

/* EXECUTE DEVICE DIAGNOSTIC: both units report; device 0 is selected. */
static void cmd_diagnostic(IDEState *s)
{
    IDEBus *bus = s->bus;

    for (int i = 0; i < IDE_NUM_UNITS; i++) {
        IDEState *u = &bus->ifs[i];

        if (u->kind != IDE_KIND_NONE) {
            ide_set_signature(u);
            u->error = 0x01;
            u->status = ide_ready_status(u);
        }
    }
    bus->unit = 0;
    ide_set_irq(bus);
}

/* DEVICE RESET (ATAPI): a reset of this unit alone, no interrupt. */
static void cmd_device_reset(IDEState *s)
{
    ide_unit_reset(s);
    s->status = 0;
}

static void cmd_packet(IDEState *s)
{
    atapi_packet_cmd(s);
}

#define HD (1 << IDE_KIND_HD)
#define CD (1 << IDE_KIND_CD)

static const IDECmd ide_cmds[256] = {
    [ATA_CMD_DEVICE_RESET] = { cmd_device_reset, CD },
    [0x10] = { cmd_done, HD },                  /* RECALIBRATE */
    [0x20] = { cmd_read_pio, HD },              /* READ SECTORS */
    [0x21] = { cmd_read_pio, HD },
    [0x24] = { cmd_read_pio, HD, true },        /* READ SECTORS EXT */
    [0x25] = { cmd_read_dma, HD, true },        /* READ DMA EXT */
    [0x29] = { cmd_read_multiple, HD, true },   /* READ MULTIPLE EXT */
    [0x30] = { cmd_write_pio, HD },             /* WRITE SECTORS */
    [0x31] = { cmd_write_pio, HD },
    [0x34] = { cmd_write_pio, HD, true },       /* WRITE SECTORS EXT */
    [0x35] = { cmd_write_dma, HD, true },       /* WRITE DMA EXT */
    [0x39] = { cmd_write_multiple, HD, true },  /* WRITE MULTIPLE EXT */
    [0x40] = { cmd_verify, HD },                /* READ VERIFY SECTORS */
    [0x41] = { cmd_verify, HD },
    [0x42] = { cmd_verify, HD, true },          /* READ VERIFY EXT */
    [0x70] = { cmd_done, HD },                  /* SEEK */
    [0x90] = { cmd_diagnostic, HD | CD },       /* EXECUTE DIAGNOSTIC */
    [0x91] = { cmd_done, HD },                  /* INITIALIZE PARAMS */
    [0xa0] = { cmd_packet, CD },                /* PACKET */
    [0xa1] = { cmd_identify_packet, CD },       /* IDENTIFY PACKET */
    [0xc4] = { cmd_read_multiple, HD },         /* READ MULTIPLE */
    [0xc5] = { cmd_write_multiple, HD },        /* WRITE MULTIPLE */
    [0xc6] = { cmd_set_multiple, HD },          /* SET MULTIPLE MODE */
    [0xc8] = { cmd_read_dma, HD },              /* READ DMA */
    [0xc9] = { cmd_read_dma, HD },
    [0xca] = { cmd_write_dma, HD },             /* WRITE DMA */
    [0xcb] = { cmd_write_dma, HD },
    [0xe0] = { cmd_done, HD | CD },             /* STANDBY IMMEDIATE */
    [0xe1] = { cmd_done, HD | CD },             /* IDLE IMMEDIATE */
    [0xe2] = { cmd_done, HD | CD },             /* STANDBY */
    [0xe3] = { cmd_done, HD | CD },             /* IDLE */
    [0xe5] = { cmd_check_power_mode, HD | CD }, /* CHECK POWER MODE */
    [0xe7] = { cmd_flush, HD | CD },            /* FLUSH CACHE */
    [0xea] = { cmd_flush, HD, true },           /* FLUSH CACHE EXT */
    [0xec] = { cmd_identify, HD | CD },         /* IDENTIFY DEVICE */
    [0xef] = { cmd_set_features, HD | CD },     /* SET FEATURES */
};

static void ide_exec_cmd(IDEBus *bus, uint8_t cmd)
{
    IDEState *s = &bus->ifs[bus->unit];
    const IDECmd *c = &ide_cmds[cmd];

    if (s->kind == IDE_KIND_NONE) {
        return;
    }
    /* A busy device takes no command but DEVICE RESET (ATA-6 9.12). */
    if ((s->status & ATA_ST_BSY) &&
        !(cmd == ATA_CMD_DEVICE_RESET && s->kind == IDE_KIND_CD)) {
        return;
    }
    s->cmd = cmd;
    s->error = 0;
    s->end_transfer = NULL;
    s->dma_pending = false;
    if (!c->fn || !(c->kinds & (1 << s->kind))) {
        qlite_log_unimp("ide: command 0x%02x aborted", cmd);
        ide_abort(s);
        return;
    }
    s->lba48 = c->ext;
    c->fn(s);
}

/* ---- register access ---- */

static uint8_t ide_reg_read(IDEBus *bus, IDEState *s, unsigned reg)
{
    bool hob = bus->devctl & ATA_CTL_HOB;

    switch (reg) {
    case 1:
        return hob ? s->hob_feature : s->error;
    case 2:
        return hob ? s->hob_nsector : s->nsector;
    case 3:
        return hob ? s->hob_sector : s->sector;
    case 4:
        return hob ? s->hob_lcyl : s->lcyl;
    case 5:
        return hob ? s->hob_hcyl : s->hcyl;
    case 6:
        return s->select;
    default:
        bus->irq_pending = false;
        ide_update_irq(bus);
        return s->status;
    }
}

static uint64_t ide_cmd_read(void *opaque, uint64_t addr, unsigned size)
{
    IDEBus *bus = opaque;
    IDEState *s = &bus->ifs[bus->unit];

    if (addr == 0) {
        return ide_data_read(s, size);
    }
    if (s->kind == IDE_KIND_NONE) {
        return 0;
    }
    return ide_reg_read(bus, s, addr & 7);
}

/* Each register write keeps the previous value for 48-bit commands. */
static void ide_reg_write(IDEState *s, unsigned reg, uint8_t val)
{
    switch (reg) {
    case 1:
        s->hob_feature = s->feature;
        s->feature = val;
        break;
    case 2:
        s->hob_nsector = s->nsector;
        s->nsector = val;
        break;
    case 3:
        s->hob_sector = s->sector;
        s->sector = val;
        break;
    case 4:
        s->hob_lcyl = s->lcyl;
        s->lcyl = val;
        break;
    case 5:
        s->hob_hcyl = s->hcyl;
        s->hcyl = val;
        break;
    case 6:
        s->select = (val & ~ATA_DEV_DEV) | 0xa0 | (s->unit << 4);
        break;
    }
}

static void ide_cmd_write(void *opaque, uint64_t addr, uint64_t val,
                          unsigned size)
{
    IDEBus *bus = opaque;

    if (addr == 0) {
        ide_data_write(&bus->ifs[bus->unit], val, size);
        return;
    }
    if (addr == 7) {
        ide_exec_cmd(bus, val);
        return;
    }
    /* Writing the command block clears HOB (ATA-6 7.9). */
    bus->devctl &= ~ATA_CTL_HOB;
    for (int i = 0; i < IDE_NUM_UNITS; i++) {
        ide_reg_write(&bus->ifs[i], addr, val);
    }
    if (addr == 6) {
        bus->unit = (val & ATA_DEV_DEV) ? 1 : 0;
    }
}

/* Alternate status: the status without acknowledging the interrupt. */
static uint64_t ide_ctl_read(void *opaque, uint64_t addr, unsigned size)
{
    IDEBus *bus = opaque;
    IDEState *s = &bus->ifs[bus->unit];

    return s->kind == IDE_KIND_NONE ? 0 : s->status;
}

static void ide_ctl_write(void *opaque, uint64_t addr, uint64_t val,
                          unsigned size)
{
    IDEBus *bus = opaque;
    bool was_srst = bus->devctl & ATA_CTL_SRST;
    bool srst = val & ATA_CTL_SRST;

    bus->devctl = val;
    if (srst != was_srst) {
        ide_soft_reset(bus, srst);
    }
    ide_update_irq(bus);
}

const MemoryRegionOps ide_cmd_ops = {
    .read = ide_cmd_read,
    .write = ide_cmd_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
};

const MemoryRegionOps ide_ctl_ops = {
    .read = ide_ctl_read,
    .write = ide_ctl_write,
    .valid = { .min_access_size = 1, .max_access_size = 1 },
};
