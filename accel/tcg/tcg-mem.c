/*
 * The CPU core's view of the board: physical memory through
 * address_space_memory and ports through address_space_io (X86IO of
 * target/i386/cpu.h).
 *
 * RAM is reached without the big lock: the vCPU threads keep their own
 * reference to a flattened view and look pages up in it.  A memory map
 * change (a listener callback in the main thread) only raises a flag and
 * kicks the vCPUs; a vCPU thread swaps views, flushes the TLBs and drops
 * decoded code between slices, under the big lock and while no vCPU runs
 * (tcg-all.c's exclusive section).  Devices (MMIO and ports) are always
 * called with the big lock held.
 */
#include "qlite/main-loop.h"
#include "qlite/memory.h"
#include "qlite/tcg.h"

static FlatView *mem_view;      /* the vCPU threads' reference */
static int mem_changed;         /* atomic: the map changed since */

/*
 * RAM that devices wrote (DMA, loaders): the vCPU thread drops decoded
 * code there before its next block.  Past MEM_DIRTY_MAX ranges it simply
 * drops all code.
 */
#define MEM_DIRTY_MAX   1024

typedef struct MemDirty {
    uint64_t addr;
    uint64_t len;
} MemDirty;

static GMutex mem_dirty_lock;
static MemDirty mem_dirty[MEM_DIRTY_MAX];   /* under mem_dirty_lock */
static unsigned mem_dirty_count;
static bool mem_dirty_overflow;
int tcg_mem_dirty_pending;                   /* atomic */

/*
 * The range mem_ram_ptr() found last in this thread (page walks and TLB
 * fills hit the same RAM range over and over), while mem_view is the one
 * of generation mem_gen it was found in.
 */
static unsigned mem_gen;
static __thread const FlatRange *mem_last;
static __thread unsigned mem_last_gen;

static bool mem_range_has_page(const FlatRange *fr, uint64_t page)
{
    return fr && fr->size >= X86_PAGE_SIZE && page >= fr->start &&
           page - fr->start <= fr->size - X86_PAGE_SIZE;
}

static void *mem_ram_ptr(void *opaque, uint64_t paddr, bool is_write)
{
    uint64_t page = paddr & X86_PAGE_MASK;
    const FlatRange *fr = mem_last_gen == mem_gen ? mem_last : NULL;
    MemoryRegion *mr;

    if (!mem_range_has_page(fr, page)) {
        fr = mem_view ? flatview_lookup(mem_view, page) : NULL;
        mem_last = fr;
        mem_last_gen = mem_gen;
    }
    if (!fr || fr->size < X86_PAGE_SIZE ||
        page - fr->start > fr->size - X86_PAGE_SIZE) {
        return NULL;            /* not a whole page of one range */
    }
    mr = fr->mr;
    if (mr->kind != MR_RAM && mr->kind != MR_ROM) {
        return NULL;
    }
    if (is_write && (mr->kind == MR_ROM || fr->readonly || mr->readonly)) {
        return NULL;
    }
    return mr->ram + fr->offset + (page - fr->start);
}

/* Take the big lock unless this thread holds it; true if taken. */
static bool mem_lock(void)
{
    if (bql_locked()) {
        return false;
    }
    bql_lock();
    return true;
}

static void mem_unlock(bool taken)
{
    if (taken) {
        bql_unlock();
    }
}

/* Count an access for the vCPU behind @opaque (NULL in tests). */
static void mem_count(void *opaque, TcgStat s)
{
    TcgCPU *tc = opaque;

    if (tc) {
        stats_inc(&tc->stats[s]);
    }
}

static uint64_t mem_phys_read(void *opaque, uint64_t paddr, unsigned size)
{
    uint64_t val = UINT64_MAX;
    bool taken = mem_lock();

    mem_count(opaque, TCG_STAT_MMIO_READS);
    if (address_space_ld(&address_space_memory, paddr, size, &val) !=
        MEMTX_OK) {
        val = UINT64_MAX;       /* unassigned reads as all ones */
    }
    mem_unlock(taken);
    val = size >= 8 ? val : val & ((UINT64_C(1) << (size * 8)) - 1);
    if (tcg_trace_on) {
        tcg_trace_io('r', paddr, size, val);
    }
    return val;
}

static void mem_phys_write(void *opaque, uint64_t paddr, uint64_t val,
                           unsigned size)
{
    bool taken;

    if (tcg_trace_on) {
        tcg_trace_io('w', paddr, size, val);
    }
    mem_count(opaque, TCG_STAT_MMIO_WRITES);
    taken = mem_lock();
    address_space_st(&address_space_memory, paddr, size, val);
    mem_unlock(taken);
}

static uint32_t mem_port_in(void *opaque, uint16_t port, unsigned size)
{
    uint64_t val = UINT64_MAX;
    bool taken = mem_lock();

    mem_count(opaque, TCG_STAT_PIO_READS);
    if (address_space_ld(&address_space_io, port, size, &val) != MEMTX_OK) {
        val = UINT64_MAX;
    }
    mem_unlock(taken);
    val = size >= 4 ? (uint32_t)val : val & ((1u << (size * 8)) - 1);
    if (tcg_trace_on) {
        tcg_trace_io('i', port, size, val);
    }
    return val;
}

static void mem_port_out(void *opaque, uint16_t port, uint32_t val,
                         unsigned size)
{
    bool taken;

    if (tcg_trace_on) {
        tcg_trace_io('o', port, size, val);
    }
    mem_count(opaque, TCG_STAT_PIO_WRITES);
    taken = mem_lock();
    address_space_st(&address_space_io, port, size, val);
    mem_unlock(taken);
}

/*
 * PAUSE: the vCPU spins waiting for another.  With a thread each, give
 * the host CPU up for a moment (there may be more vCPUs than host CPUs);
 * with one thread for all, end this vCPU's turn so the others run.
 */
static void mem_pause(void *opaque)
{
    TcgCPU *tc = opaque;

    if (tcg_threads_multi) {
        sched_yield();
    } else {
        tcg_exec_kick(tc->env);
    }
}

void tcg_mem_io_init(X86IO *io, TcgCPU *tc)
{
    io->opaque = tc;
    io->ram_ptr = mem_ram_ptr;
    io->phys_read = mem_phys_read;
    io->phys_write = mem_phys_write;
    io->port_in = mem_port_in;
    io->port_out = mem_port_out;
    io->pause = mem_pause;
}

/* Main thread, big lock held: a commit changed the memory map. */
static void mem_listener(AddressSpace *as, FlatView *view, void *opaque)
{
    g_atomic_int_set(&mem_changed, 1);
    tcg_exec_kick_all();
}

/* Any thread (devices hold the big lock): @len bytes of RAM were written. */
static void mem_ram_written(uint64_t addr, uint64_t len)
{
    g_mutex_lock(&mem_dirty_lock);
    if (mem_dirty_count < MEM_DIRTY_MAX) {
        mem_dirty[mem_dirty_count++] = (MemDirty){ addr, len };
    } else {
        mem_dirty_overflow = true;
    }
    g_mutex_unlock(&mem_dirty_lock);
    g_atomic_int_set(&tcg_mem_dirty_pending, 1);
    tcg_exec_kick_all();    /* translated code checks only the kick */
}

/* @len may exceed what tcg_tb_invalidate_phys() takes at once. */
static void mem_drop_range(X86CPUState *env, uint64_t addr, uint64_t len)
{
    while (len) {
        unsigned n = MIN(len, UINT64_C(1) << 30);

        tcg_tb_invalidate_phys(env, addr, n);
        addr += n;
        len -= n;
    }
}

void tcg_mem_drop_written_code(X86CPUState *env)
{
    MemDirty copy[64];
    unsigned n;
    bool all;

    while (g_atomic_int_get(&tcg_mem_dirty_pending)) {
        g_mutex_lock(&mem_dirty_lock);
        n = MIN(mem_dirty_count, G_N_ELEMENTS(copy));
        memcpy(copy, mem_dirty + mem_dirty_count - n, n * sizeof(copy[0]));
        mem_dirty_count -= n;
        all = mem_dirty_overflow;
        mem_dirty_overflow = false;
        if (!mem_dirty_count) {
            g_atomic_int_set(&tcg_mem_dirty_pending, 0);
        }
        g_mutex_unlock(&mem_dirty_lock);
        if (all) {
            tcg_tb_request_flush();
        }
        for (unsigned i = 0; i < n; i++) {
            mem_drop_range(env, copy[i].addr, copy[i].len);
        }
    }
}

void tcg_mem_init(void)
{
    mem_view = address_space_get_flatview(&address_space_memory);
    address_space_add_listener(&address_space_memory, mem_listener, NULL);
    memory_add_ram_write_notifier(mem_ram_written);
}

bool tcg_mem_sync_pending(void)
{
    return g_atomic_int_get(&mem_changed);
}

/* Does physical @page hold other bytes in mem_view than in @opaque? */
static bool mem_page_moved(uint64_t page, void *opaque)
{
    return !flatview_same_backing(opaque, mem_view, page, X86_PAGE_SIZE);
}

void tcg_mem_sync(void)
{
    FlatView *old = mem_view;

    if (!g_atomic_int_compare_and_exchange(&mem_changed, 1, 0)) {
        return;
    }
    mem_view = address_space_get_flatview(&address_space_memory);
    mem_gen++;
    /* The TLBs hold host pointers into the old map. */
    for (int i = 0; i < cpu_count(); i++) {
        CPUState *cs = cpu_get(i);

        if (cs->arch) {
            x86_tlb_flush(x86_env(cs), true);
        }
    }
    /*
     * Blocks stay where RAM stays: a PCI BAR moving (Linux's probe moves
     * them some thirty times a boot) drops no code.  Blocks from pages
     * the new map backs otherwise (PAM, SMRAM, a ROM swapped) go.
     */
    tcg_tb_invalidate_pages_if(mem_page_moved, old);
    flatview_unref(old);
}
