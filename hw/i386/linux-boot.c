/*
 * Linux direct boot: the x86 boot protocol as Linux's
 * Documentation/arch/x86/boot.rst and zero-page.rst describe it.
 *
 * Guest memory after loading (low addresses; RAM sizes vary):
 *
 *   0x00500  GDT: null, null, __BOOT_CS (0x10), __BOOT_DS (0x18)
 *   0x07000  boot_params ("zero page", 4 KiB)
 *   0x09000  identity page tables for the 64-bit entry: PML4, PDPT and
 *            four page directories of 2 MiB pages covering 0-4 GiB
 *   0x20000  kernel command line (at most cmdline_size bytes)
 *   1 MiB    the protected-mode kernel (the bzImage after its setup code)
 *   top      the initrd, page aligned, as high in low RAM as
 *            initrd_addr_max allows
 *
 * The boot CPU enters at startup_64 (load address + 0x200) in long mode
 * when the kernel says it can (xloadflags XLF_KERNEL_64, protocol 2.12),
 * else at code32_start in flat 32-bit protected mode; RSI points at
 * boot_params either way.
 */
#include "qlite/linux-boot.h"
#include "qlite/boot-cpu.h"
#include "qlite/error.h"
#include "qlite/machine.h"
#include "qlite/memory.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define LB_GDT_ADDR         0x500
#define LB_ZERO_PAGE_ADDR   0x7000
#define LB_PAGE_TABLE_ADDR  0x9000      /* 6 pages: PML4, PDPT, 4 PDs */
#define LB_CMDLINE_ADDR     0x20000
#define LB_CMDLINE_MAX      0x10000     /* up to the next 64 KiB */
#define LB_KERNEL_ADDR      0x100000
#define LB_LOW_RAM_END      0x9fc00     /* EBDA and legacy holes above */

/* Setup header offsets within the image and within boot_params. */
#define HDR_SETUP_SECTS     0x1f1
#define HDR_VID_MODE        0x1fa
#define HDR_BOOT_FLAG       0x1fe
#define HDR_JUMP            0x200
#define HDR_HEADER          0x202
#define HDR_VERSION         0x206
#define HDR_TYPE_OF_LOADER  0x210
#define HDR_LOADFLAGS       0x211
#define HDR_CODE32_START    0x214
#define HDR_RAMDISK_IMAGE   0x218
#define HDR_RAMDISK_SIZE    0x21c
#define HDR_CMD_LINE_PTR    0x228
#define HDR_INITRD_ADDR_MAX 0x22c
#define HDR_KERNEL_ALIGN    0x230
#define HDR_RELOCATABLE     0x234
#define HDR_XLOADFLAGS      0x236
#define HDR_CMDLINE_SIZE    0x238
#define HDR_PREF_ADDRESS    0x258
#define HDR_INIT_SIZE       0x260

#define HDR_MAGIC           0x53726448  /* "HdrS" */
#define LOADFLAG_LOADED_HIGH 0x01
#define XLF_KERNEL_64       0x01

/* boot_params fields outside the setup header (zero-page.rst). */
#define BP_EXT_RAMDISK_IMAGE 0x0c0
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES     0x1e8
#define BP_E820_TABLE       0x2d0
#define BP_SIZE             0x1000
#define E820_MAX_ENTRIES    128
#define E820_RAM            1
#define E820_RESERVED       2

/* Descriptor cache bits for the GDT entries we build (SDM 3A 3.4.5). */
#define GDT_CODE_TYPE       BOOT_CPU_CODE_TYPE
#define GDT_DATA_TYPE       BOOT_CPU_DATA_TYPE
#define BOOT_CS             0x10
#define BOOT_DS             0x18

#define CR0_PG              (1u << 31)
#define CR4_PAE             (1u << 5)
#define EFER_LME            (1u << 8)
#define EFER_LMA            (1u << 10)

typedef struct LinuxKernelInfo {
    uint16_t version;
    uint32_t setup_size;        /* bytes before the protected-mode code */
    uint32_t initrd_addr_max;
    uint32_t cmdline_size;
    uint32_t init_size;
    bool kernel_64;             /* may enter at startup_64 */
} LinuxKernelInfo;

static uint32_t lb_ld16(const uint8_t *p)
{
    return p[0] | (uint32_t)p[1] << 8;
}

static uint32_t lb_ld32(const uint8_t *p)
{
    return lb_ld16(p) | lb_ld16(p + 2) << 16;
}

static void lb_st16(uint8_t *p, uint16_t v)
{
    p[0] = v;
    p[1] = v >> 8;
}

static void lb_st32(uint8_t *p, uint32_t v)
{
    lb_st16(p, v);
    lb_st16(p + 2, v >> 16);
}

static void lb_st64(uint8_t *p, uint64_t v)
{
    lb_st32(p, v);
    lb_st32(p + 4, v >> 32);
}

/* ---- reading files ------------------------------------------------------ */

static bool lb_read_fd(int fd, uint8_t **data, size_t *len)
{
    struct stat st;
    size_t done = 0;

    if (fstat(fd, &st) < 0) {
        return false;
    }
    if (!S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        return false;
    }
    *len = st.st_size;
    *data = g_malloc(*len ? *len : 1);
    while (done < *len) {
        ssize_t n = read(fd, *data + done, *len - done);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            errno = n < 0 ? errno : EIO;    /* shrank while we read */
            g_free(*data);
            *data = NULL;
            return false;
        }
        done += n;
    }
    return true;
}

static bool lb_read_file(const char *path, const char *what, uint8_t **data,
                         size_t *len, GError **errp)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool ok = fd >= 0 && lb_read_fd(fd, data, len);
    int err = errno;

    if (fd >= 0) {
        close(fd);
    }
    if (!ok) {
        error_setg(errp, "could not load %s '%s': %s", what, path,
                   g_strerror(err));
    }
    return ok;
}

bool linux_boot_is_bzimage(const char *path)
{
    uint8_t hdr[HDR_HEADER + 4];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool ok;

    if (fd < 0) {
        return false;
    }
    ok = pread(fd, hdr, sizeof(hdr), 0) == (ssize_t)sizeof(hdr) &&
         lb_ld32(hdr + HDR_HEADER) == HDR_MAGIC;
    close(fd);
    return ok;
}

/* ---- the setup header --------------------------------------------------- */

/* A pure check of the image's setup header; fills @ki. */
static bool lb_parse_header(const char *path, const uint8_t *img,
                            size_t len, LinuxKernelInfo *ki, GError **errp)
{
    unsigned sects;

    if (len < 0x1000 || lb_ld32(img + HDR_HEADER) != HDR_MAGIC) {
        error_setg(errp, "kernel '%s' is not a Linux bzImage "
                   "(no \"HdrS\" boot header)", path);
        return false;
    }
    ki->version = lb_ld16(img + HDR_VERSION);
    if (ki->version < 0x206) {
        error_setg(errp, "kernel '%s' uses Linux boot protocol %u.%02u; "
                   "2.06 or later is needed", path, ki->version >> 8,
                   ki->version & 0xff);
        return false;
    }
    if (!(img[HDR_LOADFLAGS] & LOADFLAG_LOADED_HIGH)) {
        error_setg(errp, "kernel '%s' is a zImage (loaded low); only "
                   "bzImage kernels are supported", path);
        return false;
    }
    sects = img[HDR_SETUP_SECTS] ? img[HDR_SETUP_SECTS] : 4;
    ki->setup_size = (sects + 1) * 512;
    if (ki->setup_size >= len) {
        error_setg(errp, "kernel '%s' is truncated (setup code of %u bytes "
                   "in a %zu-byte file)", path, ki->setup_size, len);
        return false;
    }
    ki->initrd_addr_max = lb_ld32(img + HDR_INITRD_ADDR_MAX);
    ki->cmdline_size = lb_ld32(img + HDR_CMDLINE_SIZE);
    ki->init_size = ki->version >= 0x20a ? lb_ld32(img + HDR_INIT_SIZE) : 0;
    ki->kernel_64 = ki->version >= 0x20c &&
                    (lb_ld16(img + HDR_XLOADFLAGS) & XLF_KERNEL_64);
    return true;
}

/* ---- the RAM layout and e820 -------------------------------------------- */

typedef struct LinuxE820 {
    uint64_t addr[E820_MAX_ENTRIES];
    uint64_t size[E820_MAX_ENTRIES];
    uint32_t type[E820_MAX_ENTRIES];
    unsigned nr;
} LinuxE820;

static void lb_e820_add(LinuxE820 *map, uint64_t addr, uint64_t size,
                        uint32_t type)
{
    unsigned last = map->nr - 1;

    if (size == 0) {
        return;
    }
    if (map->nr && map->type[last] == type &&
        map->addr[last] + map->size[last] == addr) {
        map->size[last] += size;
        return;
    }
    if (map->nr < E820_MAX_ENTRIES) {
        map->addr[map->nr] = addr;
        map->size[map->nr] = size;
        map->type[map->nr] = type;
        map->nr++;
    }
}

/* Linux takes the map in any order, but a sorted one reads better. */
static void lb_e820_sort(LinuxE820 *map)
{
    for (unsigned i = 1; i < map->nr; i++) {
        for (unsigned j = i; j > 0 && map->addr[j - 1] > map->addr[j]; j--) {
            uint64_t a = map->addr[j], s = map->size[j];
            uint32_t t = map->type[j];

            map->addr[j] = map->addr[j - 1];
            map->size[j] = map->size[j - 1];
            map->type[j] = map->type[j - 1];
            map->addr[j - 1] = a;
            map->size[j - 1] = s;
            map->type[j - 1] = t;
        }
    }
}

/*
 * Guest RAM as the machine mapped it: every RAM range of system memory,
 * less the legacy area from the EBDA to 1 MiB, which firmware would own.
 */
static void lb_e820_build(LinuxE820 *map)
{
    FlatView *view = address_space_get_flatview(&address_space_memory);

    map->nr = 0;
    for (unsigned i = 0; i < view->nr; i++) {
        const FlatRange *fr = &view->ranges[i];
        uint64_t start = fr->start, end = fr->start + fr->size;

        if (fr->mr->kind != MR_RAM || fr->readonly) {
            continue;
        }
        if (start < LB_KERNEL_ADDR) {
            uint64_t low_end = MIN(end, LB_LOW_RAM_END);

            if (start < low_end) {
                lb_e820_add(map, start, low_end - start, E820_RAM);
            }
            start = MIN(end, LB_KERNEL_ADDR);
        }
        lb_e820_add(map, start, end - start, E820_RAM);
    }
    flatview_unref(view);
    /* Where a PC's EBDA and BIOS live: reserved, as firmware reports. */
    lb_e820_add(map, LB_LOW_RAM_END, 0xa0000 - LB_LOW_RAM_END,
                E820_RESERVED);
    lb_e820_add(map, 0xf0000, 0x10000, E820_RESERVED);
    lb_e820_sort(map);
}

/* End of the e820 RAM entry holding 1 MiB: where low RAM stops. */
static uint64_t lb_low_ram_end(const LinuxE820 *map)
{
    for (unsigned i = 0; i < map->nr; i++) {
        if (map->type[i] == E820_RAM && map->addr[i] <= LB_KERNEL_ADDR &&
            map->addr[i] + map->size[i] > LB_KERNEL_ADDR) {
            return map->addr[i] + map->size[i];
        }
    }
    return 0;
}

/* ---- writing guest memory ----------------------------------------------- */

static bool lb_write(uint64_t addr, const void *buf, uint64_t len,
                     const char *what, GError **errp)
{
    if (address_space_write(&address_space_memory, addr, buf, len) !=
        MEMTX_OK) {
        error_setg(errp, "cannot write the %s to guest memory at 0x%" PRIx64
                   " (%" PRIu64 " bytes): not RAM", what, addr, len);
        return false;
    }
    return true;
}

/*
 * GDT entry: base 0, limit 4 GiB (G=1, limit 0xfffff), present, DPL 0,
 * code/data.  Bits: 63-56 base, 55 G, 54 D/B, 53 L, 47 P, 44 S,
 * 43-40 type, 51-48 and 15-0 limit.
 */
static uint64_t lb_gdt_entry(uint8_t type, bool db, bool l)
{
    return UINT64_C(0xffff) | (UINT64_C(0xf) << 48) |
           ((uint64_t)type << 40) | (UINT64_C(1) << 44) |
           (UINT64_C(1) << 47) | ((uint64_t)l << 53) |
           ((uint64_t)db << 54) | (UINT64_C(1) << 55);
}

static bool lb_write_gdt(bool long_mode, GError **errp)
{
    uint8_t gdt[32] = { 0 };

    lb_st64(gdt + BOOT_CS, lb_gdt_entry(GDT_CODE_TYPE, !long_mode,
                                        long_mode));
    lb_st64(gdt + BOOT_DS, lb_gdt_entry(GDT_DATA_TYPE, true, false));
    return lb_write(LB_GDT_ADDR, gdt, sizeof(gdt), "boot GDT", errp);
}

/* Identity map of 0-4 GiB with 2 MiB pages (present, writable, PS). */
static bool lb_write_page_tables(GError **errp)
{
    g_autofree uint8_t *pt = g_malloc0(6 * 4096);
    uint64_t pdpt = LB_PAGE_TABLE_ADDR + 0x1000;

    lb_st64(pt, pdpt | 0x3);
    for (int i = 0; i < 4; i++) {
        uint64_t pd = LB_PAGE_TABLE_ADDR + 0x2000 + i * 0x1000;

        lb_st64(pt + 0x1000 + i * 8, pd | 0x3);
        for (int j = 0; j < 512; j++) {
            uint64_t page = ((uint64_t)i << 30) | ((uint64_t)j << 21);

            lb_st64(pt + 0x2000 + i * 0x1000 + j * 8, page | 0x83);
        }
    }
    return lb_write(LB_PAGE_TABLE_ADDR, pt, 6 * 4096, "boot page tables",
                    errp);
}

/* ---- the zero page ------------------------------------------------------ */

static void lb_fill_zero_page(uint8_t *bp, const uint8_t *img,
                              const LinuxE820 *map, uint64_t initrd_addr,
                              uint64_t initrd_size)
{
    /* The setup header runs from 0x1f1 to 0x202 + the jump's offset. */
    unsigned hdr_end = MIN(HDR_HEADER + img[HDR_JUMP + 1], BP_SIZE);

    memcpy(bp + HDR_SETUP_SECTS, img + HDR_SETUP_SECTS,
           hdr_end - HDR_SETUP_SECTS);
    lb_st16(bp + HDR_VID_MODE, 0xffff);         /* "normal" */
    bp[HDR_TYPE_OF_LOADER] = 0xff;              /* undefined loader */
    lb_st32(bp + HDR_CMD_LINE_PTR, LB_CMDLINE_ADDR);
    lb_st32(bp + HDR_RAMDISK_IMAGE, initrd_addr);
    lb_st32(bp + HDR_RAMDISK_SIZE, initrd_size);
    lb_st32(bp + BP_EXT_RAMDISK_IMAGE, initrd_addr >> 32);
    lb_st32(bp + BP_EXT_RAMDISK_SIZE, initrd_size >> 32);
    lb_st32(bp + BP_EXT_CMD_LINE_PTR, 0);
    bp[BP_E820_ENTRIES] = map->nr;
    for (unsigned i = 0; i < map->nr; i++) {
        uint8_t *e = bp + BP_E820_TABLE + i * 20;

        lb_st64(e, map->addr[i]);
        lb_st64(e + 8, map->size[i]);
        lb_st32(e + 16, map->type[i]);
    }
}

/* ---- the boot CPU ------------------------------------------------------- */

/* The boot CPU's entry state (boot.rst "32-bit/64-bit boot protocol"). */
static void lb_set_cpu_state(bool long_mode, uint64_t entry)
{
    BootCpuState s;

    boot_cpu_flat32(&s, entry, BOOT_CS, BOOT_DS);
    s.gprs[BOOT_CPU_RSI] = LB_ZERO_PAGE_ADDR;
    s.gdt_base = LB_GDT_ADDR;
    s.gdt_limit = 32 - 1;
    if (long_mode) {
        s.long_mode = true;
        s.cs = boot_cpu_flat_segment(BOOT_CS, GDT_CODE_TYPE, false, true);
        s.cr0 |= CR0_PG;
        s.cr3 = LB_PAGE_TABLE_ADDR;
        s.cr4 = CR4_PAE;
        s.efer = EFER_LME | EFER_LMA;
    }
    boot_cpu_set(&s);
}

/* ---- putting it together ------------------------------------------------ */

static bool lb_load_cmdline(MachineState *ms, const LinuxKernelInfo *ki,
                            GError **errp)
{
    const char *cmdline = ms->kernel_cmdline ? ms->kernel_cmdline : "";
    size_t len = strlen(cmdline);
    size_t max = MIN(ki->cmdline_size, LB_CMDLINE_MAX - 1);

    if (len > max) {
        error_setg(errp, "kernel command line is too long (%zu bytes; "
                   "this kernel takes at most %zu)", len, max);
        return false;
    }
    return lb_write(LB_CMDLINE_ADDR, cmdline, len + 1, "command line", errp);
}

/*
 * The initrd goes as high as it can below both the end of low RAM and
 * initrd_addr_max, but above what the kernel decompresses into (it
 * relocates to at least 16 MiB and needs init_size bytes there).
 */
static bool lb_load_initrd(MachineState *ms, const LinuxKernelInfo *ki,
                           uint64_t ram_end, uint64_t kernel_end,
                           uint64_t *addr, uint64_t *size, GError **errp)
{
    g_autofree uint8_t *data = NULL;
    uint64_t limit, floor;
    size_t len;

    *addr = *size = 0;
    if (!ms->initrd_filename) {
        return true;
    }
    if (!lb_read_file(ms->initrd_filename, "initrd", &data, &len, errp)) {
        return false;
    }
    limit = MIN(ram_end, (uint64_t)ki->initrd_addr_max + 1);
    floor = MAX(kernel_end, MAX(LB_KERNEL_ADDR, 16 * MiB) + ki->init_size);
    if (len > limit || ((limit - len) & ~UINT64_C(0xfff)) < floor) {
        error_setg(errp, "initrd '%s' (%zu bytes) does not fit in guest RAM "
                   "below 0x%" PRIx64 " beside the kernel; give the guest "
                   "more memory (-m)", ms->initrd_filename, len, limit);
        return false;
    }
    *addr = (limit - len) & ~UINT64_C(0xfff);
    *size = len;
    return lb_write(*addr, data, len, "initrd", errp);
}

static bool lb_load_image(MachineState *ms, const uint8_t *img, size_t len,
                          const LinuxKernelInfo *ki, GError **errp)
{
    g_autofree uint8_t *bp = g_malloc0(BP_SIZE);
    uint64_t pm_size = len - ki->setup_size;
    uint64_t initrd_addr, initrd_size, ram_end;
    LinuxE820 map;

    lb_e820_build(&map);
    ram_end = lb_low_ram_end(&map);
    if (ram_end < LB_KERNEL_ADDR + pm_size) {
        error_setg(errp, "kernel '%s' (%zu bytes) does not fit in guest "
                   "RAM; give the guest more memory (-m)",
                   ms->kernel_filename, len);
        return false;
    }
    if (!lb_write(LB_KERNEL_ADDR, img + ki->setup_size, pm_size, "kernel",
                  errp) ||
        !lb_load_initrd(ms, ki, ram_end, LB_KERNEL_ADDR + pm_size,
                        &initrd_addr, &initrd_size, errp) ||
        !lb_load_cmdline(ms, ki, errp) ||
        !lb_write_gdt(ki->kernel_64, errp) ||
        (ki->kernel_64 && !lb_write_page_tables(errp))) {
        return false;
    }
    lb_fill_zero_page(bp, img, &map, initrd_addr, initrd_size);
    if (!lb_write(LB_ZERO_PAGE_ADDR, bp, BP_SIZE, "boot parameters",
                  errp)) {
        return false;
    }
    lb_set_cpu_state(ki->kernel_64, ki->kernel_64 ?
                     LB_KERNEL_ADDR + 0x200 : LB_KERNEL_ADDR);
    return true;
}

bool linux_boot_load(MachineState *ms, GError **errp)
{
    g_autofree uint8_t *img = NULL;
    LinuxKernelInfo ki;
    size_t len;

    if (!lb_read_file(ms->kernel_filename, "kernel", &img, &len, errp) ||
        !lb_parse_header(ms->kernel_filename, img, len, &ki, errp)) {
        return false;
    }
    return lb_load_image(ms, img, len, &ki, errp);
}
