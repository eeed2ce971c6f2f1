/*
 * The human monitor's commands: one table for the terminal monitor and
 * for QMP's human-monitor-command.  Output uses '\n'; the monitor sends
 * "\r\n" and human-monitor-command converts as QEMU does.
 */
#include "monitor-internal.h"
#include "qlite/block.h"
#include "qlite/accel.h"
#include "qlite/error.h"
#include "qlite/cpu.h"
#include "qlite/machine.h"
#include "qlite/memory.h"
#include "qlite/qdev.h"
#include "qlite/runstate.h"

#include <unistd.h>

typedef void HmpFn(GString *out, const char *args, int cpu_index);

typedef struct HmpCommand {
    const char *name;       /* "cont|c": the name, then aliases */
    const char *params;     /* for help: "[-a]" */
    const char *help;
    bool takes_args;
    HmpFn *fn;
} HmpCommand;

/* ---- info ---- */

static void hmp_info_status(GString *out, const char *args, int cpu_index)
{
    RunState st = runstate_get();

    if (runstate_is_running()) {
        g_string_append(out, "VM status: running\n");
    } else if (st == RUN_STATE_PAUSED) {
        g_string_append(out, "VM status: paused\n");
    } else {
        g_string_append_printf(out, "VM status: paused (%s)\n",
                               runstate_name(st));
    }
}

static void hmp_dump_cpu(GString *out, int index, bool heading)
{
    const AccelOps *ops = accel_current();
    CPUState *cpu = cpu_get(index);

    if (!cpu) {
        g_string_append_printf(out, "CPU#%d does not exist\n", index);
        return;
    }
    if (heading) {
        g_string_append_printf(out, "\nCPU#%d\n", index);
    }
    if (!ops || !ops->dump_state) {
        g_string_append(out, "No register dump with this accelerator\n");
        return;
    }
    ops->dump_state(cpu, out);
}

static void hmp_info_registers(GString *out, const char *args, int cpu_index)
{
    if (cpu_count() <= 0) {
        g_string_append(out, "No CPU available\n");
        return;
    }
    if (!strcmp(args, "-a")) {
        for (int i = 0; i < cpu_count(); i++) {
            hmp_dump_cpu(out, i, true);
        }
    } else if (*args) {
        g_string_append_printf(out, "info registers: unknown option '%s'\n",
                               args);
    } else {
        hmp_dump_cpu(out, cpu_index >= 0 ? cpu_index : 0, false);
    }
}

static void hmp_info_cpus(GString *out, const char *args, int cpu_index)
{
    for (int i = 0; i < cpu_count(); i++) {
        g_string_append_printf(out, "%c CPU #%d: thread_id=%d\n",
                               i == MAX(cpu_index, 0) ? '*' : ' ', i,
                               (int)getpid());
    }
}

static void hmp_info_pci(GString *out, const char *args, int cpu_index)
{
    hmp_print_pci(out);
}

/* ---- info qtree ---- */

static void hmp_qtree_bus(GString *out, BusState *bus, int indent);

typedef struct HmpPropCtx {
    GString *out;
    DeviceState *dev;
    int indent;
} HmpPropCtx;

static bool hmp_qtree_prop(const Property *prop, void *opaque)
{
    HmpPropCtx *ctx = opaque;
    g_autofree char *val = qdev_prop_get(ctx->dev, prop);
    uint64_t n;

    g_string_append_printf(ctx->out, "%*s%s = ", ctx->indent, "", prop->name);
    if (prop->kind >= PROP_UINT8 && prop->kind <= PROP_SIZE &&
        prop->kind != PROP_INT32 && val &&
        keyval_parse_uint(prop->name, val, &n, NULL)) {
        g_string_append_printf(ctx->out, "%" PRIu64 " (0x%" PRIx64 ")\n",
                               n, n);
    } else if (prop->kind == PROP_STRING || prop->kind == PROP_CHR ||
               prop->kind == PROP_LINK) {
        g_string_append_printf(ctx->out, "\"%s\"\n", val ? val : "");
    } else {
        g_string_append_printf(ctx->out, "%s\n", val ? val : "");
    }
    return true;
}

static void hmp_qtree_dev(GString *out, DeviceState *dev, int indent)
{
    HmpPropCtx ctx = { out, dev, indent + 2 };

    g_string_append_printf(out, "%*sdev: %s, id \"%s\"\n", indent, "",
                           object_get_typename(OBJECT(dev)),
                           dev->id ? dev->id : "");
    qdev_class_foreach_prop(DEVICE_GET_CLASS(dev), hmp_qtree_prop, &ctx);
    for (guint i = 0; dev->child_buses && i < dev->child_buses->len; i++) {
        hmp_qtree_bus(out, dev->child_buses->pdata[i], indent + 2);
    }
}

static void hmp_qtree_bus(GString *out, BusState *bus, int indent)
{
    g_string_append_printf(out, "%*sbus: %s\n%*stype %s\n", indent, "",
                           bus->name, indent + 2, "",
                           object_get_typename(OBJECT(bus)));
    for (guint i = 0; bus->children && i < bus->children->len; i++) {
        hmp_qtree_dev(out, bus->children->pdata[i], indent + 2);
    }
}

static void hmp_qtree_root(BusState *bus, void *opaque)
{
    hmp_qtree_bus(opaque, bus, 0);
}

static void hmp_info_qtree(GString *out, const char *args, int cpu_index)
{
    qbus_foreach_root(hmp_qtree_root, out);
}

static void hmp_info_mtree(GString *out, const char *args, int cpu_index)
{
    memory_print_mtree(out);
}

static void hmp_info_block(GString *out, const char *args, int cpu_index)
{
    hmp_block_info(out);
}

static void hmp_info_version(GString *out, const char *args, int cpu_index)
{
    g_string_append_printf(out, "%d.%d.%d (qlite %s)\n", QLITE_QEMU_MAJOR,
                           QLITE_QEMU_MINOR, QLITE_QEMU_MICRO, QLITE_VERSION);
}

static void hmp_info_name(GString *out, const char *args, int cpu_index)
{
    MachineState *ms = qdev_get_machine();

    if (ms && ms->name) {
        g_string_append_printf(out, "%s\n", ms->name);
    }
}

static void hmp_info_chardev(GString *out, const char *args, int cpu_index)
{
    g_autoptr(GPtrArray) list = chardev_list();

    for (guint i = 0; i < list->len; i++) {
        Chardev *chr = list->pdata[i];

        g_string_append_printf(out, "%s: filename=%s\n", chr->label,
                               chr->filename ? chr->filename : "");
    }
}

static void hmp_info_kvm(GString *out, const char *args, int cpu_index)
{
    const AccelOps *ops = accel_current();

    g_string_append_printf(out, "kvm support: %s\n",
                           ops && !strcmp(ops->name, "kvm") ? "enabled"
                                                            : "disabled");
}

static const HmpCommand hmp_info_cmds[] = {
    { "block", "", "show the block devices", false, hmp_info_block },
    { "chardev", "", "show the character devices", false, hmp_info_chardev },
    { "cpus", "", "show infos for each CPU", false, hmp_info_cpus },
    { "kvm", "", "show KVM information", false, hmp_info_kvm },
    { "mtree", "", "show memory tree", false, hmp_info_mtree },
    { "name", "", "show the current VM name", false, hmp_info_name },
    { "network", "", "show the network state", false, hmp_info_network },
    { "pci", "", "show PCI info", false, hmp_info_pci },
    { "qtree", "", "show device tree", false, hmp_info_qtree },
    { "registers", "[-a]", "show the cpu registers (-a: all CPUs)", true,
      hmp_info_registers },
    { "stats", "target [names] [provider]", "show statistics (target vm or "
      "vcpu; names comma-separated or *; provider kvm or tcg)", true,
      hmp_info_stats },
    { "status", "", "show the current VM status (running|paused)", false,
      hmp_info_status },
    { "version", "", "show the version of QEMU", false, hmp_info_version },
};

/* ---- top level ---- */

static void hmp_stop(GString *out, const char *args, int cpu_index)
{
    if (runstate_get() != RUN_STATE_PRELAUNCH) {
        vm_stop(RUN_STATE_PAUSED);
    }
}

static void hmp_cont(GString *out, const char *args, int cpu_index)
{
    RunState st = runstate_get();

    if (st == RUN_STATE_SHUTDOWN || st == RUN_STATE_INTERNAL_ERROR) {
        g_string_append(out, "Error: Resetting the Virtual Machine is "
                        "required\n");
        return;
    }
    vm_start();
}

static void hmp_system_reset(GString *out, const char *args, int cpu_index)
{
    qlite_system_reset_request(SHUTDOWN_CAUSE_HOST_QMP_SYSTEM_RESET);
}

static void hmp_system_powerdown(GString *out, const char *args,
                                 int cpu_index)
{
    qlite_system_powerdown_request();
}

static void hmp_system_wakeup(GString *out, const char *args, int cpu_index)
{
    g_autoptr(GError) err = NULL;

    if (!qlite_system_wakeup_request(WAKEUP_REASON_OTHER, &err)) {
        g_string_append_printf(out, "Error: %s\n", err->message);
    }
}

static void hmp_quit(GString *out, const char *args, int cpu_index)
{
    qlite_system_shutdown_request(SHUTDOWN_CAUSE_HOST_QMP_QUIT);
}

static void hmp_info(GString *out, const char *args, int cpu_index);
static void hmp_help(GString *out, const char *args, int cpu_index);

static const HmpCommand hmp_cmds[] = {
    { "cont|c", "", "resume emulation", false, hmp_cont },
    { "help|?", "[cmd]", "show the help", true, hmp_help },
    { "hostfwd_add", "[netdev_id] [tcp|udp]:[hostaddr]:hostport-"
      "[guestaddr]:guestport", "redirect TCP or UDP connections from host "
      "to guest (user networking)", true, hmp_hostfwd_add },
    { "hostfwd_remove", "[netdev_id] [tcp|udp]:[hostaddr]:hostport",
      "remove host-to-guest TCP or UDP redirection", true,
      hmp_hostfwd_remove },
    { "info", "[subcommand]", "show various information about the system "
      "state", true, hmp_info },
    { "netdev_add", "[user|tap],id=str[,prop=value][,...]",
      "add host network device", true, hmp_netdev_add },
    { "netdev_del", "id", "remove host network device", true,
      hmp_netdev_del },
    { "quit|q", "", "quit the emulator", false, hmp_quit },
    { "set_link", "name on|off", "change the link status of a network "
      "adapter", true, hmp_set_link },
    { "stop|s", "", "stop emulation", false, hmp_stop },
    { "system_powerdown", "", "send system power down event", false,
      hmp_system_powerdown },
    { "system_reset", "", "reset the system", false, hmp_system_reset },
    { "system_wakeup", "", "wakeup guest from suspend", false,
      hmp_system_wakeup },
};

/* Does @word name @cmd or one of its aliases? */
static bool hmp_name_matches(const HmpCommand *cmd, const char *word)
{
    g_auto(GStrv) names = g_strsplit(cmd->name, "|", -1);

    for (char **n = names; *n; n++) {
        if (!strcmp(*n, word)) {
            return true;
        }
    }
    return false;
}

static const HmpCommand *hmp_find(const HmpCommand *table, size_t n,
                                  const char *word)
{
    for (size_t i = 0; i < n; i++) {
        if (hmp_name_matches(&table[i], word)) {
            return &table[i];
        }
    }
    return NULL;
}

static void hmp_list(GString *out, const char *prefix,
                     const HmpCommand *table, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        g_string_append_printf(out, "%s%s %s -- %s\n", prefix, table[i].name,
                               table[i].params, table[i].help);
    }
}

static void hmp_help(GString *out, const char *args, int cpu_index)
{
    const HmpCommand *cmd;

    if (!*args) {
        hmp_list(out, "", hmp_cmds, G_N_ELEMENTS(hmp_cmds));
    } else if (!strcmp(args, "info")) {
        hmp_list(out, "info ", hmp_info_cmds, G_N_ELEMENTS(hmp_info_cmds));
    } else if ((cmd = hmp_find(hmp_cmds, G_N_ELEMENTS(hmp_cmds), args))) {
        hmp_list(out, "", cmd, 1);
    } else {
        g_string_append_printf(out, "unknown command: '%s'\n", args);
    }
}

/* Split "word rest" at the first blank; *rest has no leading blanks. */
static char *hmp_split(const char *line, const char **rest)
{
    const char *end = line;

    while (*end && !g_ascii_isspace(*end)) {
        end++;
    }
    *rest = end;
    while (g_ascii_isspace(**rest)) {
        (*rest)++;
    }
    return g_strndup(line, end - line);
}

/* Run @cmd, refusing arguments it does not take as QEMU does. */
static void hmp_call(const HmpCommand *cmd, const char *word,
                     const char *args, int cpu_index, GString *out)
{
    if (!cmd->takes_args && *args) {
        g_string_append_printf(out, "%s: extraneous characters at the end "
                               "of line\nTry \"help %s\" for more "
                               "information\n", cmd->name, word);
        return;
    }
    cmd->fn(out, args, cpu_index);
}

static void hmp_info(GString *out, const char *args, int cpu_index)
{
    const char *rest;
    g_autofree char *word = hmp_split(args, &rest);
    const HmpCommand *cmd;

    if (!*word) {
        hmp_list(out, "info ", hmp_info_cmds, G_N_ELEMENTS(hmp_info_cmds));
        return;
    }
    cmd = hmp_find(hmp_info_cmds, G_N_ELEMENTS(hmp_info_cmds), word);
    if (!cmd) {
        g_string_append_printf(out, "unknown command: 'info %s'\n", word);
        return;
    }
    hmp_call(cmd, word, rest, cpu_index, out);
}

void hmp_execute(const char *line, int cpu_index, GString *out)
{
    g_autofree char *trimmed = g_strstrip(g_strdup(line));
    g_autofree char *word = NULL;
    const HmpCommand *cmd;
    const char *rest;

    if (!*trimmed) {
        return;
    }
    word = hmp_split(trimmed, &rest);
    cmd = hmp_find(hmp_cmds, G_N_ELEMENTS(hmp_cmds), word);
    if (!cmd) {
        g_string_append_printf(out, "unknown command: '%s'\n", word);
        return;
    }
    hmp_call(cmd, word, rest, cpu_index, out);
}

/* "\n" -> "\r\n" as QEMU returns it; valid UTF-8 for JSON. */
static json_t *hmp_output_json(GString *out)
{
    g_autoptr(GString) crlf = g_string_sized_new(out->len + 16);
    g_autofree char *valid = NULL;

    for (size_t i = 0; i < out->len; i++) {
        if (out->str[i] == '\n') {
            g_string_append_c(crlf, '\r');
        }
        g_string_append_c(crlf, out->str[i]);
    }
    valid = g_utf8_make_valid(crlf->str, crlf->len);
    return json_string(valid);
}

/* QMP's human-monitor-command: the same table, output as one string. */
json_t *qmp_cmd_human_monitor_command(QmpSession *s, json_t *a,
                                      GError **errp)
{
    g_autoptr(GString) out = g_string_new(NULL);
    json_t *idx = json_object_get(a, "cpu-index");
    int cpu_index = -1;

    if (idx) {
        json_int_t v = json_integer_value(idx);

        if (v < 0 || v >= cpu_count()) {
            error_setg(errp, "Invalid CPU index");
            return NULL;
        }
        cpu_index = v;
    }
    hmp_execute(qmp_arg_str(a, "command-line"), cpu_index, out);
    return hmp_output_json(out);
}
