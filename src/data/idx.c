/* IDX reader (LeCun's MNIST format, also Fashion-MNIST): big-endian magic 0x00000803 for
 * uint8 3-D images [n, h, w] (stored as c = 1) and 0x00000801 for uint8 1-D labels [n].
 * Either file may be gzip-compressed (detected by content). Image and label counts must
 * match and nothing may follow the declared data. Deliberately only the uint8 IDX variants:
 * other element types (0x09..0x0E) and other ranks are rejected as bad magic.
 */
#include "data/data_internal.h"

#include <stdlib.h>

#define IDX_IMAGES_MAGIC 0x00000803u
#define IDX_LABELS_MAGIC 0x00000801u

static uint32_t be32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* Read the magic and `ndim` dimensions of one IDX file. */
static ul_status idx_header(ul_src *s, uint32_t want, int ndim, const char *kind, uint32_t *dims) {
    unsigned char hdr[16];
    ul_status st = ul_src_read_exact(s, hdr, 4, "IDX header");
    if (st != UL_OK) return st;
    uint32_t magic = be32(hdr);
    if (magic != want)
        return ul_fail(UL_E_FORMAT, "%s: bad magic 0x%08x, expected 0x%08x (%s)", s->path, magic, want,
                       kind);
    st = ul_src_read_exact(s, hdr + 4, 4 * (size_t)ndim, "IDX header");
    if (st != UL_OK) return st;
    for (int i = 0; i < ndim; i++) dims[i] = be32(hdr + 4 + 4 * i);
    return UL_OK;
}

ul_status ul_read_idx(const char *images_path, const char *labels_path, ul_dataset **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_read_idx: out is NULL");
    *out = NULL;
    if (!images_path || !labels_path) return ul_fail(UL_E_ARG, "ul_read_idx: NULL path");
    ul_src si, sl;
    bool si_open = false, sl_open = false;
    unsigned char *pix = NULL, *lab8 = NULL;
    int32_t *labels = NULL;
    uint32_t idim[3] = {0, 0, 0}, ldim[1] = {0};
    ul_status st = ul_src_open(&si, images_path);
    if (st != UL_OK) goto done;
    si_open = true;
    st = ul_src_open(&sl, labels_path);
    if (st != UL_OK) goto done;
    sl_open = true;

    st = idx_header(&si, IDX_IMAGES_MAGIC, 3, "IDX uint8 3-D images", idim);
    if (st != UL_OK) goto done;
    st = idx_header(&sl, IDX_LABELS_MAGIC, 1, "IDX uint8 1-D labels", ldim);
    if (st != UL_OK) goto done;
    uint32_t n = idim[0], h = idim[1], w = idim[2];
    if (n == 0 || h == 0 || w == 0) {
        st = ul_fail(UL_E_FORMAT, "%s: empty image set: n=%u h=%u w=%u", images_path, n, h, w);
        goto done;
    }
    if (n > UL_DATA_MAX_N || (uint64_t)h * w > UL_DATA_MAX_CHW) {
        st = ul_fail(UL_E_FORMAT, "%s: absurd dimensions n=%u h=%u w=%u (limits: n <= %lld, h*w <= %lld)",
                     images_path, n, h, w, (long long)UL_DATA_MAX_N, (long long)UL_DATA_MAX_CHW);
        goto done;
    }
    if (ldim[0] != n) {
        st = ul_fail(UL_E_SHAPE, "%s has %u images but %s has %u labels", images_path, n, labels_path,
                     ldim[0]);
        goto done;
    }
    uint64_t need = (uint64_t)n * h * w; /* < 2^31 * 2^31: fits */
    st = ul_src_read_alloc(&si, need, "pixel data", (void **)&pix);
    if (st != UL_OK) goto done;
    st = ul_src_expect_end(&si, "pixel data");
    if (st != UL_OK) goto done;
    st = ul_src_read_alloc(&sl, n, "label data", (void **)&lab8);
    if (st != UL_OK) goto done;
    st = ul_src_expect_end(&sl, "label data");
    if (st != UL_OK) goto done;

    labels = ul_malloc(n, sizeof *labels);
    if (!labels) {
        st = UL_E_NOMEM;
        goto done;
    }
    int maxl = 0;
    for (uint32_t i = 0; i < n; i++) {
        labels[i] = lab8[i];
        if (lab8[i] > maxl) maxl = lab8[i];
    }
    st = ul_data_adopt(images_path, UL_PIX_U8, pix, labels, n, 1, (int)h, (int)w, maxl + 1, out);
    pix = NULL;    /* adopted (or freed by ul_data_adopt on failure) */
    labels = NULL;
done:
    if (si_open) ul_src_close(&si);
    if (sl_open) ul_src_close(&sl);
    free(pix);
    free(lab8);
    free(labels);
    return st;
}
