/*
 * qlite-img under fault injection, for the suite only (not installed):
 *
 *   qlite-img-faultinject SPEC COMMAND [ARGS...]
 *
 * arms block/faultinject.c with SPEC, runs qlite-img's COMMAND, then
 * prints the filter's counters on stderr ("faultinject: reads=...").
 * A simulated power cut ends it with status FAULTINJECT_CUT_STATUS.
 */
#include "../../tools/qlite-img.h"
#include "../../block/faultinject.h"

int main(int argc, char **argv)
{
    GError *err = NULL;
    int ret;

    error_set_progname("qlite-img-faultinject");
    if (argc < 3) {
        error_report("usage: qlite-img-faultinject SPEC COMMAND [ARGS...]");
        return 1;
    }
    if (!bdrv_faultinject_arm(argv[1], &err)) {
        error_report_err(err);
        return 1;
    }
    argv[1] = argv[0];
    ret = img_main(argc - 1, argv + 1);
    bdrv_faultinject_report(stderr);
    return ret;
}
