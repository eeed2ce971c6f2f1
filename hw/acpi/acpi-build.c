/*
 * ACPI tables of the pc board (ACPI 6.4 chapter 5): RSDP, RSDT, XSDT,
 * FADT (revision 3), FACS, MADT and a DSDT with the PCI root bridge, its
 * interrupt routing and the sleep states QEMU's i440fx DSDT gives the
 * PIIX4: \_S3 (SLP_TYP 1, suspend to RAM) and \_S5 (SLP_TYP 0, soft-off).
 *
 * The tables are laid out in one blob ("etc/acpi/tables"), the RSDP in
 * another ("etc/acpi/rsdp").  Pointers between tables are stored as
 * offsets into the tables blob and listed, with every checksum, so that
 * (a) the fw_cfg table-loader script tells firmware to add the blob's
 * final address and recompute checksums (QEMU's BIOSLinkerLoader
 * commands), and (b) acpi_write_tables() does the same itself for a boot
 * without firmware.
 */
#include "qlite/acpi.h"
#include "qlite/apic.h"
#include "qlite/error.h"
#include "qlite/fw_cfg.h"
#include "qlite/memory.h"
#include "aml.h"

#define ACPI_OEM_ID         "BOCHS "
#define ACPI_OEM_TABLE_ID   "BXPC    "
#define ACPI_CREATOR_ID     "BXPC"
#define ACPI_HEADER_LEN     36
#define ACPI_CSUM_OFFSET    9
#define ACPI_FADT_LEN       244
#define ACPI_FACS_LEN       64
#define FACS_WAKING_VECTOR  12          /* Firmware_Waking_Vector */
#define ACPI_RSDP_LEN       36
#define ACPI_RSDP_V1_LEN    20
#define PCI_HOLE_END        0xfebfffff

/* table-loader commands (QEMU's hw/acpi/bios-linker-loader.c format). */
#define LOADER_ENTRY_LEN    128
#define LOADER_FILE_LEN     56
#define LOADER_ALLOCATE     1
#define LOADER_ADD_POINTER  2
#define LOADER_ADD_CHECKSUM 3
#define LOADER_ZONE_HIGH    1
#define LOADER_ZONE_FSEG    2

#define TABLES_FILE         "etc/acpi/tables"
#define RSDP_FILE           "etc/acpi/rsdp"
#define LOADER_FILE         "etc/table-loader"

enum { BLOB_TABLES, BLOB_RSDP, BLOB_NB };

static const char *const blob_names[BLOB_NB] = { TABLES_FILE, RSDP_FILE };

/* A pointer field in blob @dest at @offset, relative to the tables blob. */
typedef struct AcpiPointer {
    int dest;
    uint32_t offset;
    uint8_t size;
} AcpiPointer;

typedef struct AcpiChecksum {
    int file;
    uint32_t offset;            /* the checksum byte */
    uint32_t start;
    uint32_t len;
} AcpiChecksum;

typedef struct AcpiBlobs {
    GByteArray *blob[BLOB_NB];
    GArray *pointers;           /* of AcpiPointer */
    GArray *checksums;          /* of AcpiChecksum */
    uint32_t facs;              /* the FACS in the tables blob */
    bool written;               /* acpi_write_tables() put them in RAM */
} AcpiBlobs;

static AcpiBlobs acpi_last;

/* ------------------------------------------------------------------------
 * Byte helpers
 */

static void put_le(uint8_t *p, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8) {
        p[i] = v & 0xff;
    }
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;

    for (int i = n - 1; i >= 0; i--) {
        v = (v << 8) | p[i];
    }
    return v;
}

/* Zeroed space for @len bytes at the next multiple of @align. */
static uint32_t blob_reserve(GByteArray *b, uint32_t len, uint32_t align)
{
    uint32_t start = b->len;
    uint32_t off = ROUND_UP(start, align);

    g_byte_array_set_size(b, off + len);
    memset(b->data + start, 0, off + len - start);
    return off;
}

static uint8_t acpi_checksum(const uint8_t *p, uint32_t len)
{
    uint8_t sum = 0;

    for (uint32_t i = 0; i < len; i++) {
        sum += p[i];
    }
    return -sum;
}

static void acpi_add_pointer(AcpiBlobs *a, int dest, uint32_t off,
                             uint8_t size, uint32_t target)
{
    AcpiPointer p = { dest, off, size };

    put_le(a->blob[dest]->data + off, target, size);
    g_array_append_val(a->pointers, p);
}

/* ------------------------------------------------------------------------
 * Table headers
 */

static uint32_t acpi_table_begin(AcpiBlobs *a, const char *sig, uint8_t rev,
                                 uint32_t len)
{
    GByteArray *b = a->blob[BLOB_TABLES];
    uint32_t off = blob_reserve(b, len, 8);
    uint8_t *h = b->data + off;

    memcpy(h, sig, 4);
    h[8] = rev;
    memcpy(h + 10, ACPI_OEM_ID, 6);
    memcpy(h + 16, ACPI_OEM_TABLE_ID, 8);
    put_le(h + 24, 1, 4);               /* OEM revision */
    memcpy(h + 28, ACPI_CREATOR_ID, 4);
    put_le(h + 32, 1, 4);               /* creator revision */
    return off;
}

/* The table grew to the blob's end: set its length, list its checksum. */
static void acpi_table_end(AcpiBlobs *a, uint32_t off)
{
    GByteArray *b = a->blob[BLOB_TABLES];
    AcpiChecksum c = { BLOB_TABLES, off + ACPI_CSUM_OFFSET, off,
                       b->len - off };

    put_le(b->data + off + 4, b->len - off, 4);
    g_array_append_val(a->checksums, c);
}

static uint32_t acpi_append(AcpiBlobs *a, const void *data, uint32_t len)
{
    GByteArray *b = a->blob[BLOB_TABLES];
    uint32_t off = b->len;

    g_byte_array_append(b, data, len);
    return off;
}

/* ------------------------------------------------------------------------
 * DSDT
 */

static void dsdt_pci_crs(GByteArray *body, const AcpiBuildConfig *cfg)
{
    g_autoptr(GByteArray) res = g_byte_array_new();
    g_autoptr(GByteArray) val = g_byte_array_new();
    uint32_t hole = MIN(cfg->below_4g, (uint64_t)PCI_HOLE_END);

    aml_res_word_bus(res, 0x00, 0xff);
    aml_res_io(res, 0xcf8, 0xcf8, 1, 8);
    aml_res_word_io(res, 0x0000, 0x0cf7);
    aml_res_word_io(res, 0x0d00, 0xffff);
    aml_res_dword_mem(res, 0x000a0000, 0x000bffff);
    aml_res_dword_mem(res, hole, PCI_HOLE_END);
    aml_resource_template(val, res);
    aml_name_decl(body, "_CRS", val);
}

/*
 * _PRT (6.2.13) with static GSIs: slot S pin P goes to PIRQ (S + P) mod 4,
 * which firmware routed to the ISA IRQ in cfg->pirq_irq.
 */
static void dsdt_pci_prt(GByteArray *body, const AcpiBuildConfig *cfg)
{
    g_autoptr(GByteArray) entries = g_byte_array_new();
    g_autoptr(GByteArray) val = g_byte_array_new();

    for (unsigned slot = 0; slot < 32; slot++) {
        for (unsigned pin = 0; pin < 4; pin++) {
            g_autoptr(GByteArray) e = g_byte_array_new();

            aml_integer(e, (slot << 16) | 0xffff);
            aml_integer(e, pin);
            aml_integer(e, 0);          /* no link device: a GSI */
            aml_integer(e, cfg->pirq_irq[(slot + pin) & 3]);
            aml_package(entries, 4, e);
        }
    }
    aml_package(val, 128, entries);
    aml_name_decl(body, "_PRT", val);
}

/* \_Sx: Package { SLP_TYP for PM1a_CNT, for PM1b_CNT, reserved x2 } */
static void dsdt_sleep_state(GByteArray *aml, const char *name,
                             uint8_t slp_typ)
{
    g_autoptr(GByteArray) v = g_byte_array_new();
    g_autoptr(GByteArray) pkg = g_byte_array_new();

    aml_integer(v, slp_typ);
    aml_integer(v, slp_typ);
    aml_integer(v, 0);
    aml_integer(v, 0);
    aml_package(pkg, 4, v);
    aml_name_decl(aml, name, pkg);
}

static void dsdt_body(GByteArray *aml, const AcpiBuildConfig *cfg)
{
    g_autoptr(GByteArray) pci = g_byte_array_new();
    g_autoptr(GByteArray) sb = g_byte_array_new();
    g_autoptr(GByteArray) v = g_byte_array_new();

    aml_eisaid(v, "PNP0A03");
    aml_name_decl(pci, "_HID", v);
    g_byte_array_set_size(v, 0);
    aml_integer(v, 0);
    aml_name_decl(pci, "_ADR", v);
    aml_name_decl(pci, "_UID", v);
    dsdt_pci_crs(pci, cfg);
    dsdt_pci_prt(pci, cfg);
    aml_device(sb, "PCI0", pci);
    aml_scope(aml, "\\_SB", sb);
    if (cfg->s3) {
        dsdt_sleep_state(aml, "\\_S3", 1);
    }
    dsdt_sleep_state(aml, "\\_S5", 0);
}

static uint32_t acpi_build_dsdt(AcpiBlobs *a, const AcpiBuildConfig *cfg)
{
    g_autoptr(GByteArray) aml = g_byte_array_new();
    uint32_t off = acpi_table_begin(a, "DSDT", 1, ACPI_HEADER_LEN);

    dsdt_body(aml, cfg);
    acpi_append(a, aml->data, aml->len);
    acpi_table_end(a, off);
    return off;
}

/* ------------------------------------------------------------------------
 * FACS, FADT, MADT, RSDT, XSDT
 */

static uint32_t acpi_build_facs(AcpiBlobs *a)
{
    GByteArray *b = a->blob[BLOB_TABLES];
    uint32_t off = blob_reserve(b, ACPI_FACS_LEN, 64);

    memcpy(b->data + off, "FACS", 4);
    put_le(b->data + off + 4, ACPI_FACS_LEN, 4);
    return off;
}

/* Generic Address Structure (5.2.3.2) in system I/O space. */
static void acpi_gas_io(uint8_t *p, uint8_t bits, uint64_t addr)
{
    p[0] = 1;
    p[1] = bits;
    p[2] = 0;
    p[3] = 0;
    put_le(p + 4, addr, 8);
}

#define FADT_F_WBINVD           (1u << 0)
#define FADT_F_PROC_C1          (1u << 2)
#define FADT_F_SLP_BUTTON       (1u << 5)
#define FADT_F_RTC_S4           (1u << 7)
#define FADT_F_RESET_REG_SUP    (1u << 10)
#define FADT_F_PLATFORM_CLOCK   (1u << 15)
#define FADT_BOOT_ARCH_LEGACY   (1u << 0)
#define FADT_BOOT_ARCH_8042     (1u << 1)

static void fadt_fill(uint8_t *f)
{
    put_le(f + 46, ACPI_SCI_IRQ, 2);
    put_le(f + 48, ACPI_SMI_CMD_PORT, 4);
    f[52] = ACPI_ENABLE_CMD;
    f[53] = ACPI_DISABLE_CMD;
    put_le(f + 56, ACPI_PM_IO_BASE, 4);         /* PM1a_EVT_BLK */
    put_le(f + 64, ACPI_PM_IO_BASE + 4, 4);     /* PM1a_CNT_BLK */
    put_le(f + 76, ACPI_PM_IO_BASE + 8, 4);     /* PM_TMR_BLK */
    put_le(f + 80, ACPI_GPE0_BASE, 4);
    f[88] = 4;                                  /* PM1_EVT_LEN */
    f[89] = 2;                                  /* PM1_CNT_LEN */
    f[91] = 4;                                  /* PM_TMR_LEN */
    f[92] = ACPI_GPE0_LEN;
    put_le(f + 96, 0xfff, 2);                   /* no C2 */
    put_le(f + 98, 0xfff, 2);                   /* no C3 */
    f[108] = 0x32;                              /* RTC century byte */
    put_le(f + 109, FADT_BOOT_ARCH_LEGACY | FADT_BOOT_ARCH_8042, 2);
    put_le(f + 112, FADT_F_WBINVD | FADT_F_PROC_C1 | FADT_F_SLP_BUTTON |
           FADT_F_RTC_S4 | FADT_F_RESET_REG_SUP | FADT_F_PLATFORM_CLOCK, 4);
    acpi_gas_io(f + 116, 8, 0xcf9);             /* RESET_REG */
    f[128] = 0x06;                              /* reset: RCR hard reset */
    acpi_gas_io(f + 148, 32, ACPI_PM_IO_BASE);
    acpi_gas_io(f + 172, 16, ACPI_PM_IO_BASE + 4);
    acpi_gas_io(f + 208, 32, ACPI_PM_IO_BASE + 8);
    acpi_gas_io(f + 220, ACPI_GPE0_LEN * 8, ACPI_GPE0_BASE);
}

static uint32_t acpi_build_fadt(AcpiBlobs *a, uint32_t facs, uint32_t dsdt)
{
    uint32_t off = acpi_table_begin(a, "FACP", 3, ACPI_FADT_LEN);

    fadt_fill(a->blob[BLOB_TABLES]->data + off);
    acpi_add_pointer(a, BLOB_TABLES, off + 36, 4, facs);
    acpi_add_pointer(a, BLOB_TABLES, off + 40, 4, dsdt);
    acpi_add_pointer(a, BLOB_TABLES, off + 132, 8, facs);
    acpi_add_pointer(a, BLOB_TABLES, off + 140, 8, dsdt);
    acpi_table_end(a, off);
    return off;
}

/* Interrupt source override flags: active high, level triggered. */
#define MADT_ISO_LEVEL_HIGH 0x000d

static void madt_iso(AcpiBlobs *a, uint8_t irq, uint32_t gsi, uint16_t flags)
{
    uint8_t e[10] = { 2, 10, 0, irq };

    put_le(e + 4, gsi, 4);
    put_le(e + 8, flags, 2);
    acpi_append(a, e, sizeof(e));
}

static uint32_t acpi_build_madt(AcpiBlobs *a, const AcpiBuildConfig *cfg)
{
    uint32_t off = acpi_table_begin(a, "APIC", 1, ACPI_HEADER_LEN + 8);
    uint8_t *h = a->blob[BLOB_TABLES]->data + off;
    uint8_t ioapic[12] = { 1, 12, 0, 0 };
    static const uint8_t level_irqs[] = { 5, 9, 10, 11 };
    uint8_t nmi[6] = { 4, 6, 0xff, 0, 0, 1 };   /* all CPUs: LINT1 */

    put_le(h + 36, APIC_DEFAULT_ADDRESS, 4);
    put_le(h + 40, 1, 4);                       /* PCAT_COMPAT: 8259s */
    for (unsigned i = 0; i < cfg->cpus; i++) {
        uint8_t lapic[8] = { 0, 8, i, i, 1, 0, 0, 0 };

        acpi_append(a, lapic, sizeof(lapic));
    }
    put_le(ioapic + 4, IOAPIC_DEFAULT_ADDRESS, 4);
    acpi_append(a, ioapic, sizeof(ioapic));
    madt_iso(a, 0, 2, 0);                       /* the PIT on pin 2 */
    for (size_t i = 0; i < G_N_ELEMENTS(level_irqs); i++) {
        madt_iso(a, level_irqs[i], level_irqs[i], MADT_ISO_LEVEL_HIGH);
    }
    acpi_append(a, nmi, sizeof(nmi));
    acpi_table_end(a, off);
    return off;
}

static uint32_t acpi_build_sdt(AcpiBlobs *a, const char *sig, int width,
                               const uint32_t *tables, int n)
{
    uint32_t off = acpi_table_begin(a, sig, 1, ACPI_HEADER_LEN + width * n);

    for (int i = 0; i < n; i++) {
        acpi_add_pointer(a, BLOB_TABLES, off + ACPI_HEADER_LEN + width * i,
                         width, tables[i]);
    }
    acpi_table_end(a, off);
    return off;
}

static void acpi_build_rsdp(AcpiBlobs *a, uint32_t rsdt, uint32_t xsdt)
{
    GByteArray *b = a->blob[BLOB_RSDP];
    AcpiChecksum v1 = { BLOB_RSDP, 8, 0, ACPI_RSDP_V1_LEN };
    AcpiChecksum v2 = { BLOB_RSDP, 32, 0, ACPI_RSDP_LEN };

    g_byte_array_set_size(b, ACPI_RSDP_LEN);
    memset(b->data, 0, ACPI_RSDP_LEN);
    memcpy(b->data, "RSD PTR ", 8);
    memcpy(b->data + 9, ACPI_OEM_ID, 6);
    b->data[15] = 2;                            /* ACPI 2.0+: has XSDT */
    put_le(b->data + 20, ACPI_RSDP_LEN, 4);
    acpi_add_pointer(a, BLOB_RSDP, 16, 4, rsdt);
    acpi_add_pointer(a, BLOB_RSDP, 24, 8, xsdt);
    /* The 20-byte checksum first: the extended one covers it. */
    g_array_append_val(a->checksums, v1);
    g_array_append_val(a->checksums, v2);
}

/* ------------------------------------------------------------------------
 * Checksums, placement and the loader script
 */

static void acpi_fix_checksums(AcpiBlobs *a, GByteArray **blobs)
{
    for (guint i = 0; i < a->checksums->len; i++) {
        AcpiChecksum *c = &g_array_index(a->checksums, AcpiChecksum, i);
        uint8_t *p = blobs[c->file]->data;

        p[c->offset] = 0;
        p[c->offset] = acpi_checksum(p + c->start, c->len);
    }
}

static void loader_name(uint8_t *p, const char *name)
{
    g_strlcpy((char *)p, name, LOADER_FILE_LEN);
}

static GByteArray *acpi_loader_script(AcpiBlobs *a)
{
    GByteArray *s = g_byte_array_new();
    uint8_t *e;
    uint32_t n = 2 + a->pointers->len + a->checksums->len;

    g_byte_array_set_size(s, n * LOADER_ENTRY_LEN);
    memset(s->data, 0, s->len);
    e = s->data;
    put_le(e, LOADER_ALLOCATE, 4);
    loader_name(e + 4, RSDP_FILE);
    put_le(e + 60, 16, 4);
    e[64] = LOADER_ZONE_FSEG;
    e += LOADER_ENTRY_LEN;
    put_le(e, LOADER_ALLOCATE, 4);
    loader_name(e + 4, TABLES_FILE);
    put_le(e + 60, 64, 4);
    e[64] = LOADER_ZONE_HIGH;
    for (guint i = 0; i < a->pointers->len; i++) {
        AcpiPointer *p = &g_array_index(a->pointers, AcpiPointer, i);

        e += LOADER_ENTRY_LEN;
        put_le(e, LOADER_ADD_POINTER, 4);
        loader_name(e + 4, blob_names[p->dest]);
        loader_name(e + 60, TABLES_FILE);
        put_le(e + 116, p->offset, 4);
        e[120] = p->size;
    }
    for (guint i = 0; i < a->checksums->len; i++) {
        AcpiChecksum *c = &g_array_index(a->checksums, AcpiChecksum, i);

        e += LOADER_ENTRY_LEN;
        put_le(e, LOADER_ADD_CHECKSUM, 4);
        loader_name(e + 4, blob_names[c->file]);
        put_le(e + 60, c->offset, 4);
        put_le(e + 64, c->start, 4);
        put_le(e + 68, c->len, 4);
    }
    return s;
}

static void acpi_blobs_free(AcpiBlobs *a)
{
    for (int i = 0; i < BLOB_NB; i++) {
        if (a->blob[i]) {
            g_byte_array_unref(a->blob[i]);
        }
    }
    if (a->pointers) {
        g_array_unref(a->pointers);
        g_array_unref(a->checksums);
    }
    memset(a, 0, sizeof(*a));
}

static bool acpi_install_fw_cfg(AcpiBlobs *a, DeviceState *fw,
                                GError **errp)
{
    g_autoptr(GByteArray) script = acpi_loader_script(a);

    /* Firmware gets checksums over zero-based pointers; it redoes them. */
    acpi_fix_checksums(a, a->blob);
    return fw_cfg_add_file(fw, TABLES_FILE, a->blob[BLOB_TABLES]->data,
                           a->blob[BLOB_TABLES]->len, errp) &&
           fw_cfg_add_file(fw, RSDP_FILE, a->blob[BLOB_RSDP]->data,
                           a->blob[BLOB_RSDP]->len, errp) &&
           fw_cfg_add_file(fw, LOADER_FILE, script->data, script->len,
                           errp);
}

bool acpi_build(const AcpiBuildConfig *cfg, DeviceState *fw, GError **errp)
{
    AcpiBlobs *a = &acpi_last;
    uint32_t facs, dsdt, sdt[2], rsdt, xsdt;

    acpi_blobs_free(a);
    a->blob[BLOB_TABLES] = g_byte_array_new();
    a->blob[BLOB_RSDP] = g_byte_array_new();
    a->pointers = g_array_new(false, false, sizeof(AcpiPointer));
    a->checksums = g_array_new(false, false, sizeof(AcpiChecksum));
    facs = acpi_build_facs(a);
    a->facs = facs;
    dsdt = acpi_build_dsdt(a, cfg);
    sdt[0] = acpi_build_fadt(a, facs, dsdt);
    sdt[1] = acpi_build_madt(a, cfg);
    rsdt = acpi_build_sdt(a, "RSDT", 4, sdt, 2);
    xsdt = acpi_build_sdt(a, "XSDT", 8, sdt, 2);
    acpi_build_rsdp(a, rsdt, xsdt);
    if (a->blob[BLOB_TABLES]->len > ACPI_TABLES_MAX) {
        error_setg(errp, "ACPI tables too large (%u bytes)",
                   a->blob[BLOB_TABLES]->len);
        return false;
    }
    return !fw || acpi_install_fw_cfg(a, fw, errp);
}

/* Relocate copies of the blobs to their fixed addresses and write them. */
void acpi_write_tables(void)
{
    AcpiBlobs *a = &acpi_last;
    GByteArray *copy[BLOB_NB];

    if (!a->pointers) {
        return;
    }
    for (int i = 0; i < BLOB_NB; i++) {
        copy[i] = g_byte_array_new();
        g_byte_array_append(copy[i], a->blob[i]->data, a->blob[i]->len);
    }
    for (guint i = 0; i < a->pointers->len; i++) {
        AcpiPointer *p = &g_array_index(a->pointers, AcpiPointer, i);
        uint8_t *field = copy[p->dest]->data + p->offset;

        put_le(field, get_le(field, p->size) + ACPI_TABLES_ADDR, p->size);
    }
    acpi_fix_checksums(a, copy);
    address_space_write(&address_space_memory, ACPI_TABLES_ADDR,
                        copy[BLOB_TABLES]->data, copy[BLOB_TABLES]->len);
    address_space_write(&address_space_memory, ACPI_RSDP_ADDR,
                        copy[BLOB_RSDP]->data, copy[BLOB_RSDP]->len);
    a->written = true;
    for (int i = 0; i < BLOB_NB; i++) {
        g_byte_array_unref(copy[i]);
    }
}

bool acpi_facs_waking_vector(uint32_t *vector)
{
    uint64_t v;

    if (!acpi_last.written ||
        address_space_ld(&address_space_memory,
                         ACPI_TABLES_ADDR + acpi_last.facs +
                         FACS_WAKING_VECTOR, 4, &v) != MEMTX_OK) {
        return false;
    }
    *vector = v;
    return true;
}
