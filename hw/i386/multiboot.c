/*
 * Multiboot loader (Multiboot Specification 0.6.96): finds the header in
 * the first 8 KiB, loads the kernel from its ELF32 program headers (or the
 * a.out-kludge address fields when flag 16 is set), the modules after it,
 * then the info structure, command lines and memory map, and asks the
 * boot CPU to start in flat 32-bit protected mode.
 *
 * Guest memory layout, all above the kernel, page-aligned:
 *   modules ... | info struct | module list | mmap | strings
 */
#include <elf.h>

#include "qlite/error.h"
#include "qlite/machine.h"
#include "qlite/memory.h"
#include "qlite/multiboot.h"
#include "qlite/boot-cpu.h"

#define MB_HEADER_MAGIC     0x1badb002
#define MB_BOOT_MAGIC       0x2badb002
#define MB_BOOT_CS          0x10
#define MB_BOOT_DS          0x18
#define MB_SEARCH           8192
#define MB_FLAG_AOUT_KLUDGE (1u << 16)

/* multiboot_info.flags (spec 3.3) */
#define MBI_MEM             (1u << 0)
#define MBI_CMDLINE         (1u << 2)
#define MBI_MODS            (1u << 3)
#define MBI_MMAP            (1u << 6)
#define MBI_LOADER_NAME     (1u << 9)

/* Offsets in the info structure (spec 3.3). */
#define MBI_OFF_FLAGS       0
#define MBI_OFF_MEM_LOWER   4
#define MBI_OFF_MEM_UPPER   8
#define MBI_OFF_CMDLINE     16
#define MBI_OFF_MODS_COUNT  20
#define MBI_OFF_MODS_ADDR   24
#define MBI_OFF_MMAP_LENGTH 44
#define MBI_OFF_MMAP_ADDR   48
#define MBI_OFF_LOADER_NAME 64
#define MBI_SIZE            88

/* The PC's RAM split, as hw/i386/pc.c lays it out. */
#define PC_LOWMEM_MAX       UINT64_C(0xe0000000)
#define PC_LOWMEM_ALIGNED   UINT64_C(0xc0000000)

/* e820 types */
#define E820_RAM            1
#define E820_RESERVED       2

typedef struct MbHeader {
    uint32_t magic, flags, checksum;
    uint32_t header_addr, load_addr, load_end_addr, bss_end_addr;
    uint32_t entry_addr;
} MbHeader;

/* Where things go and what the info structure collects. */
typedef struct MbState {
    uint64_t below_4g, above_4g;
    uint32_t next;              /* first free byte above what is loaded */
    uint32_t entry;
    GByteArray *mods;           /* 16-byte module entries */
    GPtrArray *mod_cmdlines;    /* of char *, parallel to mods */
} MbState;

static uint32_t mb_le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void mb_put32(uint8_t *p, uint32_t v)
{
    p[0] = v;
    p[1] = v >> 8;
    p[2] = v >> 16;
    p[3] = v >> 24;
}

static bool mb_read_file(const char *path, gchar **data, gsize *len,
                         const char *what, GError **errp)
{
    GError *err = NULL;

    if (!g_file_get_contents(path, data, len, &err)) {
        /* GLib's file errors map back to errno: keep QEMU's wording. */
        int e = err->domain == G_FILE_ERROR
                ? (err->code == G_FILE_ERROR_NOENT ? ENOENT
                   : err->code == G_FILE_ERROR_ACCES ? EACCES
                   : err->code == G_FILE_ERROR_ISDIR ? EISDIR : EIO)
                : EIO;

        error_setg(errp, "could not load %s '%s': %s", what, path,
                   g_strerror(e));
        g_error_free(err);
        return false;
    }
    return true;
}

/* The header: 4-byte aligned in the first 8 KiB, checksum summing to 0. */
static bool mb_find_header(const uint8_t *data, gsize len, MbHeader *h,
                           gsize *offset)
{
    gsize end = MIN(len, (gsize)MB_SEARCH);

    for (gsize off = 0; off + 12 <= end; off += 4) {
        const uint8_t *p = data + off;

        if (mb_le32(p) != MB_HEADER_MAGIC
            || (uint32_t)(mb_le32(p) + mb_le32(p + 4) + mb_le32(p + 8))) {
            continue;
        }
        memset(h, 0, sizeof(*h));
        h->magic = mb_le32(p);
        h->flags = mb_le32(p + 4);
        h->checksum = mb_le32(p + 8);
        if (off + 32 <= len) {
            h->header_addr = mb_le32(p + 12);
            h->load_addr = mb_le32(p + 16);
            h->load_end_addr = mb_le32(p + 20);
            h->bss_end_addr = mb_le32(p + 24);
            h->entry_addr = mb_le32(p + 28);
        }
        *offset = off;
        return true;
    }
    return false;
}

/* Copy @len bytes (and @zero more zeros) to guest RAM below 4 GiB. */
static bool mb_write(MbState *s, uint64_t addr, const void *buf,
                     uint64_t len, uint64_t zero, GError **errp)
{
    uint64_t end = addr + len + zero;

    if (end < addr || end > s->below_4g || addr < 0x1000) {
        error_setg(errp, "multiboot: segment [0x%" PRIx64 ", 0x%" PRIx64
                   ") is outside guest RAM", addr, end);
        return false;
    }
    if (len && address_space_write(&address_space_memory, addr, buf, len)
        != MEMTX_OK) {
        error_setg(errp, "multiboot: cannot write guest RAM at 0x%" PRIx64,
                   addr);
        return false;
    }
    if (zero) {
        g_autofree uint8_t *zeros = g_malloc0(zero);

        if (address_space_write(&address_space_memory, addr + len, zeros,
                                zero) != MEMTX_OK) {
            error_setg(errp, "multiboot: cannot write guest RAM at 0x%"
                       PRIx64, addr + len);
            return false;
        }
    }
    s->next = MAX(s->next, (uint32_t)end);
    return true;
}

static bool mb_load_aout(MbState *s, const uint8_t *data, gsize len,
                         const MbHeader *h, gsize hoff, GError **errp)
{
    uint64_t file_off, load_len, bss;

    if (hoff + 32 > len || h->header_addr < h->load_addr
        || h->header_addr - h->load_addr > hoff) {
        error_setg(errp, "multiboot: invalid a.out kludge addresses");
        return false;
    }
    file_off = hoff - (h->header_addr - h->load_addr);
    load_len = h->load_end_addr ? (uint64_t)h->load_end_addr - h->load_addr
                                : len - file_off;
    if (h->load_end_addr && h->load_end_addr < h->load_addr) {
        error_setg(errp, "multiboot: invalid a.out kludge addresses");
        return false;
    }
    if (file_off + load_len > len) {
        error_setg(errp, "multiboot: kernel file is shorter than its "
                   "load_end_addr says");
        return false;
    }
    bss = h->bss_end_addr > h->load_addr + load_len
          ? h->bss_end_addr - (h->load_addr + load_len) : 0;
    s->entry = h->entry_addr;
    return mb_write(s, h->load_addr, data + file_off, load_len, bss, errp);
}

static bool mb_load_elf(MbState *s, const uint8_t *data, gsize len,
                        GError **errp)
{
    Elf32_Ehdr eh;

    if (len < sizeof(eh) || memcmp(data, ELFMAG, SELFMAG)) {
        error_setg(errp, "multiboot: kernel is neither ELF nor does it set "
                   "the a.out kludge flag");
        return false;
    }
    if (data[EI_CLASS] == ELFCLASS64) {
        error_setg(errp, "Cannot load x86-64 image, give a 32bit one.");
        return false;
    }
    memcpy(&eh, data, sizeof(eh));
    if (data[EI_CLASS] != ELFCLASS32 || eh.e_machine != EM_386
        || eh.e_phentsize != sizeof(Elf32_Phdr)
        || eh.e_phoff > len
        || (uint64_t)eh.e_phnum * sizeof(Elf32_Phdr) > len - eh.e_phoff) {
        error_setg(errp, "multiboot: bad ELF header");
        return false;
    }
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf32_Phdr ph;

        memcpy(&ph, data + eh.e_phoff + i * sizeof(ph), sizeof(ph));
        if (ph.p_type != PT_LOAD || !ph.p_memsz) {
            continue;
        }
        if (ph.p_filesz > ph.p_memsz || ph.p_offset > len
            || ph.p_filesz > len - ph.p_offset) {
            error_setg(errp, "multiboot: bad ELF program header %u", i);
            return false;
        }
        if (!mb_write(s, ph.p_paddr, data + ph.p_offset, ph.p_filesz,
                      ph.p_memsz - ph.p_filesz, errp)) {
            return false;
        }
    }
    s->entry = eh.e_entry;
    return true;
}

/* Append a NUL-terminated string to the string area; returns its address. */
static uint32_t mb_put_string(GByteArray *strings, uint32_t base,
                              const char *str)
{
    uint32_t addr = base + strings->len;

    g_byte_array_append(strings, (const guint8 *)str, strlen(str) + 1);
    return addr;
}

/* "file1 args,file2 args": each module page-aligned after the kernel. */
static bool mb_load_modules(MbState *s, const char *initrd, GError **errp)
{
    g_auto(GStrv) specs = g_strsplit(initrd, ",", -1);

    for (int i = 0; specs[i]; i++) {
        g_autofree char *path = g_strdup(specs[i]);
        g_autofree gchar *data = NULL;
        char *space = strchr(path, ' ');
        uint8_t entry[16] = { 0 };
        uint32_t start = (s->next + 0xfff) & ~0xfffu;
        gsize len;

        if (space) {
            *space = 0;
        }
        if (!mb_read_file(path, &data, &len, "multiboot module", errp)
            || !mb_write(s, start, data, len, 0, errp)) {
            return false;
        }
        mb_put32(entry, start);
        mb_put32(entry + 4, start + (uint32_t)len);
        g_byte_array_append(s->mods, entry, sizeof(entry));
        g_ptr_array_add(s->mod_cmdlines, g_strdup(specs[i]));
        s->next = MAX(s->next, start + (uint32_t)len);
    }
    return true;
}

static void mb_mmap_entry(GByteArray *mmap, uint64_t base, uint64_t len,
                          uint32_t type)
{
    uint8_t e[24];

    mb_put32(e, 20);            /* size of the rest of the entry */
    mb_put32(e + 4, (uint32_t)base);
    mb_put32(e + 8, (uint32_t)(base >> 32));
    mb_put32(e + 12, (uint32_t)len);
    mb_put32(e + 16, (uint32_t)(len >> 32));
    mb_put32(e + 20, type);
    g_byte_array_append(mmap, e, sizeof(e));
}

/* The PC's RAM as e820 ranges (spec 3.3 "mmap_*"). */
static void mb_build_mmap(MbState *s, GByteArray *mmap)
{
    mb_mmap_entry(mmap, 0, 0x9fc00, E820_RAM);
    mb_mmap_entry(mmap, 0x9fc00, 0x400, E820_RESERVED);
    mb_mmap_entry(mmap, 0xf0000, 0x10000, E820_RESERVED);
    if (s->below_4g > 1 * MiB) {
        mb_mmap_entry(mmap, 1 * MiB, s->below_4g - 1 * MiB, E820_RAM);
    }
    if (s->above_4g) {
        mb_mmap_entry(mmap, 4 * GiB, s->above_4g, E820_RAM);
    }
}

/* Info struct, module list, mmap and strings, in one block. */
static bool mb_write_info(MbState *s, const char *kernel, const char *cmdline,
                          uint32_t *info_addr, GError **errp)
{
    g_autoptr(GByteArray) mmap = g_byte_array_new();
    g_autoptr(GByteArray) strings = g_byte_array_new();
    g_autofree char *kcmd = NULL;
    uint32_t base = (s->next + 0xfff) & ~0xfffu;
    uint32_t mods_addr = base + MBI_SIZE;
    uint32_t mmap_addr = mods_addr + s->mods->len;
    uint32_t str_base;
    uint8_t mbi[MBI_SIZE] = { 0 };
    g_autoptr(GByteArray) block = g_byte_array_new();

    mb_build_mmap(s, mmap);
    str_base = mmap_addr + mmap->len;
    /* QEMU passes the kernel's file name first, then -append. */
    kcmd = cmdline && *cmdline ? g_strdup_printf("%s %s", kernel, cmdline)
                               : g_strdup(kernel);
    mb_put32(mbi + MBI_OFF_CMDLINE, mb_put_string(strings, str_base, kcmd));
    mb_put32(mbi + MBI_OFF_LOADER_NAME,
             mb_put_string(strings, str_base, "qlite"));
    for (unsigned i = 0; i < s->mod_cmdlines->len; i++) {
        mb_put32(s->mods->data + i * 16 + 8,
                 mb_put_string(strings, str_base,
                               g_ptr_array_index(s->mod_cmdlines, i)));
    }
    mb_put32(mbi + MBI_OFF_FLAGS, MBI_MEM | MBI_CMDLINE | MBI_MODS | MBI_MMAP
             | MBI_LOADER_NAME);
    mb_put32(mbi + MBI_OFF_MEM_LOWER, 639);
    mb_put32(mbi + MBI_OFF_MEM_UPPER,
             (uint32_t)((MIN(s->below_4g, 4 * GiB) - 1 * MiB) / KiB));
    mb_put32(mbi + MBI_OFF_MODS_COUNT, s->mods->len / 16);
    mb_put32(mbi + MBI_OFF_MODS_ADDR, mods_addr);
    mb_put32(mbi + MBI_OFF_MMAP_LENGTH, mmap->len);
    mb_put32(mbi + MBI_OFF_MMAP_ADDR, mmap_addr);
    g_byte_array_append(block, mbi, sizeof(mbi));
    g_byte_array_append(block, s->mods->data, s->mods->len);
    g_byte_array_append(block, mmap->data, mmap->len);
    g_byte_array_append(block, strings->data, strings->len);
    *info_addr = base;
    return mb_write(s, base, block->data, block->len, 0, errp);
}

static void mb_state_init(MbState *s, MachineState *ms)
{
    memset(s, 0, sizeof(*s));
    s->below_4g = ms->ram_size >= PC_LOWMEM_MAX ? PC_LOWMEM_ALIGNED
                                                : ms->ram_size;
    s->above_4g = ms->ram_size - s->below_4g;
    s->mods = g_byte_array_new();
    s->mod_cmdlines = g_ptr_array_new_with_free_func(g_free);
}

static bool mb_load_all(MbState *s, const uint8_t *data, gsize len,
                        const MbHeader *h, gsize hoff, const char *kernel,
                        const char *cmdline, const char *initrd,
                        GError **errp)
{
    BootCpuState bs;
    uint32_t info;

    if (h->flags & MB_FLAG_AOUT_KLUDGE) {
        if (!mb_load_aout(s, data, len, h, hoff, errp)) {
            return false;
        }
    } else if (!mb_load_elf(s, data, len, errp)) {
        return false;
    }
    if (initrd && *initrd && !mb_load_modules(s, initrd, errp)) {
        return false;
    }
    if (!mb_write_info(s, kernel, cmdline, &info, errp)) {
        return false;
    }
    /*
     * Multiboot 0.6.96 3.2: flat 32-bit protected mode, paging and IF
     * off, GDTR undefined (the kernel loads its own); the selectors are
     * the Linux protocol's.
     */
    boot_cpu_flat32(&bs, s->entry, MB_BOOT_CS, MB_BOOT_DS);
    bs.gprs[BOOT_CPU_RAX] = MB_BOOT_MAGIC;
    bs.gprs[BOOT_CPU_RBX] = info;
    boot_cpu_set(&bs);
    return true;
}

bool multiboot_load(MachineState *ms, const char *kernel, const char *cmdline,
                    const char *initrd, GError **errp)
{
    g_autofree gchar *data = NULL;
    gsize len, hoff;
    MbHeader h;
    MbState s;
    bool ok;

    if (!mb_read_file(kernel, &data, &len, "kernel", errp)) {
        return false;
    }
    if (!mb_find_header((const uint8_t *)data, len, &h, &hoff)) {
        return false;
    }
    mb_state_init(&s, ms);
    ok = mb_load_all(&s, (const uint8_t *)data, len, &h, hoff, kernel,
                     cmdline, initrd, errp);
    g_byte_array_unref(s.mods);
    g_ptr_array_unref(s.mod_cmdlines);
    return ok;
}
