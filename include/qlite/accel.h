/*
 * The accelerator seam.  An accelerator (kvm, tcg, qtest) says whether it
 * can run here, sets itself up for the machine, and runs each vCPU in a
 * thread; both share device dispatch through memory.h and exit kinds
 * through this header.
 */
#ifndef QLITE_ACCEL_H
#define QLITE_ACCEL_H

#include "qlite/osdep.h"

typedef struct MachineState MachineState;
typedef struct CPUState CPUState;

typedef struct AccelOps {
    const char *name;           /* "kvm", "tcg", "qtest" */
    const char *type_name;      /* "kvm-accel", for qom-list-types */
    /* Can it run on this host?  errp says why not. */
    bool (*available)(GError **errp);
    /* -accel NAME,KEY=VALUE (before init_machine); NULL: it takes none. */
    bool (*set_option)(const char *key, const char *value, GError **errp);
    bool (*init_machine)(MachineState *ms, GError **errp);
    /* Start a thread running @cpu; it waits while the VM is paused. */
    bool (*start_vcpu)(CPUState *cpu, GError **errp);
    void (*kick_vcpu)(CPUState *cpu);
    /* Put @cpu in its power-on state (machine reset). */
    void (*reset_vcpu)(CPUState *cpu);
    /* "info registers" */
    void (*dump_state)(CPUState *cpu, GString *out);
} AccelOps;

void accel_register(const AccelOps *ops);
const AccelOps *accel_find(const char *name);
/* The accelerator in use (NULL before accel_setup()). */
const AccelOps *accel_current(void);
/* Every registered accelerator, in registration order. */
GPtrArray *accel_list(void);

/*
 * Pick the first accelerator of @names (the fallback order) that can run
 * and initialise it for @ms.  @opt_name is the option the list came from
 * ("-accel", "-machine accel=kvm:tcg") for messages.  A fallback prints a
 * notice; an empty list means tcg.
 */
bool accel_setup(GPtrArray *names, const char *opt_name, MachineState *ms,
                 GError **errp);

/* Where KVM lives; QLITE_KVM_DEVICE overrides it (tests). */
const char *accel_kvm_device_path(void);

#endif
