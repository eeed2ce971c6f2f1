/*
 * The MC146818 RTC/CMOS as the board sees it: the CMOS bytes firmware
 * and kernels read for the memory size and CPU count.
 */
#ifndef QLITE_RTC_H
#define QLITE_RTC_H

#include "qlite/qdev.h"

#define TYPE_MC146818_RTC "mc146818rtc"
#define RTC_ISA_IRQ 8
/* The shutdown status byte: 0xfe tells PC firmware to resume from S3. */
#define RTC_CMOS_SHUTDOWN_STATUS    0x0f
#define RTC_SHUTDOWN_S3_RESUME      0xfe

/* One byte of CMOS memory (0x0e..0x7f); the clock registers are not. */
void rtc_set_cmos(DeviceState *rtc, unsigned addr, uint8_t val);
uint8_t rtc_get_cmos(DeviceState *rtc, unsigned addr);

/*
 * The PC's memory-size, CPU-count, equipment and boot-order bytes as
 * QEMU's pc machine sets them (base memory, extended memory 0x17/0x30,
 * memory above 16 MiB 0x34, above 4 GiB 0x5b, CPUs 0x5f).
 */
void rtc_set_pc_config(DeviceState *rtc, uint64_t below_4g,
                       uint64_t above_4g, unsigned cpus);

#endif
