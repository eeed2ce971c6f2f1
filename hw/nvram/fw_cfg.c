/*
 * QEMU's firmware configuration device, I/O-port flavour (as on x86):
 * selector at 0x510 (16-bit write), data at 0x511 (8-bit read), DMA
 * address at 0x514-0x51b (big-endian, the low half's write starts the
 * transfer; reading returns the signature "QEMU CFG").
 *
 * Items are numbered; named files live at 0x20 and up, in name order, and
 * item 0x19 is their directory (fw_cfg.rst "File Directory"):
 *
 *   be32 count; { be32 size; be16 select; be16 reserved; char name[56]; }[]
 *
 * A DMA request is a 16-byte big-endian structure in guest memory:
 *
 *   be32 control  (error 0x01, read 0x02, skip 0x04, select 0x08 with the
 *                  item in bits 31:16, write 0x10)
 *   be32 length
 *   be64 address
 *
 * Every guest address goes through dma_read/dma_write; a transfer that
 * fails leaves the error bit in control.  Writes to items are refused:
 * no item is writable yet.
 */
#include "qlite/error.h"
#include "qlite/fw_cfg.h"
#include "qlite/memory.h"

#define FW_CFG_ENTRIES      (FW_CFG_FILE_FIRST + FW_CFG_FILE_SLOTS)
#define FW_CFG_SIG          "QEMU"
#define FW_CFG_DMA_SIG      "QEMU CFG"
#define FW_CFG_VERSION      0x01
#define FW_CFG_VERSION_DMA  0x02
#define FW_CFG_INVALID      0xffff

#define DMA_CTL_ERROR       0x01
#define DMA_CTL_READ        0x02
#define DMA_CTL_SKIP        0x04
#define DMA_CTL_SELECT      0x08
#define DMA_CTL_WRITE       0x10

#define FW_CFG_DIR_ENTRY_SIZE   (4 + 2 + 2 + FW_CFG_MAX_FILE_PATH)
#define FW_CFG_DMA_CHUNK        4096

typedef struct FWCfgEntry {
    uint8_t *data;
    uint32_t len;
} FWCfgEntry;

typedef struct FWCfgFile {
    char name[FW_CFG_MAX_FILE_PATH];
    FWCfgEntry e;
} FWCfgFile;

typedef struct FWCfgState {
    DeviceState parent;
    bool dma_enabled;
    MemoryRegion ctl_io;
    MemoryRegion dma_io;
    FWCfgEntry entries[2][FW_CFG_ENTRIES];      /* generic, arch-local */
    FWCfgFile files[FW_CFG_FILE_SLOTS];         /* sorted by name */
    unsigned nfiles;
    uint16_t cur_key;
    uint32_t cur_offset;
    uint8_t dma_addr[8];                        /* big-endian */
} FWCfgState;

#define FW_CFG(obj) OBJECT_CHECK(FWCfgState, (obj), TYPE_FW_CFG_IO)

static FWCfgState *fw_cfg_current;

DeviceState *fw_cfg_find(void)
{
    return fw_cfg_current ? DEVICE(fw_cfg_current) : NULL;
}

/* The entry @key names, or NULL for an unknown key. */
static FWCfgEntry *fw_cfg_entry(FWCfgState *s, uint16_t key)
{
    unsigned arch = (key & FW_CFG_ARCH_LOCAL) != 0;
    unsigned idx = key & ~(FW_CFG_ARCH_LOCAL | FW_CFG_WRITE_CHANNEL);

    if (key == FW_CFG_INVALID || idx >= FW_CFG_ENTRIES) {
        return NULL;
    }
    return &s->entries[arch][idx];
}

static void fw_cfg_set_entry(FWCfgEntry *e, const void *data, size_t len)
{
    g_free(e->data);
    e->data = len ? g_memdup2(data, len) : NULL;
    e->len = len;
}

void fw_cfg_add_bytes(DeviceState *fw, uint16_t key, const void *data,
                      size_t len)
{
    FWCfgEntry *e = fw_cfg_entry(FW_CFG(fw), key);

    /* File keys belong to fw_cfg_add_file(), which owns their data. */
    g_assert(e && len <= UINT32_MAX);
    g_assert((key & FW_CFG_ARCH_LOCAL) || (key & 0x3fff) < FW_CFG_FILE_DIR);
    fw_cfg_set_entry(e, data, len);
}

void fw_cfg_add_string(DeviceState *fw, uint16_t key, const char *value)
{
    fw_cfg_add_bytes(fw, key, value, strlen(value) + 1);
}

void fw_cfg_add_i16(DeviceState *fw, uint16_t key, uint16_t value)
{
    uint16_t le = GUINT16_TO_LE(value);

    fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

void fw_cfg_add_i32(DeviceState *fw, uint16_t key, uint32_t value)
{
    uint32_t le = GUINT32_TO_LE(value);

    fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

void fw_cfg_add_i64(DeviceState *fw, uint16_t key, uint64_t value)
{
    uint64_t le = GUINT64_TO_LE(value);

    fw_cfg_add_bytes(fw, key, &le, sizeof(le));
}

/* ------------------------------------------------------------------------
 * Files and the directory
 */

static void fw_cfg_put_be(uint8_t *p, uint64_t v, int n)
{
    for (int i = n - 1; i >= 0; i--, v >>= 8) {
        p[i] = v & 0xff;
    }
}

/* Keys follow the sorted order; rebuild them and item 0x19. */
static void fw_cfg_rebuild_dir(FWCfgState *s)
{
    size_t len = 4 + (size_t)s->nfiles * FW_CFG_DIR_ENTRY_SIZE;
    g_autofree uint8_t *dir = g_malloc0(len);

    fw_cfg_put_be(dir, s->nfiles, 4);
    for (unsigned i = 0; i < s->nfiles; i++) {
        uint8_t *p = dir + 4 + i * FW_CFG_DIR_ENTRY_SIZE;
        FWCfgEntry *e = &s->entries[0][FW_CFG_FILE_FIRST + i];

        fw_cfg_put_be(p, s->files[i].e.len, 4);
        fw_cfg_put_be(p + 4, FW_CFG_FILE_FIRST + i, 2);
        memcpy(p + 8, s->files[i].name, FW_CFG_MAX_FILE_PATH);
        /* The entry shares the file's buffer; the file owns it. */
        *e = s->files[i].e;
    }
    fw_cfg_set_entry(&s->entries[0][FW_CFG_FILE_DIR], dir, len);
}

static int fw_cfg_find_file(FWCfgState *s, const char *name, bool *found)
{
    unsigned i;

    for (i = 0; i < s->nfiles; i++) {
        int c = strcmp(name, s->files[i].name);

        if (c <= 0) {
            *found = c == 0;
            return i;
        }
    }
    *found = false;
    return i;
}

bool fw_cfg_add_file(DeviceState *fw, const char *name, const void *data,
                     size_t len, GError **errp)
{
    FWCfgState *s = FW_CFG(fw);
    bool found;
    int i;

    if (strlen(name) >= FW_CFG_MAX_FILE_PATH || len > UINT32_MAX) {
        error_setg(errp, "fw_cfg: file name '%s' or size too large", name);
        return false;
    }
    i = fw_cfg_find_file(s, name, &found);
    if (!found) {
        if (s->nfiles == FW_CFG_FILE_SLOTS) {
            error_setg(errp, "fw_cfg: no free slot for file '%s'", name);
            return false;
        }
        memmove(&s->files[i + 1], &s->files[i],
                (s->nfiles - i) * sizeof(s->files[0]));
        memset(&s->files[i], 0, sizeof(s->files[i]));
        g_strlcpy(s->files[i].name, name, FW_CFG_MAX_FILE_PATH);
        s->nfiles++;
    }
    g_free(s->files[i].e.data);
    s->files[i].e.data = len ? g_memdup2(data, len) : NULL;
    s->files[i].e.len = len;
    fw_cfg_rebuild_dir(s);
    return true;
}

const void *fw_cfg_get_file(DeviceState *fw, const char *name, size_t *len)
{
    FWCfgState *s = FW_CFG(fw);
    bool found;
    int i = fw_cfg_find_file(s, name, &found);

    if (!found) {
        return NULL;
    }
    *len = s->files[i].e.len;
    return s->files[i].e.data;
}

/* ------------------------------------------------------------------------
 * Port access
 */

static void fw_cfg_select(FWCfgState *s, uint16_t key)
{
    s->cur_key = fw_cfg_entry(s, key) ? key : FW_CFG_INVALID;
    s->cur_offset = 0;
}

static uint8_t fw_cfg_read_byte(FWCfgState *s)
{
    FWCfgEntry *e = fw_cfg_entry(s, s->cur_key);

    if (!e || s->cur_offset >= e->len) {
        return 0;
    }
    return e->data[s->cur_offset++];
}

static uint64_t fw_cfg_ctl_read(void *opaque, uint64_t addr, unsigned size)
{
    if (addr == 1 && size == 1) {
        return fw_cfg_read_byte(opaque);
    }
    return 0;
}

static void fw_cfg_ctl_write(void *opaque, uint64_t addr, uint64_t val,
                             unsigned size)
{
    /* Data-port writes are ignored since QEMU 2.4: use DMA. */
    if (addr == 0 && size == 2) {
        fw_cfg_select(opaque, val);
    }
}

static const MemoryRegionOps fw_cfg_ctl_ops = {
    .read = fw_cfg_ctl_read,
    .write = fw_cfg_ctl_write,
    .valid = { .min_access_size = 1, .max_access_size = 2 },
};

/* ------------------------------------------------------------------------
 * DMA
 */

static uint64_t fw_cfg_get_be(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = 0; i < n; i++) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Copy @len bytes of the current item to guest @addr, zeros past its end. */
static bool fw_cfg_dma_read(FWCfgState *s, uint64_t addr, uint32_t len)
{
    FWCfgEntry *e = fw_cfg_entry(s, s->cur_key);
    uint8_t buf[FW_CFG_DMA_CHUNK];

    while (len) {
        uint32_t n = MIN(len, sizeof(buf));
        uint32_t avail = 0;

        if (e && s->cur_offset < e->len) {
            avail = MIN(n, e->len - s->cur_offset);
            memcpy(buf, e->data + s->cur_offset, avail);
        }
        memset(buf + avail, 0, n - avail);
        if (dma_write(&address_space_memory, addr, buf, n) != MEMTX_OK) {
            return false;
        }
        s->cur_offset += avail;
        addr += n;
        len -= n;
    }
    return true;
}

static uint32_t fw_cfg_dma_transfer(FWCfgState *s, uint32_t control,
                                    uint32_t len, uint64_t addr)
{
    FWCfgEntry *e;

    if (control & DMA_CTL_SELECT) {
        fw_cfg_select(s, control >> 16);
    }
    e = fw_cfg_entry(s, s->cur_key);
    if (control & DMA_CTL_READ) {
        return fw_cfg_dma_read(s, addr, len) ? 0 : DMA_CTL_ERROR;
    }
    if (control & DMA_CTL_WRITE) {
        return DMA_CTL_ERROR;       /* no writable items */
    }
    if (control & DMA_CTL_SKIP) {
        if (e) {
            s->cur_offset = MIN((uint64_t)s->cur_offset + len, e->len);
        }
    }
    return 0;
}

static void fw_cfg_dma_run(FWCfgState *s)
{
    uint64_t desc = fw_cfg_get_be(s->dma_addr, 8);
    uint8_t req[16];
    uint8_t result[4];
    uint32_t status;

    memset(s->dma_addr, 0, sizeof(s->dma_addr));
    if (dma_read(&address_space_memory, desc, req, sizeof(req)) != MEMTX_OK) {
        qlite_log_guest_error("fw_cfg: DMA descriptor at 0x%" PRIx64
                              " unreadable", desc);
        return;
    }
    status = fw_cfg_dma_transfer(s, fw_cfg_get_be(req, 4),
                                 fw_cfg_get_be(req + 4, 4),
                                 fw_cfg_get_be(req + 8, 8));
    fw_cfg_put_be(result, status, 4);
    dma_write(&address_space_memory, desc, result, sizeof(result));
}

static uint64_t fw_cfg_dma_mem_read(void *opaque, uint64_t addr,
                                    unsigned size)
{
    uint64_t v = 0;

    /* The signature in memory order, as the guest's bytes read it. */
    if (addr + size <= 8) {
        memcpy(&v, &FW_CFG_DMA_SIG[addr], size);
    }
    return GUINT64_FROM_LE(v);
}

static void fw_cfg_dma_mem_write(void *opaque, uint64_t addr, uint64_t val,
                                 unsigned size)
{
    FWCfgState *s = opaque;

    if (addr + size > 8) {
        return;
    }
    for (unsigned i = 0; i < size; i++) {
        s->dma_addr[addr + i] = val >> (8 * i);
    }
    /* Writing the low half (or all eight bytes) starts the transfer. */
    if (addr + size == 8 && (addr == 4 || addr == 0)) {
        fw_cfg_dma_run(s);
    }
}

static const MemoryRegionOps fw_cfg_dma_ops = {
    .read = fw_cfg_dma_mem_read,
    .write = fw_cfg_dma_mem_write,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
};

/* ------------------------------------------------------------------------
 * Lifecycle
 */

static void fw_cfg_reset(DeviceState *dev)
{
    FWCfgState *s = FW_CFG(dev);

    fw_cfg_select(s, FW_CFG_SIGNATURE);
    memset(s->dma_addr, 0, sizeof(s->dma_addr));
}

static void fw_cfg_realize(DeviceState *dev, GError **errp)
{
    FWCfgState *s = FW_CFG(dev);
    uint32_t id = FW_CFG_VERSION | (s->dma_enabled ? FW_CFG_VERSION_DMA : 0);

    if (fw_cfg_current) {
        error_setg(errp, "at most one fw_cfg device is permitted");
        return;
    }
    fw_cfg_add_bytes(dev, FW_CFG_SIGNATURE, FW_CFG_SIG, 4);
    fw_cfg_add_i32(dev, FW_CFG_ID, id);
    fw_cfg_rebuild_dir(s);
    memory_region_init_io(&s->ctl_io, &fw_cfg_ctl_ops, s, "fwcfg", 2);
    memory_region_add_subregion(get_system_io(), FW_CFG_IO_BASE, &s->ctl_io);
    if (s->dma_enabled) {
        memory_region_init_io(&s->dma_io, &fw_cfg_dma_ops, s, "fwcfg.dma", 8);
        memory_region_add_subregion(get_system_io(), FW_CFG_DMA_IO_BASE,
                                    &s->dma_io);
    }
    fw_cfg_current = s;
}

static void fw_cfg_unrealize(DeviceState *dev)
{
    FWCfgState *s = FW_CFG(dev);

    memory_region_del_subregion(get_system_io(), &s->ctl_io);
    if (s->dma_enabled) {
        memory_region_del_subregion(get_system_io(), &s->dma_io);
    }
    fw_cfg_current = NULL;
}

static void fw_cfg_finalize(Object *obj)
{
    FWCfgState *s = FW_CFG(obj);

    for (int arch = 0; arch < 2; arch++) {
        for (int i = 0; i < FW_CFG_ENTRIES; i++) {
            /* File entries alias the files' buffers, freed below. */
            if (arch || i < FW_CFG_FILE_FIRST) {
                g_free(s->entries[arch][i].data);
            }
        }
    }
    for (unsigned i = 0; i < s->nfiles; i++) {
        g_free(s->files[i].e.data);
    }
}

static const Property fw_cfg_props[] = {
    DEFINE_PROP_BOOL("dma_enabled", FWCfgState, dma_enabled, true),
    DEFINE_PROP_END_OF_LIST(),
};

static void fw_cfg_class_init(ObjectClass *oc, const void *data)
{
    DeviceClass *dc = DEVICE_CLASS(oc);

    dc->desc = "QEMU firmware configuration device";
    dc->props = fw_cfg_props;
    dc->realize = fw_cfg_realize;
    dc->unrealize = fw_cfg_unrealize;
    dc->reset = fw_cfg_reset;
    dc->user_creatable = false;
}

static const TypeInfo fw_cfg_info = {
    .name = TYPE_FW_CFG_IO,
    .parent = TYPE_DEVICE,
    .instance_size = sizeof(FWCfgState),
    .class_init = fw_cfg_class_init,
    .instance_finalize = fw_cfg_finalize,
};

type_init(fw_cfg_register_types)
{
    type_register(&fw_cfg_info);
}
