/*
 * The "secret" object: bytes from data= or from file=, in format=raw or
 * base64 (decoded once loaded).  Secrets encrypted with keyid=/iv=
 * (AES-256-CBC under another secret) are refused: qlite carries no cipher.
 */
#include "qlite/error.h"
#include "qlite/secret.h"
#include "qlite/user-creatable.h"

typedef struct Secret {
    UserCreatable parent;
    char *data;
    char *file;
    char *format;               /* "raw" (default) or "base64" */
    char *keyid;
    char *iv;
    bool loaded;
    uint8_t *bytes;             /* the secret, once loaded */
    size_t len;
} Secret;

#define SECRET(obj) OBJECT_CHECK(Secret, (obj), TYPE_SECRET)

static bool secret_base64_valid(const char *s)
{
    size_t n = strlen(s);

    if (n % 4) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        if (!g_ascii_isalnum(s[i]) && s[i] != '+' && s[i] != '/' &&
            !(s[i] == '=' && i >= n - 2)) {
            return false;
        }
    }
    return true;
}

/* The raw input: data= or the whole of file=. */
static bool secret_read_input(Secret *s, char **text, size_t *len,
                              GError **errp)
{
    g_autoptr(GError) err = NULL;

    if (s->data && s->file) {
        error_setg(errp, "'data' and 'file' are mutually exclusive");
        return false;
    }
    if (s->data) {
        *text = g_strdup(s->data);
        *len = strlen(s->data);
        return true;
    }
    if (!s->file) {
        error_setg(errp, "Either 'file' or 'data' must be provided");
        return false;
    }
    if (!g_file_get_contents(s->file, text, len, &err)) {
        error_setg(errp, "Unable to read %s: %s", s->file, err->message);
        return false;
    }
    return true;
}

static bool secret_decode(Secret *s, char *text, size_t len, GError **errp)
{
    gsize n;

    if (strcmp(s->format, "base64")) {
        s->bytes = g_malloc(len + 1);
        memcpy(s->bytes, text, len);
        s->bytes[len] = 0;
        s->len = len;
        return true;
    }
    if (strlen(text) != len || !secret_base64_valid(text)) {
        error_setg(errp, "Base64 data of secret is not valid");
        return false;
    }
    s->bytes = g_base64_decode(text, &n);
    s->bytes = g_realloc(s->bytes, n + 1);
    s->bytes[n] = 0;
    s->len = n;
    return true;
}

static bool secret_complete(Object *obj, GError **errp)
{
    Secret *s = SECRET(obj);
    g_autofree char *text = NULL;
    size_t len;

    if (strcmp(s->format, "raw") && strcmp(s->format, "base64")) {
        error_setg(errp, "Parameter 'format' does not accept value '%s'",
                   s->format);
        return false;
    }
    if (s->keyid || s->iv) {
        error_setg(errp, "secret: keyid/iv (AES-256-CBC encrypted "
                   "secrets) are not supported by qlite");
        return false;
    }
    if (!secret_read_input(s, &text, &len, errp) ||
        !secret_decode(s, text, len, errp)) {
        return false;
    }
    if (text) {
        explicit_bzero(text, len);
    }
    s->loaded = true;
    return true;
}

uint8_t *secret_lookup(const char *id, size_t *len, GError **errp)
{
    Object *obj = user_creatable_find_type(id, TYPE_SECRET);
    Secret *s;

    if (!obj) {
        error_setg(errp, "No secret with id '%s'", id);
        return NULL;
    }
    s = SECRET(obj);
    *len = s->len;
    return g_memdup2(s->bytes, s->len + 1);
}

static char *secret_loaded_get(Object *obj, ObjectProperty *prop,
                               GError **errp)
{
    return g_strdup(SECRET(obj)->loaded ? "on" : "off");
}

static void secret_init(Object *obj)
{
    Secret *s = SECRET(obj);

    s->format = g_strdup("raw");
    user_creatable_prop_str(obj, "iv", "string", &s->iv);
    user_creatable_prop_str(obj, "keyid", "string", &s->keyid);
    object_property_add(obj, "loaded", "bool", secret_loaded_get, NULL,
                        NULL);
    user_creatable_prop_str(obj, "format", "QCryptoSecretFormat",
                            &s->format);
    user_creatable_prop_str(obj, "file", "string", &s->file);
    user_creatable_prop_str(obj, "data", "string", &s->data);
}

static void secret_finalize(Object *obj)
{
    Secret *s = SECRET(obj);

    if (s->bytes) {
        explicit_bzero(s->bytes, s->len);
    }
    if (s->data) {
        explicit_bzero(s->data, strlen(s->data));
    }
    g_free(s->bytes);
    g_free(s->data);
    g_free(s->file);
    g_free(s->format);
    g_free(s->keyid);
    g_free(s->iv);
}

static void secret_class_init(ObjectClass *oc, const void *data)
{
    ((UserCreatableClass *)oc)->complete = secret_complete;
}

static const TypeInfo secret_info = {
    .name = TYPE_SECRET,
    .parent = TYPE_USER_CREATABLE,
    .instance_size = sizeof(Secret),
    .class_size = sizeof(UserCreatableClass),
    .instance_init = secret_init,
    .instance_finalize = secret_finalize,
    .class_init = secret_class_init,
};

type_init(secret_register_types)
{
    type_register(&secret_info);
}
