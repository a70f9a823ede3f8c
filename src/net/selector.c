/* Data selectors (net.h): which samples of a dataset a model trained on. Resolution = every sample,
 * then the label filter, then shard k of N of a seeded random permutation of the filtered
 * positions (contiguous near-equal parts, kept in dataset order); canonical compact JSON and back;
 * the hash of a resolved view. Also the edge-type names.
 * Deliberately does not apply `exclude` (the sample-id list lives in a network's object store, which
 * a selector does not know): exclusions are applied by network-level code that owns the store.
 */
#include "net/net_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#define SEED_EXACT_MAX 9007199254740992ULL /* 2^53: larger seeds are written as strings */
#define LABEL_SYNTAX_MAX 65536             /* UL_DATA_MAX_CLASSES, for syntax checks */

static const char *const EDGE_NAMES[UL_EDGE_COUNT] = {"none", "avg", "continue", "transfer", "finetune"};

const char *ul_edge_name(ul_edge_type t) {
    return (t >= 0 && t < UL_EDGE_COUNT) ? EDGE_NAMES[t] : "invalid";
}

ul_status ul_edge_parse(const char *s, ul_edge_type *out) {
    if (!s || !out) return ul_fail(UL_E_ARG, "ul_edge_parse: NULL argument");
    for (int i = 0; i < UL_EDGE_COUNT; i++)
        if (strcmp(s, EDGE_NAMES[i]) == 0) {
            *out = (ul_edge_type)i;
            return UL_OK;
        }
    return ul_fail(UL_E_ARG, "unknown edge type '%s' (expected none, avg, continue, transfer or finetune)", s);
}

ul_status ul_net_selector_validate(const ul_data_selector *s, const char *who) {
    if (!s) return ul_fail(UL_E_ARG, "%s: no selector", who);
    if (!s->data[0] || strnlen(s->data, sizeof s->data) >= sizeof s->data)
        return ul_fail(UL_E_ARG, "%s: data: empty or longer than %zu characters", who, sizeof s->data - 1);
    if (!s->split[0] || strnlen(s->split, sizeof s->split) >= sizeof s->split)
        return ul_fail(UL_E_ARG, "%s: split: empty or longer than %zu characters", who, sizeof s->split - 1);
    if (strnlen(s->labels, sizeof s->labels) >= sizeof s->labels)
        return ul_fail(UL_E_ARG, "%s: labels: longer than %zu characters", who, sizeof s->labels - 1);
    if (s->labels[0]) {
        int32_t *lab;
        size_t nl;
        ul_status st = ul_parse_label_set(s->labels, LABEL_SYNTAX_MAX, &lab, &nl);
        if (st != UL_OK) return ul_fail_ctx(st, "%s: labels", who);
        free(lab);
    }
    if (s->nshards < 0 || (s->nshards == 0 && s->shard != 0) || (s->nshards > 0 && (s->shard < 0 || s->shard >= s->nshards)))
        return ul_fail(UL_E_ARG, "%s: shard %d of %d: expected 0 <= shard < nshards, or 0 of 0 for all samples", who,
                       s->shard, s->nshards);
    if (s->exclude[0] && !ul_net_hex_ok(s->exclude))
        return ul_fail(UL_E_ARG, "%s: exclude: '%.64s' is neither empty nor a SHA-256", who, s->exclude);
    return UL_OK;
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

ul_status ul_selector_resolve(const ul_data_selector *sel, ul_dataset *d, ul_view **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_selector_resolve: out is NULL");
    *out = NULL;
    if (!d) return ul_fail(UL_E_ARG, "ul_selector_resolve: dataset is NULL");
    ul_status st = ul_net_selector_validate(sel, "data selector");
    if (st != UL_OK) return st;
    ul_view *all = NULL, *filtered = NULL;
    if ((st = ul_view_all(d, &all)) != UL_OK) return st;
    if (sel->labels[0]) {
        int32_t *lab;
        size_t nl;
        st = ul_parse_label_set(sel->labels, ul_dataset_classes(d), &lab, &nl);
        if (st != UL_OK) {
            ul_view_free(all);
            return ul_fail_ctx(st, "data selector on '%s': labels", ul_dataset_name(d));
        }
        st = ul_view_filter_labels(all, lab, nl, true, &filtered);
        free(lab);
        ul_view_free(all);
        if (st != UL_OK) return st;
    } else {
        filtered = all;
    }
    if (sel->nshards == 0) {
        *out = filtered;
        return UL_OK;
    }
    size_t n = filtered->n;
    int32_t *perm = ul_malloc(n, sizeof *perm);
    if (!perm) {
        ul_view_free(filtered);
        return UL_E_NOMEM;
    }
    for (size_t i = 0; i < n; i++) perm[i] = (int32_t)i;
    ul_rng r;
    ul_rng_seed(&r, sel->shard_seed);
    ul_rng_shuffle_i32(&r, perm, n);
    /* part k = positions [n*k/N, n*(k+1)/N) of the permutation; n < 2^31 so the products fit */
    size_t lo = (size_t)((uint64_t)n * (uint64_t)sel->shard / (uint64_t)sel->nshards);
    size_t hi = (size_t)((uint64_t)n * (uint64_t)(sel->shard + 1) / (uint64_t)sel->nshards);
    for (size_t i = lo; i < hi; i++) perm[i - lo] = filtered->idx[perm[i]];
    qsort(perm, hi - lo, sizeof *perm, cmp_i32);
    st = ul_view_from_indices(d, perm, hi - lo, out);
    free(perm);
    ul_view_free(filtered);
    return st;
}

char *ul_selector_to_json(const ul_data_selector *sel) {
    if (!sel) return NULL;
    cJSON *o = cJSON_CreateObject();
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)sel->shard_seed);
    bool ok = o && cJSON_AddStringToObject(o, "data", sel->data) && cJSON_AddStringToObject(o, "split", sel->split) &&
              cJSON_AddStringToObject(o, "labels", sel->labels) && cJSON_AddNumberToObject(o, "shard", sel->shard) &&
              cJSON_AddNumberToObject(o, "nshards", sel->nshards);
    if (ok && sel->shard_seed > SEED_EXACT_MAX) ok = cJSON_AddStringToObject(o, "shard_seed", seed) != NULL;
    else if (ok) ok = cJSON_AddRawToObject(o, "shard_seed", seed) != NULL;
    ok = ok && cJSON_AddStringToObject(o, "exclude", sel->exclude);
    char *s = ok ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

/* Copy a JSON string member into dst (cap bytes); missing is "" when optional. */
static ul_status json_str(const cJSON *o, const char *key, bool required, char *dst, size_t cap) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    dst[0] = '\0';
    if (!j) return required ? ul_fail(UL_E_FORMAT, "selector JSON: '%s' is missing", key) : UL_OK;
    if (!cJSON_IsString(j)) return ul_fail(UL_E_FORMAT, "selector JSON: '%s' is not a string", key);
    size_t len = strlen(j->valuestring);
    if (len >= cap) return ul_fail(UL_E_FORMAT, "selector JSON: '%s' is longer than %zu characters", key, cap - 1);
    memcpy(dst, j->valuestring, len + 1);
    return UL_OK;
}

static ul_status json_int(const cJSON *o, const char *key, int *dst) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    *dst = 0;
    if (!j) return UL_OK;
    if (!cJSON_IsNumber(j) || !(j->valuedouble >= 0.0 && j->valuedouble <= 2147483647.0) ||
        j->valuedouble != (double)(int)j->valuedouble)
        return ul_fail(UL_E_FORMAT, "selector JSON: '%s' is not a non-negative integer", key);
    *dst = (int)j->valuedouble;
    return UL_OK;
}

static ul_status json_seed(const cJSON *o, uint64_t *dst) {
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, "shard_seed");
    *dst = 0;
    if (!j) return UL_OK;
    if (cJSON_IsNumber(j)) {
        double v = j->valuedouble;
        if (v < 0.0 || v > (double)SEED_EXACT_MAX || v != (double)(uint64_t)v)
            return ul_fail(UL_E_FORMAT, "selector JSON: 'shard_seed' %g is not an integer in [0, 2^53] (larger seeds "
                                        "are written as decimal strings)",
                           v);
        *dst = (uint64_t)v;
        return UL_OK;
    }
    if (cJSON_IsString(j)) {
        const char *s = j->valuestring;
        uint64_t v = 0;
        if (!s[0] || strlen(s) > 20) return ul_fail(UL_E_FORMAT, "selector JSON: 'shard_seed' '%.32s' is not a decimal seed", s);
        for (const char *p = s; *p; p++) {
            if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
                return ul_fail(UL_E_FORMAT, "selector JSON: 'shard_seed' '%s' is not a decimal 64-bit seed", s);
            v = v * 10 + (uint64_t)(*p - '0');
        }
        *dst = v;
        return UL_OK;
    }
    return ul_fail(UL_E_FORMAT, "selector JSON: 'shard_seed' is neither a number nor a decimal string");
}

ul_status ul_selector_from_json(const char *json, ul_data_selector *out) {
    if (!json || !out) return ul_fail(UL_E_ARG, "ul_selector_from_json: NULL argument");
    memset(out, 0, sizeof *out);
    cJSON *o = cJSON_ParseWithOpts(json, NULL, true);
    if (!cJSON_IsObject(o)) {
        cJSON_Delete(o);
        return ul_fail(UL_E_FORMAT, "selector JSON is not a JSON object: '%.80s'", json);
    }
    static const char *const KEYS[] = {"data", "split", "labels", "shard", "nshards", "shard_seed", "exclude"};
    ul_status st = UL_OK;
    for (const cJSON *c = o->child; c && st == UL_OK; c = c->next) {
        bool known = false;
        for (size_t i = 0; i < sizeof KEYS / sizeof *KEYS; i++) known = known || strcmp(c->string, KEYS[i]) == 0;
        if (!known) st = ul_fail(UL_E_FORMAT, "selector JSON: unknown key '%s'", c->string);
    }
    ul_data_selector s;
    memset(&s, 0, sizeof s);
    if (st == UL_OK) st = json_str(o, "data", true, s.data, sizeof s.data);
    if (st == UL_OK) st = json_str(o, "split", true, s.split, sizeof s.split);
    if (st == UL_OK) st = json_str(o, "labels", false, s.labels, sizeof s.labels);
    if (st == UL_OK) st = json_int(o, "shard", &s.shard);
    if (st == UL_OK) st = json_int(o, "nshards", &s.nshards);
    if (st == UL_OK) st = json_seed(o, &s.shard_seed);
    if (st == UL_OK) st = json_str(o, "exclude", false, s.exclude, sizeof s.exclude);
    cJSON_Delete(o);
    if (st == UL_OK && ul_net_selector_validate(&s, "selector JSON") != UL_OK) st = UL_E_FORMAT; /* message kept */
    if (st == UL_OK) *out = s;
    return st;
}

void ul_selector_hash(const ul_view *v, char hex[65]) {
    if (!hex) return;
    hex[0] = '\0';
    if (!v || !v->ds) return;
    const int32_t *idx = v->idx;
    int32_t *sorted = NULL;
    bool in_order = true;
    for (size_t i = 1; i < v->n && in_order; i++) in_order = v->idx[i - 1] <= v->idx[i];
    if (!in_order) {
        sorted = ul_malloc(v->n, sizeof *sorted);
        if (!sorted) return; /* out of memory: hex stays "" */
        memcpy(sorted, v->idx, v->n * sizeof *sorted);
        qsort(sorted, v->n, sizeof *sorted, cmp_i32);
        idx = sorted;
    }
    ul_sha256 c;
    ul_sha256_init(&c);
    const char *dh = ul_dataset_hash(v->ds);
    ul_sha256_update(&c, dh, strlen(dh));
    uint8_t buf[4096];
    size_t k = 0;
    for (size_t i = 0; i < v->n; i++) {
        uint32_t x = (uint32_t)idx[i];
        buf[k++] = (uint8_t)x;
        buf[k++] = (uint8_t)(x >> 8);
        buf[k++] = (uint8_t)(x >> 16);
        buf[k++] = (uint8_t)(x >> 24);
        if (k == sizeof buf) {
            ul_sha256_update(&c, buf, k);
            k = 0;
        }
    }
    if (k) ul_sha256_update(&c, buf, k);
    uint8_t d[32];
    ul_sha256_final(&c, d);
    ul_sha256_to_hex(d, hex);
    free(sorted);
}
