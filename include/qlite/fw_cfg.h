/*
 * QEMU's firmware configuration device (docs/specs/fw_cfg.rst): numbered
 * items and named files that firmware (SeaBIOS) and the Linux kernel's
 * qemu_fw_cfg driver read through I/O ports 0x510/0x511 or DMA at 0x514.
 *
 * The board creates the device and adds the machine's items; a kernel
 * loader adds the kernel, initrd and command-line items.
 */
#ifndef QLITE_FW_CFG_H
#define QLITE_FW_CFG_H

#include "qlite/qdev.h"

#define TYPE_FW_CFG_IO "fw_cfg_io"

/* Item keys (fw_cfg.rst "Selector Register"). */
enum {
    FW_CFG_SIGNATURE = 0x00,
    FW_CFG_ID = 0x01,
    FW_CFG_UUID = 0x02,
    FW_CFG_RAM_SIZE = 0x03,
    FW_CFG_NOGRAPHIC = 0x04,
    FW_CFG_NB_CPUS = 0x05,
    FW_CFG_MACHINE_ID = 0x06,
    FW_CFG_KERNEL_ADDR = 0x07,
    FW_CFG_KERNEL_SIZE = 0x08,
    FW_CFG_KERNEL_CMDLINE = 0x09,
    FW_CFG_INITRD_ADDR = 0x0a,
    FW_CFG_INITRD_SIZE = 0x0b,
    FW_CFG_BOOT_DEVICE = 0x0c,
    FW_CFG_NUMA = 0x0d,
    FW_CFG_BOOT_MENU = 0x0e,
    FW_CFG_MAX_CPUS = 0x0f,
    FW_CFG_KERNEL_ENTRY = 0x10,
    FW_CFG_KERNEL_DATA = 0x11,
    FW_CFG_INITRD_DATA = 0x12,
    FW_CFG_CMDLINE_ADDR = 0x13,
    FW_CFG_CMDLINE_SIZE = 0x14,
    FW_CFG_CMDLINE_DATA = 0x15,
    FW_CFG_SETUP_ADDR = 0x16,
    FW_CFG_SETUP_SIZE = 0x17,
    FW_CFG_SETUP_DATA = 0x18,
    FW_CFG_FILE_DIR = 0x19,
    FW_CFG_FILE_FIRST = 0x20,
    FW_CFG_FILE_SLOTS = 0x20,
    FW_CFG_WRITE_CHANNEL = 0x4000,
    FW_CFG_ARCH_LOCAL = 0x8000,
    FW_CFG_ACPI_TABLES = FW_CFG_ARCH_LOCAL + 0,
    FW_CFG_SMBIOS_ENTRIES = FW_CFG_ARCH_LOCAL + 1,
    FW_CFG_IRQ0_OVERRIDE = FW_CFG_ARCH_LOCAL + 2,
    FW_CFG_E820_TABLE = FW_CFG_ARCH_LOCAL + 3,
    FW_CFG_HPET = FW_CFG_ARCH_LOCAL + 4,
};

#define FW_CFG_MAX_FILE_PATH 56
#define FW_CFG_IO_BASE      0x510
#define FW_CFG_DMA_IO_BASE  0x514

/* The fw_cfg device of this machine, or NULL. */
DeviceState *fw_cfg_find(void);

/* Items: the data is copied; adding a key again replaces it. */
void fw_cfg_add_bytes(DeviceState *fw, uint16_t key, const void *data,
                      size_t len);
void fw_cfg_add_string(DeviceState *fw, uint16_t key, const char *value);
void fw_cfg_add_i16(DeviceState *fw, uint16_t key, uint16_t value);
void fw_cfg_add_i32(DeviceState *fw, uint16_t key, uint32_t value);
void fw_cfg_add_i64(DeviceState *fw, uint16_t key, uint64_t value);
/*
 * Files appear in the directory sorted by name; the same name again
 * replaces the data.  False with errp set when the directory is full or
 * the name too long.
 */
bool fw_cfg_add_file(DeviceState *fw, const char *name, const void *data,
                     size_t len, GError **errp);
/* A file's current contents (for tests and the ACPI writer). */
const void *fw_cfg_get_file(DeviceState *fw, const char *name, size_t *len);

#endif
