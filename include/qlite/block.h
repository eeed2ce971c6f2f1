/*
 * The block layer: what devices and tools see of disk images.
 *
 * A device attaches to a BlockBackend.  Behind it sits a graph of
 * BlockDriverState nodes: a format node (qcow2, raw) over a protocol node
 * (file), with an optional backing chain below the format node.
 *
 *   BlockBackend "drive0"
 *        |
 *   qcow2 node ----backing----> qcow2 node ---> ...
 *        |                          |
 *   file node                   file node
 *
 * Synchronous calls (blk_pread ...) run in the caller's thread; they are
 * what qlite-img uses.  Asynchronous calls (blk_aio_*) go to io_uring
 * when the qcow2 mapping is already cached (reads and in-place writes),
 * else to a worker thread; either way the completion runs in the main
 * thread, from the GLib default main context.
 */
#ifndef QLITE_BLOCK_H
#define QLITE_BLOCK_H

#include "qlite/osdep.h"
#include "qlite/keyval.h"

#include <sys/uio.h>

typedef struct BlockDriverState BlockDriverState;
typedef struct BlockBackend BlockBackend;

/* Open flags. */
#define BDRV_O_RDWR         0x0002  /* open for writing */
#define BDRV_O_SNAPSHOT     0x0008  /* writes go to a temporary overlay */
#define BDRV_O_NOCACHE      0x0020  /* O_DIRECT: bypass the host cache */
#define BDRV_O_NO_BACKING   0x0100  /* do not open the backing chain */
#define BDRV_O_NO_FLUSH     0x0200  /* cache=unsafe: flushes do nothing */
#define BDRV_O_CHECK        0x1000  /* opened for check: allow dirty/corrupt */
#define BDRV_O_UNSAFE_BACKING 0x2000 /* a missing backing file is no error */

/* Request flags. */
#define BDRV_REQ_MAY_UNMAP  0x0004  /* zeroes may deallocate */
#define BDRV_REQ_FUA        0x0010  /* durable when the request completes */

/*
 * Parse a cache mode ("none", "writeback", "writethrough", "directsync",
 * "unsafe") into open flags and the write-cache setting.
 */
bool bdrv_parse_cache_mode(const char *mode, int *flags, bool *writethrough,
                           GError **errp);

/* Completion of an asynchronous request: @ret is 0 or -errno. */
typedef void BlockCompletionFunc(void *opaque, int ret);

/*
 * Open @filename as a BlockBackend.  @fmt may be NULL to probe.  @opts
 * holds driver options ("l2-cache-size", "cache.direct" ...) and may be
 * NULL; keys the drivers do not know are ignored here (the -drive parser
 * checks them).
 */
BlockBackend *blk_new_open(const char *filename, const char *fmt,
                           QliteOpts *opts, int flags, GError **errp);
/* A backend over an already open node (takes a reference). */
BlockBackend *blk_new_with_bs(BlockDriverState *bs, bool writethrough);
void blk_unref(BlockBackend *blk);

BlockDriverState *blk_bs(BlockBackend *blk);
const char *blk_name(BlockBackend *blk);
int64_t blk_getlength(BlockBackend *blk);
bool blk_is_read_only(BlockBackend *blk);
/* Write cache on: flush only when asked; off: flush after every write. */
void blk_set_enable_write_cache(BlockBackend *blk, bool wce);
bool blk_enable_write_cache(BlockBackend *blk);

/* Synchronous I/O: 0 or -errno. */
int blk_pread(BlockBackend *blk, int64_t offset, int64_t bytes, void *buf);
int blk_pwrite(BlockBackend *blk, int64_t offset, int64_t bytes,
               const void *buf, int flags);
int blk_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                      int flags);
int blk_pwrite_compressed(BlockBackend *blk, int64_t offset, int64_t bytes,
                          const void *buf);
int blk_flush(BlockBackend *blk);
int blk_discard(BlockBackend *blk, int64_t offset, int64_t bytes);
int blk_truncate(BlockBackend *blk, int64_t size, GError **errp);

/*
 * Asynchronous I/O.  The iovec array is copied; the buffers it points to
 * must stay valid until @cb runs.  @cb runs in the main thread.
 */
void blk_aio_preadv(BlockBackend *blk, int64_t offset,
                    const struct iovec *iov, int niov,
                    BlockCompletionFunc *cb, void *opaque);
void blk_aio_pwritev(BlockBackend *blk, int64_t offset,
                     const struct iovec *iov, int niov, int flags,
                     BlockCompletionFunc *cb, void *opaque);
void blk_aio_pwrite_zeroes(BlockBackend *blk, int64_t offset, int64_t bytes,
                           int flags, BlockCompletionFunc *cb, void *opaque);
void blk_aio_flush(BlockBackend *blk, BlockCompletionFunc *cb, void *opaque);
void blk_aio_discard(BlockBackend *blk, int64_t offset, int64_t bytes,
                     BlockCompletionFunc *cb, void *opaque);
/* Requests issued on @blk and not yet completed. */
unsigned blk_in_flight(BlockBackend *blk);
/* Run the main context until @blk has nothing in flight. */
void blk_drain(BlockBackend *blk);

/*
 * Drives from the command line (-drive, -blockdev), ready for devices.
 */
typedef enum {
    IF_NONE,
    IF_IDE,
    IF_SCSI,
    IF_FLOPPY,
    IF_PFLASH,
    IF_MTD,
    IF_SD,
    IF_VIRTIO,
    IF_COUNT
} BlockInterfaceType;

typedef struct DriveInfo {
    char *id;                   /* "drive0", or generated "ide0-hd0" */
    BlockInterfaceType type;
    int bus;
    int unit;
    bool is_cdrom;              /* media=cdrom */
    BlockBackend *blk;          /* NULL for an empty CD-ROM drive */
    bool claimed;               /* a device has attached to it */
} DriveInfo;

const char *block_if_name(BlockInterfaceType type);

/*
 * Parse and open one -drive option string (keys: file, format, if, cache,
 * readonly, snapshot, id, node-name, index, bus, unit, media, aio,
 * discard, plus driver options).  @default_if applies when "if" is absent.
 */
DriveInfo *drive_new(const char *optstr, BlockInterfaceType default_if,
                     GError **errp);
/* The drive at (@type, @bus, @unit), or NULL. */
DriveInfo *drive_get(BlockInterfaceType type, int bus, int unit);
/* Drives of @type no device has claimed yet, in creation order. */
GList *drive_get_unclaimed(BlockInterfaceType type);
/* Close every drive and node (at exit). */
void drive_cleanup_all(void);

/*
 * -blockdev: "driver=qcow2,node-name=n0,file.driver=file,file.filename=x"
 * (or the JSON form).  The node is kept by name for devices to find.
 */
BlockDriverState *blockdev_add(const char *optstr, GError **errp);
BlockDriverState *bdrv_find_node(const char *node_name);

/*
 * What a device's "drive=NAME" property resolves to: a -drive id or a
 * -blockdev node name.  Marks it claimed; a second claim is an error.
 */
BlockBackend *blk_claim_by_name(const char *name, GError **errp);

#endif
