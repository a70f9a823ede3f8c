/* Byte sources for the dataset readers: a regular file read with stdio, or through zlib
 * gzopen/gzread when it starts with the gzip magic 1f 8b (the file name is not consulted).
 * Sizes claimed by headers are checked against what the file can hold before any buffer is
 * allocated. Deliberately no mmap, no seeking and no other compression formats.
 */
#include "data/data_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Largest inflate expansion ratio of deflate (zlib technical details: 1032:1) plus slack for
 * headers; a gzip file of S bytes can never decompress to more than this. */
#define GZ_MAX_RATIO 1032u
#define GZ_SLACK 4096u
#define GZ_FIRST_CHUNK ((size_t)1 << 22)

ul_status ul_src_open(ul_src *s, const char *path) {
    memset(s, 0, sizeof *s);
    s->path = path;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return ul_fail(e == ENOENT ? UL_E_NOTFOUND : UL_E_IO, "%s: cannot open: %s", path,
                       strerror(e));
    }
    struct stat st;
    if (fstat(fileno(f), &st) != 0) {
        int e = errno;
        fclose(f);
        return ul_fail(UL_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        fclose(f);
        return ul_fail(UL_E_IO, "%s: not a regular file", path);
    }
    s->size = (uint64_t)st.st_size;
    unsigned char magic[2];
    size_t k = fread(magic, 1, 2, f);
    if (k == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        fclose(f);
        s->gz = gzopen(path, "rb");
        if (!s->gz) {
            int e = errno;
            return ul_fail(UL_E_IO, "%s: gzopen failed: %s", path, e ? strerror(e) : "out of memory");
        }
        gzbuffer(s->gz, 1u << 17);
        return UL_OK;
    }
    if (ferror(f) || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        return ul_fail(UL_E_IO, "%s: read error", path);
    }
    s->f = f;
    return UL_OK;
}

void ul_src_close(ul_src *s) {
    if (s->f) fclose(s->f);
    if (s->gz) gzclose_r(s->gz);
    s->f = NULL;
    s->gz = NULL;
}

uint64_t ul_src_left(const ul_src *s) {
    if (s->gz) return UINT64_MAX;
    return s->pos < s->size ? s->size - s->pos : 0;
}

ul_status ul_src_read(ul_src *s, void *buf, size_t n, size_t *got) {
    unsigned char *p = buf;
    size_t done = 0;
    if (s->f) {
        done = fread(p, 1, n, s->f);
        if (done < n && ferror(s->f)) return ul_fail(UL_E_IO, "%s: read error", s->path);
    } else {
        while (done < n) {
            size_t want = n - done;
            if (want > (1u << 30)) want = 1u << 30;
            int k = gzread(s->gz, p + done, (unsigned)want);
            if (k < 0 || (k == 0 && !gzeof(s->gz))) {
                int err = Z_OK;
                const char *msg = gzerror(s->gz, &err);
                return ul_fail(err == Z_ERRNO ? UL_E_IO : UL_E_FORMAT,
                               "%s: corrupt gzip stream after %llu bytes: %s", s->path,
                               (unsigned long long)(s->pos + done), err == Z_ERRNO ? strerror(errno) : msg);
            }
            done += (size_t)k;
            if ((size_t)k < want) {
                /* Short read: end of the stream, or a stream cut off mid-way. */
                int err = Z_OK;
                const char *msg = gzerror(s->gz, &err);
                if (err != Z_OK)
                    return ul_fail(UL_E_FORMAT, "%s: corrupt or truncated gzip stream after %llu bytes: %s",
                                   s->path, (unsigned long long)(s->pos + done), msg);
                break;
            }
        }
    }
    s->pos += done;
    *got = done;
    return UL_OK;
}

ul_status ul_src_read_exact(ul_src *s, void *buf, size_t n, const char *what) {
    size_t got = 0;
    uint64_t at = s->pos;
    ul_status st = ul_src_read(s, buf, n, &got);
    if (st != UL_OK) return st;
    if (got != n)
        return ul_fail(UL_E_FORMAT, "%s: truncated %s: expected %zu bytes at offset %llu, got %zu",
                       s->path, what, n, (unsigned long long)at, got);
    return UL_OK;
}

ul_status ul_src_read_alloc(ul_src *s, uint64_t need, const char *what, void **out) {
    *out = NULL;
    if (need > SIZE_MAX)
        return ul_fail(UL_E_FORMAT, "%s: %s of %llu bytes does not fit in memory", s->path, what,
                       (unsigned long long)need);
    if (s->f) {
        uint64_t left = ul_src_left(s);
        if (need > left)
            return ul_fail(UL_E_FORMAT,
                           "%s: truncated %s: header declares %llu bytes, only %llu follow at offset %llu",
                           s->path, what, (unsigned long long)need, (unsigned long long)left,
                           (unsigned long long)s->pos);
        void *buf = ul_malloc((size_t)need, 1);
        if (!buf) return ul_fail_ctx(UL_E_NOMEM, "%s: %s", s->path, what);
        ul_status st = ul_src_read_exact(s, buf, (size_t)need, what);
        if (st != UL_OK) {
            free(buf);
            return st;
        }
        *out = buf;
        return UL_OK;
    }
    uint64_t bound = s->size > (UINT64_MAX - GZ_SLACK) / GZ_MAX_RATIO ? UINT64_MAX
                                                                      : s->size * GZ_MAX_RATIO + GZ_SLACK;
    if (need > bound)
        return ul_fail(UL_E_FORMAT,
                       "%s: truncated %s: header declares %llu bytes, more than a %llu-byte gzip file "
                       "can hold",
                       s->path, what, (unsigned long long)need, (unsigned long long)s->size);
    /* Grow geometrically as data arrives so a lying header cannot make us allocate much. */
    size_t cap = need < GZ_FIRST_CHUNK ? (size_t)need : GZ_FIRST_CHUNK;
    unsigned char *buf = ul_malloc(cap, 1);
    if (!buf) return ul_fail_ctx(UL_E_NOMEM, "%s: %s", s->path, what);
    size_t have = 0;
    uint64_t at = s->pos;
    for (;;) {
        size_t got = 0;
        ul_status st = ul_src_read(s, buf + have, cap - have, &got);
        if (st != UL_OK) {
            free(buf);
            return st;
        }
        have += got;
        if (have == need) break;
        if (have < cap) {
            free(buf);
            return ul_fail(UL_E_FORMAT,
                           "%s: truncated %s: header declares %llu bytes at offset %llu, only %zu follow",
                           s->path, what, (unsigned long long)need, (unsigned long long)at, have);
        }
        size_t ncap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        if (ncap > need) ncap = (size_t)need;
        unsigned char *nb = realloc(buf, ncap);
        if (!nb) {
            free(buf);
            return ul_fail(UL_E_NOMEM, "%s: out of memory growing the %s buffer to %zu bytes", s->path,
                           what, ncap);
        }
        buf = nb;
        cap = ncap;
    }
    *out = buf;
    return UL_OK;
}

ul_status ul_src_expect_end(ul_src *s, const char *what) {
    if (s->f) {
        uint64_t left = ul_src_left(s);
        if (left)
            return ul_fail(UL_E_FORMAT, "%s: %llu trailing bytes after the %s (file has %llu bytes, "
                                        "header declares %llu)",
                           s->path, (unsigned long long)left, what, (unsigned long long)s->size,
                           (unsigned long long)s->pos);
        return UL_OK;
    }
    unsigned char probe[64];
    size_t got = 0;
    ul_status st = ul_src_read(s, probe, sizeof probe, &got); /* also verifies the gzip CRC */
    if (st != UL_OK) return st;
    if (got)
        return ul_fail(UL_E_FORMAT, "%s: trailing bytes after the %s (decompressed data is longer than "
                                    "the %llu bytes the header declares)",
                       s->path, what, (unsigned long long)(s->pos - got));
    return UL_OK;
}
