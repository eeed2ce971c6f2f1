/*
 * The seccomp sandbox: once the machine is built and every file, socket
 * and device the command line names is open, qlite installs an allow-list
 * of the system calls it makes while the guest runs.  Anything else (exec,
 * ptrace, mount, module loading, reboot, ...) kills the process.
 *
 * -sandbox on|off[,obsolete=allow|deny][,elevateprivileges=allow|deny|
 * children][,spawn=allow|deny][,resourcecontrol=allow|deny]: QEMU's option
 * and sub-options with QEMU's meanings; each "allow" adds its group of
 * system calls to the list.  qlite's default is on, every group denied.
 */
#ifndef QLITE_SANDBOX_H
#define QLITE_SANDBOX_H

#include "qlite/osdep.h"

typedef enum SandboxPrivileges {
    SANDBOX_PRIV_DENY,          /* no set*uid/set*gid */
    SANDBOX_PRIV_ALLOW,
    SANDBOX_PRIV_CHILDREN,      /* deny, and children run no_new_privs */
} SandboxPrivileges;

typedef struct SandboxConfig {
    bool enable;
    bool obsolete;              /* obsolete=allow */
    SandboxPrivileges privileges;
    bool spawn;                 /* spawn=allow: fork and exec */
    bool resourcecontrol;       /* resourcecontrol=allow */
} SandboxConfig;

/* qlite's default: on (off in ASan builds), every optional group denied. */
void sandbox_config_default(SandboxConfig *cfg);
/* The sub-option names after on|off, NULL-terminated. */
const char *const *sandbox_suboptions(void);
/* Parse a -sandbox argument into @cfg; errors name the bad part. */
bool sandbox_parse(const char *arg, SandboxConfig *cfg, GError **errp);
/* Say, once the command line is read, what sandbox_install() will load,
 * so that sandbox_spawn_allowed_later() can answer before it does. */
void sandbox_plan(const SandboxConfig *cfg);
/* Load the filter into every thread of the process (if cfg->enable). */
bool sandbox_install(const SandboxConfig *cfg, GError **errp);
/* Whether qlite may start a program now (a tap script): no filter yet, or
 * one with spawn=allow.  Callers refuse with an error otherwise. */
bool sandbox_spawn_allowed(void);
/* Whether it may once the guest runs (a guestfwd command, started when
 * the guest connects): no filter planned, or one with spawn=allow. */
bool sandbox_spawn_allowed_later(void);

#endif
