/*
 * Linux direct boot without a CPU: load a made-up bzImage into guest RAM
 * and check what the kernel would find there (boot.rst, zero-page.rst):
 * the zero page's header copy, e820 map, command line and initrd, the
 * page tables, and the boot CPU's entry state.
 */
#include "qlite/linux-boot.h"
#include "qlite/boot-cpu.h"
#include "qlite/error.h"
#include "qlite/machine.h"
#include "qlite/memory.h"

#include <unistd.h>

#define RAM_SIZE (64 * MiB)
#define ZERO_PAGE 0x7000

static MemoryRegion ram;
static char *tmpdir;
static const char *const test_files[] = {
    "bzImage", "initrd", "junk", "big",
};

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        p[i] = v >> (8 * i);
    }
}

static uint64_t ram_ld(uint64_t addr, unsigned size)
{
    uint64_t v = 0;

    g_assert_cmpint(address_space_ld(&address_space_memory, addr, size, &v),
                    ==, MEMTX_OK);
    return v;
}

static char *write_file(const char *name, const void *data, size_t len)
{
    char *path = g_build_filename(tmpdir, name, NULL);

    g_assert_true(g_file_set_contents(path, data, len, NULL));
    return path;
}

/* 2 setup sectors, protocol @version, 8 KiB of "code" (0xc3 bytes). */
static char *make_kernel(uint16_t version, bool kernel_64)
{
    g_autofree uint8_t *img = g_malloc0(1024 + 8192);

    img[0x1f1] = 1;
    img[0x1fe] = 0x55;
    img[0x1ff] = 0xaa;
    img[0x200] = 0xeb;
    img[0x201] = 0x66;
    memcpy(img + 0x202, "HdrS", 4);
    img[0x206] = version & 0xff;
    img[0x207] = version >> 8;
    img[0x211] = 1;
    put32(img + 0x22c, 0x37ffffff);
    img[0x236] = kernel_64;
    put32(img + 0x238, 255);
    put32(img + 0x260, 0x100000);
    memset(img + 1024, 0xc3, 8192);
    return write_file("bzImage", img, 1024 + 8192);
}

static void test_load_64(void)
{
    g_autofree char *kernel = make_kernel(0x20f, true);
    g_autofree char *initrd = write_file("initrd", "INITRD", 6);
    MachineState ms = {
        .kernel_filename = kernel, .initrd_filename = initrd,
        .kernel_cmdline = (char *)"console=ttyS0 quiet",
    };
    const BootCpuState *cpu;
    uint64_t initrd_addr, cmdline;
    char buf[32];
    GError *err = NULL;

    g_assert_true(linux_boot_load(&ms, &err));
    g_assert_no_error(err);
    /* The protected-mode code at 1 MiB, the header copied, our marks. */
    g_assert_cmphex(ram_ld(0x100000, 1), ==, 0xc3);
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x202, 4), ==, 0x53726448);
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x210, 1), ==, 0xff);
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x1fa, 2), ==, 0xffff);
    /* Command line. */
    cmdline = ram_ld(ZERO_PAGE + 0x228, 4);
    address_space_read(&address_space_memory, cmdline, buf, 20);
    g_assert_cmpstr(buf, ==, "console=ttyS0 quiet");
    /* Initrd: page aligned, at the top of RAM. */
    initrd_addr = ram_ld(ZERO_PAGE + 0x218, 4);
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x21c, 4), ==, 6);
    g_assert_cmphex(initrd_addr & 0xfff, ==, 0);
    g_assert_cmphex(initrd_addr, ==, (RAM_SIZE - 6) & ~0xfffULL);
    address_space_read(&address_space_memory, initrd_addr, buf, 6);
    g_assert_cmpmem(buf, 6, "INITRD", 6);
    /* e820: low RAM, EBDA reserved, BIOS reserved, RAM from 1 MiB. */
    g_assert_cmpint(ram_ld(ZERO_PAGE + 0x1e8, 1), ==, 4);
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x2d0, 8), ==, 0);
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x2d8, 8), ==, 0x9fc00);
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x2e0, 4), ==, 1);
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x2e4 + 16, 4), ==, 2);
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x2d0 + 60, 8), ==, 0x100000);
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x2d8 + 60, 8), ==,
                    RAM_SIZE - 0x100000);
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x2e0 + 60, 4), ==, 1);
    /* Entry state: long mode at startup_64 with identity paging. */
    cpu = boot_cpu_get();
    g_assert_nonnull(cpu);
    g_assert_true(cpu->long_mode);
    g_assert_cmphex(cpu->rip, ==, 0x100200);
    g_assert_cmphex(cpu->gprs[BOOT_CPU_RSI], ==, ZERO_PAGE);
    g_assert_cmphex(cpu->cs.selector, ==, 0x10);
    g_assert_true(cpu->cs.l);
    g_assert_cmphex(cpu->ds.selector, ==, 0x18);
    /* PML4[0] -> PDPT[0] -> PD[0][0] maps 0-2 MiB as a large page. */
    g_assert_cmphex(ram_ld(cpu->cr3, 8) & 0xfff, ==, 0x3);
    g_assert_cmphex(ram_ld((ram_ld(ram_ld(cpu->cr3, 8) & ~0xfffULL, 8) &
                            ~0xfffULL) + 8, 8), ==, 0x200083);
    /* GDT: __BOOT_CS is 64-bit code (L set), __BOOT_DS flat data. */
    g_assert_cmphex(ram_ld(cpu->gdt_base + 0x10, 8), ==,
                    0x00af9b000000ffffULL);
    g_assert_cmphex(ram_ld(cpu->gdt_base + 0x18, 8), ==,
                    0x00cf93000000ffffULL);
}

static void test_load_32(void)
{
    g_autofree char *kernel = make_kernel(0x206, false);
    MachineState ms = { .kernel_filename = kernel };
    const BootCpuState *cpu;
    GError *err = NULL;

    g_assert_true(linux_boot_load(&ms, &err));
    cpu = boot_cpu_get();
    g_assert_false(cpu->long_mode);
    g_assert_cmphex(cpu->rip, ==, 0x100000);
    g_assert_true(cpu->cs.db);
    g_assert_cmphex(cpu->cr0 & 0x80000001, ==, 1);      /* PE, no PG */
    g_assert_cmphex(ram_ld(ZERO_PAGE + 0x218, 4), ==, 0);  /* no initrd */
}

static void expect_error(MachineState *ms, const char *text)
{
    GError *err = NULL;

    g_assert_false(linux_boot_load(ms, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, text)) {
        g_error("'%s' lacks '%s'", err->message, text);
    }
    g_error_free(err);
}

static void test_errors(void)
{
    g_autofree char *junk = write_file("junk", "not a kernel", 12);
    g_autofree char *missing = g_build_filename(tmpdir, "none", NULL);
    g_autofree char *old = make_kernel(0x205, false);
    g_autofree char *big = NULL;
    g_autofree char *kernel = NULL;
    g_autofree uint8_t *huge = g_malloc0(RAM_SIZE);
    MachineState ms = { .kernel_filename = missing };

    expect_error(&ms, "could not load kernel");
    expect_error(&ms, "No such file or directory");
    ms.kernel_filename = junk;
    expect_error(&ms, "is not a Linux bzImage");
    ms.kernel_filename = old;
    expect_error(&ms, "boot protocol 2.05");
    kernel = make_kernel(0x20f, true);
    big = write_file("big", huge, RAM_SIZE);
    ms.kernel_filename = kernel;
    ms.initrd_filename = big;
    expect_error(&ms, "does not fit in guest RAM");
    ms.initrd_filename = NULL;
    ms.kernel_cmdline = g_strnfill(256, 'x');
    expect_error(&ms, "command line is too long (256 bytes");
    g_free(ms.kernel_cmdline);
}

int main(int argc, char **argv)
{
    GError *err = NULL;
    int ret;

    g_test_init(&argc, &argv, NULL);
    tmpdir = g_dir_make_tmp("qlite-linux-boot-XXXXXX", NULL);
    memory_system_init();
    g_assert_true(memory_region_init_ram(&ram, "ram", RAM_SIZE, &err));
    memory_region_add_subregion(get_system_memory(), 0, &ram);
    g_test_add_func("/linux-boot/load-64", test_load_64);
    g_test_add_func("/linux-boot/load-32", test_load_32);
    g_test_add_func("/linux-boot/errors", test_errors);
    ret = g_test_run();
    for (size_t i = 0; i < G_N_ELEMENTS(test_files); i++) {
        g_autofree char *p = g_build_filename(tmpdir, test_files[i], NULL);

        unlink(p);
    }
    rmdir(tmpdir);
    return ret;
}
