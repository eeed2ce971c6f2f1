/*
 * Machines: the board a guest runs on.  A machine class's init() builds the
 * board as one readable function: RAM and ROM regions, buses, devices wired
 * to IRQ lines, then the kernel loaded.
 */
#ifndef QLITE_MACHINE_H
#define QLITE_MACHINE_H

#include "qlite/object.h"
#include "qlite/memory.h"
#include "qlite/runstate.h"

#define TYPE_MACHINE "machine"

typedef struct CPUState CPUState;
typedef struct Chardev Chardev;

typedef struct SmpConfig {
    unsigned cpus;
    unsigned sockets;
    unsigned dies;
    unsigned cores;
    unsigned threads;
    unsigned max_cpus;
} SmpConfig;

typedef struct MachineState {
    Object parent;
    uint64_t ram_size;
    SmpConfig smp;
    char *cpu_model;            /* -cpu, with its feature list */
    char *firmware;             /* -bios, NULL for the built-in ROM */
    char *kernel_filename;
    char *initrd_filename;
    char *kernel_cmdline;
    char *name;                 /* -name */
    uint8_t uuid[16];
    bool has_uuid;
    MemoryRegion *ram;          /* the guest RAM block */
    GPtrArray *cpus;            /* of CPUState * */
    GHashTable *props;          /* -machine k=v the class understands */
    /* serial_hds: chardevs for -serial, in order */
    Chardev *serial_hds[4];
    bool enable_graphics;
    bool nodefaults;
    bool no_default_cdrom;      /* a -device disk or CD-ROM was given */
} MachineState;

typedef struct MachineClass {
    ObjectClass parent;
    const char *name;           /* "pc-i440fx-7.2" */
    const char *alias;          /* "pc" */
    const char *desc;
    bool is_default;
    bool no_cpus;               /* "none": a board with nothing on it */
    unsigned max_cpus;
    uint64_t default_ram_size;
    /* -machine properties this board accepts (NULL-terminated). */
    const char *const *props;
    bool (*init)(MachineState *ms, GError **errp);
    /* Extra work for system_reset after every device was reset. */
    void (*reset)(MachineState *ms);
    /* The power button (system_powerdown); NULL: the board has none. */
    void (*powerdown)(MachineState *ms);
    /*
     * ACPI S3: the vCPUs were stopped (suspend), or the machine wakes
     * (wakeup: reset for resume, RAM untouched; NULL: machine_reset).
     */
    void (*suspend)(MachineState *ms);
    void (*wakeup)(MachineState *ms, WakeupReason reason);
} MachineClass;

#define MACHINE(obj) OBJECT_CHECK(MachineState, (obj), TYPE_MACHINE)
#define MACHINE_CLASS(k) OBJECT_CLASS_CHECK(MachineClass, (k), TYPE_MACHINE)
#define MACHINE_GET_CLASS(obj) \
    OBJECT_GET_CLASS(MachineClass, (obj), TYPE_MACHINE)

/* By name or alias; NULL if none. */
MachineClass *machine_find_class(const char *name);
MachineClass *machine_default_class(void);
/* The machine being run (NULL before it is created). */
MachineState *qdev_get_machine(void);
void machine_set_current(MachineState *ms);
/* "Supported machines are:" */
void machine_print_list(FILE *out);
/* A -machine property's value, or NULL. */
const char *machine_get_prop(MachineState *ms, const char *name);
/* An on/off (or auto: @def) -machine property; @def when absent. */
bool machine_get_prop_bool(MachineState *ms, const char *name, bool def,
                           bool *out, GError **errp);
/* The -machine properties every board with RAM takes from
 * machine_ram_init(), for its props list. */
#define MACHINE_RAM_PROPS "dump-guest-core", "mem-merge", "memory-backend"
/*
 * The RAM block: from -machine memory-backend=ID (libvirt's pc.ram) or
 * anonymous memory; mem-merge and dump-guest-core (on by default, as in
 * QEMU) become madvise() hints on it.
 */
bool machine_ram_init(MachineState *ms, MemoryRegion *ram, GError **errp);
/* Reset every device, then the board, then the vCPUs. */
void machine_reset(MachineState *ms);

#endif
