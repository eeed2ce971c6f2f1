/*
 * qtest: drive the machine with no CPU over a line protocol
 * (docs/devel/qtest.rst in QEMU): port and memory access, virtual clock
 * steps, IRQ interception.
 */
#ifndef QLITE_QTEST_H
#define QLITE_QTEST_H

#include "qlite/osdep.h"

bool qtest_enabled(void);
/* -qtest SPEC: "unix:PATH", "stdio", "chardev:ID", ... */
/* The -qtest server on chardev @spec; @log (-qtest-log) may be NULL. */
bool qtest_server_init(const char *spec, const char *log, GError **errp);

#endif
