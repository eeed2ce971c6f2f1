/*
 * QMP input framing: a byte stream in, one top-level JSON text at a time
 * out.  Nothing is parsed here beyond what finding the end of a text
 * needs (brackets, braces, strings and escapes), so several messages in
 * one read and one message split across reads both come out whole.
 *
 * As in QEMU's streamer, a message is not line based: "{...}{...}" is two
 * messages and one object may span many lines.  Bare scalars ("123",
 * "foo") end at the first delimiter and are passed on for the parser to
 * reject.  A message over QMP_STREAM_MAX_BYTES or deeper than
 * QMP_STREAM_MAX_DEPTH is reported once and the rest of it is dropped, so
 * memory stays bounded whatever a client sends.
 */
#include "monitor-internal.h"

enum {
    QMP_STREAM_IDLE,        /* between messages */
    QMP_STREAM_NESTED,      /* inside an object or array */
    QMP_STREAM_STRING,      /* a top-level string */
    QMP_STREAM_SCALAR,      /* a top-level number or keyword */
};

void qmp_stream_init(QmpStream *st, QmpStreamEmitFn emit, void *opaque)
{
    memset(st, 0, sizeof(*st));
    st->buf = g_string_new(NULL);
    st->emit = emit;
    st->opaque = opaque;
}

void qmp_stream_reset(QmpStream *st)
{
    g_string_truncate(st->buf, 0);
    st->state = QMP_STREAM_IDLE;
    st->depth = 0;
    st->quote = 0;
    st->escape = false;
    st->discard = false;
}

void qmp_stream_destroy(QmpStream *st)
{
    if (st->buf) {
        g_string_free(st->buf, true);
        st->buf = NULL;
    }
}

static void qmp_stream_error(QmpStream *st, const char *msg)
{
    st->emit(st->opaque, NULL, 0, msg);
}

/* The current message is complete: hand it on and start over. */
static void qmp_stream_finish(QmpStream *st)
{
    bool discard = st->discard;
    g_autoptr(GString) text = st->buf;

    st->buf = g_string_new(NULL);
    qmp_stream_reset(st);
    if (!discard) {
        st->emit(st->opaque, text->str, text->len, NULL);
    }
}

/* Keep @c unless the message is being dropped; enforce the size cap. */
static void qmp_stream_append(QmpStream *st, char c)
{
    if (st->discard) {
        return;
    }
    if (st->buf->len >= QMP_STREAM_MAX_BYTES) {
        st->discard = true;
        g_string_truncate(st->buf, 0);
        qmp_stream_error(st, "JSON token size limit exceeded");
        return;
    }
    g_string_append_c(st->buf, c);
}

/* Track quotes and escapes; true while @c is inside a string. */
static bool qmp_stream_in_string(QmpStream *st, char c)
{
    if (st->quote) {
        if (st->escape) {
            st->escape = false;
        } else if (c == '\\') {
            st->escape = true;
        } else if (c == st->quote) {
            st->quote = 0;
        }
        return true;
    }
    if (c == '"' || c == '\'') {
        st->quote = c;
        return true;
    }
    return false;
}

static void qmp_stream_nested(QmpStream *st, char c)
{
    qmp_stream_append(st, c);
    if (qmp_stream_in_string(st, c)) {
        return;
    }
    if (c == '{' || c == '[') {
        st->depth++;
        if (st->depth > QMP_STREAM_MAX_DEPTH && !st->discard) {
            st->discard = true;
            g_string_truncate(st->buf, 0);
            qmp_stream_error(st, "JSON nesting depth limit exceeded");
        }
    } else if (c == '}' || c == ']') {
        st->depth--;
        if (st->depth == 0) {
            qmp_stream_finish(st);
        }
    }
}

static bool qmp_stream_is_scalar_char(char c)
{
    return g_ascii_isalnum(c) || c == '-' || c == '+' || c == '.';
}

/* A byte between messages: start one, skip blanks, or reject. */
static void qmp_stream_idle(QmpStream *st, char c)
{
    char msg[64];

    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        return;
    }
    if (c == '{' || c == '[') {
        st->state = QMP_STREAM_NESTED;
        qmp_stream_nested(st, c);
    } else if (c == '"' || c == '\'') {
        st->state = QMP_STREAM_STRING;
        qmp_stream_append(st, c);
        qmp_stream_in_string(st, c);
    } else if (qmp_stream_is_scalar_char(c)) {
        st->state = QMP_STREAM_SCALAR;
        qmp_stream_append(st, c);
    } else if (c == '}' || c == ']' || c == ',' || c == ':') {
        qmp_stream_error(st, "JSON parse error, expecting value");
    } else {
        if (g_ascii_isprint(c)) {
            snprintf(msg, sizeof(msg), "JSON parse error, stray '%c'", c);
        } else {
            snprintf(msg, sizeof(msg), "JSON parse error, stray '\\x%02x'",
                     (unsigned char)c);
        }
        qmp_stream_error(st, msg);
    }
}

/* Returns false when @c was not consumed (it ended a scalar). */
static bool qmp_stream_byte(QmpStream *st, char c)
{
    switch (st->state) {
    case QMP_STREAM_IDLE:
        qmp_stream_idle(st, c);
        return true;
    case QMP_STREAM_NESTED:
        qmp_stream_nested(st, c);
        return true;
    case QMP_STREAM_STRING:
        qmp_stream_append(st, c);
        qmp_stream_in_string(st, c);
        if (!st->quote) {
            qmp_stream_finish(st);
        }
        return true;
    default:
        if (qmp_stream_is_scalar_char(c)) {
            qmp_stream_append(st, c);
            return true;
        }
        qmp_stream_finish(st);
        return false;
    }
}

void qmp_stream_feed(QmpStream *st, const uint8_t *buf, size_t len)
{
    size_t i = 0;

    while (i < len) {
        if (qmp_stream_byte(st, (char)buf[i])) {
            i++;
        }
    }
}
