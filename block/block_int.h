/*
 * Block layer internals: the driver interface and the node structure.
 * Only block/ and tools/qlite-img see this header.
 */
#ifndef QLITE_BLOCK_INT_H
#define QLITE_BLOCK_INT_H

#include "qlite/block.h"
#include "qlite/error.h"

#include <jansson.h>

/* The longest backing chain we follow before calling it a loop. */
#define BDRV_MAX_BACKING_DEPTH 64

typedef struct BlockDriver BlockDriver;

/* What a range of a node holds (bdrv_block_status). */
#define BDRV_BLOCK_DATA         0x01    /* reads come from a data area */
#define BDRV_BLOCK_ZERO         0x02    /* reads return zeroes */
#define BDRV_BLOCK_OFFSET_VALID 0x04    /* *map is the host offset */
#define BDRV_BLOCK_ALLOCATED    0x10    /* this layer decides the content */
#define BDRV_BLOCK_COMPRESSED   0x20

typedef struct BdrvCheckResult {
    int corruptions;
    int leaks;
    int check_errors;
    int corruptions_fixed;
    int leaks_fixed;
    int64_t image_end_offset;
    uint64_t total_clusters;
    uint64_t allocated_clusters;
    uint64_t fragmented_clusters;
    uint64_t compressed_clusters;
    bool has_frag_info;
} BdrvCheckResult;

typedef enum {
    BDRV_FIX_LEAKS = 1,
    BDRV_FIX_ERRORS = 2,
} BdrvCheckMode;

typedef struct BdrvSnapshotInfo {
    char *id_str;
    char *name;
    uint64_t vm_state_size;
    uint32_t date_sec;
    uint32_t date_nsec;
    uint64_t vm_clock_nsec;
    uint64_t icount;        /* UINT64_MAX when not recorded */
} BdrvSnapshotInfo;

void bdrv_snapshot_info_clear(BdrvSnapshotInfo *sn);

struct BlockDriver {
    const char *format_name;
    size_t instance_size;
    bool is_protocol;
    bool supports_backing;

    /* A score 0..100 that @buf (the file's first bytes) is this format. */
    int (*probe)(const uint8_t *buf, int buf_size, const char *filename);
    /* Format drivers find their protocol node in bs->file. */
    int (*open)(BlockDriverState *bs, QliteOpts *opts, int flags,
                GError **errp);
    void (*close)(BlockDriverState *bs);
    /* Create an image; @opts are the "-o" creation options. */
    int (*create)(const char *filename, QliteOpts *opts, GError **errp);

    int (*pread)(BlockDriverState *bs, int64_t offset, int64_t bytes,
                 void *buf);
    int (*pwrite)(BlockDriverState *bs, int64_t offset, int64_t bytes,
                  const void *buf, int flags);
    int (*pwrite_zeroes)(BlockDriverState *bs, int64_t offset,
                         int64_t bytes, int flags);
    /* @bytes is one cluster (or the tail of the image). */
    int (*pwrite_compressed)(BlockDriverState *bs, int64_t offset,
                             int64_t bytes, const void *buf);
    int (*flush)(BlockDriverState *bs);
    int (*discard)(BlockDriverState *bs, int64_t offset, int64_t bytes);
    int (*truncate)(BlockDriverState *bs, int64_t size, GError **errp);
    int64_t (*getlength)(BlockDriverState *bs);
    int64_t (*get_allocated_file_size)(BlockDriverState *bs);
    /*
     * Status of [offset, offset+bytes): BDRV_BLOCK_* flags for the first
     * *pnum bytes, *map the host offset in *file when OFFSET_VALID.
     */
    int (*block_status)(BlockDriverState *bs, int64_t offset, int64_t bytes,
                        int64_t *pnum, int64_t *map,
                        BlockDriverState **file);

    /*
     * Format drivers: where [offset, offset+bytes) lies in *file, as one
     * contiguous range at *host that can be read (or, with @write,
     * written) there directly, with no metadata to change and no I/O
     * needed to find out.  -EAGAIN when that is not the case right now.
     * Never blocks: it runs in the thread that submits the request.
     */
    int (*map_direct)(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      bool write, int64_t *host, BlockDriverState **file);
    /*
     * Protocol drivers: start an asynchronous read or write whose
     * completion runs @cb in the main context with 0 or -errno; false
     * when it cannot (the caller uses the worker pool instead).
     */
    bool (*aio_rw)(BlockDriverState *bs, bool write, int64_t offset,
                   const struct iovec *iov, int niov,
                   BlockCompletionFunc *cb, void *opaque);

    int (*get_cluster_size)(BlockDriverState *bs);
    /* qemu-img info's "format-specific" data ({"type":..., "data":...}). */
    json_t *(*info_specific)(BlockDriverState *bs);
    bool (*is_dirty)(BlockDriverState *bs);
    int (*check)(BlockDriverState *bs, BdrvCheckResult *res, int fix);

    int (*snapshot_list)(BlockDriverState *bs, BdrvSnapshotInfo **out);
    int (*snapshot_create)(BlockDriverState *bs, const char *name,
                           GError **errp);
    int (*snapshot_apply)(BlockDriverState *bs, const char *name,
                          GError **errp);
    int (*snapshot_delete)(BlockDriverState *bs, const char *name,
                           GError **errp);
};

struct BlockDriverState {
    const BlockDriver *drv;
    void *opaque;
    char *filename;
    char *node_name;
    int open_flags;
    bool read_only;
    bool discard_ignore;            /* discard=ignore: drop discards */
    uint64_t wr_highest_offset;     /* atomic: end of the furthest write */
    unsigned refcnt;

    BlockDriverState *file;         /* protocol child of a format node */
    BlockDriverState *backing;      /* backing chain below a format node */
    char *backing_file;             /* as written in the image */
    char *backing_format;           /* as written in the image, or NULL */
    char *full_backing_filename;    /* resolved against our directory */

    /* Alignment requests to a protocol node must meet (O_DIRECT). */
    uint32_t request_alignment;
};

/*
 * discard=ignore|off|unmap|on (QEMU's default: ignore) into @unmap, and
 * detect-zeroes, which may only be off; -drive and -blockdev share it.
 */
bool block_parse_discard(QliteOpts *opts, bool *unmap, GError **errp);

/* BlockBackend internals the -drive code sets. */
void blk_set_name(BlockBackend *blk, const char *name);
void blk_set_aio_threads(BlockBackend *blk, bool on);
void blk_attach_dev(BlockBackend *blk, struct DeviceState *dev);

/*
 * Take QEMU's image locks on @fd (block/file-lock.c): a reader or a
 * writer; -EAGAIN with errp set when another process holds a conflicting
 * lock.
 */
int file_lock_image(int fd, const char *filename, bool writable,
                    GError **errp);
/* "locking=on|off|auto" under @key: BDRV_O_LOCK in *flags (default on). */
bool block_parse_locking(QliteOpts *opts, const char *key, int *flags,
                         GError **errp);

/* ImageInfo (qemu-img info --output=json, QMP), block/image-info.c. */
json_t *bdrv_image_info_json(BlockDriverState *bs);
/* The snapshot table as ImageInfo's "snapshots", or NULL if none. */
json_t *bdrv_snapshots_json(BlockDriverState *bs);

/* Drivers, registered in block.c's table. */
extern const BlockDriver bdrv_file;
extern const BlockDriver bdrv_raw;
extern const BlockDriver bdrv_qcow2;

const BlockDriver *bdrv_find_format(const char *name);

/*
 * Open a node.  A protocol name ("file") opens just the protocol node; a
 * format name opens the format over a "file" node and, unless
 * BDRV_O_NO_BACKING, its backing chain.
 */
BlockDriverState *bdrv_open(const char *filename, const char *fmt,
                            QliteOpts *opts, int flags, GError **errp);
/* Open a format node over an already open protocol node. */
BlockDriverState *bdrv_open_format(BlockDriverState *file, const char *fmt,
                                   QliteOpts *opts, int flags,
                                   GError **errp);
void bdrv_ref(BlockDriverState *bs);
void bdrv_unref(BlockDriverState *bs);
/* Probe the format of an open protocol node: "qcow2" or "raw"; NULL
 * when its first bytes cannot be read. */
const char *bdrv_probe_format(BlockDriverState *file);

/* Node-level I/O with bounds checks; 0 or -errno. */
int bdrv_pread(BlockDriverState *bs, int64_t offset, int64_t bytes,
               void *buf);
int bdrv_pwrite(BlockDriverState *bs, int64_t offset, int64_t bytes,
                const void *buf, int flags);
int bdrv_pwrite_zeroes(BlockDriverState *bs, int64_t offset, int64_t bytes,
                       int flags);
int bdrv_pwrite_compressed(BlockDriverState *bs, int64_t offset,
                           int64_t bytes, const void *buf);
int bdrv_flush(BlockDriverState *bs);
int bdrv_discard(BlockDriverState *bs, int64_t offset, int64_t bytes);
int bdrv_truncate(BlockDriverState *bs, int64_t size, GError **errp);
int64_t bdrv_getlength(BlockDriverState *bs);
int64_t bdrv_get_allocated_file_size(BlockDriverState *bs);
int bdrv_block_status(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      int64_t *pnum, int64_t *map, BlockDriverState **file);
/*
 * Status through the backing chain: *depth is the layer that decides the
 * content (0 = @bs), or the chain length when no layer allocates it.
 */
int bdrv_block_status_above(BlockDriverState *bs, int64_t offset,
                            int64_t bytes, int64_t *pnum, int64_t *map,
                            BlockDriverState **file, int *depth);
/* Read from the backing chain, zeroes past its end or without one. */
int bdrv_read_backing(BlockDriverState *bs, int64_t offset, int64_t bytes,
                      void *buf);

/*
 * Start a read or write of @bs without the worker pool, when the format
 * layers map it straight onto a protocol node that does asynchronous
 * I/O.  False when that is not possible; @iov must stay valid until @cb.
 */
bool bdrv_aio_try(BlockDriverState *bs, bool write, int64_t offset,
                  int64_t bytes, const struct iovec *iov, int niov,
                  BlockCompletionFunc *cb, void *opaque);
/* How many requests bdrv_aio_try() started (for tests). */
unsigned bdrv_aio_direct_requests(void);

/* aio-uring.c: @ret is the byte count or -errno. */
typedef void AioUringFunc(void *opaque, int64_t ret);
/*
 * Queue a read or write of @iov at @offset of @fd on the io_uring;
 * false when there is none or it is full.  @iov must stay valid until
 * @cb, which runs in the main context.
 */
bool aio_uring_submit(int fd, bool write, int64_t offset,
                      const struct iovec *iov, int niov, AioUringFunc *cb,
                      void *opaque);
bool aio_uring_available(void);

/* Create an image file of format @fmt with creation options @opts. */
int bdrv_create(const char *fmt, const char *filename, QliteOpts *opts,
                GError **errp);

/* Keep a -blockdev node by its node-name (takes the reference). */
void blockdev_register_node(BlockDriverState *bs);

/*
 * Test seam: when set, every protocol node opened is handed to it and
 * what it returns is used instead (the fault-injection filter of
 * block/faultinject.c).  NULL in every program qlite installs.
 */
extern BlockDriverState *(*bdrv_protocol_wrap_hook)(BlockDriverState *file);
/* A filter node of @drv over @file (takes the reference to @file). */
BlockDriverState *bdrv_new_filter(const BlockDriver *drv,
                                  BlockDriverState *file);

/* Helpers for drivers. */
char *bdrv_resolve_backing(const char *image, const char *backing);

#endif
