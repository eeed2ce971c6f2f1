/*
 * Multiboot (0.6.96) kernel loading for -kernel/-append/-initrd.
 */
#ifndef QLITE_MULTIBOOT_H
#define QLITE_MULTIBOOT_H

#include "qlite/osdep.h"

typedef struct MachineState MachineState;

/*
 * Load @kernel if it is a multiboot image: the kernel (ELF32 program
 * headers, or the a.out-kludge addresses), the modules @initrd names
 * ("file1 args,file2 args"), the info structure with @cmdline and an
 * e820-style memory map; then set the boot CPU's entry state (32-bit flat
 * protected mode, EAX=0x2BADB002, EBX=info).  Returns false with *errp
 * unset when @kernel has no multiboot header, false with *errp set on an
 * error ("could not load kernel 'PATH': REASON", ...).
 */
bool multiboot_load(MachineState *ms, const char *kernel, const char *cmdline,
                    const char *initrd, GError **errp);

#endif
