/* cli/common.c: messages, dataset loading, class names, provenance normalisation and
 * formatting helpers shared by the subcommands (see common.h).
 */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

static void vmsg(const char *cmd, const char *kind, const char *fmt, va_list ap) {
    fprintf(stderr, "unlearn %s: %s: ", cmd, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

void cli_err(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg(cmd, "error", fmt, ap);
    va_end(ap);
}

void cli_warn(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vmsg(cmd, "warning", fmt, ap);
    va_end(ap);
}

void cli_hint(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("hint: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_fail(const char *cmd, ul_status st, cli_origin o, const char *what) {
    const char *msg = ul_last_error();
    if (!msg || !*msg) msg = ul_status_str(st);
    if (what && *what && !strstr(msg, what)) cli_err(cmd, "%s: %s", what, msg);
    else cli_err(cmd, "%s", msg);
    int code = cli_exit_code(st, o);
    if (code == CLI_EXIT_INTERNAL && st != UL_E_NOMEM && st != UL_E_UNSUPPORTED)
        cli_hint("this is a bug in unlearn; please report it with the command line that triggered it");
    return code;
}

int cli_load_data(const char *cmd, const char *spec, const char *split, ul_dataset **out) {
    ul_status st = ul_dataset_load(spec, split, out);
    if (st == UL_OK) return 0;
    int code = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
    if (st == UL_E_NOTFOUND)
        cli_hint("--data takes a known name (fashion-mnist, mnist; root /usr/share/datasets or $UL_DATA_DIR) "
                 "or a directory holding IDX, CIFAR-10/100 binary or NPY files");
    return code;
}

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
static const char *const digit_names[10] = {"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"};

const char *const *cli_known_class_names(const char *dataset_name, int classes) {
    if (!dataset_name || classes != 10) return NULL;
    if (strcmp(dataset_name, "fashion-mnist") == 0) return fashion_names;
    if (strcmp(dataset_name, "mnist") == 0) return digit_names;
    return NULL;
}

double cli_float_for_json(float f) { return ul_float_shortest(f); }

bool cli_transform_from_provenance(const char *provenance, int channels, ul_transform *tf) {
    if (!provenance) return false;
    cJSON *j = cJSON_Parse(provenance);
    if (!j) return false;
    bool found = false;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(j, "normalize");
    ul_transform t;
    memset(&t, 0, sizeof t);
    if (n && cJSON_IsNull(n)) {
        found = true; /* trained without normalisation */
    } else if (cJSON_IsObject(n)) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(n, "mean");
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(n, "std");
        int k = cJSON_GetArraySize(m);
        if (cJSON_IsArray(m) && cJSON_IsArray(s) && k == cJSON_GetArraySize(s) && k >= 1 && k <= 4 &&
            (k == 1 || k == channels)) {
            bool ok = true;
            for (int i = 0; i < k; i++) {
                const cJSON *a = cJSON_GetArrayItem(m, i), *b = cJSON_GetArrayItem(s, i);
                if (!cJSON_IsNumber(a) || !cJSON_IsNumber(b) || !(b->valuedouble > 0)) {
                    ok = false;
                    break;
                }
                t.mean[i] = (float)a->valuedouble;
                t.std[i] = (float)b->valuedouble;
            }
            if (ok) {
                t.nchan = k;
                found = true;
            }
        }
    }
    cJSON_Delete(j);
    if (found) *tf = t;
    return found;
}

int cli_check_output_path(const char *cmd, const char *opt, const char *path) {
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else {
        size_t len = (size_t)(slash - path);
        if (len >= sizeof dir) {
            cli_err(cmd, "%s: path too long", opt);
            return CLI_EXIT_USAGE;
        }
        memcpy(dir, path, len);
        dir[len] = '\0';
    }
    if (slash && slash[1] == '\0') {
        cli_err(cmd, "%s: '%s' is a directory name, expected a file name", opt, path);
        return CLI_EXIT_USAGE;
    }
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        cli_err(cmd, "%s: directory '%s' of '%s' does not exist", opt, dir, path);
        cli_hint("create it first (mkdir -p %s)", dir);
        return CLI_EXIT_USAGE;
    }
    if (access(dir, W_OK) != 0) {
        cli_err(cmd, "%s: directory '%s' is not writable", opt, dir);
        return CLI_EXIT_USAGE;
    }
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cli_err(cmd, "%s: '%s' is a directory, expected a file name", opt, path);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

void cli_fmt_count(char *buf, size_t cap, unsigned long long n) {
    char tmp[32];
    int len = snprintf(tmp, sizeof tmp, "%llu", n);
    size_t k = 0;
    for (int i = 0; i < len && k + 1 < cap; i++) {
        if (i > 0 && (len - i) % 3 == 0 && k + 2 < cap) buf[k++] = ',';
        buf[k++] = tmp[i];
    }
    if (cap) buf[k < cap ? k : cap - 1] = '\0';
}

void cli_fmt_bytes(char *buf, size_t cap, unsigned long long n) {
    static const char *units[] = {"B", "kB", "MB", "GB", "TB"};
    double v = (double)n;
    int u = 0;
    while (v >= 1000.0 && u < 4) {
        v /= 1000.0;
        u++;
    }
    if (u == 0) snprintf(buf, cap, "%llu B", n);
    else snprintf(buf, cap, "%.1f %s", v, units[u]);
}

void cli_fmt_duration(char *buf, size_t cap, double seconds) {
    if (!(seconds >= 0) || seconds > 1e8) {
        snprintf(buf, cap, "?");
        return;
    }
    long s = (long)(seconds + 0.5);
    if (s >= 3600) snprintf(buf, cap, "%ld:%02ld:%02ld", s / 3600, (s / 60) % 60, s % 60);
    else snprintf(buf, cap, "%ld:%02ld", s / 60, s % 60);
}

void cli_print_json(FILE *f, const cJSON *j, int indent) {
    char *s = cJSON_Print(j);
    if (!s) return;
    bool bol = true;
    for (const char *p = s; *p; p++) {
        if (bol) {
            fprintf(f, "%*s", indent, "");
            bol = false;
        }
        if (*p == '\t') fputs(p == s || p[-1] == '\n' || p[-1] == '\t' ? "  " : " ", f); /* indent / after ':' */
        else fputc(*p, f);
        if (*p == '\n') bol = true;
    }
    fputc('\n', f);
    free(s);
}
