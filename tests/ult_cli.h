/* Shared by the tests that run the built `unlearn` binary (test_cli, test_net_cli): run a command
 * line with stdout and stderr captured into files of the test's directory, read files whole, and
 * check exit codes and output with messages that show both streams. Each test file defines
 * g_cli (the binary, from env UL_CLI) and g_dir (its temporary directory) before including this.
 */
#ifndef ULT_CLI_H
#define ULT_CLI_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>

/* A whole file as a NUL-terminated malloc'd string (NULL when it cannot be opened). */
static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, n = 0, k;
    char *b = malloc(cap + 1);
    while ((k = fread(b + n, 1, cap - n, f)) > 0) {
        n += k;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap + 1);
        }
    }
    fclose(f);
    b[n] = '\0';
    if (len) *len = n;
    return b;
}

typedef struct run_result {
    int code;  /* exit status, or -1 if it did not exit normally */
    char *out; /* stdout, NUL-terminated */
    char *err; /* stderr */
} run_result;

static void run_free(run_result *r) {
    free(r->out);
    free(r->err);
}

/* Run `unlearn <args>` (args is shell text) with stdout/stderr captured. */
static run_result run(const char *fmt, ...) UL_PRINTF(1, 2);
static run_result run(const char *fmt, ...) {
    char args[4096], cmd[8192], o[600], e[600]; /* not ult_path: its rotating buffers belong to callers */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(o, sizeof o, "%s/stdout.txt", g_dir);
    snprintf(e, sizeof e, "%s/stderr.txt", g_dir);
    snprintf(cmd, sizeof cmd, "'%s' %s >'%s' 2>'%s' </dev/null", g_cli, args, o, e);
    int st = system(cmd);
    run_result r;
    r.code = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    r.out = slurp(o, NULL);
    r.err = slurp(e, NULL);
    if (!r.out) r.out = calloc(1, 1);
    if (!r.err) r.err = calloc(1, 1);
    return r;
}

#define EXPECT_CODE(r, want, what)                                                                     \
    do {                                                                                               \
        if ((r).code != (want))                                                                        \
            fail_msg("%s: exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", (what), (r).code, (want),   \
                     (r).out, (r).err);                                                                \
    } while (0)

#define EXPECT_HAS(text, needle, what)                                                                 \
    do {                                                                                               \
        if (!strstr((text), (needle))) fail_msg("%s: output lacks '%s':\n%s", (what), (needle), (text)); \
    } while (0)

#endif
