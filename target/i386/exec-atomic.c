/*
 * LOCK-prefixed read-modify-write instructions, and XCHG with memory,
 * as host atomics (SDM vol 3A 8.1.2.2): with a thread per vCPU, another
 * vCPU may store to the location between the instruction's read and its
 * write, and a plain store of another vCPU (a spinlock's release) must
 * never be lost under it.
 *
 * The instruction's own generic handler runs against a copy.  Its first
 * memory access names the locked region (the operand; both halves of
 * CMPXCHG8B/16B), which is translated for writing, with every check and
 * fault a store would raise, and read atomically into env->lock.  The
 * handler's accesses inside the region go to the copy; then one
 * compare-and-swap stores the result, if the memory still holds what was
 * read.  If not, another vCPU wrote meanwhile: the registers and flags
 * are put back and the handler runs again on the new value.
 *
 * A region the host cannot update with one atomic instruction (outside
 * RAM, across a page, or across a 64-byte cache line: a split lock, which
 * the host would make very slow or even trap) is accessed directly under
 * one mutex that all such instructions take: they are atomic against
 * each other, though not against a plain store of another vCPU to the
 * same misaligned bytes, which no guest relies on (Linux warns of split
 * locks).
 */
#include "target/i386/exec.h"
#include "target/i386/mmu.h"

#define LOCK_LINE   64          /* host cache line */

static GMutex lock_split_mutex;

/* Take the split-lock mutex for a region accessed directly. */
static void lock_go_direct(X86LockState *l)
{
    l->direct = true;
    g_mutex_lock(&lock_split_mutex);
    l->held = true;
}

void x86_lock_abandon(X86CPUState *env)
{
    if (env->lock.held) {
        env->lock.held = false;
        g_mutex_unlock(&lock_split_mutex);
    }
    env->lock_active = false;
}

/* Which instructions go through x86_exec_locked() (decoded, once). */
bool x86_insn_locked(const X86Insn *in)
{
    if (in->prefix & X86_PFX_LOCK) {
        return true;            /* the decoder allowed it: memory dest */
    }
    /* XCHG with a memory operand locks without the prefix. */
    return in->op == X86_OP_XCHG && in->has_modrm && in->mod != 3;
}

/* Bytes the instruction locks: CMPXCHG8B/16B both halves. */
static unsigned lock_size(const X86Insn *in)
{
    if (in->op == X86_OP_CMPXCHG8B) {
        return (in->rex & 8) ? 16 : 8;
    }
    return in->loc[0].size;
}

/* An atomic load and compare-and-swap of one integer type in host RAM. */
#define LOCK_ACCESS(T)                                                      \
    static void lock_load_##T(const void *host, uint8_t *out)               \
    {                                                                       \
        T v = __atomic_load_n((const T *)host, __ATOMIC_SEQ_CST);           \
        memcpy(out, &v, sizeof(v));                                         \
    }                                                                       \
    static bool lock_cas_##T(void *host, const uint8_t *old,                \
                             const uint8_t *new)                            \
    {                                                                       \
        T o, n;                                                             \
        memcpy(&o, old, sizeof(o));                                         \
        memcpy(&n, new, sizeof(n));                                         \
        return __atomic_compare_exchange_n((T *)host, &o, n, false,         \
                                           __ATOMIC_SEQ_CST,                \
                                           __ATOMIC_SEQ_CST);               \
    }
LOCK_ACCESS(uint8_t)
LOCK_ACCESS(uint16_t)
LOCK_ACCESS(uint32_t)
LOCK_ACCESS(uint64_t)

/*
 * 16 bytes: CMPXCHG16B (the handler checked the alignment).  Store @new
 * at @host if it holds @old; either way @old gets what it held.
 */
static bool lock_cas16(void *host, uint8_t *old, const uint8_t *new)
{
    uint64_t lo, hi, nlo, nhi;
    bool ok;

    memcpy(&lo, old, 8);
    memcpy(&hi, old + 8, 8);
    memcpy(&nlo, new, 8);
    memcpy(&nhi, new + 8, 8);
    __asm__ volatile("lock cmpxchg16b %1\n\tsete %0"
                     : "=q"(ok), "+m"(*(__int128 *)host), "+a"(lo), "+d"(hi)
                     : "b"(nlo), "c"(nhi) : "cc", "memory");
    memcpy(old, &lo, 8);
    memcpy(old + 8, &hi, 8);
    return ok;
}

static void lock_load(const void *host, unsigned size, uint8_t *out)
{
    switch (size) {
    case 1: lock_load_uint8_t(host, out); break;
    case 2: lock_load_uint16_t(host, out); break;
    case 4: lock_load_uint32_t(host, out); break;
    case 8: lock_load_uint64_t(host, out); break;
    default:
        /* Compare with zeroes, "store" what is there: an atomic read. */
        memset(out, 0, 16);
        lock_cas16((void *)host, out, out);
        break;
    }
}

/* Store @new at @host if it still holds @old. */
static bool lock_cas(void *host, unsigned size, const uint8_t *old,
                     const uint8_t *new)
{
    uint8_t o16[16];

    switch (size) {
    case 1: return lock_cas_uint8_t(host, old, new);
    case 2: return lock_cas_uint16_t(host, old, new);
    case 4: return lock_cas_uint32_t(host, old, new);
    case 8: return lock_cas_uint64_t(host, old, new);
    default:
        memcpy(o16, old, 16);
        return lock_cas16(host, o16, new);
    }
}

/* The handler's first access: set the region up and read it. */
static void lock_region(X86CPUState *env, int seg, uint64_t ea)
{
    X86LockState *l = &env->lock;
    uint64_t linear, paddr;
    uint8_t *page;

    l->region = true;
    l->seg = seg;
    l->ea = ea;
    linear = x86_seg_linear(env, seg, ea, l->size, true);
    if ((env->hflags & HF_AC) && (linear & (l->size - 1))) {
        x86_raise_exception_err(env, EXCP_AC, 0);
    }
    if ((linear & ~X86_PAGE_MASK) + l->size > X86_PAGE_SIZE) {
        lock_go_direct(l);
        return;
    }
    paddr = x86_translate(env, linear, X86_ACC_WRITE) & env->a20_mask;
    if (env->dbg_data) {
        x86_debug_data_access(env, linear, l->size, true);
    }
    page = env->io->ram_ptr(env->io->opaque, paddr & X86_PAGE_MASK, true);
    if (!page || (paddr & (LOCK_LINE - 1)) + l->size > LOCK_LINE) {
        lock_go_direct(l);
        return;
    }
    l->paddr = paddr;
    l->host = page + (paddr & ~X86_PAGE_MASK);
    lock_load(l->host, l->size, l->old);
    memcpy(l->cur, l->old, l->size);
}

/* Is [ea, ea + size) of @seg inside the region (which is atomic)? */
static bool lock_covers(const X86LockState *l, int seg, uint64_t ea,
                        unsigned size)
{
    return !l->direct && seg == l->seg && ea >= l->ea &&
           ea - l->ea + size <= l->size;
}

uint64_t x86_lock_read(X86CPUState *env, int seg, uint64_t ea, unsigned size)
{
    X86LockState *l = &env->lock;
    uint64_t v = 0;

    if (!l->region) {
        lock_region(env, seg, ea);
    }
    if (!lock_covers(l, seg, ea, size)) {
        env->lock_active = false;
        v = x86_mem_read(env, seg, ea, size);
        env->lock_active = true;
        return v;
    }
    memcpy(&v, l->cur + (ea - l->ea), size);
    return v;
}

void x86_lock_write(X86CPUState *env, int seg, uint64_t ea, unsigned size,
                    uint64_t v)
{
    X86LockState *l = &env->lock;

    if (!l->region) {
        lock_region(env, seg, ea);
    }
    if (!lock_covers(l, seg, ea, size)) {
        env->lock_active = false;
        x86_mem_write(env, seg, ea, size, v);
        env->lock_active = true;
        return;
    }
    memcpy(l->cur + (ea - l->ea), &v, size);
    l->written = true;
}

/* What the handler may change besides memory: put back for a retry. */
typedef struct LockUndo {
    uint64_t regs[16];
    uint32_t eflags;
    uint32_t cc_op;
    uint64_t cc_dst;
    uint64_t cc_src;
    uint64_t cc_src2;
} LockUndo;

void x86_exec_locked(X86CPUState *env, const X86Insn *in)
{
    X86LockState *l = &env->lock;
    LockUndo undo;

    memcpy(undo.regs, env->regs, sizeof(undo.regs));
    undo.eflags = env->eflags;
    undo.cc_op = env->cc_op;
    undo.cc_dst = env->cc_dst;
    undo.cc_src = env->cc_src;
    undo.cc_src2 = env->cc_src2;
    for (;;) {
        *l = (X86LockState){ .size = lock_size(in) };
        env->lock_active = true;
        x86_exec_generic(env, in);
        env->lock_active = false;
        if (l->held) {
            x86_lock_abandon(env);
        }
        if (!l->region || l->direct || !l->written) {
            return;
        }
        if (lock_cas(l->host, l->size, l->old, l->cur)) {
            x86_mmu_note_store(env, l->paddr, l->size);
            return;
        }
        /* Another vCPU wrote the region: once more with its value. */
        memcpy(env->regs, undo.regs, sizeof(undo.regs));
        env->eflags = undo.eflags;
        env->cc_op = undo.cc_op;
        env->cc_dst = undo.cc_dst;
        env->cc_src = undo.cc_src;
        env->cc_src2 = undo.cc_src2;
    }
}
