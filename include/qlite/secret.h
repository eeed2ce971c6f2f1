/*
 * Secrets (-object secret,id=ID,data=|file=,format=raw|base64): passwords
 * and keys given to qlite without putting them on the command line
 * (libvirt's masterKey0 comes as format=raw,file=PATH).
 */
#ifndef QLITE_SECRET_H
#define QLITE_SECRET_H

#include "qlite/osdep.h"

#define TYPE_SECRET "secret"

/*
 * A copy of the bytes of secret @id (NUL-terminated past *len for text
 * users); NULL with "No secret with id 'ID'" when there is none.
 */
uint8_t *secret_lookup(const char *id, size_t *len, GError **errp);

#endif
