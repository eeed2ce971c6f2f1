/*
 * The "kvm" statistics provider: the kernel's binary statistics, read
 * through the file descriptors KVM_GET_STATS_FD gives for the VM and for
 * each vCPU (Documentation/virt/kvm/api.rst, "KVM_GET_STATS_FD").
 *
 * The file starts with struct kvm_stats_header; at desc_offset lie
 * num_desc descriptors, each a struct kvm_stats_desc followed by a
 * name_size-byte name; at data_offset the values, each descriptor's
 * `size` u64s at data_offset + desc.offset.  The descriptors never
 * change, so they are read once; every query reads the values afresh.
 * A kernel without the ioctl gives no statistics, which is not an error.
 */
#include "qlite/cpu.h"
#include "qlite/error.h"
#include "qlite/stats.h"
#include "kvm-internal.h"

#include <sys/ioctl.h>
#include <unistd.h>

/* Far beyond what Linux has (a few hundred stats, 48-byte names). */
#define KVM_STATS_MAX_DESC  4096
#define KVM_STATS_MAX_NAME  1024
#define KVM_STATS_MAX_DATA  (1u << 20)

static KVMStatsSchema kvm_vm_schema, kvm_vcpu_schema;
static int kvm_vm_stats_fd = -1;

static bool kvm_stats_pread(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done = 0;

    while (done < len) {
        ssize_t n = pread(fd, (char *)buf + done, len - done,
                          (off_t)(off + done));

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        done += n;
    }
    return true;
}

/*
 * One descriptor's flags, exponent, size and bucket size into @d; false
 * for a type, unit or base newer than this code (the stat is left out).
 */
static bool kvm_stats_desc_parse(const struct kvm_stats_desc *kd,
                                 StatsDesc *d)
{
    uint32_t type = (kd->flags & KVM_STATS_TYPE_MASK) >> KVM_STATS_TYPE_SHIFT;
    uint32_t unit = (kd->flags & KVM_STATS_UNIT_MASK) >> KVM_STATS_UNIT_SHIFT;
    uint32_t base = kd->flags & KVM_STATS_BASE_MASK;

    /* The kernel's type and unit numbers are QEMU's enum orders. */
    if (type >= STATS_TYPE__MAX || unit >= STATS_UNIT__MAX ||
        base > KVM_STATS_BASE_MAX || kd->size == 0) {
        return false;
    }
    d->type = type;
    d->unit = unit;
    d->exponent = kd->exponent;
    d->base = kd->exponent == 0 ? 0 :
              base == KVM_STATS_BASE_POW2 ? 2 : 10;
    d->bucket_size = kd->bucket_size;
    d->size = kd->size;
    return true;
}

/* Check the header's numbers before trusting them with allocations. */
static bool kvm_stats_header_ok(const struct kvm_stats_header *h,
                                GError **errp)
{
    if (h->num_desc > KVM_STATS_MAX_DESC || h->name_size == 0 ||
        h->name_size > KVM_STATS_MAX_NAME) {
        error_setg(errp, "kvm stats: implausible header (%u descriptors, "
                   "names of %u bytes)", h->num_desc, h->name_size);
        return false;
    }
    return true;
}

/* Descriptor @i of the block @buf into @s; unknown kinds are skipped. */
static void kvm_stats_add_desc(KVMStatsSchema *s, char *buf, size_t stride,
                               uint32_t name_size, uint32_t i)
{
    struct kvm_stats_desc kd;
    char *entry = buf + (size_t)i * stride;
    char *name = entry + sizeof(kd);
    StatsDesc *d = &s->desc[s->n];
    uint64_t end;

    memcpy(&kd, entry, sizeof(kd));     /* entries need not be aligned */
    name[name_size - 1] = '\0';
    if (!name[0] || !kvm_stats_desc_parse(&kd, d)) {
        return;
    }
    end = (uint64_t)kd.offset + (uint64_t)kd.size * sizeof(uint64_t);
    if (end > KVM_STATS_MAX_DATA) {
        return;
    }
    d->name = name;
    s->offset[s->n++] = kd.offset;
    s->data_size = MAX(s->data_size, (uint32_t)end);
}

bool kvm_stats_schema_load(int fd, KVMStatsSchema *s, GError **errp)
{
    struct kvm_stats_header h;
    size_t stride;

    memset(s, 0, sizeof(*s));
    if (!kvm_stats_pread(fd, &h, sizeof(h), 0)) {
        error_setg(errp, "kvm stats: cannot read the header");
        return false;
    }
    if (!kvm_stats_header_ok(&h, errp)) {
        return false;
    }
    stride = sizeof(struct kvm_stats_desc) + h.name_size;
    s->names = g_malloc(stride * h.num_desc + 1);
    if (!kvm_stats_pread(fd, s->names, stride * h.num_desc, h.desc_offset)) {
        error_setg(errp, "kvm stats: cannot read %u descriptors at %u",
                   h.num_desc, h.desc_offset);
        kvm_stats_schema_clear(s);
        return false;
    }
    s->desc = g_new0(StatsDesc, h.num_desc + 1);
    s->offset = g_new0(uint32_t, h.num_desc + 1);
    s->data_offset = h.data_offset;
    for (uint32_t i = 0; i < h.num_desc; i++) {
        kvm_stats_add_desc(s, s->names, stride, h.name_size, i);
    }
    return true;
}

void kvm_stats_schema_clear(KVMStatsSchema *s)
{
    g_free(s->desc);
    g_free(s->offset);
    g_free(s->names);
    memset(s, 0, sizeof(*s));
}

bool kvm_stats_read_fd(int fd, const KVMStatsSchema *s, uint64_t *values)
{
    g_autofree uint8_t *data = g_malloc(MAX(s->data_size, 1));
    size_t k = 0;

    if (!kvm_stats_pread(fd, data, s->data_size, s->data_offset)) {
        return false;
    }
    for (size_t i = 0; i < s->n; i++) {
        size_t bytes = stats_desc_values(&s->desc[i]) * sizeof(uint64_t);

        memcpy(&values[k], data + s->offset[i], bytes);
        k += stats_desc_values(&s->desc[i]);
    }
    return true;
}

/* The stats fd of a VM or vCPU @fd, or -1 when the kernel has none. */
static int kvm_stats_open(int fd)
{
    int sfd = ioctl(fd, KVM_GET_STATS_FD, NULL);

    return sfd < 0 ? -1 : sfd;
}

/* ---- the provider ------------------------------------------------------ */

static const StatsDesc *kvm_stats_schema(StatsTarget target, size_t *n)
{
    const KVMStatsSchema *s =
        target == STATS_TARGET_VM ? &kvm_vm_schema : &kvm_vcpu_schema;

    *n = s->n;
    return s->desc;
}

static bool kvm_stats_read(StatsTarget target, CPUState *cpu,
                           uint64_t *values)
{
    KVMVcpu *v;

    if (target == STATS_TARGET_VM) {
        return kvm_vm_stats_fd >= 0 &&
               kvm_stats_read_fd(kvm_vm_stats_fd, &kvm_vm_schema, values);
    }
    v = cpu ? cpu->accel : NULL;
    return v && v->stats_fd >= 0 &&
           kvm_stats_read_fd(v->stats_fd, &kvm_vcpu_schema, values);
}

static const StatsProvider kvm_stats_provider = {
    .name = "kvm",
    .schema = kvm_stats_schema,
    .read = kvm_stats_read,
};

/* Open @fd's stats into *sfd and, the first time, read @schema. */
static void kvm_stats_attach(int fd, int *sfd, KVMStatsSchema *schema)
{
    g_autoptr(GError) err = NULL;

    *sfd = kvm_stats_open(fd);
    if (*sfd < 0 || schema->desc) {
        return;
    }
    if (!kvm_stats_schema_load(*sfd, schema, &err)) {
        warn_report("%s", err->message);
        close(*sfd);
        *sfd = -1;
    }
}

void kvm_stats_vm_init(void)
{
    kvm_stats_attach(kvm_state->vm_fd, &kvm_vm_stats_fd, &kvm_vm_schema);
    stats_register_provider(&kvm_stats_provider);
}

void kvm_stats_vcpu_init(KVMVcpu *v)
{
    kvm_stats_attach(v->fd, &v->stats_fd, &kvm_vcpu_schema);
}
