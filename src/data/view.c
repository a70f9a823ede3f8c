/* Views: a borrowed dataset plus an owned int32 index list. Constructors for the whole
 * dataset, an explicit index list, label filters (order kept), seeded shuffles and clones,
 * plus per-label counts. Splits live in split.c. Deliberately never copies pixels and never
 * deduplicates indices (a view may repeat a sample if the caller asks for it).
 */
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>

/* A view of n entries with an uninitialised index list. */
static ul_status view_new(ul_dataset *d, size_t n, ul_view **out) {
    ul_view *v = ul_calloc(1, sizeof *v);
    if (!v) return UL_E_NOMEM;
    v->idx = ul_malloc(n, sizeof *v->idx);
    if (!v->idx) {
        free(v);
        return UL_E_NOMEM;
    }
    v->ds = d;
    v->n = n;
    *out = v;
    return UL_OK;
}

void ul_view_free(ul_view *v) {
    if (!v) return;
    free(v->idx);
    free(v);
}

ul_status ul_view_all(ul_dataset *d, ul_view **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_view_all: out is NULL");
    *out = NULL;
    if (!d) return ul_fail(UL_E_ARG, "ul_view_all: dataset is NULL");
    ul_view *v;
    ul_status st = view_new(d, d->n, &v);
    if (st != UL_OK) return st;
    for (size_t i = 0; i < d->n; i++) v->idx[i] = (int32_t)i;
    *out = v;
    return UL_OK;
}

ul_status ul_view_from_indices(ul_dataset *d, const int32_t *idx, size_t n, ul_view **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_view_from_indices: out is NULL");
    *out = NULL;
    if (!d || (!idx && n)) return ul_fail(UL_E_ARG, "ul_view_from_indices: NULL dataset or indices");
    for (size_t i = 0; i < n; i++)
        if (idx[i] < 0 || (size_t)idx[i] >= d->n)
            return ul_fail(UL_E_ARG, "%s: index[%zu] = %d outside [0, %zu)", d->name, i, (int)idx[i], d->n);
    ul_view *v;
    ul_status st = view_new(d, n, &v);
    if (st != UL_OK) return st;
    if (n) memcpy(v->idx, idx, n * sizeof *idx);
    *out = v;
    return UL_OK;
}

ul_status ul_view_clone(const ul_view *src, ul_view **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_view_clone: out is NULL");
    *out = NULL;
    if (!src || !src->ds) return ul_fail(UL_E_ARG, "ul_view_clone: NULL view");
    return ul_view_from_indices(src->ds, src->idx, src->n, out);
}

ul_status ul_view_shuffled(const ul_view *src, uint64_t seed, ul_view **out) {
    ul_status st = ul_view_clone(src, out);
    if (st != UL_OK) return st;
    ul_rng r;
    ul_rng_seed(&r, seed);
    ul_rng_shuffle_i32(&r, (*out)->idx, (*out)->n);
    return UL_OK;
}

ul_status ul_view_filter_labels(const ul_view *src, const int32_t *labels, size_t nlabels, bool keep,
                                ul_view **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_view_filter_labels: out is NULL");
    *out = NULL;
    if (!src || !src->ds || (!labels && nlabels))
        return ul_fail(UL_E_ARG, "ul_view_filter_labels: NULL view or labels");
    const ul_dataset *d = src->ds;
    for (size_t i = 0; i < nlabels; i++)
        if (labels[i] < 0 || labels[i] >= d->classes)
            return ul_fail(UL_E_ARG, "%s: filter label %d outside [0, %d)", d->name, (int)labels[i],
                           d->classes);
    bool *in = ul_calloc((size_t)d->classes, sizeof *in);
    if (!in) return UL_E_NOMEM;
    for (size_t i = 0; i < nlabels; i++) in[labels[i]] = true;
    size_t k = 0;
    for (size_t i = 0; i < src->n; i++)
        if (in[d->labels[src->idx[i]]] == keep) k++;
    ul_view *v;
    ul_status st = view_new(src->ds, k, &v);
    if (st == UL_OK) {
        k = 0;
        for (size_t i = 0; i < src->n; i++)
            if (in[d->labels[src->idx[i]]] == keep) v->idx[k++] = src->idx[i];
        *out = v;
    }
    free(in);
    return st;
}

void ul_view_label_counts(const ul_view *v, size_t *counts, int classes) {
    if (!counts || classes <= 0) return;
    memset(counts, 0, (size_t)classes * sizeof *counts);
    if (!v || !v->ds) return;
    for (size_t i = 0; i < v->n; i++) {
        int32_t l = v->ds->labels[v->idx[i]];
        if (l >= 0 && l < classes) counts[l]++;
    }
}
