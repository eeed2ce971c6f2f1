/*
 * The 8259A pair without a machine: what qtest cannot reach, the CPU's
 * interrupt acknowledge cycle (i8259_acknowledge), with its vectors and
 * the spurious IRQ 7 / IRQ 15 cases.  Ports are driven through the I/O
 * address space, the INT output lands in a local handler.
 */
#include "qlite/i8259.h"
#include "qlite/isa.h"
#include "qlite/memory.h"

typedef struct Fixture {
    DeviceState *pic;
    IrqLine *int_line;
    int int_level;
    int int_changes;
} Fixture;

static void fixture_int(void *opaque, int n, int level)
{
    Fixture *f = opaque;

    if (level != f->int_level) {
        f->int_changes++;
    }
    f->int_level = level;
}

static void outb(uint16_t port, uint8_t val)
{
    g_assert_cmpint(address_space_st(&address_space_io, port, 1, val), ==,
                    MEMTX_OK);
}

static uint8_t inb(uint16_t port)
{
    uint64_t val = 0;

    g_assert_cmpint(address_space_ld(&address_space_io, port, 1, &val), ==,
                    MEMTX_OK);
    return val;
}

/* The PC BIOS setup: vectors 0x08 and 0x70, slave on IR2, 8086 mode. */
static void pic_init_pc(uint8_t icw4)
{
    outb(0x20, 0x11);
    outb(0x21, 0x08);
    outb(0x21, 0x04);
    outb(0x21, icw4);
    outb(0xa0, 0x11);
    outb(0xa1, 0x70);
    outb(0xa1, 0x02);
    outb(0xa1, icw4);
    outb(0x21, 0x00);
    outb(0xa1, 0x00);
}

static void set_line(Fixture *f, int irq, int level)
{
    irq_set(qdev_get_gpio_in(f->pic, irq), level);
}

static uint8_t read_isr(uint16_t cmd)
{
    outb(cmd, 0x0b);
    return inb(cmd);
}

static void fixture_setup(Fixture *f, gconstpointer data)
{
    static ISABus *bus;
    GError *err = NULL;

    if (!bus) {
        memory_system_init();
        bus = isa_bus_new(NULL, get_system_io());
    }
    memset(f, 0, sizeof(*f));
    f->pic = qdev_new(TYPE_I8259);
    g_assert_true(qdev_realize(f->pic, BUS(bus), &err));
    g_assert_no_error(err);
    f->int_line = irq_new(fixture_int, f, 0);
    qdev_connect_gpio_out(f->pic, 0, f->int_line);
    pic_init_pc(0x01);
}

static void fixture_teardown(Fixture *f, gconstpointer data)
{
    qdev_unrealize(f->pic);
    object_unref(OBJECT(f->pic));
    irq_free(f->int_line);
}

static void test_ack_master(Fixture *f, gconstpointer data)
{
    set_line(f, 4, 1);
    g_assert_cmpint(f->int_level, ==, 1);
    g_assert_cmpint(i8259_acknowledge(f->pic), ==, 0x08 + 4);
    g_assert_cmpint(f->int_level, ==, 0);
    g_assert_cmphex(read_isr(0x20), ==, 0x10);
    outb(0x20, 0x20);
    g_assert_cmphex(read_isr(0x20), ==, 0x00);
}

static void test_ack_order(Fixture *f, gconstpointer data)
{
    set_line(f, 6, 1);
    set_line(f, 1, 1);
    g_assert_cmpint(i8259_acknowledge(f->pic), ==, 0x09);
    /* 6 waits behind 1 until the EOI */
    g_assert_cmpint(f->int_level, ==, 0);
    outb(0x20, 0x20);
    g_assert_cmpint(f->int_level, ==, 1);
    g_assert_cmpint(i8259_acknowledge(f->pic), ==, 0x0e);
}

static void test_ack_slave(Fixture *f, gconstpointer data)
{
    set_line(f, 14, 1);
    g_assert_cmpint(f->int_level, ==, 1);
    g_assert_cmpint(i8259_acknowledge(f->pic), ==, 0x70 + 6);
    g_assert_cmphex(read_isr(0x20), ==, 0x04);
    g_assert_cmphex(read_isr(0xa0), ==, 0x40);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    g_assert_cmphex(read_isr(0x20), ==, 0x00);
    g_assert_cmphex(read_isr(0xa0), ==, 0x00);
}

static void test_spurious_master(Fixture *f, gconstpointer data)
{
    /* INTA with nothing pending: IRQ 7's vector, nothing in service. */
    g_assert_cmpint(i8259_acknowledge(f->pic), ==, 0x0f);
    g_assert_cmphex(read_isr(0x20), ==, 0x00);
}

static void test_spurious_slave(Fixture *f, gconstpointer data)
{
    /* A level request on the slave drops before INTA: IRQ 15's vector. */
    outb(0x4d1, 0x10);
    set_line(f, 12, 1);
    set_line(f, 12, 0);
    g_assert_cmpint(i8259_acknowledge(f->pic), ==, 0x77);
    g_assert_cmphex(read_isr(0xa0), ==, 0x00);
    /* the master did see the cascade: it needs its EOI */
    g_assert_cmphex(read_isr(0x20), ==, 0x04);
    outb(0x20, 0x20);
    g_assert_cmphex(read_isr(0x20), ==, 0x00);
}

static void test_auto_eoi_rotate(Fixture *f, gconstpointer data)
{
    pic_init_pc(0x03);
    outb(0x20, 0x80);               /* rotate in automatic EOI mode */
    set_line(f, 3, 1);
    set_line(f, 5, 1);
    g_assert_cmpint(i8259_acknowledge(f->pic), ==, 0x0b);
    g_assert_cmphex(read_isr(0x20), ==, 0x00);
    /* 3 became the lowest priority: a new 3 loses to 5 */
    set_line(f, 3, 0);
    set_line(f, 3, 1);
    g_assert_cmpint(i8259_acknowledge(f->pic), ==, 0x0d);
    g_assert_cmpint(i8259_acknowledge(f->pic), ==, 0x0b);
}

static void test_reset(Fixture *f, gconstpointer data)
{
    set_line(f, 4, 1);
    g_assert_cmpint(f->int_level, ==, 1);
    qdev_reset(f->pic);
    g_assert_cmpint(f->int_level, ==, 0);
    g_assert_cmphex(inb(0x21), ==, 0x00);
    g_assert_cmphex(inb(0x20), ==, 0x00);
    g_assert_cmphex(inb(0x4d0), ==, 0x00);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    qlite_register_all_types();
#define ADD(path, fn) \
    g_test_add("/i8259/" path, Fixture, NULL, fixture_setup, fn, \
               fixture_teardown)
    ADD("ack-master", test_ack_master);
    ADD("ack-order", test_ack_order);
    ADD("ack-slave", test_ack_slave);
    ADD("spurious-master", test_spurious_master);
    ADD("spurious-slave", test_spurious_slave);
    ADD("auto-eoi-rotate", test_auto_eoi_rotate);
    ADD("reset", test_reset);
    return g_test_run();
}
