/*
 * Descriptor-table internals shared by seg.c, excp.c and tests: reading
 * descriptors, turning them into segment caches, the stack cursor used by
 * far calls, IRET and event delivery.
 */
#ifndef TARGET_I386_SEG_H
#define TARGET_I386_SEG_H

#include "cpu.h"

/* System descriptor types (SDM vol 3A table 3-2). */
#define DESC_TYPE_LDT           0x2
#define DESC_TYPE_TSS16_AVAIL   0x1
#define DESC_TYPE_TSS16_BUSY    0x3
#define DESC_TYPE_CALL16        0x4
#define DESC_TYPE_TASK          0x5
#define DESC_TYPE_INT16         0x6
#define DESC_TYPE_TRAP16        0x7
#define DESC_TYPE_TSS_AVAIL     0x9
#define DESC_TYPE_TSS_BUSY      0xb
#define DESC_TYPE_CALL          0xc
#define DESC_TYPE_INT           0xe
#define DESC_TYPE_TRAP          0xf

/* The 8-byte descriptor @sel names; false when outside GDT/LDT limits. */
bool x86_seg_read_desc(X86CPUState *env, uint16_t sel, uint32_t *lo,
                       uint32_t *hi);
void x86_seg_write_desc_hi(X86CPUState *env, uint16_t sel, uint32_t hi);
/* Fill @sc from a descriptor (base, expanded limit, attribute bits). */
void x86_seg_cache_from_desc(SegmentCache *sc, uint16_t sel, uint32_t lo,
                             uint32_t hi);
/* Load segment register @seg with a prepared cache; updates hflags. */
void x86_seg_set(X86CPUState *env, int seg, const SegmentCache *sc);

static inline unsigned desc_dpl(uint32_t hi)
{
    return (hi >> DESC_DPL_SHIFT) & 3;
}

static inline unsigned desc_type(uint32_t hi)
{
    return (hi >> DESC_TYPE_SHIFT) & 0x1f;   /* with S: 0x10 set */
}

/* A stack being pushed or popped: base + (sp & mask), with a TLB index. */
typedef struct X86Stack {
    uint64_t base;
    uint64_t sp;
    uint64_t mask;
    int idx;
} X86Stack;

void x86_stack_init_current(X86CPUState *env, X86Stack *st);
void x86_stack_push(X86CPUState *env, X86Stack *st, unsigned size,
                    uint64_t val);
uint64_t x86_stack_pop(X86CPUState *env, X86Stack *st, unsigned size);
/* Write the cursor back to RSP/ESP/SP (keeping the bits above the mask). */
void x86_stack_commit(X86CPUState *env, const X86Stack *st);

/* Stack for privilege level @dpl from the TSS (32-bit or 16-bit TSS). */
void x86_tss_get_stack(X86CPUState *env, unsigned dpl, uint16_t *ss,
                       uint32_t *sp, uint32_t ext);
/* RSPn (0..2) or ISTn (index 4..10 = IST1..7) of the 64-bit TSS. */
uint64_t x86_tss64_get_rsp(X86CPUState *env, unsigned slot, uint32_t ext);

/* Null the data segments the new, outer CPL may not use (RET/IRET). */
void x86_seg_validate_outer(X86CPUState *env, unsigned cpl);

#endif
