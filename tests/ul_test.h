/* Shared helpers for the cmocka test executables: temporary directories, file writing and
 * tolerance checks. Every test binary returns cmocka's failure count, so CTest sees failures.
 */
#ifndef UL_TEST_H
#define UL_TEST_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "unlearn/base.h"

/* A fresh directory for this test process: $UL_TEST_TMP/<name>.<pid> (or /tmp/...). Static
 * storage; created on first call. */
static inline const char *ult_tmpdir(const char *name) {
    static char dir[512];
    const char *root = getenv("UL_TEST_TMP");
    if (!root || !*root) root = "/tmp";
    mkdir(root, 0755);
    snprintf(dir, sizeof dir, "%s/%s.%ld", root, name, (long)getpid());
    mkdir(dir, 0755);
    return dir;
}

/* path = dir/file into buf (static rotating buffers so two can be used in one call). */
static inline const char *ult_path(const char *dir, const char *file) {
    static char bufs[4][600];
    static int k = 0;
    char *b = bufs[k++ & 3];
    snprintf(b, 600, "%s/%s", dir, file);
    return b;
}

static inline void ult_write(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (n) assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* |a - b| <= atol + rtol * |b| */
#define ULT_CLOSE(a, b, atol, rtol)                                                                    \
    do {                                                                                               \
        double ult_a_ = (double)(a), ult_b_ = (double)(b);                                             \
        if (!(fabs(ult_a_ - ult_b_) <= (atol) + (rtol)*fabs(ult_b_)))                                  \
            fail_msg("%s = %.9g, expected %s = %.9g (atol %g, rtol %g)", #a, ult_a_, #b, ult_b_,       \
                     (double)(atol), (double)(rtol));                                                  \
    } while (0)

/* Expect status `st` from `expr` and print the error message when it differs. */
#define ULT_OK(expr)                                                                                   \
    do {                                                                                               \
        ul_status ult_s_ = (expr);                                                                     \
        if (ult_s_ != UL_OK) fail_msg("%s -> %s: %s", #expr, ul_status_str(ult_s_), ul_last_error()); \
    } while (0)
#define ULT_FAILS(expr, st)                                                                            \
    do {                                                                                               \
        ul_status ult_s_ = (expr);                                                                     \
        if (ult_s_ != (st))                                                                            \
            fail_msg("%s -> %s (%s), expected %s", #expr, ul_status_str(ult_s_), ul_last_error(),      \
                     ul_status_str(st));                                                               \
    } while (0)

/* The error message must contain `needle` (so messages name the file/field). */
#define ULT_ERR_HAS(needle)                                                                            \
    do {                                                                                               \
        if (!strstr(ul_last_error(), (needle)))                                                        \
            fail_msg("error message '%s' does not mention '%s'", ul_last_error(), (needle));           \
    } while (0)

#endif
