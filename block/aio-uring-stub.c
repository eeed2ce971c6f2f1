/*
 * Without liburing every asynchronous request goes through the worker
 * pool (block-backend.c).
 */
#include "block_int.h"

bool aio_uring_submit(int fd, bool write, int64_t offset,
                      const struct iovec *iov, int niov, AioUringFunc *cb,
                      void *opaque)
{
    return false;
}

bool aio_uring_available(void)
{
    return false;
}
