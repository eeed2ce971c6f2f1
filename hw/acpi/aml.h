/*
 * A small AML encoder (ACPI 6.4 chapter 20) for the few objects the
 * DSDT needs: scopes, devices, names, integers, strings, packages,
 * buffers, EISA IDs and resource templates.  Everything appends to a
 * GByteArray; a nested object is built in its own array, then wrapped.
 */
#ifndef HW_ACPI_AML_H
#define HW_ACPI_AML_H

#include "qlite/osdep.h"

/* "\\_SB_.PCI0", "_HID", "PCI0": root prefix and dotted 4-char segments. */
void aml_name_string(GByteArray *out, const char *path);
void aml_integer(GByteArray *out, uint64_t v);
void aml_string(GByteArray *out, const char *s);
void aml_eisaid(GByteArray *out, const char *id);

/* Name(@name, <value already encoded in @value>) */
void aml_name_decl(GByteArray *out, const char *name, GByteArray *value);
void aml_scope(GByteArray *out, const char *name, GByteArray *body);
void aml_device(GByteArray *out, const char *name, GByteArray *body);
/* Package with @count elements already encoded in @elems. */
void aml_package(GByteArray *out, unsigned count, GByteArray *elems);
void aml_buffer(GByteArray *out, const uint8_t *data, size_t len);

/* Resource descriptors (ACPI 6.4 6.4), appended to a template. */
void aml_res_io(GByteArray *res, uint16_t min, uint16_t max, uint8_t align,
                uint8_t len);
void aml_res_word_bus(GByteArray *res, uint16_t min, uint16_t max);
void aml_res_word_io(GByteArray *res, uint16_t min, uint16_t max);
void aml_res_dword_mem(GByteArray *res, uint32_t min, uint32_t max);
/* Close the template (end tag) and encode it as Buffer(){...}. */
void aml_resource_template(GByteArray *out, GByteArray *res);

#endif
