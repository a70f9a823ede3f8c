/* safetensors reader (format of huggingface/safetensors 0.4): the whole file is held in one
 * buffer, the JSON header is parsed with cJSON and validated strictly (see io.h): bounded header
 * length, UTF-8 without control bytes, space-only padding, no duplicate keys, exactly dtype /
 * shape / data_offsets per tensor, integral offsets that tile the data buffer exactly, and a
 * string-to-string __metadata__. Tensors are kept in data order, with a name index for lookups.
 * Deliberately no memory mapping, lazy loading, dtype conversion or big-endian hosts.
 */
#include "io/io_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

struct ul_st_file {
    uint8_t *buf;           /* the whole file */
    const uint8_t *data;    /* the data buffer inside buf */
    uint64_t data_len;
    int count;
    ul_st_tensor *t;        /* sorted by data offset */
    const ul_st_tensor **by_name;
    int nmeta;
    char **mkey, **mval;    /* in header order */
};

void ul_st_free(ul_st_file *f) {
    if (!f) return;
    if (f->t)
        for (int i = 0; i < f->count; i++) free(f->t[i].name);
    for (int i = 0; i < f->nmeta; i++) {
        if (f->mkey) free(f->mkey[i]);
        if (f->mval) free(f->mval[i]);
    }
    free(f->mkey);
    free(f->mval);
    free(f->by_name);
    free(f->t);
    free(f->buf);
    free(f);
}

static char *dup_str(const char *s) {
    size_t n = strlen(s);
    char *d = ul_malloc(n + 1, 1);
    if (d) memcpy(d, s, n + 1);
    return d;
}

/* "[10, 784]" into buf. */
static void shape_str(const int64_t *shape, int ndim, char *buf, size_t cap) {
    size_t pos = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && pos < cap; i++)
        pos += (size_t)snprintf(buf + pos, cap - pos, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (pos < cap) snprintf(buf + pos, cap - pos, "]");
}

/* A JSON number that is an integer in [0, 2^53]. */
static bool json_uint(const cJSON *j, uint64_t *v) {
    if (!cJSON_IsNumber(j)) return false;
    double d = j->valuedouble;
    if (!(d >= 0.0) || d > (double)UL_ST_MAX_OFFSET || d != floor(d)) return false;
    *v = (uint64_t)d;
    return true;
}

/* How a non-conforming JSON value looks, for messages. */
static const char *json_repr(const cJSON *j, char *buf, size_t cap) {
    if (cJSON_IsNumber(j)) snprintf(buf, cap, "%.17g", j->valuedouble);
    else if (cJSON_IsString(j)) snprintf(buf, cap, "\"%.40s\"", j->valuestring);
    else if (cJSON_IsArray(j)) snprintf(buf, cap, "an array");
    else if (cJSON_IsObject(j)) snprintf(buf, cap, "an object");
    else if (cJSON_IsBool(j)) snprintf(buf, cap, "%s", cJSON_IsTrue(j) ? "true" : "false");
    else snprintf(buf, cap, "null");
    return buf;
}

/* One tensor entry {"dtype": ..., "shape": [...], "data_offsets": [b, e]} into *t (name set). */
static ul_status parse_entry(const char *label, const cJSON *e, uint64_t data_len, ul_st_tensor *t) {
    const char *nm = t->name;
    char r[64];
    if (!cJSON_IsObject(e))
        return ul_fail(UL_E_FORMAT, "%s: tensor '%s': entry is %s, not an object", label, nm,
                       json_repr(e, r, sizeof r));
    static const char *const fields[3] = {"dtype", "shape", "data_offsets"};
    const cJSON *fv[3] = {NULL, NULL, NULL};
    for (const cJSON *c = e->child; c; c = c->next) {
        int k = 0;
        while (k < 3 && strcmp(c->string, fields[k]) != 0) k++;
        if (k == 3)
            return ul_fail(UL_E_FORMAT, "%s: tensor '%s': unexpected field '%s' (expected dtype, shape, data_offsets)",
                           label, nm, c->string);
        if (fv[k]) return ul_fail(UL_E_FORMAT, "%s: tensor '%s': field '%s' appears twice", label, nm, fields[k]);
        fv[k] = c;
    }
    for (int k = 0; k < 3; k++)
        if (!fv[k]) return ul_fail(UL_E_FORMAT, "%s: tensor '%s': missing field '%s'", label, nm, fields[k]);

    if (!cJSON_IsString(fv[0]))
        return ul_fail(UL_E_FORMAT, "%s: tensor '%s': dtype is %s, not a string", label, nm,
                       json_repr(fv[0], r, sizeof r));
    int dt = ul_io_dtype_parse(fv[0]->valuestring);
    if (dt < 0)
        return ul_fail(UL_E_FORMAT, "%s: tensor '%s': unknown dtype '%.40s' (known: F64 F32 F16 BF16 I64 I32 I16 I8 U8 "
                       "BOOL U16 U32 U64)", label, nm, fv[0]->valuestring);
    t->dtype = (ul_dtype)dt;

    if (!cJSON_IsArray(fv[1]))
        return ul_fail(UL_E_FORMAT, "%s: tensor '%s': shape is %s, not an array", label, nm,
                       json_repr(fv[1], r, sizeof r));
    int nd = cJSON_GetArraySize(fv[1]);
    if (nd > UL_ST_MAX_DIMS)
        return ul_fail(UL_E_FORMAT, "%s: tensor '%s': shape has %d dimensions (at most %d)", label, nm, nd,
                       UL_ST_MAX_DIMS);
    t->ndim = nd;
    int i = 0;
    for (const cJSON *c = fv[1]->child; c; c = c->next, i++) {
        uint64_t v;
        if (!json_uint(c, &v))
            return ul_fail(UL_E_FORMAT, "%s: tensor '%s': shape[%d] = %s is not a non-negative integer", label, nm, i,
                           json_repr(c, r, sizeof r));
        t->shape[i] = (int64_t)v;
    }

    if (!cJSON_IsArray(fv[2]) || cJSON_GetArraySize(fv[2]) != 2)
        return ul_fail(UL_E_FORMAT, "%s: tensor '%s': data_offsets must be an array [begin, end]", label, nm);
    uint64_t off[2];
    i = 0;
    for (const cJSON *c = fv[2]->child; c; c = c->next, i++)
        if (!json_uint(c, &off[i]))
            return ul_fail(UL_E_FORMAT, "%s: tensor '%s': data_offsets[%d] = %s is not an integer in [0, 2^53]", label,
                           nm, i, json_repr(c, r, sizeof r));
    t->begin = off[0];
    t->end = off[1];
    if (t->begin > t->end)
        return ul_fail(UL_E_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] end before they begin", label, nm,
                       (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > data_len)
        return ul_fail(UL_E_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] exceed the data buffer of %llu bytes",
                       label, nm, (unsigned long long)t->begin, (unsigned long long)t->end,
                       (unsigned long long)data_len);

    char ss[8 * 24];
    shape_str(t->shape, t->ndim, ss, sizeof ss);
    uint64_t bytes = ul_dtype_size(t->dtype);
    for (int d = 0; d < t->ndim; d++) {
        uint64_t s = (uint64_t)t->shape[d];
        if (s && bytes > UINT64_MAX / s)
            return ul_fail(UL_E_FORMAT, "%s: tensor '%s': dtype %s shape %s overflows 64 bits", label, nm,
                           ul_dtype_name(t->dtype), ss);
        bytes *= s;
    }
    if (bytes != t->end - t->begin)
        return ul_fail(UL_E_FORMAT,
                       "%s: tensor '%s': data_offsets [%llu, %llu] do not match dtype %s shape %s (%llu bytes)", label,
                       nm, (unsigned long long)t->begin, (unsigned long long)t->end, ul_dtype_name(t->dtype), ss,
                       (unsigned long long)bytes);
    return UL_OK;
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int cmp_by_name(const void *a, const void *b) {
    return strcmp((*(const ul_st_tensor *const *)a)->name, (*(const ul_st_tensor *const *)b)->name);
}

static int cmp_by_offset(const void *a, const void *b) {
    const ul_st_tensor *x = a, *y = b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return strcmp(x->name, y->name);
}

static ul_status parse_metadata(const char *label, const cJSON *m, ul_st_file *f) {
    char r[64];
    if (!cJSON_IsObject(m))
        return ul_fail(UL_E_FORMAT, "%s: __metadata__ is %s, not an object", label, json_repr(m, r, sizeof r));
    int n = cJSON_GetArraySize(m);
    f->mkey = ul_calloc((size_t)n, sizeof *f->mkey);
    f->mval = ul_calloc((size_t)n, sizeof *f->mval);
    if (!f->mkey || !f->mval) return ul_fail_ctx(UL_E_NOMEM, "%s: __metadata__", label);
    for (const cJSON *c = m->child; c; c = c->next) {
        if (!cJSON_IsString(c))
            return ul_fail(UL_E_FORMAT, "%s: __metadata__: key '%s': value is %s, not a string", label, c->string,
                           json_repr(c, r, sizeof r));
        int i = f->nmeta++;
        f->mkey[i] = dup_str(c->string);
        f->mval[i] = dup_str(c->valuestring);
        if (!f->mkey[i] || !f->mval[i]) return ul_fail_ctx(UL_E_NOMEM, "%s: __metadata__", label);
    }
    if (n > 1) {
        char **keys = ul_malloc((size_t)n, sizeof *keys);
        if (!keys) return ul_fail_ctx(UL_E_NOMEM, "%s: __metadata__", label);
        memcpy(keys, f->mkey, (size_t)n * sizeof *keys);
        qsort(keys, (size_t)n, sizeof *keys, cmp_str_ptr);
        for (int i = 1; i < n; i++) {
            if (strcmp(keys[i - 1], keys[i]) == 0) {
                ul_status st = ul_fail(UL_E_FORMAT, "%s: __metadata__: key '%s' appears twice", label, keys[i]);
                free(keys);
                return st;
            }
        }
        free(keys);
    }
    return UL_OK;
}

/* The tensors sorted by offset must tile [0, data_len) exactly. */
static ul_status check_layout(const char *label, const ul_st_file *f) {
    uint64_t pos = 0;
    const ul_st_tensor *prev = NULL;
    for (int i = 0; i < f->count; i++) {
        const ul_st_tensor *t = &f->t[i];
        if (t->begin < pos)
            return ul_fail(UL_E_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] overlap tensor '%s' [%llu, %llu]",
                           label, t->name, (unsigned long long)t->begin, (unsigned long long)t->end, prev->name,
                           (unsigned long long)prev->begin, (unsigned long long)prev->end);
        if (t->begin > pos) {
            if (!prev)
                return ul_fail(UL_E_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu]: the first %llu bytes of the "
                               "data buffer belong to no tensor", label, t->name, (unsigned long long)t->begin,
                               (unsigned long long)t->end, (unsigned long long)t->begin);
            return ul_fail(UL_E_FORMAT, "%s: tensor '%s': data_offsets [%llu, %llu] leave a hole of %llu bytes after "
                           "tensor '%s' (ends at %llu)", label, t->name, (unsigned long long)t->begin,
                           (unsigned long long)t->end, (unsigned long long)(t->begin - pos), prev->name,
                           (unsigned long long)pos);
        }
        pos = t->end;
        prev = t;
    }
    if (pos != f->data_len) {
        if (!prev)
            return ul_fail(UL_E_FORMAT, "%s: data buffer has %llu bytes but the header lists no tensors", label,
                           (unsigned long long)f->data_len);
        return ul_fail(UL_E_FORMAT, "%s: data buffer has %llu trailing bytes after the last tensor '%s' (ends at %llu "
                       "of %llu)", label, (unsigned long long)(f->data_len - pos), prev->name,
                       (unsigned long long)pos, (unsigned long long)f->data_len);
    }
    return UL_OK;
}

/* Header JSON (already length-checked) into f. */
static ul_status parse_header(const char *label, const char *h, size_t hn, ul_st_file *f) {
    if (hn >= 3 && (uint8_t)h[0] == 0xEF && (uint8_t)h[1] == 0xBB && (uint8_t)h[2] == 0xBF)
        return ul_fail(UL_E_FORMAT, "%s: header starts with a UTF-8 byte-order mark", label);
    for (size_t i = 0; i < hn; i++) {
        uint8_t c = (uint8_t)h[i];
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            return ul_fail(UL_E_FORMAT, "%s: header byte %zu is the control byte 0x%02x", label, i, c);
    }
    if (!ul_io_utf8_valid(h, hn)) return ul_fail(UL_E_FORMAT, "%s: header is not valid UTF-8", label);

    const char *end = h;
    cJSON *root = cJSON_ParseWithLengthOpts(h, hn, &end, false);
    if (!root) {
        size_t at = end >= h && end <= h + hn ? (size_t)(end - h) : 0;
        return ul_fail(UL_E_FORMAT, "%s: header is not valid JSON (error near byte %zu of %zu)", label, at, hn);
    }
    ul_status st = UL_OK;
    for (const char *p = end; p < h + hn; p++) {
        if (*p != ' ') {
            st = ul_fail(UL_E_FORMAT, "%s: header byte %zu after the JSON is 0x%02x; only spaces may pad the header",
                         label, (size_t)(p - h), (uint8_t)*p);
            goto done;
        }
    }
    char r[64];
    if (!cJSON_IsObject(root)) {
        st = ul_fail(UL_E_FORMAT, "%s: header is %s, not a JSON object", label, json_repr(root, r, sizeof r));
        goto done;
    }
    const cJSON *meta = NULL;
    int n = 0;
    for (const cJSON *c = root->child; c; c = c->next) {
        if (strcmp(c->string, "__metadata__") == 0) {
            if (meta) {
                st = ul_fail(UL_E_FORMAT, "%s: key '__metadata__' appears twice", label);
                goto done;
            }
            meta = c;
        } else {
            n++;
        }
    }
    if (meta && (st = parse_metadata(label, meta, f)) != UL_OK) goto done;

    f->t = ul_calloc((size_t)n, sizeof *f->t);
    f->by_name = ul_calloc((size_t)n, sizeof *f->by_name);
    if (!f->t || !f->by_name) {
        st = ul_fail_ctx(UL_E_NOMEM, "%s", label);
        goto done;
    }
    for (const cJSON *c = root->child; c; c = c->next) {
        if (c == meta) continue;
        if (!c->string[0]) {
            st = ul_fail(UL_E_FORMAT, "%s: a tensor has an empty name", label);
            goto done;
        }
        ul_st_tensor *t = &f->t[f->count];
        if (!(t->name = dup_str(c->string))) {
            st = ul_fail_ctx(UL_E_NOMEM, "%s", label);
            goto done;
        }
        f->count++;
        if ((st = parse_entry(label, c, f->data_len, t)) != UL_OK) goto done;
    }

    qsort(f->t, (size_t)f->count, sizeof *f->t, cmp_by_offset);
    for (int i = 0; i < f->count; i++) {
        f->t[i].data = f->data + f->t[i].begin;
        f->by_name[i] = &f->t[i];
    }
    qsort(f->by_name, (size_t)f->count, sizeof *f->by_name, cmp_by_name);
    for (int i = 1; i < f->count; i++) {
        if (strcmp(f->by_name[i - 1]->name, f->by_name[i]->name) == 0) {
            st = ul_fail(UL_E_FORMAT, "%s: tensor '%s' appears twice", label, f->by_name[i]->name);
            goto done;
        }
    }
    st = check_layout(label, f);
done:
    cJSON_Delete(root);
    return st;
}

/* Parse `buf` (n bytes, malloc'd), taking ownership of it whatever the outcome. */
static ul_status parse_owned(uint8_t *buf, size_t n, const char *label, ul_st_file **out) {
    if (n < 8) {
        free(buf);
        return ul_fail(UL_E_FORMAT, "%s: file is %zu bytes, too short for the 8-byte header length", label, n);
    }
    uint64_t hn = 0;
    for (int i = 7; i >= 0; i--) hn = hn << 8 | buf[i];
    if (hn > UL_ST_MAX_HEADER) {
        free(buf);
        return ul_fail(UL_E_FORMAT, "%s: header length %llu exceeds the limit of 100 MiB", label,
                       (unsigned long long)hn);
    }
    if (hn > n - 8) {
        free(buf);
        return ul_fail(UL_E_FORMAT, "%s: header length %llu exceeds the %zu bytes after the length field (truncated?)",
                       label, (unsigned long long)hn, n - 8);
    }
    ul_st_file *f = ul_calloc(1, sizeof *f);
    if (!f) {
        free(buf);
        return ul_fail_ctx(UL_E_NOMEM, "%s", label);
    }
    f->buf = buf;
    f->data = buf + 8 + hn;
    f->data_len = n - 8 - hn;
    ul_status st = parse_header(label, (const char *)buf + 8, (size_t)hn, f);
    if (st != UL_OK) {
        ul_st_free(f);
        return st;
    }
    *out = f;
    return UL_OK;
}

ul_status ul_st_parse(const void *buf, size_t n, const char *label, ul_st_file **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_st_parse: out is required");
    *out = NULL;
    if (!label) label = "<memory>";
    if (!buf && n) return ul_fail(UL_E_ARG, "%s: ul_st_parse: buffer is NULL", label);
    uint8_t *copy = ul_malloc(n, 1);
    if (!copy) return ul_fail_ctx(UL_E_NOMEM, "%s", label);
    if (n) memcpy(copy, buf, n);
    return parse_owned(copy, n, label, out);
}

ul_status ul_st_read(const char *path, ul_st_file **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_st_read: out is required");
    *out = NULL;
    if (!path) return ul_fail(UL_E_ARG, "ul_st_read: path is required");
    uint8_t *buf = NULL;
    size_t n = 0;
    ul_status st = ul_read_file(path, 0, &buf, &n);
    if (st != UL_OK) return st;
    return parse_owned(buf, n, path, out);
}

int ul_st_count(const ul_st_file *f) { return f ? f->count : 0; }

const ul_st_tensor *ul_st_get(const ul_st_file *f, int i) {
    return f && i >= 0 && i < f->count ? &f->t[i] : NULL;
}

const ul_st_tensor *ul_st_find(const ul_st_file *f, const char *name) {
    if (!f || !name || f->count == 0) return NULL;
    int lo = 0, hi = f->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, f->by_name[mid]->name);
        if (c == 0) return f->by_name[mid];
        if (c < 0) hi = mid - 1;
        else lo = mid + 1;
    }
    return NULL;
}

const char *ul_st_meta(const ul_st_file *f, const char *key) {
    if (!f || !key) return NULL;
    for (int i = 0; i < f->nmeta; i++)
        if (strcmp(f->mkey[i], key) == 0) return f->mval[i];
    return NULL;
}

int ul_st_meta_count(const ul_st_file *f) { return f ? f->nmeta : 0; }

const char *ul_st_meta_key(const ul_st_file *f, int i) {
    return f && i >= 0 && i < f->nmeta ? f->mkey[i] : NULL;
}
