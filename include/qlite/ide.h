/*
 * IDE: the PIIX3's IDE function (PCI 00:01.1, 8086:7010) with two legacy
 * channels, each an IDE bus ("ide.0", "ide.1") of two units (master,
 * slave), and the devices that plug into them: "ide-hd" (an ATA disk)
 * and "ide-cd" (an ATAPI CD/DVD-ROM drive).
 *
 *   primary   ports 0x1f0-0x1f7, 0x3f6, ISA IRQ 14, bus master BAR4+0
 *   secondary ports 0x170-0x177, 0x376, ISA IRQ 15, bus master BAR4+8
 */
#ifndef QLITE_IDE_H
#define QLITE_IDE_H

#include "qlite/pci.h"

#define TYPE_PIIX3_IDE  "piix3-ide"
#define TYPE_IDE_BUS    "IDE"
#define TYPE_IDE_DEVICE "ide-device"
#define TYPE_IDE_HD     "ide-hd"
#define TYPE_IDE_CD     "ide-cd"

#define IDE_NUM_BUSES   2
#define IDE_NUM_UNITS   2

/* Channel @n (0 or 1) of a PIIX3 IDE function, as a qdev bus. */
BusState *piix3_ide_bus(PCIDevice *ide, int n);

/*
 * Attach the command line's if=ide drives (drive_get(IF_IDE, bus, unit))
 * to @ide's channels: a disk as ide-hd, a media=cdrom drive as ide-cd.
 */
bool piix3_ide_attach_drives(PCIDevice *ide, GError **errp);

#endif
