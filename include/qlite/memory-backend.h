/*
 * Host memory backends: where guest RAM comes from when the machine is
 * given -machine memory-backend=ID (as libvirt always does):
 *   memory-backend-ram    anonymous memory (private, or shared with share=on)
 *   memory-backend-file   a mapping of mem-path (a file, or a new unlinked
 *                         file in a directory such as a hugetlbfs mount)
 *   memory-backend-memfd  a memfd_create() file, optionally hugetlb-backed
 * The mapping is made when the object completes; the machine then uses it
 * as its RAM block.
 */
#ifndef QLITE_MEMORY_BACKEND_H
#define QLITE_MEMORY_BACKEND_H

#include "qlite/memory.h"
#include "qlite/user-creatable.h"

#define TYPE_MEMORY_BACKEND "memory-backend"

typedef struct HostMemoryBackend HostMemoryBackend;

/*
 * Make @mr (named @id) the RAM region over backend @id, which must be
 * @size bytes, and mark the backend in use.  QEMU's errors: "Memory
 * backend 'ID' not found", "... is already in use".
 */
bool memory_backend_init_region(MemoryRegion *mr, const char *id,
                                uint64_t size, GError **errp);
/* The size of backend @id, or false with @errp when there is none. */
bool memory_backend_get_size(const char *id, uint64_t *size, GError **errp);
/* madvise(): KSM merging (mem-merge) and core dumps (dump-guest-core). */
void host_memory_advise(void *ptr, size_t len, bool merge, bool dump);

/* For query-memdev. */
typedef struct MemdevInfo {
    const char *id;
    uint64_t size;
    bool merge, dump, prealloc, share, reserve;
    const char *policy;
} MemdevInfo;
typedef void (*MemdevForeachFn)(const MemdevInfo *info, void *opaque);
void memory_backend_foreach(MemdevForeachFn fn, void *opaque);

#endif
