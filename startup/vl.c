/*
 * The command line: qemu-system-x86_64's options, parsed into a VlConfig,
 * which vl-run.c then builds and runs.
 *
 * Every option argument of the key=value kind goes through keyval_parse().
 * Errors print one line "qlite-system-x86_64: -opt arg: problem" and exit 1,
 * as QEMU does.
 */
#include "qlite/accel.h"
#include "qlite/chardev.h"
#include "qlite/cpu.h"
#include "qlite/error.h"
#include "qlite/fdset.h"
#include "qlite/machine.h"
#include "qlite/main-loop.h"
#include "qlite/monitor.h"
#include "qlite/qdev.h"
#include "qlite/qtest.h"
#include "qlite/runstate.h"
#include "qlite/x86-cpu.h"
#include "vl.h"

#include <fcntl.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

typedef bool (*VlHandler)(VlConfig *cfg, const char *arg, GError **errp);

typedef struct VlOption {
    const char *name;
    bool has_arg;
    VlHandler handler;
} VlOption;

void vl_fail(GError *err)
{
    error_report_err(err);
    qlite_run_exit_notifiers();
    exit(1);
}

VlItem *vl_item_new(const char *opt, const char *arg, QliteOpts *opts)
{
    VlItem *item = g_new0(VlItem, 1);

    item->opt = opt;            /* a string literal at every caller */
    item->location = g_strdup_printf("-%s %s", opt, arg);
    item->arg = g_strdup(arg);
    item->opts = opts;
    return item;
}

/* "help" or "?" asked for a list */
static bool is_help(const char *arg)
{
    return !strcmp(arg, "help") || !strcmp(arg, "?");
}

static bool opt_memory(VlConfig *cfg, const char *arg, GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(arg, "size", 0, errp);
    const char *size;

    if (!opts) {
        return false;
    }
    size = qopts_get(opts, "size");
    /* Memory hotplug limits: checked as QEMU checks them; with no
     * hot-pluggable memory device in qlite they bound nothing yet. */
    {
        const char *maxmem = qopts_get(opts, "maxmem");
        uint64_t slots, max;

        if (!qopts_get_uint(opts, "slots", 0, &slots, errp) ||
            (maxmem && !keyval_parse_size("maxmem", maxmem, MiB, &max,
                                          errp))) {
            return false;
        }
    }
    if (!qopts_check_all_used(opts, errp)) {
        return false;
    }
    if (!size) {
        error_setg(errp, "Parameter 'size' is missing");
        return false;
    }
    if (!keyval_parse_size("size", size, MiB, &cfg->ram_size, errp)) {
        return false;
    }
    if (cfg->ram_size == 0) {
        error_setg(errp, "Invalid RAM size '%s': must be at least 1 MiB",
                   size);
        return false;
    }
    cfg->ram_size = ROUND_UP(cfg->ram_size, 8 * KiB);
    cfg->ram_set = true;
    return true;
}

static bool opt_smp(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->smp = arg;
    return true;
}

static bool add_accel_list(VlConfig *cfg, const char *list, GError **errp)
{
    g_auto(GStrv) names = g_strsplit(list, ":", -1);

    for (char **n = names; *n; n++) {
        if (!**n) {
            continue;
        }
        if (!accel_find(*n)) {
            error_setg(errp, "invalid accelerator %s", *n);
            return false;
        }
        g_ptr_array_add(cfg->accel_names, g_strdup(*n));
    }
    return true;
}

static void print_accel_list(void)
{
    GPtrArray *list = accel_list();

    printf("Accelerators supported in QEMU binary:\n");
    for (guint i = 0; i < list->len; i++) {
        printf("%s\n", ((const AccelOps *)list->pdata[i])->name);
    }
}

static bool opt_accel(VlConfig *cfg, const char *arg, GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(arg, "accel", 0, errp);
    const char *name;

    if (!opts) {
        return false;
    }
    name = qopts_get(opts, "accel");
    if (!name) {
        error_setg(errp, "Parameter 'accel' is missing");
        return false;
    }
    if (is_help(name)) {
        print_accel_list();
        exit(0);
    }
    /* Tuning knobs QEMU users pass; they do not change behaviour here. */
    qopts_get(opts, "thread");
    qopts_get(opts, "tb-size");
    qopts_get(opts, "kernel-irqchip");
    if (!qopts_check_all_used(opts, errp)) {
        return false;
    }
    g_free(cfg->accel_location);
    cfg->accel_location = g_strdup_printf("-accel %s", arg);
    return add_accel_list(cfg, name, errp);
}

static bool opt_enable_kvm(VlConfig *cfg, const char *arg, GError **errp)
{
    g_free(cfg->accel_location);
    cfg->accel_location = g_strdup("-enable-kvm");
    g_ptr_array_add(cfg->accel_names, g_strdup("kvm"));
    return true;
}

static bool opt_machine(VlConfig *cfg, const char *arg, GError **errp)
{
    QliteOpts *opts = keyval_parse(arg, "type", 0, errp);
    const char *type;

    if (!opts) {
        return false;
    }
    type = qopts_get(opts, "type");
    if (type && is_help(type)) {
        machine_print_list(stdout);
        exit(0);
    }
    if (cfg->machine_opts) {
        /* Later -machine options add to earlier ones, as in QEMU. */
        for (guint i = 0; i < opts->pairs->len; i++) {
            KeyvalPair *kv = opts->pairs->pdata[i];

            qopts_set(cfg->machine_opts, kv->key, kv->value);
        }
        qopts_free(opts);
    } else {
        cfg->machine_opts = opts;
    }
    g_free(cfg->machine_location);
    cfg->machine_location = g_strdup_printf("-machine %s", arg);
    return true;
}

static bool opt_cpu(VlConfig *cfg, const char *arg, GError **errp)
{
    if (is_help(arg)) {
        x86_cpu_model_list(stdout);
        exit(0);
    }
    cfg->cpu_model = arg;
    return true;
}

static bool opt_bios(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->bios = arg;
    return true;
}

static bool opt_kernel(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->kernel = arg;
    return true;
}

static bool opt_initrd(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->initrd = arg;
    return true;
}

static bool opt_append(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->append = arg;
    return true;
}

static bool opt_nographic(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->nographic = true;
    return true;
}

static bool opt_display(VlConfig *cfg, const char *arg, GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(arg, "type", 0, errp);
    const char *type;

    if (!opts) {
        return false;
    }
    type = qopts_get(opts, "type");
    if (type && is_help(type)) {
        printf("Available display backend types:\nnone\n");
        exit(0);
    }
    if (!type || strcmp(type, "none")) {
        error_setg(errp, "Display '%s' is not available (qlite supports "
                   "only 'none'; use -nographic for a serial console)",
                   type ? type : "");
        return false;
    }
    cfg->display_none = true;
    return true;
}

static bool opt_vga(VlConfig *cfg, const char *arg, GError **errp)
{
    if (is_help(arg)) {
        printf("none                 no graphic card\n");
        exit(0);
    }
    if (strcmp(arg, "none")) {
        error_setg(errp, "VGA type '%s' is not available (only 'none')",
                   arg);
        return false;
    }
    return true;
}

static bool opt_serial(VlConfig *cfg, const char *arg, GError **errp)
{
    if (cfg->serials->len >= 4) {
        error_setg(errp, "too many serial ports (at most 4)");
        return false;
    }
    g_ptr_array_add(cfg->serials, vl_item_new("serial", arg, NULL));
    return true;
}

static bool opt_chardev(VlConfig *cfg, const char *arg, GError **errp)
{
    QliteOpts *opts = keyval_parse(arg, "backend", KEYVAL_BARE_KEY_IS_ON,
                                   errp);

    if (!opts) {
        return false;
    }
    g_ptr_array_add(cfg->chardevs, vl_item_new("chardev", arg, opts));
    return true;
}

/* "-device NAME,help": the properties of NAME */
static bool device_help_request(const char *arg, GError **errp)
{
    g_autofree char *name = NULL;
    const char *comma = strrchr(arg, ',');

    if (!comma || (strcmp(comma, ",help") && strcmp(comma, ",?"))) {
        return false;
    }
    name = g_strndup(arg, comma - arg);
    if (!qdev_print_device_props(stdout, name, errp)) {
        return true;
    }
    exit(0);
}

static bool opt_device(VlConfig *cfg, const char *arg, GError **errp)
{
    QliteOpts *opts;
    const char *driver;

    if (device_help_request(arg, errp)) {
        return false;
    }
    /* libvirt sends the JSON form: typed values become the same strings. */
    opts = keyval_parse_any(arg, "device", "driver", 0, errp);
    if (!opts) {
        return false;
    }
    driver = qopts_get(opts, "driver");
    if (driver && is_help(driver)) {
        qdev_print_device_list(stdout);
        exit(0);
    }
    g_ptr_array_add(cfg->devices, vl_item_new("device", arg, opts));
    return true;
}

static bool opt_global(VlConfig *cfg, const char *arg, GError **errp)
{
    return qdev_add_global(arg, errp);
}

/*
 * -name [guest=]NAME[,process=P][,debug-threads=on|off]: process= names
 * the main thread (what ps and top show) as QEMU does.  qlite's threads
 * are always named ("CPU 0/KVM", "ALL CPUs/TCG": GLib names every thread it
 * starts), so debug-threads=on holds whatever is given.
 */
static bool opt_name(VlConfig *cfg, const char *arg, GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(arg, "guest", 0, errp);
    const char *process;
    bool debug_threads;

    if (!opts) {
        return false;
    }
    g_free(cfg->name);
    cfg->name = g_strdup(qopts_get(opts, "guest"));
    process = qopts_get(opts, "process");
    if (!qopts_get_bool(opts, "debug-threads", false, &debug_threads,
                        errp) ||
        !qopts_check_all_used(opts, errp)) {
        return false;
    }
    if (process && prctl(PR_SET_NAME, process) < 0) {
        error_setg(errp, "Could not set the process name: %s",
                   g_strerror(errno));
        return false;
    }
    return true;
}

static bool opt_uuid(VlConfig *cfg, const char *arg, GError **errp)
{
    if (!g_uuid_string_is_valid(arg)) {
        error_setg(errp, "Fail to parse UUID string");
        return false;
    }
    cfg->uuid = arg;
    return true;
}

static bool opt_pidfile(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->pidfile = arg;
    return true;
}

static bool opt_daemonize(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->daemonize = true;
    return true;
}

static bool opt_sandbox(VlConfig *cfg, const char *arg, GError **errp)
{
    return sandbox_parse(arg, &cfg->sandbox, errp);
}

static bool opt_runas(VlConfig *cfg, const char *arg, GError **errp)
{
    return vl_parse_runas(cfg, arg, errp);
}

static bool opt_chroot(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->chroot_dir = arg;
    return true;
}

static bool opt_start_paused(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->start_paused = true;
    return true;
}

static bool opt_no_reboot(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->no_reboot = true;
    return true;
}

static bool opt_no_shutdown(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->no_shutdown = true;
    return true;
}

static bool opt_nodefaults(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->nodefaults = true;
    return true;
}

/*
 * -no-user-config and -no-hpet are true no-ops: qlite reads no
 * configuration file at all, and its pc board has no HPET to leave out.
 * -L names where firmware is looked for; the ROM is built in.
 */
static bool opt_ignore(VlConfig *cfg, const char *arg, GError **errp)
{
    return true;
}

static bool opt_object(VlConfig *cfg, const char *arg, GError **errp)
{
    return vl_parse_object(cfg, arg, errp);
}

/* -add-fd fd=N,set=M[,opaque=S]: an fd the parent left open for us. */
static bool opt_add_fd(VlConfig *cfg, const char *arg, GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(arg, NULL, 0, errp);
    const char *opaque;
    uint64_t fd, set;

    if (!opts) {
        return false;
    }
    opaque = qopts_get(opts, "opaque");
    if (!qopts_get_uint(opts, "fd", UINT64_MAX, &fd, errp) ||
        !qopts_get_uint(opts, "set", UINT64_MAX, &set, errp) ||
        !qopts_check_all_used(opts, errp)) {
        return false;
    }
    if (fd > INT_MAX) {
        error_setg(errp, "fd option is required and must be non-negative");
    } else if (fd <= STDERR_FILENO) {
        error_setg(errp, "fd cannot be a standard I/O stream");
    } else if (set > INT64_MAX) {
        error_setg(errp, "set option is required and must be non-negative");
    } else if (fcntl(fd, F_GETFD) < 0) {
        error_setg(errp, "fd is not valid or already in use");
    } else {
        return fdset_add_fd(set, fd, opaque, errp) >= 0;
    }
    return false;
}

/* -msg timestamp=on|off[,guest-name=on|off] */
static bool opt_msg(VlConfig *cfg, const char *arg, GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(arg, NULL, 0, errp);
    bool timestamp, guest_name;

    if (!opts ||
        !qopts_get_bool(opts, "timestamp", false, &timestamp, errp) ||
        !qopts_get_bool(opts, "guest-name", false, &guest_name, errp) ||
        !qopts_check_all_used(opts, errp)) {
        return false;
    }
    cfg->msg_timestamp = timestamp;
    cfg->msg_guest_name = guest_name;
    /* from the next message on; the guest's name once -name is read */
    error_set_message_prefix(timestamp, NULL);
    return true;
}

/*
 * -overcommit mem-lock=on|off[,cpu-pm=on|off]: mem-lock=on locks all of
 * qlite's memory (guest RAM included) with mlockall() before the board is
 * built.  cpu-pm=on would let the guest's HLT/MWAIT/PAUSE run on the host
 * CPU (KVM_CAP_X86_DISABLE_EXITS), which qlite does not set up.
 */
static bool opt_overcommit(VlConfig *cfg, const char *arg, GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(arg, NULL, 0, errp);
    bool cpu_pm;

    if (!opts ||
        !qopts_get_bool(opts, "mem-lock", cfg->mem_lock, &cfg->mem_lock,
                        errp) ||
        !qopts_get_bool(opts, "cpu-pm", false, &cpu_pm, errp) ||
        !qopts_check_all_used(opts, errp)) {
        return false;
    }
    if (cpu_pm) {
        error_setg(errp, "cpu-pm=on is not supported by qlite (guest HLT "
                   "and MWAIT always exit to qlite)");
        return false;
    }
    return true;
}

/*
 * -audiodev: qlite has no sound device, so the only back end it can honour
 * is "none" (libvirt always sends one).  QEMU's other drivers are known
 * and refused by name.
 */
static bool opt_audiodev(VlConfig *cfg, const char *arg, GError **errp)
{
    static const char *const drivers[] = {
        "alsa", "coreaudio", "dbus", "dsound", "jack", "oss", "pa",
        "sdl", "spice", "wav",
    };
    g_autoptr(QliteOpts) opts =
        keyval_parse_any(arg, "audiodev", "driver", 0, errp);
    const char *driver;

    if (!opts) {
        return false;
    }
    driver = qopts_get(opts, "driver");
    qopts_get(opts, "timer-period");
    if (!driver) {
        error_setg(errp, "Parameter 'driver' is missing");
        return false;
    }
    if (!qopts_get(opts, "id")) {
        error_setg(errp, "Parameter 'id' is missing");
        return false;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(drivers); i++) {
        if (!strcmp(driver, drivers[i])) {
            error_setg(errp, "audiodev driver '%s' is not supported by "
                       "qlite (it has no audio; only driver=none)", driver);
            return false;
        }
    }
    if (strcmp(driver, "none")) {
        error_setg(errp, "Parameter 'driver' does not accept value '%s'",
                   driver);
        return false;
    }
    for (guint i = 0; i < opts->pairs->len; i++) {
        KeyvalPair *kv = opts->pairs->pdata[i];

        if (!kv->used && !g_str_has_prefix(kv->key, "in.") &&
            !g_str_has_prefix(kv->key, "out.")) {
            error_setg(errp, "Parameter '%s' is unexpected", kv->key);
            return false;
        }
    }
    return true;
}

/* -no-acpi: as QEMU 7.2, the same as -machine acpi=off (the pc board
 * then has no PIIX4 PM function and builds no ACPI tables). */
static bool opt_no_acpi(VlConfig *cfg, const char *arg, GError **errp)
{
    if (!cfg->machine_opts) {
        cfg->machine_opts = qopts_new("machine");
        cfg->machine_location = g_strdup("-no-acpi");
    }
    qopts_set(cfg->machine_opts, "acpi", "off");
    return true;
}

/* -smbios: qlite builds no SMBIOS tables (there is no firmware to read
 * them: the guest boots directly), so nothing could carry the fields. */
static bool opt_smbios(VlConfig *cfg, const char *arg, GError **errp)
{
    error_setg(errp, "-smbios is not supported: qlite provides no SMBIOS "
               "tables");
    return false;
}

/* A boot order: drive letters a-p, as QEMU takes them. */
static bool boot_order_valid(const char *order, GError **errp)
{
    for (const char *p = order; *p; p++) {
        if (*p < 'a' || *p > 'p') {
            error_setg(errp, "Invalid boot device '%c'", *p);
            return false;
        }
    }
    return true;
}

/*
 * -boot order=,once=,menu=,strict=,splash-time=,reboot-timeout=: checked
 * as QEMU checks them.  They steer firmware; with direct kernel boot (the
 * only boot qlite has yet) QEMU does not read them either.
 */
static bool opt_boot(VlConfig *cfg, const char *arg, GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(arg, "order", 0, errp);
    const char *order, *once;
    uint64_t n;
    bool b;

    if (!opts) {
        return false;
    }
    order = qopts_get(opts, "order");
    once = qopts_get(opts, "once");
    return (!order || boot_order_valid(order, errp)) &&
           (!once || boot_order_valid(once, errp)) &&
           qopts_get_bool(opts, "menu", false, &b, errp) &&
           qopts_get_bool(opts, "strict", false, &b, errp) &&
           qopts_get_uint(opts, "splash-time", 0, &n, errp) &&
           qopts_get_uint(opts, "reboot-timeout", 0, &n, errp) &&
           qopts_check_all_used(opts, errp);
}

/*
 * -rtc: the RTC follows the host's UTC clock (other bases and clocks are
 * refused until the RTC implements them); driftfix=slew makes it give
 * lost periodic ticks again.
 */
static bool opt_rtc(VlConfig *cfg, const char *arg, GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(arg, "base", 0, errp);
    const char *base, *clock, *drift;

    if (!opts) {
        return false;
    }
    base = qopts_get(opts, "base");
    clock = qopts_get(opts, "clock");
    drift = qopts_get(opts, "driftfix");
    if (!qopts_check_all_used(opts, errp)) {
        return false;
    }
    if (base && strcmp(base, "utc") && strcmp(base, "localtime")) {
        struct tm tm = { 0 };
        const char *end = strptime(base, "%Y-%m-%dT%H:%M:%S", &tm);

        if (!end || *end) {
            end = strptime(base, "%Y-%m-%d", &tm);
        }
        if (!end || *end) {
            error_setg(errp, "invalid datetime format: valid formats: "
                       "'2006-06-17T16:01:21' or '2006-06-17'");
            return false;
        }
    }
    if (clock && strcmp(clock, "host") && strcmp(clock, "rt") &&
        strcmp(clock, "vm")) {
        error_setg(errp, "invalid option value '%s'", clock);
        return false;
    }
    if (drift && strcmp(drift, "none") && strcmp(drift, "slew")) {
        error_setg(errp, "invalid option value '%s'", drift);
        return false;
    }
    if ((base && strcmp(base, "utc")) || (clock && strcmp(clock, "host"))) {
        error_setg(errp, "only base=utc and clock=host are supported");
        return false;
    }
    /* As QEMU: slew is the RTC's lost tick policy (libvirt asks for it). */
    if (drift && !strcmp(drift, "slew")) {
        return qdev_add_global("mc146818rtc.lost_tick_policy=slew", errp);
    }
    return true;
}

static bool opt_version(VlConfig *cfg, const char *arg, GError **errp)
{
    vl_print_version();
    exit(0);
}

static bool opt_help(VlConfig *cfg, const char *arg, GError **errp)
{
    vl_print_help();
    exit(0);
}

static bool add_monitor(VlConfig *cfg, const char *opt, const char *arg,
                        MonitorMode mode, bool pretty)
{
    QliteOpts *opts = qopts_new("mon");

    qopts_set(opts, "mode", mode == MONITOR_MODE_CONTROL ? "control"
                                                        : "readline");
    qopts_set(opts, "pretty", pretty ? "on" : "off");
    g_ptr_array_add(cfg->monitors, vl_item_new(opt, arg, opts));
    return true;
}

static bool opt_monitor(VlConfig *cfg, const char *arg, GError **errp)
{
    return add_monitor(cfg, "monitor", arg, MONITOR_MODE_READLINE, false);
}

static bool opt_qmp(VlConfig *cfg, const char *arg, GError **errp)
{
    return add_monitor(cfg, "qmp", arg, MONITOR_MODE_CONTROL, false);
}

static bool opt_qmp_pretty(VlConfig *cfg, const char *arg, GError **errp)
{
    return add_monitor(cfg, "qmp-pretty", arg, MONITOR_MODE_CONTROL, true);
}

/* -mon [chardev=]ID[,mode=readline|control][,pretty=on|off] */
static bool opt_mon(VlConfig *cfg, const char *arg, GError **errp)
{
    QliteOpts *opts = keyval_parse(arg, "chardev", 0, errp);
    const char *mode;
    bool pretty;

    if (!opts) {
        return false;
    }
    mode = qopts_get(opts, "mode");
    if (!qopts_get(opts, "chardev")) {
        error_setg(errp, "Parameter 'chardev' is missing");
    } else if (mode && strcmp(mode, "readline") && strcmp(mode, "control")) {
        error_setg(errp, "Parameter 'mode' does not accept value '%s'",
                   mode);
    } else if (qopts_get_bool(opts, "pretty", false, &pretty, errp)) {
        qopts_get(opts, "id");
        if (qopts_check_all_used(opts, errp)) {
            g_ptr_array_add(cfg->monitors, vl_item_new("mon", arg, opts));
            return true;
        }
    }
    qopts_free(opts);
    return false;
}

static bool opt_qtest(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->qtest = arg;
    return true;
}

static bool opt_qtest_log(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->qtest_log = arg;
    return true;
}

static bool opt_log(VlConfig *cfg, const char *arg, GError **errp)
{
    qlite_log_set_mask(arg, errp);
    return !(errp && *errp);
}

/* Stored for the network issue; parsed for syntax now. */
static bool opt_store_keyval(GPtrArray *list, const char *opt,
                             const char *arg, const char *implied,
                             GError **errp)
{
    QliteOpts *opts = keyval_parse(arg, implied, 0, errp);

    if (!opts) {
        return false;
    }
    g_ptr_array_add(list, vl_item_new(opt, arg, opts));
    return true;
}

/*
 * Drives are opened in command-line order once the options are all read
 * (-snapshot applies to drives given before it too); item->arg is the
 * -drive option string, "blockdev" items keep theirs for blockdev_add().
 */
static bool opt_drive(VlConfig *cfg, const char *arg, GError **errp)
{
    g_ptr_array_add(cfg->drives, vl_item_new("drive", arg, NULL));
    return true;
}

static bool opt_blockdev(VlConfig *cfg, const char *arg, GError **errp)
{
    g_ptr_array_add(cfg->drives, vl_item_new("blockdev", arg, NULL));
    return true;
}

/* -hda FILE ... -hdd FILE, -cdrom FILE: IDE drives at fixed indexes. */
static void vl_add_legacy_drive(VlConfig *cfg, const char *opt,
                                const char *file, int index, bool cdrom)
{
    g_autoptr(GString) spec = g_string_new("file=");
    VlItem *it;

    /* keyval escapes a comma by doubling it. */
    for (const char *p = file; *p; p++) {
        g_string_append_c(spec, *p);
        if (*p == ',') {
            g_string_append_c(spec, ',');
        }
    }
    g_string_append_printf(spec, ",index=%d,media=%s", index,
                           cdrom ? "cdrom" : "disk");
    it = vl_item_new(opt, spec->str, NULL);
    g_free(it->location);
    it->location = g_strdup_printf("-%s %s", opt, file);
    g_ptr_array_add(cfg->drives, it);
}

static bool opt_hda(VlConfig *cfg, const char *arg, GError **errp)
{
    vl_add_legacy_drive(cfg, "hda", arg, 0, false);
    return true;
}

static bool opt_hdb(VlConfig *cfg, const char *arg, GError **errp)
{
    vl_add_legacy_drive(cfg, "hdb", arg, 1, false);
    return true;
}

static bool opt_hdc(VlConfig *cfg, const char *arg, GError **errp)
{
    vl_add_legacy_drive(cfg, "hdc", arg, 2, false);
    return true;
}

static bool opt_hdd(VlConfig *cfg, const char *arg, GError **errp)
{
    vl_add_legacy_drive(cfg, "hdd", arg, 3, false);
    return true;
}

static bool opt_cdrom(VlConfig *cfg, const char *arg, GError **errp)
{
    vl_add_legacy_drive(cfg, "cdrom", arg, 2, true);
    return true;
}

static bool opt_snapshot(VlConfig *cfg, const char *arg, GError **errp)
{
    cfg->snapshot = true;
    return true;
}

static bool opt_netdev(VlConfig *cfg, const char *arg, GError **errp)
{
    return opt_store_keyval(cfg->netdevs, "netdev", arg, "type", errp);
}

static bool opt_nic(VlConfig *cfg, const char *arg, GError **errp)
{
    return opt_store_keyval(cfg->netdevs, "nic", arg, "type", errp);
}

static bool opt_net(VlConfig *cfg, const char *arg, GError **errp)
{
    return opt_store_keyval(cfg->netdevs, "net", arg, "type", errp);
}

static const VlOption vl_options[] = {
    { "h", false, opt_help },
    { "help", false, opt_help },
    { "version", false, opt_version },
    { "m", true, opt_memory },
    { "smp", true, opt_smp },
    { "machine", true, opt_machine },
    { "M", true, opt_machine },
    { "accel", true, opt_accel },
    { "enable-kvm", false, opt_enable_kvm },
    { "cpu", true, opt_cpu },
    { "bios", true, opt_bios },
    { "kernel", true, opt_kernel },
    { "initrd", true, opt_initrd },
    { "append", true, opt_append },
    { "nographic", false, opt_nographic },
    { "display", true, opt_display },
    { "vga", true, opt_vga },
    { "serial", true, opt_serial },
    { "chardev", true, opt_chardev },
    { "device", true, opt_device },
    { "global", true, opt_global },
    { "name", true, opt_name },
    { "uuid", true, opt_uuid },
    { "pidfile", true, opt_pidfile },
    { "daemonize", false, opt_daemonize },
    { "sandbox", true, opt_sandbox },
    { "runas", true, opt_runas },
    { "chroot", true, opt_chroot },
    { "S", false, opt_start_paused },
    { "no-reboot", false, opt_no_reboot },
    { "no-shutdown", false, opt_no_shutdown },
    { "nodefaults", false, opt_nodefaults },
    { "no-user-config", false, opt_ignore },
    { "no-hpet", false, opt_ignore },
    { "monitor", true, opt_monitor },
    { "qmp", true, opt_qmp },
    { "qmp-pretty", true, opt_qmp_pretty },
    { "mon", true, opt_mon },
    { "qtest", true, opt_qtest },
    { "qtest-log", true, opt_qtest_log },
    { "d", true, opt_log },
    { "drive", true, opt_drive },
    { "blockdev", true, opt_blockdev },
    { "hda", true, opt_hda },
    { "hdb", true, opt_hdb },
    { "hdc", true, opt_hdc },
    { "hdd", true, opt_hdd },
    { "cdrom", true, opt_cdrom },
    { "snapshot", false, opt_snapshot },
    { "netdev", true, opt_netdev },
    { "nic", true, opt_nic },
    { "net", true, opt_net },
    { "boot", true, opt_boot },
    { "rtc", true, opt_rtc },
    { "L", true, opt_ignore },
    /* what libvirt sends (docs/libvirt.md) */
    { "object", true, opt_object },
    { "add-fd", true, opt_add_fd },
    { "msg", true, opt_msg },
    { "overcommit", true, opt_overcommit },
    { "audiodev", true, opt_audiodev },
    { "smbios", true, opt_smbios },
    { "no-acpi", false, opt_no_acpi },
};

static const VlOption *vl_find_option(const char *name)
{
    for (size_t i = 0; i < G_N_ELEMENTS(vl_options); i++) {
        if (!strcmp(vl_options[i].name, name)) {
            return &vl_options[i];
        }
    }
    return NULL;
}

void vl_config_init(VlConfig *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->accel_names = g_ptr_array_new_with_free_func(g_free);
    cfg->serials = g_ptr_array_new();
    cfg->chardevs = g_ptr_array_new();
    cfg->devices = g_ptr_array_new();
    cfg->monitors = g_ptr_array_new();
    cfg->drives = g_ptr_array_new();
    cfg->netdevs = g_ptr_array_new();
    cfg->objects = g_ptr_array_new();
    sandbox_config_default(&cfg->sandbox);
}

static void vl_item_free(VlItem *item)
{
    g_free(item->location);
    g_free(item->arg);
    if (item->opts) {
        qopts_free(item->opts);
    }
    g_free(item);
}

void vl_config_destroy(VlConfig *cfg)
{
    GPtrArray *lists[] = { cfg->serials, cfg->chardevs, cfg->devices,
                           cfg->monitors, cfg->drives, cfg->netdevs,
                           cfg->objects };

    for (size_t i = 0; i < G_N_ELEMENTS(lists); i++) {
        for (guint j = 0; j < lists[i]->len; j++) {
            vl_item_free(lists[i]->pdata[j]);
        }
        g_ptr_array_free(lists[i], true);
    }
    g_ptr_array_free(cfg->accel_names, true);
    if (cfg->machine_opts) {
        qopts_free(cfg->machine_opts);
    }
    g_free(cfg->accel_location);
    g_free(cfg->machine_location);
    g_free(cfg->smp_location);
    g_free(cfg->name);
    g_free(cfg->runas_groups);
    memset(cfg, 0, sizeof(*cfg));
}

void vl_parse(VlConfig *cfg, int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *name = argv[i];
        const VlOption *opt;
        const char *arg = NULL;
        GError *err = NULL;

        if (name[0] != '-') {
            /* A bare disk image, as "qemu-system-x86_64 disk.img". */
            vl_add_legacy_drive(cfg, "hda", name, 0, false);
            continue;
        }
        name += name[1] == '-' ? 2 : 1;
        opt = vl_find_option(name);
        if (!opt) {
            error_set_location(argv[i]);
            vl_fail(g_error_new(QLITE_ERROR, 0, "invalid option"));
        }
        if (opt->has_arg) {
            if (i + 1 >= argc) {
                error_set_location(argv[i]);
                vl_fail(g_error_new(QLITE_ERROR, 0, "requires an argument"));
            }
            arg = argv[++i];
        }
        {
            g_autofree char *loc = arg ? g_strdup_printf("-%s %s", name, arg)
                                       : g_strdup_printf("-%s", name);

            error_set_location(loc);
        }
        if (!opt->handler(cfg, arg, &err)) {
            vl_fail(err ? err : g_error_new(QLITE_ERROR, 0, "invalid"));
        }
        error_set_location(NULL);
    }
}
