/*
 * qlite-img: the disk image tool, with qemu-img's subcommands, options,
 * output and exit codes.
 */
#include "qlite-img.h"

#include <math.h>
#include <time.h>

static void img_usage(void)
{
    printf("qlite-img version " QLITE_VERSION "\n"
           "usage: qlite-img [standard options] command [command options]\n"
           "\n"
           "Command syntax:\n"
           "  bench [-c count] [-d depth] [-f fmt] [-o offset] [-q] "
           "[-s buffer_size] [-S step_size] [-t cache] [-w] filename\n"
           "  check [-q] [-f fmt] [--output=ofmt] [-r [leaks | all]] "
           "filename\n"
           "  compare [-f fmt] [-F fmt] [-p] [-q] [-s] filename1 filename2\n"
           "  convert [-c] [-p] [-q] [-n] [-f fmt] [-t cache] [-T src_cache] "
           "[-O output_fmt] [-o options] filename [filename2 [...]] "
           "output_filename\n"
           "  create [-q] [-f fmt] [-b backing_file [-F backing_fmt]] [-u] "
           "[-o options] filename [size]\n"
           "  info [-f fmt] [--output=ofmt] [--backing-chain] filename\n"
           "  map [-f fmt] [--output=ofmt] filename\n"
           "  resize [-f fmt] [-q] filename [+ | -]size\n"
           "  snapshot [-q] [-l | -a snapshot | -c snapshot | -d snapshot] "
           "filename\n"
           "\n"
           "Supported formats: qcow2 raw\n");
}

BlockBackend *img_open(const char *filename, const char *fmt, int flags,
                       const char *cache, bool quiet)
{
    g_autoptr(QliteOpts) opts = qopts_new("img");
    GError *err = NULL;
    BlockBackend *blk;

    if (cache) {
        qopts_set(opts, "cache", cache);
    }
    blk = blk_new_open(filename, fmt, opts, flags, &err);
    if (!blk) {
        error_report_err(err);
    }
    return blk;
}

char *img_size_to_str(uint64_t val)
{
    static const char *const units[] = {
        "B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB",
    };
    double v = val;
    int i = 0;

    while (v >= 1000 && i < 6) {
        v /= 1024;
        i++;
    }
    return g_strdup_printf("%0.3g %s", v, units[i]);
}

bool img_parse_size(const char *s, uint64_t *out)
{
    GError *err = NULL;

    if (!keyval_parse_size("size", s, 1, out, &err)) {
        error_report("Invalid image size specified. You may use k, M, G, T, "
                     "P or E suffixes for");
        error_report("kilobytes, megabytes, gigabytes, terabytes, petabytes "
                     "and exabytes.");
        g_error_free(err);
        return false;
    }
    return true;
}

bool img_parse_o(QliteOpts *opts, const char *optstr)
{
    GError *err = NULL;
    g_autoptr(QliteOpts) o = NULL;

    if (!strcmp(optstr, "help") || !strcmp(optstr, "?")) {
        printf("Supported options:\n  backing_file, backing_fmt, "
               "cluster_size, compat, lazy_refcounts, preallocation, "
               "refcount_bits, size\n");
        return false;
    }
    o = keyval_parse(optstr, NULL, 0, &err);
    if (!o) {
        error_report_err(err);
        return false;
    }
    for (guint i = 0; i < o->pairs->len; i++) {
        KeyvalPair *p = g_ptr_array_index(o->pairs, i);
        qopts_set(opts, p->key, p->value);
    }
    return true;
}

void img_print_progress(double pct, bool *printed, double *last)
{
    if (*printed && pct < 100.0 && pct - *last < 1.0) {
        return;
    }
    *printed = true;
    *last = pct;
    printf("    (%0.2f/100%%)\r", pct);
    fflush(stdout);
}

/* ---- create ---- */

static void img_print_create(const char *fn, const char *fmt,
                             QliteOpts *opts, uint64_t size)
{
    const char *v;

    printf("Formatting '%s', fmt=%s", fn, fmt);
    if (!strcmp(fmt, "qcow2")) {
        v = qopts_get(opts, "cluster_size");
        printf(" cluster_size=%s extended_l2=off", v ? v : "65536");
        if ((v = qopts_get(opts, "preallocation"))) {
            printf(" preallocation=%s", v);
        }
        printf(" compression_type=zlib");
    }
    printf(" size=%" PRIu64, size);
    if ((v = qopts_get(opts, "backing_file"))) {
        printf(" backing_file=%s", v);
    }
    if ((v = qopts_get(opts, "backing_fmt"))) {
        printf(" backing_fmt=%s", v);
    }
    if (!strcmp(fmt, "qcow2")) {
        if ((v = qopts_get(opts, "compat"))) {
            printf(" compat=%s", v);
        }
        v = qopts_get(opts, "lazy_refcounts");
        printf(" lazy_refcounts=%s", v ? v : "off");
        v = qopts_get(opts, "refcount_bits");
        printf(" refcount_bits=%s", v ? v : "16");
    }
    printf("\n");
}

/* Check the backing file and take its size when none was given. */
static bool img_create_backing(const char *fn, QliteOpts *opts,
                               uint64_t *size, bool have_size, bool unsafe)
{
    const char *b = qopts_get(opts, "backing_file");
    const char *bf = qopts_get(opts, "backing_fmt");
    g_autofree char *path = NULL;
    BlockBackend *blk;

    if (!b) {
        return true;
    }
    if (!bf) {
        error_report("%s: Backing file specified without backing format",
                     fn);
        return false;
    }
    if (unsafe && have_size) {
        return true;
    }
    path = bdrv_resolve_backing(fn, b);
    blk = img_open(path, bf, BDRV_O_NO_BACKING, NULL, false);
    if (!blk) {
        error_report("%s: Could not open backing image.", fn);
        return false;
    }
    if (!have_size) {
        *size = blk_getlength(blk);
    }
    blk_unref(blk);
    return true;
}

static int img_create(int argc, char **argv)
{
    g_autoptr(QliteOpts) opts = qopts_new("create");
    const char *fmt = "raw", *fn;
    bool quiet = false, unsafe = false, have_size;
    uint64_t size = 0;
    GError *err = NULL;
    int c;

    while ((c = getopt(argc, argv, "hf:b:F:o:qu")) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'b': qopts_set(opts, "backing_file", optarg); break;
        case 'F': qopts_set(opts, "backing_fmt", optarg); break;
        case 'o': if (!img_parse_o(opts, optarg)) { return 1; } break;
        case 'q': quiet = true; break;
        case 'u': unsafe = true; break;
        default: img_usage(); return 1;
        }
    }
    if (optind >= argc) {
        error_report("Expecting image file name");
        return 1;
    }
    fn = argv[optind++];
    if (optind < argc && !img_parse_size(argv[optind], &size)) {
        return 1;
    }
    have_size = optind < argc || qopts_has(opts, "size");
    if (!have_size && !qopts_has(opts, "backing_file")) {
        error_report("%s: Image creation needs a size parameter", fn);
        return 1;
    }
    if (qopts_has(opts, "size") && optind >= argc &&
        !qopts_get_size(opts, "size", 0, &size, &err)) {
        error_report_err(err);
        return 1;
    }
    if (!img_create_backing(fn, opts, &size, have_size, unsafe)) {
        return 1;
    }
    g_autofree char *sz = g_strdup_printf("%" PRIu64, size);
    qopts_set(opts, "size", sz);
    if (!quiet) {
        img_print_create(fn, fmt, opts, size);
    }
    if (bdrv_create(fmt, fn, opts, &err) < 0) {
        error_report("%s: %s", fn, err->message);
        g_error_free(err);
        return 1;
    }
    if (!qopts_check_all_used(opts, &err)) {
        error_report("%s: %s", fn, err->message);
        g_error_free(err);
        return 1;
    }
    return 0;
}

/* ---- info ---- */

static void img_print_snapshot_table(json_t *sn)
{
    size_t i;
    json_t *s;

    printf("Snapshot list:\n");
    printf("%-9s %-17s %7s%20s%13s%11s\n", "ID", "TAG", "VM SIZE", "DATE",
           "VM CLOCK", "ICOUNT");
    json_array_foreach(sn, i, s) {
        time_t t = json_integer_value(json_object_get(s, "date-sec"));
        uint64_t clk = json_integer_value(json_object_get(s, "vm-clock-sec"));
        uint64_t ns = json_integer_value(json_object_get(s, "vm-clock-nsec"));
        json_t *ic = json_object_get(s, "icount");
        g_autofree char *vms = img_size_to_str(
            json_integer_value(json_object_get(s, "vm-state-size")));
        g_autofree char *clock = g_strdup_printf(
            "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64 ".%03" PRIu64,
            clk / 3600, (clk / 60) % 60, clk % 60, ns / 1000000);
        g_autofree char *icount = ic ? g_strdup_printf(
            "%" JSON_INTEGER_FORMAT, json_integer_value(ic)) : g_strdup("");
        char date[32];
        struct tm tm;

        localtime_r(&t, &tm);
        strftime(date, sizeof(date), "%Y-%m-%d %H:%M:%S", &tm);
        printf("%-9s %-17s %7s%20s%13s%11s\n",
               json_string_value(json_object_get(s, "id")),
               json_string_value(json_object_get(s, "name")), vms, date,
               clock, icount);
    }
}

/* "compression-type" -> "compression type: zlib" */
static void img_print_specific(json_t *data)
{
    const char *key;
    json_t *v;

    printf("Format specific information:\n");
    json_object_foreach(data, key, v) {
        g_autofree char *label = g_strdup(key);
        g_strdelimit(label, "-", ' ');
        if (json_is_string(v)) {
            printf("    %s: %s\n", label, json_string_value(v));
        } else if (json_is_boolean(v)) {
            printf("    %s: %s\n", label, json_is_true(v) ? "true" : "false");
        } else if (json_is_integer(v)) {
            printf("    %s: %" JSON_INTEGER_FORMAT "\n", label,
                   json_integer_value(v));
        }
    }
}

static void img_print_info_text(json_t *o)
{
    int64_t vsize = json_integer_value(json_object_get(o, "virtual-size"));
    json_t *actual = json_object_get(o, "actual-size");
    json_t *cs = json_object_get(o, "cluster-size");
    json_t *bf = json_object_get(o, "backing-filename");
    json_t *sn = json_object_get(o, "snapshots");
    json_t *spec = json_object_get(o, "format-specific");
    g_autofree char *vs = img_size_to_str(vsize);
    g_autofree char *as = actual ? img_size_to_str(
        json_integer_value(actual)) : g_strdup("unavailable");

    printf("image: %s\n", json_string_value(json_object_get(o, "filename")));
    printf("file format: %s\n",
           json_string_value(json_object_get(o, "format")));
    printf("virtual size: %s (%" PRId64 " bytes)\n", vs, vsize);
    printf("disk size: %s\n", as);
    if (cs) {
        printf("cluster_size: %" JSON_INTEGER_FORMAT "\n",
               json_integer_value(cs));
    }
    if (bf) {
        const char *full = json_string_value(
            json_object_get(o, "full-backing-filename"));
        printf("backing file: %s", json_string_value(bf));
        if (full && strcmp(full, json_string_value(bf)) != 0) {
            printf(" (actual path: %s)", full);
        }
        printf("\n");
    }
    if (json_object_get(o, "backing-filename-format")) {
        printf("backing file format: %s\n", json_string_value(
            json_object_get(o, "backing-filename-format")));
    }
    if (json_is_true(json_object_get(o, "dirty-flag"))) {
        printf("cleanly shut down: no\n");
    }
    if (sn) {
        img_print_snapshot_table(sn);
    }
    if (spec) {
        img_print_specific(json_object_get(spec, "data"));
    }
}

static void img_dump_json(json_t *o)
{
    char *s = json_dumps(o, JSON_INDENT(4) | JSON_PRESERVE_ORDER);

    printf("%s\n", s);
    free(s);
}

static bool img_parse_output(const char *s, bool *json)
{
    if (!strcmp(s, "json")) {
        *json = true;
    } else if (!strcmp(s, "human")) {
        *json = false;
    } else {
        error_report("--output must be used with human or json as argument.");
        return false;
    }
    return true;
}

enum { OPT_OUTPUT = 256, OPT_BACKING_CHAIN, OPT_IMAGE_OPTS, OPT_SHRINK };

static int img_info(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "backing-chain", no_argument, NULL, OPT_BACKING_CHAIN },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    bool json = false, chain = false;
    BlockBackend *blk;
    json_t *arr;
    int c;

    while ((c = getopt_long(argc, argv, "hf:U", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'U': break;
        case OPT_OUTPUT: if (!img_parse_output(optarg, &json)) { return 1; }
            break;
        case OPT_BACKING_CHAIN: chain = true; break;
        default: img_usage(); return 1;
        }
    }
    if (optind != argc - 1) {
        error_report("Expecting one image file name");
        return 1;
    }
    blk = img_open(argv[optind], fmt, chain ? 0 : BDRV_O_NO_BACKING, NULL,
                   false);
    if (!blk) {
        return 1;
    }
    arr = json_array();
    for (BlockDriverState *bs = blk_bs(blk); bs; bs = chain ? bs->backing
                                                         : NULL) {
        json_array_append_new(arr, bdrv_image_info_json(bs));
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (!json) {
            printf(i ? "\n" : "");
            img_print_info_text(json_array_get(arr, i));
        }
    }
    if (json) {
        img_dump_json(chain ? arr : json_array_get(arr, 0));
    }
    json_decref(arr);
    blk_unref(blk);
    return 0;
}

/* ---- check ---- */

static void img_check_text(const char *fn, BdrvCheckResult *r)
{
    if (!r->corruptions && !r->leaks && !r->check_errors) {
        printf("No errors were found on the image.\n");
    }
    if (r->corruptions) {
        printf("\n%d errors were found on the image.\nData may be corrupted, "
               "or further writes to the image may corrupt it.\n",
               r->corruptions);
    }
    if (r->leaks) {
        printf("\n%d leaked clusters were found on the image.\nThis means "
               "waste of disk space, but no harm to data.\n", r->leaks);
    }
    if (r->check_errors) {
        printf("\n%d internal errors have occurred during the check.\n",
               r->check_errors);
    }
    if (r->total_clusters && r->allocated_clusters && r->has_frag_info) {
        double alloc = r->allocated_clusters ? r->allocated_clusters : 1;
        printf("%" PRIu64 "/%" PRIu64 " = %0.2f%% allocated, %0.2f%% "
               "fragmented, %0.2f%% compressed clusters\n",
               r->allocated_clusters, r->total_clusters,
               r->allocated_clusters * 100.0 / r->total_clusters,
               r->fragmented_clusters * 100.0 / alloc,
               r->compressed_clusters * 100.0 / alloc);
    }
    if (r->image_end_offset) {
        printf("Image end offset: %" PRId64 "\n", r->image_end_offset);
    }
}

static void img_check_json(const char *fn, const char *fmt,
                           BdrvCheckResult *r)
{
    json_t *o = json_object();

#define OPT_SET(key, v) \
    do { if (v) { json_object_set_new(o, key, json_integer(v)); } } while (0)
    OPT_SET("image-end-offset", r->image_end_offset);
    json_object_set_new(o, "total-clusters", json_integer(r->total_clusters));
    OPT_SET("corruptions", r->corruptions);
    OPT_SET("fragmented-clusters", r->fragmented_clusters);
    OPT_SET("compressed-clusters", r->compressed_clusters);
    json_object_set_new(o, "check-errors", json_integer(r->check_errors));
    OPT_SET("corruptions-fixed", r->corruptions_fixed);
    OPT_SET("leaks", r->leaks);
    OPT_SET("leaks-fixed", r->leaks_fixed);
    json_object_set_new(o, "allocated-clusters",
                        json_integer(r->allocated_clusters));
    json_object_set_new(o, "filename", json_string(fn));
    json_object_set_new(o, "format", json_string(fmt));
#undef OPT_SET
    img_dump_json(o);
    json_decref(o);
}

static int img_check_run(BlockDriverState *bs, int fix, bool json,
                         bool quiet, BdrvCheckResult *r)
{
    BdrvCheckResult first;
    int ret = bs->drv->check(bs, r, fix);

    if (ret < 0 || !fix || (!r->corruptions_fixed && !r->leaks_fixed)) {
        return ret;
    }
    first = *r;
    if (!json && !quiet) {
        printf("The following inconsistencies were found and repaired:\n\n"
               "    %d leaked clusters\n    %d corruptions\n\n"
               "Double checking the fixed image now...\n",
               first.leaks_fixed, first.corruptions_fixed);
    }
    ret = bs->drv->check(bs, r, 0);
    r->leaks_fixed = first.leaks_fixed;
    r->corruptions_fixed = first.corruptions_fixed;
    return ret;
}

static int img_check(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *cache = NULL;
    bool json = false, quiet = false;
    BdrvCheckResult r = { 0 };
    BlockBackend *blk;
    int c, fix = 0, ret;

    while ((c = getopt_long(argc, argv, "hf:r:T:qU", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'T': cache = optarg; break;
        case 'q': quiet = true; break;
        case 'U': break;
        case 'r':
            if (!strcmp(optarg, "leaks")) {
                fix = BDRV_FIX_LEAKS;
            } else if (!strcmp(optarg, "all")) {
                fix = BDRV_FIX_LEAKS | BDRV_FIX_ERRORS;
            } else {
                error_report("Unknown option value for -r (expecting "
                             "'leaks' or 'all'): %s", optarg);
                return 1;
            }
            break;
        case OPT_OUTPUT: if (!img_parse_output(optarg, &json)) { return 1; }
            break;
        default: img_usage(); return 1;
        }
    }
    if (optind != argc - 1) {
        error_report("Expecting one image file name");
        return 1;
    }
    blk = img_open(argv[optind], fmt, BDRV_O_CHECK | BDRV_O_NO_BACKING |
                   (fix ? BDRV_O_RDWR : 0), cache, quiet);
    if (!blk) {
        return 1;
    }
    if (!blk_bs(blk)->drv->check) {
        error_report("This image format does not support checks");
        blk_unref(blk);
        return 63;
    }
    ret = img_check_run(blk_bs(blk), fix, json, quiet, &r);
    if (ret < 0) {
        error_report("Check failed: %s", g_strerror(-ret));
        blk_unref(blk);
        return 1;
    }
    if (json) {
        img_check_json(argv[optind], blk_bs(blk)->drv->format_name, &r);
    } else if (!quiet) {
        img_check_text(argv[optind], &r);
    }
    blk_unref(blk);
    return r.check_errors ? 1 : r.corruptions ? 2 : r.leaks ? 3 : 0;
}

/* ---- resize ---- */

static int img_resize(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "shrink", no_argument, NULL, OPT_SHRINK },
        { "preallocation", required_argument, NULL, 'P' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL, *arg;
    bool quiet = false, shrink = false;
    uint64_t delta;
    int64_t cur, size;
    BlockBackend *blk;
    GError *err = NULL;
    int c, sign = 0;

    /* A leading '-' in the size is not an option. */
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && g_ascii_isdigit(argv[i][1])) {
            argv[i][0] = '~';
        }
    }
    while ((c = getopt_long(argc, argv, "hf:qP:", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'q': quiet = true; break;
        case 'P': break;
        case OPT_SHRINK: shrink = true; break;
        default: img_usage(); return 1;
        }
    }
    if (optind != argc - 2) {
        error_report("Expecting image file name and size");
        return 1;
    }
    arg = argv[optind + 1];
    if (arg[0] == '+' || arg[0] == '~') {
        sign = arg[0] == '+' ? 1 : -1;
        arg++;
    }
    if (!img_parse_size(arg, &delta)) {
        return 1;
    }
    blk = img_open(argv[optind], fmt, BDRV_O_RDWR | BDRV_O_NO_BACKING,
                   NULL, quiet);
    if (!blk) {
        return 1;
    }
    cur = blk_getlength(blk);
    size = sign ? cur + sign * (int64_t)delta : (int64_t)delta;
    if (size < 0) {
        error_report("New image size must be positive");
    } else if (size < cur && !shrink) {
        error_report("Use the --shrink option to perform a shrink "
                     "operation.");
    } else if (blk_truncate(blk, size, &err) < 0) {
        error_report_err(err);
    } else {
        blk_unref(blk);
        if (!quiet) {
            printf("Image resized.\n");
        }
        return 0;
    }
    blk_unref(blk);
    return 1;
}

/* ---- snapshot ---- */

static int img_snapshot_list(BlockDriverState *bs)
{
    json_t *sn = bdrv_snapshots_json(bs);

    if (sn) {
        img_print_snapshot_table(sn);
        json_decref(sn);
    }
    return 0;
}

static int img_snapshot(int argc, char **argv)
{
    const char *name = NULL;
    char action = 0;
    BlockBackend *blk;
    BlockDriverState *bs;
    GError *err = NULL;
    int c, ret;

    while ((c = getopt(argc, argv, "hla:c:d:qU")) != -1) {
        switch (c) {
        case 'l': case 'a': case 'c': case 'd':
            if (action) {
                error_report("Cannot mix '-l', '-a', '-c', '-d'");
                return 1;
            }
            action = c;
            name = optarg;
            break;
        case 'q': case 'U': break;
        default: img_usage(); return 1;
        }
    }
    if (optind != argc - 1 || !action) {
        error_report("Expecting one image file name and an action");
        return 1;
    }
    blk = img_open(argv[optind], NULL, (action == 'l' ? 0 : BDRV_O_RDWR) |
                   BDRV_O_NO_BACKING, NULL, false);
    if (!blk) {
        return 1;
    }
    bs = blk_bs(blk);
    if (!bs->drv->snapshot_list) {
        error_report("This image format does not support snapshots");
        blk_unref(blk);
        return 1;
    }
    switch (action) {
    case 'l': ret = img_snapshot_list(bs); break;
    case 'c': ret = bs->drv->snapshot_create(bs, name, &err); break;
    case 'a': ret = bs->drv->snapshot_apply(bs, name, &err); break;
    default: ret = bs->drv->snapshot_delete(bs, name, &err); break;
    }
    if (ret < 0) {
        error_report_err(err);
    }
    blk_unref(blk);
    return ret < 0 ? 1 : 0;
}

/* ---- map ---- */

static bool img_map_mergeable(const MapEntry *a, const MapEntry *b)
{
    return a->depth == b->depth && a->flags == b->flags &&
           a->present == b->present && a->has_offset == b->has_offset &&
           (!a->has_offset || a->offset + a->length == b->offset);
}

static bool img_map_print(const MapEntry *e, bool json, bool first)
{
    if (json) {
        printf("%s{ \"start\": %" PRId64 ", \"length\": %" PRId64 ", "
               "\"depth\": %d, \"present\": %s, \"zero\": %s, \"data\": %s",
               first ? "[" : ",\n", e->start, e->length, e->depth,
               e->present ? "true" : "false",
               (e->flags & BDRV_BLOCK_ZERO) ? "true" : "false",
               (e->flags & BDRV_BLOCK_DATA) ? "true" : "false");
        if (e->has_offset) {
            printf(", \"offset\": %" PRId64, e->offset);
        }
        printf("}");
        return true;
    }
    if ((e->flags & BDRV_BLOCK_DATA) && !e->has_offset) {
        error_report("File contains external, encrypted or compressed "
                     "clusters.");
        return false;
    }
    if (e->flags & BDRV_BLOCK_DATA) {
        printf("%#-16" PRIx64 "%#-16" PRIx64 "%#-16" PRIx64 "%s\n",
               e->start, e->length, e->offset, e->file);
    }
    return true;
}

int img_map_get(BlockDriverState *bs, int64_t off, int64_t len, MapEntry *e)
{
    int64_t pnum, map;
    BlockDriverState *file;
    int depth;
    int ret = bdrv_block_status_above(bs, off, len, &pnum, &map, &file,
                                      &depth);

    if (ret < 0) {
        return ret;
    }
    e->start = off;
    e->length = pnum;
    e->depth = depth;
    e->flags = ret & (BDRV_BLOCK_DATA | BDRV_BLOCK_ZERO);
    e->present = (ret & BDRV_BLOCK_ALLOCATED) != 0;
    e->has_offset = (ret & BDRV_BLOCK_OFFSET_VALID) != 0;
    e->offset = map;
    e->file = file ? file->filename : "";
    if (!e->present && !(ret & BDRV_BLOCK_DATA)) {
        e->flags |= BDRV_BLOCK_ZERO;
    }
    return 0;
}

static int img_map_walk(BlockDriverState *bs, bool json)
{
    int64_t len = bdrv_getlength(bs), off = 0;
    MapEntry cur = { 0 }, next;
    bool have = false, first = true;

    if (!json) {
        printf("%-16s%-16s%-16s%s\n", "Offset", "Length", "Mapped to",
               "File");
    }
    while (off < len) {
        int ret = img_map_get(bs, off, MIN(len - off, 1 * GiB), &next);
        if (ret < 0) {
            error_report("Could not read file metadata: %s",
                         g_strerror(-ret));
            return 1;
        }
        off += next.length;
        if (have && img_map_mergeable(&cur, &next)) {
            cur.length += next.length;
            continue;
        }
        if (have && !img_map_print(&cur, json, first)) {
            return 1;
        }
        first = first && !have;
        cur = next;
        have = true;
    }
    if (have && !img_map_print(&cur, json, first)) {
        return 1;
    }
    if (json) {
        printf("%s]\n", have ? "" : "[");
    }
    return 0;
}

static int img_map(int argc, char **argv)
{
    static const struct option lopts[] = {
        { "output", required_argument, NULL, OPT_OUTPUT },
        { "force-share", no_argument, NULL, 'U' },
        { NULL, 0, NULL, 0 },
    };
    const char *fmt = NULL;
    bool json = false;
    BlockBackend *blk;
    int c, ret;

    while ((c = getopt_long(argc, argv, "hf:U", lopts, NULL)) != -1) {
        switch (c) {
        case 'f': fmt = optarg; break;
        case 'U': break;
        case OPT_OUTPUT: if (!img_parse_output(optarg, &json)) { return 1; }
            break;
        default: img_usage(); return 1;
        }
    }
    if (optind != argc - 1) {
        error_report("Expecting one image file name");
        return 1;
    }
    blk = img_open(argv[optind], fmt, 0, NULL, false);
    if (!blk) {
        return 1;
    }
    ret = img_map_walk(blk_bs(blk), json);
    blk_unref(blk);
    return ret;
}

static const struct {
    const char *name;
    int (*fn)(int argc, char **argv);
} img_cmds[] = {
    { "bench", img_bench },
    { "check", img_check },
    { "compare", img_compare },
    { "convert", img_convert },
    { "create", img_create },
    { "info", img_info },
    { "map", img_map },
    { "resize", img_resize },
    { "snapshot", img_snapshot },
};

int img_main(int argc, char **argv)
{
    error_set_progname("qlite-img");
    if (argc < 2) {
        error_report("Not enough arguments");
        error_report("Try 'qlite-img --help' for more information");
        return 1;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        img_usage();
        return 0;
    }
    if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version")) {
        printf("qlite-img version " QLITE_VERSION "\n");
        return 0;
    }
    for (size_t i = 0; i < G_N_ELEMENTS(img_cmds); i++) {
        if (!strcmp(argv[1], img_cmds[i].name)) {
            optind = 1;
            return img_cmds[i].fn(argc - 1, argv + 1);
        }
    }
    error_report("Command not found: %s", argv[1]);
    return 1;
}
