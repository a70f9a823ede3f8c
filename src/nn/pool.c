/* MaxPool2d (kernel k, stride s, no padding, floor mode, as PyTorch's default) and global
 * average pooling (AdaptiveAvgPool2d(1) + flatten). Max-pool keeps the argmax of each window
 * for the backward pass; ties go to the first element in row-major order, as in PyTorch.
 */
#include "nn/layer.h"

#include <string.h>

void ul_maxpool_forward(ul_layer *l, const float *x, size_t n) {
    const int c = l->in_c, h = l->in_h, w = l->in_w, oh = l->out_h, ow = l->out_w, k = l->k, s = l->stride;
    l->in = x;
#pragma omp parallel for schedule(static) if (n * l->in_n >= UL_PAR_MIN)
    for (long i = 0; i < (long)n * c; i++) {
        const float *src = x + (size_t)i * h * w;
        float *dst = l->out + (size_t)i * oh * ow;
        int32_t *am = l->argmax + (size_t)i * oh * ow;
        if (k == 2 && s == 2) { /* the common case, without the generic window loops */
            for (int oy = 0; oy < oh; oy++) {
                const float *r0 = src + (size_t)(2 * oy) * w, *r1 = r0 + w;
                for (int ox = 0; ox < ow; ox++) {
                    int p = 2 * ox;
                    float bv = r0[p];
                    int best = 2 * oy * w + p;
                    if (r0[p + 1] > bv || (r0[p + 1] != r0[p + 1] && bv == bv)) { bv = r0[p + 1]; best = 2 * oy * w + p + 1; }
                    if (r1[p] > bv || (r1[p] != r1[p] && bv == bv)) { bv = r1[p]; best = (2 * oy + 1) * w + p; }
                    if (r1[p + 1] > bv || (r1[p + 1] != r1[p + 1] && bv == bv)) { bv = r1[p + 1]; best = (2 * oy + 1) * w + p + 1; }
                    dst[oy * ow + ox] = bv;
                    am[oy * ow + ox] = best;
                }
            }
            continue;
        }
        for (int oy = 0; oy < oh; oy++) {
            for (int ox = 0; ox < ow; ox++) {
                int best = (oy * s) * w + ox * s;
                float bv = src[best];
                for (int ky = 0; ky < k; ky++) {
                    for (int kx = 0; kx < k; kx++) {
                        int p = (oy * s + ky) * w + ox * s + kx;
                        float v = src[p];
                        if (v > bv || (v != v && bv == bv)) { bv = v; best = p; } /* NaN propagates */
                    }
                }
                dst[oy * ow + ox] = bv;
                am[oy * ow + ox] = best;
            }
        }
    }
}

void ul_maxpool_backward(ul_layer *l, const float *dout, size_t n) {
    if (!l->need_din) return;
    const int c = l->in_c, hw = l->in_h * l->in_w, ohw = l->out_h * l->out_w;
#pragma omp parallel for schedule(static) if (n * l->in_n >= UL_PAR_MIN)
    for (long i = 0; i < (long)n * c; i++) {
        float *d = l->din + (size_t)i * hw;
        const float *g = dout + (size_t)i * ohw;
        const int32_t *am = l->argmax + (size_t)i * ohw;
        memset(d, 0, sizeof(float) * (size_t)hw);
        for (int j = 0; j < ohw; j++) d[am[j]] += g[j];
    }
}

void ul_avgpool_forward(ul_layer *l, const float *x, size_t n) {
    const int hw = l->in_h * l->in_w;
    l->in = x;
#pragma omp parallel for schedule(static) if (n * l->in_n >= UL_PAR_MIN)
    for (long i = 0; i < (long)n * l->in_c; i++) {
        const float *src = x + (size_t)i * hw;
        float s = 0.0f;
        for (int j = 0; j < hw; j++) s += src[j];
        l->out[i] = s / (float)hw;
    }
}

void ul_avgpool_backward(ul_layer *l, const float *dout, size_t n) {
    if (!l->need_din) return;
    const int hw = l->in_h * l->in_w;
    const float inv = 1.0f / (float)hw;
#pragma omp parallel for schedule(static) if (n * l->in_n >= UL_PAR_MIN)
    for (long i = 0; i < (long)n * l->in_c; i++) {
        float g = dout[i] * inv;
        float *d = l->din + (size_t)i * hw;
        for (int j = 0; j < hw; j++) d[j] = g;
    }
}
