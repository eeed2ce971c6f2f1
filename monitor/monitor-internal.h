/*
 * Monitor internals shared by the files in monitor/ (not for use outside).
 *
 *   qmp-stream.c   splits a byte stream into JSON texts (pure)
 *   qmp-schema.c   the type, command and event tables; introspection, docs
 *   qmp-check.c    checks command arguments against the schema
 *   qmp.c          a QMP session: parse, negotiate, dispatch, reply
 *   qmp-cmds*.c    the command handlers (machine, QOM and devices, PCI)
 *   hmp.c          the human monitor: line editing and its command table
 *   monitor.c      monitors on chardevs: output queues, events, lifecycle
 */
#ifndef QLITE_MONITOR_INTERNAL_H
#define QLITE_MONITOR_INTERNAL_H

#include "qlite/monitor.h"

#include <jansson.h>

/* ---- qmp-stream.c ---- */

/* A message larger than this is answered with an error and dropped. */
#define QMP_STREAM_MAX_BYTES (1024 * 1024)
/* As QEMU: deeper nesting than this is an error. */
#define QMP_STREAM_MAX_DEPTH 1024

/*
 * Called once per top-level JSON text: @text/@len is the text (not NUL
 * terminated), or @error says why the bytes were dropped (then @text is
 * NULL).
 */
typedef void (*QmpStreamEmitFn)(void *opaque, const char *text, size_t len,
                                const char *error);

typedef struct QmpStream {
    GString *buf;
    int state;          /* QMP_STREAM_* in qmp-stream.c */
    int depth;          /* open brackets and braces */
    char quote;         /* inside a string: its quote; else 0 */
    bool escape;        /* the previous byte in a string was '\' */
    bool discard;       /* over a limit: drop until the message ends */
    QmpStreamEmitFn emit;
    void *opaque;
} QmpStream;

void qmp_stream_init(QmpStream *st, QmpStreamEmitFn emit, void *opaque);
void qmp_stream_feed(QmpStream *st, const uint8_t *buf, size_t len);
/* Forget a partial message (the peer went away). */
void qmp_stream_reset(QmpStream *st);
void qmp_stream_destroy(QmpStream *st);

/* ---- qmp-schema.c ---- */

typedef enum {
    QMP_TYPE_BUILTIN,
    QMP_TYPE_OBJECT,
    QMP_TYPE_ENUM,
    QMP_TYPE_ARRAY,
} QmpTypeKind;

typedef struct QmpType QmpType;

typedef struct QmpMember {
    char *name;
    const QmpType *type;
    bool optional;
} QmpMember;

struct QmpType {
    QmpTypeKind kind;
    char *name;                 /* "str", "StatusInfo", "[str]", "" */
    const char *json_type;      /* builtin: "string", "int", ... */
    GPtrArray *members;         /* object: of QmpMember * */
    GPtrArray *values;          /* enum: of char * */
    const QmpType *element;     /* array */
    const char *doc;
    char *masked;               /* the name query-qmp-schema shows */
};

/* Command flags. */
#define QMP_CMD_BEFORE_CAPS  (1u << 0)  /* allowed before negotiation */
#define QMP_CMD_EXTRA_ARGS   (1u << 1)  /* takes arguments beyond its own */

typedef struct QmpCommandInfo {
    const char *name;
    const char *args;           /* member list: "path:str,*id:str" */
    const char *ret;            /* type name; "" for {} */
    unsigned flags;
    const char *doc;
} QmpCommandInfo;

typedef struct QmpEventInfo {
    const char *name;
    const char *data;           /* member list, "" for none */
    const char *doc;
} QmpEventInfo;

extern const QmpCommandInfo qmp_command_info[];
extern const size_t qmp_command_count;
extern const QmpEventInfo qmp_event_info[];
extern const size_t qmp_event_count;

/* Index into qmp_command_info, or -1. */
int qmp_schema_find_command(const char *name);
/* The resolved argument type of command @index (an object type). */
const QmpType *qmp_schema_command_args(size_t index);
/* The SchemaInfo list query-qmp-schema returns. */
json_t *qmp_schema_introspect(void);
/* docs/qmp.md: every command, event and type in markdown. */
void qmp_schema_print_doc(GString *out);

/* ---- qmp-check.c ---- */

/*
 * Check @args (an object) against @type.  With @extra_ok, members the
 * type does not name are left for the handler.  Errors use QEMU's wording.
 */
bool qmp_check_args(const QmpType *type, json_t *args, bool extra_ok,
                    GError **errp);

/* ---- qmp.c ---- */

typedef struct QmpSession QmpSession;
/* Deliver one reply or event; @msg is borrowed. */
typedef void (*QmpSendFn)(QmpSession *s, json_t *msg);

struct QmpSession {
    QmpStream stream;
    bool negotiated;
    QmpSendFn send;
    void *opaque;
    /* An fd the client passed (SCM_RIGHTS), now the caller's; NULL or -1:
     * none (getfd, add-fd). */
    int (*take_fd)(QmpSession *s);
};

void qmp_session_init(QmpSession *s, QmpSendFn send, void *opaque);
/* A new peer: back to before negotiation, partial input dropped. */
void qmp_session_reset(QmpSession *s);
void qmp_session_destroy(QmpSession *s);
void qmp_session_feed(QmpSession *s, const uint8_t *buf, size_t len);
/* {"QMP": {"version": ..., "capabilities": []}} */
json_t *qmp_greeting(void);
/* Run one request; returns the reply (a new reference). */
json_t *qmp_dispatch(QmpSession *s, json_t *req);
/* {"event": ..., "data": ..., "timestamp": ...}; NULL data for none. */
json_t *qmp_event_message(const char *name, json_t *data);

/* ---- command handlers (qmp-cmds*.c, hmp.c) ---- */

/* Returns the "return" value (new reference), or NULL with @errp set. */
typedef json_t *(*QmpHandler)(QmpSession *s, json_t *args, GError **errp);

#define QMP_COMMAND(name, fn, args, ret, flags, doc) \
    json_t *qmp_cmd_##fn(QmpSession *s, json_t *a, GError **errp);
#include "qmp-commands.def"
#undef QMP_COMMAND

/* ---- small JSON helpers (qmp-cmds.c) ---- */

/* The string member @key of @obj, or NULL (the schema checked types). */
const char *qmp_arg_str(json_t *args, const char *key);
/* The boolean member @key, or @def when absent. */
bool qmp_arg_bool(json_t *args, const char *key, bool def);
/* A property value string rendered as JSON for its QOM/qdev @type. */
json_t *qmp_value_from_prop(const char *type, const char *value);

/* ---- hmp.c: the human monitor's terminal side ---- */

typedef struct Monitor Monitor;
typedef struct HmpState HmpState;

HmpState *hmp_new(Monitor *mon, bool muxed);
void hmp_free(HmpState *h);
int hmp_can_read(HmpState *h);
void hmp_input(HmpState *h, const uint8_t *buf, int len);
void hmp_event(HmpState *h, ChrEvent event);

/* ---- hmp-cmds.c ---- */

/*
 * Run one HMP command line, appending its output ('\n' line ends) to
 * @out.  @cpu_index picks the CPU "info registers" shows (-1: the first).
 */
void hmp_execute(const char *line, int cpu_index, GString *out);

/* ---- qmp-cmds-pci.c ---- */

/* "info pci": every function on the root PCI bus. */
void hmp_print_pci(GString *out);

/* ---- net-cmds.c: HMP network commands ---- */

void hmp_info_network(GString *out, const char *args, int cpu_index);
void hmp_set_link(GString *out, const char *args, int cpu_index);
void hmp_hostfwd_add(GString *out, const char *args, int cpu_index);
void hmp_hostfwd_remove(GString *out, const char *args, int cpu_index);
void hmp_netdev_add(GString *out, const char *args, int cpu_index);
void hmp_netdev_del(GString *out, const char *args, int cpu_index);

/* ---- qmp-cmds-stats.c: query-stats and "info stats" ---- */

/* The QOM path of vCPU @index, as query-cpus-fast and query-stats give. */
char *qmp_cpu_qom_path(int index);
/* "info stats target [names] [provider]" */
void hmp_info_stats(GString *out, const char *args, int cpu_index);

/* ---- monitor.c ---- */

/* Queue text for @mon's peer ('\n' is sent as "\r\n"). */
void monitor_printf(Monitor *mon, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
