/* The ul_dataset object: construction from memory or from reader-owned buffers, accessors,
 * and freeing. Pixels are stored once, as uint8 or float32, NCHW; labels as int32.
 * Validation here is the single gate every reader passes through (shape limits, label
 * range, finite float pixels). Deliberately no resizing, no appending, no in-place edits.
 */
#include "data/data_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static size_t pixel_size(ul_pixel_type t) { return t == UL_PIX_F32 ? sizeof(float) : 1; }

static ul_status check_shape(const char *name, ul_pixel_type type, size_t n, int c, int h, int w,
                             int classes) {
    if (type != UL_PIX_U8 && type != UL_PIX_F32)
        return ul_fail(UL_E_ARG, "%s: invalid pixel type %d", name, (int)type);
    if (n == 0) return ul_fail(UL_E_ARG, "%s: dataset has no samples", name);
    if ((uint64_t)n > UL_DATA_MAX_N)
        return ul_fail(UL_E_ARG, "%s: n = %zu samples exceeds the limit %lld", name, n,
                       (long long)UL_DATA_MAX_N);
    if (c <= 0 || h <= 0 || w <= 0)
        return ul_fail(UL_E_ARG, "%s: invalid sample shape c=%d h=%d w=%d", name, c, h, w);
    uint64_t ch, chw;
    if (!ul_data_mul((uint64_t)c, (uint64_t)h, &ch) || !ul_data_mul(ch, (uint64_t)w, &chw) ||
        chw > UL_DATA_MAX_CHW)
        return ul_fail(UL_E_ARG, "%s: sample shape %dx%dx%d has too many values", name, c, h, w);
    uint64_t total;
    if (!ul_data_mul(chw, (uint64_t)n, &total) || !ul_data_mul(total, pixel_size(type), &total) ||
        total > SIZE_MAX)
        return ul_fail(UL_E_ARG, "%s: %zu samples of %dx%dx%d overflow the address space", name, n, c,
                       h, w);
    if (classes <= 0 || classes > UL_DATA_MAX_CLASSES)
        return ul_fail(UL_E_ARG, "%s: classes = %d, expected 1..%d", name, classes, UL_DATA_MAX_CLASSES);
    return UL_OK;
}

static ul_status check_content(const char *name, ul_pixel_type type, const void *pixels,
                               const int32_t *labels, size_t n, size_t chw, int classes) {
    for (size_t i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= classes)
            return ul_fail(UL_E_ARG, "%s: label[%zu] = %d outside [0, %d)", name, i, (int)labels[i],
                           classes);
    if (type == UL_PIX_F32) {
        const float *p = pixels;
        size_t total = n * chw;
        for (size_t i = 0; i < total; i++)
            if (!isfinite(p[i]))
                return ul_fail(UL_E_NUMERIC, "%s: pixel %zu of sample %zu is not finite", name, i % chw,
                               i / chw);
    }
    return UL_OK;
}

ul_status ul_data_adopt(const char *name, ul_pixel_type type, void *pixels, int32_t *labels,
                        size_t n, int c, int h, int w, int classes, ul_dataset **out) {
    ul_status st;
    ul_dataset *d = NULL;
    if (!out || !pixels || !labels) {
        st = ul_fail(UL_E_ARG, "ul_data_adopt: NULL argument");
        goto fail;
    }
    *out = NULL;
    if (!name) name = "(memory)";
    st = check_shape(name, type, n, c, h, w, classes);
    if (st != UL_OK) goto fail;
    st = check_content(name, type, pixels, labels, n, (size_t)c * (size_t)h * (size_t)w, classes);
    if (st != UL_OK) goto fail;
    d = ul_calloc(1, sizeof *d);
    if (!d) {
        st = UL_E_NOMEM;
        goto fail;
    }
    d->type = type;
    d->pixels = pixels;
    d->labels = labels;
    d->n = n;
    d->c = c;
    d->h = h;
    d->w = w;
    d->classes = classes;
    st = ul_data_set_name(d, name);
    if (st != UL_OK) {
        ul_dataset_free(d); /* frees pixels and labels too */
        return st;
    }
    *out = d;
    return UL_OK;
fail:
    free(pixels);
    free(labels);
    return st;
}

ul_status ul_data_set_name(ul_dataset *d, const char *name) {
    size_t len = strlen(name);
    char *copy = ul_malloc(len + 1, 1);
    if (!copy) return UL_E_NOMEM;
    memcpy(copy, name, len + 1);
    free(d->name);
    d->name = copy;
    return UL_OK;
}

ul_status ul_dataset_from_memory(const char *name, ul_pixel_type type, const void *pixels,
                                 const int32_t *labels, size_t n, int c, int h, int w,
                                 int classes, ul_dataset **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_dataset_from_memory: out is NULL");
    *out = NULL;
    if (!pixels || !labels) return ul_fail(UL_E_ARG, "ul_dataset_from_memory: pixels or labels is NULL");
    const char *nm = name ? name : "(memory)";
    ul_status st = check_shape(nm, type, n, c, h, w, classes);
    if (st != UL_OK) return st;
    size_t bytes = n * (size_t)c * (size_t)h * (size_t)w * pixel_size(type);
    void *px = ul_malloc(bytes, 1);
    int32_t *lb = ul_malloc(n, sizeof *lb);
    if (!px || !lb) {
        free(px);
        free(lb);
        return UL_E_NOMEM;
    }
    memcpy(px, pixels, bytes);
    memcpy(lb, labels, n * sizeof *lb);
    return ul_data_adopt(nm, type, px, lb, n, c, h, w, classes, out);
}

void ul_dataset_free(ul_dataset *d) {
    if (!d) return;
    free(d->name);
    free(d->pixels);
    free(d->labels);
    free(d);
}

size_t ul_dataset_size(const ul_dataset *d) { return d ? d->n : 0; }
int ul_dataset_channels(const ul_dataset *d) { return d ? d->c : 0; }
int ul_dataset_height(const ul_dataset *d) { return d ? d->h : 0; }
int ul_dataset_width(const ul_dataset *d) { return d ? d->w : 0; }
int ul_dataset_classes(const ul_dataset *d) { return d ? d->classes : 0; }
ul_pixel_type ul_dataset_pixel_type(const ul_dataset *d) { return d ? d->type : UL_PIX_U8; }
const int32_t *ul_dataset_labels(const ul_dataset *d) { return d ? d->labels : NULL; }
const void *ul_dataset_pixels(const ul_dataset *d) { return d ? d->pixels : NULL; }
const char *ul_dataset_name(const ul_dataset *d) { return d && d->name ? d->name : ""; }
float ul_dataset_scale(const ul_dataset *d) {
    return d && d->type == UL_PIX_F32 ? 1.0f : 1.0f / 255.0f;
}
