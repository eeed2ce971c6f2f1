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
bool qtest_server_init(const char *spec, GError **errp);

#endif
