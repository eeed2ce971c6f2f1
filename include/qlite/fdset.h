/*
 * File descriptors handed to qlite by whoever started it (-add-fd) or over
 * the QMP socket (SCM_RIGHTS with add-fd or getfd), as libvirt passes
 * them: qlite itself may not be able to open the file.
 *
 * An fd set is a numbered group of fds for one file, usually opened with
 * different access modes.  A path "/dev/fdset/N" given wherever qlite
 * opens a file by name picks from set N the fd whose access mode
 * (O_RDONLY, O_WRONLY, O_RDWR) is the one asked for, and uses a dup of it.
 * Users only ever hold dups, so remove-fd closes the set's own fd at once
 * (QEMU keeps it until its dups are closed; nothing can tell the two
 * apart, as a dup stays valid when the fd it came from is closed).
 *
 * Named fds (getfd/closefd) are a separate list, looked up by name.
 */
#ifndef QLITE_FDSET_H
#define QLITE_FDSET_H

#include "qlite/osdep.h"

typedef struct FdsetFdInfo {
    int fd;
    const char *opaque;         /* NULL: none given */
} FdsetFdInfo;

/*
 * Put @fd (owned by the set from now) into set @set_id; a negative id
 * picks the lowest unused one.  Returns the set's id, or -1 with @errp.
 */
int64_t fdset_add_fd(int64_t set_id, int fd, const char *opaque,
                     GError **errp);
/* Remove one fd (@fd >= 0) or the whole set (@fd < 0). */
bool fdset_remove_fd(int64_t set_id, int64_t fd, GError **errp);
/* Calls @fn for every set with its live fds, in id order. */
typedef void (*FdsetForeachFn)(int64_t set_id, const FdsetFdInfo *fds,
                               size_t n, void *opaque);
void fdset_foreach(FdsetForeachFn fn, void *opaque);

/*
 * open(2) that also takes "/dev/fdset/N".  @flags as for open(2);
 * O_CLOEXEC is always added.  Returns an fd, or -1 with @errp set to
 * "Could not open 'PATH': REASON".
 */
int qlite_open(const char *path, int flags, mode_t mode, GError **errp);

/* getfd/closefd: fds by name; adding over an existing name replaces it. */
void named_fd_add(const char *name, int fd);
bool named_fd_close(const char *name, GError **errp);
/* Take the named fd out of the list (the caller owns it), or -1. */
int named_fd_take(const char *name);
/*
 * An "fd=" value: a number (an fd we inherited or were given), or the
 * name of one passed with getfd (taken from the list).  -1 with
 * QEMU's "File descriptor named 'X' has not been found" when neither.
 */
int fd_param_resolve(const char *spec, GError **errp);

#endif
