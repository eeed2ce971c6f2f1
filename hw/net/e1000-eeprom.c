/*
 * The e1000's Microwire EEPROM (see e1000-eeprom.h).
 *
 * A READ, as the driver clocks it (SDM 5.2.2), one bit per rising SK edge
 * with CS high: a start bit 1, the opcode 10b, six address bits MSB
 * first; the part then shifts the word out MSB first on DO, one bit per
 * following rising edge, and goes on to the next word while the driver
 * keeps clocking.  Other opcodes (write, erase, enable) are taken and
 * ignored: the image is read-only, as FWE's power-on value says.
 */
#include "e1000-eeprom.h"

#define EE_OP_READ          2
#define EE_CMD_BITS         (2 + E1000_EEPROM_ADDR_BITS)

/* Word offsets of the EEPROM map (SDM 5.6, table 5-2). */
#define EE_MAC              0x00    /* three words */
#define EE_LED_SETTINGS     0x04
#define EE_INIT_CTRL1       0x0a
#define   EE_INIT_CTRL1_SIGNATURE 0x4000   /* bits 15:14 = 01b */
#define EE_SUBSYSTEM_ID     0x0b
#define EE_SUBSYSTEM_VENDOR 0x0c
#define EE_DEVICE_ID        0x0d
#define EE_VENDOR_ID        0x0e
#define EE_INIT_CTRL2       0x0f
#define   EE_INIT_CTRL2_PAUSE 0x3000       /* symmetric and asym. pause */

uint16_t e1000_eeprom_sum(const E1000Eeprom *e)
{
    uint16_t sum = 0;

    for (unsigned i = 0; i < E1000_EEPROM_WORDS; i++) {
        sum += e->data[i];
    }
    return sum;
}

void e1000_eeprom_init(E1000Eeprom *e, const uint8_t *mac,
                       const E1000EepromIds *ids)
{
    memset(e, 0, sizeof(*e));
    for (unsigned i = 0; i < 3; i++) {
        e->data[EE_MAC + i] = mac[2 * i] | (mac[2 * i + 1] << 8);
    }
    e->data[EE_LED_SETTINGS] = 0xffff;  /* "use the default LED modes" */
    e->data[EE_INIT_CTRL1] = EE_INIT_CTRL1_SIGNATURE;
    e->data[EE_SUBSYSTEM_ID] = ids->subsystem_id;
    e->data[EE_SUBSYSTEM_VENDOR] = ids->subsystem_vendor_id;
    e->data[EE_DEVICE_ID] = ids->device_id;
    e->data[EE_VENDOR_ID] = ids->vendor_id;
    e->data[EE_INIT_CTRL2] = EE_INIT_CTRL2_PAUSE;
    e->data[E1000_EEPROM_CSUM_WORD] = E1000_EEPROM_SUM - e1000_eeprom_sum(e);
}

uint16_t e1000_eeprom_word(const E1000Eeprom *e, unsigned addr)
{
    return addr < E1000_EEPROM_WORDS ? e->data[addr] : 0xffff;
}

bool e1000_eeprom_dout(const E1000Eeprom *e)
{
    return e->dout;
}

static void eeprom_idle(E1000Eeprom *e)
{
    e->started = false;
    e->bits_in = 0;
    e->cmd = 0;
    e->reading = false;
    e->bits_out = 0;
    e->dout = false;
}

/* The next data bit of a READ, running on through the following words. */
static bool eeprom_next_bit(E1000Eeprom *e)
{
    unsigned word = (e->addr + e->bits_out / 16) % E1000_EEPROM_WORDS;
    unsigned bit = 15 - e->bits_out % 16;

    e->bits_out = (e->bits_out + 1) % (16 * E1000_EEPROM_WORDS);
    return (e->data[word] >> bit) & 1;
}

static void eeprom_clock(E1000Eeprom *e, bool di)
{
    if (e->reading) {
        e->dout = eeprom_next_bit(e);
        return;
    }
    if (!e->started) {
        e->started = di;        /* leading zeros are not a command yet */
        return;
    }
    if (e->bits_in >= EE_CMD_BITS) {
        return;                 /* a command we ignore, until CS drops */
    }
    e->cmd = (e->cmd << 1) | di;
    if (++e->bits_in == EE_CMD_BITS &&
        e->cmd >> E1000_EEPROM_ADDR_BITS == EE_OP_READ) {
        e->reading = true;
        e->addr = e->cmd & (E1000_EEPROM_WORDS - 1);
        e->dout = false;        /* the dummy 0 before the data */
    }
}

void e1000_eeprom_set_pins(E1000Eeprom *e, bool cs, bool sk, bool di)
{
    bool rising = sk && !e->sk;

    e->sk = sk;
    if (!cs) {
        e->cs = false;
        eeprom_idle(e);
        return;
    }
    e->cs = true;
    if (rising) {
        eeprom_clock(e, di);
    }
}
