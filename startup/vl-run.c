/*
 * From a parsed command line to a running machine: pick the board and the
 * accelerator, create chardevs, monitors and devices, load the guest, run
 * the main loop until shutdown.
 */
#include "qlite/accel.h"
#include "qlite/block.h"
#include "qlite/chardev.h"
#include "qlite/cpu.h"
#include "qlite/error.h"
#include "qlite/machine.h"
#include "qlite/main-loop.h"
#include "qlite/monitor.h"
#include "qlite/qdev.h"
#include "qlite/qtest.h"
#include "qlite/runstate.h"
#include "qlite/sandbox.h"
#include "vl.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int daemon_pipe = -1;    /* write end, in the daemon child */
static int daemon_null_fd = -1; /* /dev/null, opened before any -chroot */
static const char *pidfile_path;

/* Fail with @err reported at option @location. */
G_NORETURN static void vl_fail_at(const char *location, GError *err)
{
    error_set_location(location);
    vl_fail(err);
}

static MachineClass *vl_select_machine(VlConfig *cfg)
{
    const char *type = cfg->machine_opts ?
                       qopts_get(cfg->machine_opts, "type") : NULL;
    MachineClass *mc = type ? machine_find_class(type)
                            : machine_default_class();

    if (!mc) {
        vl_fail_at(cfg->machine_location,
                   g_error_new(QLITE_ERROR, 0, "unsupported machine type "
                               "'%s' (use -machine help to list them)",
                               type));
    }
    return mc;
}

static bool class_has_prop(MachineClass *mc, const char *name)
{
    for (const char *const *p = mc->props; p && *p; p++) {
        if (!strcmp(*p, name)) {
            return true;
        }
    }
    return false;
}

/* -machine k=v: accel= picks accelerators, the rest must be known. */
static void vl_apply_machine_opts(VlConfig *cfg, MachineState *ms,
                                  MachineClass *mc)
{
    QliteOpts *opts = cfg->machine_opts;
    GError *err = NULL;

    if (!opts) {
        return;
    }
    for (guint i = 0; i < opts->pairs->len; i++) {
        KeyvalPair *kv = opts->pairs->pdata[i];

        if (!strcmp(kv->key, "type")) {
            continue;
        }
        if (!strcmp(kv->key, "accel")) {
            if (cfg->accel_location) {
                vl_fail_at(cfg->machine_location, g_error_new(
                    QLITE_ERROR, 0, "The -accel and \"-machine accel=\" "
                    "options are incompatible"));
            }
            g_ptr_array_set_size(cfg->accel_names, 0);
            continue;
        }
        if (!class_has_prop(mc, kv->key)) {
            vl_fail_at(cfg->machine_location, g_error_new(
                QLITE_ERROR, 0, "Property '%s-machine.%s' not found",
                mc->name, kv->key));
        }
        g_hash_table_insert(ms->props, g_strdup(kv->key),
                            g_strdup(kv->value));
    }
    /* accel= last so that a later accel= wins */
    for (guint i = 0; i < opts->pairs->len; i++) {
        KeyvalPair *kv = opts->pairs->pdata[i];
        g_auto(GStrv) names = NULL;

        if (strcmp(kv->key, "accel")) {
            continue;
        }
        g_ptr_array_set_size(cfg->accel_names, 0);
        names = g_strsplit(kv->value, ":", -1);
        for (char **n = names; *n; n++) {
            if (**n && !accel_find(*n)) {
                err = g_error_new(QLITE_ERROR, 0, "invalid accelerator %s",
                                  *n);
                vl_fail_at(cfg->machine_location, err);
            }
            if (**n) {
                g_ptr_array_add(cfg->accel_names, g_strdup(*n));
            }
        }
        g_free(cfg->accel_location);
        cfg->accel_location = g_strdup(cfg->machine_location);
    }
}

static bool smp_get(QliteOpts *opts, const char *key, unsigned *out,
                    GError **errp)
{
    uint64_t v;

    if (!qopts_get_uint(opts, key, 0, &v, errp)) {
        return false;
    }
    if (v > 4096) {
        error_setg(errp, "Parameter '%s' is too large: %" PRIu64, key, v);
        return false;
    }
    *out = v;
    return true;
}

/*
 * -smp [cpus=]n[,sockets=s][,dies=d][,cores=c][,threads=t][,maxcpus=m]:
 * missing values are derived as QEMU 7.2 does, preferring sockets.
 */
static bool vl_parse_smp(const char *arg, MachineClass *mc, SmpConfig *smp,
                         GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(arg, "cpus", 0, errp);
    unsigned cpus, sockets, dies, cores, threads, maxcpus;

    if (!opts || !smp_get(opts, "cpus", &cpus, errp) ||
        !smp_get(opts, "sockets", &sockets, errp) ||
        !smp_get(opts, "dies", &dies, errp) ||
        !smp_get(opts, "cores", &cores, errp) ||
        !smp_get(opts, "threads", &threads, errp) ||
        !smp_get(opts, "maxcpus", &maxcpus, errp) ||
        !qopts_check_all_used(opts, errp)) {
        return false;
    }
    dies = dies ? dies : 1;
    if (!cpus && !sockets && !cores && !threads && !maxcpus) {
        cpus = 1;
    }
    maxcpus = maxcpus ? maxcpus : cpus;
    threads = threads ? threads : 1;
    cores = cores ? cores : 1;
    if (!sockets) {
        unsigned total = maxcpus ? maxcpus : 1;

        sockets = MAX(1, total / (dies * cores * threads));
    }
    if (!maxcpus) {
        maxcpus = sockets * dies * cores * threads;
    }
    cpus = cpus ? cpus : maxcpus;
    if (sockets * dies * cores * threads != maxcpus) {
        error_setg(errp, "Invalid CPU topology: product of the hierarchy "
                   "must match maxcpus: sockets (%u) * dies (%u) * cores "
                   "(%u) * threads (%u) != maxcpus (%u)", sockets, dies,
                   cores, threads, maxcpus);
        return false;
    }
    if (cpus > maxcpus) {
        error_setg(errp, "Invalid CPU topology: maxcpus must be equal to "
                   "or greater than smp: cpus (%u) > maxcpus (%u)", cpus,
                   maxcpus);
        return false;
    }
    if (maxcpus > mc->max_cpus) {
        error_setg(errp, "Invalid SMP CPUs %u. The max CPUs supported by "
                   "machine '%s' is %u", maxcpus, mc->name, mc->max_cpus);
        return false;
    }
    *smp = (SmpConfig){ cpus, sockets, dies, cores, threads, maxcpus };
    return true;
}

/* As QEMU: any -device disk or CD-ROM does away with the default CD-ROM. */
static bool vl_has_disk_device(VlConfig *cfg)
{
    static const char *const drivers[] = {
        "ide-cd", "ide-hd", "scsi-cd", "scsi-hd",
    };

    for (guint i = 0; i < cfg->devices->len; i++) {
        VlItem *it = cfg->devices->pdata[i];
        const char *driver = qopts_get(it->opts, "driver");

        for (size_t j = 0; driver && j < G_N_ELEMENTS(drivers); j++) {
            if (!strcmp(driver, drivers[j])) {
                return true;
            }
        }
    }
    return false;
}

static MachineState *vl_create_machine(VlConfig *cfg)
{
    MachineClass *mc = vl_select_machine(cfg);
    MachineState *ms = MACHINE(object_new(object_class_get_name(
                                              OBJECT_CLASS(mc))));
    GError *err = NULL;

    object_property_add_child(object_get_root(), "machine", OBJECT(ms));
    object_unref(OBJECT(ms));
    machine_set_current(ms);
    vl_apply_machine_opts(cfg, ms, mc);
    ms->ram_size = cfg->ram_set ? cfg->ram_size : mc->default_ram_size;
    ms->smp = (SmpConfig){ 1, 1, 1, 1, 1, 1 };
    if (cfg->smp && !vl_parse_smp(cfg->smp, mc, &ms->smp, &err)) {
        g_autofree char *loc = g_strdup_printf("-smp %s", cfg->smp);

        vl_fail_at(loc, err);
    }
    if (mc->no_cpus) {
        ms->smp.cpus = 0;
    }
    ms->cpu_model = g_strdup(cfg->cpu_model);
    ms->firmware = g_strdup(cfg->bios);
    ms->kernel_filename = g_strdup(cfg->kernel);
    ms->initrd_filename = g_strdup(cfg->initrd);
    ms->kernel_cmdline = g_strdup(cfg->append ? cfg->append : "");
    ms->name = g_strdup(cfg->name);
    ms->nodefaults = cfg->nodefaults;
    ms->no_default_cdrom = vl_has_disk_device(cfg);
    if (cfg->uuid) {
        ms->has_uuid = true;
        sscanf(cfg->uuid, "%2hhx%2hhx%2hhx%2hhx-%2hhx%2hhx-%2hhx%2hhx-"
               "%2hhx%2hhx-%2hhx%2hhx%2hhx%2hhx%2hhx%2hhx",
               &ms->uuid[0], &ms->uuid[1], &ms->uuid[2], &ms->uuid[3],
               &ms->uuid[4], &ms->uuid[5], &ms->uuid[6], &ms->uuid[7],
               &ms->uuid[8], &ms->uuid[9], &ms->uuid[10], &ms->uuid[11],
               &ms->uuid[12], &ms->uuid[13], &ms->uuid[14], &ms->uuid[15]);
    }
    return ms;
}

static void vl_check_combinations(VlConfig *cfg)
{
    GError *err = NULL;

    if (cfg->append && !cfg->kernel) {
        err = g_error_new(QLITE_ERROR, 0,
                          "-append only allowed with -kernel option");
    } else if (cfg->initrd && !cfg->kernel) {
        err = g_error_new(QLITE_ERROR, 0,
                          "-initrd only allowed with -kernel option");
    } else if (cfg->daemonize && cfg->nographic &&
               cfg->serials->len == 0 && !cfg->nodefaults) {
        /* Only the default serial ("mon:stdio" under -nographic) needs
         * the terminal; -nodefaults or an explicit -serial frees it. */
        err = g_error_new(QLITE_ERROR, 0,
                          "-nographic cannot be used with -daemonize");
    }
    for (guint i = 0; !err && cfg->daemonize && i < cfg->serials->len;
         i++) {
        VlItem *it = cfg->serials->pdata[i];

        if (strstr(it->arg, "stdio")) {
            err = g_error_new(QLITE_ERROR, 0, "cannot use stdio with "
                              "-daemonize");
        }
    }
    if (err) {
        vl_fail_at(NULL, err);
    }
}

static void vl_create_chardevs(VlConfig *cfg)
{
    for (guint i = 0; i < cfg->chardevs->len; i++) {
        VlItem *it = cfg->chardevs->pdata[i];
        GError *err = NULL;

        if (!chardev_new_from_opts(it->opts, &err)) {
            vl_fail_at(it->location, err);
        }
    }
}

static void vl_create_serials(VlConfig *cfg, MachineState *ms)
{
    if (cfg->serials->len == 0 && !cfg->nodefaults) {
        g_ptr_array_add(cfg->serials, vl_item_new(
                            "serial", cfg->nographic ? "mon:stdio" : "null",
                            NULL));
    }
    for (guint i = 0; i < cfg->serials->len; i++) {
        VlItem *it = cfg->serials->pdata[i];
        g_autofree char *label = g_strdup_printf("serial%u", i);
        GError *err = NULL;

        ms->serial_hds[i] = chardev_new_legacy(label, it->arg, &err);
        if (err) {
            vl_fail_at(it->location, err);
        }
        /* mon:stdio also carries the human monitor */
        if (g_str_has_prefix(it->arg, "mon:") &&
            !monitor_init(ms->serial_hds[i], MONITOR_MODE_READLINE, false,
                          &err)) {
            vl_fail_at(it->location, err);
        }
    }
}

static void vl_create_monitors(VlConfig *cfg)
{
    for (guint i = 0; i < cfg->monitors->len; i++) {
        VlItem *it = cfg->monitors->pdata[i];
        const char *chardev_id = qopts_get(it->opts, "chardev");
        const char *mode = qopts_get(it->opts, "mode");
        g_autofree char *label = g_strdup_printf("compat_monitor%u", i);
        MonitorMode mm = mode && !strcmp(mode, "control")
                         ? MONITOR_MODE_CONTROL : MONITOR_MODE_READLINE;
        bool pretty = false;
        Chardev *chr;
        GError *err = NULL;

        qopts_get_bool(it->opts, "pretty", false, &pretty, NULL);
        if (chardev_id) {
            chr = chardev_find(chardev_id);
            if (!chr) {
                err = g_error_new(QLITE_ERROR, 0, "chardev \"%s\" not found",
                                  chardev_id);
            }
        } else {
            chr = chardev_new_legacy(label, it->arg, &err);
        }
        if (!err && chr && !monitor_init(chr, mm, pretty, &err)) {
            /* err set */
        }
        if (err) {
            vl_fail_at(it->location, err);
        }
    }
}

/* -drive and -blockdev, in command-line order, before the board. */
static void vl_open_drives(VlConfig *cfg)
{
    drive_set_snapshot_default(cfg->snapshot);
    for (guint i = 0; i < cfg->drives->len; i++) {
        VlItem *it = cfg->drives->pdata[i];
        GError *err = NULL;
        bool ok;

        if (!strcmp(it->opt, "blockdev")) {
            ok = blockdev_add(it->arg, &err) != NULL;
        } else {
            ok = drive_new(it->arg, IF_IDE, &err) != NULL;
        }
        if (!ok) {
            vl_fail_at(it->location, err);
        }
    }
}

/* if=virtio drives: a virtio-blk-pci each, as QEMU makes them. */
static void vl_create_virtio_drives(void)
{
    g_autoptr(GList) list = drive_get_unclaimed(IF_VIRTIO);

    for (GList *l = list; l; l = l->next) {
        DriveInfo *d = l->data;
        g_autoptr(QliteOpts) opts = qopts_new("device");
        GError *err = NULL;

        qopts_set(opts, "driver", "virtio-blk-pci");
        qopts_set(opts, "drive", d->id);
        if (d->serial) {
            qopts_set(opts, "serial", d->serial);
        }
        if (d->devaddr) {
            qopts_set(opts, "addr", d->devaddr);
        }
        if (!qdev_device_add(opts, &err)) {
            g_autofree char *loc = g_strdup_printf("-drive %s", d->id);
            vl_fail_at(loc, err);
        }
    }
}

/* A drive no device took is an error, never silently dropped. */
static void vl_check_drives_claimed(void)
{
    for (int t = IF_IDE; t < IF_COUNT; t++) {
        g_autoptr(GList) list = drive_get_unclaimed(t);

        if (list) {
            DriveInfo *d = list->data;
            vl_fail_at(NULL, g_error_new(QLITE_ERROR, 0,
                       "machine type does not support if=%s,bus=%d,unit=%d",
                       block_if_name(d->type), d->bus, d->unit));
        }
    }
}

static void vl_create_devices(VlConfig *cfg)
{
    for (guint i = 0; i < cfg->devices->len; i++) {
        VlItem *it = cfg->devices->pdata[i];
        GError *err = NULL;

        if (!qdev_device_add(it->opts, &err)) {
            vl_fail_at(it->location, err);
        }
        if (!qopts_check_all_used(it->opts, &err)) {
            vl_fail_at(it->location, err);
        }
    }
}

static void vl_setup_accel(VlConfig *cfg, MachineState *ms)
{
    GError *err = NULL;

    if (cfg->qtest && cfg->accel_names->len == 0) {
        g_ptr_array_add(cfg->accel_names, g_strdup("qtest"));
    }
    if (!accel_setup(cfg->accel_names,
                     cfg->accel_location ? cfg->accel_location : "-accel",
                     ms, &err)) {
        vl_fail_at(cfg->accel_location, err);
    }
}

static void vl_reset_hook(ShutdownCause cause)
{
    machine_reset(qdev_get_machine());
}

static void vl_powerdown_hook(void)
{
    MachineState *ms = qdev_get_machine();
    MachineClass *mc = MACHINE_GET_CLASS(ms);

    if (mc->powerdown) {
        mc->powerdown(ms);
    }
}

static void vl_suspend_hook(void)
{
    MachineState *ms = qdev_get_machine();
    MachineClass *mc = MACHINE_GET_CLASS(ms);

    if (mc->suspend) {
        mc->suspend(ms);
    }
}

static void vl_wakeup_hook(WakeupReason reason)
{
    MachineState *ms = qdev_get_machine();
    MachineClass *mc = MACHINE_GET_CLASS(ms);

    if (mc->wakeup) {
        mc->wakeup(ms, reason);
    } else {
        machine_reset(ms);
    }
}

static const RunstateHooks vl_runstate_hooks = {
    .reset = vl_reset_hook,
    .powerdown = vl_powerdown_hook,
    .suspend = vl_suspend_hook,
    .wakeup = vl_wakeup_hook,
    .pause_vcpus = pause_all_vcpus,
    .resume_vcpus = resume_all_vcpus,
};

static void vl_start_vcpus(MachineState *ms)
{
    const AccelOps *accel = accel_current();

    for (guint i = 0; i < ms->cpus->len; i++) {
        GError *err = NULL;

        if (!accel->start_vcpu(ms->cpus->pdata[i], &err)) {
            vl_fail_at(NULL, err);
        }
    }
}

/* The parent waits until the daemon says it is set up (monitors listen). */
static void vl_daemonize_start(void)
{
    int fds[2];
    pid_t pid;
    char status = 1;

    if (pipe(fds) < 0) {
        vl_fail_at(NULL, g_error_new(QLITE_ERROR, 0, "pipe: %s",
                                     g_strerror(errno)));
    }
    pid = fork();
    if (pid < 0) {
        vl_fail_at(NULL, g_error_new(QLITE_ERROR, 0, "fork: %s",
                                     g_strerror(errno)));
    }
    if (pid > 0) {
        close(fds[1]);
        if (read(fds[0], &status, 1) != 1) {
            status = 1;
        }
        _exit(status);
    }
    close(fds[0]);
    daemon_pipe = fds[1];
    setsid();
    /* As QEMU: what the daemon creates (the QMP socket: 0750, the pid
     * file: 0600) is closed to others. */
    umask(027);
    daemon_null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
}

static void vl_daemonize_finish(void)
{
    char ok = 0;

    if (daemon_pipe < 0) {
        return;
    }
    if (daemon_null_fd >= 0) {
        dup2(daemon_null_fd, STDIN_FILENO);
        dup2(daemon_null_fd, STDOUT_FILENO);
        dup2(daemon_null_fd, STDERR_FILENO);
        close(daemon_null_fd);
        daemon_null_fd = -1;
    }
    if (write(daemon_pipe, &ok, 1) != 1) {
        /* the parent is gone; nothing to tell */
    }
    close(daemon_pipe);
    daemon_pipe = -1;
}

static int pidfile_fd = -1;

/* Only the instance that holds the lock removes the file. */
static void vl_remove_pidfile(void)
{
    if (pidfile_path && pidfile_fd >= 0) {
        unlink(pidfile_path);
    }
}

/*
 * Open and lock the pid file as QEMU does: a second instance with the same
 * file gets "Cannot lock pid file" instead of taking it over.  Locked, the
 * file is checked to still be the one at @path (an exiting owner may have
 * unlinked it between our open and our lock).
 */
static int vl_lock_pidfile(const char *path, GError **errp)
{
    for (int tries = 0; tries < 3; tries++) {
        struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
        struct stat a, b;
        int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

        if (fd < 0) {
            error_setg(errp, "Cannot open pid file: %s", g_strerror(errno));
            return -1;
        }
        if (fcntl(fd, F_SETLK, &fl) < 0) {
            int err = errno;
            close(fd);
            error_setg(errp, "Cannot lock pid file: %s", g_strerror(err));
            return -1;
        }
        if (fstat(fd, &a) == 0 && stat(path, &b) == 0 &&
            a.st_ino == b.st_ino && a.st_dev == b.st_dev) {
            return fd;
        }
        close(fd);
    }
    error_setg(errp, "Cannot lock pid file: it keeps being replaced");
    return -1;
}

static void vl_write_pidfile(const char *path)
{
    g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());
    g_autofree char *loc = g_strdup_printf("-pidfile %s", path);
    GError *err = NULL;
    int fd = vl_lock_pidfile(path, &err);

    if (fd < 0) {
        vl_fail_at(loc, err);
    }
    if (ftruncate(fd, 0) < 0 ||
        write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        vl_fail_at(loc, g_error_new(QLITE_ERROR, 0, "Failed to write pid "
                                    "file: %s", g_strerror(errno)));
    }
    pidfile_fd = fd;            /* kept open: the lock lives with it */
    pidfile_path = path;
    qlite_add_exit_notifier(vl_remove_pidfile);
}

/* -overcommit mem-lock=on; after the fork, which does not keep locks. */
static void vl_lock_memory(VlConfig *cfg)
{
    if (cfg->mem_lock && mlockall(MCL_CURRENT | MCL_FUTURE) < 0) {
        vl_fail_at(NULL, g_error_new(QLITE_ERROR, 0, "locking memory "
                                     "failed: %s", g_strerror(errno)));
    }
}

static void vl_init_machine(VlConfig *cfg, MachineState *ms)
{
    MachineClass *mc = MACHINE_GET_CLASS(ms);
    GError *err = NULL;

    if (!mc->init(ms, &err)) {
        vl_fail_at(NULL, err);
    }
}

int qlite_main(int argc, char **argv)
{
    VlConfig cfg;
    MachineState *ms;
    GError *err = NULL;
    int status;

    error_set_progname(argv[0]);
    qlite_register_all_types();
    vl_config_init(&cfg);
    vl_parse(&cfg, argc, argv);
    error_set_message_prefix(cfg.msg_timestamp,
                             cfg.msg_guest_name ? cfg.name : NULL);
    vl_check_combinations(&cfg);
    sandbox_plan(&cfg.sandbox);
    ms = vl_create_machine(&cfg);
    if (cfg.daemonize) {
        vl_daemonize_start();
    }
    if (cfg.pidfile) {
        vl_write_pidfile(cfg.pidfile);
    }
    vl_lock_memory(&cfg);
    memory_system_init();
    main_loop_init();
    vl_create_objects(&cfg);
    vl_resolve_memory_backend(&cfg, ms);
    runstate_set_no_reboot(cfg.no_reboot);
    runstate_set_no_shutdown(cfg.no_shutdown);
    vl_create_chardevs(&cfg);
    vl_create_serials(&cfg, ms);
    vl_create_monitors(&cfg);
    vl_create_netdevs(&cfg);
    vl_setup_accel(&cfg, ms);
    vl_open_drives(&cfg);
    vl_init_machine(&cfg, ms);
    vl_create_virtio_drives();
    vl_create_nics();
    vl_create_devices(&cfg);
    vl_check_netdevs_peered();
    vl_check_drives_claimed();
    if (cfg.qtest && !qtest_server_init(cfg.qtest, cfg.qtest_log, &err)) {
        g_autofree char *loc = g_strdup_printf("-qtest %s", cfg.qtest);

        vl_fail_at(loc, err);
    }
    runstate_set_hooks(&vl_runstate_hooks);
    machine_reset(ms);
    vl_start_vcpus(ms);
    if (!vl_confine(&cfg, &err)) {
        vl_fail_at(NULL, err);
    }
    vl_daemonize_finish();
    if (!cfg.start_paused) {
        vm_start();
    }
    status = main_loop_run();
    if (runstate_is_running()) {
        pause_all_vcpus();
    }
    monitor_cleanup();
    qlite_run_exit_notifiers();
    /* Requests in flight complete, caches are written, images closed. */
    drive_cleanup_all();
    chardev_cleanup_all();
    vl_config_destroy(&cfg);
    return status;
}
