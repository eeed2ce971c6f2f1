/*
 * The ROM the CPU starts in.  qlite does not run SeaBIOS yet, so with no
 * -kernel the built-in ROM prints why nothing boots on COM1 and halts
 * with interrupts off: the guest then costs no host CPU.  -bios maps a
 * firmware image instead, as QEMU does.
 */
#include "qlite/pc-rom.h"
#include "qlite/error.h"
#include "qlite/memory.h"

#define ROM_TOP         (UINT64_C(1) << 32)
#define BUILTIN_SIZE    (64 * KiB)
#define BIOS_MAX        (16 * MiB)
#define CODE_OFFSET     0xe000      /* code and message, within the ROM */
#define MSG_OFFSET      0xe100
#define RESET_OFFSET    0xfff0      /* the reset vector */

static const char builtin_message[] =
    "qlite: no bootable device. Boot a kernel with -kernel "
    "(firmware boot is not supported yet).\r\n";

/*
 * Real mode, CS base 0xffff0000 as after reset:
 *   cli; mov dx, 0x3f8; mov si, MSG
 * 1: cs lodsb; test al, al; jz 2f; out dx, al; jmp 1b
 * 2: hlt; jmp 2b
 */
static const uint8_t builtin_code[] = {
    0xfa,                               /* cli */
    0xba, 0xf8, 0x03,                   /* mov dx, 0x3f8 */
    0xbe, MSG_OFFSET & 0xff, MSG_OFFSET >> 8,   /* mov si, MSG */
    0x2e, 0xac,                         /* cs lodsb */
    0x84, 0xc0,                         /* test al, al */
    0x74, 0x03,                         /* jz +3 */
    0xee,                               /* out dx, al */
    0xeb, 0xf7,                         /* jmp -9 (to lodsb) */
    0xf4,                               /* hlt */
    0xeb, 0xfd,                         /* jmp -3 (to hlt) */
};

/* jmp near CODE_OFFSET, from the reset vector (rel16 from RESET+3) */
static const uint8_t builtin_reset[] = {
    0xe9, (CODE_OFFSET - (RESET_OFFSET + 3)) & 0xff,
    ((CODE_OFFSET - (RESET_OFFSET + 3)) >> 8) & 0xff,
};

static void rom_fill_builtin(uint8_t *rom)
{
    memset(rom, 0xf4, BUILTIN_SIZE);    /* stray jumps land on hlt */
    memcpy(rom + CODE_OFFSET, builtin_code, sizeof(builtin_code));
    memcpy(rom + MSG_OFFSET, builtin_message, sizeof(builtin_message));
    memcpy(rom + RESET_OFFSET, builtin_reset, sizeof(builtin_reset));
}

static bool rom_read_file(const char *path, gchar **data, gsize *size,
                          GError **errp)
{
    GError *err = NULL;

    if (!g_file_get_contents(path, data, size, &err)) {
        error_setg(errp, "could not load PC BIOS '%s': %s", path,
                   err->message);
        g_error_free(err);
        return false;
    }
    if (*size < 64 * KiB || *size > BIOS_MAX || *size % (64 * KiB)) {
        error_setg(errp, "could not load PC BIOS '%s': size %zu is not a "
                   "multiple of 64 KiB between 64 KiB and 16 MiB", path,
                   (size_t)*size);
        g_free(*data);
        return false;
    }
    return true;
}

bool pc_rom_init(const char *bios_file, GError **errp)
{
    static MemoryRegion rom;
    g_autofree gchar *data = NULL;
    gsize size = BUILTIN_SIZE;

    if (bios_file && !rom_read_file(bios_file, &data, &size, errp)) {
        return false;
    }
    if (!memory_region_init_rom(&rom, "pc.bios", size, errp)) {
        return false;
    }
    if (data) {
        memcpy(memory_region_get_ram_ptr(&rom), data, size);
    } else {
        rom_fill_builtin(memory_region_get_ram_ptr(&rom));
    }
    memory_region_add_subregion(get_system_memory(), ROM_TOP - size, &rom);
    return true;
}
