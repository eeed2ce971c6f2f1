/*
 * IDENTIFY DEVICE and IDENTIFY PACKET DEVICE data (ATA/ATAPI-6 8.15 and
 * 8.16): 256 little-endian words; strings hold two characters a word,
 * the first in the high byte, padded with spaces.
 */
#include "ide-internal.h"

#define ID_WORDS 256

static void id_string(uint16_t *w, const char *src, int words)
{
    size_t len = strlen(src);

    for (int i = 0; i < words * 2; i++) {
        uint8_t c = i < (int)len ? src[i] : ' ';

        if (i & 1) {
            w[i / 2] |= c;
        } else {
            w[i / 2] = c << 8;
        }
    }
}

static void id_put32(uint16_t *w, uint32_t v)
{
    w[0] = v;
    w[1] = v >> 16;
}

static void id_store(const uint16_t *w, uint8_t *buf)
{
    for (int i = 0; i < ID_WORDS; i++) {
        buf[2 * i] = w[i];
        buf[2 * i + 1] = w[i] >> 8;
    }
}

/* Words 62/63/88: supported modes low, the selected one high. */
static void id_modes(IDEState *s, uint16_t *w)
{
    uint8_t mode = s->xfer_mode;

    w[63] = 0x07;                       /* multiword DMA 0-2 */
    w[88] = 0x3f;                       /* Ultra DMA 0-5 */
    if ((mode >> 3) == 4) {
        w[63] |= 1 << (8 + (mode & 7));
    } else if ((mode >> 3) == 8) {
        w[88] |= 1 << (8 + (mode & 7));
    }
}

static void id_common(IDEState *s, uint16_t *w)
{
    id_string(w + 10, s->serial, 10);
    id_string(w + 23, s->version, 4);
    id_string(w + 27, s->model, 20);
    w[53] = 0x0007;                     /* words 54-58, 64-70, 88 valid */
    w[64] = 0x0003;                     /* PIO modes 3 and 4 */
    w[65] = 120;                        /* DMA and PIO cycle times, ns */
    w[66] = 120;
    w[67] = 120;
    w[68] = 120;
    id_modes(s, w);
}

void ide_identify(IDEState *s, uint8_t *buf)
{
    uint16_t w[ID_WORDS] = { 0 };
    uint64_t n = s->nb_sectors;
    uint32_t chs = s->cylinders * s->heads * s->sectors;

    w[0] = 0x0040;                      /* fixed, not removable */
    w[1] = s->cylinders;
    w[3] = s->heads;
    w[6] = s->sectors;
    id_common(s, w);
    w[47] = 0x8000 | IDE_MAX_MULT;
    w[48] = 1;                          /* 32-bit PIO */
    /* IORDY, IORDY may be disabled, LBA, DMA. */
    w[49] = (1 << 11) | (1 << 10) | (1 << 9) | (1 << 8);
    w[51] = 0x0200;                     /* PIO timing mode 2 */
    w[54] = s->cylinders;
    w[55] = s->heads;
    w[56] = s->sectors;
    id_put32(w + 57, chs);
    w[59] = s->mult_sectors ? 0x100 | s->mult_sectors : 0;
    id_put32(w + 60, MIN(n, 0x0fffffff));
    w[80] = 0x00f0;                     /* ATA-4 to ATA-7 */
    w[81] = 0x0016;
    w[82] = 1 << 5;                     /* volatile write cache */
    /* 48-bit address, FLUSH CACHE, FLUSH CACHE EXT. */
    w[83] = (1 << 14) | (1 << 13) | (1 << 12) | (1 << 10);
    w[84] = (1 << 14) | (s->wwn ? 1 << 8 : 0);
    w[85] = s->wce ? 1 << 5 : 0;
    w[86] = (1 << 13) | (1 << 12) | (1 << 10);
    w[87] = (1 << 14) | (s->wwn ? 1 << 8 : 0);
    w[93] = (1 << 14) | 1;              /* hardware reset result */
    id_put32(w + 100, n);
    id_put32(w + 102, n >> 32);
    if (s->wwn) {
        w[108] = s->wwn >> 48;
        w[109] = s->wwn >> 32;
        w[110] = s->wwn >> 16;
        w[111] = s->wwn;
    }
    id_store(w, buf);
}

void ide_identify_packet(IDEState *s, uint8_t *buf)
{
    uint16_t w[ID_WORDS] = { 0 };

    /*
     * ATAPI, CD-ROM device type (5), removable, DRQ within 50 us of the
     * PACKET command (no interrupt for it), 12-byte packets.
     */
    w[0] = (2 << 14) | (5 << 8) | (1 << 7) | (2 << 5);
    id_common(s, w);
    w[49] = (1 << 11) | (1 << 10) | (1 << 9) | (1 << 8);
    w[71] = 30;                         /* PACKET to bus release, ns */
    w[72] = 30;                         /* SERVICE to BSY clear, ns */
    w[80] = 0x001e;                     /* ATA/ATAPI-1 to -4 */
    w[82] = 1 << 4;                     /* PACKET feature set */
    w[83] = 1 << 14;
    w[84] = (1 << 14) | (s->wwn ? 1 << 8 : 0);
    w[85] = 1 << 4;
    w[87] = (1 << 14) | (s->wwn ? 1 << 8 : 0);
    if (s->wwn) {
        w[108] = s->wwn >> 48;
        w[109] = s->wwn >> 32;
        w[110] = s->wwn >> 16;
        w[111] = s->wwn;
    }
    id_store(w, buf);
}
