/*
 * A whole board inside a fuzzer: the machine built as qlite-system does
 * under "-accel qtest" (no CPU runs, virtual time moves only when told),
 * with no socket in between: a harness calls the memory API directly.
 */
#ifndef TESTS_FUZZ_MACHINE_H
#define TESTS_FUZZ_MACHINE_H

#include "qlite/machine.h"

typedef struct FuzzMachineConfig {
    const char *type;           /* "pc"; NULL for the default board */
    uint64_t ram_size;          /* 0 for the board's default */
    unsigned cpus;              /* 0 for 1 */
} FuzzMachineConfig;

/*
 * Register the types, create and initialise the board with the qtest
 * accelerator, a "null" chardev on COM1, reset it and start it.  Once per
 * process: the board and the address spaces are global.
 */
MachineState *fuzz_machine_create(const FuzzMachineConfig *cfg,
                                  GError **errp);

/*
 * What the main loop would do between two guest accesses: act on reset
 * and power-button requests (a reset resets every device).  A shutdown
 * request is dropped: the fuzzer keeps the board.
 */
void fuzz_machine_handle_requests(void);

/*
 * Every device reset and RAM zeroed: the state a fresh run starts from.
 * (RAM must all sit below 4 GiB: at most 3.5 GiB on the pc board.)
 */
void fuzz_machine_reset(MachineState *ms);

/* The unread rest of a fuzzer's input, taken from the front. */
typedef struct FuzzInput {
    const uint8_t *p;
    size_t left;
} FuzzInput;

/* @n little-endian bytes into @out; false at the end of the input. */
bool fuzz_take(FuzzInput *in, unsigned n, uint64_t *out);

/* Guest-driver style accesses: 1, 2 or 4 bytes picked by @sel. */
unsigned fuzz_access_size(uint64_t sel);
void fuzz_mem_access(uint64_t addr, unsigned size, bool write, uint64_t val);
void fuzz_port_access(uint16_t port, unsigned size, bool write, uint64_t val);
/* PCI configuration of bus 0's @devfn through 0xcf8/0xcfc. */
void fuzz_pci_cfg_access(uint8_t devfn, uint8_t reg, unsigned size,
                         bool write, uint32_t val);
void fuzz_guest_write(uint64_t addr, const void *buf, size_t len);
/*
 * One "write RAM" op: a 2-byte offset, a 1-byte length and that many
 * input bytes, written inside [window, window + size).
 */
bool fuzz_take_ram_write(FuzzInput *in, uint64_t window, uint64_t size);

/*
 * Split virtqueues at @ring: descriptors, the avail ring at +0x1000.  A
 * descriptor op takes index, address kind, address, length, flags and
 * next from the input; an avail entry publishes @head.
 */
bool fuzz_take_virtq_desc(FuzzInput *in, uint64_t ring, uint64_t window,
                          uint64_t window_size);
void fuzz_virtq_avail(uint64_t ring, uint16_t *avail_idx, uint16_t qsize,
                      uint16_t head);

#endif
