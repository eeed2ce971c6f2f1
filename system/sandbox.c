/*
 * The seccomp sandbox (libseccomp): the system calls qlite makes once the
 * guest runs, by purpose, and the option that tunes them.
 *
 * The list was found by running the Linux test guest on tcg (a virtio-blk
 * qcow2 disk on io_uring and the thread pool, e1000 and virtio-net on
 * -netdev user and tap, QMP blockdev-add, netdev_add, quit) under
 * strace -f, then checked by the QMP, KVM and run-control tests under
 * the filter; start-up only calls (execve, arch_prctl, set_tid_address,
 * prlimit64) are not on it.
 *
 * What a filter cannot do: it sees numbers, not paths, so openat() and
 * connect() stay allowed for QMP's blockdev-add and netdev_add; io_uring
 * submissions are not system calls and pass unseen (they cannot exec).
 * -runas and -chroot narrow what those can reach.
 */
#include "qlite/sandbox.h"
#include "qlite/error.h"
#include "qlite/keyval.h"

#include <errno.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/prctl.h>

static bool sandbox_planned;         /* a filter is or will be loaded */
static bool sandbox_loaded;
static bool sandbox_spawn;           /* and it allows starting programs */

/* ---- the allow-list, by purpose --------------------------------------- */

/* Reading and writing what is open: disks, chardevs, eventfds, tap. */
static const char *const sys_io[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv",
    "pwritev", "preadv2", "pwritev2", "lseek", "close", "fcntl", "dup",
    "dup2", "dup3", "pipe2", "eventfd2",
    /* KVM_RUN and the VM/vCPU ioctls, TUNSETIFF, FIONREAD, TCGETS */
    "ioctl",
    NULL
};

/* Block layer: flushes, qcow2's growth and discard, image size. */
static const char *const sys_block[] = {
    "fsync", "fdatasync", "fallocate", "ftruncate",
    /* requests on io_uring; a new node may set up a ring of its own */
    "io_uring_setup", "io_uring_enter", "io_uring_register",
    NULL
};

/* Files QMP names after start (blockdev-add, the QMP socket's removal at
 * exit, the pid file's); no path can be checked here. */
static const char *const sys_files[] = {
    "openat", "open", "newfstatat", "fstat", "stat", "lstat", "statx",
    "readlink", "readlinkat", "access", "faccessat", "faccessat2",
    "getdents64", "unlink", "unlinkat",
    /* GLib makes a relative name absolute (a snapshot overlay's backing) */
    "getcwd",
    NULL
};

/* Memory: guest RAM, heaps, thread stacks, and the JIT's code buffer,
 * whose pages the translator flips between writable and executable. */
static const char *const sys_memory[] = {
    "mmap", "munmap", "mprotect", "madvise", "mremap", "brk",
    /* a memory backend made by object-add after start; -file's mem-path
     * directory takes a new temporary file (openat, unlink above) */
    "memfd_create",
    NULL
};

/* Threads: vCPUs, the block thread pool, GLib's workers (clone itself is
 * added with its flags checked, see sandbox_add_clone()). */
static const char *const sys_threads[] = {
    "futex", "set_robust_list", "rseq", "gettid",
    "getpid", "sched_yield", "exit",
    /* GLib's pool copies its creator's scheduling settings to each
     * worker it starts (warning when refused); the settings sit behind
     * a pointer, so no narrower rule is possible */
    "sched_getattr", "sched_setattr",
    NULL
};

/* The main loop (GLib's poll, qlite's ppoll to the nanosecond), clocks,
 * a chardev's back-off sleep, signals (vCPU kicks, SIGTERM), exit. */
static const char *const sys_loop[] = {
    "poll", "ppoll", "clock_gettime", "clock_getres", "clock_nanosleep",
    "nanosleep", "gettimeofday", "rt_sigaction", "rt_sigprocmask",
    "rt_sigreturn", "tgkill", "restart_syscall", "getrandom",
    "exit_group",
    NULL
};

/* Networking: slirp's sockets for the guest, hostfwd and QMP listeners,
 * tap, socket chardevs; recvmsg carries QMP's passed file descriptors. */
static const char *const sys_net[] = {
    "socket", "bind", "listen", "accept", "accept4", "connect",
    "getsockname", "getpeername", "setsockopt", "getsockopt", "sendto",
    "recvfrom", "sendmsg", "recvmsg", "shutdown",
    NULL
};

/* ---- QEMU's optional groups ------------------------------------------- */

/* obsolete=allow: calls no modern C library makes. */
static const char *const sys_obsolete[] = {
    "readdir", "_sysctl", "bdflush", "create_module", "get_kernel_syms",
    "query_module", "sgetmask", "ssetmask", "sysfs", "uselib", "ustat",
    "vm86", "vm86old",
    NULL
};

/* elevateprivileges=allow: changing identity. */
static const char *const sys_privileges[] = {
    "setuid", "setgid", "setpgid", "setsid", "setreuid", "setregid",
    "setresuid", "setresgid", "setfsuid", "setfsgid", "setgroups",
    NULL
};

/* spawn=allow: starting programs (clone of a process is added apart). A
 * child inherits the filter, so what a shell needs to start is here. */
static const char *const sys_spawn[] = {
    "fork", "vfork", "execve", "execveat", "wait4", "waitid",
    "arch_prctl", "set_tid_address", "prlimit64", "getppid", "getuid",
    "geteuid", "getgid", "getegid", "uname", "chdir", "kill", "getpgrp",
    "umask", "socketpair", "close_range",
    NULL
};

/* resourcecontrol=allow: priorities, scheduling policies, affinity. */
static const char *const sys_resourcecontrol[] = {
    "getpriority", "setpriority", "sched_setparam", "sched_getparam",
    "sched_setscheduler", "sched_getscheduler", "sched_setaffinity",
    "sched_getaffinity", "sched_get_priority_max", "sched_get_priority_min",
    NULL
};

/* ---- the option ------------------------------------------------------- */

/*
 * LeakSanitizer checks at exit from a cloned task that ptraces the rest,
 * which the filter kills: sanitizer builds start with the sandbox off
 * (an explicit -sandbox on still loads it).
 */
#if defined(__SANITIZE_ADDRESS__)
#define SANDBOX_DEFAULT_ENABLE false
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SANDBOX_DEFAULT_ENABLE false
#endif
#endif
#ifndef SANDBOX_DEFAULT_ENABLE
#define SANDBOX_DEFAULT_ENABLE true
#endif

void sandbox_config_default(SandboxConfig *cfg)
{
    *cfg = (SandboxConfig){ .enable = SANDBOX_DEFAULT_ENABLE };
}

/* "allow" or "deny" for @key, absent: unchanged. */
static bool sandbox_get_allow(QliteOpts *opts, const char *key, bool *out,
                              GError **errp)
{
    const char *v = qopts_get(opts, key);

    if (!v) {
        return true;
    }
    if (!strcmp(v, "allow") || !strcmp(v, "deny")) {
        *out = !strcmp(v, "allow");
        return true;
    }
    error_setg(errp, "invalid argument for %s", key);
    return false;
}

static bool sandbox_get_privileges(QliteOpts *opts, SandboxPrivileges *out,
                                   GError **errp)
{
    const char *v = qopts_get(opts, "elevateprivileges");

    if (!v) {
        return true;
    }
    if (!strcmp(v, "allow")) {
        *out = SANDBOX_PRIV_ALLOW;
    } else if (!strcmp(v, "deny")) {
        *out = SANDBOX_PRIV_DENY;
    } else if (!strcmp(v, "children")) {
        *out = SANDBOX_PRIV_CHILDREN;
    } else {
        error_setg(errp, "invalid argument for elevateprivileges");
        return false;
    }
    return true;
}

/*
 * As QEMU: unknown keys are refused, and with "off" the sub-options' values
 * are not looked at.  A missing on/off, which QEMU reads as off, is an
 * error here: "-sandbox spawn=allow" should not drop the whole filter.
 */
static const char *const subopts[] = {
    "obsolete", "elevateprivileges", "spawn", "resourcecontrol", NULL,
};

const char *const *sandbox_suboptions(void)
{
    return subopts;
}

bool sandbox_parse(const char *arg, SandboxConfig *cfg, GError **errp)
{
    g_autoptr(QliteOpts) opts = keyval_parse(arg, "enable", 0, errp);
    SandboxConfig c;

    if (!opts) {
        return false;
    }
    if (!qopts_has(opts, "enable")) {
        error_setg(errp, "Parameter 'enable' is missing");
        return false;
    }
    sandbox_config_default(&c);
    if (!qopts_get_bool(opts, "enable", true, &c.enable, errp)) {
        return false;
    }
    if (c.enable &&
        (!sandbox_get_allow(opts, "obsolete", &c.obsolete, errp) ||
         !sandbox_get_privileges(opts, &c.privileges, errp) ||
         !sandbox_get_allow(opts, "spawn", &c.spawn, errp) ||
         !sandbox_get_allow(opts, "resourcecontrol", &c.resourcecontrol,
                            errp))) {
        return false;
    }
    for (const char *const *k = subopts; *k; k++) {
        qopts_get(opts, *k);                /* known, even when off */
    }
    if (!qopts_check_all_used(opts, errp)) {
        return false;
    }
    *cfg = c;
    return true;
}

/* ---- building and loading the filter ---------------------------------- */

/* Allow each call of @names this architecture has. */
static int sandbox_add(scmp_filter_ctx ctx, const char *const *names)
{
    for (; *names; names++) {
        int nr = seccomp_syscall_resolve_name(*names);
        int rc;

        if (nr < 0) {
            continue;       /* not on this architecture (vm86, readdir) */
        }
        rc = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

/*
 * clone: threads always; a new process only with spawn=allow.  clone3
 * passes its flags in memory a filter cannot read, so it fails with
 * ENOSYS, and the C library falls back to clone, whose flags it can.
 */
static int sandbox_add_clone(scmp_filter_ctx ctx, bool spawn)
{
    int rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS),
                              SCMP_SYS(clone3), 0);

    if (rc < 0) {
        return rc;
    }
    if (spawn) {
        return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 0);
    }
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1,
                            SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD,
                                    CLONE_THREAD));
}

/* prctl: only naming a thread ("CPU 0/KVM", GLib's "pool"). */
static int sandbox_add_prctl(scmp_filter_ctx ctx)
{
    return seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(prctl), 1,
                            SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME));
}

/*
 * resourcecontrol=deny answers EPERM rather than killing: asking for a
 * priority or an affinity is something a library may try and cope with
 * being refused; it is no sign of a hijacked process.
 */
static int sandbox_deny_gently(scmp_filter_ctx ctx,
                               const char *const *names)
{
    for (; *names; names++) {
        int nr = seccomp_syscall_resolve_name(*names);
        int rc;

        if (nr < 0) {
            continue;
        }
        rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), nr, 0);
        if (rc < 0) {
            return rc;
        }
    }
    return 0;
}

static int sandbox_add_rules(scmp_filter_ctx ctx, const SandboxConfig *cfg)
{
    const char *const *const base[] = {
        sys_io, sys_block, sys_files, sys_memory, sys_threads, sys_loop,
        sys_net,
    };
    int rc = 0;

    for (size_t i = 0; i < G_N_ELEMENTS(base) && rc == 0; i++) {
        rc = sandbox_add(ctx, base[i]);
    }
    if (rc == 0) {
        rc = sandbox_add_clone(ctx, cfg->spawn);
    }
    if (rc == 0) {
        rc = sandbox_add_prctl(ctx);
    }
    if (rc == 0 && cfg->obsolete) {
        rc = sandbox_add(ctx, sys_obsolete);
    }
    if (rc == 0 && cfg->privileges == SANDBOX_PRIV_ALLOW) {
        rc = sandbox_add(ctx, sys_privileges);
    }
    if (rc == 0 && cfg->spawn) {
        rc = sandbox_add(ctx, sys_spawn);
    }
    if (rc == 0) {
        rc = cfg->resourcecontrol ? sandbox_add(ctx, sys_resourcecontrol)
                                  : sandbox_deny_gently(ctx,
                                                        sys_resourcecontrol);
    }
    return rc;
}

/*
 * Kill the whole process, as QEMU does: a thread killed alone would leave
 * a machine that half runs.  Kernels before 4.14 lack that action; SIGSYS
 * (whose default action also ends the process) stands in.
 */
static uint32_t sandbox_deny_action(void)
{
    return seccomp_api_get() >= 3 ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_TRAP;
}

bool sandbox_install(const SandboxConfig *cfg, GError **errp)
{
    scmp_filter_ctx ctx;
    int rc;

    if (!cfg->enable) {
        return true;
    }
    /* QEMU sets this itself for "children", whatever libseccomp does. */
    if (cfg->privileges == SANDBOX_PRIV_CHILDREN &&
        prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
        error_setg(errp, "failed to set no_new_privs: %s",
                   g_strerror(errno));
        return false;
    }
    ctx = seccomp_init(sandbox_deny_action());
    if (!ctx) {
        error_setg(errp, "failed to set up the seccomp filter");
        return false;
    }
    /* TSYNC: vCPU, pool and GLib threads already run; filter them too. */
    rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1);
    /* A binary search over the list rather than a walk down it: KVM_RUN
     * and the I/O calls pay for every rule before theirs otherwise.  Not
     * fatal where the library lacks it (before 2.5). */
    if (rc == 0 && seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2) < 0) {
        /* the plain filter is still correct */
    }
    if (rc == 0) {
        rc = sandbox_add_rules(ctx, cfg);
    }
    if (rc == 0) {
        rc = seccomp_load(ctx);
    }
    seccomp_release(ctx);
    if (rc < 0) {
        error_setg(errp, "failed to install seccomp syscall filter in the "
                   "kernel: %s", g_strerror(-rc));
        return false;
    }
    sandbox_plan(cfg);
    sandbox_loaded = true;
    return true;
}

void sandbox_plan(const SandboxConfig *cfg)
{
    sandbox_planned = cfg->enable;
    sandbox_spawn = cfg->spawn;
}

bool sandbox_spawn_allowed(void)
{
    return !sandbox_loaded || sandbox_spawn;
}

bool sandbox_spawn_allowed_later(void)
{
    return !sandbox_planned || sandbox_spawn;
}
