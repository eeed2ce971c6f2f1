/*
 * Fds passed over the QMP socket: add-fd/remove-fd/query-fdsets (fd sets
 * that "/dev/fdset/N" paths open) and getfd/closefd (fds by name).
 */
#include "qlite/error.h"
#include "qlite/fdset.h"
#include "monitor-internal.h"

#include <unistd.h>

/* The fd that came with this command, or -1 with QEMU's error. */
static int qmp_take_fd(QmpSession *s, GError **errp)
{
    int fd = s->take_fd ? s->take_fd(s) : -1;

    if (fd < 0) {
        error_setg(errp, "No file descriptor supplied via SCM_RIGHTS");
    }
    return fd;
}

json_t *qmp_cmd_add_fd(QmpSession *s, json_t *a, GError **errp)
{
    json_t *id = json_object_get(a, "fdset-id");
    int64_t set = id ? json_integer_value(id) : -1;
    int fd;

    if (id && set < 0) {
        error_setg(errp, "Parameter 'fdset-id' expects a non-negative "
                   "value");
        return NULL;
    }
    fd = qmp_take_fd(s, errp);
    if (fd < 0) {
        return NULL;
    }
    set = fdset_add_fd(set, fd, qmp_arg_str(a, "opaque"), errp);
    if (set < 0) {
        close(fd);
        return NULL;
    }
    return json_pack("{s:I,s:i}", "fdset-id", (json_int_t)set, "fd", fd);
}

json_t *qmp_cmd_remove_fd(QmpSession *s, json_t *a, GError **errp)
{
    json_t *fd = json_object_get(a, "fd");
    int64_t set = json_integer_value(json_object_get(a, "fdset-id"));

    if (!fdset_remove_fd(set, fd ? json_integer_value(fd) : -1, errp)) {
        return NULL;
    }
    return json_object();
}

static void qmp_fdset_one(int64_t set_id, const FdsetFdInfo *fds, size_t n,
                          void *opaque)
{
    json_t *list = json_array();

    for (size_t i = 0; i < n; i++) {
        json_t *f = json_pack("{s:i}", "fd", fds[i].fd);

        if (fds[i].opaque) {
            json_object_set_new(f, "opaque", json_string(fds[i].opaque));
        }
        json_array_append_new(list, f);
    }
    json_array_append_new(opaque, json_pack("{s:I,s:o}", "fdset-id",
                                            (json_int_t)set_id, "fds",
                                            list));
}

json_t *qmp_cmd_query_fdsets(QmpSession *s, json_t *a, GError **errp)
{
    json_t *list = json_array();

    fdset_foreach(qmp_fdset_one, list);
    return list;
}

json_t *qmp_cmd_getfd(QmpSession *s, json_t *a, GError **errp)
{
    const char *name = qmp_arg_str(a, "fdname");
    int fd;

    if (g_ascii_isdigit(name[0])) {
        error_setg(errp, "Parameter 'fdname' expects a name not starting "
                   "with a digit");
        return NULL;
    }
    fd = qmp_take_fd(s, errp);
    if (fd < 0) {
        return NULL;
    }
    named_fd_add(name, fd);
    return json_object();
}

json_t *qmp_cmd_closefd(QmpSession *s, json_t *a, GError **errp)
{
    return named_fd_close(qmp_arg_str(a, "fdname"), errp) ? json_object()
                                                           : NULL;
}
