/*
 * Image locking as QEMU does it, so that qlite and QEMU (and qemu-img)
 * never write one image at once.  Each opener holds shared OFD read locks
 * on single bytes of the image file: byte 100+N for each permission N it
 * uses, byte 200+N for each permission it does not let others have.  An
 * opener conflicts with another when it wants a permission the other
 * keeps for itself, or keeps one the other uses.  (Observed on QEMU 7.2:
 * a writable qcow2 holds 100, 101, 103, 201, 203; a read-only one 100,
 * 201.)  OFD locks belong to the open file description, so they vanish
 * with the last descriptor, also on SIGKILL.
 */
#include "block_int.h"

#include <fcntl.h>

#define LOCK_PERM_BASE      100
#define LOCK_SHARED_BASE    200

enum {
    PERM_CONSISTENT_READ = 0,
    PERM_WRITE = 1,
    PERM_WRITE_UNCHANGED = 2,
    PERM_RESIZE = 3,
    PERM_COUNT = 4,
};

static const char *const perm_names[PERM_COUNT] = {
    "consistent read", "write", "write unchanged", "resize",
};

static int lock_byte(int fd, int64_t byte, short type, int cmd)
{
    struct flock fl = {
        .l_type = type, .l_whence = SEEK_SET, .l_start = byte, .l_len = 1,
    };

    if (fcntl(fd, cmd, &fl) < 0) {
        return -errno;
    }
    return cmd == F_OFD_GETLK ? fl.l_type != F_UNLCK : 0;
}

/* 1 when someone else holds a lock on @byte, 0 if not, or -errno. */
static int byte_held_by_others(int fd, int64_t byte)
{
    return lock_byte(fd, byte, F_WRLCK, F_OFD_GETLK);
}

int file_lock_image(int fd, const char *filename, bool writable,
                    GError **errp)
{
    unsigned perms = 1u << PERM_CONSISTENT_READ;
    unsigned unshared = 1u << PERM_WRITE;

    if (writable) {
        perms |= 1u << PERM_WRITE | 1u << PERM_RESIZE;
        unshared |= 1u << PERM_RESIZE;
    }
    /* Lock first, then look: two openers racing both see each other. */
    for (int i = 0; i < PERM_COUNT; i++) {
        int r = 0;
        if (perms & (1u << i)) {
            r = lock_byte(fd, LOCK_PERM_BASE + i, F_RDLCK, F_OFD_SETLK);
        }
        if (r == 0 && (unshared & (1u << i))) {
            r = lock_byte(fd, LOCK_SHARED_BASE + i, F_RDLCK, F_OFD_SETLK);
        }
        if (r == -EINVAL || r == -ENOTSUP || r == -ENOLCK) {
            /* No OFD locks on this file system: as QEMU, go on unlocked. */
            return 0;
        }
        if (r < 0) {
            error_setg(errp, "Failed to lock '%s': %s", filename,
                       g_strerror(-r));
            return r;
        }
    }
    for (int i = 0; i < PERM_COUNT; i++) {
        bool mine = (perms & (1u << i)) &&
                    byte_held_by_others(fd, LOCK_SHARED_BASE + i) > 0;
        bool theirs = (unshared & (1u << i)) &&
                      byte_held_by_others(fd, LOCK_PERM_BASE + i) > 0;
        if (mine || theirs) {
            error_setg(errp, "Failed to get %s\"%s\" lock: is another "
                       "process using the image [%s]?",
                       mine ? "" : "shared ", perm_names[i], filename);
            return -EAGAIN;
        }
    }
    return 0;
}

bool block_parse_locking(QliteOpts *opts, const char *key, int *flags,
                         GError **errp)
{
    const char *v = qopts_get(opts, key);

    if (!v || !strcmp(v, "on") || !strcmp(v, "auto")) {
        *flags |= BDRV_O_LOCK;
        return true;
    }
    if (!strcmp(v, "off")) {
        *flags &= ~BDRV_O_LOCK;
        return true;
    }
    error_setg(errp, "Parameter '%s' does not accept value '%s'", key, v);
    return false;
}
