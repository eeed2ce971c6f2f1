/*
 * libFuzzer target for the PIIX3 IDE function: the whole pc board built
 * in-process (tests/fuzz/fuzz-machine.c) with, on ide.0 unit 0, a 64 KiB
 * raw disk and, on ide.1, an ISO-like 128 KiB CD (unit 0) and an empty
 * CD drive (unit 1).  The bus master sits at BM_BASE (BAR4 programmed
 * before each run).  Every run starts from a reset board with zeroed RAM
 * and the disk's original bytes.
 *
 * The input is a program; each operation is an opcode byte (modulo
 * FUZZ_OP_COUNT) and its operands, little-endian:
 *
 *   REG_WRITE   ch:1 reg:1 val:1    taskfile register 1-7 (ch bit 0)
 *   REG_READ    ch:1 reg:1          0-7; 7 acknowledges the interrupt
 *   CTL_WRITE   ch:1 val:1          device control (SRST, nIEN, HOB)
 *   CTL_READ    ch:1                alternate status
 *   DATA_READ   ch:1 size:1 n:1     n+1 data port reads of 2 or 4 bytes
 *   DATA_WRITE  ch:1 size:1 n:1 v:2 n+1 writes of the value v
 *   ATA_CMD     ch:1 dev:1 feat:1 count:2 lba:6 cmd:1
 *                                   the whole 48-bit taskfile, then cmd
 *   PACKET      ch:1 dev:1 feat:1 bcl:2 cdb:12
 *                                   PACKET, then the CDB if DRQ is up
 *   BM_WRITE    off:1 size:1 val:4  bus master register (off mod 16)
 *   BM_READ     off:1 size:1
 *   PRD         ch:1 n:1 n x (addr:4 count:2 flags:1)
 *                                   a PRD table at PRD_BASE + 0x800 * ch,
 *                                   BMIDTP pointed at it
 *   RAM_WRITE   addr:2 len:1 bytes  into the first 64 KiB
 *   DRAIN       -                   let every disk request complete
 *
 * Disk requests complete only at DRAIN (and at the end of a run), so a
 * program can reset or reprogram the channel while one is in flight.
 * QLITE_FUZZ_TRACE=1 prints the run as qtest lines.
 */
#include "fuzz-machine.h"
#include "qlite/block.h"
#include "qlite/main-loop.h"

#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RAM_SIZE   (16 * MiB)
#define FUZZ_DISK_SIZE  (64 * 1024)
#define FUZZ_CD_SIZE    (128 * 1024)
#define FUZZ_RAM_WINDOW 0x10000
#define IDE_BDF         0x09
#define BM_BASE         0xc000
#define PRD_BASE        0x8000
#define PRD_MAX         64

static const uint16_t fuzz_cmd_base[2] = { 0x1f0, 0x170 };
static const uint16_t fuzz_ctl_port[2] = { 0x3f6, 0x376 };

enum {
    FUZZ_OP_REG_WRITE,
    FUZZ_OP_REG_READ,
    FUZZ_OP_CTL_WRITE,
    FUZZ_OP_CTL_READ,
    FUZZ_OP_DATA_READ,
    FUZZ_OP_DATA_WRITE,
    FUZZ_OP_ATA_CMD,
    FUZZ_OP_PACKET,
    FUZZ_OP_BM_WRITE,
    FUZZ_OP_BM_READ,
    FUZZ_OP_PRD,
    FUZZ_OP_RAM_WRITE,
    FUZZ_OP_DRAIN,
    FUZZ_OP_COUNT
};


static MachineState *fuzz_ms;
static bool fuzz_trace;
static BlockBackend *fuzz_blks[2];
static uint8_t *fuzz_disk_bytes;

static const char *fuzz_suffix(unsigned size)
{
    return size == 1 ? "b" : size == 2 ? "w" : "l";
}

static uint64_t fuzz_pio(uint16_t port, unsigned size, bool write,
                         uint64_t val)
{
    val &= size == 4 ? 0xffffffffu : (1u << (8 * size)) - 1;
    if (fuzz_trace) {
        if (write) {
            fprintf(stderr, "out%s 0x%x 0x%" PRIx64 "\n", fuzz_suffix(size),
                    port, val);
        } else {
            fprintf(stderr, "in%s 0x%x\n", fuzz_suffix(size), port);
        }
    }
    if (write) {
        address_space_st(&address_space_io, port, size, val);
        return 0;
    }
    address_space_ld(&address_space_io, port, size, &val);
    return val;
}

static void fuzz_ram_write(uint64_t addr, const uint8_t *buf, size_t len)
{
    if (fuzz_trace) {
        fprintf(stderr, "write 0x%" PRIx64 " %zu 0x", addr, len);
        for (size_t i = 0; i < len; i++) {
            fprintf(stderr, "%02x", buf[i]);
        }
        fprintf(stderr, "\n");
    }
    address_space_write(&address_space_memory, addr, buf, len);
}

static void fuzz_drain(void)
{
    if (fuzz_trace) {
        fprintf(stderr, "# drain: disk requests complete\n");
    }
    for (size_t i = 0; i < G_N_ELEMENTS(fuzz_blks); i++) {
        blk_drain(fuzz_blks[i]);
    }
}

static bool fuzz_op_reg(FuzzInput *in, bool write)
{
    uint64_t ch, reg, val = 0;

    if (!fuzz_take(in, 1, &ch) || !fuzz_take(in, 1, &reg) ||
        (write && !fuzz_take(in, 1, &val))) {
        return false;
    }
    reg = write ? 1 + reg % 7 : reg % 8;
    fuzz_pio(fuzz_cmd_base[ch & 1] + reg, 1, write, val);
    return true;
}

static bool fuzz_op_ctl(FuzzInput *in, bool write)
{
    uint64_t ch, val = 0;

    if (!fuzz_take(in, 1, &ch) || (write && !fuzz_take(in, 1, &val))) {
        return false;
    }
    fuzz_pio(fuzz_ctl_port[ch & 1], 1, write, val);
    return true;
}

static bool fuzz_op_data(FuzzInput *in, bool write)
{
    uint64_t ch, size, n, val = 0;

    if (!fuzz_take(in, 1, &ch) || !fuzz_take(in, 1, &size) ||
        !fuzz_take(in, 1, &n) || (write && !fuzz_take(in, 2, &val))) {
        return false;
    }
    for (unsigned i = 0; i <= n; i++) {
        fuzz_pio(fuzz_cmd_base[ch & 1], size & 1 ? 4 : 2, write,
                 val * 0x00010001u);
    }
    return true;
}

static bool fuzz_op_ata_cmd(FuzzInput *in)
{
    uint64_t ch, dev, feat, count, lba, cmd;
    uint16_t base;

    if (!fuzz_take(in, 1, &ch) || !fuzz_take(in, 1, &dev) ||
        !fuzz_take(in, 1, &feat) || !fuzz_take(in, 2, &count) ||
        !fuzz_take(in, 6, &lba) || !fuzz_take(in, 1, &cmd)) {
        return false;
    }
    base = fuzz_cmd_base[ch & 1];
    fuzz_pio(base + 6, 1, true, dev);
    /* previous ("HOB") values first, then the current ones */
    fuzz_pio(base + 1, 1, true, feat);
    fuzz_pio(base + 2, 1, true, count >> 8);
    fuzz_pio(base + 3, 1, true, lba >> 24);
    fuzz_pio(base + 4, 1, true, lba >> 32);
    fuzz_pio(base + 5, 1, true, lba >> 40);
    fuzz_pio(base + 1, 1, true, feat);
    fuzz_pio(base + 2, 1, true, count);
    fuzz_pio(base + 3, 1, true, lba);
    fuzz_pio(base + 4, 1, true, lba >> 8);
    fuzz_pio(base + 5, 1, true, lba >> 16);
    fuzz_pio(base + 7, 1, true, cmd);
    return true;
}

static bool fuzz_op_packet(FuzzInput *in)
{
    uint64_t ch, dev, feat, bcl;
    uint16_t base;

    if (!fuzz_take(in, 1, &ch) || !fuzz_take(in, 1, &dev) ||
        !fuzz_take(in, 1, &feat) || !fuzz_take(in, 2, &bcl) ||
        in->left < 12) {
        return false;
    }
    base = fuzz_cmd_base[ch & 1];
    fuzz_pio(base + 6, 1, true, dev);
    fuzz_pio(base + 1, 1, true, feat);
    fuzz_pio(base + 4, 1, true, bcl);
    fuzz_pio(base + 5, 1, true, bcl >> 8);
    fuzz_pio(base + 7, 1, true, 0xa0);
    if (fuzz_pio(fuzz_ctl_port[ch & 1], 1, false, 0) & 0x08) {
        for (int i = 0; i < 12; i += 2) {
            fuzz_pio(base, 2, true, in->p[i] | (in->p[i + 1] << 8));
        }
    }
    in->p += 12;
    in->left -= 12;
    return true;
}

static bool fuzz_op_bm(FuzzInput *in, bool write)
{
    uint64_t off, size, val = 0;
    unsigned n;

    if (!fuzz_take(in, 1, &off) || !fuzz_take(in, 1, &size) ||
        (write && !fuzz_take(in, 4, &val))) {
        return false;
    }
    n = 1u << (size % 3);
    off = (off % 16) & ~(uint64_t)(n - 1);
    fuzz_pio(BM_BASE + off, n, write, val);
    return true;
}

/* A PRD table; addresses as given, so they may point anywhere. */
static bool fuzz_op_prd(FuzzInput *in)
{
    uint64_t ch, n, addr, count, flags;
    uint8_t table[PRD_MAX * 8];

    if (!fuzz_take(in, 1, &ch) || !fuzz_take(in, 1, &n)) {
        return false;
    }
    n = n % PRD_MAX + 1;
    for (unsigned i = 0; i < n; i++) {
        if (!fuzz_take(in, 4, &addr) || !fuzz_take(in, 2, &count) ||
            !fuzz_take(in, 1, &flags)) {
            return false;
        }
        for (int b = 0; b < 4; b++) {
            table[8 * i + b] = addr >> (8 * b);
        }
        table[8 * i + 4] = count;
        table[8 * i + 5] = count >> 8;
        table[8 * i + 6] = 0;
        table[8 * i + 7] = flags & 0x80;
    }
    ch &= 1;
    fuzz_ram_write(PRD_BASE + 0x800 * ch, table, 8 * n);
    fuzz_pio(BM_BASE + 8 * ch + 4, 4, true, PRD_BASE + 0x800 * ch);
    return true;
}

static bool fuzz_op_ram_write(FuzzInput *in)
{
    uint64_t addr, len;

    if (!fuzz_take(in, 2, &addr) || !fuzz_take(in, 1, &len) ||
        in->left < len) {
        return false;
    }
    len = MIN(len, FUZZ_RAM_WINDOW - addr);
    fuzz_ram_write(addr, in->p, len);
    in->p += len;
    in->left -= len;
    return true;
}

static bool fuzz_run_op(FuzzInput *in)
{
    uint64_t op;

    if (!fuzz_take(in, 1, &op)) {
        return false;
    }
    switch (op % FUZZ_OP_COUNT) {
    case FUZZ_OP_REG_WRITE:     return fuzz_op_reg(in, true);
    case FUZZ_OP_REG_READ:      return fuzz_op_reg(in, false);
    case FUZZ_OP_CTL_WRITE:     return fuzz_op_ctl(in, true);
    case FUZZ_OP_CTL_READ:      return fuzz_op_ctl(in, false);
    case FUZZ_OP_DATA_READ:     return fuzz_op_data(in, false);
    case FUZZ_OP_DATA_WRITE:    return fuzz_op_data(in, true);
    case FUZZ_OP_ATA_CMD:       return fuzz_op_ata_cmd(in);
    case FUZZ_OP_PACKET:        return fuzz_op_packet(in);
    case FUZZ_OP_BM_WRITE:      return fuzz_op_bm(in, true);
    case FUZZ_OP_BM_READ:       return fuzz_op_bm(in, false);
    case FUZZ_OP_PRD:           return fuzz_op_prd(in);
    case FUZZ_OP_RAM_WRITE:     return fuzz_op_ram_write(in);
    default:                    fuzz_drain(); return true;
    }
}

/* A scratch image file of @size bytes holding @bytes; removed at once. */
static char *fuzz_image(const uint8_t *bytes, size_t size)
{
    GError *err = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("qlite-fuzz-ide-XXXXXX", &path, &err);

    if (fd < 0 || write(fd, bytes, size) != (ssize_t)size) {
        fprintf(stderr, "fuzz-ide: cannot write an image\n");
        abort();
    }
    close(fd);
    return path;
}

static DriveInfo *fuzz_drive(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

static DriveInfo *fuzz_drive(const char *fmt, ...)
{
    g_autofree char *opts = NULL;
    GError *err = NULL;
    DriveInfo *d;
    va_list ap;

    va_start(ap, fmt);
    opts = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    d = drive_new(opts, IF_IDE, &err);
    if (!d) {
        fprintf(stderr, "fuzz-ide: %s\n", err->message);
        abort();
    }
    return d;
}

/*
 * The disk: sector n starts with its number; the CD: an ISO 9660-like
 * primary volume descriptor at sector 16, the rest a byte pattern.
 */
static void fuzz_make_drives(void)
{
    g_autofree uint8_t *cd = g_malloc0(FUZZ_CD_SIZE);
    g_autofree char *disk_path = NULL, *cd_path = NULL;

    fuzz_disk_bytes = g_malloc(FUZZ_DISK_SIZE);
    for (size_t i = 0; i < FUZZ_DISK_SIZE; i++) {
        fuzz_disk_bytes[i] = i % 512 < 4 ? (i / 512) >> (8 * (i % 512))
                                         : (uint8_t)(i * 31);
    }
    for (size_t i = 0; i < FUZZ_CD_SIZE; i++) {
        cd[i] = i * 7;
    }
    memcpy(cd + 16 * 2048, "\x01" "CD001" "\x01", 7);
    disk_path = fuzz_image(fuzz_disk_bytes, FUZZ_DISK_SIZE);
    cd_path = fuzz_image(cd, FUZZ_CD_SIZE);
    fuzz_blks[0] = fuzz_drive("file=%s,format=raw,index=0",
                              disk_path)->blk;
    fuzz_blks[1] = fuzz_drive("file=%s,format=raw,index=2,media=cdrom",
                              cd_path)->blk;
    fuzz_drive("index=3,media=cdrom");
    /* The open files stay; their names are no longer needed. */
    unlink(disk_path);
    unlink(cd_path);
}

/* What firmware does: BAR4 at BM_BASE, I/O decoding, bus mastering. */
static void fuzz_program_bar(void)
{
    fuzz_pio(0xcf8, 4, true, 0x80000000u | IDE_BDF << 8 | 0x20);
    fuzz_pio(0xcfc, 4, true, BM_BASE | 1);
    fuzz_pio(0xcf8, 4, true, 0x80000000u | IDE_BDF << 8 | 0x04);
    fuzz_pio(0xcfc, 2, true, 0x05);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    FuzzMachineConfig cfg = { .type = "pc", .ram_size = FUZZ_RAM_SIZE };
    GError *err = NULL;

    fuzz_trace = g_getenv("QLITE_FUZZ_TRACE") != NULL;
    fuzz_make_drives();
    fuzz_ms = fuzz_machine_create(&cfg, &err);
    if (!fuzz_ms) {
        fprintf(stderr, "fuzz-ide: %s\n", err->message);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    FuzzInput in = { data, size };

    fuzz_machine_reset(fuzz_ms);
    if (blk_pwrite(fuzz_blks[0], 0, FUZZ_DISK_SIZE, fuzz_disk_bytes, 0)) {
        abort();
    }
    if (fuzz_trace) {
        fprintf(stderr, "# new run: board reset, RAM zeroed\n");
    }
    fuzz_program_bar();
    while (fuzz_run_op(&in)) {
        fuzz_machine_handle_requests();
    }
    fuzz_drain();
    return 0;
}
