/*
 * The ATAPI CD/DVD-ROM: the PACKET protocol (ATA/ATAPI-6 9.10, 9.11)
 * carrying SCSI commands (SPC-3 for the common ones, MMC-5 for the
 * multimedia ones) to 2048-byte sectors of an image.
 *
 * A reply is built in io_buffer and handed over by PIO, at most the byte
 * count limit per DRQ block, or by DMA.  READ(10)/(12) go through the
 * same buffer a chunk at a time.  Errors are CHECK CONDITION: ERR in the
 * status, the sense key in the error register's high nibble, the sense
 * data kept for REQUEST SENSE.
 */
#include "ide-internal.h"

/* Total sectors of a CD; more than this is reported as a DVD. */
#define CD_MAX_SECTORS      404850

enum {
    ATAPI_NEEDS_MEDIUM = 1 << 0,
    ATAPI_ALLOW_UA = 1 << 1,    /* reports no UNIT ATTENTION */
};

typedef struct AtapiCmd {
    IDEFn *fn;
    uint8_t flags;
} AtapiCmd;

static const AtapiCmd atapi_cmds[256];

static uint16_t be16(const uint8_t *p)
{
    return (p[0] << 8) | p[1];
}

static uint32_t be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
}

static void put_be16(uint8_t *p, uint16_t v)
{
    p[0] = v >> 8;
    p[1] = v;
}

static void put_be32(uint8_t *p, uint32_t v)
{
    p[0] = v >> 24;
    p[1] = v >> 16;
    p[2] = v >> 8;
    p[3] = v;
}

static uint32_t atapi_sectors(IDEState *s)
{
    int64_t len = s->blk && blk_is_inserted(s->blk) ? blk_getlength(s->blk)
                                                    : 0;

    return len > 0 ? MIN(len / ATAPI_SECTOR_SIZE, UINT32_MAX) : 0;
}

bool atapi_has_medium(IDEState *s)
{
    return !s->cd.tray_open && atapi_sectors(s) > 0;
}

/* ---- completion ---- */

static void atapi_ok(IDEState *s)
{
    s->error = 0;
    s->status = ATA_ST_DRDY | ATA_ST_DSC;
    s->nsector = ATAPI_IR_IO | ATAPI_IR_COD;
    ide_set_irq(s->bus);
}

static void atapi_error(IDEState *s, uint8_t key, uint8_t asc, uint8_t ascq)
{
    s->cd.sense_key = key;
    s->cd.asc = asc;
    s->cd.ascq = ascq;
    s->error = key << 4;
    s->status = ATA_ST_DRDY | ATA_ST_ERR;
    s->nsector = ATAPI_IR_IO | ATAPI_IR_COD;
    ide_set_irq(s->bus);
}

static void atapi_invalid_field(IDEState *s)
{
    atapi_error(s, SENSE_ILLEGAL_REQUEST, ASC_INVALID_FIELD, 0);
}

/* MEDIUM NOT PRESENT: ASCQ 1 with the tray closed, 2 with it open. */
static void atapi_no_medium(IDEState *s)
{
    atapi_error(s, SENSE_NOT_READY, ASC_MEDIUM_NOT_PRESENT,
                s->cd.tray_open ? 2 : 1);
}

/* ---- data phase ---- */

static void atapi_read_chunk(IDEState *s);

static void atapi_pio_next(IDEState *s)
{
    IDECdState *cd = &s->cd;
    uint32_t n;

    if (cd->buf_pos >= cd->buf_len) {
        if (cd->sectors_left) {
            atapi_read_chunk(s);
        } else {
            atapi_ok(s);
        }
        return;
    }
    n = MIN(cd->buf_len - cd->buf_pos, cd->bcl);
    s->lcyl = n;
    s->hcyl = n >> 8;
    s->nsector = ATAPI_IR_IO;
    ide_transfer_start(s, cd->buf_pos, n, false, atapi_pio_next);
    cd->buf_pos += n;
    ide_set_irq(s->bus);
}

static void atapi_dma_next(IDEState *s)
{
    IDECdState *cd = &s->cd;

    if (cd->buf_pos < cd->buf_len) {
        if (!bmdma_copy(s->bus, s->io_buffer + cd->buf_pos,
                        cd->buf_len - cd->buf_pos, true)) {
            bmdma_prd_error(s);
            return;
        }
        cd->buf_pos = cd->buf_len;
    }
    if (cd->sectors_left) {
        atapi_read_chunk(s);
        return;
    }
    s->error = 0;
    s->status = ATA_ST_DRDY | ATA_ST_DSC;
    s->nsector = ATAPI_IR_IO | ATAPI_IR_COD;
    bmdma_done(s);
}

static void atapi_dma_start(IDEState *s)
{
    bmdma_rewind(s->bus);
    atapi_dma_next(s);
}

static void atapi_data_start(IDEState *s)
{
    if (s->cd.dma) {
        s->status = ATA_ST_BSY | ATA_ST_DRDY;
        ide_dma_ready(s, atapi_dma_start);
    } else {
        atapi_pio_next(s);
    }
}

/* Send @len bytes of io_buffer, cut to the CDB's allocation length. */
static void atapi_reply(IDEState *s, uint32_t len, uint32_t alloc)
{
    s->cd.buf_len = MIN(len, alloc);
    s->cd.buf_pos = 0;
    s->cd.sectors_left = 0;
    if (!s->cd.buf_len) {
        atapi_ok(s);
        return;
    }
    atapi_data_start(s);
}

static void atapi_read_cb(IDEState *s, int ret)
{
    IDECdState *cd = &s->cd;

    if (ret == -ENOMEDIUM) {
        atapi_no_medium(s);
        return;
    }
    if (ret < 0) {
        switch (ide_error_action(s, ret, true, atapi_read_chunk)) {
        case BLOCK_ERROR_ACTION_IGNORE:
            break;
        case BLOCK_ERROR_ACTION_STOP:
            return;
        default:
            atapi_error(s, SENSE_MEDIUM_ERROR, ASC_UNRECOVERED_READ, 0);
            return;
        }
    }
    cd->lba += s->chunk;
    cd->sectors_left -= s->chunk;
    cd->buf_len = s->chunk * ATAPI_SECTOR_SIZE;
    cd->buf_pos = 0;
    if (cd->dma) {
        atapi_dma_next(s);
    } else {
        atapi_pio_next(s);
    }
}

static void atapi_read_chunk(IDEState *s)
{
    struct iovec iov = { .iov_base = s->io_buffer };

    if (!atapi_has_medium(s)) {
        atapi_no_medium(s);
        return;
    }
    s->chunk = MIN(s->cd.sectors_left, ATAPI_BUF_SECTORS);
    iov.iov_len = s->chunk * ATAPI_SECTOR_SIZE;
    s->status = ATA_ST_BSY | ATA_ST_DRDY;
    blk_aio_preadv(s->blk, s->cd.lba * ATAPI_SECTOR_SIZE, &iov, 1,
                   ide_aio_cb, ide_aio_req(s, atapi_read_cb));
}

static void atapi_read(IDEState *s, uint32_t lba, uint32_t count)
{
    if ((uint64_t)lba + count > atapi_sectors(s)) {
        atapi_error(s, SENSE_ILLEGAL_REQUEST, ASC_LBA_OUT_OF_RANGE, 0);
        return;
    }
    if (!count) {
        atapi_ok(s);
        return;
    }
    s->cd.lba = lba;
    s->cd.sectors_left = count;
    s->cd.buf_len = s->cd.buf_pos = 0;
    if (s->cd.dma) {
        atapi_data_start(s);
    } else {
        atapi_read_chunk(s);
    }
}

/* ---- commands ---- */

static void cmd_test_unit_ready(IDEState *s)
{
    atapi_ok(s);
}

/* Fixed-format sense data (SPC-3 4.5.3); reporting it clears it. */
static void cmd_request_sense(IDEState *s)
{
    IDECdState *cd = &s->cd;
    uint8_t *buf = s->io_buffer;

    if (cd->sense_key == SENSE_NONE && cd->ua_pending) {
        cd->ua_pending = false;
        cd->sense_key = SENSE_UNIT_ATTENTION;
        cd->asc = ASC_MEDIUM_CHANGED;
    } else if (cd->sense_key == SENSE_NONE && !atapi_has_medium(s)) {
        cd->sense_key = SENSE_NOT_READY;
        cd->asc = ASC_MEDIUM_NOT_PRESENT;
        cd->ascq = cd->tray_open ? 2 : 1;
    }
    memset(buf, 0, 18);
    buf[0] = 0x70;
    buf[2] = cd->sense_key;
    buf[7] = 10;
    buf[12] = cd->asc;
    buf[13] = cd->ascq;
    cd->sense_key = cd->asc = cd->ascq = 0;
    atapi_reply(s, 18, cd->packet[4]);
}

static void atapi_pad(uint8_t *dst, const char *src, size_t len)
{
    size_t n = MIN(strlen(src), len);

    memset(dst, ' ', len);
    memcpy(dst, src, n);
}

/* Standard INQUIRY data (SPC-3 6.4.2); VPD page 0 lists only itself. */
static void cmd_inquiry(IDEState *s)
{
    uint8_t *buf = s->io_buffer;
    uint8_t *p = s->cd.packet;
    uint16_t alloc = be16(p + 3);

    memset(buf, 0, 36);
    if (p[1] & 1) {
        if (p[2] != 0) {
            atapi_invalid_field(s);
            return;
        }
        buf[0] = 0x05;
        buf[3] = 1;             /* page length: one page, 00h */
        atapi_reply(s, 5, alloc);
        return;
    }
    buf[0] = 0x05;              /* CD/DVD device */
    buf[1] = 0x80;              /* removable */
    buf[2] = 0x05;              /* SPC-3 */
    buf[3] = 0x02;              /* response data format 2 */
    buf[4] = 36 - 5;
    atapi_pad(buf + 8, "QEMU", 8);
    atapi_pad(buf + 16, s->model, 16);
    atapi_pad(buf + 32, s->version, 4);
    atapi_reply(s, 36, alloc);
}

static void cmd_start_stop(IDEState *s)
{
    uint8_t op = s->cd.packet[4];
    bool loej = op & 2, start = op & 1;

    if (!loej) {
        atapi_ok(s);
        return;
    }
    if (!start && s->cd.locked) {
        atapi_error(s, SENSE_ILLEGAL_REQUEST, ASC_REMOVAL_PREVENTED, 2);
        return;
    }
    atapi_set_tray(s, !start);
    atapi_ok(s);
}

static void cmd_prevent_allow(IDEState *s)
{
    s->cd.locked = s->cd.packet[4] & 1;
    atapi_ok(s);
}

static void cmd_read_capacity(IDEState *s)
{
    put_be32(s->io_buffer, atapi_sectors(s) - 1);
    put_be32(s->io_buffer + 4, ATAPI_SECTOR_SIZE);
    atapi_reply(s, 8, 8);
}

static void cmd_read10(IDEState *s)
{
    atapi_read(s, be32(s->cd.packet + 2), be16(s->cd.packet + 7));
}

static void cmd_read12(IDEState *s)
{
    atapi_read(s, be32(s->cd.packet + 2), be32(s->cd.packet + 6));
}

static void cmd_ok(IDEState *s)
{
    atapi_ok(s);
}

/* An address field of READ TOC: LBA, or MSF (minute, second, frame). */
static void toc_addr(uint8_t *p, uint32_t lba, bool msf)
{
    if (!msf) {
        put_be32(p, lba);
        return;
    }
    lba += 150;                 /* the 2-second pregap */
    p[0] = 0;
    p[1] = lba / (75 * 60);
    p[2] = (lba / 75) % 60;
    p[3] = lba % 75;
}

/* Format 0 (MMC-5 6.40.2.2): track 1 (data) and the lead-out. */
static int toc_format0(IDEState *s, uint8_t *buf, bool msf, uint8_t track)
{
    uint8_t *p = buf + 4;

    if (track > 1 && track != 0xaa) {
        return -1;
    }
    buf[2] = 1;
    buf[3] = 1;
    if (track <= 1) {
        p[1] = 0x14;            /* ADR 1, data track */
        p[2] = 1;
        toc_addr(p + 4, 0, msf);
        p += 8;
    }
    p[1] = 0x14;
    p[2] = 0xaa;
    toc_addr(p + 4, atapi_sectors(s), msf);
    return p + 8 - buf;
}

/* Format 1: the first track of the last session (one session). */
static int toc_format1(uint8_t *buf, bool msf)
{
    buf[2] = 1;
    buf[3] = 1;
    buf[5] = 0x14;
    buf[6] = 1;
    toc_addr(buf + 8, 0, msf);
    return 12;
}

/* Format 2 (raw TOC): points A0, A1, A2 and track 1, addresses in MSF. */
static int toc_format2(IDEState *s, uint8_t *buf)
{
    static const uint8_t points[] = { 0xa0, 0xa1, 0xa2, 0x01 };
    uint8_t *p = buf + 4;

    buf[2] = 1;
    buf[3] = 1;
    for (size_t i = 0; i < G_N_ELEMENTS(points); i++, p += 11) {
        memset(p, 0, 11);
        p[0] = 1;               /* session */
        p[1] = 0x14;
        p[3] = points[i];
        if (points[i] == 0xa0 || points[i] == 0xa1) {
            p[8] = 1;           /* first/last track number */
        } else if (points[i] == 0xa2) {
            toc_addr(p + 7, atapi_sectors(s), true);
        } else {
            toc_addr(p + 7, 0, true);
        }
    }
    return p - buf;
}

static void cmd_read_toc(IDEState *s)
{
    uint8_t *p = s->cd.packet;
    uint8_t *buf = s->io_buffer;
    bool msf = p[1] & 2;
    int format = p[2] & 0x0f;
    int len;

    if (!format) {
        format = p[9] >> 6;     /* the older SFF-8020 place */
    }
    memset(buf, 0, 64);
    switch (format) {
    case 0:
        len = toc_format0(s, buf, msf, p[6]);
        break;
    case 1:
        len = toc_format1(buf, msf);
        break;
    case 2:
        len = toc_format2(s, buf);
        break;
    default:
        len = -1;
    }
    if (len < 0) {
        atapi_invalid_field(s);
        return;
    }
    put_be16(buf, len - 2);
    atapi_reply(s, len, be16(p + 7));
}

static uint16_t atapi_profile(IDEState *s)
{
    if (!atapi_has_medium(s)) {
        return 0;
    }
    return atapi_sectors(s) > CD_MAX_SECTORS ? 0x0010 : 0x0008;
}

/*
 * GET CONFIGURATION (MMC-5 6.6): the profile list (DVD-ROM, CD-ROM),
 * Core (ATAPI) and Removable Medium features.
 */
static int getconf_feature(IDEState *s, uint16_t code, uint8_t *p)
{
    uint16_t cur = atapi_profile(s);

    put_be16(p, code);
    switch (code) {
    case 0x0000:
        p[2] = 0x03;            /* persistent, current */
        p[3] = 8;
        put_be16(p + 4, 0x0010);
        p[6] = cur == 0x0010;
        put_be16(p + 8, 0x0008);
        p[10] = cur == 0x0008;
        return 12;
    case 0x0001:
        p[2] = 0x0b;            /* version 2, persistent, current */
        p[3] = 8;
        put_be32(p + 4, 2);     /* physical interface: ATAPI */
        return 12;
    case 0x0003:
        p[2] = 0x03;
        p[3] = 4;
        p[4] = 0x29;            /* tray loading, eject, lock */
        return 8;
    }
    return 0;
}

static void cmd_get_configuration(IDEState *s)
{
    static const uint16_t features[] = { 0x0000, 0x0001, 0x0003 };
    uint8_t *p = s->cd.packet;
    uint8_t *buf = s->io_buffer;
    uint8_t rt = p[1] & 3;
    uint16_t start = be16(p + 2);
    int len = 8;

    if (rt == 3) {
        atapi_invalid_field(s);
        return;
    }
    memset(buf, 0, 64);
    put_be16(buf + 6, atapi_profile(s));
    for (size_t i = 0; i < G_N_ELEMENTS(features); i++) {
        if (features[i] < start || (rt == 2 && features[i] != start)) {
            continue;
        }
        len += getconf_feature(s, features[i], buf + len);
    }
    put_be32(buf, len - 4);
    atapi_reply(s, len, be16(p + 7));
}

/* GET EVENT STATUS NOTIFICATION, polled, media class only (MMC-5 6.7). */
static void cmd_get_event_status(IDEState *s)
{
    uint8_t *p = s->cd.packet;
    uint8_t *buf = s->io_buffer;

    if (!(p[1] & 1)) {
        atapi_invalid_field(s);     /* asynchronous mode */
        return;
    }
    memset(buf, 0, 8);
    buf[3] = 0x10;                  /* supported: media */
    if (!(p[4] & 0x10)) {
        put_be16(buf, 2);
        buf[2] = 0x80;              /* no event available */
        atapi_reply(s, 4, be16(p + 7));
        return;
    }
    put_be16(buf, 6);
    buf[2] = 0x04;                  /* media class */
    buf[4] = s->cd.media_event;
    buf[5] = (s->cd.tray_open ? 1 : 0) | (atapi_has_medium(s) ? 2 : 0);
    s->cd.media_event = MEDIA_EV_NONE;
    atapi_reply(s, 8, be16(p + 7));
}

/* MODE SENSE(10) pages: 01h error recovery, 2Ah capabilities. */
static int mode_page(IDEState *s, uint8_t code, uint8_t *p)
{
    if (code == 0x01) {
        memset(p, 0, 8);
        p[0] = 0x01;
        p[1] = 6;
        p[3] = 5;               /* read retry count */
        return 8;
    }
    memset(p, 0, 22);
    p[0] = 0x2a;
    p[1] = 20;
    p[2] = 0x3b;                /* reads CD-R/RW, method 2, DVD-ROM/R/RAM */
    p[4] = 0x71;                /* audio play, composite, multisession */
    p[5] = 0x60;                /* CD-DA commands, accurate stream */
    /* tray loading, eject, lock supported, its state */
    p[6] = 0x29 | (s->cd.locked ? 0x02 : 0);
    put_be16(p + 8, 706);       /* maximum speed, kB/s */
    put_be16(p + 10, 255);      /* volume levels */
    put_be16(p + 12, 512);      /* buffer, KiB */
    put_be16(p + 14, 706);      /* current speed */
    return 22;
}

static void cmd_mode_sense10(IDEState *s)
{
    uint8_t *p = s->cd.packet;
    uint8_t *buf = s->io_buffer;
    uint8_t code = p[2] & 0x3f;
    int len = 8;

    if ((p[2] >> 6) == 3) {
        atapi_error(s, SENSE_ILLEGAL_REQUEST, 0x39, 0);   /* no saving */
        return;
    }
    if (code != 0x01 && code != 0x2a && code != 0x3f) {
        atapi_invalid_field(s);
        return;
    }
    memset(buf, 0, 8);
    buf[2] = atapi_has_medium(s) ? 0x01 : 0x70;   /* medium type */
    if (code == 0x01 || code == 0x3f) {
        len += mode_page(s, 0x01, buf + len);
    }
    if (code == 0x2a || code == 0x3f) {
        len += mode_page(s, 0x2a, buf + len);
    }
    put_be16(buf, len - 2);
    atapi_reply(s, len, be16(p + 7));
}

/* READ DISC INFORMATION (MMC-5 6.22): one complete session, one track. */
static void cmd_read_disc_info(IDEState *s)
{
    uint8_t *p = s->cd.packet;
    uint8_t *buf = s->io_buffer;

    if (p[1] & 7) {
        atapi_invalid_field(s);     /* only standard disc information */
        return;
    }
    memset(buf, 0, 34);
    put_be16(buf, 32);
    buf[2] = 0x0e;                  /* last session complete, disc too */
    buf[3] = 1;                     /* first track */
    buf[4] = 1;                     /* sessions */
    buf[5] = 1;                     /* first track of the last session */
    buf[6] = 1;                     /* last track of the last session */
    atapi_reply(s, 34, be16(p + 7));
}

/* MECHANISM STATUS (MMC-5 6.11): no changer; the door bit is the tray. */
static void cmd_mechanism_status(IDEState *s)
{
    uint8_t *buf = s->io_buffer;

    memset(buf, 0, 8);
    buf[1] = s->cd.tray_open ? 0x10 : 0;
    atapi_reply(s, 8, be16(s->cd.packet + 8));
}

static const AtapiCmd atapi_cmds[256] = {
    [0x00] = { cmd_test_unit_ready, ATAPI_NEEDS_MEDIUM },
    [0x03] = { cmd_request_sense, ATAPI_ALLOW_UA },
    [0x12] = { cmd_inquiry, ATAPI_ALLOW_UA },
    [0x1b] = { cmd_start_stop, 0 },
    [0x1e] = { cmd_prevent_allow, 0 },
    [0x25] = { cmd_read_capacity, ATAPI_NEEDS_MEDIUM },
    [0x28] = { cmd_read10, ATAPI_NEEDS_MEDIUM },
    [0x2b] = { cmd_ok, ATAPI_NEEDS_MEDIUM },            /* SEEK(10) */
    [0x43] = { cmd_read_toc, ATAPI_NEEDS_MEDIUM },
    [0x46] = { cmd_get_configuration, ATAPI_ALLOW_UA },
    [0x4a] = { cmd_get_event_status, ATAPI_ALLOW_UA },
    [0x51] = { cmd_read_disc_info, ATAPI_NEEDS_MEDIUM },
    [0x5a] = { cmd_mode_sense10, 0 },
    [0xa8] = { cmd_read12, ATAPI_NEEDS_MEDIUM },
    [0xbb] = { cmd_ok, 0 },                             /* SET CD SPEED */
    [0xbd] = { cmd_mechanism_status, 0 },
};

static void atapi_packet_received(IDEState *s)
{
    IDECdState *cd = &s->cd;
    const AtapiCmd *c;

    memcpy(cd->packet, s->io_buffer, sizeof(cd->packet));
    c = &atapi_cmds[cd->packet[0]];
    if (!c->fn) {
        qlite_log_unimp("ide-cd: SCSI command 0x%02x", cd->packet[0]);
        atapi_error(s, SENSE_ILLEGAL_REQUEST, ASC_INVALID_OPCODE, 0);
        return;
    }
    if (cd->ua_pending && !(c->flags & ATAPI_ALLOW_UA)) {
        cd->ua_pending = false;
        atapi_error(s, SENSE_UNIT_ATTENTION, ASC_MEDIUM_CHANGED, 0);
        return;
    }
    if (c->fn != cmd_request_sense) {
        cd->sense_key = cd->asc = cd->ascq = 0;
    }
    if ((c->flags & ATAPI_NEEDS_MEDIUM) && !atapi_has_medium(s)) {
        atapi_no_medium(s);
        return;
    }
    c->fn(s);
}

/*
 * PACKET: features bit 0 asks for DMA; the byte count limit is in the
 * cylinder registers (0 is taken as the largest even count).
 */
void atapi_packet_cmd(IDEState *s)
{
    IDECdState *cd = &s->cd;

    cd->dma = s->feature & 1;
    cd->bcl = (s->lcyl | (s->hcyl << 8)) & ~1;
    if (!cd->bcl) {
        cd->bcl = 0xfffe;
    }
    s->nsector = ATAPI_IR_COD;
    ide_transfer_start(s, 0, sizeof(cd->packet), true,
                       atapi_packet_received);
}

void atapi_reset(IDEState *s)
{
    IDECdState *cd = &s->cd;

    cd->sense_key = cd->asc = cd->ascq = 0;
    cd->sectors_left = 0;
    cd->buf_len = cd->buf_pos = 0;
    cd->locked = false;
}

/*
 * The tray moved: closing it over a medium is a medium change (UNIT
 * ATTENTION for the next command, a NEW MEDIA event); opening it, a
 * removal.  Returns whether it moved.
 */
static bool atapi_move_tray(IDEState *s, bool open)
{
    if (s->cd.tray_open == open) {
        return false;
    }
    s->cd.tray_open = open;
    if (open) {
        s->cd.media_event = MEDIA_EV_REMOVAL;
    } else if (atapi_has_medium(s)) {
        s->cd.ua_pending = true;
        s->cd.media_event = MEDIA_EV_NEW_MEDIA;
    }
    return true;
}

/* START STOP UNIT: the guest moved the tray; QMP hears of it. */
void atapi_set_tray(IDEState *s, bool open)
{
    if (atapi_move_tray(s, open) && s->blk) {
        blk_tray_moved(s->blk, open);
    }
}

/* ---- the block layer's side: QMP eject, change, tray commands ---- */

static void atapi_change_media_cb(void *opaque, bool load)
{
    IDEState *s = opaque;

    if (!load) {
        s->cd.locked = false;       /* forced open, as QEMU's eject force */
    }
    atapi_set_tray(s, !load);
}

/* The host wants the tray while the guest holds it locked: tell it. */
static void atapi_eject_request_cb(void *opaque, bool force)
{
    IDEState *s = opaque;

    if (force) {
        s->cd.locked = false;
    }
    s->cd.media_event = MEDIA_EV_EJECT_REQUEST;
}

static bool atapi_is_tray_open(void *opaque)
{
    return ((IDEState *)opaque)->cd.tray_open;
}

static bool atapi_is_medium_locked(void *opaque)
{
    return ((IDEState *)opaque)->cd.locked;
}

const BlockDevOps atapi_block_ops = {
    .change_media_cb = atapi_change_media_cb,
    .eject_request_cb = atapi_eject_request_cb,
    .is_tray_open = atapi_is_tray_open,
    .is_medium_locked = atapi_is_medium_locked,
};
