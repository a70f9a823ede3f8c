/* Status codes, per-thread error messages, logging, thread settings and checked allocation.
 * The error buffer is thread-local so parallel per-node work (FIUn) reports independently.
 * Deliberately no global mutable state besides the log sink and the thread count.
 */
#include "unlearn/base.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <omp.h>

#include "tensor/blas.h"

static _Thread_local char g_err[1024];

const char *ul_status_str(ul_status s) {
    switch (s) {
    case UL_OK: return "ok";
    case UL_E_ARG: return "invalid argument";
    case UL_E_NOMEM: return "out of memory";
    case UL_E_IO: return "I/O error";
    case UL_E_FORMAT: return "malformed file";
    case UL_E_SHAPE: return "shape mismatch";
    case UL_E_NOTFOUND: return "not found";
    case UL_E_NUMERIC: return "non-finite value";
    case UL_E_INTERNAL: return "internal error";
    case UL_E_UNSUPPORTED: return "unsupported";
    case UL_E_BUSY: return "busy";
    default: return "unknown status";
    }
}

const char *ul_last_error(void) { return g_err; }
void ul_clear_error(void) { g_err[0] = '\0'; }

ul_status ul_fail(ul_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(g_err, sizeof g_err, fmt, ap);
    va_end(ap);
    return s;
}

ul_status ul_fail_ctx(ul_status s, const char *fmt, ...) {
    char prefix[512], old[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, g_err, sizeof old);
    const char *rest = old[0] ? old : ul_status_str(s);
    size_t pl = strlen(prefix);
    memcpy(g_err, prefix, pl);
    size_t pos = pl;
    if (pos + 2 < sizeof g_err) { g_err[pos++] = ':'; g_err[pos++] = ' '; }
    size_t rl = strlen(rest);
    if (rl > sizeof g_err - 1 - pos) rl = sizeof g_err - 1 - pos;
    memcpy(g_err + pos, rest, rl);
    g_err[pos + rl] = '\0';
    return s;
}

static ul_log_level g_log_level = UL_LOG_INFO;
static ul_log_fn g_log_fn = NULL;
static void *g_log_user = NULL;

void ul_log_set(ul_log_level min_level, ul_log_fn fn, void *user) {
    g_log_level = min_level;
    g_log_fn = fn;
    g_log_user = user;
}

void ul_log(ul_log_level level, const char *fmt, ...) {
    if (level < g_log_level) return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (g_log_fn) {
        g_log_fn(level, msg, g_log_user);
    } else {
        static const char *tag[] = {"debug", "info", "warning", "error", ""};
        if (level == UL_LOG_INFO) fprintf(stderr, "%s\n", msg);
        else fprintf(stderr, "%s: %s\n", tag[level], msg);
    }
}

static int g_threads = 0;

void ul_set_threads(int n) {
    if (n <= 0) n = omp_get_num_procs();
    g_threads = n;
    ul_blas_set_threads(n); /* first: OpenBLAS's OpenMP build sets the OpenMP thread count too */
    omp_set_num_threads(n);
}

int ul_get_threads(void) {
    if (g_threads <= 0) ul_set_threads(0);
    return g_threads;
}

double ul_float_shortest(float f) {
    char buf[64];
    for (int prec = 6; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        double d = strtod(buf, NULL);
        if ((float)d == f) return d;
    }
    return (double)f;
}

double ul_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void *ul_malloc(size_t nmemb, size_t size) {
    if (size && nmemb > SIZE_MAX / size) {
        ul_fail(UL_E_NOMEM, "allocation of %zu x %zu bytes overflows", nmemb, size);
        return NULL;
    }
    size_t bytes = nmemb * size;
    void *p = malloc(bytes ? bytes : 1);
    if (!p) ul_fail(UL_E_NOMEM, "out of memory allocating %zu bytes", nmemb * size);
    return p;
}

void *ul_calloc(size_t nmemb, size_t size) {
    if (size && nmemb > SIZE_MAX / size) {
        ul_fail(UL_E_NOMEM, "allocation of %zu x %zu bytes overflows", nmemb, size);
        return NULL;
    }
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);
    if (!p) ul_fail(UL_E_NOMEM, "out of memory allocating %zu bytes", nmemb * size);
    return p;
}

void *ul_alloc_aligned(size_t nmemb, size_t size) {
    if (size && nmemb > (SIZE_MAX - 64) / size) {
        ul_fail(UL_E_NOMEM, "allocation of %zu x %zu bytes overflows", nmemb, size);
        return NULL;
    }
    size_t bytes = (nmemb * size + 63) / 64 * 64;
    if (bytes == 0) bytes = 64;
    void *p = aligned_alloc(64, bytes);
    if (!p) {
        ul_fail(UL_E_NOMEM, "out of memory allocating %zu bytes", bytes);
        return NULL;
    }
    memset(p, 0, bytes);
    return p;
}
