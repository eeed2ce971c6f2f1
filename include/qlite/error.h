/*
 * Error reporting.
 *
 * Three channels (see STYLE.md): -errno/bool for simple cases; GError for
 * messages a user or QMP client reads; guest errors logged and absorbed
 * through qlite_log_guest_error().
 */
#ifndef QLITE_ERROR_H
#define QLITE_ERROR_H

#include "qlite/osdep.h"

#define QLITE_ERROR (qlite_error_quark())
GQuark qlite_error_quark(void);

/* Error codes double as QMP error classes. */
typedef enum {
    QLITE_ERROR_GENERIC,
    QLITE_ERROR_COMMAND_NOT_FOUND,
    QLITE_ERROR_DEVICE_NOT_FOUND,
    QLITE_ERROR_DEVICE_NOT_ACTIVE,
    QLITE_ERROR_KVM_MISSING_CAP,
} QliteErrorCode;

#define error_setg(errp, ...) \
    g_set_error((errp), QLITE_ERROR, QLITE_ERROR_GENERIC, __VA_ARGS__)

/* Prefix an existing error's message ("-device foo: " + message). */
void error_prepend(GError **errp, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* The program name used as message prefix ("qlite-system-x86_64"). */
void error_set_progname(const char *name);
const char *error_get_progname(void);

/*
 * The command-line option being processed, printed before messages as
 * QEMU does ("qlite-system-x86_64: -m lots: ..."); NULL clears it.
 */
void error_set_location(const char *loc);

/* Print "progname: [location: ]message" to stderr. */
/* -msg: a UTC timestamp and/or the guest's name before each message. */
void error_set_message_prefix(bool timestamp, const char *guest_name);
void error_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void warn_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void info_report(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Print a GError with error_report() and free it. */
void error_report_err(GError *err);

/* A guest did something wrong: log it (rate-limited), never abort. */
void qlite_log_guest_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Feature the guest used that qlite does not implement. */
void qlite_log_unimp(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* Enable guest-error logging (-d guest_errors,unimp). */
void qlite_log_set_mask(const char *spec, GError **errp);

#endif
