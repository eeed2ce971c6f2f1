/*
 * Fd sets (-add-fd, QMP add-fd/remove-fd/query-fdsets), the "/dev/fdset/N"
 * paths that pick from them, and named fds (QMP getfd/closefd).
 * Main thread only.
 */
#include "qlite/error.h"
#include "qlite/fdset.h"

#include <fcntl.h>
#include <unistd.h>

#define FDSET_PREFIX "/dev/fdset/"

typedef struct FdsetFd {
    int fd;
    char *opaque;
} FdsetFd;

typedef struct Fdset {
    int64_t id;
    GArray *fds;                /* of FdsetFd */
} Fdset;

static GPtrArray *fdsets;       /* of Fdset *, sorted by id */
static GHashTable *named_fds;   /* name -> GINT_TO_POINTER(fd + 1) */

static void fdset_fd_clear(gpointer data)
{
    FdsetFd *f = data;

    close(f->fd);
    g_free(f->opaque);
}

static Fdset *fdset_find(int64_t id)
{
    for (guint i = 0; fdsets && i < fdsets->len; i++) {
        Fdset *set = fdsets->pdata[i];

        if (set->id == id) {
            return set;
        }
    }
    return NULL;
}

static gint fdset_cmp(gconstpointer a, gconstpointer b)
{
    const Fdset *x = *(Fdset *const *)a, *y = *(Fdset *const *)b;

    return x->id < y->id ? -1 : x->id > y->id;
}

static Fdset *fdset_get(int64_t id)
{
    Fdset *set = fdset_find(id);

    if (set) {
        return set;
    }
    if (!fdsets) {
        fdsets = g_ptr_array_new();
    }
    set = g_new0(Fdset, 1);
    set->id = id;
    set->fds = g_array_new(false, false, sizeof(FdsetFd));
    g_array_set_clear_func(set->fds, fdset_fd_clear);
    g_ptr_array_add(fdsets, set);
    g_ptr_array_sort(fdsets, fdset_cmp);
    return set;
}

static int64_t fdset_free_id(void)
{
    int64_t id = 0;

    while (fdset_find(id)) {
        id++;
    }
    return id;
}

int64_t fdset_add_fd(int64_t set_id, int fd, const char *opaque,
                     GError **errp)
{
    FdsetFd f = { .fd = fd, .opaque = g_strdup(opaque) };
    Fdset *set;

    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
        error_setg(errp, "fd is not valid or already in use");
        return -1;
    }
    set = fdset_get(set_id < 0 ? fdset_free_id() : set_id);
    g_array_append_val(set->fds, f);
    return set->id;
}

static void fdset_drop(Fdset *set)
{
    g_ptr_array_remove(fdsets, set);
    g_array_free(set->fds, true);
    g_free(set);
}

bool fdset_remove_fd(int64_t set_id, int64_t fd, GError **errp)
{
    Fdset *set = fdset_find(set_id);

    if (set && fd < 0) {
        fdset_drop(set);
        return true;
    }
    for (guint i = 0; set && i < set->fds->len; i++) {
        if (g_array_index(set->fds, FdsetFd, i).fd == fd) {
            g_array_remove_index(set->fds, i);
            if (!set->fds->len) {
                fdset_drop(set);
            }
            return true;
        }
    }
    if (fd < 0) {
        error_setg(errp, "File descriptor named 'fdset-id:%" PRId64
                   "' not found", set_id);
    } else {
        error_setg(errp, "File descriptor named 'fdset-id:%" PRId64
                   ", fd:%" PRId64 "' not found", set_id, fd);
    }
    return false;
}

void fdset_foreach(FdsetForeachFn fn, void *opaque)
{
    for (guint i = 0; fdsets && i < fdsets->len; i++) {
        Fdset *set = fdsets->pdata[i];
        g_autofree FdsetFdInfo *info = g_new0(FdsetFdInfo, set->fds->len);

        for (guint j = 0; j < set->fds->len; j++) {
            FdsetFd *f = &g_array_index(set->fds, FdsetFd, j);

            info[j] = (FdsetFdInfo){ f->fd, f->opaque };
        }
        fn(set->id, info, set->fds->len, opaque);
    }
}

/* The set's fd opened with @flags' access mode, or -1 with errno set. */
static int fdset_pick(Fdset *set, int flags)
{
    for (guint i = 0; i < set->fds->len; i++) {
        int fd = g_array_index(set->fds, FdsetFd, i).fd;
        int fl = fcntl(fd, F_GETFL);

        if (fl >= 0 && (fl & O_ACCMODE) == (flags & O_ACCMODE)) {
            return fd;
        }
    }
    errno = EACCES;
    return -1;
}

/*
 * A dup from set @id that behaves as open(@flags) would have: O_APPEND,
 * O_NONBLOCK and O_DIRECT are status flags a dup can take; O_TRUNC
 * truncates.
 */
static int fdset_dup(const char *spec, int flags)
{
    uint64_t id;
    Fdset *set;
    int fd, dup;

    if (!g_ascii_string_to_unsigned(spec, 10, 0, INT64_MAX, &id, NULL)) {
        errno = EINVAL;
        return -1;
    }
    set = fdset_find(id);
    if (!set) {
        errno = ENOENT;
        return -1;
    }
    fd = fdset_pick(set, flags);
    if (fd < 0) {
        return -1;
    }
    dup = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
        return -1;
    }
    if (fcntl(dup, F_SETFL, flags & (O_APPEND | O_NONBLOCK | O_DIRECT)) < 0 ||
        ((flags & O_TRUNC) && (flags & O_ACCMODE) != O_RDONLY &&
         ftruncate(dup, 0) < 0)) {
        int err = errno;

        close(dup);
        errno = err;
        return -1;
    }
    return dup;
}

int qlite_open(const char *path, int flags, mode_t mode, GError **errp)
{
    int fd;

    if (g_str_has_prefix(path, FDSET_PREFIX)) {
        fd = fdset_dup(path + strlen(FDSET_PREFIX), flags);
    } else {
        fd = open(path, flags | O_CLOEXEC, mode);
    }
    if (fd < 0) {
        error_setg(errp, "Could not open '%s': %s", path, g_strerror(errno));
    }
    return fd;
}

/* ---- named fds ---- */

static void named_fd_close_value(gpointer v)
{
    close(GPOINTER_TO_INT(v) - 1);
}

void named_fd_add(const char *name, int fd)
{
    if (!named_fds) {
        named_fds = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                          named_fd_close_value);
    }
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    g_hash_table_insert(named_fds, g_strdup(name), GINT_TO_POINTER(fd + 1));
}

bool named_fd_close(const char *name, GError **errp)
{
    if (!named_fds || !g_hash_table_remove(named_fds, name)) {
        error_setg(errp, "File descriptor named '%s' not found", name);
        return false;
    }
    return true;
}

int named_fd_take(const char *name)
{
    gpointer key, v;

    if (!named_fds || !g_hash_table_steal_extended(named_fds, name, &key,
                                                   &v)) {
        return -1;
    }
    g_free(key);
    return GPOINTER_TO_INT(v) - 1;
}

int fd_param_resolve(const char *spec, GError **errp)
{
    uint64_t n;
    int fd;

    if (g_ascii_isdigit(spec[0])) {
        if (!g_ascii_string_to_unsigned(spec, 10, 0, INT_MAX, &n, NULL)) {
            error_setg(errp, "Invalid file descriptor number '%s'", spec);
            return -1;
        }
        return n;
    }
    fd = named_fd_take(spec);
    if (fd < 0) {
        error_setg(errp, "File descriptor named '%s' has not been found",
                   spec);
    }
    return fd;
}
