/*
 * qlite-img convert: the state shared by the command (qlite-img-convert.c)
 * and its copy engine (qlite-img-convert-copy.c).
 */
#ifndef QLITE_IMG_CONVERT_H
#define QLITE_IMG_CONVERT_H

#include "qlite-img.h"

#define IMG_CHUNK (2 * MiB)

typedef struct ConvertState {
    BlockBackend **src;
    int nsrc;
    int64_t total;
    BlockBackend *dst;
    bool compress;
    bool target_zero;       /* the target reads as zeroes before the copy */
    int64_t sparse;         /* zero-detection granule; 0: write all */
    int cluster_size;
    bool progress;
    bool progress_printed;
    double progress_last;
} ConvertState;

/* Whether @len bytes at @p are all zero. */
bool img_is_zero(const uint8_t *p, size_t len);
/* Whether [off, off+len) of @bs reads as zeroes, by metadata alone. */
bool img_range_is_zero(BlockDriverState *bs, int64_t off, int64_t len);
/* Copy every source into the target; reports errors itself. */
int img_convert_copy(ConvertState *cs);

#endif
