/*
 * The null backend: swallows output, never produces input.
 */
#include "qlite/chardev.h"
#include "char-internal.h"

static bool char_null_open(Chardev *chr, QliteOpts *opts, GError **errp)
{
    return true;
}

static int char_null_write(Chardev *chr, const uint8_t *buf, int len)
{
    return len;
}

static void char_null_class_init(ObjectClass *oc, const void *data)
{
    ChardevClass *cc = (ChardevClass *)oc;

    cc->backend = "null";
    cc->open = char_null_open;
    cc->write = char_null_write;
}

static const TypeInfo char_null_info = {
    .name = "chardev-null",
    .parent = TYPE_CHARDEV,
    .instance_size = sizeof(Chardev),
    .class_size = sizeof(ChardevClass),
    .class_init = char_null_class_init,
};

type_init(char_null_register_types)
{
    type_register(&char_null_info);
}
