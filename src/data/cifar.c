/* CIFAR-10 / CIFAR-100 binary reader ("binary version" of the Toronto distribution): each
 * record is the label byte(s) followed by 3072 pixel bytes, 3x32x32 already channel-major.
 * CIFAR-100 records carry (coarse, fine) label bytes; the fine label is used. Several batch
 * files are concatenated in the order given; every file size must be a whole number of
 * records. Deliberately no Python-pickle version and no coarse-label mode.
 */
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>

#define CIFAR_PIX 3072u
#define CIFAR_CHUNK 512u /* records per read */

typedef struct grow {
    unsigned char *pix;
    int32_t *lab;
    size_t n, cap;
} grow;

static ul_status grow_to(grow *g, size_t want, const char *path) {
    if (want <= g->cap) return UL_OK;
    if (want > UL_DATA_MAX_N)
        return ul_fail(UL_E_FORMAT, "%s: more than %lld CIFAR records in total", path,
                       (long long)UL_DATA_MAX_N);
    unsigned char *p = realloc(g->pix, want * CIFAR_PIX);
    if (!p) return ul_fail(UL_E_NOMEM, "%s: out of memory for %zu CIFAR records", path, want);
    g->pix = p;
    int32_t *l = realloc(g->lab, want * sizeof *l);
    if (!l) return ul_fail(UL_E_NOMEM, "%s: out of memory for %zu CIFAR labels", path, want);
    g->lab = l;
    g->cap = want;
    return UL_OK;
}

static ul_status read_one(const char *path, int label_bytes, int classes, grow *g, unsigned char *chunk) {
    const size_t rec = (size_t)label_bytes + CIFAR_PIX;
    const char *kind = label_bytes == 1 ? "CIFAR-10" : "CIFAR-100";
    ul_src s;
    ul_status st = ul_src_open(&s, path);
    if (st != UL_OK) return st;
    uint64_t left = ul_src_left(&s);
    if (!s.gz) {
        if (left == 0 || left % rec != 0) {
            st = ul_fail(UL_E_FORMAT, "%s: size %llu is not a positive multiple of the %s record size %zu "
                                      "(%d label byte%s + 3x32x32 pixels)",
                         path, (unsigned long long)left, kind, rec, label_bytes, label_bytes > 1 ? "s" : "");
            goto done;
        }
        st = grow_to(g, g->n + (size_t)(left / rec), path);
        if (st != UL_OK) goto done;
    }
    size_t first = g->n;
    for (;;) {
        size_t got = 0;
        st = ul_src_read(&s, chunk, rec * CIFAR_CHUNK, &got);
        if (st != UL_OK) goto done;
        if (got % rec != 0) {
            st = ul_fail(UL_E_FORMAT, "%s: size %llu is not a multiple of the %s record size %zu", path,
                         (unsigned long long)s.pos, kind, rec);
            goto done;
        }
        size_t k = got / rec;
        if (g->n + k > g->cap) {
            size_t want = g->cap ? g->cap * 2 : 1024;
            if (want < g->n + k) want = g->n + k;
            st = grow_to(g, want, path);
            if (st != UL_OK) goto done;
        }
        for (size_t r = 0; r < k; r++) {
            const unsigned char *p = chunk + r * rec;
            int coarse = label_bytes == 2 ? p[0] : 0, fine = p[label_bytes - 1];
            if (fine >= classes || (label_bytes == 2 && coarse >= 20)) {
                st = ul_fail(UL_E_FORMAT, "%s: record %zu: label %d (coarse %d) out of range for %s",
                             path, g->n - first + r, fine, coarse, kind);
                goto done;
            }
            g->lab[g->n + r] = fine;
            memcpy(g->pix + (g->n + r) * CIFAR_PIX, p + label_bytes, CIFAR_PIX);
        }
        g->n += k;
        if (got < rec * CIFAR_CHUNK) break;
    }
    if (g->n == first) st = ul_fail(UL_E_FORMAT, "%s: no %s records", path, kind);
done:
    ul_src_close(&s);
    return st;
}

ul_status ul_read_cifar(const char *const *paths, int npaths, int label_bytes, ul_dataset **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_read_cifar: out is NULL");
    *out = NULL;
    if (!paths || npaths <= 0) return ul_fail(UL_E_ARG, "ul_read_cifar: no files given");
    if (label_bytes != 1 && label_bytes != 2)
        return ul_fail(UL_E_ARG, "ul_read_cifar: label_bytes = %d, expected 1 (CIFAR-10) or 2 (CIFAR-100)",
                       label_bytes);
    for (int i = 0; i < npaths; i++)
        if (!paths[i]) return ul_fail(UL_E_ARG, "ul_read_cifar: paths[%d] is NULL", i);
    const int classes = label_bytes == 1 ? 10 : 100;
    grow g = {0};
    unsigned char *chunk = ul_malloc(CIFAR_CHUNK, (size_t)label_bytes + CIFAR_PIX);
    if (!chunk) return UL_E_NOMEM;
    ul_status st = UL_OK;
    for (int i = 0; i < npaths && st == UL_OK; i++) st = read_one(paths[i], label_bytes, classes, &g, chunk);
    free(chunk);
    if (st != UL_OK) {
        free(g.pix);
        free(g.lab);
        return st;
    }
    return ul_data_adopt(paths[0], UL_PIX_U8, g.pix, g.lab, g.n, 3, 32, 32, classes, out);
}
