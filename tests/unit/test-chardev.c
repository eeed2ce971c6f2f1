/*
 * Character devices: backends, front-end plumbing, the mux's escape keys,
 * legacy specs and the errors users see.
 */
#include "qlite/chardev.h"
#include "qlite/error.h"
#include "qlite/runstate.h"

#include <glib/gstdio.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

/* How long a test waits for the main loop to deliver something. */
#define WAIT_US (5 * G_USEC_PER_SEC)

static char *tmpdir;

/* ---- a front end that records what it gets ---- */

typedef struct TestFe {
    CharBackend be;
    GString *in;    /* bytes received */
    GArray *events; /* of ChrEvent */
    int room;       /* what can_read() answers */
} TestFe;

static int test_fe_can_read(void *opaque)
{
    TestFe *fe = opaque;

    return fe->room;
}

static void test_fe_read(void *opaque, const uint8_t *buf, int len)
{
    TestFe *fe = opaque;

    g_assert_cmpint(len, <=, fe->room);
    g_string_append_len(fe->in, (const char *)buf, len);
    fe->room -= len;
}

static void test_fe_event(void *opaque, ChrEvent event)
{
    TestFe *fe = opaque;

    g_array_append_val(fe->events, event);
}

static void test_fe_attach(TestFe *fe, Chardev *chr)
{
    GError *err = NULL;

    fe->in = g_string_new("");
    fe->events = g_array_new(false, false, sizeof(ChrEvent));
    fe->room = 1 << 20;
    g_assert_true(chr_fe_init(&fe->be, chr, &err));
    g_assert_no_error(err);
    chr_fe_set_handlers(&fe->be, test_fe_can_read, test_fe_read, test_fe_event,
                        fe);
}

static void test_fe_free(TestFe *fe)
{
    chr_fe_deinit(&fe->be);
    g_string_free(fe->in, true);
    g_array_free(fe->events, true);
}

static bool test_fe_saw(TestFe *fe, ChrEvent event)
{
    for (guint i = 0; i < fe->events->len; i++) {
        if (g_array_index(fe->events, ChrEvent, i) == event) {
            return true;
        }
    }
    return false;
}

static ChrEvent test_fe_last_event(TestFe *fe)
{
    g_assert_cmpuint(fe->events->len, >, 0);
    return g_array_index(fe->events, ChrEvent, fe->events->len - 1);
}

/* ---- helpers ---- */

static Chardev *new_chardev(const char *spec, GError **errp)
{
    g_autoptr(QliteOpts) opts =
        keyval_parse(spec, "backend", KEYVAL_BARE_KEY_IS_ON, errp);

    return opts ? chardev_new_from_opts(opts, errp) : NULL;
}

static Chardev *new_chardev_ok(const char *spec)
{
    GError *err = NULL;
    Chardev *chr = new_chardev(spec, &err);

    g_assert_no_error(err);
    g_assert_nonnull(chr);
    return chr;
}

static void expect_error(const char *spec, const char *msg)
{
    GError *err = NULL;

    g_assert_null(new_chardev(spec, &err));
    g_assert_nonnull(err);
    if (!strstr(err->message, msg)) {
        g_error("'%s': got '%s', want '%s'", spec, err->message, msg);
    }
    g_error_free(err);
}

/* Run the main loop until @cond(@opaque) holds or time runs out. */
static bool loop_until(bool (*cond)(void *), void *opaque)
{
    int64_t deadline = g_get_monotonic_time() + WAIT_US;

    while (!cond(opaque)) {
        if (g_get_monotonic_time() > deadline) {
            return false;
        }
        g_main_context_iteration(NULL, false);
        g_usleep(1000);
    }
    return true;
}

/* A few iterations with nothing expected to happen. */
static void loop_idle(void)
{
    for (int i = 0; i < 20; i++) {
        g_main_context_iteration(NULL, false);
        g_usleep(1000);
    }
}

typedef struct WantBytes {
    TestFe *fe;
    size_t len;
} WantBytes;

static bool fe_has_bytes(void *opaque)
{
    WantBytes *w = opaque;

    return w->fe->in->len >= w->len;
}

static bool fe_is_opened(void *opaque)
{
    return test_fe_saw(opaque, CHR_EVENT_OPENED);
}

static bool fe_is_closed(void *opaque)
{
    return test_fe_saw(opaque, CHR_EVENT_CLOSED);
}

static void wait_bytes(TestFe *fe, size_t len)
{
    WantBytes w = {fe, len};

    g_assert_true(loop_until(fe_has_bytes, &w));
}

static char *tmp_path(const char *name)
{
    return g_build_filename(tmpdir, name, NULL);
}

static void write_fd(int fd, const char *s)
{
    g_assert_cmpint(write(fd, s, strlen(s)), ==, (ssize_t)strlen(s));
}

/* Read exactly @len bytes from @fd within the wait limit. */
static char *read_fd(int fd, size_t len)
{
    char *buf = g_malloc0(len + 1);
    size_t got = 0;

    while (got < len) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        ssize_t n;

        g_assert_cmpint(poll(&pfd, 1, WAIT_US / 1000), ==, 1);
        n = read(fd, buf + got, len - got);
        g_assert_cmpint(n, >, 0);
        got += n;
    }
    return buf;
}

static int connect_unix(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    return fd;
}

/* Leave a socket file behind, as a crashed process would. */
static void make_stale_socket(const char *path)
{
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);

    g_strlcpy(sun.sun_path, path, sizeof(sun.sun_path));
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), ==, 0);
    close(fd);
    g_assert_true(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* A TCP port nobody uses right now: bind to port 0 and let it go. */
static int free_tcp_port(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(getsockname(fd, (struct sockaddr *)&sin, &len), ==, 0);
    port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

static int connect_tcp(int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin.sin_port = htons(port);
    g_assert_cmpint(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    return fd;
}

/* ---- a fake backend: records output, input fed with chr_be_write ---- */

static GString *fake_output;

static bool fake_open(Chardev *chr, QliteOpts *opts, GError **errp)
{
    chr_be_event(chr, CHR_EVENT_OPENED);
    return true;
}

static int fake_write(Chardev *chr, const uint8_t *buf, int len)
{
    /* Take at most 7 bytes a call: write_all must loop. */
    len = MIN(len, 7);
    g_string_append_len(fake_output, (const char *)buf, len);
    return len;
}

static void fake_class_init(ObjectClass *oc, const void *data)
{
    ChardevClass *cc = (ChardevClass *)oc;

    cc->backend = "testfake";
    cc->open = fake_open;
    cc->write = fake_write;
}

static const TypeInfo fake_info = {
    .name = "chardev-testfake",
    .parent = TYPE_CHARDEV,
    .instance_size = sizeof(Chardev),
    .class_size = sizeof(ChardevClass),
    .class_init = fake_class_init,
};

/* ---- tests ---- */

static void test_null(void)
{
    Chardev *chr = new_chardev_ok("null,id=n0");
    g_autofree char *path = NULL;
    TestFe fe;

    g_assert_true(chardev_find("n0") == chr);
    g_assert_cmpstr(chr->label, ==, "n0");
    g_assert_cmpstr(chr->filename, ==, "null");
    g_assert_false(chardev_is_mux(chr));
    g_assert_true(object_resolve_path("/chardevs/n0", NULL) == OBJECT(chr));
    path = object_get_canonical_path(OBJECT(chr));
    g_assert_cmpstr(path, ==, "/chardevs/n0");

    test_fe_attach(&fe, chr);
    g_assert_true(chr_fe_backend_connected(&fe.be));
    g_assert_cmpint(chr_fe_write_all(&fe.be, (const uint8_t *)"abc", 3), ==, 3);
    /* null never opens, and never produces input */
    g_assert_cmpuint(fe.events->len, ==, 0);
    loop_idle();
    g_assert_cmpuint(fe.in->len, ==, 0);
    test_fe_free(&fe);
    g_assert_false(chr_fe_backend_connected(&fe.be));

    chardev_cleanup_all();
    g_assert_null(chardev_find("n0"));
    g_assert_null(object_resolve_path("/chardevs/n0", NULL));
}

static void test_file(void)
{
    g_autofree char *path = tmp_path("out.txt");
    g_autofree char *spec = g_strdup_printf("file,id=f0,path=%s", path);
    g_autofree char *spec2 =
        g_strdup_printf("file,id=f1,path=%s,append=on", path);
    g_autofree char *data = NULL;
    TestFe fe, fe2;

    g_file_set_contents(path, "old contents\n", -1, NULL);
    test_fe_attach(&fe, new_chardev_ok(spec));
    g_assert_true(test_fe_saw(&fe, CHR_EVENT_OPENED));
    g_assert_cmpint(chr_fe_write_all(&fe.be, (const uint8_t *)"hello\n", 6), ==,
                    6);
    g_assert_true(g_file_get_contents(path, &data, NULL, NULL));
    g_assert_cmpstr(data, ==, "hello\n");
    g_clear_pointer(&data, g_free);

    test_fe_attach(&fe2, new_chardev_ok(spec2));
    chr_fe_write_all(&fe2.be, (const uint8_t *)"more\n", 5);
    g_assert_true(g_file_get_contents(path, &data, NULL, NULL));
    g_assert_cmpstr(data, ==, "hello\nmore\n");
    g_assert_cmpstr(fe.be.chr->filename, ==, "file");

    test_fe_free(&fe);
    test_fe_free(&fe2);
    chardev_cleanup_all();
}

/* Two chardevs, server and client, talking over a unix socket. */
static void test_socket_unix_pair(void)
{
    g_autofree char *path = tmp_path("pair.sock");
    g_autofree char *sspec =
        g_strdup_printf("socket,id=srv,path=%s,server=on,wait=off", path);
    g_autofree char *cspec = g_strdup_printf("socket,id=cli,path=%s", path);
    g_autofree char *want =
        g_strdup_printf("disconnected:unix:%s,server=on", path);
    TestFe srv, cli;
    Chardev *schr;

    /* A stale socket file from an earlier run must not get in the way. */
    make_stale_socket(path);
    schr = new_chardev_ok(sspec);
    g_assert_cmpstr(schr->filename, ==, want);
    test_fe_attach(&srv, schr);
    g_assert_false(schr->be_open);

    test_fe_attach(&cli, new_chardev_ok(cspec));
    g_assert_true(test_fe_saw(&cli, CHR_EVENT_OPENED));
    g_assert_true(loop_until(fe_is_opened, &srv));

    chr_fe_write_all(&cli.be, (const uint8_t *)"ping", 4);
    wait_bytes(&srv, 4);
    g_assert_cmpstr(srv.in->str, ==, "ping");
    chr_fe_write_all(&srv.be, (const uint8_t *)"pong!", 5);
    wait_bytes(&cli, 5);
    g_assert_cmpstr(cli.in->str, ==, "pong!");

    test_fe_free(&srv);
    test_fe_free(&cli);
    chardev_cleanup_all();
    /* The server removes its socket file when it closes. */
    g_assert_false(g_file_test(path, G_FILE_TEST_EXISTS));
}

/* Connect, disconnect, reconnect with a raw peer; events and filename. */
static void test_socket_events(void)
{
    g_autofree char *path = tmp_path("ev.sock");
    g_autofree char *spec =
        g_strdup_printf("socket,id=s0,path=%s,server=on,wait=off", path);
    g_autofree char *connected = g_strdup_printf("unix:%s,server=on", path);
    Chardev *chr = new_chardev_ok(spec);
    TestFe fe;
    int fd;

    test_fe_attach(&fe, chr);
    /* Nobody connected: output is dropped, not an error or a hang. */
    g_assert_cmpint(chr_fe_write_all(&fe.be, (const uint8_t *)"lost", 4), ==,
                    4);

    fd = connect_unix(path);
    g_assert_true(loop_until(fe_is_opened, &fe));
    g_assert_true(chr->be_open);
    g_assert_cmpstr(chr->filename, ==, connected);
    chr_fe_write_all(&fe.be, (const uint8_t *)"hi", 2);
    g_free(read_fd(fd, 2));

    close(fd);
    g_assert_true(loop_until(fe_is_closed, &fe));
    g_assert_false(chr->be_open);
    g_assert_true(g_str_has_prefix(chr->filename, "disconnected:"));

    /* The server listens again for the next client. */
    g_array_set_size(fe.events, 0);
    fd = connect_unix(path);
    g_assert_true(loop_until(fe_is_opened, &fe));
    write_fd(fd, "again");
    wait_bytes(&fe, 5);
    g_assert_cmpstr(fe.in->str, ==, "again");
    close(fd);

    test_fe_free(&fe);
    chardev_cleanup_all();
}

static void test_socket_tcp(void)
{
    int port = free_tcp_port();
    g_autofree char *spec = g_strdup_printf(
        "socket,id=t0,host=127.0.0.1,port=%d,server=on,wait=off", port);
    g_autofree char *idle =
        g_strdup_printf("disconnected:tcp:127.0.0.1:%d,server=on", port);
    g_autofree char *prefix =
        g_strdup_printf("tcp:127.0.0.1:%d,server=on <-> 127.0.0.1:", port);
    g_autofree char *got = NULL;
    Chardev *chr = new_chardev_ok(spec);
    TestFe fe;
    int fd;

    g_assert_cmpstr(chr->filename, ==, idle);
    test_fe_attach(&fe, chr);
    fd = connect_tcp(port);
    g_assert_true(loop_until(fe_is_opened, &fe));
    g_assert_true(g_str_has_prefix(chr->filename, prefix));

    write_fd(fd, "tcp in");
    wait_bytes(&fe, 6);
    g_assert_cmpstr(fe.in->str, ==, "tcp in");
    chr_fe_write_all(&fe.be, (const uint8_t *)"tcp out", 7);
    got = read_fd(fd, 7);
    g_assert_cmpstr(got, ==, "tcp out");
    close(fd);
    g_assert_true(loop_until(fe_is_closed, &fe));

    test_fe_free(&fe);
    chardev_cleanup_all();
}

/* A tcp client chardev against a listening socket of our own. */
static void test_socket_tcp_client(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof(sin);
    int lfd = socket(AF_INET, SOCK_STREAM, 0);
    g_autofree char *spec = NULL;
    g_autofree char *got = NULL;
    TestFe fe;
    int fd;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    g_assert_cmpint(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), ==, 0);
    g_assert_cmpint(listen(lfd, 1), ==, 0);
    g_assert_cmpint(getsockname(lfd, (struct sockaddr *)&sin, &len), ==, 0);
    spec = g_strdup_printf("socket,id=c0,host=127.0.0.1,port=%d",
                           ntohs(sin.sin_port));

    test_fe_attach(&fe, new_chardev_ok(spec));
    g_assert_true(test_fe_saw(&fe, CHR_EVENT_OPENED));
    fd = accept(lfd, NULL, NULL);
    g_assert_cmpint(fd, >=, 0);
    chr_fe_write_all(&fe.be, (const uint8_t *)"client", 6);
    got = read_fd(fd, 6);
    g_assert_cmpstr(got, ==, "client");
    close(fd);
    g_assert_true(loop_until(fe_is_closed, &fe));
    close(lfd);

    test_fe_free(&fe);
    chardev_cleanup_all();
}

/* Input waits while the front end has no room, then arrives in order. */
static void test_flow_control(void)
{
    g_autofree char *path = tmp_path("flow.sock");
    g_autofree char *spec =
        g_strdup_printf("socket,id=fc,path=%s,server=on,wait=off", path);
    TestFe fe;
    int fd;

    test_fe_attach(&fe, new_chardev_ok(spec));
    fd = connect_unix(path);
    g_assert_true(loop_until(fe_is_opened, &fe));

    fe.room = 0;
    write_fd(fd, "0123456789");
    loop_idle();
    g_assert_cmpuint(fe.in->len, ==, 0);
    /* Not even looked at: a full front end must not make the loop spin. */
    g_assert_false(g_main_context_iteration(NULL, false));

    fe.room = 3;
    chr_fe_accept_input(&fe.be);
    wait_bytes(&fe, 3);
    loop_idle();
    g_assert_cmpstr(fe.in->str, ==, "012");

    fe.room = 100;
    chr_fe_accept_input(&fe.be);
    wait_bytes(&fe, 10);
    g_assert_cmpstr(fe.in->str, ==, "0123456789");

    close(fd);
    test_fe_free(&fe);
    chardev_cleanup_all();
}

typedef struct EventLog {
    GString *names;
} EventLog;

static void record_event(const char *name, const char *data, void *opaque)
{
    EventLog *log = opaque;

    g_string_append_printf(log->names, "%s %s;", name, data ? data : "");
}

static void feed(Chardev *base, const char *bytes)
{
    chr_be_write(base, (const uint8_t *)bytes, strlen(bytes));
}

static void test_mux(void)
{
    static EventLog log;
    Chardev *mux = new_chardev_ok("testfake,id=m0,mux=on");
    Chardev *base = chardev_find("m0-base");
    TestFe serial, mon;
    int status = -1;

    if (!log.names) {
        log.names = g_string_new("");
        qlite_event_add_listener(record_event, &log);
    }
    g_assert_true(chardev_is_mux(mux));
    g_assert_nonnull(base);
    g_assert_true(base->in_mux);
    g_assert_cmpstr(mux->filename, ==, "mux");

    /*
     * As in qlite's startup: the monitor attaches first, then the serial
     * port is realized.  The last to install handlers takes the focus,
     * and OPENED comes from the main loop once both are there, so the
     * monitor knows it is out of focus before it could greet.
     */
    test_fe_attach(&mon, mux);
    test_fe_attach(&serial, mux);
    g_assert_cmpint(mon.be.tag, ==, 0);
    g_assert_cmpint(serial.be.tag, ==, 1);
    g_assert_false(mux->be_open);
    g_assert_true(loop_until(fe_is_opened, &mon));
    g_assert_true(test_fe_saw(&serial, CHR_EVENT_OPENED));
    g_assert_cmpuint(mon.events->len, ==, 3);
    g_assert_cmpint(g_array_index(mon.events, ChrEvent, 0), ==,
                    CHR_EVENT_MUX_IN);
    g_assert_cmpint(g_array_index(mon.events, ChrEvent, 1), ==,
                    CHR_EVENT_MUX_OUT);
    g_assert_cmpint(g_array_index(mon.events, ChrEvent, 2), ==,
                    CHR_EVENT_OPENED);
    g_assert_cmpuint(serial.events->len, ==, 2);
    g_assert_cmpint(g_array_index(serial.events, ChrEvent, 0), ==,
                    CHR_EVENT_MUX_IN);

    feed(base, "ab");
    g_assert_cmpstr(serial.in->str, ==, "ab");
    g_assert_cmpuint(mon.in->len, ==, 0);

    /* C-a c: focus to the monitor. */
    feed(base, "\001c");
    g_assert_cmpint(test_fe_last_event(&serial), ==, CHR_EVENT_MUX_OUT);
    g_assert_cmpint(test_fe_last_event(&mon), ==, CHR_EVENT_MUX_IN);
    feed(base, "info\001");
    feed(base, "\001"); /* escape split across two reads */
    g_assert_cmpstr(mon.in->str, ==, "info\001");
    g_assert_cmpstr(serial.in->str, ==, "ab");

    /* C-a b: a break to the focused front end only. */
    feed(base, "\001b");
    g_assert_cmpint(test_fe_last_event(&mon), ==, CHR_EVENT_BREAK);
    g_assert_false(test_fe_saw(&serial, CHR_EVENT_BREAK));

    /* C-a c again: back to the serial port. */
    feed(base, "\001c"
               "z");
    g_assert_cmpint(test_fe_last_event(&serial), ==, CHR_EVENT_MUX_IN);
    g_assert_cmpstr(serial.in->str, ==, "abz");

    /* C-a h prints help on the backend; unknown commands are swallowed. */
    g_string_truncate(fake_output, 0);
    feed(base, "\001h\001q");
    g_assert_nonnull(strstr(fake_output->str, "C-a x    exit emulator"));
    g_assert_nonnull(strstr(fake_output->str, "C-a c"));
    g_assert_cmpstr(serial.in->str, ==, "abz");

    /* Output from every front end reaches the backend, whole. */
    g_string_truncate(fake_output, 0);
    chr_fe_write_all(&serial.be, (const uint8_t *)"from the serial port", 20);
    chr_fe_write_all(&mon.be, (const uint8_t *)"(qlite) ", 8);
    g_assert_cmpstr(fake_output->str, ==, "from the serial port(qlite) ");

    /* C-a t: timestamps at the start of each later output line. */
    g_string_truncate(fake_output, 0);
    feed(base, "\001t");
    chr_fe_write_all(&serial.be, (const uint8_t *)"one\ntwo", 7);
    g_assert_true(g_str_has_prefix(fake_output->str, "one\n[00:00:00."));
    g_assert_true(g_str_has_suffix(fake_output->str, "] two"));
    feed(base, "\001t");
    g_string_truncate(fake_output, 0);
    chr_fe_write_all(&serial.be, (const uint8_t *)"\nthree", 6);
    g_assert_cmpstr(fake_output->str, ==, "\nthree");

    /* C-a s: no -snapshot commit here; it says so. */
    g_string_truncate(fake_output, 0);
    feed(base, "\001s");
    g_assert_nonnull(strstr(fake_output->str, "not supported"));

    /* C-a x: terminates through a host-ui shutdown request. */
    g_assert_false(runstate_handle_requests(&status));
    g_string_truncate(fake_output, 0);
    feed(base, "\001x");
    g_assert_nonnull(strstr(fake_output->str, "qlite: Terminated"));
    g_assert_true(runstate_handle_requests(&status));
    g_assert_cmpint(status, ==, 0);
    g_assert_nonnull(strstr(log.names->str, "SHUTDOWN"));
    g_assert_nonnull(strstr(log.names->str, "host-ui"));

    test_fe_free(&serial);
    test_fe_free(&mon);
    chardev_cleanup_all();
    g_assert_null(chardev_find("m0-base"));
}

/* A full front end: the mux buffers a little, then stops taking input. */
static void test_mux_flow_control(void)
{
    Chardev *mux = new_chardev_ok("testfake,id=m1,mux=on");
    Chardev *base = chardev_find("m1-base");
    TestFe serial;
    int room;

    test_fe_attach(&serial, mux);
    serial.room = 0;
    room = chr_be_can_write(base);
    g_assert_cmpint(room, >, 0);
    feed(base, "xyz");
    g_assert_cmpuint(serial.in->len, ==, 0);
    g_assert_cmpint(chr_be_can_write(base), ==, room - 3);

    serial.room = 2;
    chr_fe_accept_input(&serial.be);
    g_assert_cmpstr(serial.in->str, ==, "xy");
    serial.room = 10;
    chr_fe_accept_input(&serial.be);
    g_assert_cmpstr(serial.in->str, ==, "xyz");
    g_assert_cmpint(chr_be_can_write(base), ==, room);

    /* C-a x still works when the guest is not reading. */
    serial.room = 0;
    feed(base, "\001x");
    g_assert_true(runstate_handle_requests(&room));

    test_fe_free(&serial);
    chardev_cleanup_all();
}

static void test_pty(void)
{
    g_autofree char *got = NULL;
    Chardev *chr = new_chardev_ok("pty,id=p0");
    TestFe fe;
    int fd;

    g_assert_true(g_str_has_prefix(chr->filename, "pty:/dev/"));
    test_fe_attach(&fe, chr);
    g_assert_false(chr->be_open);
    /* Nobody on the other side: writing must not block or fail. */
    g_assert_cmpint(chr_fe_write_all(&fe.be, (const uint8_t *)"void", 4), ==,
                    4);

    fd = open(chr->filename + 4, O_RDWR | O_NOCTTY);
    g_assert_cmpint(fd, >=, 0);
    g_assert_true(loop_until(fe_is_opened, &fe));
    chr_fe_write_all(&fe.be, (const uint8_t *)"to pty", 6);
    got = read_fd(fd, 6);
    g_assert_cmpstr(got, ==, "to pty");
    write_fd(fd, "from pty");
    wait_bytes(&fe, 8);
    g_assert_cmpstr(fe.in->str, ==, "from pty");
    close(fd);
    g_assert_true(loop_until(fe_is_closed, &fe));

    test_fe_free(&fe);
    chardev_cleanup_all();
}

/* stdio with fd 0 and fd 1 swapped for pipes. */
static void test_stdio(void)
{
    int saved_in = dup(0), saved_out = dup(1);
    int in[2], out[2];
    g_autofree char *got = NULL;
    GError *err = NULL;
    TestFe fe;

    g_assert_cmpint(pipe(in), ==, 0);
    g_assert_cmpint(pipe(out), ==, 0);
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]);
    close(out[1]);

    test_fe_attach(&fe, new_chardev_ok("stdio,id=st,signal=off"));
    g_assert_true(test_fe_saw(&fe, CHR_EVENT_OPENED));
    g_assert_null(new_chardev("stdio,id=st2", &err));
    g_assert_nonnull(strstr(err->message, "multiple"));
    g_clear_error(&err);

    chr_fe_write_all(&fe.be, (const uint8_t *)"console", 7);
    got = read_fd(out[0], 7);
    g_assert_cmpstr(got, ==, "console");
    write_fd(in[1], "keys");
    wait_bytes(&fe, 4);
    g_assert_cmpstr(fe.in->str, ==, "keys");

    /* End of input: the source goes away instead of spinning. */
    close(in[1]);
    loop_idle();
    g_assert_false(g_main_context_iteration(NULL, false));

    test_fe_free(&fe);
    chardev_cleanup_all();
    dup2(saved_in, 0);
    dup2(saved_out, 1);
    close(saved_in);
    close(saved_out);
    close(out[0]);
}

static bool tty_is_raw(int fd)
{
    struct termios tty;

    g_assert_cmpint(tcgetattr(fd, &tty), ==, 0);
    return !(tty.c_lflag & (ICANON | ECHO));
}

static bool tty_has_isig(int fd)
{
    struct termios tty;

    g_assert_cmpint(tcgetattr(fd, &tty), ==, 0);
    return tty.c_lflag & ISIG;
}

/* Child: stdin on the pty named by $TEST_PTS, raw mode, then exit. */
static void test_stdio_tty_child(void)
{
    int fd = open(g_getenv("TEST_PTS"), O_RDWR | O_NOCTTY);

    g_assert_cmpint(fd, >=, 0);
    dup2(fd, 0);
    new_chardev_ok("stdio,id=tty");
    g_assert_true(tty_is_raw(0));
    qlite_system_exit(0);
}

/* A terminal on stdin goes raw, and comes back on close and on exit. */
static void test_stdio_tty(void)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    int saved_in = dup(0);
    int slave;

    g_assert_cmpint(master, >=, 0);
    g_assert_cmpint(grantpt(master) | unlockpt(master), ==, 0);
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    g_assert_cmpint(slave, >=, 0);
    g_assert_false(tty_is_raw(slave));
    dup2(slave, 0);

    new_chardev_ok("stdio,id=tty");
    g_assert_true(tty_is_raw(slave));
    g_assert_true(tty_has_isig(slave));
    chardev_cleanup_all();
    g_assert_false(tty_is_raw(slave));

    /* Under a mux Ctrl-C is a key for the guest, not a signal. */
    new_chardev_ok("stdio,id=tty,mux=on");
    g_assert_true(tty_is_raw(slave));
    g_assert_false(tty_has_isig(slave));
    chardev_cleanup_all();
    g_assert_false(tty_is_raw(slave));
    g_assert_true(tty_has_isig(slave));
    dup2(saved_in, 0);
    close(saved_in);

    /* The exit path restores it even without a close. */
    g_setenv("TEST_PTS", ptsname(master), true);
    g_test_trap_subprocess("/chardev/stdio/tty/subprocess", 0, 0);
    g_test_trap_assert_passed();
    g_assert_false(tty_is_raw(slave));
    close(slave);
    close(master);
}

static void test_legacy(void)
{
    g_autofree char *upath = tmp_path("legacy.sock");
    g_autofree char *fpath = tmp_path("legacy.txt");
    g_autofree char *uspec = g_strdup_printf("unix:%s,server,nowait", upath);
    g_autofree char *fspec = g_strdup_printf("file:%s", fpath);
    int port = free_tcp_port();
    g_autofree char *tspec = g_strdup_printf("tcp:127.0.0.1:%d,server=on,"
                                             "wait=off",
                                             port);
    g_autofree char *tname =
        g_strdup_printf("disconnected:tcp:127.0.0.1:%d,server=on", port);
    g_autofree char *uname =
        g_strdup_printf("disconnected:unix:%s,server=on", upath);
    GError *err = NULL;
    Chardev *chr;

    g_assert_null(chardev_new_legacy("serial9", "none", &err));
    g_assert_no_error(err);

    chr = chardev_new_legacy("serial0", "null", &err);
    g_assert_no_error(err);
    g_assert_cmpstr(chr->filename, ==, "null");
    g_assert_true(chardev_new_legacy("x", "chardev:serial0", &err) == chr);

    chr = chardev_new_legacy("serial1", uspec, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(chr->filename, ==, uname);

    chr = chardev_new_legacy("serial2", tspec, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(chr->filename, ==, tname);

    chr = chardev_new_legacy("serial3", fspec, &err);
    g_assert_no_error(err);
    g_assert_cmpstr(chr->filename, ==, "file");
    g_assert_true(g_file_test(fpath, G_FILE_TEST_EXISTS));

    chr = chardev_new_legacy("compat_monitor0", "mon:null", &err);
    g_assert_no_error(err);
    g_assert_true(chardev_is_mux(chr));
    g_assert_nonnull(chardev_find("compat_monitor0-base"));

    chr = chardev_new_legacy("vc0", "vc:80Cx24C", &err);
    g_assert_no_error(err);
    g_assert_cmpstr(chr->filename, ==, "null");

    g_assert_null(chardev_new_legacy("x", "chardev:nope", &err));
    g_assert_nonnull(strstr(err->message, "nope"));
    g_clear_error(&err);
    g_assert_null(chardev_new_legacy("x", "bogus", &err));
    g_assert_cmpstr(err->message, ==,
                    "'bogus' is not a valid char driver name");
    g_clear_error(&err);
    g_assert_null(chardev_new_legacy("x", "tcp:nohostport", &err));
    g_clear_error(&err);

    {
        GPtrArray *all = chardev_list();

        /* serial0 1 2 3, compat_monitor0-base, compat_monitor0, vc0 */
        g_assert_cmpuint(all->len, ==, 7);
        g_ptr_array_unref(all);
    }
    chardev_cleanup_all();
    g_assert_false(g_file_test(upath, G_FILE_TEST_EXISTS));
}

static void test_errors(void)
{
    g_autofree char *nosock = tmp_path("nobody.sock");
    g_autofree char *refused = g_strdup_printf("socket,id=r,path=%s", nosock);

    expect_error("foo,id=x", "'foo' is not a valid char driver name");
    expect_error("null", "Parameter 'id' is missing");
    expect_error("null,id=1x", "Parameter 'id' expects an identifier");
    expect_error("file,id=x", "chardev: file: no filename given");
    expect_error("file,id=x,path=/nonexistent-dir/f", "Could not open");
    expect_error("socket,id=x,host=127.0.0.1,port=abc,server=on,wait=off",
                 "invalid port 'abc'");
    expect_error("socket,id=x,host=127.0.0.1,port=70000", "invalid port");
    expect_error("socket,id=x,host=127.0.0.1", "no port given");
    expect_error("socket,id=x", "no host given");
    expect_error("socket,id=x,path=/tmp/a,wait=off", "client connect mode");
    expect_error(refused, "Failed to connect");
    expect_error("null,id=x,colour=red", "colour");
    expect_error("null,id=x,mux=maybe", "mux");
    expect_error("mux,id=x,chardev=none", "not a chardev to multiplex");

    new_chardev_ok("null,id=dup");
    expect_error("null,id=dup", "Duplicate ID 'dup' for chardev");
    expect_error("null,id=dup,mux=on", "Duplicate ID 'dup' for chardev");
    /* The failed mux left no half-made backend behind. */
    g_assert_null(chardev_find("dup-base"));
    chardev_cleanup_all();
}

/* A device takes a chardev once; a mux takes several front ends. */
static void test_in_use(void)
{
    Chardev *chr = new_chardev_ok("null,id=u0");
    Chardev *mux = new_chardev_ok("null,id=u1,mux=on");
    CharBackend a = {0}, b = {0}, m[5] = {0};
    GError *err = NULL;

    g_assert_true(chr_fe_init(&a, chr, &err));
    g_assert_false(chr_fe_init(&b, chr, &err));
    g_assert_cmpstr(err->message, ==, "Device 'u0' is in use");
    g_clear_error(&err);
    g_assert_false(chr_fe_init(&b, chardev_find("u1-base"), &err));
    g_clear_error(&err);
    chr_fe_deinit(&a);
    g_assert_true(chr_fe_init(&b, chr, &err));

    for (int i = 0; i < 4; i++) {
        g_assert_true(chr_fe_init(&m[i], mux, &err));
        g_assert_cmpint(m[i].tag, ==, i);
    }
    g_assert_false(chr_fe_init(&m[4], mux, &err));
    g_clear_error(&err);
    chardev_cleanup_all();
    /* Front ends are cut loose, not left pointing at freed chardevs. */
    g_assert_false(chr_fe_backend_connected(&b));
    g_assert_false(chr_fe_backend_connected(&m[0]));
}

int main(int argc, char **argv)
{
    int ret;

    g_test_init(&argc, &argv, NULL);
    qlite_register_all_types();
    type_register(&fake_info);
    fake_output = g_string_new("");
    tmpdir = g_dir_make_tmp("test-chardev-XXXXXX", NULL);
    g_assert_nonnull(tmpdir);

    g_test_add_func("/chardev/null", test_null);
    g_test_add_func("/chardev/file", test_file);
    g_test_add_func("/chardev/socket/unix-pair", test_socket_unix_pair);
    g_test_add_func("/chardev/socket/events", test_socket_events);
    g_test_add_func("/chardev/socket/tcp", test_socket_tcp);
    g_test_add_func("/chardev/socket/tcp-client", test_socket_tcp_client);
    g_test_add_func("/chardev/flow-control", test_flow_control);
    g_test_add_func("/chardev/mux", test_mux);
    g_test_add_func("/chardev/mux/flow-control", test_mux_flow_control);
    g_test_add_func("/chardev/pty", test_pty);
    g_test_add_func("/chardev/stdio", test_stdio);
    g_test_add_func("/chardev/stdio/tty", test_stdio_tty);
    g_test_add_func("/chardev/stdio/tty/subprocess", test_stdio_tty_child);
    g_test_add_func("/chardev/legacy", test_legacy);
    g_test_add_func("/chardev/errors", test_errors);
    g_test_add_func("/chardev/in-use", test_in_use);
    ret = g_test_run();
    g_rmdir(tmpdir);
    return ret;
}
