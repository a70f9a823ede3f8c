/* Whole-file I/O: atomic writes (temporary file "<path>.tmp.<pid>.<n>" in the target's directory,
 * fwrite, fflush, fsync, close, rename over the target, fsync of the directory) and bounded
 * whole-file reads into one malloc'd buffer. POSIX only. Deliberately no O_TMPFILE/linkat tricks,
 * no locking against concurrent writers of the same path (the last rename wins) and no partial
 * or memory-mapped reads.
 */
#include "unlearn/io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static atomic_uint g_tmp_counter;

/* Directory part of `path` ("." when it has none) into a malloc'd string, or NULL (NOMEM). */
static char *dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 1;
    if (slash && n == 0) n = 1; /* "/file" -> "/" */
    char *d = ul_malloc(n + 1, 1);
    if (!d) return NULL;
    if (slash) memcpy(d, path, n);
    else d[0] = '.';
    d[n] = '\0';
    return d;
}

/* fsync a directory so a rename in it is durable. Filesystems that cannot sync directories
 * (EINVAL) are accepted. */
static ul_status fsync_dir(const char *path) {
    char *dir = dir_of(path);
    if (!dir) return UL_E_NOMEM;
    ul_status st = UL_OK;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        st = ul_fail(UL_E_IO, "%s: written, but cannot open directory '%s' to sync it: %s", path, dir,
                     strerror(errno));
    } else {
        if (fsync(fd) != 0 && errno != EINVAL)
            st = ul_fail(UL_E_IO, "%s: written, but fsync of directory '%s' failed: %s", path, dir, strerror(errno));
        close(fd);
    }
    free(dir);
    return st;
}

ul_status ul_write_file_atomic(const char *path, const void *data, size_t n) {
    if (!path || !*path || (n && !data)) return ul_fail(UL_E_ARG, "ul_write_file_atomic: path and data are required");
    const size_t plen = strlen(path);
    if (path[plen - 1] == '/') return ul_fail(UL_E_ARG, "%s: is a directory name, not a file name", path);
    char *tmp = ul_malloc(plen + 64, 1);
    if (!tmp) return ul_fail_ctx(UL_E_NOMEM, "%s", path);
    snprintf(tmp, plen + 64, "%s.tmp.%ld.%u", path, (long)getpid(), atomic_fetch_add(&g_tmp_counter, 1u));

    ul_status st = UL_OK;
    FILE *f = fopen(tmp, "wbx");
    if (!f) {
        st = ul_fail(UL_E_IO, "%s: cannot create temporary file '%s': %s", path, tmp, strerror(errno));
        free(tmp);
        return st;
    }
    if (n && fwrite(data, 1, n, f) != n)
        st = ul_fail(UL_E_IO, "%s: writing %zu bytes to '%s' failed: %s", path, n, tmp, strerror(errno));
    if (st == UL_OK && fflush(f) != 0)
        st = ul_fail(UL_E_IO, "%s: flushing '%s' failed: %s", path, tmp, strerror(errno));
    if (st == UL_OK && fsync(fileno(f)) != 0)
        st = ul_fail(UL_E_IO, "%s: fsync of '%s' failed: %s", path, tmp, strerror(errno));
    if (fclose(f) != 0 && st == UL_OK)
        st = ul_fail(UL_E_IO, "%s: closing '%s' failed: %s", path, tmp, strerror(errno));
    if (st == UL_OK && rename(tmp, path) != 0)
        st = ul_fail(UL_E_IO, "%s: renaming '%s' over it failed: %s", path, tmp, strerror(errno));
    if (st != UL_OK) {
        unlink(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    return fsync_dir(path);
}

ul_status ul_read_file(const char *path, size_t max_bytes, uint8_t **buf, size_t *n) {
    if (!buf || !n) return ul_fail(UL_E_ARG, "ul_read_file: output pointers are required");
    *buf = NULL;
    *n = 0;
    if (!path || !*path) return ul_fail(UL_E_ARG, "ul_read_file: path is required");
    if (max_bytes == 0 || max_bytes > SIZE_MAX / 2) max_bytes = SIZE_MAX / 2; /* 0: no limit */
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return ul_fail(e == ENOENT ? UL_E_NOTFOUND : UL_E_IO, "%s: cannot open: %s", path, strerror(e));
    }
    struct stat sb;
    if (fstat(fileno(f), &sb) != 0) {
        int e = errno;
        fclose(f);
        return ul_fail(UL_E_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        fclose(f);
        return ul_fail(UL_E_IO, "%s: is a directory", path);
    }
    /* Regular files: read st_size bytes and check for EOF; pipes and the like: grow as needed. */
    size_t cap = S_ISREG(sb.st_mode) ? (size_t)sb.st_size : 65536;
    if (S_ISREG(sb.st_mode) && ((uintmax_t)sb.st_size > max_bytes)) {
        fclose(f);
        return ul_fail(UL_E_FORMAT, "%s: file is %jd bytes, more than the limit of %zu", path, (intmax_t)sb.st_size,
                       max_bytes);
    }
    uint8_t *b = ul_malloc(cap + 1, 1);
    if (!b) {
        fclose(f);
        return ul_fail_ctx(UL_E_NOMEM, "%s", path);
    }
    size_t len = 0;
    ul_status st = UL_OK;
    for (;;) {
        if (len == cap + 1) { /* more data than expected: grow */
            if (cap >= max_bytes) {
                st = ul_fail(UL_E_FORMAT, "%s: file is more than the limit of %zu bytes", path, max_bytes);
                break;
            }
            size_t ncap = cap < max_bytes / 2 ? cap * 2 + 1 : max_bytes;
            uint8_t *nb = realloc(b, ncap + 1);
            if (!nb) {
                st = ul_fail(UL_E_NOMEM, "%s: out of memory reading %zu bytes", path, ncap);
                break;
            }
            b = nb;
            cap = ncap;
        }
        size_t k = fread(b + len, 1, cap + 1 - len, f);
        len += k;
        if (k == 0) {
            if (ferror(f)) st = ul_fail(UL_E_IO, "%s: read error: %s", path, strerror(errno));
            break;
        }
    }
    fclose(f);
    if (st == UL_OK && len > max_bytes)
        st = ul_fail(UL_E_FORMAT, "%s: file is more than the limit of %zu bytes", path, max_bytes);
    if (st != UL_OK) {
        free(b);
        return st;
    }
    *buf = b;
    *n = len;
    return UL_OK;
}
