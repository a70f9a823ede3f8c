/* cli/recipe.c: reading, validating and checking experiment recipes (recipe.h, docs/recipes.md).
 * A table of known keys per section drives the validation, so an unknown key, a wrong type, a
 * value out of range or a missing required field is refused with the file and the field named;
 * the `verify` block is validated on its own, then merged over the recipe (objects key by key,
 * everything else replaced) and the result validated again. Expectations are checked against the
 * JSON the run's commands wrote.
 * Deliberately no check of what only the commands know (whether a dataset exists, whether a label
 * fits it): the command that runs reports that itself.
 */
#include "recipe.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "unlearn/base.h"
#include "unlearn/data.h"
#include "unlearn/io.h"
#include "unlearn/rng.h"

#include "common.h"

/* ---- the schema ------------------------------------------------------------------------------- */

typedef enum ftype {
    F_STR,     /* a string (choices: one of them) */
    F_INT,     /* a whole number in [lo, hi] */
    F_NUM,     /* a finite number in [lo, hi] */
    F_BOOL,
    F_LABELS,  /* a label set: "3", "1,3,5-6" or [3, 5] */
    F_STRS,    /* a string or an array of strings */
    F_INTS,    /* an array of whole numbers in [lo, hi] */
    F_SCALARS, /* an object whose values are numbers or strings (free keys) */
    F_OBJ,     /* a section: validated by its own table */
    F_EXPECT,  /* the expectation list */
} ftype;

typedef struct field {
    const char *key;
    ftype type;
    bool required;
    double lo, hi;
    const char *const *choices; /* F_STR: NULL-terminated allowed values */
    const struct section *sub;  /* F_OBJ */
} field;

typedef struct section {
    const char *name;
    const field *f;
    int n;
} section;

static const char *const KINDS[] = {"forget", "bench-methods", "demo", NULL};
static const char *const SCENARIOS[] = {"mixed", "il", "tl", "fl", "ddpl", "chain", "dag", NULL};
static const char *const FMETHODS[] = {"fiun", "retrain", "sequential", "ssd-local", "finetune", "ga-transfer", NULL};

static const field NETWORK_F[] = {
    {"scenario", F_STR, true, 0, 0, SCENARIOS, NULL},
    {"arch", F_STR, false, 0, 0, NULL, NULL},
    {"width", F_NUM, false, 0.01, 16, NULL, NULL},
    {"depth", F_INT, false, 0, 100000, NULL, NULL},
    {"epochs", F_INT, false, 0, 1000, NULL, NULL},
    {"max_samples", F_INT, false, 0, 1e9, NULL, NULL},
    {"seed", F_INT, false, 0, 9007199254740992.0, NULL, NULL},
};
static const char *const FPARAMS[] = {"alpha", "lambda", "exponent", "id_floor", "granularity", "select_rel", "mfim_c",
                                      "scope", "estimator", "local_fisher", "profile", NULL};
static const field FORGET_F[] = {
    {"labels", F_LABELS, true, 0, 0, NULL, NULL},
    {"method", F_STR, false, 0, 0, FMETHODS, NULL},
    {"params", F_SCALARS, false, 0, 0, FPARAMS, NULL},
    {"compare", F_STRS, false, 0, 0, FMETHODS, NULL},
    {"dry_run", F_BOOL, false, 0, 0, NULL, NULL},
};
static const field BENCH_F[] = {
    {"arch", F_STR, false, 0, 0, NULL, NULL},
    {"width", F_NUM, false, 0.01, 16, NULL, NULL},
    {"scenario", F_STR, false, 0, 0, NULL, NULL},
    {"split_seed", F_INT, false, 0, 9007199254740992.0, NULL, NULL},
    {"methods", F_STRS, false, 0, 0, NULL, NULL},
    {"seeds", F_INT, false, 1, 64, NULL, NULL},
    {"seed_list", F_INTS, false, 0, 9007199254740992.0, NULL, NULL},
    {"epochs", F_INT, false, 1, 100000, NULL, NULL},
    {"batch", F_INT, false, 1, 1 << 20, NULL, NULL},
    {"lr", F_NUM, false, 0, 100, NULL, NULL},
    {"wd", F_NUM, false, 0, 10, NULL, NULL},
    {"augment", F_BOOL, false, 0, 0, NULL, NULL},
    {"svc_mia", F_BOOL, false, 0, 0, NULL, NULL},
    {"set", F_SCALARS, false, 0, 0, NULL, NULL},
};
static const field DEMO_F[] = {
    {"labels", F_LABELS, false, 0, 0, NULL, NULL},
    {"max_samples", F_INT, false, 1, 1e9, NULL, NULL},
    {"epochs", F_INT, false, 1, 1000, NULL, NULL},
    {"sequential", F_BOOL, false, 0, 0, NULL, NULL},
};
static const section NETWORK_S = {"network", NETWORK_F, (int)(sizeof NETWORK_F / sizeof *NETWORK_F)};
static const section FORGET_S = {"forget", FORGET_F, (int)(sizeof FORGET_F / sizeof *FORGET_F)};
static const section BENCH_S = {"bench", BENCH_F, (int)(sizeof BENCH_F / sizeof *BENCH_F)};
static const section DEMO_S = {"demo", DEMO_F, (int)(sizeof DEMO_F / sizeof *DEMO_F)};

static const field TOP_F[] = {
    {"recipe", F_INT, true, RECIPE_VERSION, RECIPE_VERSION, NULL, NULL},
    {"name", F_STR, true, 0, 0, NULL, NULL},
    {"description", F_STR, false, 0, 0, NULL, NULL},
    {"kind", F_STR, true, 0, 0, KINDS, NULL},
    {"data", F_STR, true, 0, 0, NULL, NULL},
    {"threads", F_INT, false, 0, 4096, NULL, NULL},
    {"network", F_OBJ, false, 0, 0, NULL, &NETWORK_S},
    {"forget", F_OBJ, false, 0, 0, NULL, &FORGET_S},
    {"bench", F_OBJ, false, 0, 0, NULL, &BENCH_S},
    {"demo", F_OBJ, false, 0, 0, NULL, &DEMO_S},
    {"expect", F_EXPECT, true, 0, 0, NULL, NULL},
    {"verify", F_OBJ, false, 0, 0, NULL, NULL}, /* validated separately */
};
static const section TOP_S = {"", TOP_F, (int)(sizeof TOP_F / sizeof *TOP_F)};

/* Metrics of forget and demo results: per model (from "affected"), or per run. */
static const char *const MODEL_METRICS[] = {"forget_acc_before", "forget_acc_after", "retain_acc_before",
                                            "retain_acc_after", "seconds", "selected", NULL};
static const char *const RUN_METRICS[] = {"seconds_sum", "speedup", "models", NULL};
static const char *const BENCH_METRICS[] = {"fa", "ua", "ra", "ta", "ta_remain", "ta_forget", "mia_entropy_lr",
                                            "mia_svc_confidence", "kl", "js", "avg_gap", "seconds",
                                            "avg_gap_of_means", "time_ratio_to_retrain", NULL};
static const char *const EXPECT_KEYS[] = {"metric", "model", "method", "vs", "stat", "value", "tol", "min", "max",
                                          "source", "note", NULL};

/* ---- errors -------------------------------------------------------------------------------------- */

typedef struct vctx {
    const char *cmd, *path;
    bool failed;
    const char *note; /* after the file name, e.g. " (its verify block merged in)" */
} vctx;

static bool verr(vctx *v, const char *fname, const char *fmt, ...) UL_PRINTF(3, 4);
static bool verr(vctx *v, const char *fname, const char *fmt, ...) {
    if (v->failed) return false;
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    cli_err(v->cmd, "recipe '%s'%s: field '%s': %s", v->path, v->note ? v->note : "", fname, msg);
    v->failed = true;
    return false;
}

static const char *kind_of(const cJSON *x) {
    if (!x) return "missing";
    if (cJSON_IsString(x)) return "a string";
    if (cJSON_IsNumber(x)) return "a number";
    if (cJSON_IsBool(x)) return "a boolean";
    if (cJSON_IsNull(x)) return "null";
    if (cJSON_IsArray(x)) return "an array";
    return "an object";
}

static bool in_list(const char *s, const char *const *list) {
    for (; *list; list++)
        if (strcmp(s, *list) == 0) return true;
    return false;
}

static void join(char *buf, size_t cap, const char *const *list) {
    size_t k = 0;
    buf[0] = '\0';
    for (; *list && k < cap; list++) k += (size_t)snprintf(buf + k, cap - k, "%s%s", k ? ", " : "", *list);
}

static bool is_whole(double x) { return isfinite(x) && x == floor(x); }

/* ---- validation ---------------------------------------------------------------------------------- */

static bool check_expect(vctx *v, const cJSON *x, const char *where);

static bool check_value(vctx *v, const field *fd, const cJSON *x, const char *f) {
    char list[300];
    switch (fd->type) {
    case F_STR:
        if (!cJSON_IsString(x)) return verr(v, f, "is %s, expected a string", kind_of(x));
        if (!x->valuestring[0]) return verr(v, f, "is empty");
        if (fd->choices && !in_list(x->valuestring, fd->choices)) {
            join(list, sizeof list, fd->choices);
            return verr(v, f, "'%s' is not one of: %s", x->valuestring, list);
        }
        return true;
    case F_INT:
    case F_NUM:
        if (!cJSON_IsNumber(x)) return verr(v, f, "is %s, expected a number", kind_of(x));
        if (fd->type == F_INT && !is_whole(x->valuedouble)) return verr(v, f, "%g is not a whole number", x->valuedouble);
        if (!(x->valuedouble >= fd->lo && x->valuedouble <= fd->hi))
            return verr(v, f, "%g is outside %g..%g", x->valuedouble, fd->lo, fd->hi);
        return true;
    case F_BOOL:
        if (!cJSON_IsBool(x)) return verr(v, f, "is %s, expected true or false", kind_of(x));
        return true;
    case F_LABELS:
        if (cJSON_IsString(x)) {
            int32_t *lab = NULL;
            size_t n = 0;
            ul_status st = ul_parse_label_set(x->valuestring, 65536, &lab, &n);
            free(lab);
            if (st != UL_OK || n == 0) {
                verr(v, f, "'%s' is not a label set (e.g. \"3\", \"1,3,5-6\"): %s", x->valuestring, ul_last_error());
                ul_clear_error();
                return false;
            }
            return true;
        }
        if (cJSON_IsArray(x) && cJSON_GetArraySize(x) > 0) {
            const cJSON *e;
            int i = 0;
            cJSON_ArrayForEach(e, x) {
                if (!cJSON_IsNumber(e) || !is_whole(e->valuedouble) || e->valuedouble < 0 || e->valuedouble > 65535) {
                    char g[640];
                    snprintf(g, sizeof g, "%.500s[%d]", f, i);
                    return verr(v, g, "is %s, expected a label (a whole number 0..65535)",
                                cJSON_IsNumber(e) ? "another number" : kind_of(e));
                }
                i++;
            }
            return true;
        }
        return verr(v, f, "is %s, expected a label set (\"3\", \"1,3,5-6\") or a non-empty array of labels",
                    cJSON_IsArray(x) ? "an empty array" : kind_of(x));
    case F_STRS:
        if (cJSON_IsString(x)) {
            if (!x->valuestring[0]) return verr(v, f, "is empty");
            if (fd->choices && !in_list(x->valuestring, fd->choices)) {
                join(list, sizeof list, fd->choices);
                return verr(v, f, "'%s' is not one of: %s", x->valuestring, list);
            }
            return true;
        }
        if (cJSON_IsArray(x) && cJSON_GetArraySize(x) > 0 && cJSON_GetArraySize(x) <= 15) {
            const cJSON *e;
            int i = 0;
            cJSON_ArrayForEach(e, x) {
                char g[640];
                snprintf(g, sizeof g, "%.500s[%d]", f, i++);
                if (!cJSON_IsString(e) || !e->valuestring[0]) return verr(v, g, "is %s, expected a non-empty string", kind_of(e));
                if (fd->choices && !in_list(e->valuestring, fd->choices)) {
                    join(list, sizeof list, fd->choices);
                    return verr(v, g, "'%s' is not one of: %s", e->valuestring, list);
                }
            }
            return true;
        }
        return verr(v, f, "is %s, expected a string or an array of 1..15 strings",
                    cJSON_IsArray(x) ? "an array of another length" : kind_of(x));
    case F_INTS:
        if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) == 0 || cJSON_GetArraySize(x) > 64)
            return verr(v, f, "is %s, expected an array of 1..64 whole numbers", kind_of(x));
        {
            const cJSON *e;
            int i = 0;
            cJSON_ArrayForEach(e, x) {
                char g[640];
                snprintf(g, sizeof g, "%.500s[%d]", f, i++);
                if (!cJSON_IsNumber(e) || !is_whole(e->valuedouble) || e->valuedouble < fd->lo || e->valuedouble > fd->hi)
                    return verr(v, g, "is %s, expected a whole number %g..%g", kind_of(e), fd->lo, fd->hi);
            }
        }
        return true;
    case F_SCALARS:
        if (!cJSON_IsObject(x)) return verr(v, f, "is %s, expected an object of numbers and strings", kind_of(x));
        {
            const cJSON *e;
            cJSON_ArrayForEach(e, x) {
                char g[640];
                snprintf(g, sizeof g, "%.400s.%.200s", f, e->string);
                if (fd->choices && !in_list(e->string, fd->choices)) {
                    join(list, sizeof list, fd->choices);
                    return verr(v, g, "unknown key (known here: %s)", list);
                }
                if (!(cJSON_IsString(e) && e->valuestring[0]) && !(cJSON_IsNumber(e) && isfinite(e->valuedouble)))
                    return verr(v, g, "is %s, expected a number or a non-empty string", kind_of(e));
                for (const char *c = e->string; *c; c++)
                    if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '.' || *c == '*' ||
                          *c == '-'))
                        return verr(v, g, "'%s' is not a parameter name ([a-z0-9_.*-])", e->string);
                if (cJSON_IsString(e))
                    for (const char *c = e->valuestring; *c; c++)
                        if ((unsigned char)*c <= ' ' || *c == ',' || *c == '\'')
                            return verr(v, g, "'%s' holds a space, comma or quote", e->valuestring);
            }
        }
        return true;
    case F_EXPECT:
        if (!cJSON_IsArray(x) || cJSON_GetArraySize(x) == 0)
            return verr(v, f, "is %s, expected a non-empty array of expectations",
                        cJSON_IsArray(x) ? "an empty array" : kind_of(x));
        {
            const cJSON *e;
            int i = 0;
            cJSON_ArrayForEach(e, x) {
                char g[640];
                snprintf(g, sizeof g, "%.500s[%d]", f, i++);
                if (!check_expect(v, e, g)) return false;
            }
        }
        return true;
    case F_OBJ: return true; /* handled by check_section */
    }
    return true;
}

/* Validate object o against section s; field names are prefixed with `where` ("verify.network").
 * partial: required fields may be missing (a verify block). */
static bool check_section(vctx *v, const cJSON *o, const section *s, const char *where, bool partial) {
    char f[300];
    if (!cJSON_IsObject(o)) return verr(v, where[0] ? where : "(top level)", "is %s, expected an object", kind_of(o));
    const cJSON *e;
    cJSON_ArrayForEach(e, o) {
        const field *fd = NULL;
        for (int i = 0; i < s->n; i++)
            if (strcmp(s->f[i].key, e->string) == 0) fd = &s->f[i];
        snprintf(f, sizeof f, "%s%s%s", where, where[0] ? "." : "", e->string);
        if (!fd) {
            char keys[600];
            size_t k = 0;
            keys[0] = '\0';
            for (int i = 0; i < s->n && k < sizeof keys; i++)
                k += (size_t)snprintf(keys + k, sizeof keys - k, "%s%s", i ? ", " : "", s->f[i].key);
            return verr(v, f, "unknown key (known here: %s)", keys);
        }
        if (cJSON_GetObjectItemCaseSensitive(o, e->string) != e) return verr(v, f, "is given twice");
        if (fd->type == F_OBJ) {
            if (!fd->sub) continue; /* verify: checked by the caller */
            if (!check_section(v, e, fd->sub, f, partial)) return false;
        } else if (!check_value(v, fd, e, f)) {
            return false;
        }
    }
    if (!partial)
        for (int i = 0; i < s->n; i++)
            if (s->f[i].required && !cJSON_GetObjectItemCaseSensitive(o, s->f[i].key)) {
                snprintf(f, sizeof f, "%s%s%s", where, where[0] ? "." : "", s->f[i].key);
                return verr(v, f, "is missing (required)");
            }
    return true;
}

static bool check_expect(vctx *v, const cJSON *x, const char *where) {
    char f[1024], list[600];
    if (!cJSON_IsObject(x)) return verr(v, where, "is %s, expected an object", kind_of(x));
    const cJSON *e;
    cJSON_ArrayForEach(e, x) {
        snprintf(f, sizeof f, "%.600s.%.200s", where, e->string);
        if (!in_list(e->string, EXPECT_KEYS)) {
            join(list, sizeof list, EXPECT_KEYS);
            return verr(v, f, "unknown key (known here: %s)", list);
        }
        bool num = strcmp(e->string, "value") == 0 || strcmp(e->string, "tol") == 0 || strcmp(e->string, "min") == 0 ||
                   strcmp(e->string, "max") == 0;
        if (num && !(cJSON_IsNumber(e) && isfinite(e->valuedouble))) return verr(v, f, "is %s, expected a number", kind_of(e));
        if (!num && !(cJSON_IsString(e) && e->valuestring[0])) return verr(v, f, "is %s, expected a non-empty string", kind_of(e));
    }
    const cJSON *metric = cJSON_GetObjectItemCaseSensitive(x, "metric");
    snprintf(f, sizeof f, "%.600s.metric", where);
    if (!metric) return verr(v, f, "is missing (required)");
    const char *m = metric->valuestring;
    if (!in_list(m, MODEL_METRICS) && !in_list(m, RUN_METRICS) && !in_list(m, BENCH_METRICS)) {
        char a[300], b[300], c[300];
        join(a, sizeof a, MODEL_METRICS);
        join(b, sizeof b, RUN_METRICS);
        join(c, sizeof c, BENCH_METRICS);
        return verr(v, f, "'%s' is not a metric (forget/demo per model: %s; per run: %s; bench-methods: %s)", m, a, b, c);
    }
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(x, "source");
    snprintf(f, sizeof f, "%.600s.source", where);
    if (!src) return verr(v, f, "is missing (required: \"measured\" or \"estimated\")");
    if (strcmp(src->valuestring, "measured") != 0 && strcmp(src->valuestring, "estimated") != 0)
        return verr(v, f, "'%s' is neither \"measured\" nor \"estimated\"", src->valuestring);
    const cJSON *stat = cJSON_GetObjectItemCaseSensitive(x, "stat");
    snprintf(f, sizeof f, "%.600s.stat", where);
    if (stat && strcmp(stat->valuestring, "mean") != 0 && strcmp(stat->valuestring, "std") != 0)
        return verr(v, f, "'%s' is neither \"mean\" nor \"std\"", stat->valuestring);
    const cJSON *val = cJSON_GetObjectItemCaseSensitive(x, "value"), *tol = cJSON_GetObjectItemCaseSensitive(x, "tol");
    const cJSON *mn = cJSON_GetObjectItemCaseSensitive(x, "min"), *mx = cJSON_GetObjectItemCaseSensitive(x, "max");
    if (!val != !tol) {
        snprintf(f, sizeof f, "%.600s.%s", where, val ? "tol" : "value");
        return verr(v, f, "is missing: 'value' and 'tol' go together (|actual - value| <= tol)");
    }
    if (tol && tol->valuedouble < 0) {
        snprintf(f, sizeof f, "%.600s.tol", where);
        return verr(v, f, "is negative");
    }
    if (!val && !mn && !mx) return verr(v, where, "has no bound: give 'value' and 'tol', 'min', or 'max'");
    if (mn && mx && mn->valuedouble > mx->valuedouble) {
        snprintf(f, sizeof f, "%.600s.min", where);
        return verr(v, f, "%g is above max %g", mn->valuedouble, mx->valuedouble);
    }
    return true;
}

/* Checks that need the kind: the section it runs, sections of other kinds, metrics of the kind,
 * selectors that fit it. */
static bool check_kind(vctx *v, const cJSON *j, recipe_kind kind) {
    static const char *const NEED[3][2] = {{"network", "forget"}, {"bench", NULL}, {"demo", NULL}};
    static const char *const KN[3] = {"forget", "bench-methods", "demo"};
    static const char *const SECTIONS[4] = {"network", "forget", "bench", "demo"};
    for (int i = 0; i < 4; i++) {
        bool needed = (NEED[kind][0] && strcmp(NEED[kind][0], SECTIONS[i]) == 0) ||
                      (NEED[kind][1] && strcmp(NEED[kind][1], SECTIONS[i]) == 0);
        const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, SECTIONS[i]);
        if (needed && !s && kind != RECIPE_DEMO) return verr(v, SECTIONS[i], "is missing (required for kind '%s')", KN[kind]);
        if (!needed && s) return verr(v, SECTIONS[i], "is not used by kind '%s'", KN[kind]);
    }
    const cJSON *fg = cJSON_GetObjectItemCaseSensitive(j, "forget");
    const cJSON *main_m = fg ? cJSON_GetObjectItemCaseSensitive(fg, "method") : NULL;
    const char *mainm = main_m ? main_m->valuestring : "fiun";
    const cJSON *cmp = fg ? cJSON_GetObjectItemCaseSensitive(fg, "compare") : NULL;
    if (cmp) {
        const cJSON *e;
        int i = 0, n = cJSON_IsArray(cmp) ? cJSON_GetArraySize(cmp) : 1;
        for (e = cJSON_IsArray(cmp) ? cmp->child : cmp; e && i < n; e = e->next, i++) {
            char f[64];
            snprintf(f, sizeof f, cJSON_IsArray(cmp) ? "forget.compare[%d]" : "forget.compare", i);
            if (strcmp(e->valuestring, mainm) == 0) return verr(v, f, "'%s' is the recipe's own method", mainm);
            for (const cJSON *d = cJSON_IsArray(cmp) ? cmp->child : NULL; d && d != e; d = d->next)
                if (strcmp(d->valuestring, e->valuestring) == 0) return verr(v, f, "'%s' is listed twice", e->valuestring);
            if (!cJSON_IsArray(cmp)) break;
        }
    }
    const cJSON *ex = cJSON_GetObjectItemCaseSensitive(j, "expect"), *x;
    int i = 0;
    cJSON_ArrayForEach(x, ex) {
        char f[80];
        const char *m = cJSON_GetObjectItemCaseSensitive(x, "metric")->valuestring;
        const cJSON *model = cJSON_GetObjectItemCaseSensitive(x, "model"), *method = cJSON_GetObjectItemCaseSensitive(x, "method");
        const cJSON *vs = cJSON_GetObjectItemCaseSensitive(x, "vs"), *stat = cJSON_GetObjectItemCaseSensitive(x, "stat");
        snprintf(f, sizeof f, "expect[%d].metric", i);
        if (kind == RECIPE_BENCH) {
            if (!in_list(m, BENCH_METRICS)) return verr(v, f, "'%s' is not a metric of kind bench-methods", m);
            snprintf(f, sizeof f, "expect[%d].model", i);
            if (model) return verr(v, f, "is not used by kind bench-methods (select with 'method')");
            snprintf(f, sizeof f, "expect[%d].method", i);
            if (!method) return verr(v, f, "is missing (required for kind bench-methods: a method label, \"*\" or \"original\")");
        } else {
            if (!in_list(m, MODEL_METRICS) && !in_list(m, RUN_METRICS))
                return verr(v, f, "'%s' is not a metric of kind %s", m, KN[kind]);
            snprintf(f, sizeof f, "expect[%d].stat", i);
            if (stat) return verr(v, f, "is used by kind bench-methods only");
            snprintf(f, sizeof f, "expect[%d].model", i);
            if (model && in_list(m, RUN_METRICS)) return verr(v, f, "'%s' is a metric of the whole run, not of a model", m);
            snprintf(f, sizeof f, "expect[%d].vs", i);
            if (!vs && strcmp(m, "speedup") == 0) return verr(v, f, "is missing (speedup is vs's time over the method's)");
            if (vs && strcmp(m, "models") == 0) return verr(v, f, "is not used by metric 'models'");
            /* runs the expectation may name */
            const char *names[16];
            int nn = 0;
            if (kind == RECIPE_DEMO) {
                names[nn++] = "fiun";
                names[nn++] = "retrain";
                names[nn++] = "sequential";
            } else {
                names[nn++] = mainm;
                if (cJSON_IsString(cmp)) names[nn++] = cmp->valuestring;
                const cJSON *c;
                if (cJSON_IsArray(cmp)) cJSON_ArrayForEach(c, cmp) if (nn < 16) names[nn++] = c->valuestring;
            }
            for (int w = 0; w < 2; w++) {
                const cJSON *sel = w ? vs : method;
                if (!sel) continue;
                bool ok = false;
                for (int k = 0; k < nn; k++) ok |= strcmp(names[k], sel->valuestring) == 0;
                snprintf(f, sizeof f, "expect[%d].%s", i, w ? "vs" : "method");
                if (!ok)
                    return verr(v, f, "'%s' is not a run of this recipe (%s%s)", sel->valuestring,
                                kind == RECIPE_DEMO ? "fiun, retrain, sequential" : "its method and forget.compare",
                                kind == RECIPE_DEMO ? "" : "");
            }
        }
        i++;
    }
    return true;
}

/* Merge src over dst: objects key by key (recursively), everything else replaced. */
static bool merge(cJSON *dst, const cJSON *src) {
    const cJSON *e;
    cJSON_ArrayForEach(e, src) {
        cJSON *d = cJSON_GetObjectItemCaseSensitive(dst, e->string);
        if (d && cJSON_IsObject(d) && cJSON_IsObject(e)) {
            if (!merge(d, e)) return false;
            continue;
        }
        cJSON *c = cJSON_Duplicate(e, true);
        if (!c) return false;
        if (d) cJSON_ReplaceItemInObjectCaseSensitive(dst, e->string, c);
        else cJSON_AddItemToObject(dst, e->string, c);
    }
    return true;
}

void recipe_free(recipe *r) {
    cJSON_Delete(r->file);
    cJSON_Delete(r->eff);
    memset(r, 0, sizeof *r);
}

int recipe_load(const char *cmd, const char *path, bool verify, recipe *r) {
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    uint8_t *buf = NULL;
    size_t len = 0;
    ul_status st = ul_read_file(path, (size_t)4 << 20, &buf, &len);
    if (st != UL_OK) {
        cli_err(cmd, "recipe '%s': %s", path, ul_last_error());
        return CLI_EXIT_INPUT;
    }
    ul_sha256_hex(buf, len, r->sha256);
    const char *end = NULL;
    r->file = cJSON_ParseWithLengthOpts((const char *)buf, len, &end, false);
    if (r->file && end) {
        while (end < (const char *)buf + len && (*end == ' ' || *end == '\n' || *end == '\r' || *end == '\t')) end++;
        if (end < (const char *)buf + len) {
            cJSON_Delete(r->file);
            r->file = NULL;
        }
    }
    if (!r->file) {
        size_t off = end ? (size_t)(end - (const char *)buf) : 0;
        free(buf);
        cli_err(cmd, "recipe '%s': not JSON (parse error near byte %zu)", path, off);
        return CLI_EXIT_INPUT;
    }
    free(buf);
    vctx v = {cmd, path, false, NULL};
    if (!check_section(&v, r->file, &TOP_S, "", false)) goto bad;
    const char *kind = cJSON_GetObjectItemCaseSensitive(r->file, "kind")->valuestring;
    r->kind = strcmp(kind, "forget") == 0 ? RECIPE_FORGET : strcmp(kind, "demo") == 0 ? RECIPE_DEMO : RECIPE_BENCH;
    if (!check_kind(&v, r->file, r->kind)) goto bad;
    const cJSON *vb = cJSON_GetObjectItemCaseSensitive(r->file, "verify");
    r->has_verify = vb != NULL;
    if (vb) {
        /* the verify block: any top-level key but recipe, name, kind, description and verify */
        if (!check_section(&v, vb, &TOP_S, "verify", true)) goto bad;
        static const char *const FIXED[] = {"recipe", "name", "kind", "description", "verify"};
        for (int i = 0; i < 5; i++)
            if (cJSON_GetObjectItemCaseSensitive(vb, FIXED[i])) {
                char f[64];
                snprintf(f, sizeof f, "verify.%s", FIXED[i]);
                verr(&v, f, "cannot be changed by the verify block");
                goto bad;
            }
    }
    r->eff = cJSON_Duplicate(r->file, true);
    if (!r->eff) goto oom;
    if (verify && vb) {
        cJSON_DeleteItemFromObjectCaseSensitive(r->eff, "verify");
        if (!merge(r->eff, vb)) goto oom;
        /* the merged recipe must be whole again */
        vctx v2 = {cmd, path, false, " (its verify block merged in)"};
        if (!check_section(&v2, r->eff, &TOP_S, "", false) || !check_kind(&v2, r->eff, r->kind)) goto bad;
    }
    r->verify = verify && vb;
    r->name = cJSON_GetObjectItemCaseSensitive(r->eff, "name")->valuestring;
    for (const char *c = r->name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_' ||
              *c == '.')) {
            verr(&v, "name", "'%s' is not a name ([A-Za-z0-9._-]; it names the default output directory)", r->name);
            goto bad;
        }
    return 0;
oom:
    cli_err(cmd, "recipe '%s': out of memory", path);
bad:
    recipe_free(r);
    return CLI_EXIT_INPUT;
}

/* ---- expectations -------------------------------------------------------------------------------- */

static const cJSON *find_run(const recipe_results *res, const char *name) {
    for (int i = 0; i < res->nruns; i++)
        if (strcmp(res->names[i], name) == 0) return res->runs[i];
    return NULL;
}

/* Per-model value of a forget results object, NAN when absent or -1 (no samples). */
static double model_value(const cJSON *run, const char *model, const char *metric) {
    const cJSON *a, *aff = cJSON_GetObjectItemCaseSensitive(run, "affected");
    cJSON_ArrayForEach(a, aff) {
        const cJSON *n = cJSON_GetObjectItemCaseSensitive(a, "model");
        if (!cJSON_IsString(n) || strcmp(n->valuestring, model) != 0) continue;
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, metric);
        if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble)) return NAN;
        if (strstr(metric, "_acc_") && x->valuedouble < 0) return NAN;
        return x->valuedouble;
    }
    return NAN;
}

static double run_seconds(const cJSON *run) {
    double s = 0;
    const cJSON *a, *aff = cJSON_GetObjectItemCaseSensitive(run, "affected");
    cJSON_ArrayForEach(a, aff) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(a, "seconds");
        if (cJSON_IsNumber(x)) s += x->valuedouble;
    }
    return s;
}

static double bench_value(const cJSON *bench, const char *method, const char *metric, const char *stat) {
    const cJSON *row = NULL, *s;
    if (strcmp(method, "original") == 0) row = cJSON_GetObjectItemCaseSensitive(bench, "original_summary");
    cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(bench, "summary")) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(s, "method");
        if (!row && cJSON_IsString(m) && strcmp(m->valuestring, method) == 0) row = s;
    }
    if (!row) return NAN;
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(row, metric);
    if (cJSON_IsObject(x)) x = cJSON_GetObjectItemCaseSensitive(x, stat);
    return cJSON_IsNumber(x) ? x->valuedouble : NAN;
}

typedef struct bounds {
    bool has_val, has_min, has_max;
    double val, tol, min, max;
} bounds;

static bool within(const bounds *b, double x) {
    if (!isfinite(x)) return false;
    if (b->has_val && !(fabs(x - b->val) <= b->tol + 1e-9)) return false;
    if (b->has_min && !(x >= b->min - 1e-9)) return false;
    if (b->has_max && !(x <= b->max + 1e-9)) return false;
    return true;
}

static void bounds_text(const bounds *b, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = '\0';
    if (b->has_val) k += (size_t)snprintf(buf + k, cap - k, "%g +- %g", b->val, b->tol);
    if (b->has_min && k < cap) k += (size_t)snprintf(buf + k, cap - k, "%s>= %g", k ? ", " : "", b->min);
    if (b->has_max && k < cap) snprintf(buf + k, cap - k, "%s<= %g", k ? ", " : "", b->max);
}

int recipe_check(const recipe *r, const recipe_results *res, FILE *f, cJSON **outcomes) {
    *outcomes = cJSON_CreateArray();
    const cJSON *fg = cJSON_GetObjectItemCaseSensitive(r->eff, "forget");
    const cJSON *mm = fg ? cJSON_GetObjectItemCaseSensitive(fg, "method") : NULL;
    const char *main_method = r->kind == RECIPE_DEMO ? "fiun" : mm ? mm->valuestring : "fiun";
    int failed = 0, i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(r->eff, "expect")) {
        const char *metric = cJSON_GetObjectItemCaseSensitive(x, "metric")->valuestring;
        const cJSON *jm = cJSON_GetObjectItemCaseSensitive(x, "model"), *jme = cJSON_GetObjectItemCaseSensitive(x, "method");
        const cJSON *jvs = cJSON_GetObjectItemCaseSensitive(x, "vs"), *jst = cJSON_GetObjectItemCaseSensitive(x, "stat");
        const char *src = cJSON_GetObjectItemCaseSensitive(x, "source")->valuestring;
        bounds b = {0};
        const cJSON *t;
        if ((t = cJSON_GetObjectItemCaseSensitive(x, "value"))) b.has_val = true, b.val = t->valuedouble;
        if ((t = cJSON_GetObjectItemCaseSensitive(x, "tol"))) b.tol = t->valuedouble;
        if ((t = cJSON_GetObjectItemCaseSensitive(x, "min"))) b.has_min = true, b.min = t->valuedouble;
        if ((t = cJSON_GetObjectItemCaseSensitive(x, "max"))) b.has_max = true, b.max = t->valuedouble;
        char bt[128], what[400], detail[1200] = "";
        bounds_text(&b, bt, sizeof bt);
        bool pass = true;
        int nvals = 0;
        double shown = NAN; /* the value reported (worst for "*") */
        const char *method = jme ? jme->valuestring : main_method;
        const char *stat = jst ? jst->valuestring : "mean";
        if (r->kind == RECIPE_BENCH) {
            snprintf(what, sizeof what, "%s%s %s of %s", metric, jvs ? " minus vs's" : "", stat, method);
            const cJSON *s;
            bool all = strcmp(method, "*") == 0;
            size_t k = 0;
            cJSON_ArrayForEach(s, cJSON_GetObjectItemCaseSensitive(res->bench, "summary")) {
                const cJSON *ml = cJSON_GetObjectItemCaseSensitive(s, "method");
                if (!cJSON_IsString(ml)) continue;
                const char *label = ml->valuestring;
                if (all ? strcmp(label, "retrain") == 0 : strcmp(label, method) != 0) continue;
                double v = bench_value(res->bench, label, metric, stat);
                if (jvs) v -= bench_value(res->bench, jvs->valuestring, metric, stat);
                bool ok = within(&b, v);
                nvals++;
                if (!ok || !isfinite(shown)) shown = v;
                pass &= ok;
                if (k < sizeof detail)
                    k += (size_t)snprintf(detail + k, sizeof detail - k, "%s%s %.4g%s", k ? ", " : "", label, v, ok ? "" : " (out)");
            }
            if (!all && strcmp(method, "original") == 0) {
                double v = bench_value(res->bench, "original", metric, stat);
                if (jvs) v -= bench_value(res->bench, jvs->valuestring, metric, stat);
                nvals = 1;
                shown = v;
                pass = within(&b, v);
                snprintf(detail, sizeof detail, "original %.4g", v);
            }
        } else {
            const cJSON *run = find_run(res, method), *vsrun = jvs ? find_run(res, jvs->valuestring) : NULL;
            const char *model = jm ? jm->valuestring : "*";
            if (in_list(metric, RUN_METRICS)) {
                snprintf(what, sizeof what, "%s of %s%s%s", metric, method, jvs ? " vs " : "", jvs ? jvs->valuestring : "");
                double v = NAN;
                if (run && strcmp(metric, "seconds_sum") == 0) v = run_seconds(run) - (vsrun ? run_seconds(vsrun) : 0);
                if (run && strcmp(metric, "models") == 0) v = cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(run, "affected"));
                if (run && vsrun && strcmp(metric, "speedup") == 0) v = run_seconds(run) > 0 ? run_seconds(vsrun) / run_seconds(run) : NAN;
                nvals = isfinite(v);
                shown = v;
                pass = within(&b, v);
                snprintf(detail, sizeof detail, "%.4g", v);
            } else {
                snprintf(what, sizeof what, "%s%s%s of %s, model %s", metric, jvs ? " minus " : "", jvs ? jvs->valuestring : "",
                         method, model);
                const cJSON *a;
                double sum = 0;
                size_t k = 0;
                bool mean = strcmp(model, "mean") == 0, all = strcmp(model, "*") == 0;
                const cJSON *aff = run ? cJSON_GetObjectItemCaseSensitive(run, "affected") : NULL;
                cJSON_ArrayForEach(a, aff) {
                    const cJSON *n = cJSON_GetObjectItemCaseSensitive(a, "model");
                    if (!cJSON_IsString(n) || (!mean && !all && strcmp(n->valuestring, model) != 0)) continue;
                    double v = model_value(run, n->valuestring, metric);
                    if (jvs) v -= vsrun ? model_value(vsrun, n->valuestring, metric) : NAN;
                    if (!isfinite(v)) continue; /* no samples of that kind (or not in vs) */
                    nvals++;
                    if (mean) {
                        sum += v;
                        continue;
                    }
                    bool ok = within(&b, v);
                    if (!ok || !isfinite(shown)) shown = v;
                    pass &= ok;
                    if (k < sizeof detail)
                        k += (size_t)snprintf(detail + k, sizeof detail - k, "%s%s %.4g%s", k ? ", " : "", n->valuestring, v,
                                              ok ? "" : " (out)");
                }
                if (mean && nvals) {
                    shown = sum / nvals;
                    pass = within(&b, shown);
                    snprintf(detail, sizeof detail, "mean over %d models %.4g", nvals, shown);
                }
            }
        }
        if (nvals == 0) {
            pass = false;
            snprintf(detail, sizeof detail, "no value found in the results");
        }
        failed += !pass;
        fprintf(f, "%s  expect[%d] %s: %s [%s] (%s)\n", pass ? "PASS" : "FAIL", i, what, bt, src, detail);
        cJSON *o = cJSON_Duplicate(x, true);
        if (o) {
            cJSON_AddItemToObject(o, "actual", isfinite(shown) ? cJSON_CreateNumber(shown) : cJSON_CreateNull());
            cJSON_AddBoolToObject(o, "pass", pass);
            cJSON_AddStringToObject(o, "detail", detail);
            cJSON_AddItemToArray(*outcomes, o);
        }
        i++;
    }
    return failed;
}
