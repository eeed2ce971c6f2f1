/*
 * The KVM binary statistics reader (accel/kvm/kvm-stats.c) on files laid
 * out as Documentation/virt/kvm/api.rst "KVM_GET_STATS_FD" describes: a
 * header, an id string, descriptors with their names, then the data.  No
 * /dev/kvm needed: the reader only preads its file descriptor.
 */
#include "qlite/osdep.h"
#include "accel/kvm/kvm-internal.h"

#include <unistd.h>

#define NAME_SIZE   48
#define DESC_OFF    0x40
#define STRIDE      (sizeof(struct kvm_stats_desc) + NAME_SIZE)

typedef struct FakeDesc {
    const char *name;
    uint32_t flags;
    int16_t exponent;
    uint16_t size;
    uint32_t offset;
    uint32_t bucket_size;
} FakeDesc;

/* A stats file with @descs and @data (at data_offset); its fd. */
static int fake_stats_file(const FakeDesc *descs, uint32_t n,
                           const uint64_t *data, size_t ndata)
{
    uint32_t data_off = DESC_OFF + n * STRIDE;
    g_autofree uint8_t *buf = g_malloc0(data_off + ndata * 8);
    struct kvm_stats_header h = {
        .name_size = NAME_SIZE, .num_desc = n, .id_offset = 0x18,
        .desc_offset = DESC_OFF, .data_offset = data_off,
    };
    char tmpl[] = "/tmp/test-kvm-stats-XXXXXX";
    int fd = mkstemp(tmpl);

    g_assert_cmpint(fd, >=, 0);
    unlink(tmpl);
    memcpy(buf, &h, sizeof(h));
    strcpy((char *)buf + h.id_offset, "kvm-1234");
    for (uint32_t i = 0; i < n; i++) {
        struct kvm_stats_desc d = {
            .flags = descs[i].flags, .exponent = descs[i].exponent,
            .size = descs[i].size, .offset = descs[i].offset,
            .bucket_size = descs[i].bucket_size,
        };
        uint8_t *e = buf + DESC_OFF + i * STRIDE;

        memcpy(e, &d, sizeof(d));
        strncpy((char *)e + sizeof(d), descs[i].name, NAME_SIZE);
    }
    memcpy(buf + data_off, data, ndata * 8);
    g_assert_cmpint(write(fd, buf, data_off + ndata * 8), ==,
                    data_off + ndata * 8);
    return fd;
}

static const FakeDesc descs[] = {
    { "exits", KVM_STATS_TYPE_CUMULATIVE, 0, 1, 0, 0 },
    { "halt_wait_ns", KVM_STATS_TYPE_CUMULATIVE | KVM_STATS_UNIT_SECONDS |
      KVM_STATS_BASE_POW10, -9, 1, 8, 0 },
    { "blocking", KVM_STATS_TYPE_INSTANT | KVM_STATS_UNIT_BOOLEAN, 0, 1,
      16, 0 },
    /* A type from a newer kernel: left out. */
    { "future", 0xf, 0, 1, 24, 0 },
    { "hist", KVM_STATS_TYPE_LINEAR_HIST | KVM_STATS_UNIT_BYTES |
      KVM_STATS_BASE_POW2, 10, 3, 32, 64 },
    /* A name of exactly NAME_SIZE bytes: cut to end in NUL. */
    { "a_name_that_fills_all_of_its_forty_eight_bytes__",
      KVM_STATS_TYPE_PEAK, 0, 1, 56, 0 },
};

static const uint64_t data[] = { 7, 1000, 1, 99, 10, 20, 30, 5 };

static void test_schema_and_values(void)
{
    int fd = fake_stats_file(descs, G_N_ELEMENTS(descs), data,
                             G_N_ELEMENTS(data));
    KVMStatsSchema s;
    g_autoptr(GError) err = NULL;
    uint64_t values[8];

    g_assert_true(kvm_stats_schema_load(fd, &s, &err));
    g_assert_cmpuint(s.n, ==, 5);
    g_assert_cmpstr(s.desc[0].name, ==, "exits");
    g_assert_cmpint(s.desc[0].exponent, ==, 0);
    g_assert_cmpint(s.desc[0].base, ==, 0);
    g_assert_cmpstr(s.desc[1].name, ==, "halt_wait_ns");
    g_assert_cmpint(s.desc[1].unit, ==, STATS_UNIT_SECONDS);
    g_assert_cmpint(s.desc[1].base, ==, 10);
    g_assert_cmpint(s.desc[1].exponent, ==, -9);
    g_assert_cmpint(s.desc[2].unit, ==, STATS_UNIT_BOOLEAN);
    g_assert_cmpint(s.desc[2].type, ==, STATS_TYPE_INSTANT);
    g_assert_cmpstr(s.desc[3].name, ==, "hist");
    g_assert_cmpint(s.desc[3].type, ==, STATS_TYPE_LINEAR_HISTOGRAM);
    g_assert_cmpint(s.desc[3].base, ==, 2);
    g_assert_cmpuint(s.desc[3].bucket_size, ==, 64);
    g_assert_cmpuint(s.desc[3].size, ==, 3);
    g_assert_cmpuint(strlen(s.desc[4].name), ==, NAME_SIZE - 1);
    g_assert_cmpint(s.desc[4].type, ==, STATS_TYPE_PEAK);
    g_assert_cmpuint(stats_values_count(s.desc, s.n), ==, 7);

    g_assert_true(kvm_stats_read_fd(fd, &s, values));
    g_assert_cmpuint(values[0], ==, 7);
    g_assert_cmpuint(values[1], ==, 1000);
    g_assert_cmpuint(values[2], ==, 1);
    g_assert_cmpuint(values[3], ==, 10);    /* "future" (99) skipped */
    g_assert_cmpuint(values[4], ==, 20);
    g_assert_cmpuint(values[5], ==, 30);
    g_assert_cmpuint(values[6], ==, 5);
    kvm_stats_schema_clear(&s);
    close(fd);
}

static void test_implausible_header(void)
{
    struct kvm_stats_header h = {
        .name_size = NAME_SIZE, .num_desc = 1u << 30,
        .desc_offset = DESC_OFF, .data_offset = DESC_OFF,
    };
    char tmpl[] = "/tmp/test-kvm-stats-XXXXXX";
    int fd = mkstemp(tmpl);
    KVMStatsSchema s;
    g_autoptr(GError) err = NULL;

    unlink(tmpl);
    g_assert_cmpint(write(fd, &h, sizeof(h)), ==, sizeof(h));
    g_assert_false(kvm_stats_schema_load(fd, &s, &err));
    g_assert_nonnull(strstr(err->message, "implausible"));
    g_clear_error(&err);

    h.num_desc = 1;
    h.name_size = 0;
    g_assert_cmpint(pwrite(fd, &h, sizeof(h), 0), ==, sizeof(h));
    g_assert_false(kvm_stats_schema_load(fd, &s, &err));
    close(fd);
}

static void test_truncated(void)
{
    int fd = fake_stats_file(descs, 2, data, 2);
    KVMStatsSchema s;
    g_autoptr(GError) err = NULL;
    uint64_t values[2];

    /* Descriptors cut off: an error, not a read past the end. */
    g_assert_cmpint(ftruncate(fd, DESC_OFF + STRIDE), ==, 0);
    g_assert_false(kvm_stats_schema_load(fd, &s, &err));
    g_assert_nonnull(strstr(err->message, "descriptors"));
    close(fd);

    /* Values cut off after the schema was read: the read fails. */
    fd = fake_stats_file(descs, 2, data, 2);
    g_assert_true(kvm_stats_schema_load(fd, &s, NULL));
    g_assert_cmpint(ftruncate(fd, DESC_OFF + 2 * STRIDE + 8), ==, 0);
    g_assert_false(kvm_stats_read_fd(fd, &s, values));
    kvm_stats_schema_clear(&s);
    close(fd);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/kvm-stats/schema-and-values", test_schema_and_values);
    g_test_add_func("/kvm-stats/implausible-header", test_implausible_header);
    g_test_add_func("/kvm-stats/truncated", test_truncated);
    return g_test_run();
}
