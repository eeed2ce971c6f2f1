/*
 * Fd sets: "/dev/fdset/N" opens a dup of the set's fd whose access mode
 * matches; remove-fd; named fds.
 */
#include "qlite/fdset.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

static char *tmp_file(void)
{
    GError *err = NULL;
    char *path = NULL;
    int fd = g_file_open_tmp("qlite-fdset-XXXXXX", &path, &err);

    g_assert_no_error(err);
    g_assert_cmpint(write(fd, "abcdef", 6), ==, 6);
    close(fd);
    return path;
}

static bool same_file(int a, int b)
{
    struct stat sa, sb;

    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 &&
           sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev;
}

static void test_pick_by_mode(void)
{
    g_autofree char *path = tmp_file();
    int ro = open(path, O_RDONLY), wo = open(path, O_WRONLY);
    GError *err = NULL;
    int fd;

    g_assert_cmpint(fdset_add_fd(4, ro, "r", &err), ==, 4);
    g_assert_cmpint(fdset_add_fd(4, wo, NULL, &err), ==, 4);
    fd = qlite_open("/dev/fdset/4", O_WRONLY | O_APPEND, 0, &err);
    g_assert_no_error(err);
    g_assert_cmpint(fd, !=, wo);
    g_assert_true(same_file(fd, wo));
    g_assert_cmpint(fcntl(fd, F_GETFL) & O_ACCMODE, ==, O_WRONLY);
    g_assert_true(fcntl(fd, F_GETFL) & O_APPEND);
    g_assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
    close(fd);
    /* no O_RDWR fd in the set */
    g_assert_cmpint(qlite_open("/dev/fdset/4", O_RDWR, 0, &err), ==, -1);
    g_assert_nonnull(strstr(err->message, "Permission denied"));
    g_clear_error(&err);
    /* a truncating open truncates through the dup */
    fd = qlite_open("/dev/fdset/4", O_WRONLY | O_TRUNC, 0, &err);
    g_assert_cmpint(fd, >=, 0);
    close(fd);
    g_assert_true(fdset_remove_fd(4, -1, &err));
    g_assert_cmpint(fcntl(ro, F_GETFD), ==, -1);    /* closed with it */
    {
        g_autofree char *text = NULL;
        gsize len;

        g_assert_true(g_file_get_contents(path, &text, &len, NULL));
        g_assert_cmpuint(len, ==, 0);
    }
    unlink(path);
}

static void test_errors(void)
{
    GError *err = NULL;

    g_assert_cmpint(qlite_open("/dev/fdset/99", O_RDONLY, 0, &err), ==, -1);
    g_assert_cmpstr(err->message, ==, "Could not open '/dev/fdset/99': "
                    "No such file or directory");
    g_clear_error(&err);
    g_assert_cmpint(qlite_open("/dev/fdset/x", O_RDONLY, 0, &err), ==, -1);
    g_clear_error(&err);
    g_assert_false(fdset_remove_fd(99, -1, &err));
    g_assert_cmpstr(err->message, ==,
                    "File descriptor named 'fdset-id:99' not found");
    g_clear_error(&err);
    g_assert_cmpint(fdset_add_fd(1, 1000, NULL, &err), ==, -1);
    g_clear_error(&err);
}

static void count_sets(int64_t id, const FdsetFdInfo *fds, size_t n,
                       void *opaque)
{
    (*(int *)opaque)++;
}

/* A negative id takes the lowest free one; remove one fd of a set. */
static void test_auto_id_and_remove_one(void)
{
    int a = open("/dev/null", O_RDONLY), b = open("/dev/null", O_RDONLY);
    GError *err = NULL;
    int sets = 0;

    g_assert_cmpint(fdset_add_fd(-1, a, NULL, &err), ==, 0);
    g_assert_cmpint(fdset_add_fd(0, b, NULL, &err), ==, 0);
    g_assert_true(fdset_remove_fd(0, a, &err));
    fdset_foreach(count_sets, &sets);
    g_assert_cmpint(sets, ==, 1);
    g_assert_false(fdset_remove_fd(0, a, &err));
    g_clear_error(&err);
    g_assert_true(fdset_remove_fd(0, b, &err));
    sets = 0;
    fdset_foreach(count_sets, &sets);
    g_assert_cmpint(sets, ==, 0);
}

static void test_named(void)
{
    int fd = open("/dev/null", O_RDONLY);
    GError *err = NULL;

    named_fd_add("tap0", fd);
    g_assert_cmpint(named_fd_take("tap0"), ==, fd);
    g_assert_cmpint(named_fd_take("tap0"), ==, -1);
    named_fd_add("tap0", fd);
    g_assert_true(named_fd_close("tap0", &err));
    g_assert_cmpint(fcntl(fd, F_GETFD), ==, -1);
    g_assert_false(named_fd_close("tap0", &err));
    g_assert_cmpstr(err->message, ==,
                    "File descriptor named 'tap0' not found");
    g_error_free(err);
}

int main(int argc, char **argv)
{
    g_test_init(&argc, &argv, NULL);
    g_test_add_func("/fdset/pick-by-mode", test_pick_by_mode);
    g_test_add_func("/fdset/errors", test_errors);
    g_test_add_func("/fdset/auto-id-and-remove-one",
                    test_auto_id_and_remove_one);
    g_test_add_func("/fdset/named", test_named);
    return g_test_run();
}
