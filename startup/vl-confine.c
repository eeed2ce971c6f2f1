/*
 * Confining a built machine before its guest runs, in QEMU's order:
 * -chroot DIR, then -runas USER, then the seccomp sandbox.  Everything the
 * command line names is open by then; what the guest can reach afterwards
 * is what is left inside the root, as that user, through the filter.
 */
#include "qlite/error.h"
#include "qlite/sandbox.h"
#include "vl.h"

#include <grp.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

/* "<uid>:<gid>", as QEMU takes it besides a user name. */
static bool vl_parse_uid_gid(const char *arg, VlConfig *cfg)
{
    unsigned long uid, gid;
    char *end;

    errno = 0;
    uid = strtoul(arg, &end, 10);       /* digits only: no sign, no space */
    if (!g_ascii_isdigit(*arg) || *end != ':' || errno) {
        return false;
    }
    arg = end + 1;
    gid = strtoul(arg, &end, 10);
    if (!g_ascii_isdigit(*arg) || *end || errno || uid > UINT32_MAX - 1 ||
        gid > UINT32_MAX - 1) {
        return false;
    }
    cfg->runas_uid = uid;
    cfg->runas_gid = gid;
    cfg->runas_groups = g_new(gid_t, 1);
    cfg->runas_groups[0] = gid;
    cfg->runas_ngroups = 1;
    return true;
}

/*
 * -runas USER: the user, its group and its supplementary groups are read
 * now, while /etc/passwd and /etc/group are still reachable (a -chroot
 * comes first at start).
 */
bool vl_parse_runas(VlConfig *cfg, const char *arg, GError **errp)
{
    struct passwd *pw = getpwnam(arg);
    int n = 0;

    g_clear_pointer(&cfg->runas_groups, g_free);
    cfg->runas = true;
    if (!pw) {
        if (vl_parse_uid_gid(arg, cfg)) {
            return true;
        }
        error_setg(errp, "User \"%s\" doesn't exist (and is not "
                   "<uid>:<gid>)", arg);
        return false;
    }
    cfg->runas_uid = pw->pw_uid;
    cfg->runas_gid = pw->pw_gid;
    getgrouplist(pw->pw_name, pw->pw_gid, NULL, &n);
    cfg->runas_groups = g_new(gid_t, MAX(n, 1));
    if (getgrouplist(pw->pw_name, pw->pw_gid, cfg->runas_groups, &n) < 0) {
        n = 1;
        cfg->runas_groups[0] = pw->pw_gid;
    }
    cfg->runas_ngroups = n;
    return true;
}

static bool vl_enter_chroot(const char *dir, GError **errp)
{
    if (chroot(dir) < 0) {
        error_setg(errp, "-chroot %s: cannot change root: %s", dir,
                   g_strerror(errno));
        return false;
    }
    if (chdir("/") < 0) {
        error_setg(errp, "-chroot %s: cannot enter the new root: %s", dir,
                   g_strerror(errno));
        return false;
    }
    return true;
}

/* Groups first: once the uid changes, the right to change them is gone. */
static bool vl_drop_user(VlConfig *cfg, GError **errp)
{
    if (setgroups(cfg->runas_ngroups, cfg->runas_groups) < 0 ||
        setgid(cfg->runas_gid) < 0 || setuid(cfg->runas_uid) < 0) {
        error_setg(errp, "-runas: cannot change to uid %u gid %u: %s",
                   (unsigned)cfg->runas_uid, (unsigned)cfg->runas_gid,
                   g_strerror(errno));
        return false;
    }
    /* As QEMU checks: a way back to root would defeat the point. */
    if (cfg->runas_uid != 0 && setuid(0) == 0) {
        error_setg(errp, "-runas: privileges could be regained after "
                   "dropping them");
        return false;
    }
    return true;
}

bool vl_confine(VlConfig *cfg, GError **errp)
{
    if (cfg->chroot_dir && !vl_enter_chroot(cfg->chroot_dir, errp)) {
        return false;
    }
    /* A daemon holds no directory of its caller's busy (QEMU: chdir /). */
    if (cfg->daemonize && !cfg->chroot_dir && chdir("/") < 0) {
        error_setg(errp, "cannot change to /: %s", g_strerror(errno));
        return false;
    }
    if (cfg->runas && !vl_drop_user(cfg, errp)) {
        return false;
    }
    return sandbox_install(&cfg->sandbox, errp);
}
