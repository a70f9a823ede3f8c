/* Generic access to ul_unlearn_params by key (protocol.h): one table row per (key, methods, field,
 * type, range) drives set, get and the key lists, so `--set sfron.forget_alpha=10` style overrides
 * and the parameter records of result files cannot drift from the struct. Ranges repeat the
 * checks of ul_unlearn (api.c) so a bad value fails at parse time. Also the step count a method
 * will take, for progress bars. Deliberately no parameter that ul_unlearn does not read (no
 * Nesterov, no dampening: the methods run PyTorch 1.12 SGD as the official code does).
 */
#include "unlearn/protocol.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum ptype { PT_DOUBLE, PT_INT, PT_I64, PT_BOOL, PT_SCHED, PT_FEST, PT_FSCOPE } ptype;

#define M(x) (1u << UL_UNLEARN_##x)
#define ALL_GRAD (M(RETRAIN) | M(FT) | M(GA) | M(RL) | M(SALUN) | M(L1SPARSE) | M(BADTEACHER) | M(SCRUB) | M(SFRON))
#define EPOCHS (ALL_GRAD & ~M(SFRON))

typedef struct pinfo {
    const char *key;
    unsigned methods;   /* bit per method that reads the field */
    ptype type;
    size_t off;         /* offset in ul_unlearn_params */
    double lo, hi;      /* numeric range */
    bool lo_open;       /* lo excluded */
} pinfo;

#define OFF(f) offsetof(ul_unlearn_params, f)

static const pinfo TABLE[] = {
    {"epochs", EPOCHS, PT_INT, OFF(epochs), 0, 1e6, false},
    {"iters", M(SFRON), PT_I64, OFF(iters), 0, 1e12, false},
    {"batch_size", ALL_GRAD & ~M(GA), PT_INT, OFF(batch_size), 1, 65536, false},
    {"forget_batch_size", M(GA) | M(SALUN) | M(SCRUB) | M(SFRON), PT_INT, OFF(forget_batch_size), 1, 65536, false},
    {"lr", ALL_GRAD, PT_DOUBLE, OFF(optim.lr), 0, 1e3, false},
    {"momentum", ALL_GRAD, PT_DOUBLE, OFF(optim.momentum), 0, 1, false},
    {"weight_decay", ALL_GRAD, PT_DOUBLE, OFF(optim.weight_decay), 0, 1e3, false},
    {"sched", ALL_GRAD, PT_SCHED, OFF(sched), 0, 0, false},
    {"clip_norm", EPOCHS, PT_DOUBLE, OFF(clip_norm), 0, 1e12, false},
    {"bn_eval", ALL_GRAD, PT_BOOL, OFF(bn_eval), 0, 0, false},
    {"ratio", M(SALUN), PT_DOUBLE, OFF(salun.ratio), 0, 1, false},
    {"alpha", M(L1SPARSE), PT_DOUBLE, OFF(l1sparse.alpha), 0, 1e6, false},
    {"no_l1_epochs", M(L1SPARSE), PT_INT, OFF(l1sparse.no_l1_epochs), 0, 1e6, false},
    {"temperature", M(BADTEACHER), PT_DOUBLE, OFF(badteacher.temperature), 0, 1e6, true},
    {"temperature", M(SCRUB), PT_DOUBLE, OFF(scrub.temperature), 0, 1e6, true},
    {"gamma", M(SCRUB), PT_DOUBLE, OFF(scrub.gamma), -1e6, 1e6, false},
    {"alpha", M(SCRUB), PT_DOUBLE, OFF(scrub.alpha), -1e6, 1e6, false},
    {"msteps", M(SCRUB), PT_INT, OFF(scrub.msteps), 0, 1e6, false},
    {"alpha", M(SSD), PT_DOUBLE, OFF(ssd.alpha), 0, 1e300, false},
    {"lambda", M(SSD), PT_DOUBLE, OFF(ssd.lambda), 0, 1e300, false},
    {"fisher_estimator", M(SSD), PT_FEST, OFF(ssd.fisher.estimator), 0, 0, false},
    {"fisher_scope", M(SSD), PT_FSCOPE, OFF(ssd.fisher.scope), 0, 0, false},
    {"fisher_batch", M(SSD), PT_INT, OFF(ssd.fisher.batch_size), 1, 65536, false},
    {"fisher_trunc", M(SSD), PT_INT, OFF(ssd.fisher.trunc), 0, 65536, false},
    {"forget_alpha", M(SFRON), PT_DOUBLE, OFF(sfron.forget_alpha), 0, 1e12, false},
    {"forget_freq", M(SFRON), PT_INT, OFF(sfron.forget_freq), 1, 1e9, false},
    {"lambda", M(SFRON), PT_DOUBLE, OFF(sfron.lambda), -1e6, 1e6, false},
    {"gamma", M(SFRON), PT_DOUBLE, OFF(sfron.gamma), 0, 1e300, false},
    {"max_norm", M(SFRON), PT_DOUBLE, OFF(sfron.max_norm), 0, 1e12, false},
    {"ema_beta", M(SFRON), PT_DOUBLE, OFF(sfron.ema_beta), 0, 1, true},
};
#define NTABLE (sizeof TABLE / sizeof TABLE[0])

static const pinfo *find(ul_unlearn_method m, const char *key) {
    if ((unsigned)m >= UL_UNLEARN_METHOD_COUNT || !key) return NULL;
    for (size_t i = 0; i < NTABLE; i++)
        if ((TABLE[i].methods & (1u << m)) && strcmp(TABLE[i].key, key) == 0) return &TABLE[i];
    return NULL;
}

size_t ul_unlearn_param_keys(ul_unlearn_method m, const char **keys, size_t cap) {
    size_t n = 0;
    if ((unsigned)m >= UL_UNLEARN_METHOD_COUNT) return 0;
    for (size_t i = 0; i < NTABLE; i++)
        if (TABLE[i].methods & (1u << m)) {
            if (keys && n < cap) keys[n] = TABLE[i].key;
            n++;
        }
    return n;
}

bool ul_unlearn_param_is_numeric(const char *key) {
    for (size_t i = 0; i < NTABLE; i++)
        if (key && strcmp(TABLE[i].key, key) == 0)
            return TABLE[i].type == PT_DOUBLE || TABLE[i].type == PT_INT || TABLE[i].type == PT_I64;
    return false;
}

static ul_status unknown(ul_unlearn_method m, const char *key) {
    char list[512] = "";
    size_t len = 0;
    for (size_t i = 0; i < NTABLE; i++)
        if (TABLE[i].methods & (1u << m)) {
            int k = snprintf(list + len, sizeof list - len, "%s%s", len ? ", " : "", TABLE[i].key);
            if (k < 0 || (size_t)k >= sizeof list - len) break;
            len += (size_t)k;
        }
    return ul_fail(UL_E_ARG, "%s has no parameter '%s' (known: %s)", ul_unlearn_method_name(m), key ? key : "(null)",
                   len ? list : "none");
}

static bool parse_double(const char *s, double *out) {
    if (!s || !*s || *s == ' ' || *s == '\t') return false;
    errno = 0;
    char *end;
    const double v = strtod(s, &end);
    if (errno == ERANGE || end == s || *end != '\0' || !isfinite(v)) return false;
    *out = v;
    return true;
}

static bool parse_i64(const char *s, long long *out) {
    if (!s || !*s || *s == ' ' || *s == '\t') return false;
    errno = 0;
    char *end;
    const long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end != '\0') return false;
    *out = v;
    return true;
}

static bool in_range(const pinfo *e, double v) {
    return (e->lo_open ? v > e->lo : v >= e->lo) && v <= e->hi;
}

static int name_index(const char *s, const char *const *names, int n) {
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0) return i;
    return -1;
}

static const char *const SCHED_NAMES[] = {"const", "cosine"};
static const char *const BOOL_NAMES[] = {"off", "on"};
static const char *const FEST_NAMES[] = {"sample", "batch"};
static const char *const FSCOPE_NAMES[] = {"last", "all"};

ul_status ul_unlearn_param_set(ul_unlearn_params *p, const char *key, const char *value) {
    if (!p) return ul_fail(UL_E_ARG, "param set: NULL parameters");
    const ul_unlearn_method m = p->method;
    const pinfo *e = find(m, key);
    if (!e) return unknown(m, key);
    if (!value) return ul_fail(UL_E_ARG, "%s.%s: no value", ul_unlearn_method_name(m), key);
    char *base = (char *)p + e->off;
    const char *mn = ul_unlearn_method_name(m);
    switch (e->type) {
    case PT_DOUBLE: {
        double v;
        if (!parse_double(value, &v)) return ul_fail(UL_E_ARG, "%s.%s: '%s' is not a finite number", mn, key, value);
        if (!in_range(e, v))
            return ul_fail(UL_E_ARG, "%s.%s: %g is out of range %c%g, %g]", mn, key, v, e->lo_open ? '(' : '[', e->lo, e->hi);
        memcpy(base, &v, sizeof v);
        return UL_OK;
    }
    case PT_INT:
    case PT_I64: {
        long long v;
        if (!parse_i64(value, &v)) return ul_fail(UL_E_ARG, "%s.%s: '%s' is not an integer", mn, key, value);
        if (!in_range(e, (double)v))
            return ul_fail(UL_E_ARG, "%s.%s: %lld is out of range [%.0f, %.0f]", mn, key, v, e->lo, e->hi);
        if (e->type == PT_INT) {
            const int iv = (int)v;
            memcpy(base, &iv, sizeof iv);
        } else {
            const int64_t iv = (int64_t)v;
            memcpy(base, &iv, sizeof iv);
        }
        return UL_OK;
    }
    case PT_BOOL: {
        int i = name_index(value, BOOL_NAMES, 2);
        if (i < 0 && (strcmp(value, "true") == 0 || strcmp(value, "1") == 0)) i = 1;
        if (i < 0 && (strcmp(value, "false") == 0 || strcmp(value, "0") == 0)) i = 0;
        if (i < 0) return ul_fail(UL_E_ARG, "%s.%s: '%s' is not on or off", mn, key, value);
        const bool b = i == 1;
        memcpy(base, &b, sizeof b);
        return UL_OK;
    }
    case PT_SCHED: {
        const int i = name_index(value, SCHED_NAMES, 2);
        if (i < 0) return ul_fail(UL_E_ARG, "%s.%s: '%s' is not const or cosine", mn, key, value);
        const ul_sched_kind k = i == 0 ? UL_SCHED_CONST : UL_SCHED_COSINE;
        memcpy(base, &k, sizeof k);
        return UL_OK;
    }
    case PT_FEST: {
        const int i = name_index(value, FEST_NAMES, 2);
        if (i < 0) return ul_fail(UL_E_ARG, "%s.%s: '%s' is not sample or batch", mn, key, value);
        const ul_fisher_estimator k = i == 0 ? UL_FISHER_SAMPLE : UL_FISHER_BATCH;
        memcpy(base, &k, sizeof k);
        return UL_OK;
    }
    case PT_FSCOPE: {
        const int i = name_index(value, FSCOPE_NAMES, 2);
        if (i < 0) return ul_fail(UL_E_ARG, "%s.%s: '%s' is not last or all", mn, key, value);
        const ul_fisher_scope k = i == 0 ? UL_FISHER_LAST : UL_FISHER_ALL;
        memcpy(base, &k, sizeof k);
        return UL_OK;
    }
    }
    return ul_fail(UL_E_INTERNAL, "param set: bad type of %s", key);
}

ul_status ul_unlearn_param_get(const ul_unlearn_params *p, const char *key, char *buf, size_t cap) {
    if (!p || !buf || cap == 0) return ul_fail(UL_E_ARG, "param get: NULL argument");
    const pinfo *e = find(p->method, key);
    if (!e) return unknown(p->method, key);
    const char *base = (const char *)p + e->off;
    switch (e->type) {
    case PT_DOUBLE: {
        double v;
        memcpy(&v, base, sizeof v);
        snprintf(buf, cap, "%.17g", v);
        break;
    }
    case PT_INT: {
        int v;
        memcpy(&v, base, sizeof v);
        snprintf(buf, cap, "%d", v);
        break;
    }
    case PT_I64: {
        int64_t v;
        memcpy(&v, base, sizeof v);
        snprintf(buf, cap, "%lld", (long long)v);
        break;
    }
    case PT_BOOL: {
        bool v;
        memcpy(&v, base, sizeof v);
        snprintf(buf, cap, "%s", BOOL_NAMES[v ? 1 : 0]);
        break;
    }
    case PT_SCHED: {
        ul_sched_kind v;
        memcpy(&v, base, sizeof v);
        snprintf(buf, cap, "%s", v == UL_SCHED_CONST ? "const" : v == UL_SCHED_COSINE ? "cosine" : "multistep");
        break;
    }
    case PT_FEST: {
        ul_fisher_estimator v;
        memcpy(&v, base, sizeof v);
        snprintf(buf, cap, "%s", ul_fisher_estimator_name(v));
        break;
    }
    case PT_FSCOPE: {
        ul_fisher_scope v;
        memcpy(&v, base, sizeof v);
        snprintf(buf, cap, "%s", ul_fisher_scope_name(v));
        break;
    }
    }
    return UL_OK;
}

static int64_t batches(size_t n, int bs) { return bs > 0 ? (int64_t)((n + (size_t)bs - 1) / (size_t)bs) : 0; }

int64_t ul_unlearn_expected_steps(const ul_unlearn_params *p, size_t nf, size_t nr) {
    if (!p) return 0;
    const int64_t E = p->epochs > 0 ? p->epochs : 0;
    switch (p->method) {
    case UL_UNLEARN_RETRAIN:
    case UL_UNLEARN_FT:
    case UL_UNLEARN_L1SPARSE: return E * batches(nr, p->batch_size);
    case UL_UNLEARN_GA: return E * batches(nf, p->forget_batch_size);
    case UL_UNLEARN_RL:
    case UL_UNLEARN_SALUN:
    case UL_UNLEARN_BADTEACHER: return E * batches(nf + nr, p->batch_size);
    case UL_UNLEARN_SCRUB: {
        const int64_t ms = p->scrub.msteps < E ? p->scrub.msteps : E;
        return (ms > 0 ? ms : 0) * batches(nf, p->forget_batch_size) + E * batches(nr, p->batch_size);
    }
    case UL_UNLEARN_SFRON: {
        const int64_t T = p->iters > 0 ? p->iters : 0, f = p->sfron.forget_freq > 0 ? p->sfron.forget_freq : 1;
        return T + (T + f - 1) / f;
    }
    default: return 0;
    }
}
