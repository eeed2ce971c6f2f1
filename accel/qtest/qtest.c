/*
 * qtest: the accelerator with no CPU, and the line protocol a test uses in
 * its place (QEMU's docs/devel/qtest.rst).  One request per line, one
 * reply per request ("OK ..." or "FAIL ..."); "IRQ raise N" / "IRQ lower N"
 * lines may come before any reply, for lines the test intercepts.
 *
 *   outb|outw|outl ADDR VALUE          inb|inw|inl ADDR
 *   writeb|w|l|q ADDR VALUE            readb|w|l|q ADDR
 *   read ADDR SIZE                     write ADDR SIZE 0xHEXDATA
 *   b64read ADDR SIZE                  b64write ADDR SIZE BASE64
 *   memset ADDR SIZE BYTE              endianness
 *   clock_step [NS]                    clock_set NS
 *   irq_intercept_in QOM-PATH          irq_intercept_out QOM-PATH
 *   set_irq_in QOM-PATH NAME N LEVEL   (NAME "unnamed": the anonymous list)
 *
 * Numbers are C literals (decimal, 0x hex, 0 octal), as strtoull base 0.
 * Everything here runs in the main thread with the big lock held (the
 * chardev handlers do), so port and memory accesses need nothing more.
 */
#include "qlite/accel.h"
#include "qlite/chardev.h"
#include "qlite/error.h"
#include "qlite/main-loop.h"
#include "qlite/memory.h"
#include "qlite/qdev.h"
#include "qlite/qtest.h"
#include "qlite/runstate.h"

/* Bound on read/write/memset buffers: a test never needs more. */
#define QTEST_MAX_BUFFER (64 * MiB)
/* A line longer than this is a broken client: drop it. */
#define QTEST_MAX_LINE (3 * QTEST_MAX_BUFFER)
#define QTEST_MAX_WORDS 8

/* The lines of one GPIO list of the intercepted device. */
typedef struct QtestIntercept {
    int count;
    int *levels;        /* last level reported per line */
} QtestIntercept;

typedef struct QtestServer {
    CharBackend chr;
    GString *inbuf;
    bool running;
    DeviceState *intercept_dev;
    bool intercept_out;
    GPtrArray *intercepts;      /* of QtestIntercept * */
    FILE *log;                  /* -qtest-log, or NULL */
    gint64 log_start;           /* monotonic us at start */
} QtestServer;

static QtestServer qtest_server;
static bool qtest_accel_active;

bool qtest_enabled(void)
{
    return qtest_accel_active;
}

/* ---- replies ---- */

/* -qtest-log: "[R +seconds] line" received, "[S +seconds] reply" sent. */
static void qtest_log(char dir, const char *line)
{
    double t;

    if (!qtest_server.log) {
        return;
    }
    t = (g_get_monotonic_time() - qtest_server.log_start) / 1e6;
    fprintf(qtest_server.log, "[%c +%f] %s%s", dir, t, line,
            line[0] && line[strlen(line) - 1] == '\n' ? "" : "\n");
    fflush(qtest_server.log);
}

static void qtest_send(const char *str)
{
    qtest_log('S', str);
    chr_fe_write_all(&qtest_server.chr, (const uint8_t *)str, strlen(str));
}

static void G_GNUC_PRINTF(1, 2) qtest_sendf(const char *fmt, ...)
{
    va_list ap;
    g_autofree char *str = NULL;

    va_start(ap, fmt);
    str = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    qtest_send(str);
}

/* ---- argument parsing ---- */

static bool qtest_parse_u64(const char *word, uint64_t *out)
{
    char *end;

    if (!word || !*word || *word == '-') {
        return false;
    }
    errno = 0;
    *out = g_ascii_strtoull(word, &end, 0);
    return errno == 0 && *end == '\0';
}

/* One argument, or a FAIL reply naming it. */
static bool qtest_arg(char **words, int i, const char *what, uint64_t *out)
{
    if (!words[i]) {
        qtest_sendf("FAIL %s: missing %s\n", words[0], what);
        return false;
    }
    if (!qtest_parse_u64(words[i], out)) {
        qtest_sendf("FAIL %s: bad %s '%s'\n", words[0], what, words[i]);
        return false;
    }
    return true;
}

static bool qtest_size_arg(char **words, int i, uint64_t *out)
{
    if (!qtest_arg(words, i, "size", out)) {
        return false;
    }
    if (*out > QTEST_MAX_BUFFER) {
        qtest_sendf("FAIL %s: size %" PRIu64 " over the limit of %" PRIu64
                    "\n", words[0], *out, (uint64_t)QTEST_MAX_BUFFER);
        return false;
    }
    return true;
}

/* Split on spaces and tabs; NULL-terminated, at most QTEST_MAX_WORDS. */
static char **qtest_split(const char *line)
{
    g_auto(GStrv) parts = g_strsplit_set(line, " \t", -1);
    GPtrArray *words = g_ptr_array_new();

    for (int i = 0; parts[i]; i++) {
        if (*parts[i] && words->len < QTEST_MAX_WORDS) {
            g_ptr_array_add(words, g_strdup(parts[i]));
        }
    }
    g_ptr_array_add(words, NULL);
    return (char **)g_ptr_array_free(words, false);
}

/* ---- port I/O and memory ---- */

static uint64_t qtest_truncate(uint64_t val, unsigned size)
{
    return size == 8 ? val : val & ((UINT64_C(1) << (size * 8)) - 1);
}

static void qtest_cmd_out(char **words, unsigned size)
{
    uint64_t addr, val;

    if (!qtest_arg(words, 1, "address", &addr) ||
        !qtest_arg(words, 2, "value", &val)) {
        return;
    }
    if (addr > 0xffff) {
        qtest_sendf("FAIL %s: port 0x%" PRIx64 " out of range\n", words[0],
                    addr);
        return;
    }
    address_space_st(&address_space_io, addr, size,
                     qtest_truncate(val, size));
    qtest_send("OK\n");
}

static void qtest_cmd_in(char **words, unsigned size)
{
    uint64_t addr, val = 0;

    if (!qtest_arg(words, 1, "address", &addr)) {
        return;
    }
    if (addr > 0xffff) {
        qtest_sendf("FAIL %s: port 0x%" PRIx64 " out of range\n", words[0],
                    addr);
        return;
    }
    address_space_ld(&address_space_io, addr, size, &val);
    qtest_sendf("OK 0x%04" PRIx64 "\n", qtest_truncate(val, size));
}

static void qtest_cmd_writex(char **words, unsigned size)
{
    uint64_t addr, val;

    if (!qtest_arg(words, 1, "address", &addr) ||
        !qtest_arg(words, 2, "value", &val)) {
        return;
    }
    address_space_st(&address_space_memory, addr, size,
                     qtest_truncate(val, size));
    qtest_send("OK\n");
}

static void qtest_cmd_readx(char **words, unsigned size)
{
    uint64_t addr, val = 0;

    if (!qtest_arg(words, 1, "address", &addr)) {
        return;
    }
    address_space_ld(&address_space_memory, addr, size, &val);
    qtest_sendf("OK 0x%016" PRIx64 "\n", qtest_truncate(val, size));
}

static void qtest_cmd_read(char **words, bool b64)
{
    uint64_t addr, len;
    g_autofree uint8_t *buf = NULL;
    g_autofree char *enc = NULL;

    if (!qtest_arg(words, 1, "address", &addr) ||
        !qtest_size_arg(words, 2, &len)) {
        return;
    }
    buf = g_malloc0(len ? len : 1);
    address_space_read(&address_space_memory, addr, buf, len);
    if (b64) {
        enc = g_base64_encode(buf, len);
        qtest_sendf("OK %s\n", enc);
        return;
    }
    enc = g_malloc(2 * len + 1);
    for (uint64_t i = 0; i < len; i++) {
        snprintf(enc + 2 * i, 3, "%02x", buf[i]);
    }
    enc[2 * len] = '\0';
    qtest_sendf("OK 0x%s\n", enc);
}

static int qtest_hex_digit(char c)
{
    return g_ascii_isxdigit(c) ? g_ascii_xdigit_value(c) : -1;
}

/* "0x0102..." into @buf (zero padded to @len, as QEMU does). */
static bool qtest_parse_hex(const char *hex, uint8_t *buf, uint64_t len)
{
    size_t n;

    if (hex[0] != '0' || (hex[1] != 'x' && hex[1] != 'X')) {
        return false;
    }
    hex += 2;
    n = strlen(hex);
    if (n % 2 || n / 2 > len) {
        return false;
    }
    for (size_t i = 0; i < n / 2; i++) {
        int hi = qtest_hex_digit(hex[2 * i]);
        int lo = qtest_hex_digit(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            return false;
        }
        buf[i] = hi << 4 | lo;
    }
    return true;
}

static void qtest_cmd_write(char **words)
{
    uint64_t addr, len;
    g_autofree uint8_t *buf = NULL;

    if (!qtest_arg(words, 1, "address", &addr) ||
        !qtest_size_arg(words, 2, &len)) {
        return;
    }
    buf = g_malloc0(len ? len : 1);
    if (!words[3] || !qtest_parse_hex(words[3], buf, len)) {
        qtest_sendf("FAIL write: bad data '%s'\n",
                    words[3] ? words[3] : "");
        return;
    }
    address_space_write(&address_space_memory, addr, buf, len);
    qtest_send("OK\n");
}

static void qtest_cmd_b64write(char **words)
{
    uint64_t addr, len;
    gsize out_len = 0;
    g_autofree uint8_t *data = NULL;

    if (!qtest_arg(words, 1, "address", &addr) ||
        !qtest_size_arg(words, 2, &len)) {
        return;
    }
    if (!words[3]) {
        qtest_send("FAIL b64write: missing data\n");
        return;
    }
    data = g_base64_decode(words[3], &out_len);
    /* Like QEMU: write what was sent, never past SIZE. */
    address_space_write(&address_space_memory, addr, data,
                        MIN((uint64_t)out_len, len));
    qtest_send("OK\n");
}

static void qtest_cmd_memset(char **words)
{
    uint64_t addr, len, val;
    g_autofree uint8_t *buf = NULL;

    if (!qtest_arg(words, 1, "address", &addr) ||
        !qtest_size_arg(words, 2, &len) ||
        !qtest_arg(words, 3, "value", &val)) {
        return;
    }
    buf = g_malloc(len ? len : 1);
    memset(buf, (uint8_t)val, len);
    address_space_write(&address_space_memory, addr, buf, len);
    qtest_send("OK\n");
}

/* ---- the virtual clock ---- */

static void qtest_cmd_clock(char **words, bool step)
{
    int64_t now = clock_get_ns(QLITE_CLOCK_VIRTUAL);
    int64_t target;
    uint64_t ns;

    if (!qtest_accel_active) {
        /* QEMU has these only when qtest is the accelerator */
        qtest_sendf("FAIL Unknown command '%s'\n", words[0]);
        return;
    }
    if (step && !words[1]) {
        target = clock_virtual_next_deadline();
        target = target < 0 ? now : target;
    } else {
        if (!qtest_arg(words, 1, "time", &ns)) {
            return;
        }
        if (ns > (uint64_t)(INT64_MAX - (step ? now : 0))) {
            qtest_sendf("FAIL %s: time %s out of range\n", words[0],
                        words[1]);
            return;
        }
        target = step ? now + (int64_t)ns : (int64_t)ns;
    }
    if (target > now) {
        clock_virtual_advance(target);
    }
    qtest_sendf("OK %" PRIi64 "\n", clock_get_ns(QLITE_CLOCK_VIRTUAL));
}

/* ---- IRQ interception ---- */

static void qtest_irq_handler(void *opaque, int n, int level)
{
    QtestIntercept *ic = opaque;

    level = level != 0;
    if (n < 0 || n >= ic->count || ic->levels[n] == level) {
        return;
    }
    ic->levels[n] = level;
    qtest_sendf("IRQ %s %d\n", level ? "raise" : "lower", n);
}

static QtestIntercept *qtest_intercept_new(int count)
{
    QtestIntercept *ic = g_new0(QtestIntercept, 1);

    ic->count = count;
    ic->levels = g_new0(int, count);
    g_ptr_array_add(qtest_server.intercepts, ic);
    return ic;
}

/* Redirect every line of @dev's GPIO lists (in or out) to the test. */
static int qtest_intercept(DeviceState *dev, bool out)
{
    int lines = 0;

    for (guint i = 0; i < dev->gpios->len; i++) {
        NamedGpio *gpio = dev->gpios->pdata[i];
        int count = out ? gpio->num_out : gpio->num_in;
        QtestIntercept *ic;

        if (count <= 0 || (out ? !gpio->out : !gpio->in)) {
            continue;
        }
        ic = qtest_intercept_new(count);
        for (int n = 0; n < count; n++) {
            if (out) {
                gpio->out[n] = irq_new(qtest_irq_handler, ic, n);
            } else {
                irq_redirect(gpio->in[n], qtest_irq_handler, ic, n);
            }
        }
        lines += count;
    }
    return lines;
}

static DeviceState *qtest_find_device(const char *path)
{
    bool ambiguous = false;
    Object *obj;

    if (!path) {
        return NULL;
    }
    obj = object_resolve_path(path, &ambiguous);
    if (!obj || ambiguous) {
        return NULL;
    }
    return (DeviceState *)object_dynamic_cast(obj, TYPE_DEVICE);
}

static void qtest_cmd_irq_intercept(char **words, bool out)
{
    DeviceState *dev = qtest_find_device(words[1]);

    if (!dev) {
        qtest_send("FAIL Unknown device\n");
        return;
    }
    if (qtest_server.intercept_dev) {
        if (qtest_server.intercept_dev != dev ||
            qtest_server.intercept_out != out) {
            qtest_send("FAIL IRQ intercept already enabled\n");
        } else {
            qtest_send("OK\n");
        }
        return;
    }
    if (qtest_intercept(dev, out) == 0) {
        qtest_send("FAIL No IRQs found\n");
        return;
    }
    qtest_server.intercept_dev = dev;
    qtest_server.intercept_out = out;
    qtest_send("OK\n");
}

static void qtest_cmd_set_irq_in(char **words)
{
    DeviceState *dev = qtest_find_device(words[1]);
    const char *name = words[1] ? words[2] : NULL;
    uint64_t n, level;
    NamedGpio *gpio = NULL;

    if (!dev) {
        qtest_send("FAIL Unknown device\n");
        return;
    }
    if (!name) {
        qtest_send("FAIL set_irq_in: missing name\n");
        return;
    }
    if (!qtest_arg(words, 3, "line", &n) ||
        !qtest_arg(words, 4, "level", &level)) {
        return;
    }
    if (!strcmp(name, "unnamed")) {
        name = NULL;
    }
    for (guint i = 0; i < dev->gpios->len && !gpio; i++) {
        NamedGpio *g = dev->gpios->pdata[i];

        gpio = g_strcmp0(g->name, name) == 0 ? g : NULL;
    }
    if (!gpio || !gpio->in || n >= (uint64_t)gpio->num_in) {
        qtest_sendf("FAIL set_irq_in: no input line %s[%" PRIu64 "]\n",
                    words[2], n);
        return;
    }
    irq_set(gpio->in[n], level != 0);
    qtest_send("OK\n");
}

/* ---- dispatch ---- */

/* The commands whose last letter is the access size. */
typedef struct QtestSizedCmd {
    const char *name;
    void (*fn)(char **words, unsigned size);
    unsigned size;
} QtestSizedCmd;

static const QtestSizedCmd qtest_sized_cmds[] = {
    { "outb", qtest_cmd_out, 1 },       { "inb", qtest_cmd_in, 1 },
    { "outw", qtest_cmd_out, 2 },       { "inw", qtest_cmd_in, 2 },
    { "outl", qtest_cmd_out, 4 },       { "inl", qtest_cmd_in, 4 },
    { "writeb", qtest_cmd_writex, 1 },  { "readb", qtest_cmd_readx, 1 },
    { "writew", qtest_cmd_writex, 2 },  { "readw", qtest_cmd_readx, 2 },
    { "writel", qtest_cmd_writex, 4 },  { "readl", qtest_cmd_readx, 4 },
    { "writeq", qtest_cmd_writex, 8 },  { "readq", qtest_cmd_readx, 8 },
};

static void qtest_process_words(char **words)
{
    const char *cmd = words[0];

    for (size_t i = 0; i < G_N_ELEMENTS(qtest_sized_cmds); i++) {
        if (!strcmp(cmd, qtest_sized_cmds[i].name)) {
            qtest_sized_cmds[i].fn(words, qtest_sized_cmds[i].size);
            return;
        }
    }
    if (!strcmp(cmd, "read") || !strcmp(cmd, "b64read")) {
        qtest_cmd_read(words, cmd[0] == 'b');
    } else if (!strcmp(cmd, "write")) {
        qtest_cmd_write(words);
    } else if (!strcmp(cmd, "b64write")) {
        qtest_cmd_b64write(words);
    } else if (!strcmp(cmd, "memset")) {
        qtest_cmd_memset(words);
    } else if (!strcmp(cmd, "clock_step") || !strcmp(cmd, "clock_set")) {
        qtest_cmd_clock(words, !strcmp(cmd, "clock_step"));
    } else if (!strcmp(cmd, "irq_intercept_in") ||
               !strcmp(cmd, "irq_intercept_out")) {
        qtest_cmd_irq_intercept(words, !strcmp(cmd, "irq_intercept_out"));
    } else if (!strcmp(cmd, "set_irq_in")) {
        qtest_cmd_set_irq_in(words);
    } else if (!strcmp(cmd, "endianness")) {
        qtest_send("OK little\n");
    } else {
        qtest_sendf("FAIL Unknown command '%s'\n", cmd);
    }
}

static void qtest_process_line(const char *line)
{
    g_auto(GStrv) words = qtest_split(line);

    if (!words[0]) {
        return;     /* blank line: nothing asked, nothing answered */
    }
    qtest_process_words(words);
}

/* ---- the chardev ---- */

static int qtest_can_read(void *opaque)
{
    return 4096;
}

static void qtest_read(void *opaque, const uint8_t *buf, int len)
{
    GString *in = qtest_server.inbuf;
    char *nl;

    g_string_append_len(in, (const char *)buf, len);
    while ((nl = memchr(in->str, '\n', in->len))) {
        size_t n = nl - in->str;
        g_autofree char *line = g_strndup(in->str, n);

        if (n && line[n - 1] == '\r') {
            line[n - 1] = '\0';
        }
        g_string_erase(in, 0, n + 1);
        qtest_log('R', line);
        qtest_process_line(line);
    }
    if (in->len > QTEST_MAX_LINE) {
        g_string_truncate(in, 0);
        qtest_send("FAIL line too long\n");
    }
}

/* With its test gone, a qtest-driven machine has no purpose left. */
static void qtest_event(void *opaque, ChrEvent event)
{
    if (event == CHR_EVENT_CLOSED) {
        qlite_system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
    }
}

bool qtest_server_init(const char *spec, const char *log, GError **errp)
{
    Chardev *chr;

    if (qtest_server.running) {
        error_setg(errp, "only one -qtest server is supported");
        return false;
    }
    if (log) {
        qtest_server.log = fopen(log, "w");
        if (!qtest_server.log) {
            error_setg(errp, "-qtest-log %s: %s", log, g_strerror(errno));
            return false;
        }
        qtest_server.log_start = g_get_monotonic_time();
    }
    chr = chardev_new_legacy("qtest", spec, errp);
    if (!chr) {
        if (errp && !*errp) {
            error_setg(errp, "qtest needs a character device");
        }
        return false;
    }
    if (!chr_fe_init(&qtest_server.chr, chr, errp)) {
        return false;
    }
    qtest_server.inbuf = g_string_new(NULL);
    qtest_server.intercepts = g_ptr_array_new();
    qtest_server.running = true;
    chr_fe_set_handlers(&qtest_server.chr, qtest_can_read, qtest_read,
                        qtest_event, &qtest_server);
    return true;
}

/* ---- the accelerator ---- */

static bool qtest_accel_available(GError **errp)
{
    return true;
}

/* Virtual time moves only when the test says so. */
static bool qtest_init_machine(MachineState *ms, GError **errp)
{
    qtest_accel_active = true;
    clock_virtual_set_manual(true);
    return true;
}

/* No CPU runs: the test plays its part. */
static bool qtest_start_vcpu(CPUState *cpu, GError **errp)
{
    return true;
}

static void qtest_kick_vcpu(CPUState *cpu)
{
}

static void qtest_reset_vcpu(CPUState *cpu)
{
}

static void qtest_dump_state(CPUState *cpu, GString *out)
{
    g_string_append(out, "qtest accelerator: no CPU state\n");
}

static const AccelOps qtest_accel_ops = {
    .name = "qtest",
    .type_name = "qtest-accel",
    .available = qtest_accel_available,
    .init_machine = qtest_init_machine,
    .start_vcpu = qtest_start_vcpu,
    .kick_vcpu = qtest_kick_vcpu,
    .reset_vcpu = qtest_reset_vcpu,
    .dump_state = qtest_dump_state,
};

type_init(qtest_register_types)
{
    accel_register(&qtest_accel_ops);
}
