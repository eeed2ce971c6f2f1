/*
 * The firmware ROM at the top of the 4 GiB space, where the CPU starts
 * (F000:FFF0 = 0xfffffff0).
 */
#ifndef QLITE_PC_ROM_H
#define QLITE_PC_ROM_H

#include "qlite/osdep.h"

/*
 * Map @bios_file (a -bios image, 64 KiB to 16 MiB, a multiple of 64 KiB)
 * or, when NULL, qlite's built-in ROM, which says on COM1 that there is
 * nothing to boot and halts.
 */
bool pc_rom_init(const char *bios_file, GError **errp);

#endif
