/* Scatter lists: see include/qlite/iov.h. */
#include "qlite/iov.h"

size_t iov_size(const struct iovec *iov, unsigned n)
{
    size_t len = 0;

    for (unsigned i = 0; i < n; i++) {
        len += iov[i].iov_len;
    }
    return len;
}

unsigned iov_slice(const struct iovec *src, unsigned n, size_t skip,
                   size_t len, struct iovec *dst)
{
    unsigned out = 0;

    for (unsigned i = 0; i < n && len; i++) {
        size_t chunk;

        if (skip >= src[i].iov_len) {
            skip -= src[i].iov_len;
            continue;
        }
        chunk = MIN(src[i].iov_len - skip, len);
        dst[out].iov_base = (uint8_t *)src[i].iov_base + skip;
        dst[out].iov_len = chunk;
        out++;
        len -= chunk;
        skip = 0;
    }
    return out;
}

/* Walk @len bytes of @iov from @offset, handing each piece to @fn. */
static size_t iov_walk(const struct iovec *iov, unsigned n, size_t offset,
                       size_t len,
                       void (*fn)(void *piece, size_t done, size_t chunk,
                                  void *opaque),
                       void *opaque)
{
    size_t done = 0;

    for (unsigned i = 0; i < n && done < len; i++) {
        size_t chunk;

        if (offset >= iov[i].iov_len) {
            offset -= iov[i].iov_len;
            continue;
        }
        chunk = MIN(iov[i].iov_len - offset, len - done);
        fn((uint8_t *)iov[i].iov_base + offset, done, chunk, opaque);
        done += chunk;
        offset = 0;
    }
    return done;
}

static void copy_out(void *piece, size_t done, size_t chunk, void *buf)
{
    memcpy((uint8_t *)buf + done, piece, chunk);
}

static void copy_in(void *piece, size_t done, size_t chunk, void *buf)
{
    memcpy(piece, (const uint8_t *)buf + done, chunk);
}

size_t iov_to_buf(const struct iovec *iov, unsigned n, size_t offset,
                  void *buf, size_t len)
{
    return iov_walk(iov, n, offset, len, copy_out, buf);
}

size_t iov_from_buf(const struct iovec *iov, unsigned n, size_t offset,
                    const void *buf, size_t len)
{
    return iov_walk(iov, n, offset, len, copy_in, (void *)buf);
}

typedef struct IovDst {
    const struct iovec *iov;
    unsigned n;
    size_t off;
} IovDst;

static void copy_across(void *piece, size_t done, size_t chunk, void *opaque)
{
    IovDst *d = opaque;

    iov_from_buf(d->iov, d->n, d->off + done, piece, chunk);
}

void iov_copy(const struct iovec *dst, unsigned dn, size_t doff,
              const struct iovec *src, unsigned sn, size_t soff, size_t len)
{
    IovDst d = { dst, dn, doff };

    iov_walk(src, sn, soff, len, copy_across, &d);
}
