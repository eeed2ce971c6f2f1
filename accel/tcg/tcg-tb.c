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
 * are freed by tcg_tb_gc() when no vCPU runs (tcg-all.c: between blocks
 * with one thread, exclusively with one per vCPU).
 *
 * Threads: lookups take no lock.  A block is published in its hash chain
 * (release) only once complete, an unlinked block keeps its hash_next, so
 * that a lookup walking past it goes on along the chain, and no block is
 * freed while a vCPU may hold it (the garbage list waits for tcg_tb_gc()).
 * Everything that changes the cache (insert, invalidate, flush) holds
 * tb_lock; so does translation (tcg-jit.c), through tcg_tb_lock().
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
static TcgBlock *tb_garbage;   /* by gc_next */
static unsigned tb_garbage_count;
static GMutex tb_lock;
/* Invalidated blocks kept before tcg_tb_gc() is asked for. */
#define TB_GARBAGE_MAX  512
__thread TcgBlock *tcg_tb_running;
__thread bool tcg_tb_running_stale;
bool tcg_tb_gc_wanted;
uint32_t tcg_tb_epoch;
static size_t tb_bytes;
static unsigned tb_count;
static bool tb_flush_pending;

void tcg_tb_lock(void)
{
    g_mutex_lock(&tb_lock);
}

void tcg_tb_unlock(void)
{
    g_mutex_unlock(&tb_lock);
}

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
    TcgBlock *tb = __atomic_load_n(&tb_hash[tb_hash_of(phys, mode)],
                                   __ATOMIC_ACQUIRE);

    for (; tb; tb = __atomic_load_n(&tb->hash_next, __ATOMIC_ACQUIRE)) {
        if (tb->phys == phys && tb->mode == mode &&
            __atomic_load_n(&tb->valid, __ATOMIC_ACQUIRE)) {
            return tb;
        }
    }
    return NULL;
}

/*
 * @page now holds code: no CPU may keep writing it through its TLB.  A
 * TLB is changed only by its own vCPU's thread: with a thread per vCPU
 * the others are asked to (tcg-exec.c) and do it before their next
 * block.  Until then a store of theirs may miss the new block, as a
 * store of another processor may on real hardware until the two
 * synchronise (SDM vol 3A 8.1.3, cross-modifying code).
 */
static void tb_protect_page(X86CPUState *env, uint64_t page)
{
    x86_tlb_protect_phys(env, page);
    for (int i = 0; i < cpu_count(); i++) {
        CPUState *cs = cpu_get(i);

        if (!cs->arch || x86_env(cs) == env) {
            continue;
        }
        if (tcg_threads_multi) {
            tcg_exec_request_protect(x86_env(cs), page);
        } else {
            x86_tlb_protect_phys(x86_env(cs), page);
        }
    }
}

TcgBlock *tcg_tb_insert(X86CPUState *env, TcgBlock *tb)
{
    unsigned h = tb_hash_of(tb->phys, tb->mode);
    TcgBlock *old;

    tb_register_code_cache();
    g_mutex_lock(&tb_lock);
    old = tcg_tb_lookup(tb->phys, tb->mode);
    if (old) {
        /* Another vCPU decoded the same code meanwhile: use its block. */
        g_mutex_unlock(&tb_lock);
        g_free(tb);
        return old;
    }
    tb->cached = true;
    tb->valid = true;
    tb->hash_next = tb_hash[h];
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
        __atomic_store_n(head, tb, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&tb_hash[h], tb, __ATOMIC_RELEASE);
    tb_bytes += tb_alloc_size(tb);
    tb_count++;
    if (tb_bytes > TB_MAX_BYTES) {
        tb_flush_pending = true;
        tcg_tb_gc_wanted = true;
    }
    g_mutex_unlock(&tb_lock);
    return tb;
}

static void tb_unlink_hash(TcgBlock *tb)
{
    TcgBlock **p = &tb_hash[tb_hash_of(tb->phys, tb->mode)];

    for (; *p; p = &(*p)->hash_next) {
        if (*p == tb) {
            __atomic_store_n(p, tb->hash_next, __ATOMIC_RELEASE);
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
            __atomic_store_n(p, tb->page_next[j], __ATOMIC_RELEASE);
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
    __atomic_store_n(&tb->valid, false, __ATOMIC_RELEASE);
    tcg_jit_unlink(tb);
    if (tb == tcg_tb_running) {
        tcg_tb_running_stale = true;
    }
    tb_bytes -= tb_alloc_size(tb);
    tb_count--;
    tb->gc_next = tb_garbage;
    tb_garbage = tb;
    if (++tb_garbage_count >= TB_GARBAGE_MAX) {
        tcg_tb_gc_wanted = true;
    }
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
    g_mutex_lock(&tb_lock);
    for (uint64_t page = paddr & X86_PAGE_MASK; page < end;
         page += X86_PAGE_SIZE) {
        tb_invalidate_page_range(page, MAX(paddr, page),
                                 MIN(end, page + X86_PAGE_SIZE));
    }
    g_mutex_unlock(&tb_lock);
}

void tcg_tb_invalidate_pages_if(bool (*stale)(uint64_t page, void *opaque),
                                void *opaque)
{
    g_mutex_lock(&tb_lock);
    for (uint64_t l1 = 0; l1 < G_N_ELEMENTS(tb_pages); l1++) {
        for (uint64_t l2 = 0; tb_pages[l1] && l2 < 1u << TB_PAGE_L2_BITS;
             l2++) {
            uint64_t page = (l1 << TB_PAGE_L2_BITS | l2) << X86_PAGE_BITS;

            if (tb_pages[l1][l2] && stale(page, opaque)) {
                tb_invalidate_page_range(page, page, page + X86_PAGE_SIZE);
            }
        }
    }
    g_mutex_unlock(&tb_lock);
}

static bool tb_page_has_code(X86CPUState *env, uint64_t paddr)
{
    TcgBlock **head = tb_page_head(paddr & X86_PAGE_MASK, false);

    return head && __atomic_load_n(head, __ATOMIC_RELAXED);
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

/* No vCPU runs (one thread, or exclusive work: tcg-all.c). */
void tcg_tb_flush_all(void)
{
    g_mutex_lock(&tb_lock);
    stats_inc(&tcg_vm_stats[TCG_VM_STAT_TB_FLUSHES]);
    for (unsigned h = 0; h < TB_HASH_SIZE; h++) {
        while (tb_hash[h]) {
            TcgBlock *tb = tb_hash[h];

            tb_hash[h] = tb->hash_next;
            tb->valid = false;
            tb->gc_next = tb_garbage;
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
    g_mutex_unlock(&tb_lock);
}

void tcg_tb_request_flush(void)
{
    tb_flush_pending = true;
    tcg_tb_gc_wanted = true;
    if (tcg_threads_multi) {
        tcg_exec_kick_all();    /* translated code checks only the kick */
    }
}

/* No vCPU runs, as for tcg_tb_flush_all(). */
void tcg_tb_gc(void)
{
    tcg_tb_gc_wanted = false;
    if (tb_flush_pending) {
        tcg_tb_flush_all();
    }
    g_mutex_lock(&tb_lock);
    if (tb_garbage) {
        /* Links and jump-cache entries may still name them. */
        __atomic_add_fetch(&tcg_tb_epoch, 1, __ATOMIC_RELEASE);
    }
    while (tb_garbage) {
        TcgBlock *tb = tb_garbage;

        tb_garbage = tb->gc_next;
        g_free(tb);
    }
    tb_garbage_count = 0;
    g_mutex_unlock(&tb_lock);
    tcg_jit_gc();
}
