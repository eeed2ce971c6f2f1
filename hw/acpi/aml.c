/*
 * AML encoding (ACPI 6.4 chapter 20, "ACPI Machine Language
 * Specification").
 */
#include "aml.h"

#define AML_ZERO_OP         0x00
#define AML_ONE_OP          0x01
#define AML_NAME_OP         0x08
#define AML_BYTE_PREFIX     0x0a
#define AML_WORD_PREFIX     0x0b
#define AML_DWORD_PREFIX    0x0c
#define AML_STRING_PREFIX   0x0d
#define AML_QWORD_PREFIX    0x0e
#define AML_SCOPE_OP        0x10
#define AML_BUFFER_OP       0x11
#define AML_PACKAGE_OP      0x12
#define AML_EXT_OP_PREFIX   0x5b
#define AML_DEVICE_OP       0x82
#define AML_ONES_OP         0xff
#define AML_ROOT_CHAR       0x5c
#define AML_DUAL_NAME       0x2e
#define AML_MULTI_NAME      0x2f

static void aml_byte(GByteArray *out, uint8_t b)
{
    g_byte_array_append(out, &b, 1);
}

static void aml_le(GByteArray *out, uint64_t v, int n)
{
    for (int i = 0; i < n; i++, v >>= 8) {
        aml_byte(out, v & 0xff);
    }
}

/* One NameSeg: up to four characters, padded with '_'. */
static void aml_name_seg(GByteArray *out, const char *seg, size_t len)
{
    g_assert(len >= 1 && len <= 4);
    for (size_t i = 0; i < 4; i++) {
        aml_byte(out, i < len ? seg[i] : '_');
    }
}

void aml_name_string(GByteArray *out, const char *path)
{
    g_auto(GStrv) segs = NULL;
    guint n;

    if (*path == '\\') {
        aml_byte(out, AML_ROOT_CHAR);
        path++;
    }
    segs = g_strsplit(path, ".", -1);
    n = g_strv_length(segs);
    if (n == 2) {
        aml_byte(out, AML_DUAL_NAME);
    } else if (n > 2) {
        aml_byte(out, AML_MULTI_NAME);
        aml_byte(out, n);
    }
    for (guint i = 0; i < n; i++) {
        aml_name_seg(out, segs[i], strlen(segs[i]));
    }
}

void aml_integer(GByteArray *out, uint64_t v)
{
    if (v == 0) {
        aml_byte(out, AML_ZERO_OP);
    } else if (v == 1) {
        aml_byte(out, AML_ONE_OP);
    } else if (v <= 0xff) {
        aml_byte(out, AML_BYTE_PREFIX);
        aml_le(out, v, 1);
    } else if (v <= 0xffff) {
        aml_byte(out, AML_WORD_PREFIX);
        aml_le(out, v, 2);
    } else if (v <= 0xffffffff) {
        aml_byte(out, AML_DWORD_PREFIX);
        aml_le(out, v, 4);
    } else {
        aml_byte(out, AML_QWORD_PREFIX);
        aml_le(out, v, 8);
    }
}

void aml_string(GByteArray *out, const char *s)
{
    aml_byte(out, AML_STRING_PREFIX);
    g_byte_array_append(out, (const guint8 *)s, strlen(s) + 1);
}

/* "PNP0A03": three letters in 5-bit codes, then four hex digits. */
void aml_eisaid(GByteArray *out, const char *id)
{
    uint32_t v;

    g_assert(strlen(id) == 7);
    v = ((uint32_t)(id[0] - '@') << 26) | ((uint32_t)(id[1] - '@') << 21) |
        ((uint32_t)(id[2] - '@') << 16) | (uint32_t)strtoul(id + 3, NULL, 16);
    /* Stored big-endian as a DWord. */
    aml_byte(out, AML_DWORD_PREFIX);
    aml_byte(out, v >> 24);
    aml_byte(out, v >> 16);
    aml_byte(out, v >> 8);
    aml_byte(out, v);
}

/*
 * PkgLength (20.2.4): counts itself.  One byte holds up to 63; longer
 * ones take 1-3 more bytes, the lead byte's bits 7:6 saying how many.
 */
static void aml_pkg_length(GByteArray *out, size_t body)
{
    size_t total;
    int extra;

    if (body + 1 <= 63) {
        aml_byte(out, body + 1);
        return;
    }
    for (extra = 1; extra <= 3; extra++) {
        total = body + 1 + extra;
        if (total < ((size_t)1 << (4 + 8 * extra))) {
            break;
        }
    }
    g_assert(extra <= 3);
    aml_byte(out, (extra << 6) | (total & 0xf));
    for (int i = 0; i < extra; i++) {
        aml_byte(out, (total >> (4 + 8 * i)) & 0xff);
    }
}

static void aml_wrap(GByteArray *out, const uint8_t *op, size_t oplen,
                     GByteArray *body)
{
    g_byte_array_append(out, op, oplen);
    aml_pkg_length(out, body->len);
    g_byte_array_append(out, body->data, body->len);
}

void aml_name_decl(GByteArray *out, const char *name, GByteArray *value)
{
    aml_byte(out, AML_NAME_OP);
    aml_name_string(out, name);
    g_byte_array_append(out, value->data, value->len);
}

void aml_scope(GByteArray *out, const char *name, GByteArray *body)
{
    static const uint8_t op[] = { AML_SCOPE_OP };
    g_autoptr(GByteArray) b = g_byte_array_new();

    aml_name_string(b, name);
    g_byte_array_append(b, body->data, body->len);
    aml_wrap(out, op, sizeof(op), b);
}

void aml_device(GByteArray *out, const char *name, GByteArray *body)
{
    static const uint8_t op[] = { AML_EXT_OP_PREFIX, AML_DEVICE_OP };
    g_autoptr(GByteArray) b = g_byte_array_new();

    aml_name_string(b, name);
    g_byte_array_append(b, body->data, body->len);
    aml_wrap(out, op, sizeof(op), b);
}

void aml_package(GByteArray *out, unsigned count, GByteArray *elems)
{
    static const uint8_t op[] = { AML_PACKAGE_OP };
    g_autoptr(GByteArray) b = g_byte_array_new();

    g_assert(count <= 255);
    aml_byte(b, count);
    g_byte_array_append(b, elems->data, elems->len);
    aml_wrap(out, op, sizeof(op), b);
}

void aml_buffer(GByteArray *out, const uint8_t *data, size_t len)
{
    static const uint8_t op[] = { AML_BUFFER_OP };
    g_autoptr(GByteArray) b = g_byte_array_new();

    aml_integer(b, len);
    g_byte_array_append(b, data, len);
    aml_wrap(out, op, sizeof(op), b);
}

/* ------------------------------------------------------------------------
 * Resource descriptors
 */

void aml_res_io(GByteArray *res, uint16_t min, uint16_t max, uint8_t align,
                uint8_t len)
{
    aml_byte(res, 0x47);            /* small item: I/O port, 7 bytes */
    aml_byte(res, 0x01);            /* 16-bit decode */
    aml_le(res, min, 2);
    aml_le(res, max, 2);
    aml_byte(res, align);
    aml_byte(res, len);
}

/*
 * Word address space descriptor (6.4.3.5.3): producer with fixed min and
 * max, positive decode.
 */
static void aml_res_word(GByteArray *res, uint8_t type, uint8_t tflags,
                         uint16_t min, uint16_t max)
{
    aml_byte(res, 0x88);
    aml_le(res, 13, 2);
    aml_byte(res, type);
    aml_byte(res, 0x0c);            /* _MIF | _MAF */
    aml_byte(res, tflags);
    aml_le(res, 0, 2);              /* granularity */
    aml_le(res, min, 2);
    aml_le(res, max, 2);
    aml_le(res, 0, 2);              /* translation */
    aml_le(res, (uint32_t)max - min + 1, 2);
}

void aml_res_word_bus(GByteArray *res, uint16_t min, uint16_t max)
{
    aml_res_word(res, 2, 0, min, max);
}

void aml_res_word_io(GByteArray *res, uint16_t min, uint16_t max)
{
    aml_res_word(res, 1, 0x03, min, max);   /* ISA and non-ISA ranges */
}

/* DWord memory descriptor (6.4.3.5.2): cacheable, read/write. */
void aml_res_dword_mem(GByteArray *res, uint32_t min, uint32_t max)
{
    aml_byte(res, 0x87);
    aml_le(res, 23, 2);
    aml_byte(res, 0);               /* memory range */
    aml_byte(res, 0x0c);
    aml_byte(res, 0x03);            /* cacheable, read/write */
    aml_le(res, 0, 4);
    aml_le(res, min, 4);
    aml_le(res, max, 4);
    aml_le(res, 0, 4);
    aml_le(res, (uint64_t)max - min + 1, 4);
}

void aml_resource_template(GByteArray *out, GByteArray *res)
{
    aml_byte(res, 0x79);            /* end tag */
    aml_byte(res, 0x00);            /* checksum 0: "treat as correct" */
    aml_buffer(out, res->data, res->len);
}
