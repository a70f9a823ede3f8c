/* ul_parse_label_set: label sets written as comma-separated items, each a decimal label or
 * an inclusive range "a-b" ("0-7", "3", "1,3,5-6"); spaces and tabs around numbers are
 * ignored. The result is sorted and unique. Deliberately strict: empty items, reversed
 * ranges, signs, labels outside [0, max_classes) and any other character are errors.
 */
#include "data/data_internal.h"

#include <stdlib.h>

static const char *skip_sp(const char *p) {
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

static ul_status parse_num(const char *s, const char **pp, int max_classes, int32_t *v) {
    const char *p = *pp;
    if (*p < '0' || *p > '9')
        return ul_fail(UL_E_ARG, "label set '%s': expected a label at position %ld", s, (long)(p - s));
    const char *start = p;
    long long x = 0;
    while (*p >= '0' && *p <= '9') {
        if (x <= (long long)max_classes) x = x * 10 + (*p - '0');
        p++;
    }
    if (x >= max_classes) /* the label as written (x saturates on very long digit strings) */
        return ul_fail(UL_E_ARG, "label set '%s': label %.*s is out of range [0, %d) (labels are 0-%d)", s,
                       (int)(p - start > 40 ? 40 : p - start), start, max_classes, max_classes - 1);
    *v = (int32_t)x;
    *pp = p;
    return UL_OK;
}

ul_status ul_parse_label_set(const char *s, int max_classes, int32_t **labels, size_t *n) {
    if (labels) *labels = NULL;
    if (n) *n = 0;
    if (!s || !labels || !n) return ul_fail(UL_E_ARG, "ul_parse_label_set: NULL argument");
    if (max_classes <= 0 || max_classes > UL_DATA_MAX_CLASSES)
        return ul_fail(UL_E_ARG, "ul_parse_label_set: max_classes = %d, expected 1..%d", max_classes,
                       UL_DATA_MAX_CLASSES);
    unsigned char *in = ul_calloc((size_t)max_classes, 1);
    if (!in) return UL_E_NOMEM;
    ul_status st = UL_OK;
    const char *p = skip_sp(s);
    if (!*p) {
        st = ul_fail(UL_E_ARG, "label set '%s' is empty", s);
        goto done;
    }
    for (;;) {
        int32_t a = 0, b = 0;
        p = skip_sp(p);
        if ((st = parse_num(s, &p, max_classes, &a)) != UL_OK) goto done;
        p = skip_sp(p);
        b = a;
        if (*p == '-') {
            p = skip_sp(p + 1);
            if ((st = parse_num(s, &p, max_classes, &b)) != UL_OK) goto done;
            if (b < a) {
                st = ul_fail(UL_E_ARG, "label set '%s': reversed range %d-%d", s, (int)a, (int)b);
                goto done;
            }
            p = skip_sp(p);
        }
        for (int32_t v = a; v <= b; v++) in[v] = 1;
        if (*p == '\0') break;
        if (*p != ',') {
            st = ul_fail(UL_E_ARG, "label set '%s': unexpected '%c' at position %ld", s, *p, (long)(p - s));
            goto done;
        }
        p++;
    }
    size_t k = 0;
    for (int v = 0; v < max_classes; v++) k += in[v];
    int32_t *out = ul_malloc(k, sizeof *out);
    if (!out) {
        st = UL_E_NOMEM;
        goto done;
    }
    k = 0;
    for (int v = 0; v < max_classes; v++)
        if (in[v]) out[k++] = v;
    *labels = out;
    *n = k;
done:
    free(in);
    return st;
}
