/*
 * Linux direct boot (-kernel bzImage -initrd -append): the x86 boot
 * protocol (Linux Documentation/arch/x86/boot.rst, zero-page.rst), shared
 * by both accelerators.
 *
 * linux_boot_load() writes the kernel, initrd, command line, boot_params
 * and (for the 64-bit entry) page tables and a GDT into guest memory, and
 * records the register state the boot CPU starts in (qlite/boot-cpu.h).
 */
#ifndef QLITE_LINUX_BOOT_H
#define QLITE_LINUX_BOOT_H

#include "qlite/osdep.h"

typedef struct MachineState MachineState;

/*
 * Load ms->kernel_filename (a bzImage, boot protocol 2.06 or later),
 * ms->initrd_filename and ms->kernel_cmdline.  Guest RAM comes from
 * address_space_memory's RAM ranges, which also give the e820 map.
 */
bool linux_boot_load(MachineState *ms, GError **errp);

/* Does @path start like a bzImage ("HdrS" at 0x202)?  false if unreadable. */
bool linux_boot_is_bzimage(const char *path);

#endif
