/* cli/opts.c: the option parser and --help printer shared by every subcommand (see opts.h).
 * It knows nothing about any command: tables come from the commands.
 */
#include "opts.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "exitcodes.h"

#define HELP_WIDTH 100
#define LEFT_MAX 30

cli_opt *cli_find(cli_cmd *c, const char *name) {
    for (int i = 0; i < c->nopts; i++)
        if (strcmp(c->opts[i].name, name) == 0) return &c->opts[i];
    return NULL;
}

static cli_opt *find_short(cli_cmd *c, char s) {
    for (int i = 0; i < c->nopts; i++)
        if (c->opts[i].short_name == s) return &c->opts[i];
    return NULL;
}

static int usage_error(const cli_cmd *c, const char *fmt, const char *a, const char *b) {
    fprintf(stderr, "unlearn %s: error: ", c->name);
    fprintf(stderr, fmt, a, b);
    fprintf(stderr, "\nhint: see 'unlearn %s --help'\n", c->name);
    return CLI_EXIT_USAGE;
}

/* A following argument that looks like a long option or is one of the command's short options
 * is not taken as a value, so a forgotten value ("--data --epochs 3", "--data -o m") is reported
 * instead of swallowing the next option. Negative numbers ("-1") and "-" are still values. */
static bool looks_like_option(cli_cmd *c, const char *s) {
    if (s[0] != '-') return false;
    if (s[1] == '-') return s[2] != '\0';
    return s[1] == 'h' || (s[1] != '\0' && find_short(c, s[1]) != NULL);
}

int cli_parse(cli_cmd *c, int argc, char **argv, const char **pos, int *npos) {
    *npos = 0;
    for (int i = 0; i < c->nopts; i++) {
        cli_opt *o = &c->opts[i];
        o->given = false;
        o->value = o->metavar ? o->def : (o->def && strcmp(o->def, "on") == 0 ? "on" : "off");
    }
    bool only_pos = false;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (only_pos || a[0] != '-' || a[1] == '\0') {
            if (*npos >= c->max_pos)
                return c->max_pos == 0 ? usage_error(c, "unexpected argument '%s'%s", a, "")
                                       : usage_error(c, "unexpected extra argument '%s'%s", a, "");
            pos[(*npos)++] = a;
            continue;
        }
        if (strcmp(a, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            cli_help(c, stdout);
            return CLI_PARSE_HELP;
        }
        cli_opt *o = NULL;
        const char *inline_val = NULL; /* from --name=value or -xVALUE */
        bool negated = false;
        char shown[128];               /* the option as the user wrote it, for messages */
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            char buf[96];
            if (len >= sizeof buf) return usage_error(c, "unknown option '%s'%s", a, "");
            memcpy(buf, name, len);
            buf[len] = '\0';
            snprintf(shown, sizeof shown, "--%s", buf);
            o = cli_find(c, buf);
            if (!o && strncmp(buf, "no-", 3) == 0) {
                o = cli_find(c, buf + 3);
                if (o && !(o->negatable && !o->metavar)) o = NULL;
                negated = o != NULL;
            }
            if (!o) return usage_error(c, "unknown option '%s'%s", shown, "");
            if (eq) inline_val = eq + 1;
        } else {
            o = find_short(c, a[1]);
            snprintf(shown, sizeof shown, "-%c", a[1]);
            if (!o) return usage_error(c, "unknown option '%s'%s", a, "");
            if (a[2] != '\0') {
                if (!o->metavar) return usage_error(c, "unknown option '%s' (flags cannot be grouped)%s", a, "");
                inline_val = a[2] == '=' ? a + 3 : a + 2;
            }
        }
        if (!o->metavar) {
            if (inline_val) return usage_error(c, "option '%s' takes no value%s", shown, "");
            o->value = negated ? "off" : "on";
            o->given = true;
            continue;
        }
        const char *v = inline_val;
        if (!v) {
            if (i + 1 >= argc || looks_like_option(c, argv[i + 1]))
                return usage_error(c, "option '%s' needs a value (%s)", shown, o->metavar);
            v = argv[++i];
        }
        if (v[0] == '\0') return usage_error(c, "option '%s' needs a non-empty value (%s)", shown, o->metavar);
        o->value = v;
        o->given = true;
    }
    for (int i = 0; i < c->nopts; i++) {
        cli_opt *o = &c->opts[i];
        if (o->required && !o->given) {
            char shown[128];
            if (o->short_name) snprintf(shown, sizeof shown, "-%c/--%s", o->short_name, o->name);
            else snprintf(shown, sizeof shown, "--%s", o->name);
            return usage_error(c, "missing required option %s %s", shown, o->metavar ? o->metavar : "");
        }
    }
    return CLI_PARSE_OK;
}

/* Print `text` word-wrapped into columns [col, HELP_WIDTH), the first line continuing at
 * column `at` (the caller already printed that much of the line). */
static void wrap(FILE *f, const char *text, int col, int at) {
    const char *p = text;
    int x = at;
    if (x < col) {
        fprintf(f, "%*s", col - x, "");
        x = col;
    }
    bool first = true;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        const char *e = p;
        while (*e && *e != ' ' && *e != '\n') e++;
        int wl = (int)(e - p);
        if (!first && x + 1 + wl > HELP_WIDTH) {
            fprintf(f, "\n%*s", col, "");
            x = col;
        } else if (!first) {
            fputc(' ', f);
            x++;
        }
        fwrite(p, 1, (size_t)wl, f);
        x += wl;
        first = false;
        p = e;
        if (*p == '\n') { /* explicit line break */
            fprintf(f, "\n%*s", col, "");
            x = col;
            first = true;
            p++;
        }
    }
    fputc('\n', f);
}

static int left_part(const cli_opt *o, char *buf, size_t cap) {
    int k;
    if (o->metavar) {
        if (o->short_name) k = snprintf(buf, cap, "  -%c, --%s %s", o->short_name, o->name, o->metavar);
        else k = snprintf(buf, cap, "  --%s %s", o->name, o->metavar);
    } else if (o->negatable) {
        k = snprintf(buf, cap, "  --%s, --no-%s", o->name, o->name);
    } else {
        if (o->short_name) k = snprintf(buf, cap, "  -%c, --%s", o->short_name, o->name);
        else k = snprintf(buf, cap, "  --%s", o->name);
    }
    return k < 0 ? 0 : (k >= (int)cap ? (int)cap - 1 : k);
}

void cli_help(const cli_cmd *c, FILE *f) {
    fprintf(f, "usage: %s\n\n", c->usage);
    if (c->summary) wrap(f, c->summary, 0, 0);
    int col = 0;
    char left[160];
    for (int i = 0; i < c->nopts; i++) {
        int k = left_part(&c->opts[i], left, sizeof left);
        if (k <= LEFT_MAX && k > col) col = k;
    }
    col += 2;
    fprintf(f, "\noptions:\n");
    for (int i = 0; i < c->nopts; i++) {
        const cli_opt *o = &c->opts[i];
        int k = left_part(o, left, sizeof left);
        fputs(left, f);
        char text[1024];
        const char *d = o->required ? "required" : o->def ? o->def : "none";
        snprintf(text, sizeof text, "%s [%s]", o->help, d);
        if (k + 2 > col) {
            fputc('\n', f);
            k = 0;
        }
        wrap(f, text, col, k);
    }
    snprintf(left, sizeof left, "  -h, --help");
    fputs(left, f);
    wrap(f, "show this help and exit", col, (int)strlen(left));
    if (c->epilog) {
        fputc('\n', f);
        fputs(c->epilog, f);
        if (c->epilog[0] && c->epilog[strlen(c->epilog) - 1] != '\n') fputc('\n', f);
    }
}

bool cli_parse_long(const char *s, long *out) {
    if (!s || !*s) return false;
    const char *p = s;
    while (*p == ' ') p++;
    if (p != s) return false; /* no leading blanks */
    errno = 0;
    char *end;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0') return false;
    *out = v;
    return true;
}

bool cli_parse_double(const char *s, double *out) {
    if (!s || !*s || s[0] == ' ' || s[0] == '\t') return false;
    errno = 0;
    char *end;
    double v = strtod(s, &end);
    if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL)) return false;
    if (end == s || *end != '\0' || !isfinite(v)) return false;
    *out = v;
    return true;
}

static const char *val(const cli_opt *o) { return o->value ? o->value : ""; }

int cli_get_long(const cli_cmd *c, const cli_opt *o, long min, long max, long *out) {
    long v;
    if (!cli_parse_long(val(o), &v)) {
        cli_err(c->name, "--%s: '%s' is not an integer", o->name, val(o));
        cli_hint("see 'unlearn %s --help'", c->name);
        return CLI_EXIT_USAGE;
    }
    if (v < min || v > max) {
        cli_err(c->name, "--%s: %ld is out of range [%ld, %ld]", o->name, v, min, max);
        return CLI_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

int cli_get_u64(const cli_cmd *c, const cli_opt *o, uint64_t *out) {
    const char *s = val(o);
    bool ok = *s >= '0' && *s <= '9';
    char *end = NULL;
    unsigned long long v = 0;
    if (ok) {
        errno = 0;
        v = strtoull(s, &end, 10);
        ok = errno == 0 && *end == '\0';
    }
    if (!ok) {
        cli_err(c->name, "--%s: '%s' is not a non-negative integer below 2^64", o->name, s);
        return CLI_EXIT_USAGE;
    }
    *out = (uint64_t)v;
    return 0;
}

int cli_get_double(const cli_cmd *c, const cli_opt *o, double min, double max, bool min_open, double *out) {
    double v;
    if (!cli_parse_double(val(o), &v)) {
        cli_err(c->name, "--%s: '%s' is not a finite number", o->name, val(o));
        cli_hint("see 'unlearn %s --help'", c->name);
        return CLI_EXIT_USAGE;
    }
    if ((min_open ? !(v > min) : !(v >= min)) || !(v <= max)) {
        cli_err(c->name, "--%s: %g is out of range %c%g, %g]", o->name, v, min_open ? '(' : '[', min, max);
        return CLI_EXIT_USAGE;
    }
    *out = v;
    return 0;
}

int cli_get_choice(const cli_cmd *c, const cli_opt *o, const char *const *choices, int n, int *out) {
    for (int i = 0; i < n; i++)
        if (strcmp(val(o), choices[i]) == 0) {
            *out = i;
            return 0;
        }
    char list[256] = "";
    for (int i = 0; i < n; i++) {
        if (i) strncat(list, ", ", sizeof list - strlen(list) - 1);
        strncat(list, choices[i], sizeof list - strlen(list) - 1);
    }
    cli_err(c->name, "--%s: '%s' is not one of: %s", o->name, val(o), list);
    return CLI_EXIT_USAGE;
}

bool cli_get_flag(const cli_opt *o) { return o->value && strcmp(o->value, "on") == 0; }

int cli_parse_one(cli_cmd *c, int argc, char **argv, const char *what, const char **arg) {
    const char *pos[1] = {NULL};
    int npos = 0;
    *arg = NULL;
    int rc = cli_parse(c, argc, argv, pos, &npos);
    if (rc) return rc;
    if (npos != 1) {
        fprintf(stderr, "unlearn %s: error: missing the %s\n", c->name, what);
        fprintf(stderr, "hint: see 'unlearn %s --help'\n", c->name);
        return CLI_EXIT_USAGE;
    }
    *arg = pos[0];
    return CLI_PARSE_OK;
}
