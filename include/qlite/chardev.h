/*
 * Character devices: the byte streams behind serial ports and monitors.
 *
 * A backend (stdio, null, file, pty, socket, mux) is a Chardev object
 * ("chardev-stdio", ...).  A device holds a CharBackend, the front end's
 * handle: it writes with chr_fe_write_all() and receives input through the
 * handlers it installs.  Input flows only as fast as the front end's
 * can_read() allows; chr_fe_accept_input() says it has room again.
 * Everything here runs in the main thread under the big lock.
 */
#ifndef QLITE_CHARDEV_H
#define QLITE_CHARDEV_H

#include "qlite/object.h"
#include "qlite/keyval.h"

#define TYPE_CHARDEV "chardev"

typedef struct Chardev Chardev;

typedef enum {
    CHR_EVENT_OPENED,       /* peer connected / backend ready */
    CHR_EVENT_CLOSED,       /* peer went away */
    CHR_EVENT_BREAK,        /* serial break (Ctrl-a b in the mux) */
    CHR_EVENT_MUX_IN,       /* this front end got the mux focus */
    CHR_EVENT_MUX_OUT,      /* ... and lost it */
} ChrEvent;

typedef int (*ChrCanReadFn)(void *opaque);
typedef void (*ChrReadFn)(void *opaque, const uint8_t *buf, int len);
typedef void (*ChrEventFn)(void *opaque, ChrEvent event);

typedef struct CharBackend {
    Chardev *chr;
    ChrCanReadFn can_read;
    ChrReadFn read;
    ChrEventFn event;
    void *opaque;
    int tag;                /* our slot in a mux */
} CharBackend;

struct Chardev {
    Object parent;
    char *label;            /* the id */
    char *filename;         /* for query-chardev: "pty:/dev/pts/3" */
    CharBackend *be;        /* the one front end (a mux has several) */
    bool be_open;           /* peer connected */
    bool in_mux;            /* owned by a mux, not given out directly */
};

typedef struct ChardevClass {
    ObjectClass parent;
    const char *backend;    /* "stdio", as in -chardev stdio,id=x */
    bool (*open)(Chardev *chr, QliteOpts *opts, GError **errp);
    /* Write what we can; return bytes written or -errno. */
    int (*write)(Chardev *chr, const uint8_t *buf, int len);
    /* The front end can take input again. */
    void (*accept_input)(Chardev *chr);
    /* Front end handlers changed (a mux passes it on). */
    void (*update_handlers)(Chardev *chr);
    void (*close)(Chardev *chr);
    /* Take one fd the peer passed (SCM_RIGHTS), or -1; NULL: never. */
    int (*get_msgfd)(Chardev *chr);
} ChardevClass;

#define CHARDEV(obj) OBJECT_CHECK(Chardev, (obj), TYPE_CHARDEV)
#define CHARDEV_GET_CLASS(obj) \
    OBJECT_GET_CLASS(ChardevClass, (obj), TYPE_CHARDEV)

/* -chardev BACKEND,id=ID,...; opts holds "backend" as the implied key. */
Chardev *chardev_new_from_opts(QliteOpts *opts, GError **errp);
/*
 * The legacy forms of -serial/-monitor/-qmp: "stdio", "null", "pty",
 * "file:PATH", "unix:PATH[,server=on,wait=off]", "tcp:HOST:PORT[,...]",
 * "mon:stdio", "none", "chardev:ID".  NULL with no error for "none".
 */
Chardev *chardev_new_legacy(const char *label, const char *spec,
                            GError **errp);
Chardev *chardev_find(const char *id);
/* All chardevs, for query-chardev. */
GPtrArray *chardev_list(void);
/* Close and free every chardev (exit path; restores the terminal). */
void chardev_cleanup_all(void);

/* Front-end side. */
bool chr_fe_init(CharBackend *be, Chardev *chr, GError **errp);
void chr_fe_deinit(CharBackend *be);
void chr_fe_set_handlers(CharBackend *be, ChrCanReadFn can_read,
                         ChrReadFn read, ChrEventFn event, void *opaque);
/* Write all of @buf (blocking briefly if needed); bytes or -errno. */
int chr_fe_write_all(CharBackend *be, const uint8_t *buf, int len);
void chr_fe_accept_input(CharBackend *be);
/*
 * The fd the peer sent with its latest bytes (unix sockets; QMP add-fd
 * and getfd), now the caller's; -1 if none.
 */
int chr_fe_get_msgfd(CharBackend *be);
bool chr_fe_backend_connected(CharBackend *be);

/* Back-end side: deliver input and events to the front end. */
int chr_be_can_write(Chardev *chr);
void chr_be_write(Chardev *chr, const uint8_t *buf, int len);
void chr_be_event(Chardev *chr, ChrEvent event);

/*
 * Mux (-nographic, mon:stdio): Ctrl-a x quits, Ctrl-a h prints help,
 * Ctrl-a c switches between serial console and monitor, Ctrl-a b sends
 * a break, Ctrl-a Ctrl-a sends a Ctrl-a.
 */
bool chardev_is_mux(Chardev *chr);

#endif
