/*
 * The bus master IDE controller (SFF-8038i rev 1.0, as in the PIIX3):
 * per channel, 8 bytes of I/O in BAR4.
 *
 *   +0 BMIC  command: bit 0 start/stop, bit 3 direction (1: to memory)
 *   +2 BMIS  status:  bit 0 active (RO), bit 1 error (RW1C),
 *                     bit 2 interrupt (RW1C), bits 5/6 drive DMA capable
 *   +4 BMIDTP the PRD table's physical address (dword aligned)
 *
 * A PRD table is a list of 8-byte entries, read from guest memory as the
 * transfer needs them:
 *
 *   31                              1 0
 *   +--------------------------------+-+
 *   | region base address            |0|  dword 0
 *   +-+--------------+---------------+-+
 *   |E|   reserved   | byte count    |0|  dword 1 (count 0: 64 KiB)
 *   +-+--------------+---------------+-+
 *    E: end of table
 *
 * A table that ends (or runs past memory, or past BM_PRD_MAX entries)
 * before the device's data does is the guest's error: the error bit, an
 * interrupt, and the command aborted.
 */
#include "ide-internal.h"
#include "qlite/pci.h"

typedef struct BMPrd {
    uint32_t addr;
    uint32_t len;
    bool last;
} BMPrd;

/* One entry from its 8 bytes: every bit pattern means something. */
static BMPrd bmdma_prd_decode(const uint8_t raw[8])
{
    uint32_t addr = raw[0] | (raw[1] << 8) | (raw[2] << 16) |
                    ((uint32_t)raw[3] << 24);
    uint32_t count = (raw[4] | (raw[5] << 8)) & 0xfffe;
    BMPrd prd = {
        .addr = addr & ~1u,
        .len = count ? count : 0x10000,
        .last = raw[7] & 0x80,
    };

    return prd;
}

/* The PCI function the channel belongs to allows bus mastering. */
static bool bmdma_master_enabled(IDEBus *bus)
{
    Object *parent = OBJECT(BUS(bus)->parent_dev);

    return !object_dynamic_cast(parent, TYPE_PCI_DEVICE) ||
           pci_bus_master_enabled(PCI_DEVICE(parent));
}

static bool bmdma_next_prd(IDEBus *bus)
{
    BMDMAState *bm = &bus->bm;
    uint64_t at = (uint64_t)bm->prd_addr + 8 * (uint64_t)bm->prd_index;
    uint8_t raw[8];
    BMPrd prd;

    if (bm->cur_last) {
        qlite_log_guest_error("ide%d: PRD table shorter than the transfer",
                              bus->index);
        return false;
    }
    if (!bmdma_master_enabled(bus)) {
        qlite_log_guest_error("ide%d: DMA with bus mastering off",
                              bus->index);
        return false;
    }
    if (bm->prd_index >= BM_PRD_MAX) {
        qlite_log_guest_error("ide%d: no end bit in %d PRD entries",
                              bus->index, BM_PRD_MAX);
        return false;
    }
    if (dma_read(&address_space_memory, at, raw, sizeof(raw)) != MEMTX_OK) {
        qlite_log_guest_error("ide%d: PRD entry at 0x%" PRIx64 " is not "
                              "in memory", bus->index, at);
        return false;
    }
    prd = bmdma_prd_decode(raw);
    bm->prd_index++;
    bm->cur_addr = prd.addr;
    bm->cur_left = prd.len;
    bm->cur_last = prd.last;
    return true;
}

void bmdma_rewind(IDEBus *bus)
{
    bus->bm.prd_index = 0;
    bus->bm.cur_left = 0;
    bus->bm.cur_last = false;
}

bool bmdma_running(IDEBus *bus)
{
    return bus->bm.cmd & BM_CMD_START;
}

bool bmdma_copy(IDEBus *bus, uint8_t *buf, uint32_t len, bool to_guest)
{
    BMDMAState *bm = &bus->bm;

    while (len) {
        uint32_t n;
        MemTxResult r;

        if (!bmdma_running(bus)) {
            qlite_log_guest_error("ide%d: bus master stopped mid-transfer",
                                  bus->index);
            return false;
        }
        if (!bm->cur_left && !bmdma_next_prd(bus)) {
            return false;
        }
        n = MIN(len, bm->cur_left);
        r = to_guest ? dma_write(&address_space_memory, bm->cur_addr, buf, n)
                     : dma_read(&address_space_memory, bm->cur_addr, buf, n);
        if (r != MEMTX_OK) {
            qlite_log_guest_error("ide%d: PRD region 0x%" PRIx64 "+%u is "
                                  "not in memory", bus->index,
                                  bm->cur_addr, n);
            return false;
        }
        bm->cur_addr += n;
        bm->cur_left -= n;
        buf += n;
        len -= n;
    }
    return true;
}

void bmdma_done(IDEState *s)
{
    s->bus->bm.status &= ~BM_ST_ACTIVE;
    ide_set_irq(s->bus);
}

void bmdma_prd_error(IDEState *s)
{
    s->bus->bm.status = (s->bus->bm.status & ~BM_ST_ACTIVE) | BM_ST_ERROR;
    if (s->kind == IDE_KIND_CD) {
        s->nsector = ATAPI_IR_IO | ATAPI_IR_COD;
    }
    ide_abort(s);
}

void ide_dma_ready(IDEState *s, IDEFn *start)
{
    s->dma_start = start;
    s->dma_pending = true;
    if (bmdma_running(s->bus)) {
        s->dma_pending = false;
        start(s);
    }
}

/* Start: every unit with a DMA command waiting goes. */
static void bmdma_cmd_write(IDEBus *bus, uint8_t val)
{
    bool was = bus->bm.cmd & BM_CMD_START;

    bus->bm.cmd = val & (BM_CMD_START | BM_CMD_READ);
    if (!was && (val & BM_CMD_START)) {
        bus->bm.status |= BM_ST_ACTIVE;
        for (int i = 0; i < IDE_NUM_UNITS; i++) {
            IDEState *s = &bus->ifs[i];

            if (s->dma_pending) {
                s->dma_pending = false;
                s->dma_start(s);
            }
        }
    } else if (was && !(val & BM_CMD_START)) {
        bus->bm.status &= ~BM_ST_ACTIVE;
    }
}

static uint64_t bmdma_read(void *opaque, uint64_t addr, unsigned size)
{
    IDEBus *bus = opaque;

    switch (addr) {
    case 0:
        return bus->bm.cmd;
    case 2:
        return bus->bm.status;
    case 4 ... 7:
        return (bus->bm.prd_addr >> (8 * (addr - 4))) & 0xff;
    default:
        return 0;
    }
}

static void bmdma_write(void *opaque, uint64_t addr, uint64_t val,
                        unsigned size)
{
    IDEBus *bus = opaque;
    BMDMAState *bm = &bus->bm;
    unsigned shift;

    switch (addr) {
    case 0:
        bmdma_cmd_write(bus, val);
        break;
    case 2:
        bm->status = (bm->status & BM_ST_ACTIVE) |
                     (bm->status & ~val & (BM_ST_ERROR | BM_ST_INT)) |
                     (val & (BM_ST_DMA0_CAP | BM_ST_DMA1_CAP));
        break;
    case 4 ... 7:
        shift = 8 * (addr - 4);
        bm->prd_addr = (bm->prd_addr & ~(0xffu << shift)) |
                       ((uint32_t)(val & 0xff) << shift);
        bm->prd_addr &= ~3u;
        break;
    }
}

/* Byte registers: the memory core splits word and dword accesses. */
const MemoryRegionOps bmdma_ops = {
    .read = bmdma_read,
    .write = bmdma_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 1, .max_access_size = 1 },
};

void bmdma_reset(IDEBus *bus)
{
    bus->bm.cmd = 0;
    bus->bm.status = 0;
    bus->bm.prd_addr = 0;
    bmdma_rewind(bus);
}
