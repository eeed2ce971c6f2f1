/*
 * Internals shared by the chardev backends (not for use outside chardev/).
 *
 * Conventions every backend follows:
 * - open() may fail half way; the core then calls close(), so close() must
 *   release whatever open() got and tolerate what it did not get.
 * - write() never blocks: it returns the bytes it took, -EAGAIN when the
 *   peer cannot take more now, or the full length when output is dropped
 *   on purpose (nobody connected).  chardev_write_all() does the waiting.
 * - Input comes from a ChardevFdSource, which polls its fd only while the
 *   front end can take bytes, so a full front end costs no CPU.
 */
#ifndef QLITE_CHAR_INTERNAL_H
#define QLITE_CHAR_INTERNAL_H

#include "qlite/chardev.h"

#define TYPE_CHARDEV_MUX "chardev-mux"

/* Bytes read from an fd in one go. */
#define CHARDEV_READ_CHUNK 4096

/* char.c */

/* Write all of @buf through the class's write(), waiting a bounded time. */
int chardev_write_all(Chardev *chr, const uint8_t *buf, int len);
void chardev_set_filename(Chardev *chr, const char *fmt, ...)
    G_GNUC_PRINTF(2, 3);
/* Bytes the front end can take now, capped to CHARDEV_READ_CHUNK. */
int chardev_read_budget(Chardev *chr);

/*
 * An input source: calls @readable(chr) when @fd has input (or hung up)
 * and the front end can take bytes.  Attached to the default context.
 */
typedef void (*ChardevReadableFn)(Chardev *chr);
GSource *chardev_fd_source_new(Chardev *chr, int fd,
                               ChardevReadableFn readable);
/* Destroy and unref *@src; safe on NULL and from its own callback. */
void chardev_fd_source_remove(GSource **src);

/* Switch @fd to non-blocking, close-on-exec mode. */
bool chardev_fd_set_nonblock(int fd);

/* char-mux.c: the hooks char.c routes front-end and back-end calls to. */
bool char_mux_attach(Chardev *chr, CharBackend *be, GError **errp);
void char_mux_detach(Chardev *chr, CharBackend *be);
void char_mux_handlers_set(Chardev *chr, CharBackend *be);
int char_mux_can_write(Chardev *chr);
void char_mux_input(Chardev *chr, const uint8_t *buf, int len);
void char_mux_event(Chardev *chr, ChrEvent event);

#endif
