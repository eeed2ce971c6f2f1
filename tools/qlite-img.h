/*
 * qlite-img: shared helpers of the subcommands.
 */
#ifndef QLITE_IMG_H
#define QLITE_IMG_H

#include "../block/block_int.h"

#include <getopt.h>

/* Open an image for a subcommand; reports the error itself. */
BlockBackend *img_open(const char *filename, const char *fmt, int flags,
                       const char *cache, bool quiet);
/* QEMU's human sizes: "%0.3g" in the largest unit under 1000. */
char *img_size_to_str(uint64_t val);
/* Parse a size argument ("1G", "512") or report and return false. */
bool img_parse_size(const char *s, uint64_t *out);
/* A -o option list merged into @opts; "help" is rejected. */
bool img_parse_o(QliteOpts *opts, const char *optstr);
void img_print_progress(double pct, bool *printed, double *last);

/* One run of qemu-img map: [start, start + length) at one depth. */
typedef struct MapEntry {
    int64_t start, length, offset;
    int depth, flags;       /* BDRV_BLOCK_DATA, BDRV_BLOCK_ZERO */
    bool present, has_offset;
    const char *file;
} MapEntry;

/* The run at @off (at most @len) through the backing chain, or -errno;
 * what reads as zeroes has BDRV_BLOCK_ZERO in flags. */
int img_map_get(BlockDriverState *bs, int64_t off, int64_t len, MapEntry *e);

/* The whole tool: main() of qlite-img and of its test variants. */
int img_main(int argc, char **argv);

int img_convert(int argc, char **argv);
int img_compare(int argc, char **argv);
int img_bench(int argc, char **argv);

#endif
