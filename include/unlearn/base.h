/* unlearn/base.h: status codes, error messages, version, logging and thread settings.
 *
 * Every fallible function in libunlearn returns a ul_status. On failure it also leaves a
 * human-readable message (naming the file, field or tensor at fault) in a per-thread
 * buffer that ul_last_error() returns. The library never calls exit() or abort() on bad
 * input; assert() guards internal invariants only.
 */
#ifndef UNLEARN_BASE_H
#define UNLEARN_BASE_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#define UL_VERSION_MAJOR 0
#define UL_VERSION_MINOR 1
#define UL_VERSION_PATCH 0
#define UL_VERSION_STRING "0.1.0"

#if defined(__GNUC__)
#define UL_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define UL_PRINTF(a, b)
#endif

/* Status codes. 0 is success, negatives are failures grouped by who is at fault. */
typedef enum ul_status {
    UL_OK = 0,
    UL_E_ARG = -1,      /* caller passed an invalid argument (usage error) */
    UL_E_NOMEM = -2,    /* allocation failed or a size overflowed */
    UL_E_IO = -3,       /* open/read/write/rename/fsync failed */
    UL_E_FORMAT = -4,   /* a file's contents are malformed (bad magic, truncated, bad header) */
    UL_E_SHAPE = -5,    /* shapes, dtypes or architectures do not match */
    UL_E_NOTFOUND = -6, /* a named thing (dataset, tensor, file) does not exist */
    UL_E_NUMERIC = -7,  /* NaN or Inf where finite values are required */
    UL_E_INTERNAL = -8, /* a bug: an internal invariant failed */
    UL_E_UNSUPPORTED = -9, /* valid request that this build does not implement */
    UL_E_BUSY = -10,    /* another process holds the network's write lock past the busy timeout, or
                           changed what a request read before it committed; nothing was changed,
                           retrying may succeed */
    UL_STATUS_COUNT = 11
} ul_status;

/* Short constant name of a status ("ok", "bad argument", ...). Never NULL; static storage. */
const char *ul_status_str(ul_status s);

/* The message of the last failure on this thread (static per-thread storage, valid until the
 * next failure on this thread). "" when none has been recorded. */
const char *ul_last_error(void);

/* Record a failure message and return `s` (so callers can `return ul_fail(...)`). The message
 * is formatted like printf and truncated to 1 KiB. Thread-safe (per-thread buffer). */
ul_status ul_fail(ul_status s, const char *fmt, ...) UL_PRINTF(2, 3);

/* Prefix the current error message with more context ("loading x.safetensors: ..."), keep `s`. */
ul_status ul_fail_ctx(ul_status s, const char *fmt, ...) UL_PRINTF(2, 3);

/* Clear the per-thread error message. */
void ul_clear_error(void);

/* Logging. Messages at or above the level go to the callback (default: stderr). */
typedef enum ul_log_level { UL_LOG_DEBUG = 0, UL_LOG_INFO = 1, UL_LOG_WARN = 2, UL_LOG_ERROR = 3, UL_LOG_QUIET = 4 } ul_log_level;
typedef void (*ul_log_fn)(ul_log_level level, const char *msg, void *user);
void ul_log_set(ul_log_level min_level, ul_log_fn fn, void *user); /* fn NULL = stderr */
void ul_log(ul_log_level level, const char *fmt, ...) UL_PRINTF(2, 3);

/* Threads used by OpenMP regions and OpenBLAS. n <= 0 means "all cores". Results are
 * bit-identical for the same seed and the same thread count. */
void ul_set_threads(int n);
int ul_get_threads(void);

/* The shortest decimal (6 to 9 significant digits) that reads back as the same float, as a
 * double: for JSON records that state an exact float32 value. */
double ul_float_shortest(float f);

/* Monotonic wall clock in seconds. */
double ul_now(void);

/* Checked allocation helpers: return NULL and record UL_E_NOMEM on overflow/failure.
 * Memory is freed with free(). ul_calloc zero-fills. */
void *ul_malloc(size_t nmemb, size_t size);
void *ul_calloc(size_t nmemb, size_t size);
/* 64-byte aligned, zero-filled; free with free(). */
void *ul_alloc_aligned(size_t nmemb, size_t size);

#ifdef __cplusplus
}
#endif
#endif
