/*
 * Common includes and small helpers every qlite file may use.
 */
#ifndef QLITE_OSDEP_H
#define QLITE_OSDEP_H

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <glib.h>

#ifndef container_of
#define container_of(ptr, type, member) \
    ((type *)((char *)(ptr) - offsetof(type, member)))
#endif

#define QLITE_VERSION "0.1.0"
/* The QEMU interface level qlite follows (command line, QMP). */
#define QLITE_QEMU_MAJOR 7
#define QLITE_QEMU_MINOR 2
#define QLITE_QEMU_MICRO 0

#define KiB (UINT64_C(1) << 10)
#define MiB (UINT64_C(1) << 20)
#define GiB (UINT64_C(1) << 30)

#define ROUND_UP(n, d) (((n) + (d) - 1) / (d) * (d))
#define QLITE_IS_ALIGNED(n, a) (((n) & ((a) - 1)) == 0)

#endif
