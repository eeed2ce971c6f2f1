/*
 * The e1000's serial EEPROM: a 64-word Microwire part (93C46-style) the
 * driver bit-bangs through EECD, or reads a word at a time through EERD
 * (SDM 5.2, 5.6, 13.4.3).  Pure: the device passes pin levels in and
 * reads DO back.  Internal to hw/net/e1000*.
 */
#ifndef HW_NET_E1000_EEPROM_H
#define HW_NET_E1000_EEPROM_H

#include "qlite/osdep.h"

#define E1000_EEPROM_WORDS      64
#define E1000_EEPROM_ADDR_BITS  6
#define E1000_EEPROM_SUM        0xbaba  /* words 0..3fh add up to this */
#define E1000_EEPROM_CSUM_WORD  0x3f

typedef struct E1000Eeprom {
    uint16_t data[E1000_EEPROM_WORDS];
    /* the Microwire serial state, reset when CS drops */
    bool cs;
    bool sk;
    bool started;           /* the start bit (a 1) came in */
    unsigned bits_in;       /* opcode and address bits after it */
    uint16_t cmd;
    bool reading;
    unsigned bits_out;      /* data bits shifted out by READ so far */
    uint8_t addr;
    bool dout;
} E1000Eeprom;

typedef struct E1000EepromIds {
    uint16_t device_id;
    uint16_t vendor_id;
    uint16_t subsystem_id;
    uint16_t subsystem_vendor_id;
} E1000EepromIds;

/* The image: @mac, the IDs, defaults, and the checksum word. */
void e1000_eeprom_init(E1000Eeprom *e, const uint8_t *mac,
                       const E1000EepromIds *ids);
/* The pins as the driver set them in EECD (SK, CS, DI). */
void e1000_eeprom_set_pins(E1000Eeprom *e, bool cs, bool sk, bool di);
/* The DO pin. */
bool e1000_eeprom_dout(const E1000Eeprom *e);
/* One word, for EERD; all ones past the end. */
uint16_t e1000_eeprom_word(const E1000Eeprom *e, unsigned addr);
/* The 16-bit sum of every word (E1000_EEPROM_SUM when valid). */
uint16_t e1000_eeprom_sum(const E1000Eeprom *e);

#endif
