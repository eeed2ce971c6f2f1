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

#include <jansson.h>
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
#define BDRV_O_LOCK         0x4000  /* take QEMU's image locks (emulator) */

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
    BlockBackend *blk;          /* has no medium for an empty CD-ROM */
    char *serial;               /* serial=, for the device made for it */
    char *devaddr;              /* addr= (if=virtio): its PCI slot */
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
/* -snapshot: drives without snapshot= write to a temporary overlay. */
void drive_set_snapshot_default(bool on);
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
/* Open an image node (locked as the emulator locks); drop with unref. */
BlockDriverState *bdrv_open_image(const char *filename, const char *fmt,
                                  bool read_only, GError **errp);
void bdrv_unref(BlockDriverState *bs);
/* -blockdev / blockdev-add nodes, in creation order. */
GList *bdrv_named_nodes(void);
/* blockdev-del: drop a node no device and no other node uses. */
bool blockdev_del(const char *node_name, GError **errp);

/*
 * What a device's "drive=NAME" property resolves to: a -drive id or a
 * -blockdev node name.  Marks it claimed by @dev (for query-block); a
 * second claim is an error.  blk_detach_dev() undoes it at unrealize.
 */
struct DeviceState;
BlockBackend *blk_claim_by_name(const char *name, struct DeviceState *dev,
                                GError **errp);
void blk_detach_dev(BlockBackend *blk);
/*
 * An empty, nameless backend of @dev's own (an ide-cd without drive=):
 * a medium can be inserted later (blockdev-insert-medium with id=); it
 * goes away at blk_detach_dev().
 */
BlockBackend *blk_new_for_dev(struct DeviceState *dev);
struct DeviceState *blk_get_attached_dev(BlockBackend *blk);
/* Its qdev id, else its QOM path; "" when none is attached. */
char *blk_get_attached_dev_id(BlockBackend *blk);
/*
 * A device whose real block device is a child object (virtio proxies:
 * "virtio-backend") names it, so query-block's "qdev" is QEMU's path.
 */
void blk_set_dev_child(BlockBackend *blk, const char *child);
const char *blk_get_dev_child(BlockBackend *blk);
/* Every backend a device or -drive made, in creation order (QMP). */
GList *blk_list(void);

/*
 * Removable media (CD-ROM).  A backend may have no medium: an empty drive
 * (media=cdrom, no file) or after an eject.  I/O then fails with
 * -ENOMEDIUM.  The device tells the block layer about its tray through
 * these callbacks; QMP eject and blockdev-change-medium go through them.
 */
typedef struct BlockDevOps {
    /*
     * QMP moves the tray: @load false opens it (the medium may go), true
     * closes it (the medium may be new: the device tells the guest, as
     * for an ATAPI UNIT ATTENTION).  The device emits DEVICE_TRAY_MOVED
     * through blk_tray_moved() when the tray really moved.
     */
    void (*change_media_cb)(void *opaque, bool load);
    /* QMP asks for the tray while the guest locks it: tell the guest. */
    void (*eject_request_cb)(void *opaque, bool force);
    bool (*is_tray_open)(void *opaque);
    bool (*is_medium_locked)(void *opaque);
    /* The medium changed size (block_resize): tell the guest. */
    void (*resize_cb)(void *opaque);
} BlockDevOps;

BlockBackend *blk_new_empty(const char *name);
void blk_set_dev_ops(BlockBackend *blk, const BlockDevOps *ops,
                     void *opaque);
bool blk_is_removable(BlockBackend *blk);
bool blk_is_inserted(BlockBackend *blk);
bool blk_dev_is_tray_open(BlockBackend *blk);
bool blk_dev_is_medium_locked(BlockBackend *blk);
/* The device moved its tray (guest eject/load): DEVICE_TRAY_MOVED. */
void blk_tray_moved(BlockBackend *blk, bool open);
/*
 * Take the medium out / put @bs in (takes a ref); the tray must be open.
 * Neither calls the device: QMP opens and closes the tray around them.
 */
void blk_remove_bs(BlockBackend *blk);
/* Call the device's change_media_cb / eject_request_cb, if it has them. */
void blk_dev_change_media(BlockBackend *blk, bool load);
void blk_dev_eject_request(BlockBackend *blk, bool force);
void blk_insert_bs(BlockBackend *blk, BlockDriverState *bs);

/*
 * The device's name as QMP shows it: the -drive id, or "" for a backend
 * that a -device made over a -blockdev node.
 */
const char *blk_device_name(BlockBackend *blk);

/* What to do on an I/O error (-drive werror=, rerror=). */
typedef enum {
    BLOCKDEV_ON_ERROR_REPORT,
    BLOCKDEV_ON_ERROR_IGNORE,
    BLOCKDEV_ON_ERROR_ENOSPC,
    BLOCKDEV_ON_ERROR_STOP,
    BLOCKDEV_ON_ERROR_AUTO,
} BlockdevOnError;

typedef enum {
    BLOCK_ERROR_ACTION_REPORT,
    BLOCK_ERROR_ACTION_IGNORE,
    BLOCK_ERROR_ACTION_STOP,
} BlockErrorAction;

bool blk_parse_on_error(const char *s, bool is_read, BlockdevOnError *out,
                        GError **errp);
void blk_set_on_error(BlockBackend *blk, BlockdevOnError rerror,
                      BlockdevOnError werror);
BlockdevOnError blk_get_on_error(BlockBackend *blk, bool is_read);
const char *blk_on_error_name(BlockdevOnError e);
/* The action for a failed request with -errno @error. */
BlockErrorAction blk_get_error_action(BlockBackend *blk, bool is_read,
                                      int error);
/*
 * Act on it: emit BLOCK_IO_ERROR, and for STOP stop the VM (the device
 * keeps the request and redoes it when the VM runs again).
 */
void blk_error_action(BlockBackend *blk, BlockErrorAction action,
                      bool is_read, int error);


/* Per-backend counters, kept by the blk_aio_* calls (query-blockstats). */
typedef struct BlockAcctStats {
    uint64_t rd_bytes, wr_bytes, unmap_bytes;
    uint64_t rd_operations, wr_operations, flush_operations;
    uint64_t unmap_operations, zone_append_operations;
    uint64_t failed_rd_operations, failed_wr_operations;
    uint64_t failed_flush_operations, failed_unmap_operations;
    uint64_t rd_total_time_ns, wr_total_time_ns, flush_total_time_ns;
    uint64_t unmap_total_time_ns;
    uint64_t wr_highest_offset;
    int64_t idle_since_ns;      /* clock of the last completion, or -1 */
} BlockAcctStats;

const BlockAcctStats *blk_get_stats(BlockBackend *blk);

/* "ok", "failed" or "nospace": the last error that stopped the VM. */
const char *blk_iostatus_name(BlockBackend *blk);

/* QMP and HMP views (block/qapi-block.c), in QEMU 7.2's shapes. */
json_t *qmp_block_query_block(void);
json_t *qmp_block_query_named_nodes(void);
/* @query_nodes: per named node instead of per device. */
json_t *qmp_block_query_blockstats(bool query_nodes);
void hmp_block_info(GString *out);
/* The backend of a -drive id or a device's qdev id or QOM path. */
BlockBackend *blk_by_device(const char *device, const char *id,
                            GError **errp);

/* Resize the medium (QMP block_resize). */
int blk_resize(BlockBackend *blk, int64_t size, GError **errp);

#endif
