/*
 * Unit tests for system/memory.c: flattening, dispatch, DMA, listeners.
 */
#include "qlite/memory.h"

#define TOP_HALF (UINT64_C(1) << 63)

/* ---- a recording test device ------------------------------------------ */

typedef struct TestAccess {
    bool write;
    uint64_t addr;
    unsigned size;
    uint64_t val;
} TestAccess;

typedef struct TestDev {
    uint8_t regs[64];
    TestAccess log[64];
    unsigned nlog;
} TestDev;

static void testdev_record(TestDev *d, bool write, uint64_t addr,
                           unsigned size, uint64_t val)
{
    g_assert_cmpuint(d->nlog, <, G_N_ELEMENTS(d->log));
    d->log[d->nlog++] = (TestAccess){ write, addr, size, val };
}

static uint64_t testdev_read(void *opaque, uint64_t addr, unsigned size)
{
    TestDev *d = opaque;
    uint64_t val = 0;

    for (unsigned i = 0; i < size; i++) {
        val |= (uint64_t)d->regs[(addr + i) % sizeof(d->regs)] << (8 * i);
    }
    testdev_record(d, false, addr, size, val);
    return val;
}

static void testdev_write(void *opaque, uint64_t addr, uint64_t val,
                          unsigned size)
{
    TestDev *d = opaque;

    for (unsigned i = 0; i < size; i++) {
        d->regs[(addr + i) % sizeof(d->regs)] = (uint8_t)(val >> (8 * i));
    }
    testdev_record(d, true, addr, size, val);
}

static void testdev_fill(TestDev *d)
{
    memset(d, 0, sizeof(*d));
    for (unsigned i = 0; i < sizeof(d->regs); i++) {
        d->regs[i] = (uint8_t)(0x10 + i);
    }
}

static void testdev_check(TestDev *d, unsigned i, bool write, uint64_t addr,
                          unsigned size, uint64_t val)
{
    g_assert_cmpuint(i, <, d->nlog);
    g_assert_cmpint(d->log[i].write, ==, write);
    g_assert_cmphex(d->log[i].addr, ==, addr);
    g_assert_cmpuint(d->log[i].size, ==, size);
    g_assert_cmphex(d->log[i].val, ==, val);
}

static const MemoryRegionOps ops_wide = {
    .read = testdev_read, .write = testdev_write,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
};

static const MemoryRegionOps ops_default = {
    .read = testdev_read, .write = testdev_write,
};

static const MemoryRegionOps ops_impl_byte = {
    .read = testdev_read, .write = testdev_write,
    .valid = { .min_access_size = 1, .max_access_size = 8 },
    .impl = { .min_access_size = 1, .max_access_size = 1 },
};

static const MemoryRegionOps ops_impl_dword = {
    .read = testdev_read, .write = testdev_write,
    .valid = { .min_access_size = 1, .max_access_size = 4 },
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

static const MemoryRegionOps ops_valid_word = {
    .read = testdev_read, .write = testdev_write,
    .valid = { .min_access_size = 2, .max_access_size = 2 },
};

static const MemoryRegionOps ops_unaligned = {
    .read = testdev_read, .write = testdev_write,
    .valid = { .min_access_size = 1, .max_access_size = 4,
               .unaligned = true },
    .impl = { .min_access_size = 4, .max_access_size = 4 },
};

/* ---- fixtures ---------------------------------------------------------- */

typedef struct Space {
    MemoryRegion root;
    AddressSpace as;
} Space;

static void space_init(Space *s, uint64_t size)
{
    memory_region_init_container(&s->root, "root", size);
    address_space_init(&s->as, &s->root, "test");
}

static void space_destroy(Space *s)
{
    address_space_destroy(&s->as);
    memory_region_destroy(&s->root);
}

static void ram_init(MemoryRegion *mr, const char *name, uint64_t size)
{
    GError *err = NULL;

    g_assert_true(memory_region_init_ram(mr, name, size, &err));
    g_assert_no_error(err);
}

/* Fill RAM with a recognisable pattern: byte i is (i + seed). */
static void ram_pattern(MemoryRegion *mr, uint8_t seed)
{
    uint8_t *p = memory_region_get_ram_ptr(mr);

    for (uint64_t i = 0; i < mr->size; i++) {
        p[i] = (uint8_t)(i + seed);
    }
}

typedef struct ExpRange {
    uint64_t start, size;
    MemoryRegion *mr;
    uint64_t offset;
    bool readonly;
} ExpRange;

static void check_view(FlatView *v, const ExpRange *exp, unsigned n)
{
    for (unsigned i = 0; i < MIN(n, v->nr); i++) {
        const FlatRange *fr = &v->ranges[i];

        if (fr->start != exp[i].start || fr->size != exp[i].size ||
            fr->mr != exp[i].mr || fr->offset != exp[i].offset ||
            fr->readonly != exp[i].readonly) {
            g_error("range %u: got %" PRIx64 "+%" PRIx64 " %s@%" PRIx64
                    " ro=%d, want %" PRIx64 "+%" PRIx64 " %s@%" PRIx64
                    " ro=%d", i, fr->start, fr->size, fr->mr->name,
                    fr->offset, fr->readonly, exp[i].start, exp[i].size,
                    exp[i].mr->name, exp[i].offset, exp[i].readonly);
        }
    }
    g_assert_cmpuint(v->nr, ==, n);
}

#define CHECK_VIEW(as, ...)                                         \
    do {                                                            \
        const ExpRange exp_[] = { __VA_ARGS__ };                    \
        check_view((as)->view, exp_, G_N_ELEMENTS(exp_));           \
    } while (0)

static uint64_t ld(AddressSpace *as, uint64_t addr, unsigned size)
{
    uint64_t v;

    g_assert_cmpint(address_space_ld(as, addr, size, &v), ==, MEMTX_OK);
    return v;
}

static void st(AddressSpace *as, uint64_t addr, unsigned size, uint64_t v)
{
    g_assert_cmpint(address_space_st(as, addr, size, v), ==, MEMTX_OK);
}

/* ---- flattening -------------------------------------------------------- */

static void test_flat_basic(void)
{
    Space s;
    MemoryRegion ram;
    const FlatRange *fr;

    space_init(&s, 0x10000);
    g_assert_cmpuint(s.as.view->nr, ==, 0);
    ram_init(&ram, "ram", 0x1000);
    memory_region_add_subregion(&s.root, 0x1000, &ram);
    CHECK_VIEW(&s.as, { 0x1000, 0x1000, &ram, 0, false });
    g_assert_null(address_space_lookup(&s.as, 0xfff));
    g_assert_null(address_space_lookup(&s.as, 0x2000));
    fr = address_space_lookup(&s.as, 0x1fff);
    g_assert_nonnull(fr);
    g_assert_true(fr->mr == &ram);
    g_assert_true(ram.container == &s.root);
    g_assert_cmpuint(memory_region_size(&ram), ==, 0x1000);
    /* Outside the container's 64 KiB: clipped away. */
    memory_region_set_address(&ram, 0xf800);
    CHECK_VIEW(&s.as, { 0xf800, 0x800, &ram, 0, false });
    memory_region_set_address(&ram, 0x10000);
    g_assert_cmpuint(s.as.view->nr, ==, 0);
    space_destroy(&s);
    memory_region_destroy(&ram);
}

static void test_flat_priority(void)
{
    Space s;
    MemoryRegion a, b;

    space_init(&s, 0x10000);
    ram_init(&a, "a", 0x4000);
    ram_init(&b, "b", 0x1000);
    memory_region_add_subregion_overlap(&s.root, 0, &a, 0);
    /* Higher priority wins even though it was added... */
    memory_region_add_subregion_overlap(&s.root, 0x1000, &b, 1);
    CHECK_VIEW(&s.as,
               { 0x0000, 0x1000, &a, 0x0000, false },
               { 0x1000, 0x1000, &b, 0x0000, false },
               { 0x2000, 0x2000, &a, 0x2000, false });
    /* ...and a lower priority loses even when added later. */
    memory_region_del_subregion(&s.root, &b);
    g_assert_null(b.container);
    memory_region_add_subregion_overlap(&s.root, 0x1000, &b, -1);
    CHECK_VIEW(&s.as, { 0, 0x4000, &a, 0, false });
    /* Where the winner does not reach, the loser shows through. */
    memory_region_set_address(&b, 0x3800);
    CHECK_VIEW(&s.as,
               { 0x0000, 0x4000, &a, 0x0000, false },
               { 0x4000, 0x0800, &b, 0x0800, false });
    space_destroy(&s);
    memory_region_destroy(&a);
    memory_region_destroy(&b);
}

static void test_flat_later_wins(void)
{
    Space s;
    MemoryRegion a, b;

    space_init(&s, 0x10000);
    ram_init(&a, "a", 0x2000);
    ram_init(&b, "b", 0x2000);
    memory_region_add_subregion(&s.root, 0, &a);
    memory_region_add_subregion(&s.root, 0x1000, &b);
    CHECK_VIEW(&s.as,
               { 0x0000, 0x1000, &a, 0, false },
               { 0x1000, 0x2000, &b, 0, false });
    /* Re-adding a makes it the later one. */
    memory_region_del_subregion(&s.root, &a);
    memory_region_add_subregion(&s.root, 0, &a);
    CHECK_VIEW(&s.as,
               { 0x0000, 0x2000, &a, 0x0000, false },
               { 0x2000, 0x1000, &b, 0x1000, false });
    space_destroy(&s);
    memory_region_destroy(&a);
    memory_region_destroy(&b);
}

static void test_flat_many_overlaps(void)
{
    Space s;
    MemoryRegion base, r[8];
    char name[8];

    space_init(&s, 0x10000);
    ram_init(&base, "base", 0x10000);
    memory_region_add_subregion_overlap(&s.root, 0, &base, -1);
    /* Each region at 0x1000*i of 0x1800 bytes: later ones overlap earlier. */
    for (int i = 0; i < 8; i++) {
        g_snprintf(name, sizeof(name), "r%d", i);
        ram_init(&r[i], name, 0x1800);
        memory_region_add_subregion(&s.root, 0x1000 * (uint64_t)i, &r[i]);
    }
    for (int i = 0; i < 7; i++) {
        const FlatRange *fr = address_space_lookup(&s.as, 0x1000 * i + 0xc00);

        g_assert_true(fr->mr == &r[i]);
        fr = address_space_lookup(&s.as, 0x1000 * i + 0x1400);
        g_assert_true(fr->mr == &r[i + 1]);
    }
    g_assert_true(address_space_lookup(&s.as, 0x7c00)->mr == &r[7]);
    g_assert_true(address_space_lookup(&s.as, 0x8800)->mr == &base);
    g_assert_true(address_space_lookup(&s.as, 0xffff)->mr == &base);
    g_assert_cmpuint(s.as.view->nr, ==, 9);
    /* Sorted and non-overlapping, covering everything. */
    for (unsigned i = 1; i < s.as.view->nr; i++) {
        const FlatRange *p = &s.as.view->ranges[i - 1];

        g_assert_cmphex(p->start + p->size, ==, s.as.view->ranges[i].start);
    }
    space_destroy(&s);
    memory_region_destroy(&base);
    for (int i = 0; i < 8; i++) {
        memory_region_destroy(&r[i]);
    }
}

static void test_flat_alias_offset(void)
{
    Space s;
    MemoryRegion ram, al;
    uint8_t *p;

    space_init(&s, 0x100000);
    ram_init(&ram, "ram", 0x4000);
    p = memory_region_get_ram_ptr(&ram);
    memory_region_init_alias(&al, "al", &ram, 0x1000, 0x1000);
    memory_region_add_subregion(&s.root, 0x10000, &al);
    CHECK_VIEW(&s.as, { 0x10000, 0x1000, &ram, 0x1000, false });
    st(&s.as, 0x10004, 4, 0xdeadbeef);
    g_assert_cmphex(p[0x1004], ==, 0xef);
    g_assert_cmphex(p[0x1007], ==, 0xde);
    g_assert_true(memory_region_get_ram_ptr(&al) == p + 0x1000);
    memory_region_set_alias_offset(&al, 0x3800);
    /* Clipped to the end of the aliased region. */
    CHECK_VIEW(&s.as, { 0x10000, 0x800, &ram, 0x3800, false });
    memory_region_set_alias_offset(&al, 0x4000);
    g_assert_cmpuint(s.as.view->nr, ==, 0);
    memory_region_set_alias_offset(&al, UINT64_MAX - 0x10);
    g_assert_cmpuint(s.as.view->nr, ==, 0);
    space_destroy(&s);
    memory_region_destroy(&al);
    memory_region_destroy(&ram);
}

static void test_flat_alias_container(void)
{
    Space s;
    MemoryRegion c, ram, io, al;
    TestDev dev;

    testdev_fill(&dev);
    space_init(&s, 0x100000);
    memory_region_init_container(&c, "c", 0x10000);
    ram_init(&ram, "ram", 0x1000);
    memory_region_init_io(&io, &ops_wide, &dev, "io", 0x100);
    memory_region_add_subregion(&c, 0x100, &ram);
    memory_region_add_subregion(&c, 0x2000, &io);
    /* A window onto c starting at 0x800: ram's tail and the device. */
    memory_region_init_alias(&al, "al", &c, 0x800, 0x2000);
    memory_region_add_subregion(&s.root, 0x40000, &al);
    CHECK_VIEW(&s.as,
               { 0x40000, 0x900, &ram, 0x700, false },
               { 0x41800, 0x100, &io, 0, false });
    g_assert_cmphex(ld(&s.as, 0x41804, 1), ==, 0x14);
    space_destroy(&s);
    memory_region_destroy(&al);
    memory_region_destroy(&c);
    memory_region_destroy(&ram);
    memory_region_destroy(&io);
}

static void test_flat_alias_nested(void)
{
    Space s;
    MemoryRegion ram, a1, a2, a3;

    space_init(&s, 0x100000);
    ram_init(&ram, "ram", 0x10000);
    ram_pattern(&ram, 0);
    memory_region_init_alias(&a1, "a1", &ram, 0x1000, 0x8000);
    memory_region_init_alias(&a2, "a2", &a1, 0x2000, 0x1000);
    memory_region_init_alias(&a3, "a3", &a2, 0x800, 0x10000);
    memory_region_add_subregion(&s.root, 0x20000, &a2);
    memory_region_add_subregion(&s.root, 0x30000, &a3);
    CHECK_VIEW(&s.as,
               { 0x20000, 0x1000, &ram, 0x3000, false },
               { 0x30000, 0x800, &ram, 0x3800, false });
    g_assert_cmphex(ld(&s.as, 0x30001, 1), ==, 0x01);
    g_assert_true(memory_region_get_ram_ptr(&a3) ==
                  (uint8_t *)memory_region_get_ram_ptr(&ram) + 0x3800);
    /* Disabling the aliased region hides every alias of it. */
    memory_region_set_enabled(&a1, false);
    g_assert_cmpuint(s.as.view->nr, ==, 0);
    memory_region_set_enabled(&a1, true);
    g_assert_cmpuint(s.as.view->nr, ==, 2);
    space_destroy(&s);
    memory_region_destroy(&a3);
    memory_region_destroy(&a2);
    memory_region_destroy(&a1);
    memory_region_destroy(&ram);
}

static void test_flat_alias_loop(void)
{
    Space s;
    MemoryRegion c, al;

    space_init(&s, 0x10000);
    memory_region_init_container(&c, "loop", 0x1000);
    memory_region_init_alias(&al, "self", &c, 0, 0x1000);
    memory_region_add_subregion(&c, 0, &al);
    /* A loop is our bug, not the guest's: a warning, no hang. */
    g_test_expect_message(NULL, G_LOG_LEVEL_WARNING, "*alias loop*");
    memory_region_add_subregion(&s.root, 0, &c);
    g_test_assert_expected_messages();
    g_assert_cmpuint(s.as.view->nr, ==, 0);
    memory_region_del_subregion(&s.root, &c);
    space_destroy(&s);
    memory_region_destroy(&al);
    memory_region_destroy(&c);
}

static void test_flat_disable(void)
{
    Space s;
    MemoryRegion low, high;

    space_init(&s, 0x10000);
    ram_init(&low, "low", 0x4000);
    ram_init(&high, "high", 0x1000);
    memory_region_add_subregion(&s.root, 0, &low);
    memory_region_add_subregion_overlap(&s.root, 0x1000, &high, 5);
    g_assert_true(address_space_lookup(&s.as, 0x1800)->mr == &high);
    memory_region_set_enabled(&high, false);
    CHECK_VIEW(&s.as, { 0, 0x4000, &low, 0, false });
    memory_region_set_enabled(&low, false);
    g_assert_cmpuint(s.as.view->nr, ==, 0);
    memory_region_set_enabled(&high, true);
    CHECK_VIEW(&s.as, { 0x1000, 0x1000, &high, 0, false });
    /* A disabled container hides everything in it. */
    memory_region_set_enabled(&low, true);
    memory_region_set_enabled(&s.root, false);
    g_assert_cmpuint(s.as.view->nr, ==, 0);
    memory_region_set_enabled(&s.root, true);
    g_assert_cmpuint(s.as.view->nr, ==, 3);
    space_destroy(&s);
    memory_region_destroy(&low);
    memory_region_destroy(&high);
}

static void test_flat_move(void)
{
    Space s;
    MemoryRegion a, io;
    TestDev dev;

    testdev_fill(&dev);
    space_init(&s, 0x10000);
    ram_init(&a, "a", 0x1000);
    memory_region_init_io(&io, &ops_wide, &dev, "dev", 0x10);
    memory_region_add_subregion(&s.root, 0x1000, &a);
    memory_region_add_subregion(&s.root, 0x8000, &io);
    memory_region_set_address(&io, 0x9000);
    g_assert_null(address_space_lookup(&s.as, 0x8000));
    g_assert_cmphex(ld(&s.as, 0x9001, 1), ==, 0x11);
    testdev_check(&dev, 0, false, 1, 1, 0x11);
    /* Moving on top of RAM: equal priority, but io was added later. */
    memory_region_set_address(&io, 0x1008);
    CHECK_VIEW(&s.as,
               { 0x1000, 0x8, &a, 0, false },
               { 0x1008, 0x10, &io, 0, false },
               { 0x1018, 0xfe8, &a, 0x18, false });
    space_destroy(&s);
    memory_region_destroy(&a);
    memory_region_destroy(&io);
}

static void test_flat_merge(void)
{
    Space s;
    MemoryRegion a, b, c;

    space_init(&s, 0x10000);
    ram_init(&a, "a", 0x4000);
    ram_init(&b, "b", 0x1000);
    ram_init(&c, "c", 0x1000);
    memory_region_add_subregion(&s.root, 0, &a);
    /* Two pieces of a split by a hole-filling c, then c goes away. */
    memory_region_add_subregion_overlap(&s.root, 0x1000, &c, 1);
    g_assert_cmpuint(s.as.view->nr, ==, 3);
    memory_region_del_subregion(&s.root, &c);
    CHECK_VIEW(&s.as, { 0, 0x4000, &a, 0, false });
    /* Neighbouring distinct regions stay distinct. */
    memory_region_add_subregion(&s.root, 0x4000, &b);
    CHECK_VIEW(&s.as,
               { 0x0000, 0x4000, &a, 0, false },
               { 0x4000, 0x1000, &b, 0, false });
    space_destroy(&s);
    memory_region_destroy(&a);
    memory_region_destroy(&b);
    memory_region_destroy(&c);
}

static void test_flat_top_of_space(void)
{
    Space s;
    MemoryRegion top, io, wide;
    TestDev dev;
    const FlatRange *fr;
    uint8_t buf[4];

    testdev_fill(&dev);
    space_init(&s, UINT64_MAX);     /* 2^64 bytes */
    ram_init(&top, "top", 0x2000);
    memory_region_init_io(&io, &ops_wide, &dev, "catch-all", UINT64_MAX);
    memory_region_add_subregion_overlap(&s.root, 0, &io, -1);
    /* The whole space as one region: stored as two exact halves. */
    CHECK_VIEW(&s.as,
               { 0, TOP_HALF, &io, 0, false },
               { TOP_HALF, TOP_HALF, &io, TOP_HALF, false });
    fr = address_space_lookup(&s.as, UINT64_MAX);
    g_assert_true(fr && fr->mr == &io);
    /* A region that would run past 2^64 is cut at the top. */
    memory_region_add_subregion(&s.root, UINT64_MAX - 0xfff, &top);
    CHECK_VIEW(&s.as,
               { 0, UINT64_MAX - 0xfff, &io, 0, false },
               { UINT64_MAX - 0xfff, 0x1000, &top, 0, false });
    st(&s.as, UINT64_MAX - 7, 8, 0x0102030405060708);
    g_assert_cmphex(ld(&s.as, UINT64_MAX - 7, 8), ==, 0x0102030405060708);
    g_assert_cmphex(ld(&s.as, UINT64_MAX, 1), ==, 0x01);
    /* Accesses past 2^64 wrap into nothing. */
    g_assert_cmpint(address_space_read(&s.as, UINT64_MAX - 1, buf, 4), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(buf[0], ==, 0x02);
    g_assert_cmphex(buf[1], ==, 0x01);
    g_assert_cmphex(buf[2], ==, 0xff);
    g_assert_cmphex(buf[3], ==, 0xff);
    g_assert_cmpuint(dev.nlog, ==, 0);
    /* An I/O access far up reaches the device at the right offset. */
    g_assert_cmphex(ld(&s.as, UINT64_MAX - 0x1000, 1), ==,
                    dev.regs[(UINT64_MAX - 0x1000) % 64]);
    testdev_check(&dev, 0, false, UINT64_MAX - 0x1000, 1,
                  dev.regs[(UINT64_MAX - 0x1000) % 64]);
    /* A container of 2^64 inside a 2^64 space, offset: clipped at the top. */
    memory_region_del_subregion(&s.root, &top);
    memory_region_del_subregion(&s.root, &io);
    memory_region_init_container(&wide, "wide", UINT64_MAX);
    memory_region_add_subregion(&wide, 0, &io);
    memory_region_add_subregion(&s.root, 0x1000, &wide);
    CHECK_VIEW(&s.as, { 0x1000, UINT64_MAX - 0xfff, &io, 0, false });
    space_destroy(&s);
    memory_region_destroy(&wide);
    memory_region_destroy(&top);
    memory_region_destroy(&io);
}

static void test_flat_readonly(void)
{
    Space s;
    MemoryRegion ram, c;
    uint8_t *p;

    space_init(&s, 0x10000);
    ram_init(&ram, "ram", 0x1000);
    p = memory_region_get_ram_ptr(&ram);
    memory_region_add_subregion(&s.root, 0, &ram);
    st(&s.as, 0, 4, 0x11223344);
    memory_region_set_readonly(&ram, true);
    CHECK_VIEW(&s.as, { 0, 0x1000, &ram, 0, true });
    st(&s.as, 0, 4, 0xaabbccdd);            /* ignored, not an error */
    g_assert_cmphex(ld(&s.as, 0, 4), ==, 0x11223344);
    g_assert_null(dma_map(&s.as, 0, 16, true));
    g_assert_true(dma_map(&s.as, 0, 16, false) == p);
    memory_region_set_readonly(&ram, false);
    st(&s.as, 0, 1, 0x55);
    g_assert_cmphex(p[0], ==, 0x55);
    /* Read-only on a container applies to what is inside. */
    memory_region_del_subregion(&s.root, &ram);
    memory_region_init_container(&c, "c", 0x2000);
    memory_region_add_subregion(&c, 0, &ram);
    memory_region_add_subregion(&s.root, 0x4000, &c);
    memory_region_set_readonly(&c, true);
    CHECK_VIEW(&s.as, { 0x4000, 0x1000, &ram, 0, true });
    space_destroy(&s);
    memory_region_destroy(&c);
    memory_region_destroy(&ram);
}

static void test_flat_subregion_of_ram(void)
{
    Space s;
    MemoryRegion ram, io;
    TestDev dev;

    testdev_fill(&dev);
    space_init(&s, 0x10000);
    ram_init(&ram, "ram", 0x4000);
    memory_region_init_io(&io, &ops_wide, &dev, "hole", 0x100);
    /* A device over RAM (like VGA over low memory) shadows that part. */
    memory_region_add_subregion(&ram, 0x1000, &io);
    memory_region_add_subregion(&s.root, 0x8000, &ram);
    CHECK_VIEW(&s.as,
               { 0x8000, 0x1000, &ram, 0, false },
               { 0x9000, 0x100, &io, 0, false },
               { 0x9100, 0x2f00, &ram, 0x1100, false });
    space_destroy(&s);
    memory_region_destroy(&ram);
    memory_region_destroy(&io);
}

static void test_region_destroy(void)
{
    Space s;
    MemoryRegion c, a, b;

    space_init(&s, 0x10000);
    memory_region_init_container(&c, "c", 0x8000);
    ram_init(&a, "a", 0x1000);
    ram_init(&b, "b", 0x1000);
    memory_region_add_subregion(&c, 0, &a);
    memory_region_add_subregion(&c, 0x1000, &b);
    memory_region_add_subregion(&s.root, 0, &c);
    g_assert_cmpuint(s.as.view->nr, ==, 2);
    memory_region_destroy(&b);      /* leaves the view too */
    CHECK_VIEW(&s.as, { 0, 0x1000, &a, 0, false });
    memory_region_destroy(&c);
    g_assert_null(a.container);
    g_assert_cmpuint(s.as.view->nr, ==, 0);
    memory_region_destroy(&c);      /* twice is harmless */
    space_destroy(&s);
    memory_region_destroy(&a);
}

static void test_ram_ptr_and_large(void)
{
    Space s;
    MemoryRegion user, big;
    uint8_t host[256];
    GError *err = NULL;
    uint8_t *p;

    space_init(&s, UINT64_MAX);
    memset(host, 0, sizeof(host));
    memory_region_init_ram_ptr(&user, "user", sizeof(host), host);
    memory_region_add_subregion(&s.root, 0x1000, &user);
    st(&s.as, 0x1010, 2, 0xbeef);
    g_assert_cmphex(host[0x10], ==, 0xef);
    g_assert_cmphex(host[0x11], ==, 0xbe);
    /* 8 GiB must not be committed up front (mmap with MAP_NORESERVE). */
    if (!memory_region_init_ram(&big, "big", 8 * GiB, &err)) {
        g_test_message("8 GiB reservation refused by host: %s", err->message);
        g_test_skip("host refuses an 8 GiB MAP_NORESERVE mapping");
        g_clear_error(&err);
    } else {
        p = memory_region_get_ram_ptr(&big);
        g_assert_cmphex((uintptr_t)p % 4096, ==, 0);
        memory_region_add_subregion(&s.root, 4 * GiB, &big);
        st(&s.as, 12 * GiB - 8, 8, 0x1122334455667788);
        g_assert_cmphex(p[8 * GiB - 1], ==, 0x11);
        g_assert_cmphex(ld(&s.as, 4 * GiB, 8), ==, 0);
        memory_region_destroy(&big);
    }
    /* Absurd sizes fail with an error, no crash. */
    g_assert_false(memory_region_init_ram(&big, "huge", UINT64_MAX, &err));
    g_assert_nonnull(err);
    g_assert_nonnull(strstr(err->message, "huge"));
    g_clear_error(&err);
    memory_region_destroy(&big);
    space_destroy(&s);
    memory_region_destroy(&user);
}

/* ---- accesses ---------------------------------------------------------- */

static void test_access_ram_sizes(void)
{
    Space s;
    MemoryRegion ram;
    uint8_t *p;
    uint64_t v;

    space_init(&s, 0x10000);
    ram_init(&ram, "ram", 0x100);
    p = memory_region_get_ram_ptr(&ram);
    memory_region_add_subregion(&s.root, 0x100, &ram);
    st(&s.as, 0x100, 8, 0x8877665544332211);
    for (unsigned i = 0; i < 8; i++) {
        g_assert_cmphex(p[i], ==, 0x11 * (i + 1));
    }
    g_assert_cmphex(ld(&s.as, 0x100, 1), ==, 0x11);
    g_assert_cmphex(ld(&s.as, 0x100, 2), ==, 0x2211);
    g_assert_cmphex(ld(&s.as, 0x100, 4), ==, 0x44332211);
    g_assert_cmphex(ld(&s.as, 0x100, 8), ==, 0x8877665544332211);
    /* Unaligned. */
    g_assert_cmphex(ld(&s.as, 0x103, 4), ==, 0x77665544);
    st(&s.as, 0x105, 2, 0xabcd);
    g_assert_cmphex(p[5], ==, 0xcd);
    g_assert_cmphex(p[6], ==, 0xab);
    st(&s.as, 0x101, 1, 0x1ff);     /* only the low byte */
    g_assert_cmphex(p[1], ==, 0xff);
    g_assert_cmphex(p[2], ==, 0x33);
    /* Sizes other than 1, 2, 4, 8 are refused. */
    g_assert_cmpint(address_space_ld(&s.as, 0x100, 3, &v), ==, MEMTX_ERROR);
    g_assert_cmpint(address_space_st(&s.as, 0x100, 0, 0), ==, MEMTX_ERROR);
    g_assert_cmpint(address_space_ld(&s.as, 0x100, 16, &v), ==, MEMTX_ERROR);
    space_destroy(&s);
    memory_region_destroy(&ram);
}

static void test_access_io_sizes(void)
{
    Space s;
    MemoryRegion io;
    TestDev dev;

    testdev_fill(&dev);
    space_init(&s, 0x10000);
    memory_region_init_io(&io, &ops_wide, &dev, "dev", 0x40);
    memory_region_add_subregion(&s.root, 0x1000, &io);
    g_assert_cmphex(ld(&s.as, 0x1000, 1), ==, 0x10);
    g_assert_cmphex(ld(&s.as, 0x1002, 2), ==, 0x1312);
    g_assert_cmphex(ld(&s.as, 0x1004, 4), ==, 0x17161514);
    g_assert_cmphex(ld(&s.as, 0x1008, 8), ==, 0x1f1e1d1c1b1a1918);
    st(&s.as, 0x1010, 8, 0x0123456789abcdef);
    g_assert_cmpuint(dev.nlog, ==, 5);
    testdev_check(&dev, 0, false, 0, 1, 0x10);
    testdev_check(&dev, 1, false, 2, 2, 0x1312);
    testdev_check(&dev, 2, false, 4, 4, 0x17161514);
    testdev_check(&dev, 3, false, 8, 8, 0x1f1e1d1c1b1a1918);
    testdev_check(&dev, 4, true, 0x10, 8, 0x0123456789abcdef);
    /* Values are truncated to the access size. */
    st(&s.as, 0x1020, 2, 0xffff1234);
    testdev_check(&dev, 5, true, 0x20, 2, 0x1234);
    space_destroy(&s);
    memory_region_destroy(&io);
}

static void test_access_io_split(void)
{
    Space s;
    MemoryRegion io;
    TestDev dev;

    testdev_fill(&dev);
    space_init(&s, 0x10000);
    memory_region_init_io(&io, &ops_impl_byte, &dev, "bytes", 0x40);
    memory_region_add_subregion(&s.root, 0x2000, &io);
    /* A 4-byte access to a byte-wide device: 4 accesses, little-endian. */
    g_assert_cmphex(ld(&s.as, 0x2004, 4), ==, 0x17161514);
    g_assert_cmpuint(dev.nlog, ==, 4);
    for (unsigned i = 0; i < 4; i++) {
        testdev_check(&dev, i, false, 4 + i, 1, 0x14 + i);
    }
    dev.nlog = 0;
    st(&s.as, 0x2008, 8, 0x8877665544332211);
    g_assert_cmpuint(dev.nlog, ==, 8);
    for (unsigned i = 0; i < 8; i++) {
        testdev_check(&dev, i, true, 8 + i, 1, 0x11 * (i + 1));
    }
    space_destroy(&s);
    memory_region_destroy(&io);
}

static void test_access_io_combine(void)
{
    Space s;
    MemoryRegion io;
    TestDev dev;

    testdev_fill(&dev);
    space_init(&s, 0x10000);
    memory_region_init_io(&io, &ops_impl_dword, &dev, "dwords", 0x40);
    memory_region_add_subregion(&s.root, 0x3000, &io);
    /* A 1-byte read of a dword-only device: one aligned dword read. */
    g_assert_cmphex(ld(&s.as, 0x3005, 1), ==, 0x15);
    g_assert_cmpuint(dev.nlog, ==, 1);
    testdev_check(&dev, 0, false, 4, 4, 0x17161514);
    g_assert_cmphex(ld(&s.as, 0x3006, 2), ==, 0x1716);
    testdev_check(&dev, 1, false, 4, 4, 0x17161514);
    /* A narrow write: the dword with the byte in its lane, others zero. */
    st(&s.as, 0x300a, 1, 0xab);
    testdev_check(&dev, 2, true, 8, 4, 0x00ab0000);
    /* An 8-byte access is not valid here (valid max 4). */
    g_assert_cmpuint(dev.nlog, ==, 3);
    space_destroy(&s);
    memory_region_destroy(&io);
}

static void test_access_io_invalid(void)
{
    Space s;
    MemoryRegion io, def;
    TestDev dev;
    uint64_t v;

    testdev_fill(&dev);
    space_init(&s, 0x10000);
    memory_region_init_io(&io, &ops_valid_word, &dev, "words", 0x40);
    memory_region_init_io(&def, &ops_default, &dev, "default", 0x40);
    memory_region_add_subregion(&s.root, 0x1000, &io);
    memory_region_add_subregion(&s.root, 0x2000, &def);
    g_assert_cmphex(ld(&s.as, 0x1002, 2), ==, 0x1312);
    /* Too wide, too narrow, unaligned: refused, device never called. */
    g_assert_cmpint(address_space_ld(&s.as, 0x1000, 4, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(v, ==, 0xffffffff);
    g_assert_cmpint(address_space_ld(&s.as, 0x1000, 1, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(v, ==, 0xff);
    g_assert_cmpint(address_space_ld(&s.as, 0x1001, 2, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(address_space_st(&s.as, 0x1001, 2, 0), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpuint(dev.nlog, ==, 1);
    /* Defaults: valid 1..4, so 8 is refused and 4 is fine. */
    g_assert_cmpint(address_space_ld(&s.as, 0x2000, 8, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(v, ==, UINT64_MAX);
    g_assert_cmphex(ld(&s.as, 0x2000, 4), ==, 0x13121110);
    g_assert_cmpuint(dev.nlog, ==, 2);
    space_destroy(&s);
    memory_region_destroy(&io);
    memory_region_destroy(&def);
}

static void test_access_io_unaligned(void)
{
    Space s;
    MemoryRegion io;
    TestDev dev;

    testdev_fill(&dev);
    space_init(&s, 0x10000);
    memory_region_init_io(&io, &ops_unaligned, &dev, "unal", 0x40);
    memory_region_add_subregion(&s.root, 0x1000, &io);
    /* Unaligned dword over a dword-only device: two aligned dwords. */
    g_assert_cmphex(ld(&s.as, 0x1003, 4), ==, 0x16151413);
    g_assert_cmpuint(dev.nlog, ==, 2);
    testdev_check(&dev, 0, false, 0, 4, 0x13121110);
    testdev_check(&dev, 1, false, 4, 4, 0x17161514);
    st(&s.as, 0x1006, 4, 0xaabbccdd);
    testdev_check(&dev, 2, true, 4, 4, 0xccdd0000);
    testdev_check(&dev, 3, true, 8, 4, 0x0000aabb);
    space_destroy(&s);
    memory_region_destroy(&io);
}

static void test_access_io_buffer_split(void)
{
    Space s;
    MemoryRegion io;
    TestDev dev;
    uint8_t buf[7];

    testdev_fill(&dev);
    space_init(&s, 0x10000);
    memory_region_init_io(&io, &ops_default, &dev, "dev", 0x40);
    memory_region_add_subregion(&s.root, 0x1000, &io);
    /* 7 bytes at offset 1: aligned pieces 1, 2, 4. */
    g_assert_cmpint(address_space_read(&s.as, 0x1001, buf, 7), ==, MEMTX_OK);
    for (unsigned i = 0; i < 7; i++) {
        g_assert_cmphex(buf[i], ==, 0x11 + i);
    }
    g_assert_cmpuint(dev.nlog, ==, 3);
    testdev_check(&dev, 0, false, 1, 1, 0x11);
    testdev_check(&dev, 1, false, 2, 2, 0x1312);
    testdev_check(&dev, 2, false, 4, 4, 0x17161514);
    space_destroy(&s);
    memory_region_destroy(&io);
}

static void test_access_span_ram_io(void)
{
    Space s;
    MemoryRegion ram, io;
    TestDev dev;
    uint8_t buf[8], *p;
    static const uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

    testdev_fill(&dev);
    space_init(&s, 0x10000);
    ram_init(&ram, "ram", 0x1000);
    ram_pattern(&ram, 0x80);
    p = memory_region_get_ram_ptr(&ram);
    memory_region_init_io(&io, &ops_wide, &dev, "dev", 0x40);
    memory_region_add_subregion(&s.root, 0, &ram);
    memory_region_add_subregion(&s.root, 0x1000, &io);
    g_assert_cmpint(address_space_read(&s.as, 0xffc, buf, 8), ==, MEMTX_OK);
    g_assert_cmphex(buf[0], ==, 0x7c);     /* (0xffc + 0x80) & 0xff */
    g_assert_cmphex(buf[3], ==, 0x7f);
    g_assert_cmphex(buf[4], ==, 0x10);
    g_assert_cmphex(buf[7], ==, 0x13);
    testdev_check(&dev, 0, false, 0, 4, 0x13121110);
    /* The same through one 8-byte load. */
    g_assert_cmphex(ld(&s.as, 0xffc, 8), ==, 0x131211107f7e7d7c);
    g_assert_cmpint(address_space_write(&s.as, 0xffc, data, 8), ==,
                    MEMTX_OK);
    g_assert_cmphex(p[0xffc], ==, 1);
    g_assert_cmphex(p[0xfff], ==, 4);
    testdev_check(&dev, 2, true, 0, 4, 0x08070605);
    space_destroy(&s);
    memory_region_destroy(&ram);
    memory_region_destroy(&io);
}

static void test_access_unassigned(void)
{
    Space s;
    MemoryRegion ram;
    uint8_t buf[8];
    uint64_t v;

    space_init(&s, 0x10000);
    ram_init(&ram, "ram", 0x1000);
    ram_pattern(&ram, 0);
    memory_region_add_subregion(&s.root, 0x1000, &ram);
    g_assert_cmpint(address_space_ld(&s.as, 0x100, 4, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(v, ==, 0xffffffff);
    g_assert_cmpint(address_space_ld(&s.as, 0x100, 8, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(v, ==, UINT64_MAX);
    g_assert_cmpint(address_space_st(&s.as, 0x100, 4, 0), ==,
                    MEMTX_DECODE_ERROR);
    /* Half RAM, half nothing: RAM bytes read, the rest all ones. */
    g_assert_cmpint(address_space_read(&s.as, 0xffe, buf, 8), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(buf[0], ==, 0xff);
    g_assert_cmphex(buf[1], ==, 0xff);
    g_assert_cmphex(buf[2], ==, 0x00);
    g_assert_cmphex(buf[7], ==, 0x05);
    /* Beyond the 64 KiB root as well. */
    g_assert_cmpint(address_space_ld(&s.as, 0x10000, 1, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(address_space_read(&s.as, 0, buf, 0), ==, MEMTX_OK);
    space_destroy(&s);
    memory_region_destroy(&ram);

    /* An empty 2^64 space: the hole is the whole space, no overflow. */
    space_init(&s, UINT64_MAX);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(address_space_read(&s.as, 0, buf, 8), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(buf[0], ==, 0xff);
    g_assert_cmphex(buf[7], ==, 0xff);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(address_space_read(&s.as, UINT64_MAX - 1, buf, 8), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(buf[7], ==, 0xff);
    g_assert_cmpint(address_space_write(&s.as, UINT64_MAX, buf, 8), ==,
                    MEMTX_DECODE_ERROR);
    space_destroy(&s);
}

static void test_access_rom(void)
{
    Space s;
    MemoryRegion rom;
    GError *err = NULL;
    uint8_t *p, buf[4] = { 9, 9, 9, 9 };

    space_init(&s, 0x100000);
    g_assert_true(memory_region_init_rom(&rom, "bios", 0x10000, &err));
    g_assert_no_error(err);
    p = memory_region_get_ram_ptr(&rom);
    g_assert_cmphex(p[0], ==, 0);       /* zeroed */
    memcpy(p, "\x55\xaa\x01\x02", 4);   /* the host loads it */
    memory_region_add_subregion(&s.root, 0xf0000, &rom);
    CHECK_VIEW(&s.as, { 0xf0000, 0x10000, &rom, 0, true });
    st(&s.as, 0xf0000, 4, 0);           /* ignored, no error */
    g_assert_cmpint(address_space_write(&s.as, 0xf0000, buf, 4), ==,
                    MEMTX_OK);
    g_assert_cmpint(dma_write(&s.as, 0xf0000, buf, 4), ==, MEMTX_OK);
    g_assert_cmphex(ld(&s.as, 0xf0000, 4), ==, 0x0201aa55);
    g_assert_null(dma_map(&s.as, 0xf0000, 4, true));
    g_assert_true(dma_map(&s.as, 0xf0000, 4, false) == p);
    g_assert_cmpint(memory_region_dispatch_write(&rom, 0, 4, 0), ==,
                    MEMTX_OK);
    g_assert_cmphex(p[0], ==, 0x55);
    space_destroy(&s);
    memory_region_destroy(&rom);
}

static void test_dispatch_direct(void)
{
    MemoryRegion io, ram, al, c;
    TestDev dev;
    uint64_t v;

    testdev_fill(&dev);
    memory_region_init_io(&io, &ops_impl_byte, &dev, "dev", 0x10);
    ram_init(&ram, "ram", 0x10);
    memory_region_init_alias(&al, "al", &io, 4, 8);
    memory_region_init_container(&c, "c", 0x100);
    g_assert_cmpint(memory_region_dispatch_read(&io, 2, 2, &v), ==, MEMTX_OK);
    g_assert_cmphex(v, ==, 0x1312);
    g_assert_cmpuint(dev.nlog, ==, 2);
    g_assert_cmpint(memory_region_dispatch_write(&io, 0, 4, 0xa1b2c3d4), ==,
                    MEMTX_OK);
    g_assert_cmphex(dev.regs[0], ==, 0xd4);
    g_assert_cmphex(dev.regs[3], ==, 0xa1);
    /* Past the end of the region, or straddling it. */
    g_assert_cmpint(memory_region_dispatch_read(&io, 0x10, 1, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(v, ==, 0xff);
    g_assert_cmpint(memory_region_dispatch_read(&io, 0xe, 4, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(memory_region_dispatch_read(&io, UINT64_MAX, 2, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(memory_region_dispatch_read(&io, 0, 0, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(memory_region_dispatch_read(&io, 0, 9, &v), ==,
                    MEMTX_DECODE_ERROR);
    /* Through an alias, and on RAM. */
    dev.nlog = 0;
    g_assert_cmpint(memory_region_dispatch_read(&al, 1, 1, &v), ==, MEMTX_OK);
    testdev_check(&dev, 0, false, 5, 1, 0x15);
    g_assert_cmpint(memory_region_dispatch_read(&al, 8, 1, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(memory_region_dispatch_write(&ram, 8, 8, 0x42), ==,
                    MEMTX_OK);
    g_assert_cmpint(memory_region_dispatch_read(&ram, 8, 8, &v), ==,
                    MEMTX_OK);
    g_assert_cmphex(v, ==, 0x42);
    g_assert_cmpint(memory_region_dispatch_read(&ram, 9, 8, &v), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(memory_region_dispatch_read(&c, 0, 1, &v), ==,
                    MEMTX_DECODE_ERROR);
    memory_region_destroy(&al);
    memory_region_destroy(&io);
    memory_region_destroy(&ram);
    memory_region_destroy(&c);
}

/* ---- DMA --------------------------------------------------------------- */

static void test_dma_bounds(void)
{
    Space s;
    MemoryRegion a, b, io;
    TestDev dev;
    uint8_t buf[0x20], *pa, *pb;

    testdev_fill(&dev);
    space_init(&s, UINT64_MAX);
    ram_init(&a, "a", 0x1000);
    ram_init(&b, "b", 0x1000);
    memory_region_init_io(&io, &ops_wide, &dev, "dev", 0x40);
    pa = memory_region_get_ram_ptr(&a);
    pb = memory_region_get_ram_ptr(&b);
    memory_region_add_subregion(&s.root, 0x1000, &a);
    memory_region_add_subregion(&s.root, 0x2000, &b);
    memory_region_add_subregion(&s.root, 0x3000, &io);
    memset(buf, 0x5a, sizeof(buf));
    /* Across two adjacent RAM regions: fine. */
    g_assert_cmpint(dma_write(&s.as, 0x1ff0, buf, 0x20), ==, MEMTX_OK);
    g_assert_cmphex(pa[0xff0], ==, 0x5a);
    g_assert_cmphex(pb[0xf], ==, 0x5a);
    memset(buf, 0, sizeof(buf));
    g_assert_cmpint(dma_read(&s.as, 0x1ff0, buf, 0x20), ==, MEMTX_OK);
    g_assert_cmphex(buf[0x1f], ==, 0x5a);
    /* Touching unassigned space: fails and writes nothing at all. */
    memset(buf, 0xa5, sizeof(buf));
    g_assert_cmpint(dma_write(&s.as, 0xff0, buf, 0x20), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmphex(pa[0], ==, 0);
    g_assert_cmpint(dma_write(&s.as, 0x3030, buf, 0x20), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpuint(dev.nlog, ==, 0);
    g_assert_cmpint(dma_read(&s.as, 0xff0, buf, 0x20), ==,
                    MEMTX_DECODE_ERROR);
    /* Wrapping past 2^64 and absurd lengths. */
    g_assert_cmpint(dma_write(&s.as, UINT64_MAX - 3, buf, 8), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(dma_read(&s.as, 0x1000, buf, UINT64_MAX), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(dma_write(&s.as, 0x1000, buf, UINT64_MAX), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_cmpint(dma_write(&s.as, UINT64_MAX, buf, 0), ==, MEMTX_OK);
    g_assert_cmphex(pa[0], ==, 0);
    /* DMA into a device register is allowed and dispatched. */
    g_assert_cmpint(dma_write(&s.as, 0x3000, buf, 4), ==, MEMTX_OK);
    testdev_check(&dev, 0, true, 0, 4, 0xa5a5a5a5);
    space_destroy(&s);
    memory_region_destroy(&a);
    memory_region_destroy(&b);
    memory_region_destroy(&io);
}

static void test_dma_top_of_space(void)
{
    Space s;
    MemoryRegion top;
    uint8_t buf[0x10] = { 0 };

    space_init(&s, UINT64_MAX);
    ram_init(&top, "top", 0x1000);
    memory_region_add_subregion(&s.root, UINT64_MAX - 0xfff, &top);
    /* Ending exactly at 2^64 is fine; one byte more is not. */
    g_assert_cmpint(dma_write(&s.as, UINT64_MAX - 0xf, buf, 0x10), ==,
                    MEMTX_OK);
    g_assert_cmpint(dma_read(&s.as, UINT64_MAX - 0xe, buf, 0x10), ==,
                    MEMTX_DECODE_ERROR);
    g_assert_nonnull(dma_map(&s.as, UINT64_MAX - 0xfff, 0x1000, true));
    g_assert_null(dma_map(&s.as, UINT64_MAX - 0xfff, 0x1001, true));
    g_assert_null(dma_map(&s.as, UINT64_MAX, 2, false));
    space_destroy(&s);
    memory_region_destroy(&top);
}

static void test_dma_map(void)
{
    Space s;
    MemoryRegion a, b, io, al;
    TestDev dev;
    uint8_t *pa;

    testdev_fill(&dev);
    space_init(&s, 0x100000);
    ram_init(&a, "a", 0x1000);
    ram_init(&b, "b", 0x1000);
    memory_region_init_io(&io, &ops_wide, &dev, "dev", 0x40);
    memory_region_init_alias(&al, "al", &a, 0x800, 0x800);
    pa = memory_region_get_ram_ptr(&a);
    memory_region_add_subregion(&s.root, 0x1000, &a);
    memory_region_add_subregion(&s.root, 0x2000, &b);
    memory_region_add_subregion(&s.root, 0x3000, &io);
    memory_region_add_subregion(&s.root, 0x8000, &al);
    g_assert_true(dma_map(&s.as, 0x1000, 0x1000, true) == pa);
    g_assert_true(dma_map(&s.as, 0x1100, 0x10, false) == pa + 0x100);
    g_assert_true(dma_map(&s.as, 0x8010, 0x10, true) == pa + 0x810);
    /* Not one RAM range: across regions, on I/O, unassigned, past end. */
    g_assert_null(dma_map(&s.as, 0x1ff0, 0x20, true));
    g_assert_null(dma_map(&s.as, 0x3000, 4, false));
    g_assert_null(dma_map(&s.as, 0x5000, 4, false));
    g_assert_null(dma_map(&s.as, 0x8000, 0x801, false));
    g_assert_null(dma_map(&s.as, 0x1000, 0, false));
    g_assert_null(dma_map(&s.as, 0x1000, UINT64_MAX, false));
    g_assert_null(dma_map(&s.as, UINT64_MAX, UINT64_MAX, false));
    space_destroy(&s);
    memory_region_destroy(&al);
    memory_region_destroy(&a);
    memory_region_destroy(&b);
    memory_region_destroy(&io);
}

/* ---- transactions, listeners, views ------------------------------------ */

typedef struct ListenState {
    unsigned calls;
    unsigned last_nr;
    FlatView *last_view;
    AddressSpace *last_as;
} ListenState;

static void listen_fn(AddressSpace *as, FlatView *view, void *opaque)
{
    ListenState *ls = opaque;

    ls->calls++;
    ls->last_nr = view->nr;
    ls->last_view = view;
    ls->last_as = as;
    g_assert_true(as->view == view);
}

static void test_listener_commit(void)
{
    Space s;
    MemoryRegion a, b;
    ListenState ls = { 0 }, ls2 = { 0 };

    space_init(&s, 0x10000);
    ram_init(&a, "a", 0x1000);
    ram_init(&b, "b", 0x1000);
    address_space_add_listener(&s.as, listen_fn, &ls);
    address_space_add_listener(&s.as, listen_fn, &ls2);
    g_assert_cmpuint(ls.calls, ==, 0);
    memory_region_add_subregion(&s.root, 0, &a);
    g_assert_cmpuint(ls.calls, ==, 1);
    g_assert_cmpuint(ls.last_nr, ==, 1);
    g_assert_true(ls.last_as == &s.as);
    /* Nested transaction: one re-flatten, at the outermost commit. */
    memory_region_transaction_begin();
    memory_region_add_subregion(&s.root, 0x4000, &b);
    memory_region_transaction_begin();
    memory_region_set_address(&a, 0x8000);
    memory_region_transaction_commit();
    g_assert_cmpuint(ls.calls, ==, 1);
    g_assert_null(address_space_lookup(&s.as, 0x4000));  /* not yet */
    g_assert_nonnull(address_space_lookup(&s.as, 0));
    memory_region_transaction_commit();
    g_assert_cmpuint(ls.calls, ==, 2);
    g_assert_cmpuint(ls.last_nr, ==, 2);
    g_assert_true(ls.last_view == s.as.view);
    g_assert_null(address_space_lookup(&s.as, 0));
    g_assert_true(address_space_lookup(&s.as, 0x8000)->mr == &a);
    /* A transaction without changes does not re-flatten. */
    memory_region_transaction_begin();
    memory_region_transaction_commit();
    memory_region_set_address(&a, 0x8000);     /* no change either */
    g_assert_cmpuint(ls.calls, ==, 2);
    address_space_remove_listener(&s.as, listen_fn, &ls);
    memory_region_set_enabled(&b, false);
    g_assert_cmpuint(ls.calls, ==, 2);
    g_assert_cmpuint(ls2.calls, ==, 3);
    g_assert_cmpuint(ls2.last_nr, ==, 1);
    space_destroy(&s);
    memory_region_destroy(&a);
    memory_region_destroy(&b);
}

typedef struct Mover {
    MemoryRegion *mr;
    unsigned calls;
} Mover;

/* A listener that itself changes the topology once. */
static void mover_fn(AddressSpace *as, FlatView *view, void *opaque)
{
    Mover *m = opaque;

    if (m->calls++ == 0) {
        memory_region_set_address(m->mr, 0x2000);
    }
}

static void test_listener_reentrant(void)
{
    Space s;
    MemoryRegion a;
    Mover m = { &a, 0 };

    space_init(&s, 0x10000);
    ram_init(&a, "a", 0x1000);
    address_space_add_listener(&s.as, mover_fn, &m);
    memory_region_add_subregion(&s.root, 0, &a);
    g_assert_cmpuint(m.calls, ==, 2);
    CHECK_VIEW(&s.as, { 0x2000, 0x1000, &a, 0, false });
    space_destroy(&s);
    memory_region_destroy(&a);
}

static void test_flatview_ref(void)
{
    Space s;
    MemoryRegion a;
    FlatView *old;

    space_init(&s, 0x10000);
    ram_init(&a, "a", 0x1000);
    memory_region_add_subregion(&s.root, 0, &a);
    old = address_space_get_flatview(&s.as);
    g_assert_true(old == s.as.view);
    g_assert_cmpuint(old->ref, ==, 2);
    memory_region_set_address(&a, 0x4000);
    /* The reader's view survives the change and still shows the old map. */
    g_assert_true(old != s.as.view);
    g_assert_cmpuint(old->ref, ==, 1);
    g_assert_true(flatview_lookup(old, 0)->mr == &a);
    g_assert_null(flatview_lookup(old, 0x4000));
    g_assert_null(address_space_lookup(&s.as, 0));
    g_assert_true(address_space_lookup(&s.as, 0x4000)->mr == &a);
    g_assert_cmpuint(s.as.view->ref, ==, 1);
    flatview_unref(old);
    space_destroy(&s);
    memory_region_destroy(&a);
}

/* What the translator keeps across a new map (tcg_mem_sync()). */
static void test_flatview_same_backing(void)
{
    Space s;
    MemoryRegion ram, ram2, al, io;
    TestDev dev;
    FlatView *v0, *v1, *v2;

    testdev_fill(&dev);
    space_init(&s, 0x100000);
    ram_init(&ram, "ram", 0x10000);
    ram_init(&ram2, "ram2", 0x10000);
    memory_region_add_subregion(&s.root, 0, &ram);
    memory_region_init_io(&io, &ops_wide, &dev, "bar", 0x1000);
    memory_region_add_subregion(&s.root, 0x20000, &io);
    v0 = address_space_get_flatview(&s.as);
    g_assert_true(flatview_same_backing(v0, v0, 0, 0x100000));

    /* A BAR moves: the RAM and the holes stay alike, its pages do not. */
    memory_region_set_address(&io, 0x30000);
    v1 = address_space_get_flatview(&s.as);
    g_assert_true(flatview_same_backing(v0, v1, 0, 0x10000));
    g_assert_true(flatview_same_backing(v0, v1, 0x10000, 0x10000));
    g_assert_false(flatview_same_backing(v0, v1, 0x20000, 0x1000));
    g_assert_false(flatview_same_backing(v0, v1, 0x30000, 0x1000));
    g_assert_false(flatview_same_backing(v0, v1, 0, 0x100000));
    g_assert_true(flatview_same_backing(v0, v1, 0xfffff, 1));

    /* RAM aliased over RAM: alike only at the offset it had. */
    memory_region_init_alias(&al, "al", &ram, 0x4000, 0x1000);
    memory_region_add_subregion_overlap(&s.root, 0x4000, &al, 1);
    g_assert_true(flatview_same_backing(v1, s.as.view, 0, 0x10000));
    memory_region_set_alias_offset(&al, 0x1000);
    g_assert_false(flatview_same_backing(v1, s.as.view, 0x4000, 0x1000));
    /* Only the bytes in [addr, addr + size) count. */
    g_assert_true(flatview_same_backing(v1, s.as.view, 0x3000, 0x1000));
    g_assert_true(flatview_same_backing(v1, s.as.view, 0x5000, 0xb000));
    g_assert_false(flatview_same_backing(v1, s.as.view, 0x3fff, 2));

    /* I/O over part of a page makes the page differ. */
    memory_region_del_subregion(&s.root, &al);
    memory_region_set_address(&io, 0x8800);
    v2 = address_space_get_flatview(&s.as);
    g_assert_false(flatview_same_backing(v0, v2, 0x8000, 0x1000));
    g_assert_true(flatview_same_backing(v0, v2, 0x7000, 0x1000));

    /* Another RAM in its place, at the same offset: other bytes. */
    memory_region_set_enabled(&ram, false);
    memory_region_add_subregion(&s.root, 0, &ram2);
    g_assert_false(flatview_same_backing(v0, s.as.view, 0x7000, 0x1000));

    /* RAM disabled: nothing where it was. */
    memory_region_del_subregion(&s.root, &ram2);
    g_assert_false(flatview_same_backing(v0, s.as.view, 0, 0x1000));
    flatview_unref(v0);
    flatview_unref(v1);
    flatview_unref(v2);
    space_destroy(&s);
    memory_region_destroy(&al);
    memory_region_destroy(&io);
    memory_region_destroy(&ram2);
    memory_region_destroy(&ram);
}

/* ---- system spaces and info mtree -------------------------------------- */

static void test_system_and_mtree(void)
{
    MemoryRegion ram, below, bios, hole, serial;
    TestDev dev;
    g_autoptr(GString) out = g_string_new(NULL);
    GError *err = NULL;
    static const char expect[] =
        "address-space: memory\n"
        "  0000000000000000-ffffffffffffffff (prio 0, i/o): system\n"
        "    0000000000000000-000000000009ffff (prio 0, ram): "
        "alias ram-below-1m @pc.ram 0000000000000000-000000000009ffff\n"
        "    00000000000a0000-00000000000bffff (prio 1, i/o): "
        "vga-hole [disabled]\n"
        "    00000000fffe0000-00000000ffffffff (prio 0, rom): pc.bios\n"
        "\n"
        "address-space: I/O\n"
        "  0000000000000000-000000000000ffff (prio 0, i/o): io\n"
        "    00000000000003f8-00000000000003ff (prio 0, i/o): serial\n"
        "\n"
        "memory-region: pc.ram\n"
        "  0000000000000000-0000000000ffffff (prio 0, ram): pc.ram\n"
        "\n";

    testdev_fill(&dev);
    memory_system_init();
    memory_system_init();       /* once only */
    g_assert_cmpstr(get_system_memory()->name, ==, "system");
    g_assert_cmpuint(memory_region_size(get_system_memory()), ==, UINT64_MAX);
    g_assert_cmpstr(get_system_io()->name, ==, "io");
    g_assert_cmpuint(memory_region_size(get_system_io()), ==, 64 * KiB);
    g_assert_true(address_space_memory.root == get_system_memory());
    g_assert_true(address_space_io.root == get_system_io());

    ram_init(&ram, "pc.ram", 16 * MiB);
    memory_region_init_alias(&below, "ram-below-1m", &ram, 0, 0xa0000);
    g_assert_true(memory_region_init_rom(&bios, "pc.bios", 128 * KiB, &err));
    memory_region_init_io(&hole, &ops_wide, &dev, "vga-hole", 128 * KiB);
    memory_region_init_io(&serial, &ops_default, &dev, "serial", 8);
    memory_region_transaction_begin();
    memory_region_add_subregion(get_system_memory(), 0xfffe0000, &bios);
    memory_region_add_subregion(get_system_memory(), 0, &below);
    memory_region_add_subregion_overlap(get_system_memory(), 0xa0000, &hole,
                                        1);
    memory_region_set_enabled(&hole, false);
    memory_region_add_subregion(get_system_io(), 0x3f8, &serial);
    memory_region_transaction_commit();

    memory_print_mtree(out);
    g_assert_cmpstr(out->str, ==, expect);
    /* Port I/O goes through the I/O space like memory does. */
    g_assert_cmphex(ld(&address_space_io, 0x3f9, 1), ==, 0x11);
    g_assert_cmphex(ld(&address_space_memory, 0x9fffc, 4), ==, 0);

    memory_region_transaction_begin();
    memory_region_del_subregion(get_system_memory(), &bios);
    memory_region_del_subregion(get_system_memory(), &below);
    memory_region_del_subregion(get_system_memory(), &hole);
    memory_region_del_subregion(get_system_io(), &serial);
    memory_region_transaction_commit();
    g_assert_cmpuint(address_space_memory.view->nr, ==, 0);
    memory_region_destroy(&below);
    memory_region_destroy(&ram);
    memory_region_destroy(&bios);
    memory_region_destroy(&hole);
    memory_region_destroy(&serial);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/memory/flat/basic", test_flat_basic);
    g_test_add_func("/memory/flat/priority", test_flat_priority);
    g_test_add_func("/memory/flat/later-wins", test_flat_later_wins);
    g_test_add_func("/memory/flat/many-overlaps", test_flat_many_overlaps);
    g_test_add_func("/memory/flat/alias-offset", test_flat_alias_offset);
    g_test_add_func("/memory/flat/alias-container",
                    test_flat_alias_container);
    g_test_add_func("/memory/flat/alias-nested", test_flat_alias_nested);
    g_test_add_func("/memory/flat/alias-loop", test_flat_alias_loop);
    g_test_add_func("/memory/flat/disable", test_flat_disable);
    g_test_add_func("/memory/flat/move", test_flat_move);
    g_test_add_func("/memory/flat/merge", test_flat_merge);
    g_test_add_func("/memory/flat/top-of-space", test_flat_top_of_space);
    g_test_add_func("/memory/flat/readonly", test_flat_readonly);
    g_test_add_func("/memory/flat/subregion-of-ram",
                    test_flat_subregion_of_ram);
    g_test_add_func("/memory/region/destroy", test_region_destroy);
    g_test_add_func("/memory/region/ram-ptr-and-large",
                    test_ram_ptr_and_large);
    g_test_add_func("/memory/access/ram-sizes", test_access_ram_sizes);
    g_test_add_func("/memory/access/io-sizes", test_access_io_sizes);
    g_test_add_func("/memory/access/io-split", test_access_io_split);
    g_test_add_func("/memory/access/io-combine", test_access_io_combine);
    g_test_add_func("/memory/access/io-invalid", test_access_io_invalid);
    g_test_add_func("/memory/access/io-unaligned", test_access_io_unaligned);
    g_test_add_func("/memory/access/io-buffer-split",
                    test_access_io_buffer_split);
    g_test_add_func("/memory/access/span-ram-io", test_access_span_ram_io);
    g_test_add_func("/memory/access/unassigned", test_access_unassigned);
    g_test_add_func("/memory/access/rom", test_access_rom);
    g_test_add_func("/memory/access/dispatch", test_dispatch_direct);
    g_test_add_func("/memory/dma/bounds", test_dma_bounds);
    g_test_add_func("/memory/dma/top-of-space", test_dma_top_of_space);
    g_test_add_func("/memory/dma/map", test_dma_map);
    g_test_add_func("/memory/listener/commit", test_listener_commit);
    g_test_add_func("/memory/listener/reentrant", test_listener_reentrant);
    g_test_add_func("/memory/flatview/ref", test_flatview_ref);
    g_test_add_func("/memory/flatview/same-backing",
                    test_flatview_same_backing);
    g_test_add_func("/memory/system/mtree", test_system_and_mtree);
    return g_test_run();
}
