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

/* A synthetic IDX pair (images, labels) of n samples of side x side uint8 pixels in 10 classes:
 * class c < side lights row c, the others light column (c - side + 2); noise below 90 elsewhere.
 * Labels cycle as (7i + 3) mod 10 so every class appears in any long enough range. */
static inline void ult_write_pattern_idx(const char *images, const char *labels, size_t n, int side, uint64_t seed) {
    uint64_t r = seed * 0x9e3779b97f4a7c15ULL + 1;
    const size_t img = (size_t)side * side;
    uint8_t *px = malloc(16 + n * img), *lb = malloc(8 + n);
    assert_non_null(px);
    assert_non_null(lb);
    const uint32_t hp[4] = {0x00000803, (uint32_t)n, (uint32_t)side, (uint32_t)side}, hl[2] = {0x00000801, (uint32_t)n};
    for (int k = 0; k < 4; k++)
        for (int b = 0; b < 4; b++) px[4 * k + b] = (uint8_t)(hp[k] >> (24 - 8 * b));
    for (int k = 0; k < 2; k++)
        for (int b = 0; b < 4; b++) lb[4 * k + b] = (uint8_t)(hl[k] >> (24 - 8 * b));
    for (size_t i = 0; i < n; i++) {
        int c = (int)((i * 7 + 3) % 10);
        lb[8 + i] = (uint8_t)c;
        uint8_t *p = px + 16 + i * img;
        for (size_t j = 0; j < img; j++) {
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            p[j] = (uint8_t)(r % 90);
        }
        for (int k = 0; k < side; k++) {
            int at = c < side ? c * side + k : k * side + (c - side + 2);
            r ^= r << 13; r ^= r >> 7; r ^= r << 17;
            p[at] = (uint8_t)(170 + r % 80);
        }
    }
    ult_write(images, px, 16 + n * img);
    ult_write(labels, lb, 8 + n);
    free(px);
    free(lb);
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
