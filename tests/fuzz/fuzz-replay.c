/*
 * Runs a libFuzzer target's inputs without libFuzzer, so that a normal
 * build (gcc, sanitizers or not) replays the committed corpus -- the seeds
 * and every input that once crashed -- as a test:
 *
 *   fuzz-TARGET-replay FILE|DIR...
 *
 * Exits 0 when every input ran; a crash shows as the crash it is.
 */
#include "qlite/osdep.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool replay_file(const char *path)
{
    g_autofree char *data = NULL;
    gsize len = 0;
    GError *err = NULL;

    if (!g_file_get_contents(path, &data, &len, &err)) {
        fprintf(stderr, "replay: %s\n", err->message);
        g_error_free(err);
        return false;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data, len);
    return true;
}

/* g_ptr_array_sort() passes pointers to the elements. */
static gint replay_cmp(gconstpointer a, gconstpointer b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The files of @dir in name order, so that runs are repeatable. */
static int replay_dir(const char *dir, unsigned *count)
{
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
    const char *name;
    int failed = 0;

    if (!d) {
        return replay_file(dir) ? (++*count, 0) : 1;
    }
    while ((name = g_dir_read_name(d))) {
        g_ptr_array_add(names, g_build_filename(dir, name, NULL));
    }
    g_ptr_array_sort(names, replay_cmp);
    for (guint i = 0; i < names->len; i++) {
        const char *path = names->pdata[i];

        if (g_file_test(path, G_FILE_TEST_IS_REGULAR)) {
            failed += !replay_file(path);
            ++*count;
        }
    }
    return failed;
}

int main(int argc, char **argv)
{
    unsigned count = 0;
    int failed = 0;

    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        failed += replay_dir(argv[i], &count);
    }
    printf("replayed %u inputs, %d unreadable\n", count, failed);
    return failed || !count ? 1 : 0;
}
