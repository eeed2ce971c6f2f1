/*
 * The block cache: decoded blocks found by (physical address, decoder
 * mode), and per physical page the list of blocks that lie on it, so
 * that a store to code drops exactly the blocks it overlaps.
 *
 * A page that holds blocks never has a writable TLB entry (the system
 * side asks tb_page_has_code() through X86CodeCache before giving one),
 * so every store to it takes the slow path, which calls
 * tcg_tb_invalidate_phys() the same way.  When a
 * page first gets a block, the write entries already in the TLBs for it
 * are dropped here.
 *
 * Invalidated blocks may still be running: they go on a garbage list and
 * are freed by tcg_tb_gc() between blocks.
 */
#include "qlite/tcg.h"

static void tb_register_code_cache(void);

#define TB_HASH_BITS    16
#define TB_HASH_SIZE    (1u << TB_HASH_BITS)
/* Physical pages: 40-bit addresses, a two-level table of list heads. */
#define TB_PAGE_L2_BITS 16
#define TB_PAGE_L1_BITS (40 - X86_PAGE_BITS - TB_PAGE_L2_BITS)
/* Past this much decoded code the whole cache is dropped and rebuilt. */
#define TB_MAX_BYTES    (64u << 20)

static TcgBlock *tb_hash[TB_HASH_SIZE];
static TcgBlock **tb_pages[1u << TB_PAGE_L1_BITS];
static TcgBlock *tb_garbage;
TcgBlock *tcg_tb_running;
bool tcg_tb_running_stale;
bool tcg_tb_gc_wanted;
uint32_t tcg_tb_epoch;
static size_t tb_bytes;
static unsigned tb_count;
static bool tb_flush_pending;

static unsigned tb_hash_of(uint64_t phys, int mode)
{
    uint64_t h = (phys ^ ((uint64_t)mode << 52)) * UINT64_C(0x9e3779b97f4a7c15);

    return h >> (64 - TB_HASH_BITS);
}

static size_t tb_alloc_size(const TcgBlock *tb)
{
    return sizeof(*tb) + tb->n * sizeof(TcgOp);
}

/* The list head of physical page @page, or NULL past 40 bits. */
static TcgBlock **tb_page_head(uint64_t page, bool alloc)
{
    uint64_t pn = page >> X86_PAGE_BITS;
    uint64_t l1 = pn >> TB_PAGE_L2_BITS;

    if (l1 >= G_N_ELEMENTS(tb_pages)) {
        return NULL;
    }
    if (!tb_pages[l1]) {
        if (!alloc) {
            return NULL;
        }
        tb_pages[l1] = g_new0(TcgBlock *, 1u << TB_PAGE_L2_BITS);
    }
    return &tb_pages[l1][pn & ((1u << TB_PAGE_L2_BITS) - 1)];
}

TcgBlock *tcg_tb_lookup(uint64_t phys, int mode)
{
    TcgBlock *tb = tb_hash[tb_hash_of(phys, mode)];

    for (; tb; tb = tb->hash_next) {
        if (tb->phys == phys && tb->mode == mode) {
            return tb;
        }
    }
    return NULL;
}

/* Drop the write entries of @page from one CPU's TLB. */
static void tb_protect_env(X86CPUState *env, uint64_t page)
{
    for (int idx = 0; idx < X86_MMU_NB; idx++) {
        for (unsigned i = 0; i < X86_TLB_SIZE; i++) {
            X86TLBEntry *e = &env->tlb[idx][i];

            if (e->tag_write != X86_TLB_INVALID && e->paddr == page) {
                /* Still writable, through the slow path. */
                e->tag_write_code = e->tag_write;
                e->tag_write = X86_TLB_INVALID;
            }
        }
    }
}

/* @page now holds code: no CPU may keep writing it through its TLB. */
static void tb_protect_page(X86CPUState *env, uint64_t page)
{
    tb_protect_env(env, page);
    for (int i = 0; i < cpu_count(); i++) {
        CPUState *cs = cpu_get(i);

        if (cs->arch && x86_env(cs) != env) {
            tb_protect_env(x86_env(cs), page);
        }
    }
}

void tcg_tb_insert(X86CPUState *env, TcgBlock *tb)
{
    unsigned h = tb_hash_of(tb->phys, tb->mode);

    tb_register_code_cache();
    tb->cached = true;
    tb->valid = true;
    tb->hash_next = tb_hash[h];
    tb_hash[h] = tb;
    for (int j = 0; j < 2; j++) {
        TcgBlock **head;

        tb->page_next[j] = NULL;
        if (tb->page[j] == TCG_NO_PAGE) {
            continue;
        }
        head = tb_page_head(tb->page[j], true);
        g_assert(head);     /* tcg-block.c caches only below 2^40 */
        if (!*head) {
            tb_protect_page(env, tb->page[j]);
        }
        tb->page_next[j] = *head;
        *head = tb;
    }
    tb_bytes += tb_alloc_size(tb);
    tb_count++;
    if (tb_bytes > TB_MAX_BYTES) {
        tb_flush_pending = true;
        tcg_tb_gc_wanted = true;
    }
}

static void tb_unlink_hash(TcgBlock *tb)
{
    TcgBlock **p = &tb_hash[tb_hash_of(tb->phys, tb->mode)];

    for (; *p; p = &(*p)->hash_next) {
        if (*p == tb) {
            *p = tb->hash_next;
            return;
        }
    }
}

/* Remove @tb from the list of its page @j. */
static void tb_unlink_page(TcgBlock *tb, int j)
{
    TcgBlock **p = tb_page_head(tb->page[j], false);

    while (p && *p) {
        TcgBlock *cur = *p;
        int k = cur->page[0] == tb->page[j] ? 0 : 1;

        if (cur == tb) {
            *p = tb->page_next[j];
            return;
        }
        p = &cur->page_next[k];
    }
}

static void tb_invalidate(TcgBlock *tb)
{
    tb_unlink_hash(tb);
    for (int j = 0; j < 2; j++) {
        if (tb->page[j] != TCG_NO_PAGE) {
            tb_unlink_page(tb, j);
        }
    }
    tb->valid = false;
    tcg_tb_epoch++;
    if (tb == tcg_tb_running) {
        tcg_tb_running_stale = true;
    }
    tb_bytes -= tb_alloc_size(tb);
    tb_count--;
    tb->hash_next = tb_garbage;
    tb_garbage = tb;
    tcg_tb_gc_wanted = true;
}

/* The bytes [start, end) of physical page @j that @tb covers. */
static void tb_extent(const TcgBlock *tb, int j, uint64_t *start,
                      uint64_t *end)
{
    uint64_t first_end = tb->page[0] + X86_PAGE_SIZE;

    if (j == 0) {
        *start = tb->phys;
        *end = MIN(tb->phys + tb->size, first_end);
    } else {
        *start = tb->page[1];
        *end = tb->page[1] + (tb->phys + tb->size - first_end);
    }
}

/* Invalidate the blocks of @page that overlap [start, end). */
static void tb_invalidate_page_range(uint64_t page, uint64_t start,
                                     uint64_t end)
{
    TcgBlock **head = tb_page_head(page, false);
    TcgBlock *tb, *next;

    if (!head) {
        return;
    }
    for (tb = *head; tb; tb = next) {
        int j = tb->page[0] == page ? 0 : 1;
        uint64_t s, e;

        next = tb->page_next[j];
        tb_extent(tb, j, &s, &e);
        if (s < end && start < e) {
            tb_invalidate(tb);
        }
    }
}

void tcg_tb_invalidate_phys(X86CPUState *env, uint64_t paddr, unsigned len)
{
    uint64_t end = paddr + len;

    if (len == 0) {
        return;
    }
    for (uint64_t page = paddr & X86_PAGE_MASK; page < end;
         page += X86_PAGE_SIZE) {
        tb_invalidate_page_range(page, MAX(paddr, page),
                                 MIN(end, page + X86_PAGE_SIZE));
    }
}

static bool tb_page_has_code(X86CPUState *env, uint64_t paddr)
{
    TcgBlock **head = tb_page_head(paddr & X86_PAGE_MASK, false);

    return head && *head;
}

/* The MMU's view of the cache: registered with the first block. */
static void tb_register_code_cache(void)
{
    static const X86CodeCache cache = {
        .page_has_code = tb_page_has_code,
        .code_written = tcg_tb_invalidate_phys,
    };

    x86_set_code_cache(&cache);
}

unsigned tcg_tb_count(void)
{
    return tb_count;
}

void tcg_tb_flush_all(void)
{
    stats_inc(&tcg_vm_stats[TCG_VM_STAT_TB_FLUSHES]);
    for (unsigned h = 0; h < TB_HASH_SIZE; h++) {
        while (tb_hash[h]) {
            TcgBlock *tb = tb_hash[h];

            tb_hash[h] = tb->hash_next;
            tb->valid = false;
            tb->hash_next = tb_garbage;
            tb_garbage = tb;
            tcg_tb_gc_wanted = true;
        }
    }
    for (unsigned i = 0; i < G_N_ELEMENTS(tb_pages); i++) {
        g_free(tb_pages[i]);
        tb_pages[i] = NULL;
    }
    if (tcg_tb_running) {
        tcg_tb_running_stale = true;
    }
    tcg_tb_epoch++;
    tb_bytes = 0;
    tb_count = 0;
    tb_flush_pending = false;
    tcg_jit_flush();
    tcg_tb_gc_wanted = true;        /* for the code buffer, if nothing else */
}

void tcg_tb_request_flush(void)
{
    tb_flush_pending = true;
    tcg_tb_gc_wanted = true;
}

void tcg_tb_gc(void)
{
    tcg_tb_gc_wanted = false;
    if (tb_flush_pending) {
        tcg_tb_flush_all();
    }
    while (tb_garbage) {
        TcgBlock *tb = tb_garbage;

        tb_garbage = tb->hash_next;
        g_free(tb);
    }
    tcg_jit_gc();
}
