/*
 * libFuzzer target for QMP: the input is fed as a byte stream through the
 * framer, the JSON parser, the request checks, argument checking and the
 * command handlers -- the code a QMP client reaches -- with no chardev.
 *
 * The first byte picks the session state: bit 0 starts it already past
 * capabilities negotiation (so every command is reachable), and the rest
 * of the input is cut into chunks of 1..16 bytes (bits 1-4) to exercise
 * messages split across reads.
 *
 * The machine is "running" with no board: device_add then refuses every
 * non-hot-pluggable device, so iterations do not pile up devices, and the
 * shutdown/reset requests only set flags nobody acts on.
 */
#include "../../monitor/monitor-internal.h"
#include "qlite/runstate.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t fuzz_replies;

static void fuzz_send(QmpSession *s, json_t *msg)
{
    char *text = json_dumps(msg, JSON_PRESERVE_ORDER);

    /* Every reply must serialise: a NULL here is a bug. */
    if (!text) {
        __builtin_trap();
    }
    free(text);
    fuzz_replies++;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    qlite_register_all_types();
    runstate_set(RUN_STATE_RUNNING);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    QmpSession s;
    size_t chunk;

    if (size < 1) {
        return 0;
    }
    qmp_session_init(&s, fuzz_send, NULL);
    s.negotiated = data[0] & 1;
    chunk = 1 + ((data[0] >> 1) & 15);
    data++;
    size--;
    while (size) {
        size_t n = size < chunk ? size : chunk;

        qmp_session_feed(&s, data, n);
        data += n;
        size -= n;
    }
    qmp_session_destroy(&s);
    /* A stop from the input must not leave later runs paused for good. */
    if (runstate_get() != RUN_STATE_RUNNING) {
        runstate_set(RUN_STATE_RUNNING);
    }
    return 0;
}
