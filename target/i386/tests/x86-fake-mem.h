/*
 * Fake physical memory for the x86 differential tests: the emulator sees
 * DIFF_MEM_SIZE bytes at DIFF_MEM, identity-mapped by a 2 MiB page from
 * page tables at DIFF_PT, through the CPU's real MMU path (env->io).
 */
#ifndef TESTS_X86_FAKE_MEM_H
#define TESTS_X86_FAKE_MEM_H

#include "qlite/osdep.h"
#include "../cpu.h"

#define DIFF_MEM        UINT64_C(0x10000000)
#define DIFF_MEM_SIZE   0x10000
#define DIFF_PT         0x1000u         /* PML4, PDPT, PD */

extern uint8_t diff_emu_mem[DIFF_MEM_SIZE];
extern const X86IO diff_io;

/* PML4 -> PDPT -> PD with one 2 MiB leaf (P, R/W, U/S, PS, A, D). */
void diff_build_page_tables(void);

#endif
