/*
 * A write-back cache of cluster-sized metadata tables (L2 tables or
 * refcount blocks), kept in on-disk (big-endian) byte order.
 *
 * Crash safety rests on write order, not on syncing every update: a cache
 * may name a dependency that runs before any of its tables reach the disk
 * (the L2 cache depends on the refcount blocks being written and synced,
 * so an L2 entry never points at a cluster whose refcount is still zero
 * on disk).  All calls happen with the qcow2 lock held.
 */
#include "qcow2.h"

typedef struct Qcow2CacheEntry {
    uint64_t offset;        /* 0: unused */
    void *table;
    bool dirty;
    int ref;
    uint64_t lru;
} Qcow2CacheEntry;

struct Qcow2Cache {
    Qcow2CacheEntry *entries;
    int size;
    int table_size;
    uint64_t lru_counter;
    uint8_t *mem;           /* all tables, one after another */
    GHashTable *index;      /* offset -> entry index + 1 */
    int (*depends)(BlockDriverState *bs);
};

Qcow2Cache *qcow2_cache_new(BlockDriverState *bs, int tables,
                            int table_size)
{
    Qcow2Cache *c = g_new0(Qcow2Cache, 1);

    c->size = MAX(tables, 2);
    c->table_size = table_size;
    c->entries = g_new0(Qcow2CacheEntry, c->size);
    /* Page-aligned so tables can go to an O_DIRECT file unbounced. */
    c->mem = g_aligned_alloc0(c->size, table_size, 4096);
    for (int i = 0; i < c->size; i++) {
        c->entries[i].table = c->mem + (size_t)i * table_size;
    }
    c->index = g_hash_table_new(g_int64_hash, g_int64_equal);
    return c;
}

void qcow2_cache_free(Qcow2Cache *c)
{
    if (!c) {
        return;
    }
    g_aligned_free(c->mem);
    g_hash_table_destroy(c->index);
    g_free(c->entries);
    g_free(c);
}

void qcow2_cache_set_dependency(Qcow2Cache *c,
                                int (*dep)(BlockDriverState *bs))
{
    c->depends = dep;
}

static int qcow2_cache_find(Qcow2Cache *c, uint64_t offset)
{
    gpointer v = g_hash_table_lookup(c->index, &offset);

    return v ? GPOINTER_TO_INT(v) - 1 : -1;
}

static int qcow2_cache_entry_write(BlockDriverState *bs, Qcow2Cache *c,
                                   int i)
{
    BDRVQcow2State *s = bs->opaque;
    Qcow2CacheEntry *e = &c->entries[i];
    int ret;

    if (!e->dirty) {
        return 0;
    }
    if (c->depends) {
        ret = c->depends(bs);
        if (ret < 0) {
            return ret;
        }
    }
    ret = bdrv_pwrite(bs->file, e->offset, c->table_size, e->table, 0);
    if (ret < 0) {
        return ret;
    }
    e->dirty = false;
    s->file_unsynced = true;
    return 0;
}

int qcow2_cache_write(BlockDriverState *bs, Qcow2Cache *c)
{
    int ret = 0;

    for (int i = 0; i < c->size && ret == 0; i++) {
        ret = qcow2_cache_entry_write(bs, c, i);
    }
    return ret;
}

int qcow2_cache_write_one(BlockDriverState *bs, Qcow2Cache *c,
                          uint64_t offset)
{
    int i = qcow2_cache_find(c, offset);

    return i < 0 ? 0 : qcow2_cache_entry_write(bs, c, i);
}

bool qcow2_cache_is_dirty(Qcow2Cache *c)
{
    for (int i = 0; i < c->size; i++) {
        if (c->entries[i].dirty) {
            return true;
        }
    }
    return false;
}

/* The least recently used entry nobody holds, free ones first. */
static int qcow2_cache_victim(Qcow2Cache *c)
{
    int best = -1;

    for (int i = 0; i < c->size; i++) {
        Qcow2CacheEntry *e = &c->entries[i];
        if (e->ref) {
            continue;
        }
        if (!e->offset) {
            return i;
        }
        if (best < 0 || e->lru < c->entries[best].lru) {
            best = i;
        }
    }
    return best;
}

static int qcow2_cache_do_get(BlockDriverState *bs, Qcow2Cache *c,
                              uint64_t offset, void **table, bool read)
{
    Qcow2CacheEntry *e;
    int i = qcow2_cache_find(c, offset);
    int ret;

    if (i < 0) {
        i = qcow2_cache_victim(c);
        if (i < 0) {
            return -ENOMEM;
        }
        e = &c->entries[i];
        ret = qcow2_cache_entry_write(bs, c, i);
        if (ret < 0) {
            return ret;
        }
        if (e->offset) {
            g_hash_table_remove(c->index, &e->offset);
            e->offset = 0;
        }
        if (read) {
            ret = bdrv_pread(bs->file, offset, c->table_size, e->table);
            if (ret < 0) {
                return ret;
            }
        }
        e->offset = offset;
        g_hash_table_insert(c->index, &e->offset, GINT_TO_POINTER(i + 1));
    }
    e = &c->entries[i];
    if (!read) {
        memset(e->table, 0, c->table_size);
    }
    e->ref++;
    e->lru = ++c->lru_counter;
    *table = e->table;
    return 0;
}

int qcow2_cache_get(BlockDriverState *bs, Qcow2Cache *c, uint64_t offset,
                    void **table)
{
    return qcow2_cache_do_get(bs, c, offset, table, true);
}

int qcow2_cache_get_empty(BlockDriverState *bs, Qcow2Cache *c,
                          uint64_t offset, void **table)
{
    return qcow2_cache_do_get(bs, c, offset, table, false);
}

void *qcow2_cache_peek(Qcow2Cache *c, uint64_t offset)
{
    int i = qcow2_cache_find(c, offset);

    if (i < 0) {
        return NULL;
    }
    c->entries[i].lru = ++c->lru_counter;
    return c->entries[i].table;
}

static int qcow2_cache_index_of(Qcow2Cache *c, void *table)
{
    size_t i = ((uint8_t *)table - c->mem) / c->table_size;

    g_assert(i < (size_t)c->size);
    return i;
}

void qcow2_cache_put(Qcow2Cache *c, void **table)
{
    int i;

    if (!*table) {
        return;
    }
    i = qcow2_cache_index_of(c, *table);
    g_assert(c->entries[i].ref > 0);
    c->entries[i].ref--;
    *table = NULL;
}

void qcow2_cache_mark_dirty(Qcow2Cache *c, void *table)
{
    c->entries[qcow2_cache_index_of(c, table)].dirty = true;
}

void qcow2_cache_clear(Qcow2Cache *c)
{
    g_hash_table_remove_all(c->index);
    for (int i = 0; i < c->size; i++) {
        c->entries[i].offset = 0;
        c->entries[i].dirty = false;
    }
}

void qcow2_cache_discard(Qcow2Cache *c, uint64_t offset)
{
    int i = qcow2_cache_find(c, offset);

    if (i >= 0 && !c->entries[i].ref) {
        g_hash_table_remove(c->index, &c->entries[i].offset);
        c->entries[i].offset = 0;
        c->entries[i].dirty = false;
    }
}
