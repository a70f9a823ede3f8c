/* Seeded view splits. Random: shuffle the positions 0..n-1 of the view with ul_rng_seed(seed)
 * and send the first round(frac*n) to `part`. Stratified: per label, shuffle that label's
 * positions with ul_rng_seed2(seed, label) and send round(frac*count) to `part`, so one
 * class's selection does not depend on which other classes are present. Both outputs keep
 * the source view's order (only the selection depends on the shuffle). No k-fold here.
 */
#include "data/data_internal.h"

#include <math.h>
#include <stdlib.h>

static size_t round_frac(double frac, size_t n) {
    double k = floor(frac * (double)n + 0.5);
    if (k < 0) k = 0;
    if (k > (double)n) k = (double)n;
    return (size_t)k;
}

/* Build part/rest from a selection mask over the view's positions. */
static ul_status emit(const ul_view *src, const unsigned char *sel, size_t k, ul_view **part,
                      ul_view **rest) {
    ul_view *p = NULL, *r = NULL;
    ul_status st = UL_OK;
    if (part) {
        p = ul_calloc(1, sizeof *p);
        if (p) p->idx = ul_malloc(k, sizeof *p->idx);
        if (!p || !p->idx) st = UL_E_NOMEM;
    }
    if (rest && st == UL_OK) {
        r = ul_calloc(1, sizeof *r);
        if (r) r->idx = ul_malloc(src->n - k, sizeof *r->idx);
        if (!r || !r->idx) st = UL_E_NOMEM;
    }
    if (st != UL_OK) {
        ul_view_free(p);
        ul_view_free(r);
        return st;
    }
    size_t a = 0, b = 0;
    for (size_t i = 0; i < src->n; i++) {
        if (sel[i]) {
            if (p) p->idx[a] = src->idx[i];
            a++;
        } else {
            if (r) r->idx[b] = src->idx[i];
            b++;
        }
    }
    if (p) {
        p->ds = src->ds;
        p->n = a;
        *part = p;
    }
    if (r) {
        r->ds = src->ds;
        r->n = b;
        *rest = r;
    }
    return UL_OK;
}

static ul_status check_args(const char *fn, const ul_view *src, double frac, ul_view **part,
                            ul_view **rest) {
    if (part) *part = NULL;
    if (rest) *rest = NULL;
    if (!src || !src->ds) return ul_fail(UL_E_ARG, "%s: NULL view", fn);
    if (!(frac >= 0.0 && frac <= 1.0)) return ul_fail(UL_E_ARG, "%s: frac = %g, expected [0, 1]", fn, frac);
    return UL_OK;
}

ul_status ul_view_split_random(const ul_view *src, double frac, uint64_t seed, ul_view **part,
                               ul_view **rest) {
    ul_status st = check_args("ul_view_split_random", src, frac, part, rest);
    if (st != UL_OK) return st;
    size_t n = src->n, k = round_frac(frac, n);
    int32_t *pos = ul_malloc(n, sizeof *pos);
    unsigned char *sel = ul_calloc(n, 1);
    if (!pos || !sel) {
        free(pos);
        free(sel);
        return UL_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) pos[i] = (int32_t)i;
    ul_rng r;
    ul_rng_seed(&r, seed);
    ul_rng_shuffle_i32(&r, pos, n);
    for (size_t i = 0; i < k; i++) sel[pos[i]] = 1;
    free(pos);
    st = emit(src, sel, k, part, rest);
    free(sel);
    return st;
}

ul_status ul_view_split_stratified(const ul_view *src, double frac, uint64_t seed, ul_view **part,
                                   ul_view **rest) {
    ul_status st = check_args("ul_view_split_stratified", src, frac, part, rest);
    if (st != UL_OK) return st;
    const ul_dataset *d = src->ds;
    size_t n = src->n, classes = (size_t)d->classes;
    size_t *start = ul_calloc(classes + 1, sizeof *start);
    int32_t *pos = ul_malloc(n, sizeof *pos);
    unsigned char *sel = ul_calloc(n, 1);
    size_t *fill = ul_calloc(classes, sizeof *fill);
    if (!start || !pos || !sel || !fill) {
        st = UL_E_NOMEM;
        goto done;
    }
    /* Bucket the positions by label (counting sort keeps view order inside a bucket). */
    for (size_t i = 0; i < n; i++) start[d->labels[src->idx[i]] + 1]++;
    for (size_t c = 0; c < classes; c++) start[c + 1] += start[c];
    for (size_t i = 0; i < n; i++) {
        size_t c = (size_t)d->labels[src->idx[i]];
        pos[start[c] + fill[c]++] = (int32_t)i;
    }
    size_t k = 0;
    for (size_t c = 0; c < classes; c++) {
        size_t cnt = start[c + 1] - start[c], kc = round_frac(frac, cnt);
        if (!cnt) continue;
        ul_rng r;
        ul_rng_seed2(&r, seed, (uint64_t)c);
        ul_rng_shuffle_i32(&r, pos + start[c], cnt);
        for (size_t i = 0; i < kc; i++) sel[pos[start[c] + i]] = 1;
        k += kc;
    }
    st = emit(src, sel, k, part, rest);
done:
    free(start);
    free(pos);
    free(sel);
    free(fill);
    return st;
}
