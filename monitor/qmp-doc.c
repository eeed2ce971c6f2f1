/*
 * qlite-qmp-doc: print docs/qmp.md from the QMP tables.
 *   qlite-qmp-doc                 print to stdout
 *   qlite-qmp-doc --output FILE   write FILE
 *   qlite-qmp-doc --check FILE    exit 1 if FILE is out of date
 */
#include "monitor-internal.h"

static int qmp_doc_check(const char *path, const char *want)
{
    g_autofree char *have = NULL;
    g_autoptr(GError) err = NULL;

    if (!g_file_get_contents(path, &have, NULL, &err)) {
        fprintf(stderr, "qlite-qmp-doc: %s\n", err->message);
        return 1;
    }
    if (strcmp(have, want)) {
        fprintf(stderr, "qlite-qmp-doc: %s is out of date with "
                "monitor/qmp-*.def; run 'ninja update-qmp-doc'\n", path);
        return 1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    g_autoptr(GString) doc = g_string_new(NULL);
    g_autoptr(GError) err = NULL;

    qmp_schema_print_doc(doc);
    if (argc == 3 && !strcmp(argv[1], "--check")) {
        return qmp_doc_check(argv[2], doc->str);
    }
    if (argc == 3 && !strcmp(argv[1], "--output")) {
        if (!g_file_set_contents(argv[2], doc->str, doc->len, &err)) {
            fprintf(stderr, "qlite-qmp-doc: %s\n", err->message);
            return 1;
        }
        return 0;
    }
    if (argc != 1) {
        fprintf(stderr, "usage: qlite-qmp-doc [--check|--output FILE]\n");
        return 2;
    }
    fputs(doc->str, stdout);
    return 0;
}
