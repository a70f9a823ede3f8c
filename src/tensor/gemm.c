/* GEMM through OpenBLAS (cblas_sgemm, row-major) and im2col/col2im for convolutions.
 * Layers call GEMM from inside their own OpenMP regions (one chunk of the batch each), where
 * OpenBLAS runs single-threaded; its own threads are kept at 1 so two thread pools never
 * compete for the cores. No hand-written GEMM kernel: OpenBLAS is faster than we would be.
 */
#include "tensor/blas.h"

#include <cblas.h>
#include <string.h>

void ul_sgemm(bool ta, bool tb, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc) {
    if (m <= 0 || n <= 0) return;
    if (k <= 0) {
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) c[(size_t)i * ldc + j] = beta == 0.0f ? 0.0f : beta * c[(size_t)i * ldc + j];
        return;
    }
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans, m, n, k,
                alpha, a, lda, b, ldb, beta, c, ldc);
}

void ul_blas_set_threads(int n) {
    (void)n;
    openblas_set_num_threads(1);
}

/* im2col of a stride-1 "same" convolution (oh == h, ow == w): for each kernel tap the valid output
 * rows read one contiguous, shifted run of the input, so each tap is one memcpy plus zeroing the
 * padding rows and the |dx| columns that would otherwise wrap into the neighbouring input row. */
static void im2col_same(const float *img, int c, int h, int w, int kh, int kw, int p, float *col, size_t ldc) {
    for (int ci = 0; ci < c; ci++) {
        const float *src = img + (size_t)ci * h * w;
        for (int ki = 0; ki < kh; ki++) {
            const int dy = ki - p;
            const int y0 = dy < 0 ? -dy : 0, y1 = dy > 0 ? h - dy : h;
            for (int kj = 0; kj < kw; kj++) {
                const int dx = kj - p;
                float *dst = col + ((size_t)(ci * kh + ki) * kw + kj) * ldc;
                if (y1 <= y0 || dx >= w || -dx >= w) {
                    memset(dst, 0, sizeof(float) * (size_t)h * w);
                    continue;
                }
                memset(dst, 0, sizeof(float) * (size_t)y0 * w);
                memset(dst + (size_t)y1 * w, 0, sizeof(float) * (size_t)(h - y1) * w);
                const size_t run = (size_t)(y1 - y0) * w;
                float *d = dst + (size_t)y0 * w;
                const float *r = src + (size_t)(y0 + dy) * w;
                if (dx < 0) {
                    memcpy(d - dx, r, sizeof(float) * (run + (size_t)dx));
                    for (int y = y0; y < y1; y++)
                        for (int x = 0; x < -dx; x++) dst[(size_t)y * w + x] = 0.0f;
                } else {
                    memcpy(d, r + dx, sizeof(float) * (run - (size_t)dx));
                    for (int y = y0; y < y1; y++)
                        for (int x = w - dx; x < w; x++) dst[(size_t)y * w + x] = 0.0f;
                }
            }
        }
    }
}

void ul_im2col(const float *img, int c, int h, int w, int kh, int kw, int s, int p, int oh, int ow,
               float *col, size_t ldc) {
    if (s == 1 && oh == h && ow == w) {
        im2col_same(img, c, h, w, kh, kw, p, col, ldc);
        return;
    }
    for (int ci = 0; ci < c; ci++) {
        const float *src = img + (size_t)ci * h * w;
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                float *dst = col + ((size_t)(ci * kh + ki) * kw + kj) * ldc;
                /* output columns whose input column ix = ox*s - p + kj lies inside [0, w) */
                const int x0 = kj - p;
                int lo = x0 < 0 ? (-x0 + s - 1) / s : 0;
                int hi = (w - 1 - x0) >= 0 ? (w - 1 - x0) / s + 1 : 0;
                if (hi > ow) hi = ow;
                if (lo > hi) lo = hi;
                for (int oy = 0; oy < oh; oy++) {
                    const int iy = oy * s - p + ki;
                    float *restrict d = dst + (size_t)oy * ow;
                    if (iy < 0 || iy >= h) {
                        for (int ox = 0; ox < ow; ox++) d[ox] = 0.0f;
                        continue;
                    }
                    const float *restrict row = src + (size_t)iy * w;
                    for (int ox = 0; ox < lo; ox++) d[ox] = 0.0f;
                    if (s == 1)
                        memcpy(d + lo, row + lo + x0, sizeof(float) * (size_t)(hi - lo));
                    else
                        for (int ox = lo; ox < hi; ox++) d[ox] = row[ox * s + x0];
                    for (int ox = hi; ox < ow; ox++) d[ox] = 0.0f;
                }
            }
        }
    }
}

void ul_col2im(const float *col, size_t ldc, int c, int h, int w, int kh, int kw, int s, int p,
               int oh, int ow, float *img) {
    for (int ci = 0; ci < c; ci++) {
        float *dst = img + (size_t)ci * h * w;
        for (int ki = 0; ki < kh; ki++) {
            for (int kj = 0; kj < kw; kj++) {
                const float *src = col + ((size_t)(ci * kh + ki) * kw + kj) * ldc;
                const int x0 = kj - p;
                int lo = x0 < 0 ? (-x0 + s - 1) / s : 0;
                int hi = (w - 1 - x0) >= 0 ? (w - 1 - x0) / s + 1 : 0;
                if (hi > ow) hi = ow;
                if (lo > hi) lo = hi;
                for (int oy = 0; oy < oh; oy++) {
                    const int iy = oy * s - p + ki;
                    if (iy < 0 || iy >= h) continue;
                    float *restrict row = dst + (size_t)iy * w;
                    const float *restrict sr = src + (size_t)oy * ow;
                    if (s == 1)
                        for (int ox = lo; ox < hi; ox++) row[ox + x0] += sr[ox];
                    else
                        for (int ox = lo; ox < hi; ox++) row[ox * s + x0] += sr[ox];
                }
            }
        }
    }
}
