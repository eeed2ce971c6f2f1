/*
 * memory-backend-ram, -file and -memfd: the host memory behind guest RAM.
 * The common part (size, share, prealloc, merge, dump, reserve, policy)
 * maps the memory; each type only says which fd, if any, is mapped.
 */
#include "qlite/error.h"
#include "qlite/memory-backend.h"

#include <fcntl.h>
#include <linux/memfd.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* size= not given (no mapping can be this large) */
#define SIZE_UNSET UINT64_MAX

struct HostMemoryBackend {
    UserCreatable parent;
    uint64_t size;
    bool share, prealloc, merge, dump, reserve;
    uint64_t prealloc_threads;
    char *policy;
    /* memory-backend-file */
    char *mem_path;
    bool discard_data, readonly, pmem;
    uint64_t align;
    /* memory-backend-memfd */
    bool hugetlb, seal;
    uint64_t hugetlbsize;
    /* once complete */
    void *ptr;
    bool in_use;
};

typedef struct HostMemoryBackendClass {
    UserCreatableClass parent;
    /* The fd to map (closed after mapping), or -1 for anonymous memory
     * (then @errp is not set). */
    int (*open_fd)(HostMemoryBackend *b, GError **errp);
} HostMemoryBackendClass;

#define MEMORY_BACKEND(obj) \
    OBJECT_CHECK(HostMemoryBackend, (obj), TYPE_MEMORY_BACKEND)
#define MEMORY_BACKEND_GET_CLASS(obj) \
    OBJECT_GET_CLASS(HostMemoryBackendClass, (obj), TYPE_MEMORY_BACKEND)

void host_memory_advise(void *ptr, size_t len, bool merge, bool dump)
{
    /* Both are hints: a kernel without KSM refuses MADV_MERGEABLE. */
    madvise(ptr, len, merge ? MADV_MERGEABLE : MADV_UNMERGEABLE);
    madvise(ptr, len, dump ? MADV_DODUMP : MADV_DONTDUMP);
}

/* Touch every page so that the host commits it now (prealloc=on). */
static bool memory_backend_prealloc(HostMemoryBackend *b, GError **errp)
{
    long page = sysconf(_SC_PAGESIZE);

    if (b->readonly) {
        /* nothing may be written: reading each page maps it */
        for (uint64_t off = 0; off < b->size; off += page) {
            (void)*(volatile uint8_t *)((uint8_t *)b->ptr + off);
        }
        return true;
    }
#ifdef MADV_POPULATE_WRITE
    if (madvise(b->ptr, b->size, MADV_POPULATE_WRITE) == 0) {
        return true;
    }
    if (errno != EINVAL) {
        error_setg(errp, "Could not preallocate memory: %s",
                   g_strerror(errno));
        return false;
    }
#endif
    for (uint64_t off = 0; off < b->size; off += page) {
        volatile uint8_t *p = (uint8_t *)b->ptr + off;

        *p = *p;
    }
    return true;
}

static bool memory_backend_map(HostMemoryBackend *b, int fd, GError **errp)
{
    int flags = b->share ? MAP_SHARED : MAP_PRIVATE;
    int prot = PROT_READ | (b->readonly ? 0 : PROT_WRITE);
    void *p;

    if (fd < 0) {
        flags |= MAP_ANONYMOUS;
    }
    if (!b->reserve) {
        flags |= MAP_NORESERVE;
    }
    p = mmap(NULL, b->size, prot, flags, fd, 0);
    if (p == MAP_FAILED) {
        error_setg(errp, "unable to map backing store for guest RAM: %s",
                   g_strerror(errno));
        return false;
    }
    b->ptr = p;
    host_memory_advise(p, b->size, b->merge, b->dump);
    return !b->prealloc || memory_backend_prealloc(b, errp);
}

static bool memory_backend_complete(Object *obj, GError **errp)
{
    HostMemoryBackend *b = MEMORY_BACKEND(obj);
    HostMemoryBackendClass *bc = MEMORY_BACKEND_GET_CLASS(obj);
    g_autoptr(GError) err = NULL;
    bool ok;
    int fd;

    if (b->size == SIZE_UNSET) {
        error_setg(errp, "Parameter 'size' is missing");
        return false;
    }
    if (!b->size) {
        error_setg(errp, "property 'size' of %s doesn't take value '0'",
                   object_get_typename(obj));
        return false;
    }
    if (strcmp(b->policy, "default")) {
        error_setg(errp, "policy=%s: qlite does not bind guest memory to "
                   "host NUMA nodes (only policy=default)", b->policy);
        return false;
    }
    fd = bc->open_fd ? bc->open_fd(b, &err) : -1;
    if (err) {
        g_propagate_error(errp, g_steal_pointer(&err));
        return false;
    }
    ok = memory_backend_map(b, fd, errp);
    if (fd >= 0) {
        close(fd);
    }
    return ok;
}

static bool memory_backend_can_delete(Object *obj, GError **errp)
{
    if (MEMORY_BACKEND(obj)->in_use) {
        error_setg(errp, "object '%s' is in use, can not be deleted",
                   obj->name);
        return false;
    }
    return true;
}

static HostMemoryBackend *memory_backend_find(const char *id, GError **errp)
{
    Object *obj = user_creatable_find_type(id, TYPE_MEMORY_BACKEND);

    if (!obj) {
        error_setg(errp, "Memory backend '%s' not found", id);
        return NULL;
    }
    return MEMORY_BACKEND(obj);
}

bool memory_backend_get_size(const char *id, uint64_t *size, GError **errp)
{
    HostMemoryBackend *b = memory_backend_find(id, errp);

    if (b) {
        *size = b->size;
    }
    return b != NULL;
}

bool memory_backend_init_region(MemoryRegion *mr, const char *id,
                                uint64_t size, GError **errp)
{
    HostMemoryBackend *b = memory_backend_find(id, errp);

    if (!b) {
        return false;
    }
    if (b->in_use) {
        error_setg(errp, "memory backend '%s' can't be used multiple times.",
                   id);
        return false;
    }
    if (b->readonly) {
        /* the guest would fault on its first store */
        error_setg(errp, "memory backend '%s' is read-only: it cannot be "
                   "the machine's RAM", id);
        return false;
    }
    if (b->size != size) {
        error_setg(errp, "Machine memory size does not match the size of "
                   "the memory backend");
        return false;
    }
    b->in_use = true;
    memory_region_init_ram_ptr(mr, id, size, b->ptr);
    return true;
}

static void memory_backend_foreach_one(Object *obj, MemdevForeachFn fn,
                                       void *opaque)
{
    HostMemoryBackend *b;
    MemdevInfo info;

    if (!object_dynamic_cast(obj, TYPE_MEMORY_BACKEND)) {
        return;
    }
    b = MEMORY_BACKEND(obj);
    info = (MemdevInfo){
        .id = obj->name, .size = b->size, .merge = b->merge,
        .dump = b->dump, .prealloc = b->prealloc, .share = b->share,
        .reserve = b->reserve, .policy = b->policy,
    };
    fn(&info, opaque);
}

void memory_backend_foreach(MemdevForeachFn fn, void *opaque)
{
    g_autoptr(GPtrArray) list = object_get_children(
        container_get("/objects"));

    for (guint i = 0; i < list->len; i++) {
        memory_backend_foreach_one(list->pdata[i], fn, opaque);
    }
}

static void memory_backend_init(Object *obj)
{
    HostMemoryBackend *b = MEMORY_BACKEND(obj);

    b->size = SIZE_UNSET;
    b->merge = b->dump = b->reserve = true;
    b->prealloc_threads = 1;
    b->policy = g_strdup("default");
    user_creatable_prop_bool(obj, "share", &b->share);
    user_creatable_prop_size(obj, "size", &b->size);
    user_creatable_prop_bool(obj, "dump", &b->dump);
    user_creatable_prop_size(obj, "prealloc-threads", &b->prealloc_threads);
    user_creatable_prop_str(obj, "policy", "HostMemPolicy", &b->policy);
    user_creatable_prop_bool(obj, "prealloc", &b->prealloc);
    user_creatable_prop_bool(obj, "reserve", &b->reserve);
    user_creatable_prop_bool(obj, "merge", &b->merge);
}

static void memory_backend_finalize(Object *obj)
{
    HostMemoryBackend *b = MEMORY_BACKEND(obj);

    if (b->ptr) {
        if (b->discard_data) {
            /* As QEMU: what the guest wrote need not reach the file. */
            madvise(b->ptr, b->size, MADV_REMOVE);
        }
        munmap(b->ptr, b->size);
    }
    g_free(b->policy);
    g_free(b->mem_path);
}

static void memory_backend_class_init(ObjectClass *oc, const void *data)
{
    UserCreatableClass *ucc = (UserCreatableClass *)oc;

    ucc->complete = memory_backend_complete;
    ucc->can_delete = memory_backend_can_delete;
}

/* ---- memory-backend-file ---- */

/* mem-path is a directory (a hugetlbfs mount): a new file, unlinked. */
static int memory_backend_file_in_dir(HostMemoryBackend *b, GError **errp)
{
    g_autofree char *tmpl = g_build_filename(b->mem_path,
                                             "qlite_back_mem.XXXXXX", NULL);
    int fd = mkostemp(tmpl, O_CLOEXEC);

    if (fd < 0) {
        error_setg(errp, "unable to create backing store for guest RAM "
                   "in '%s': %s", b->mem_path, g_strerror(errno));
        return -1;
    }
    unlink(tmpl);
    return fd;
}

static int memory_backend_file_open(HostMemoryBackend *b, GError **errp)
{
    struct stat st;
    int fd;

    if (!b->mem_path) {
        error_setg(errp, "Parameter 'mem-path' is missing");
        return -1;
    }
    if (b->pmem) {
        error_setg(errp, "Lack of libpmem support while setting the "
                   "'pmem=on' of memory-backend-file '%s'",
                   OBJECT(b)->name ? OBJECT(b)->name : "");
        return -1;
    }
    if (b->align) {
        error_setg(errp, "align=: qlite maps at the host page size only");
        return -1;
    }
    if (stat(b->mem_path, &st) == 0 && S_ISDIR(st.st_mode)) {
        fd = memory_backend_file_in_dir(b, errp);
    } else {
        fd = open(b->mem_path, (b->readonly ? O_RDONLY : O_RDWR | O_CREAT) |
                  O_CLOEXEC, 0644);
        if (fd < 0) {
            error_setg(errp, "can't open backing store %s for guest RAM: %s",
                       b->mem_path, g_strerror(errno));
            return -1;
        }
    }
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
        (uint64_t)st.st_size < b->size &&
        (b->readonly || ftruncate(fd, b->size) < 0)) {
        error_setg(errp, "backing store %s size 0x%" PRIx64 " does not "
                   "match 'size' option 0x%" PRIx64, b->mem_path,
                   (uint64_t)st.st_size, b->size);
        close(fd);
        return -1;
    }
    return fd;
}

static void memory_backend_file_init(Object *obj)
{
    HostMemoryBackend *b = MEMORY_BACKEND(obj);

    user_creatable_prop_bool(obj, "readonly", &b->readonly);
    user_creatable_prop_size(obj, "align", &b->align);
    user_creatable_prop_bool(obj, "pmem", &b->pmem);
    user_creatable_prop_str(obj, "mem-path", "string", &b->mem_path);
    user_creatable_prop_bool(obj, "discard-data", &b->discard_data);
}

static void memory_backend_file_class_init(ObjectClass *oc, const void *d)
{
    ((HostMemoryBackendClass *)oc)->open_fd = memory_backend_file_open;
}

/* ---- memory-backend-memfd ---- */

static int memory_backend_memfd_open(HostMemoryBackend *b, GError **errp)
{
    unsigned flags = MFD_CLOEXEC | (b->seal ? MFD_ALLOW_SEALING : 0);
    int fd;

    if (b->hugetlb) {
        flags |= MFD_HUGETLB;
        if (b->hugetlbsize) {
            flags |= (unsigned)g_bit_nth_lsf(b->hugetlbsize, -1)
                     << MFD_HUGE_SHIFT;
        }
    }
    fd = memfd_create("memory-backend-memfd", flags);
    if (fd < 0 || ftruncate(fd, b->size) < 0 ||
        (b->seal && fcntl(fd, F_ADD_SEALS, F_SEAL_GROW | F_SEAL_SHRINK |
                          F_SEAL_SEAL) < 0)) {
        error_setg(errp, "failed to create memfd: %s", g_strerror(errno));
        if (fd >= 0) {
            close(fd);
        }
        return -1;
    }
    return fd;
}

static void memory_backend_memfd_init(Object *obj)
{
    HostMemoryBackend *b = MEMORY_BACKEND(obj);

    b->seal = true;
    user_creatable_prop_bool(obj, "hugetlb", &b->hugetlb);
    user_creatable_prop_bool(obj, "seal", &b->seal);
    user_creatable_prop_size(obj, "hugetlbsize", &b->hugetlbsize);
}

static void memory_backend_memfd_class_init(ObjectClass *oc, const void *d)
{
    ((HostMemoryBackendClass *)oc)->open_fd = memory_backend_memfd_open;
}

static const TypeInfo memory_backend_types[] = {
    {
        .name = TYPE_MEMORY_BACKEND,
        .parent = TYPE_USER_CREATABLE,
        .instance_size = sizeof(HostMemoryBackend),
        .class_size = sizeof(HostMemoryBackendClass),
        .abstract = true,
        .instance_init = memory_backend_init,
        .instance_finalize = memory_backend_finalize,
        .class_init = memory_backend_class_init,
    }, {
        .name = "memory-backend-ram",
        .parent = TYPE_MEMORY_BACKEND,
    }, {
        .name = "memory-backend-file",
        .parent = TYPE_MEMORY_BACKEND,
        .instance_init = memory_backend_file_init,
        .class_init = memory_backend_file_class_init,
    }, {
        .name = "memory-backend-memfd",
        .parent = TYPE_MEMORY_BACKEND,
        .instance_init = memory_backend_memfd_init,
        .class_init = memory_backend_memfd_class_init,
    },
};

type_init(memory_backend_register_types)
{
    for (size_t i = 0; i < G_N_ELEMENTS(memory_backend_types); i++) {
        type_register(&memory_backend_types[i]);
    }
}
