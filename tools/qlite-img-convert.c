/*
 * qlite-img convert and compare.
 *
 * convert opens the sources and creates and opens the target; the copy
 * itself is qlite-img-convert-copy.c.
 */
#include "qlite-img-convert.h"

static bool img_convert_open_dst(ConvertState *cs, const char *out,
                                 const char *ofmt, QliteOpts *copts,
                                 bool skip_create, const char *cache)
{
    GError *err = NULL;

    if (!skip_create) {
        g_autofree char *sz = g_strdup_printf("%" PRId64, cs->total);
        qopts_set(copts, "size", sz);
        if (bdrv_create(ofmt, out, copts, &err) < 0) {
            error_report("%s: error while converting %s: %s", out, ofmt,
                         err->message);
            g_error_free(err);
            return false;
        }
        if (!qopts_check_all_used(copts, &err)) {
            error_report_err(err);
            return false;
        }
    }
    cs->dst = img_open(out, ofmt, BDRV_O_RDWR | BDRV_O_NO_BACKING, cache,
                       false);
    if (!cs->dst) {
        return false;
    }
    if (cs->compress && !blk_bs(cs->dst)->drv->pwrite_compressed) {
        error_report("Compression not supported for this file format");
        return false;
    }
    cs->cluster_size = blk_bs(cs->dst)->drv->get_cluster_size ?
        blk_bs(cs->dst)->drv->get_cluster_size(blk_bs(cs->dst)) : 4096;
    /* A backing file shows through what the copy leaves unwritten. */
    cs->target_zero = !skip_create && !qopts_get(copts, "backing_file");
    return true;
}

static int img_convert_run(ConvertState *cs, char **files, int nfiles,
                           const char *fmt, const char *scache,
                           const char *out, const char *ofmt,
                           QliteOpts *copts, bool skip, const char *cache)
{
    int ret = 1;

    cs->src = g_new0(BlockBackend *, nfiles);
    cs->nsrc = nfiles;
    for (int i = 0; i < nfiles; i++) {
        cs->src[i] = img_open(files[i], fmt, 0, scache, false);
        if (!cs->src[i]) {
            goto out;
        }
        cs->total += blk_getlength(cs->src[i]);
    }
    if (img_convert_open_dst(cs, out, ofmt, copts, skip, cache)) {
        if (blk_getlength(cs->dst) < cs->total) {
            error_report("Target image is too small");
        } else if (img_convert_copy(cs) == 0 && blk_flush(cs->dst) == 0) {
            ret = 0;
        }
    }
out:
    blk_unref(cs->dst);
    for (int i = 0; i < nfiles; i++) {
        blk_unref(cs->src[i]);
    }
    g_free(cs->src);
    return ret;
}

int img_convert(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "force-share", no_argument, NULL, 'U' },
        { "target-is-zero", no_argument, NULL, 'Z' },
        { NULL, 0, NULL, 0 },
    };
    g_autoptr(QliteOpts) copts = qopts_new("create");
    const char *fmt = NULL, *ofmt = "raw", *cache = "unsafe", *scache = NULL;
    ConvertState cs = { .sparse = 4096 };
    bool skip_create = false;
    uint64_t sparse;
    int c;

    while ((c = getopt_long(argc, argv, "hf:O:o:cpqnt:T:S:m:WUCB:F:",
                            lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'O': ofmt = optarg; break;
        case 'o': if (!img_parse_o(copts, optarg)) { return 1; } break;
        case 'c': cs.compress = true; break;
        case 'p': cs.progress = true; break;
        case 'q': cs.progress = false; break;
        case 'n': skip_create = true; break;
        case 't': cache = optarg; break;
        case 'T': scache = optarg; break;
        case 'S':
            if (!img_parse_size(optarg, &sparse)) {
                return 1;
            }
            if (sparse % 512 || sparse > 16 * MiB) {
                error_report("Invalid buffer size for sparse output "
                             "specified. Valid sizes are multiples of 512 "
                             "up to 16777216. Select 0 to disable sparse "
                             "detection (fully allocates output).");
                return 1;
            }
            cs.sparse = sparse;
            break;
        case 'm': case 'W': case 'U': case 'C': case 'Z': break;
        case 'B': qopts_set(copts, "backing_file", optarg); break;
        case 'F': qopts_set(copts, "backing_fmt", optarg); break;
        default: return 1;
        }
    }
    if (argc - optind < 2) {
        error_report("Expecting image file name");
        return 1;
    }
    return img_convert_run(&cs, argv + optind, argc - optind - 1, fmt,
                           scache, argv[argc - 1], ofmt, copts, skip_create,
                           cache);
}

/* First 512-byte sector where @a and @b differ, or -1. */
static int64_t img_first_diff(const uint8_t *a, const uint8_t *b,
                              int64_t len)
{
    for (int64_t pos = 0; pos < len; pos += 512) {
        int64_t n = MIN(512, len - pos);
        if (memcmp(a + pos, b + pos, n) != 0) {
            return pos;
        }
    }
    return -1;
}

/* Beyond the shorter image, the longer one must read as zeroes. */
static int img_compare_tail(BlockBackend *blk, int64_t from, uint8_t *buf)
{
    int64_t len = blk_getlength(blk);

    for (int64_t off = from; off < len; off += IMG_CHUNK) {
        int64_t n = MIN(IMG_CHUNK, len - off);
        if (img_range_is_zero(blk_bs(blk), off, n)) {
            continue;
        }
        if (blk_pread(blk, off, n, buf) < 0) {
            error_report("Error while reading offset %" PRId64, off);
            return 2;
        }
        for (int64_t p = 0; p < n; p += 512) {
            if (!img_is_zero(buf + p, MIN(512, n - p))) {
                printf("Content mismatch at offset %" PRId64 "!\n", off + p);
                return 1;
            }
        }
    }
    return 0;
}

static int img_compare_common(BlockBackend *b1, BlockBackend *b2,
                              int64_t len, uint8_t *x, uint8_t *y)
{
    for (int64_t off = 0; off < len; off += IMG_CHUNK) {
        int64_t n = MIN(IMG_CHUNK, len - off), d;
        if (img_range_is_zero(blk_bs(b1), off, n) &&
            img_range_is_zero(blk_bs(b2), off, n)) {
            continue;
        }
        if (blk_pread(b1, off, n, x) < 0 || blk_pread(b2, off, n, y) < 0) {
            error_report("Error while reading offset %" PRId64, off);
            return 2;
        }
        d = img_first_diff(x, y, n);
        if (d >= 0) {
            printf("Content mismatch at offset %" PRId64 "!\n", off + d);
            return 1;
        }
    }
    return 0;
}

static int img_compare_run(BlockBackend *b1, BlockBackend *b2, bool strict,
                           bool quiet)
{
    int64_t l1 = blk_getlength(b1), l2 = blk_getlength(b2);
    uint8_t *x = g_malloc(IMG_CHUNK), *y = g_malloc(IMG_CHUNK);
    int ret;

    if (l1 != l2 && strict) {
        printf("Strict mode: Image size mismatch!\n");
        ret = 1;
    } else {
        ret = img_compare_common(b1, b2, MIN(l1, l2), x, y);
        if (ret == 0 && l1 != l2) {
            if (!quiet) {
                printf("Warning: Image size mismatch!\n");
            }
            ret = img_compare_tail(l1 > l2 ? b1 : b2, MIN(l1, l2), x);
        }
        if (ret == 0 && !quiet) {
            printf("Images are identical.\n");
        }
    }
    g_free(x);
    g_free(y);
    return ret;
}

int img_compare(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *f1 = NULL, *f2 = NULL, *cache = NULL;
    bool strict = false, quiet = false;
    BlockBackend *b1, *b2;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hf:F:pqsT:U", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': f1 = optarg; break;
        case 'F': f2 = optarg; break;
        case 's': strict = true; break;
        case 'q': quiet = true; break;
        case 'T': cache = optarg; break;
        case 'p': case 'U': break;
        default: return 2;
        }
    }
    if (optind != argc - 2) {
        error_report("Expecting two image file names");
        return 2;
    }
    if (!f2) {
        f2 = f1;
    }
    b1 = img_open(argv[optind], f1, 0, cache, quiet);
    b2 = b1 ? img_open(argv[optind + 1], f2, 0, cache, quiet) : NULL;
    ret = b2 ? img_compare_run(b1, b2, strict, quiet) : 2;
    blk_unref(b1);
    blk_unref(b2);
    return ret;
}
