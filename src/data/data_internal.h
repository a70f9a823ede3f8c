/* Internal: the dataset representation and the byte-source reader shared by the src/data
 * sources. Not part of the public API. The readers build a dataset by handing over buffers
 * they allocated (ul_data_adopt) so pixels are never copied after being read, and they read
 * files through ul_src, which hides raw versus gzip input (detected by the 1f 8b magic).
 */
#ifndef UL_DATA_INTERNAL_H
#define UL_DATA_INTERNAL_H

#include <stdio.h>
#include <zlib.h>

#include "unlearn/data.h"

/* Hard limits that keep every size computation inside int32/int/size_t. */
#define UL_DATA_MAX_N ((uint64_t)INT32_MAX)       /* samples (views index with int32) */
#define UL_DATA_MAX_CHW ((uint64_t)INT32_MAX)     /* values per sample */
#define UL_DATA_MAX_CLASSES 65536                 /* labels must lie below this */

struct ul_dataset {
    char *name;          /* owned, NUL-terminated */
    ul_pixel_type type;
    void *pixels;        /* owned, n*c*h*w values of `type`, NCHW */
    int32_t *labels;     /* owned, n entries in [0, classes) */
    size_t n;
    int c, h, w, classes;
    char hash[65];       /* "" until ul_dataset_hash computes it */
};

/* Build a dataset that takes ownership of `pixels` and `labels` (both allocated with malloc).
 * Validates shape and labels like ul_dataset_from_memory. On failure both buffers are freed. */
ul_status ul_data_adopt(const char *name, ul_pixel_type type, void *pixels, int32_t *labels,
                        size_t n, int c, int h, int w, int classes, ul_dataset **out);
/* Replace the dataset's name (copied). */
ul_status ul_data_set_name(ul_dataset *d, const char *name);

/* ---- byte sources: a regular file read raw or through zlib ------------------------- */

typedef struct ul_src {
    const char *path;  /* borrowed, used in messages */
    FILE *f;           /* raw file, or NULL */
    gzFile gz;         /* gzip stream, or NULL */
    uint64_t size;     /* raw: file size; gzip: compressed file size */
    uint64_t pos;      /* (uncompressed) bytes consumed so far */
} ul_src;

/* Open `path` (must be a regular file). ENOENT gives UL_E_NOTFOUND, other failures UL_E_IO. */
ul_status ul_src_open(ul_src *s, const char *path);
void ul_src_close(ul_src *s);
/* Raw files: bytes not yet read. Gzip streams: UINT64_MAX (unknown until read). */
uint64_t ul_src_left(const ul_src *s);
/* Read up to n bytes; *got < n only at end of input. Corrupt gzip data gives UL_E_FORMAT. */
ul_status ul_src_read(ul_src *s, void *buf, size_t n, size_t *got);
/* Read exactly n bytes of `what` (e.g. "header"); a short read is UL_E_FORMAT "truncated". */
ul_status ul_src_read_exact(ul_src *s, void *buf, size_t n, const char *what);
/* Read exactly `need` bytes of `what` into a new malloc'd buffer. Raw files: checked against
 * the bytes left BEFORE allocating. Gzip: checked against the largest possible deflate output
 * of the compressed size, and the buffer only grows as decompressed data actually arrives. */
ul_status ul_src_read_alloc(ul_src *s, uint64_t need, const char *what, void **out);
/* The input must be exhausted: trailing bytes after `what` are UL_E_FORMAT. */
ul_status ul_src_expect_end(ul_src *s, const char *what);

/* Overflow-checked a*b for sizes read from files; false when it does not fit in uint64. */
static inline bool ul_data_mul(uint64_t a, uint64_t b, uint64_t *r) {
    if (a && b > UINT64_MAX / a) return false;
    *r = a * b;
    return true;
}

#endif
