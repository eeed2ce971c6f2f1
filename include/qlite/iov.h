/*
 * Scatter lists (struct iovec arrays): their size, a slice of one as
 * another, and copies between them and flat buffers.  Shared by the
 * block layer, virtio and the network core.
 */
#ifndef QLITE_IOV_H
#define QLITE_IOV_H

#include "qlite/osdep.h"

#include <sys/uio.h>

size_t iov_size(const struct iovec *iov, unsigned n);
/* The [skip, skip+len) part of @src as entries of @dst; returns their count. */
unsigned iov_slice(const struct iovec *src, unsigned n, size_t skip,
                   size_t len, struct iovec *dst);
/* Copy between a scatter list at @offset and a flat buffer; bytes copied. */
size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset,
                  void *buf, size_t len);
size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset,
                    const void *buf, size_t len);
/* Copy @len bytes of @src from @soff into @dst at @doff. */
void iov_copy(const struct iovec *dst, unsigned dn, size_t doff,
              const struct iovec *src, unsigned sn, size_t soff, size_t len);

#endif
