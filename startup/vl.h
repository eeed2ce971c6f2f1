/* The parsed command line, shared by vl.c and its helpers. */
#ifndef SYSTEM_VL_H
#define SYSTEM_VL_H

#include "qlite/keyval.h"
#include "qlite/machine.h"
#include "qlite/sandbox.h"

/* A deferred option: its parsed form plus "-opt arg" for messages. */
typedef struct VlItem {
    const char *opt;            /* the option's name: "drive", "blockdev" */
    char *location;
    char *arg;
    QliteOpts *opts;
} VlItem;

typedef struct VlConfig {
    GPtrArray *accel_names;     /* fallback order, of char * */
    char *accel_location;
    const char *machine_type;
    QliteOpts *machine_opts;
    char *machine_location;
    uint64_t ram_size;
    bool ram_set;
    const char *smp;
    char *smp_location;
    const char *cpu_model;
    const char *bios;
    const char *kernel;
    const char *initrd;
    const char *append;
    char *name;                 /* -name guest=, owned */
    const char *pidfile;
    const char *qtest;
    const char *qtest_log;      /* -qtest-log FILE */
    const char *uuid;
    bool nographic;
    bool display_none;
    bool daemonize;
    bool start_paused;
    bool no_reboot;
    bool no_shutdown;
    bool nodefaults;
    GPtrArray *serials;         /* of VlItem * (arg = legacy spec) */
    GPtrArray *chardevs;        /* of VlItem * */
    GPtrArray *devices;         /* of VlItem * */
    GPtrArray *monitors;        /* of VlItem * (-monitor, -qmp, -mon) */
    GPtrArray *drives;          /* -drive, -blockdev, -hdX, -cdrom */
    bool snapshot;              /* -snapshot */
    GPtrArray *netdevs;         /* -netdev, -nic, -net in order */
    GPtrArray *objects;         /* -object, of VlItem * */
    bool mem_lock;              /* -overcommit mem-lock=on */
    bool msg_timestamp;         /* -msg timestamp=on */
    bool msg_guest_name;        /* -msg guest-name=on */
    SandboxConfig sandbox;      /* -sandbox; on unless "off" */
    const char *chroot_dir;     /* -chroot */
    bool runas;                 /* -runas, resolved at parse time: */
    uid_t runas_uid;
    gid_t runas_gid;
    gid_t *runas_groups;        /* supplementary groups, owned */
    int runas_ngroups;
} VlConfig;

/* vl.c */
void vl_config_init(VlConfig *cfg);
/* Free what vl_parse() allocated (the argv strings stay). */
void vl_config_destroy(VlConfig *cfg);
void vl_parse(VlConfig *cfg, int argc, char **argv);
/* A deferred item located as "-opt arg". */
VlItem *vl_item_new(const char *opt, const char *arg, QliteOpts *opts);
/* Print @err with the current location, run exit notifiers, exit 1. */
G_NORETURN void vl_fail(GError *err);

/* vl-run.c */
int qlite_main(int argc, char **argv);

/* vl-net.c: back ends before the board, NICs once it has its PCI bus. */
void vl_create_netdevs(VlConfig *cfg);
void vl_create_nics(void);
void vl_check_netdevs_peered(void);

/* vl-confine.c: -runas, and the confinement before the guest runs. */
bool vl_parse_runas(VlConfig *cfg, const char *arg, GError **errp);
/* -chroot, chdir /, -runas, then the sandbox (each where asked for). */
bool vl_confine(VlConfig *cfg, GError **errp);

/* vl-object.c: -object, and the RAM a board takes from one. */
bool vl_parse_object(VlConfig *cfg, const char *arg, GError **errp);
void vl_create_objects(VlConfig *cfg);
void vl_resolve_memory_backend(VlConfig *cfg, MachineState *ms);

/* vl-help.c */
void vl_print_help(void);
void vl_print_version(void);

#endif
