/* Sample-id files for sample-level forget requests: decimal sample indices into a dataset split,
 * separated by whitespace, newlines or commas; '#' starts a comment that runs to the end of the
 * line. The result is sorted and unique (a repeated id is not an error: erasure lists are often
 * concatenated). Deliberately strict otherwise: signs, hex, fractions, ids >= the split's size,
 * NUL bytes and any other character are errors naming the file, line and column.
 */
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>

#include "unlearn/io.h"

static int cmp_i32(const void *a, const void *b) {
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

ul_status ul_parse_ids(const char *name, const char *text, size_t len, size_t limit, int32_t **ids, size_t *n) {
    *ids = NULL;
    *n = 0;
    size_t cap = 0, cnt = 0, line = 1, col0 = 0;
    int32_t *v = NULL;
    for (size_t i = 0; i < len;) {
        const char c = text[i];
        if (c == '\n') {
            line++;
            col0 = ++i;
        } else if (c == ' ' || c == '\t' || c == '\r' || c == ',') {
            i++;
        } else if (c == '#') {
            while (i < len && text[i] != '\n') i++;
        } else if (c >= '0' && c <= '9') {
            const size_t start = i;
            unsigned long long x = 0;
            while (i < len && text[i] >= '0' && text[i] <= '9') {
                x = x * 10 + (unsigned long long)(text[i] - '0');
                if (x >= limit || x > INT32_MAX) {
                    free(v);
                    return ul_fail(UL_E_ARG, "%s:%zu:%zu: sample id %.*s%s is out of range (the split has %zu samples)",
                                   name, line, start - col0 + 1, (int)(i - start + 1 < 24 ? i - start + 1 : 24),
                                   text + start, i - start + 1 < 24 ? "" : "...", limit);
                }
                i++;
            }
            if (i < len && text[i] != '\n' && text[i] != ' ' && text[i] != '\t' && text[i] != '\r' &&
                text[i] != ',' && text[i] != '#') {
                free(v);
                return ul_fail(UL_E_ARG, "%s:%zu:%zu: expected a sample id (a non-negative decimal integer)", name, line,
                               start - col0 + 1);
            }
            if (cnt == cap) {
                size_t nc = cap ? cap * 2 : 256;
                int32_t *nv = realloc(v, nc * sizeof *nv);
                if (!nv) {
                    free(v);
                    return UL_E_NOMEM;
                }
                v = nv;
                cap = nc;
            }
            v[cnt++] = (int32_t)x;
        } else {
            free(v);
            return ul_fail(UL_E_ARG, "%s:%zu:%zu: expected a sample id (a non-negative decimal integer)", name, line,
                           i - col0 + 1);
        }
    }
    if (cnt == 0) {
        free(v);
        return ul_fail(UL_E_ARG, "%s: no sample ids", name);
    }
    qsort(v, cnt, sizeof *v, cmp_i32);
    size_t u = 1;
    for (size_t i = 1; i < cnt; i++)
        if (v[i] != v[u - 1]) v[u++] = v[i];
    *ids = v;
    *n = u;
    return UL_OK;
}

ul_status ul_read_ids(const char *path, size_t limit, int32_t **ids, size_t *n) {
    uint8_t *buf = NULL;
    size_t len = 0;
    *ids = NULL;
    *n = 0;
    ul_status st = ul_read_file(path, (size_t)1 << 30, &buf, &len);
    if (st != UL_OK) return st;
    st = ul_parse_ids(path, (const char *)buf, len, limit, ids, n);
    free(buf);
    return st;
}

ul_status ul_view_filter_ids(const ul_view *src, const int32_t *ids, size_t nids, bool keep, ul_view **out) {
    *out = NULL;
    int32_t *idx = ul_malloc(src->n ? src->n : 1, sizeof *idx);
    if (!idx) return UL_E_NOMEM;
    size_t k = 0;
    for (size_t i = 0; i < src->n; i++) {
        const int32_t s = src->idx[i];
        const bool hit = nids && bsearch(&s, ids, nids, sizeof s, cmp_i32) != NULL;
        if (hit == keep) idx[k++] = s;
    }
    ul_status st = ul_view_from_indices(src->ds, idx, k, out);
    free(idx);
    return st;
}
