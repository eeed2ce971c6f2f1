/*
 * The human monitor's terminal side: a banner, the "(qemu) " prompt, and
 * a small line editor (echo, backspace, arrow keys ignored).  Commands go
 * to hmp_execute(), which human-monitor-command shares.
 *
 * On a mux (-nographic, mon:stdio) the monitor speaks only while it has
 * the focus: Ctrl-a c switches to it and it greets with the prompt.
 */
#include "monitor-internal.h"

#define HMP_LINE_MAX 1024
#define HMP_PROMPT "(qemu) "

enum {
    HMP_ESC_NONE,
    HMP_ESC_START,      /* got ESC */
    HMP_ESC_CSI,        /* got ESC [ or ESC O: wait for the final byte */
};

struct HmpState {
    Monitor *mon;
    GString *line;
    bool focused;       /* has the mux focus (always, without a mux) */
    bool opened;        /* the backend is connected */
    bool banner_shown;
    bool last_cr;       /* swallow the '\n' of a "\r\n" */
    int esc;
};

HmpState *hmp_new(Monitor *mon, bool muxed)
{
    HmpState *h = g_new0(HmpState, 1);

    h->mon = mon;
    h->line = g_string_new(NULL);
    h->focused = !muxed;
    return h;
}

void hmp_free(HmpState *h)
{
    if (h) {
        g_string_free(h->line, true);
        g_free(h);
    }
}

int hmp_can_read(HmpState *h)
{
    return h->focused ? 256 : 0;
}

static void hmp_greet(HmpState *h)
{
    if (!h->banner_shown) {
        monitor_printf(h->mon, "QEMU %d.%d.%d monitor (qlite %s) - type "
                       "'help' for more information\n", QLITE_QEMU_MAJOR,
                       QLITE_QEMU_MINOR, QLITE_QEMU_MICRO, QLITE_VERSION);
        h->banner_shown = true;
    }
    /* Coming back to the monitor shows what was typed so far. */
    monitor_printf(h->mon, "%s%s", HMP_PROMPT, h->line->str);
}

void hmp_event(HmpState *h, ChrEvent event)
{
    switch (event) {
    case CHR_EVENT_OPENED:
        h->opened = true;
        if (h->focused) {
            hmp_greet(h);
        }
        break;
    case CHR_EVENT_CLOSED:
        h->opened = false;
        h->banner_shown = false;
        g_string_truncate(h->line, 0);
        break;
    case CHR_EVENT_MUX_IN:
        h->focused = true;
        if (h->opened) {
            hmp_greet(h);
        }
        break;
    case CHR_EVENT_MUX_OUT:
        h->focused = false;
        break;
    default:
        break;
    }
}

static void hmp_run_line(HmpState *h)
{
    g_autoptr(GString) out = g_string_new(NULL);
    g_autofree char *line = g_strdup(h->line->str);

    g_string_truncate(h->line, 0);
    monitor_printf(h->mon, "\n");
    hmp_execute(line, -1, out);
    monitor_printf(h->mon, "%s%s", out->str, HMP_PROMPT);
}

/* Escape sequences (arrow keys, ...) are swallowed whole. */
static bool hmp_escape(HmpState *h, uint8_t c)
{
    switch (h->esc) {
    case HMP_ESC_START:
        h->esc = (c == '[' || c == 'O') ? HMP_ESC_CSI : HMP_ESC_NONE;
        return true;
    case HMP_ESC_CSI:
        if (c >= 0x40 && c <= 0x7e) {
            h->esc = HMP_ESC_NONE;
        }
        return true;
    default:
        if (c == 0x1b) {
            h->esc = HMP_ESC_START;
            return true;
        }
        return false;
    }
}

static void hmp_byte(HmpState *h, uint8_t c)
{
    bool was_cr = h->last_cr;

    h->last_cr = c == '\r';
    if (hmp_escape(h, c)) {
        return;
    }
    if (c == '\r' || c == '\n') {
        if (c == '\n' && was_cr) {
            return;
        }
        hmp_run_line(h);
    } else if (c == 0x7f || c == 0x08) {
        if (h->line->len) {
            g_string_truncate(h->line, h->line->len - 1);
            monitor_printf(h->mon, "\b \b");
        }
    } else if (c >= 0x20 && h->line->len < HMP_LINE_MAX) {
        g_string_append_c(h->line, c);
        monitor_printf(h->mon, "%c", c);
    }
}

void hmp_input(HmpState *h, const uint8_t *buf, int len)
{
    for (int i = 0; i < len; i++) {
        hmp_byte(h, buf[i]);
    }
}
