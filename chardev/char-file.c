/*
 * The file backend: output goes to a file (truncated, or appended to with
 * append=on).  It takes no input.
 */
#include "qlite/chardev.h"
#include "qlite/error.h"
#include "qlite/fdset.h"
#include "char-internal.h"

#include <fcntl.h>
#include <unistd.h>

typedef struct FileChardev {
    Chardev parent;
    int fd;
} FileChardev;

static void char_file_init(Object *obj)
{
    ((FileChardev *)obj)->fd = -1;
}

static bool char_file_open(Chardev *chr, QliteOpts *opts, GError **errp)
{
    FileChardev *s = (FileChardev *)chr;
    const char *path = qopts_get(opts, "path");
    bool append;
    int flags = O_WRONLY | O_CREAT;

    if (!qopts_get_bool(opts, "append", false, &append, errp)) {
        return false;
    }
    if (!path || !*path) {
        error_setg(errp, "chardev: file: no filename given");
        return false;
    }
    flags |= append ? O_APPEND : O_TRUNC;
    /* "/dev/fdset/N": libvirt passes the file it opened itself. */
    s->fd = qlite_open(path, flags, 0666, errp);
    if (s->fd < 0) {
        return false;
    }
    chr_be_event(chr, CHR_EVENT_OPENED);
    return true;
}

static int char_file_write(Chardev *chr, const uint8_t *buf, int len)
{
    FileChardev *s = (FileChardev *)chr;
    ssize_t n;

    do {
        n = write(s->fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : (int)n;
}

static void char_file_close(Chardev *chr)
{
    FileChardev *s = (FileChardev *)chr;

    if (s->fd >= 0) {
        close(s->fd);
        s->fd = -1;
    }
}

static void char_file_class_init(ObjectClass *oc, const void *data)
{
    ChardevClass *cc = (ChardevClass *)oc;

    cc->backend = "file";
    cc->open = char_file_open;
    cc->write = char_file_write;
    cc->close = char_file_close;
}

static const TypeInfo char_file_info = {
    .name = "chardev-file",
    .parent = TYPE_CHARDEV,
    .instance_size = sizeof(FileChardev),
    .class_size = sizeof(ChardevClass),
    .instance_init = char_file_init,
    .class_init = char_file_class_init,
};

type_init(char_file_register_types)
{
    type_register(&char_file_info);
}
