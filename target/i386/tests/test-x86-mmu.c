/*
 * The page walk and soft TLB (target/i386/mmu.c) over a fake RAM buffer:
 * 32-bit, PAE and 4-level tables built by hand, then translations, A/D
 * bits, #PF error codes and CR2 checked against the SDM (vol 3A ch. 4).
 */
#include "../cpu.h"
#include "../cpuid.h"
#include "../mmu.h"

#define RAM_SIZE    (8 * MiB)
#define PTE_NX_BIT  (UINT64_C(1) << 63)

typedef struct Fixture {
    X86CPUState *env;
    uint8_t *ram;
    X86IO io;
} Fixture;

static void *fake_ram_ptr(void *opaque, uint64_t paddr, bool is_write)
{
    Fixture *f = opaque;

    return paddr < RAM_SIZE ? f->ram + paddr : NULL;
}

static uint64_t fake_read(void *opaque, uint64_t paddr, unsigned size)
{
    return UINT64_MAX;
}

static void fake_write(void *opaque, uint64_t paddr, uint64_t val,
                       unsigned size)
{
}

static void fixture_init(Fixture *f)
{
    f->ram = g_malloc0(RAM_SIZE);
    f->env = g_new0(X86CPUState, 1);
    f->io = (X86IO){ .opaque = f, .ram_ptr = fake_ram_ptr,
                     .phys_read = fake_read, .phys_write = fake_write };
    f->env->io = &f->io;
    f->env->a20_mask = UINT64_MAX;
    f->env->hflags = HF_PE;
    f->env->exc_vector = -1;
    f->env->exc_prev = -1;
    f->env->features[FEAT_1_EDX] = CPUID_PSE | CPUID_PAE | CPUID_PSE36;
    f->env->features[FEAT_8000_0001_EDX] = CPUID_EXT2_NX | CPUID_EXT2_PDPE1GB;
    x86_tlb_flush(f->env, true);
}

static void fixture_free(Fixture *f)
{
    g_free(f->env);
    g_free(f->ram);
}

static void put32(Fixture *f, uint64_t addr, uint32_t v)
{
    memcpy(f->ram + addr, &v, 4);
}

static void put64(Fixture *f, uint64_t addr, uint64_t v)
{
    memcpy(f->ram + addr, &v, 8);
}

static uint64_t get64(Fixture *f, uint64_t addr)
{
    uint64_t v;

    memcpy(&v, f->ram + addr, 8);
    return v;
}

/* 32-bit tables: PD at 0x1000, PT at 0x2000 mapping 0x400000.. (4 MiB). */
static void setup_legacy(Fixture *f)
{
    f->env->cr[0] = CR0_PE | CR0_PG;
    f->env->cr[3] = 0x1000;
    f->env->cr[4] = CR4_PSE;
    put32(f, 0x1000 + 1 * 4, 0x2000 | 7);                    /* 4M..8M */
    put32(f, 0x2000 + 0 * 4, 0x300000 | 7);                  /* user rw */
    put32(f, 0x2000 + 1 * 4, 0x301000 | 5);                  /* user ro */
    put32(f, 0x2000 + 2 * 4, 0x302000 | 3);                  /* kern rw */
    put32(f, 0x1000 + 2 * 4, 0x400000 | 0x87);               /* 4M page */
}

static void test_legacy_walk(void)
{
    Fixture f;
    X86Walk w;
    uint32_t pte;

    fixture_init(&f);
    setup_legacy(&f);
    g_assert_true(x86_mmu_walk(f.env, 0x400123, X86_ACC_READ, true, &w));
    g_assert_cmphex(w.paddr, ==, 0x300123);
    memcpy(&pte, f.ram + 0x2000, 4);
    g_assert_cmphex(pte & 0x60, ==, 0x20);          /* A, not D */
    g_assert_true(x86_mmu_walk(f.env, 0x400123, X86_ACC_WRITE, true, &w));
    memcpy(&pte, f.ram + 0x2000, 4);
    g_assert_cmphex(pte & 0x60, ==, 0x60);          /* A and D */

    /* 4 MiB page. */
    g_assert_true(x86_mmu_walk(f.env, 0x812345, X86_ACC_READ, false, &w));
    g_assert_cmphex(w.paddr, ==, 0x412345);
    g_assert_cmpuint(w.page_size, ==, 4 * MiB);

    /* Not present: read 0, write 2, user 4 (SDM 4.7). */
    g_assert_false(x86_mmu_walk(f.env, 0x403000, X86_ACC_READ, false, &w));
    g_assert_cmphex(w.error, ==, 0);
    g_assert_false(x86_mmu_walk(f.env, 0x403000, X86_ACC_WRITE, true, &w));
    g_assert_cmphex(w.error, ==, PFERR_W | PFERR_U);
    g_assert_false(x86_mmu_walk(f.env, 0xc00000, X86_ACC_READ, false, &w));
    g_assert_cmphex(w.error, ==, 0);
    fixture_free(&f);
}

static void test_legacy_rights(void)
{
    Fixture f;
    X86Walk w;

    fixture_init(&f);
    setup_legacy(&f);
    /* Read-only user page: user write faults (P|W|U). */
    g_assert_false(x86_mmu_walk(f.env, 0x401000, X86_ACC_WRITE, true, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_W | PFERR_U);
    /* Supervisor write: allowed with WP=0, faults with WP=1. */
    g_assert_true(x86_mmu_walk(f.env, 0x401000, X86_ACC_WRITE, false, &w));
    f.env->cr[0] |= CR0_WP;
    g_assert_false(x86_mmu_walk(f.env, 0x401000, X86_ACC_WRITE, false, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_W);
    /* User read of a supervisor page: P|U. */
    g_assert_false(x86_mmu_walk(f.env, 0x402000, X86_ACC_READ, true, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_U);
    g_assert_true(x86_mmu_walk(f.env, 0x402000, X86_ACC_READ, false, &w));
    fixture_free(&f);
}

/* PAE: PDPT at 0x1000, PD at 0x2000, PT at 0x3000. */
static void setup_pae(Fixture *f)
{
    f->env->cr[0] = CR0_PE | CR0_PG | CR0_WP;
    f->env->cr[3] = 0x1000;
    f->env->cr[4] = CR4_PAE;
    f->env->efer = EFER_NXE;
    put64(f, 0x1000, 0x2000 | 1);
    put64(f, 0x2000 + 2 * 8, 0x3000 | 7);                    /* 4M..6M */
    put64(f, 0x3000 + 0 * 8, 0x300000 | 7);
    put64(f, 0x3000 + 1 * 8, 0x301000 | 7 | PTE_NX_BIT);
    put64(f, 0x2000 + 3 * 8, 0x600000 | 0x87);               /* 2M page */
    put64(f, 0x2000 + 4 * 8, 0x600000 | 0x87 | (1u << 13));  /* reserved */
}

static void test_pae(void)
{
    Fixture f;
    X86Walk w;

    fixture_init(&f);
    setup_pae(&f);
    g_assert_true(x86_mmu_walk(f.env, 0x400010, X86_ACC_EXEC, false, &w));
    g_assert_cmphex(w.paddr, ==, 0x300010);
    /* NX: fetch faults with P|I; a read is fine. */
    g_assert_false(x86_mmu_walk(f.env, 0x401000, X86_ACC_EXEC, false, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_I);
    g_assert_true(x86_mmu_walk(f.env, 0x401000, X86_ACC_READ, false, &w));
    /* 2 MiB page, then a reserved bit in one (P|RSVD). */
    g_assert_true(x86_mmu_walk(f.env, 0x7abcde, X86_ACC_READ, false, &w));
    g_assert_cmphex(w.paddr, ==, 0x7abcde);
    g_assert_false(x86_mmu_walk(f.env, 0x800000, X86_ACC_READ, false, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_RSVD);
    /* XD with EFER.NXE clear is a reserved bit. */
    f.env->efer = 0;
    g_assert_false(x86_mmu_walk(f.env, 0x401000, X86_ACC_READ, false, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_RSVD);
    fixture_free(&f);
}

/* 4-level: PML4 0x1000, PDPT 0x2000, PD 0x3000; a 1 GiB page at 1G. */
static void test_long(void)
{
    Fixture f;
    X86Walk w;
    uint64_t hi = UINT64_C(0xffff800000000000);

    fixture_init(&f);
    f.env->cr[0] = CR0_PE | CR0_PG;
    f.env->cr[3] = 0x1000;
    f.env->cr[4] = CR4_PAE;
    f.env->efer = EFER_LME | EFER_LMA | EFER_NXE;
    put64(&f, 0x1000 + 256 * 8, 0x2000 | 3);
    put64(&f, 0x2000 + 0 * 8, 0x3000 | 3);
    put64(&f, 0x2000 + 1 * 8, 0x40000000 | 0x83);            /* 1 GiB */
    put64(&f, 0x3000 + 1 * 8, 0x200000 | 0x83);              /* 2 MiB */
    g_assert_true(x86_mmu_walk(&f.env[0], hi + 0x212345, X86_ACC_WRITE,
                               false, &w));
    g_assert_cmphex(w.paddr, ==, 0x212345);
    g_assert_cmphex(get64(&f, 0x3000 + 8) & 0x60, ==, 0x60);
    g_assert_cmphex(get64(&f, 0x1000 + 256 * 8) & 0x20, ==, 0x20);
    g_assert_true(x86_mmu_walk(f.env, hi + 0x40001234, X86_ACC_READ, false,
                               &w));
    g_assert_cmphex(w.paddr, ==, 0x40001234);
    g_assert_cmpuint(w.page_size, ==, 1 * GiB);
    /* Without pdpe1gb the PS bit in a PDPTE is reserved. */
    f.env->features[FEAT_8000_0001_EDX] &= ~CPUID_EXT2_PDPE1GB;
    g_assert_false(x86_mmu_walk(f.env, hi + 0x40001234, X86_ACC_READ, false,
                                &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_RSVD);
    /* The user bit is clear at the top level: user access faults. */
    g_assert_false(x86_mmu_walk(f.env, hi + 0x212345, X86_ACC_READ, true,
                                &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_U);
    fixture_free(&f);
}

/* x86_translate raises #PF with CR2; the TLB follows INVLPG. */
static void test_translate_and_tlb(void)
{
    Fixture f;
    volatile int step = 0;

    fixture_init(&f);
    setup_legacy(&f);
    f.env->hflags = HF_PE | HF_PG | HF_CS32 | HF_SS32;
    if (setjmp(f.env->jmp_env) == 0) {
        g_assert_cmphex(x86_translate(f.env, 0x400010, X86_ACC_READ), ==,
                        0x300010);
        step = 1;
        x86_translate(f.env, 0x403456, X86_ACC_WRITE);
        g_assert_not_reached();
    }
    g_assert_cmpint(step, ==, 1);
    g_assert_cmpint(f.env->exc_vector, ==, EXCP_PF);
    g_assert_cmphex(f.env->exc_error_code, ==, PFERR_W);
    g_assert_cmphex(f.env->cr[2], ==, 0x403456);

    /* Cached: a PTE change is not seen until INVLPG. */
    f.ram[0x300010] = 0x11;
    f.ram[0x305010] = 0x22;
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x400010, 1, X86_MMU_KERNEL), ==,
                     0x11);
    put32(&f, 0x2000, 0x305000 | 0x67);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x400010, 1, X86_MMU_KERNEL), ==,
                     0x11);
    x86_tlb_flush_page(f.env, 0x400000);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x400010, 1, X86_MMU_KERNEL), ==,
                     0x22);
    /* A store across two pages lands in both frames. */
    put32(&f, 0x2000 + 1 * 4, 0x306000 | 0x67);
    x86_tlb_flush(f.env, true);
    x86_mmu_st(f.env, 0x400ffe, 4, 0xaabbccdd, X86_MMU_KERNEL);
    g_assert_cmphex(f.ram[0x305ffe], ==, 0xdd);
    g_assert_cmphex(f.ram[0x306001], ==, 0xaa);
    fixture_free(&f);
}

/*
 * MOV to CR3 keeps global pages' entries (PTE.G with CR4.PGE): a PTE
 * change under one is not seen until a flush that includes them; other
 * pages see theirs at once.  INVLPG drops a global entry too.
 */
static void test_global_pages(void)
{
    Fixture f;

    fixture_init(&f);
    setup_legacy(&f);
    f.env->cr[4] |= CR4_PGE;
    f.env->hflags = HF_PE | HF_PG | HF_CS32 | HF_SS32;
    put32(&f, 0x2000 + 4 * 4, 0x303000 | 0x103);    /* 0x404000 global */
    put32(&f, 0x2000 + 5 * 4, 0x304000 | 0x003);    /* 0x405000 not */
    f.ram[0x303010] = 0x11;
    f.ram[0x304010] = 0x22;
    f.ram[0x305010] = 0x33;
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x404010, 1, X86_MMU_KERNEL), ==,
                     0x11);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x405010, 1, X86_MMU_KERNEL), ==,
                     0x22);
    put32(&f, 0x2000 + 4 * 4, 0x305000 | 0x103);
    put32(&f, 0x2000 + 5 * 4, 0x305000 | 0x003);
    x86_tlb_flush(f.env, false);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x404010, 1, X86_MMU_KERNEL), ==,
                     0x11);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x405010, 1, X86_MMU_KERNEL), ==,
                     0x33);
    x86_tlb_flush(f.env, true);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x404010, 1, X86_MMU_KERNEL), ==,
                     0x33);
    /* INVLPG of a global page. */
    put32(&f, 0x2000 + 4 * 4, 0x303000 | 0x103);
    x86_tlb_flush(f.env, false);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x404010, 1, X86_MMU_KERNEL), ==,
                     0x33);
    x86_tlb_flush_page(f.env, 0x404000);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x404010, 1, X86_MMU_KERNEL), ==,
                     0x11);
    /* Without CR4.PGE the G bit means nothing. */
    f.env->cr[4] &= ~CR4_PGE;
    x86_tlb_flush(f.env, true);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x404010, 1, X86_MMU_KERNEL), ==,
                     0x11);
    put32(&f, 0x2000 + 4 * 4, 0x305000 | 0x103);
    x86_tlb_flush(f.env, false);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x404010, 1, X86_MMU_KERNEL), ==,
                     0x33);
    fixture_free(&f);
}

/*
 * A TLB slot that held a global page and then a page that is not (two
 * linear addresses 16 MiB apart share a slot): a MOV to CR3 drops it.
 */
static void test_global_slot_reused(void)
{
    Fixture f;

    fixture_init(&f);
    setup_legacy(&f);
    f.env->cr[4] |= CR4_PGE;
    f.env->hflags = HF_PE | HF_PG | HF_CS32 | HF_SS32;
    put32(&f, 0x1000 + 5 * 4, 0x3000 | 7);                  /* 20M..24M */
    put32(&f, 0x2000 + 4 * 4, 0x303000 | 0x103);    /* 0x404000 global */
    put32(&f, 0x3000 + 4 * 4, 0x306000 | 0x003);    /* 0x1404000 not */
    f.ram[0x303010] = 0x11;
    f.ram[0x305010] = 0x33;
    f.ram[0x306010] = 0x44;
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x404010, 1, X86_MMU_KERNEL), ==,
                     0x11);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x1404010, 1, X86_MMU_KERNEL), ==,
                     0x44);
    put32(&f, 0x3000 + 4 * 4, 0x305000 | 0x003);
    x86_tlb_flush(f.env, false);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x1404010, 1, X86_MMU_KERNEL), ==,
                     0x33);
    /* And back to the global page, which a MOV to CR3 keeps. */
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x404010, 1, X86_MMU_KERNEL), ==,
                     0x11);
    put32(&f, 0x2000 + 4 * 4, 0x305000 | 0x103);
    x86_tlb_flush(f.env, false);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x404010, 1, X86_MMU_KERNEL), ==,
                     0x11);
    fixture_free(&f);
}

/*
 * A TLB miss elsewhere in a large page reuses the walk (as one TLB entry
 * would cover the whole page), except for a first write, which walks to
 * set D; any flush ends it.
 */
static void test_large_page_reuse(void)
{
    Fixture f;

    fixture_init(&f);
    setup_legacy(&f);
    f.env->hflags = HF_PE | HF_PG | HF_CS32 | HF_SS32;
    put32(&f, 0x1000 + 2 * 4, 0x400000 | 0x87);     /* 8M -> 4M, no A/D */
    f.ram[0x400010] = 0x11;
    f.ram[0x402010] = 0x33;
    f.ram[0x002010] = 0x44;
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x800010, 1, X86_MMU_KERNEL), ==,
                     0x11);
    g_assert_cmphex(f.ram[0x1008] & 0x60, ==, 0x20);        /* A, not D */
    /* A write in another 4K slice walks again and sets D. */
    x86_mmu_st(f.env, 0x801010, 1, 0x22, X86_MMU_KERNEL);
    g_assert_cmphex(f.ram[0x401010], ==, 0x22);
    g_assert_cmphex(f.ram[0x1008] & 0x60, ==, 0x60);
    /* The PDE changes without a flush: a new slice still maps the old. */
    put32(&f, 0x1000 + 2 * 4, 0x000000 | 0xe7);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x802010, 1, X86_MMU_KERNEL), ==,
                     0x33);
    /* INVLPG of any address of the page: the new mapping. */
    x86_tlb_flush_page(f.env, 0x800000);
    g_assert_cmpuint(x86_mmu_ld(f.env, 0x802010, 1, X86_MMU_KERNEL), ==,
                     0x44);
    fixture_free(&f);
}

/*
 * 4-level tables for the SMAP and protection-key tests: 0x400000 a user
 * page with key 5, 0x401000 a supervisor page with key 5.
 */
static void setup_long_keys(Fixture *f)
{
    uint64_t key5 = UINT64_C(5) << 59;

    f->env->cr[0] = CR0_PE | CR0_PG | CR0_WP;
    f->env->cr[3] = 0x1000;
    f->env->cr[4] = CR4_PAE;
    f->env->efer = EFER_LME | EFER_LMA | EFER_NXE;
    put64(f, 0x1000, 0x2000 | 7);
    put64(f, 0x2000, 0x3000 | 7);
    put64(f, 0x3000 + 2 * 8, 0x4000 | 7);               /* 4M.. */
    put64(f, 0x4000 + 0 * 8, 0x300000 | 7 | key5);
    put64(f, 0x4000 + 1 * 8, 0x301000 | 3 | key5);
}

/* SDM 4.6.1: SMAP denies supervisor data accesses to user pages. */
static void test_smap(void)
{
    Fixture f;
    X86Walk w;

    fixture_init(&f);
    setup_long_keys(&f);
    g_assert_true(x86_mmu_walk(f.env, 0x400000, X86_ACC_READ, false, &w));
    f.env->cr[4] |= CR4_SMAP;
    g_assert_false(x86_mmu_walk(f.env, 0x400000, X86_ACC_READ, false, &w));
    g_assert_cmphex(w.error, ==, PFERR_P);
    g_assert_false(x86_mmu_walk(f.env, 0x400000, X86_ACC_WRITE, false, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_W);
    /* Explicit accesses with EFLAGS.AC go through the third TLB. */
    g_assert_true(x86_mmu_walk_idx(f.env, 0x400000, X86_ACC_WRITE,
                                   X86_MMU_KERNEL_AC, &w));
    /* Fetches are SMEP's business; user accesses are unaffected. */
    g_assert_true(x86_mmu_walk(f.env, 0x400000, X86_ACC_EXEC, false, &w));
    g_assert_true(x86_mmu_walk(f.env, 0x400000, X86_ACC_READ, true, &w));
    g_assert_true(x86_mmu_walk(f.env, 0x401000, X86_ACC_READ, false, &w));
    fixture_free(&f);
}

/* SDM 4.6.2: PKRU's AD and WD bits for the leaf's key; PKRS likewise. */
static void test_protection_keys(void)
{
    Fixture f;
    X86Walk w;

    fixture_init(&f);
    setup_long_keys(&f);
    f.env->pkru = 1u << (2 * 5);                        /* AD5 */
    g_assert_true(x86_mmu_walk(f.env, 0x400000, X86_ACC_READ, true, &w));
    f.env->cr[4] |= CR4_PKE;
    g_assert_false(x86_mmu_walk(f.env, 0x400000, X86_ACC_READ, true, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_U | PFERR_PK);
    g_assert_cmpuint(w.pkey, ==, 5);
    g_assert_false(x86_mmu_walk(f.env, 0x400000, X86_ACC_READ, false, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_PK);
    g_assert_true(x86_mmu_walk(f.env, 0x400000, X86_ACC_EXEC, true, &w));
    g_assert_true(x86_mmu_walk(f.env, 0x401000, X86_ACC_READ, false, &w));

    f.env->pkru = 2u << (2 * 5);                        /* WD5 */
    g_assert_true(x86_mmu_walk(f.env, 0x400000, X86_ACC_READ, true, &w));
    g_assert_false(x86_mmu_walk(f.env, 0x400000, X86_ACC_WRITE, true, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_W | PFERR_U | PFERR_PK);
    g_assert_false(x86_mmu_walk(f.env, 0x400000, X86_ACC_WRITE, false, &w));
    f.env->cr[0] &= ~(uint64_t)CR0_WP;
    g_assert_true(x86_mmu_walk(f.env, 0x400000, X86_ACC_WRITE, false, &w));

    /* PKS: IA32_PKRS for supervisor pages. */
    f.env->cr[0] |= CR0_WP;
    f.env->pkru = 0;
    f.env->pkrs = 1u << (2 * 5);                        /* AD5 */
    g_assert_true(x86_mmu_walk(f.env, 0x401000, X86_ACC_READ, false, &w));
    f.env->cr[4] |= CR4_PKS;
    g_assert_false(x86_mmu_walk(f.env, 0x401000, X86_ACC_READ, false, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_PK);
    g_assert_true(x86_mmu_walk(f.env, 0x400000, X86_ACC_WRITE, false, &w));
    /* A user access to a supervisor page: no PK, U/S denies it first. */
    g_assert_false(x86_mmu_walk(f.env, 0x401000, X86_ACC_READ, true, &w));
    g_assert_cmphex(w.error, ==, PFERR_P | PFERR_U);
    fixture_free(&f);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/x86/mmu/legacy-walk", test_legacy_walk);
    g_test_add_func("/x86/mmu/legacy-rights", test_legacy_rights);
    g_test_add_func("/x86/mmu/pae", test_pae);
    g_test_add_func("/x86/mmu/long", test_long);
    g_test_add_func("/x86/mmu/translate-tlb", test_translate_and_tlb);
    g_test_add_func("/x86/mmu/large-page-reuse", test_large_page_reuse);
    g_test_add_func("/x86/mmu/global-pages", test_global_pages);
    g_test_add_func("/x86/mmu/global-slot-reused", test_global_slot_reused);
    g_test_add_func("/x86/mmu/smap", test_smap);
    g_test_add_func("/x86/mmu/protection-keys", test_protection_keys);
    return g_test_run();
}
