/* NPY reader (NumPy format versions 1.0, 2.0 and 3.0): magic "\x93NUMPY", version bytes, a
 * little-endian header length (u16 for 1.0, u32 otherwise) and a Python dict literal with
 * 'descr', 'fortran_order' and 'shape', parsed by a small hand-written scanner (never eval).
 * Images: '|u1' (scale 1/255) or '<f4' (taken as already in [0,1] units); labels: u1, i1, u2,
 * i2, i4, u4, i8, u8. Deliberately no big-endian data, no Fortran order, no structured
 * dtypes, no .npz archives and no memory mapping.
 */
#include "data/data_internal.h"

#include <stdlib.h>
#include <string.h>

#define NPY_MAX_HEADER (1u << 20)
#define NPY_MAX_DIMS 8

typedef struct npy_info {
    char kind;          /* 'u', 'i' or 'f' */
    int size;           /* item size in bytes */
    char descr[16];     /* as written, for messages */
    int ndim;
    uint64_t shape[NPY_MAX_DIMS];
    uint64_t count;     /* product of shape */
} npy_info;

typedef struct cur {
    const char *start, *p, *end, *path;
} cur;

static void skip_ws(cur *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r')) c->p++;
}

static ul_status bad(const cur *c, const char *what) {
    return ul_fail(UL_E_FORMAT, "%s: bad NPY header: %s at header offset %ld", c->path, what,
                   (long)(c->p - c->start));
}

/* A quoted string without escapes; [*s, *s + *len) points into the header. */
static ul_status parse_str(cur *c, const char **s, size_t *len) {
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return bad(c, "expected a quoted string");
    char q = *c->p++;
    const char *start = c->p;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || *c->p == '\n') return bad(c, "unsupported character in string");
        c->p++;
    }
    if (c->p >= c->end) return bad(c, "unterminated string");
    *s = start;
    *len = (size_t)(c->p - start);
    c->p++;
    return UL_OK;
}

static ul_status parse_uint(cur *c, uint64_t *v) {
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return bad(c, "expected a non-negative integer");
    uint64_t x = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        unsigned d = (unsigned)(*c->p - '0');
        if (x > (UINT64_MAX - d) / 10) return bad(c, "integer overflow in shape");
        x = x * 10 + d;
        c->p++;
    }
    if (c->p < c->end && *c->p == 'L') c->p++; /* Python 2 long suffix */
    *v = x;
    return UL_OK;
}

static ul_status parse_shape(cur *c, npy_info *info) {
    if (c->p >= c->end || *c->p != '(') return bad(c, "shape must be a tuple");
    c->p++;
    info->ndim = 0;
    for (;;) {
        skip_ws(c);
        if (c->p < c->end && *c->p == ')') break;
        if (info->ndim == NPY_MAX_DIMS) return bad(c, "too many dimensions");
        ul_status st = parse_uint(c, &info->shape[info->ndim++]);
        if (st != UL_OK) return st;
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == ')') break;
        return bad(c, "expected ',' or ')' in shape");
    }
    c->p++;
    /* "(3)" is an int in Python, not a tuple; NumPy always writes "(3,)". Accept both. */
    return UL_OK;
}

static ul_status parse_descr(cur *c, const char *s, size_t len, npy_info *info) {
    if (len < 3 || len >= sizeof info->descr) return bad(c, "descr is not a simple dtype string");
    memcpy(info->descr, s, len);
    info->descr[len] = '\0';
    char order = s[0];
    info->kind = s[1];
    int size = 0;
    for (size_t i = 2; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || size > 1000) return bad(c, "descr is not a simple dtype string");
        size = size * 10 + (s[i] - '0');
    }
    info->size = size;
    if (order == '>' && size > 1)
        return ul_fail(UL_E_UNSUPPORTED, "%s: big-endian dtype '%s' is not supported", c->path,
                       info->descr);
    if (order != '<' && order != '|' && order != '>')
        return bad(c, "descr has no byte-order character");
    if (order == '|' && size > 1) return bad(c, "descr '|' byte order on a multi-byte type");
    return UL_OK;
}

static ul_status parse_dict(cur *c, npy_info *info) {
    bool have_descr = false, have_order = false, have_shape = false;
    skip_ws(c);
    if (c->p >= c->end || *c->p != '{') return bad(c, "header is not a dict");
    c->p++;
    for (;;) {
        skip_ws(c);
        if (c->p < c->end && *c->p == '}') break;
        const char *key;
        size_t klen;
        ul_status st = parse_str(c, &key, &klen);
        if (st != UL_OK) return st;
        skip_ws(c);
        if (c->p >= c->end || *c->p != ':') return bad(c, "expected ':'");
        c->p++;
        skip_ws(c);
        if (klen == 5 && !memcmp(key, "descr", 5)) {
            if (have_descr) return bad(c, "duplicate key 'descr'");
            const char *s;
            size_t len;
            if (c->p < c->end && *c->p == '[')
                return ul_fail(UL_E_UNSUPPORTED, "%s: structured dtypes are not supported", c->path);
            st = parse_str(c, &s, &len);
            if (st == UL_OK) st = parse_descr(c, s, len, info);
            if (st != UL_OK) return st;
            have_descr = true;
        } else if (klen == 13 && !memcmp(key, "fortran_order", 13)) {
            if (have_order) return bad(c, "duplicate key 'fortran_order'");
            if ((size_t)(c->end - c->p) >= 5 && !memcmp(c->p, "False", 5)) {
                c->p += 5;
            } else if ((size_t)(c->end - c->p) >= 4 && !memcmp(c->p, "True", 4)) {
                return ul_fail(UL_E_UNSUPPORTED, "%s: fortran_order is True; only C-order arrays are "
                                                 "supported (save with np.ascontiguousarray)",
                               c->path);
            } else {
                return bad(c, "fortran_order must be True or False");
            }
            have_order = true;
        } else if (klen == 5 && !memcmp(key, "shape", 5)) {
            if (have_shape) return bad(c, "duplicate key 'shape'");
            st = parse_shape(c, info);
            if (st != UL_OK) return st;
            have_shape = true;
        } else {
            return bad(c, "unknown key");
        }
        skip_ws(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '}') break;
        return bad(c, "expected ',' or '}'");
    }
    c->p++;
    skip_ws(c);
    if (c->p != c->end) return bad(c, "junk after the dict");
    if (!have_descr || !have_order || !have_shape)
        return ul_fail(UL_E_FORMAT, "%s: bad NPY header: missing key '%s'", c->path,
                       !have_descr ? "descr" : !have_order ? "fortran_order" : "shape");
    return UL_OK;
}

/* Open an NPY file and parse its header; the source is left at the start of the data. */
static ul_status npy_open(ul_src *s, const char *path, npy_info *info) {
    memset(info, 0, sizeof *info);
    ul_status st = ul_src_open(s, path);
    if (st != UL_OK) return st;
    unsigned char pre[12];
    char *hdr = NULL;
    st = ul_src_read_exact(s, pre, 8, "NPY preamble");
    if (st != UL_OK) goto fail;
    if (memcmp(pre, "\x93NUMPY", 6) != 0) {
        st = ul_fail(UL_E_FORMAT, "%s: bad magic: not an NPY file (expected \\x93NUMPY)", path);
        goto fail;
    }
    int major = pre[6], minor = pre[7];
    if ((major != 1 && major != 2 && major != 3) || minor != 0) {
        st = ul_fail(UL_E_UNSUPPORTED, "%s: NPY version %d.%d is not supported (1.0, 2.0, 3.0)", path,
                     major, minor);
        goto fail;
    }
    uint32_t hlen;
    if (major == 1) {
        st = ul_src_read_exact(s, pre + 8, 2, "NPY header length");
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    } else {
        st = ul_src_read_exact(s, pre + 8, 4, "NPY header length");
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    }
    if (st != UL_OK) goto fail;
    if (hlen > NPY_MAX_HEADER || hlen > ul_src_left(s)) {
        st = ul_fail(UL_E_FORMAT, "%s: NPY header length %u exceeds the file or the %u-byte limit", path,
                     hlen, NPY_MAX_HEADER);
        goto fail;
    }
    hdr = ul_malloc(hlen ? hlen : 1, 1);
    if (!hdr) {
        st = UL_E_NOMEM;
        goto fail;
    }
    st = ul_src_read_exact(s, hdr, hlen, "NPY header");
    if (st != UL_OK) goto fail;
    cur c = {hdr, hdr, hdr + hlen, path};
    st = parse_dict(&c, info);
    if (st != UL_OK) goto fail;
    info->count = 1;
    for (int i = 0; i < info->ndim; i++)
        if (!ul_data_mul(info->count, info->shape[i], &info->count)) {
            st = ul_fail(UL_E_FORMAT, "%s: shape overflows", path);
            goto fail;
        }
    free(hdr);
    return UL_OK;
fail:
    free(hdr);
    ul_src_close(s);
    return st;
}

/* Read the data block (count * size bytes, exactly to the end of the file). */
static ul_status npy_data(ul_src *s, const npy_info *info, void **out) {
    uint64_t bytes;
    if (!ul_data_mul(info->count, (uint64_t)info->size, &bytes))
        return ul_fail(UL_E_FORMAT, "%s: shape times item size overflows", s->path);
    ul_status st = ul_src_read_alloc(s, bytes, "array data", out);
    if (st == UL_OK) st = ul_src_expect_end(s, "array data");
    if (st != UL_OK) {
        free(*out);
        *out = NULL;
    }
    return st;
}

static bool is_label_dtype(const npy_info *t) {
    return (t->kind == 'u' || t->kind == 'i') &&
           (t->size == 1 || t->size == 2 || t->size == 4 || t->size == 8);
}

static int64_t get_label(const unsigned char *p, const npy_info *t) {
    uint64_t u = 0;
    for (int b = 0; b < t->size; b++) u |= (uint64_t)p[b] << (8 * b);
    if (t->kind == 'u') return u > (uint64_t)INT64_MAX ? -1 : (int64_t)u;
    int bits = 8 * t->size;
    if (bits < 64 && (u >> (bits - 1)) & 1) u |= ~(uint64_t)0 << bits; /* sign-extend */
    int64_t v;
    memcpy(&v, &u, sizeof v);
    return v;
}

ul_status ul_read_npy(const char *images_path, const char *labels_path, ul_dataset **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_read_npy: out is NULL");
    *out = NULL;
    if (!images_path || !labels_path) return ul_fail(UL_E_ARG, "ul_read_npy: NULL path");
    ul_src si, sl;
    bool si_open = false, sl_open = false;
    npy_info ti, tl;
    void *pix = NULL, *lraw = NULL;
    int32_t *labels = NULL;
    ul_status st = npy_open(&si, images_path, &ti);
    if (st != UL_OK) goto done;
    si_open = true;
    st = npy_open(&sl, labels_path, &tl);
    if (st != UL_OK) goto done;
    sl_open = true;

    bool u8 = ti.kind == 'u' && ti.size == 1, f32 = ti.kind == 'f' && ti.size == 4;
    if (!u8 && !f32) {
        st = ul_fail(UL_E_UNSUPPORTED, "%s: images dtype '%s' is not supported (expected '|u1' or '<f4')",
                     images_path, ti.descr);
        goto done;
    }
    if (!is_label_dtype(&tl)) {
        st = ul_fail(UL_E_UNSUPPORTED, "%s: labels dtype '%s' is not supported (expected an integer "
                                       "dtype: u1 i1 u2 i2 i4 u4 i8 u8)",
                     labels_path, tl.descr);
        goto done;
    }
    uint64_t n = ti.ndim > 0 ? ti.shape[0] : 0, c = 1, h = 1, w = 1;
    if (ti.ndim == 2) {
        w = ti.shape[1];
    } else if (ti.ndim == 3) {
        h = ti.shape[1];
        w = ti.shape[2];
    } else if (ti.ndim == 4) {
        c = ti.shape[1];
        h = ti.shape[2];
        w = ti.shape[3];
        if (c > 4 && w <= 4) {
            st = ul_fail(UL_E_SHAPE, "%s: images shape (%llu, %llu, %llu, %llu) looks channels-last; "
                                     "expected [n, c, h, w] (transpose to NCHW)",
                         images_path, (unsigned long long)n, (unsigned long long)c,
                         (unsigned long long)h, (unsigned long long)w);
            goto done;
        }
    } else {
        st = ul_fail(UL_E_SHAPE, "%s: images have %d dimensions, expected [n,d], [n,h,w] or [n,c,h,w]",
                     images_path, ti.ndim);
        goto done;
    }
    uint64_t chw = 0;
    bool fits = ul_data_mul(c, h, &chw) && ul_data_mul(chw, w, &chw) && chw <= UL_DATA_MAX_CHW;
    if (n == 0 || chw == 0 || !fits || n > UL_DATA_MAX_N) {
        st = ul_fail(UL_E_SHAPE, "%s: images shape n=%llu c=%llu h=%llu w=%llu is empty or too large",
                     images_path, (unsigned long long)n, (unsigned long long)c, (unsigned long long)h,
                     (unsigned long long)w);
        goto done;
    }
    if (tl.ndim != 1 || tl.shape[0] != n) {
        st = ul_fail(UL_E_SHAPE, "%s: labels must have shape (%llu,) to match %s, got %d dimensions%s",
                     labels_path, (unsigned long long)n, images_path, tl.ndim,
                     tl.ndim == 1 ? " of a different length" : "");
        goto done;
    }
    st = npy_data(&si, &ti, &pix);
    if (st != UL_OK) goto done;
    st = npy_data(&sl, &tl, &lraw);
    if (st != UL_OK) goto done;
    if (f32) { /* little-endian IEEE to host floats, in place */
        unsigned char *b = pix;
        float *f = pix;
        for (uint64_t i = 0; i < ti.count; i++) {
            uint32_t u = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 | (uint32_t)b[4 * i + 2] << 16 |
                         (uint32_t)b[4 * i + 3] << 24;
            memcpy(&f[i], &u, 4);
        }
    }
    labels = ul_malloc((size_t)n, sizeof *labels);
    if (!labels) {
        st = UL_E_NOMEM;
        goto done;
    }
    int64_t maxl = 0;
    for (uint64_t i = 0; i < n; i++) {
        int64_t v = get_label((const unsigned char *)lraw + i * (uint64_t)tl.size, &tl);
        if (v < 0 || v >= UL_DATA_MAX_CLASSES) {
            st = ul_fail(UL_E_FORMAT, "%s: label[%llu] = %lld outside [0, %d)", labels_path,
                         (unsigned long long)i, (long long)v, UL_DATA_MAX_CLASSES);
            goto done;
        }
        labels[i] = (int32_t)v;
        if (v > maxl) maxl = v;
    }
    st = ul_data_adopt(images_path, f32 ? UL_PIX_F32 : UL_PIX_U8, pix, labels, (size_t)n, (int)c, (int)h,
                       (int)w, (int)maxl + 1, out);
    pix = NULL;
    labels = NULL;
done:
    if (si_open) ul_src_close(&si);
    if (sl_open) ul_src_close(&sl);
    free(pix);
    free(lraw);
    free(labels);
    return st;
}
