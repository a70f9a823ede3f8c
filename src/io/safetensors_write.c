/* safetensors writer: collects tensors (copied) and string metadata, then serialises them in a
 * canonical layout: data buffer in tensor-name (strcmp) order, compact JSON header with
 * "__metadata__" first (keys in strcmp order, omitted when empty) then the tensors in data order,
 * padded with spaces to a multiple of 8 bytes, all integers little-endian. The same inputs give
 * the same bytes. Deliberately no streaming writes (the whole file is built in memory), no
 * alignment of tensors beyond the 8-byte header padding and no big-endian hosts.
 */
#include "io/io_internal.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the safetensors writer copies tensor data as is and needs a little-endian host"
#endif

typedef struct wtensor {
    char *name;
    ul_dtype dtype;
    int ndim;
    int64_t shape[UL_ST_MAX_DIMS];
    uint8_t *data;
    uint64_t nbytes;
} wtensor;

struct ul_st_writer {
    wtensor *t;
    int n, cap;
    char **mkey, **mval;
    int nmeta, mcap;
};

ul_status ul_st_writer_create(ul_st_writer **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_st_writer_create: out is required");
    *out = ul_calloc(1, sizeof **out);
    return *out ? UL_OK : UL_E_NOMEM;
}

void ul_st_writer_free(ul_st_writer *w) {
    if (!w) return;
    for (int i = 0; i < w->n; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    for (int i = 0; i < w->nmeta; i++) {
        free(w->mkey[i]);
        free(w->mval[i]);
    }
    free(w->t);
    free(w->mkey);
    free(w->mval);
    free(w);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s);
    char *d = ul_malloc(n + 1, 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

ul_status ul_st_writer_add(ul_st_writer *w, const char *name, ul_dtype dtype, int ndim, const int64_t *shape,
                           const void *data) {
    if (!w || !name) return ul_fail(UL_E_ARG, "ul_st_writer_add: writer and name are required");
    if (!name[0]) return ul_fail(UL_E_ARG, "ul_st_writer_add: tensor name is empty");
    if (strcmp(name, "__metadata__") == 0)
        return ul_fail(UL_E_ARG, "ul_st_writer_add: '__metadata__' is reserved and cannot name a tensor");
    if (!ul_io_utf8_valid(name, strlen(name)))
        return ul_fail(UL_E_ARG, "ul_st_writer_add: tensor name '%s' is not valid UTF-8", name);
    if ((unsigned)dtype >= UL_DT_COUNT) return ul_fail(UL_E_ARG, "tensor '%s': invalid dtype %d", name, (int)dtype);
    if (ndim < 0 || ndim > UL_ST_MAX_DIMS || (ndim > 0 && !shape))
        return ul_fail(UL_E_ARG, "tensor '%s': %d dimensions (0 to %d, with a shape)", name, ndim, UL_ST_MAX_DIMS);
    uint64_t bytes = ul_dtype_size(dtype);
    for (int d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return ul_fail(UL_E_ARG, "tensor '%s': shape[%d] = %lld is negative", name, d, (long long)shape[d]);
        uint64_t s = (uint64_t)shape[d];
        if (s && bytes > UL_ST_MAX_OFFSET / s) return ul_fail(UL_E_ARG, "tensor '%s': shape is too large", name);
        bytes *= s;
    }
    if (bytes > SIZE_MAX)
        return ul_fail(UL_E_ARG, "tensor '%s': %llu bytes do not fit in memory", name, (unsigned long long)bytes);
    if (bytes && !data) return ul_fail(UL_E_ARG, "tensor '%s': data is NULL", name);
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0) return ul_fail(UL_E_ARG, "tensor '%s' added twice", name);
    if (w->n == w->cap) {
        int ncap = w->cap ? w->cap * 2 : 16;
        wtensor *nt = ul_malloc((size_t)ncap, sizeof *nt);
        if (!nt) return ul_fail_ctx(UL_E_NOMEM, "tensor '%s'", name);
        if (w->n) memcpy(nt, w->t, (size_t)w->n * sizeof *nt);
        free(w->t);
        w->t = nt;
        w->cap = ncap;
    }
    wtensor t = {.dtype = dtype, .ndim = ndim, .nbytes = bytes};
    for (int d = 0; d < ndim; d++) t.shape[d] = shape[d];
    t.name = dup_str(name);
    t.data = ul_malloc((size_t)bytes, 1);
    if (!t.name || !t.data) {
        free(t.name);
        free(t.data);
        return ul_fail_ctx(UL_E_NOMEM, "tensor '%s'", name);
    }
    if (bytes) memcpy(t.data, data, (size_t)bytes);
    w->t[w->n++] = t;
    return UL_OK;
}

ul_status ul_st_writer_meta(ul_st_writer *w, const char *key, const char *value) {
    if (!w || !key || !value) return ul_fail(UL_E_ARG, "ul_st_writer_meta: writer, key and value are required");
    if (!ul_io_utf8_valid(key, strlen(key))) return ul_fail(UL_E_ARG, "metadata key '%s' is not valid UTF-8", key);
    if (!ul_io_utf8_valid(value, strlen(value)))
        return ul_fail(UL_E_ARG, "metadata '%s': value is not valid UTF-8", key);
    char *v = dup_str(value);
    if (!v) return ul_fail_ctx(UL_E_NOMEM, "metadata '%s'", key);
    for (int i = 0; i < w->nmeta; i++) {
        if (strcmp(w->mkey[i], key) == 0) { /* replace */
            free(w->mval[i]);
            w->mval[i] = v;
            return UL_OK;
        }
    }
    if (w->nmeta == w->mcap) {
        int ncap = w->mcap ? w->mcap * 2 : 8;
        char **nk = ul_malloc((size_t)ncap, sizeof *nk), **nv = ul_malloc((size_t)ncap, sizeof *nv);
        if (!nk || !nv) {
            free(nk);
            free(nv);
            free(v);
            return ul_fail_ctx(UL_E_NOMEM, "metadata '%s'", key);
        }
        if (w->nmeta) {
            memcpy(nk, w->mkey, (size_t)w->nmeta * sizeof *nk);
            memcpy(nv, w->mval, (size_t)w->nmeta * sizeof *nv);
        }
        free(w->mkey);
        free(w->mval);
        w->mkey = nk;
        w->mval = nv;
        w->mcap = ncap;
    }
    char *k = dup_str(key);
    if (!k) {
        free(v);
        return ul_fail_ctx(UL_E_NOMEM, "metadata '%s'", key);
    }
    w->mkey[w->nmeta] = k;
    w->mval[w->nmeta] = v;
    w->nmeta++;
    return UL_OK;
}

/* ---- header text ------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_put(sbuf *b, const char *s, size_t n) {
    if (b->oom) return;
    if (n > b->cap - b->n) {
        size_t ncap = b->cap ? b->cap : 256;
        while (ncap - b->n < n) {
            if (ncap > SIZE_MAX / 2) { b->oom = true; return; }
            ncap *= 2;
        }
        char *np = realloc(b->p, ncap);
        if (!np) { b->oom = true; return; }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void sb_str(sbuf *b, const char *s) { sb_put(b, s, strlen(s)); }

/* A JSON string literal, escaped as serde_json does (", \, \b \f \n \r \t, other controls as
 * \u00XX; everything else, including non-ASCII UTF-8, as is). */
static void sb_json_str(sbuf *b, const char *s) {
    sb_put(b, "\"", 1);
    const char *run = s;
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sb_put(b, run, (size_t)(s - run));
        char esc[8];
        switch (c) {
        case '"': sb_str(b, "\\\""); break;
        case '\\': sb_str(b, "\\\\"); break;
        case '\b': sb_str(b, "\\b"); break;
        case '\f': sb_str(b, "\\f"); break;
        case '\n': sb_str(b, "\\n"); break;
        case '\r': sb_str(b, "\\r"); break;
        case '\t': sb_str(b, "\\t"); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_str(b, esc);
        }
        run = s + 1;
    }
    sb_put(b, run, (size_t)(s - run));
    sb_put(b, "\"", 1);
}

static void sb_u64(sbuf *b, uint64_t v) {
    char num[24];
    snprintf(num, sizeof num, "%" PRIu64, v);
    sb_str(b, num);
}

typedef struct sort_item {
    const char *key;
    int idx;
} sort_item;

static int cmp_item(const void *a, const void *b) {
    return strcmp(((const sort_item *)a)->key, ((const sort_item *)b)->key);
}

ul_status ul_st_writer_to_buffer(const ul_st_writer *w, uint8_t **buf, size_t *n) {
    if (!w || !buf || !n) return ul_fail(UL_E_ARG, "ul_st_writer_to_buffer: writer and outputs are required");
    *buf = NULL;
    *n = 0;
    sort_item *to = ul_malloc((size_t)w->n + 1, sizeof *to);
    sort_item *mo = ul_malloc((size_t)w->nmeta + 1, sizeof *mo);
    sbuf h = {0};
    ul_status st = UL_OK;
    if (!to || !mo) {
        st = UL_E_NOMEM;
        goto done;
    }
    for (int i = 0; i < w->n; i++) to[i] = (sort_item){w->t[i].name, i};
    for (int i = 0; i < w->nmeta; i++) mo[i] = (sort_item){w->mkey[i], i};
    qsort(to, (size_t)w->n, sizeof *to, cmp_item);
    qsort(mo, (size_t)w->nmeta, sizeof *mo, cmp_item);

    sb_str(&h, "{");
    if (w->nmeta) {
        sb_str(&h, "\"__metadata__\":{");
        for (int i = 0; i < w->nmeta; i++) {
            if (i) sb_str(&h, ",");
            sb_json_str(&h, w->mkey[mo[i].idx]);
            sb_str(&h, ":");
            sb_json_str(&h, w->mval[mo[i].idx]);
        }
        sb_str(&h, "}");
    }
    uint64_t pos = 0;
    for (int i = 0; i < w->n; i++) {
        const wtensor *t = &w->t[to[i].idx];
        if (w->nmeta || i) sb_str(&h, ",");
        sb_json_str(&h, t->name);
        sb_str(&h, ":{\"dtype\":\"");
        sb_str(&h, ul_dtype_name(t->dtype));
        sb_str(&h, "\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++) {
            if (d) sb_str(&h, ",");
            sb_u64(&h, (uint64_t)t->shape[d]);
        }
        sb_str(&h, "],\"data_offsets\":[");
        sb_u64(&h, pos);
        sb_str(&h, ",");
        if (t->nbytes > UL_ST_MAX_OFFSET - pos) {
            st = ul_fail(UL_E_ARG, "tensor '%s': the data buffer would exceed 2^53 bytes", t->name);
            goto done;
        }
        pos += t->nbytes;
        sb_u64(&h, pos);
        sb_str(&h, "]}");
    }
    sb_str(&h, "}");
    while (!h.oom && h.n % 8) sb_put(&h, " ", 1);
    if (h.oom) {
        st = ul_fail(UL_E_NOMEM, "out of memory building a safetensors header");
        goto done;
    }
    if (h.n > UL_ST_MAX_HEADER) {
        st = ul_fail(UL_E_ARG, "safetensors header of %zu bytes exceeds the limit of 100 MiB", h.n);
        goto done;
    }
    if (pos > SIZE_MAX - 8 - h.n) {
        st = ul_fail(UL_E_NOMEM, "safetensors file of %llu data bytes does not fit in memory", (unsigned long long)pos);
        goto done;
    }
    size_t total = 8 + h.n + (size_t)pos;
    uint8_t *out = ul_malloc(total, 1);
    if (!out) {
        st = UL_E_NOMEM;
        goto done;
    }
    for (int i = 0; i < 8; i++) out[i] = (uint8_t)((uint64_t)h.n >> (8 * i));
    memcpy(out + 8, h.p, h.n);
    uint8_t *p = out + 8 + h.n;
    for (int i = 0; i < w->n; i++) {
        const wtensor *t = &w->t[to[i].idx];
        if (t->nbytes) memcpy(p, t->data, (size_t)t->nbytes);
        p += t->nbytes;
    }
    *buf = out;
    *n = total;
done:
    free(h.p);
    free(mo);
    free(to);
    return st;
}

ul_status ul_st_writer_save(const ul_st_writer *w, const char *path) {
    if (!path) return ul_fail(UL_E_ARG, "ul_st_writer_save: path is required");
    uint8_t *buf = NULL;
    size_t n = 0;
    ul_status st = ul_st_writer_to_buffer(w, &buf, &n);
    if (st != UL_OK) return ul_fail_ctx(st, "%s", path);
    st = ul_write_file_atomic(path, buf, n);
    free(buf);
    return st;
}
