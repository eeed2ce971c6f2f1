/*
 * Choosing and starting the accelerator: the first of -accel (or
 * -machine accel=a:b) that can run here wins; a fallback is announced.
 */
#include "qlite/accel.h"
#include "qlite/error.h"
#include "qlite/machine.h"

static GPtrArray *accels;       /* of const AccelOps * */
static const AccelOps *current;

void accel_register(const AccelOps *ops)
{
    if (!accels) {
        accels = g_ptr_array_new();
    }
    g_ptr_array_add(accels, (gpointer)ops);
}

const AccelOps *accel_find(const char *name)
{
    for (guint i = 0; accels && i < accels->len; i++) {
        const AccelOps *ops = accels->pdata[i];

        if (!strcmp(ops->name, name)) {
            return ops;
        }
    }
    return NULL;
}

const AccelOps *accel_current(void)
{
    return current;
}

GPtrArray *accel_list(void)
{
    if (!accels) {
        accels = g_ptr_array_new();
    }
    return accels;
}

const char *accel_kvm_device_path(void)
{
    const char *path = g_getenv("QLITE_KVM_DEVICE");

    return path && *path ? path : "/dev/kvm";
}

static bool accel_try(const AccelOps *ops, MachineState *ms, GError **errp)
{
    if (!ops->available(errp)) {
        return false;
    }
    current = ops;
    if (!ops->init_machine(ms, errp)) {
        current = NULL;
        return false;
    }
    return true;
}

bool accel_setup(GPtrArray *names, const char *opt_name, MachineState *ms,
                 GError **errp)
{
    bool failed = false;

    if (!names || names->len == 0) {
        const AccelOps *tcg = accel_find("tcg");

        if (!tcg) {
            error_setg(errp, "no accelerator found (this build lacks tcg)");
            return false;
        }
        return accel_try(tcg, ms, errp);
    }
    for (guint i = 0; i < names->len; i++) {
        const char *name = names->pdata[i];
        const AccelOps *ops = accel_find(name);
        GError *err = NULL;

        if (!ops) {
            error_setg(errp, "invalid accelerator %s", name);
            return false;
        }
        if (accel_try(ops, ms, &err)) {
            if (failed) {
                warn_report("%s: falling back to %s", opt_name, ops->name);
            }
            return true;
        }
        if (i + 1 == names->len) {
            g_propagate_prefixed_error(errp, err, "failed to initialize %s: ",
                                       name);
            return false;
        }
        error_report("%s: failed to initialize %s: %s", opt_name, name,
                     err->message);
        g_error_free(err);
        failed = true;
    }
    return false;
}
