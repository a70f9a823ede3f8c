/* 2-D convolution (PyTorch nn.Conv2d, weight [Cout, Cin, kh, kw], square kernels, stride,
 * zero padding, optional bias) by im2col + GEMM. The batch is cut into a fixed number of
 * chunks (tensor/blas.h), all chunks in one OpenMP region; within a chunk, groups of samples small
 * enough for their columns to stay in L2 (conv_group, often one sample) lay their columns side by
 * side in a [Cin*k*k, g*OH*OW] matrix and run one single-threaded GEMM.
 * The weight and bias gradients are summed over chunks in chunk order, so the result is the same
 * for any thread count. The backward pass recomputes the columns instead of keeping them. A ReLU
 * may be fused on the output (forward clamps while scattering, backward masks while gathering).
 * No groups, no dilation, no Winograd/FFT.
 */
#include "nn/layer.h"
#include "tensor/blas.h"

#include <stdlib.h>
#include <string.h>

/* Columns of samples [i0, i1) into col ([K, (i1-i0)*ohw]). */
static void fill_cols(const ul_layer *l, const float *x, size_t i0, size_t i1, float *col) {
    const int ohw = l->out_h * l->out_w;
    const size_t ld = (i1 - i0) * (size_t)ohw;
    const bool pointwise = (l->k == 1 && l->stride == 1 && l->pad == 0);
    for (size_t i = i0; i < i1; i++) {
        const float *img = x + i * l->in_n;
        float *dst = col + (i - i0) * (size_t)ohw;
        if (pointwise) {
            for (int c = 0; c < l->in_c; c++)
                memcpy(dst + (size_t)c * ld, img + (size_t)c * ohw, sizeof(float) * (size_t)ohw);
        } else {
            ul_im2col(img, l->in_c, l->in_h, l->in_w, l->k, l->k, l->stride, l->pad, l->out_h, l->out_w, dst, ld);
        }
    }
}

/* Samples per GEMM inside a chunk: as many as keep the column block within UL_CONV_BLOCK floats
 * (so im2col writes and the GEMM reads it from L2, not memory), at least one. Depends on the layer's
 * shape only, so results do not depend on the thread count. */
#define UL_CONV_BLOCK 65536
static size_t conv_group(const ul_layer *l, int K) {
    const size_t per = (size_t)K * (size_t)l->out_h * l->out_w;
    return per >= UL_CONV_BLOCK ? 1 : UL_CONV_BLOCK / per;
}

void ul_conv_forward(ul_model *m, ul_layer *l, const float *x, size_t n) {
    const int cout = l->out_c, ohw = l->out_h * l->out_w;
    const int K = l->in_c * l->k * l->k;
    const float *W = ul_tp(m, l->t_w);
    const float *b = l->t_b >= 0 ? ul_tp(m, l->t_b) : NULL;
    const int S = ul_nchunks(n);
    const size_t G = conv_group(l, K);
    l->in = x;
#pragma omp parallel for schedule(static)
    for (int s = 0; s < S; s++) {
        const size_t c0 = ul_chunk_lo(n, S, s), c1 = ul_chunk_lo(n, S, s + 1);
        float *col = m->ws_col + c0 * (size_t)ohw * K, *tmp = m->ws_tmp + c0 * (size_t)ohw * cout;
        for (size_t i0 = c0; i0 < c1; i0 += G) {
            const size_t i1 = i0 + G < c1 ? i0 + G : c1;
            const size_t ld = (i1 - i0) * (size_t)ohw;
            fill_cols(l, x, i0, i1, col);
            /* one sample: the GEMM writes the NCHW output directly */
            float *dst0 = i1 - i0 == 1 ? l->out + i0 * l->out_n : tmp;
            ul_sgemm(false, false, cout, (int)ld, K, 1.0f, W, K, col, (int)ld, 0.0f, dst0, (int)ld);
            for (size_t i = i0; i < i1; i++) {
                for (int c = 0; c < cout; c++) {
                    const float *src = dst0 + (size_t)c * ld + (i - i0) * ohw;
                    float *dst = l->out + i * l->out_n + (size_t)c * ohw;
                    const float bc = b ? b[c] : 0.0f;
                    if (l->relu)
                        for (int j = 0; j < ohw; j++) {
                            float v = src[j] + bc;
                            dst[j] = v > 0.0f ? v : 0.0f;
                        }
                    else if (b || src != dst)
                        for (int j = 0; j < ohw; j++) dst[j] = src[j] + bc;
                }
            }
        }
    }
}

void ul_conv_backward(ul_model *m, ul_layer *l, const float *dout, size_t n) {
    const int cout = l->out_c, ohw = l->out_h * l->out_w;
    const int K = l->in_c * l->k * l->k;
    const float *W = ul_tp(m, l->t_w);
    const int S = ul_nchunks(n);
    const size_t G = conv_group(l, K);
    const size_t wn = (size_t)cout * K;
    float *pw = m->ws_part;                    /* S partial weight gradients, then S bias partials */
    float *pb = m->ws_part + (size_t)S * wn;
    const bool pointwise = (l->k == 1 && l->stride == 1 && l->pad == 0);
    /* backward_sq: per chunk, the sum of each sample's squared weight/bias gradient, plus one
     * per-sample gradient buffer per chunk */
    float *qw = NULL, *qg = NULL;
    if (m->sq) {
        qw = ul_calloc((size_t)S * (wn + (size_t)cout), sizeof(float));
        qg = ul_malloc((size_t)S * wn, sizeof(float));
        if (!qw || !qg) {
            free(qw);
            free(qg);
            qw = qg = NULL;
            m->sq_failed = true;
        }
    }
#pragma omp parallel for schedule(static)
    for (int s = 0; s < S; s++) {
        const size_t c0 = ul_chunk_lo(n, S, s), c1 = ul_chunk_lo(n, S, s + 1);
        float *col = m->ws_col + c0 * (size_t)ohw * K, *tmp = m->ws_tmp + c0 * (size_t)ohw * cout;
        float *pws = pw + (size_t)s * wn, *pbs = pb + (size_t)s * cout;
        if (l->t_b >= 0)
            for (int c = 0; c < cout; c++) pbs[c] = 0.0f;
        for (size_t i0 = c0; i0 < c1; i0 += G) {
            const size_t i1 = i0 + G < c1 ? i0 + G : c1;
            const size_t ld = (i1 - i0) * (size_t)ohw;
            /* gather dout into [Cout, ns*OHW], through the fused ReLU's mask; one sample without a
             * ReLU is already in that layout */
            const float *dy = tmp;
            if (!l->relu && i1 - i0 == 1) {
                dy = dout + i0 * l->out_n;
            } else {
                for (size_t i = i0; i < i1; i++)
                    for (int c = 0; c < cout; c++) {
                        float *d = tmp + (size_t)c * ld + (i - i0) * ohw;
                        const float *g = dout + i * l->out_n + (size_t)c * ohw;
                        if (l->relu) ul_relu_mask(d, l->out + i * l->out_n + (size_t)c * ohw, g, (size_t)ohw);
                        else memcpy(d, g, sizeof(float) * (size_t)ohw);
                    }
            }
            if (l->t_b >= 0)
                for (int c = 0; c < cout; c++) {
                    const float *r = dy + (size_t)c * ld;
                    float acc = 0.0f;
                    for (size_t j = 0; j < ld; j++) acc += r[j];
                    pbs[c] += acc;
                }
            fill_cols(l, l->in, i0, i1, col);
            if (qw) {
                float *qws = qw + (size_t)s * (wn + (size_t)cout), *qbs = qws + wn, *g = qg + (size_t)s * wn;
                for (size_t i = i0; i < i1; i++) {
                    const size_t o = (i - i0) * (size_t)ohw;
                    ul_sgemm(false, true, cout, K, ohw, 1.0f, dy + o, (int)ld, col + o, (int)ld, 0.0f, g, K);
                    /* the chunk's weight gradient is the sum of the samples' (no second GEMM) */
                    if (i == c0)
                        for (size_t j = 0; j < wn; j++) {
                            pws[j] = g[j];
                            qws[j] += g[j] * g[j];
                        }
                    else
                        for (size_t j = 0; j < wn; j++) {
                            pws[j] += g[j];
                            qws[j] += g[j] * g[j];
                        }
                    if (l->t_b >= 0)
                        for (int c = 0; c < cout; c++) {
                            const float *r = dy + (size_t)c * ld + o;
                            float acc = 0.0f;
                            for (int j = 0; j < ohw; j++) acc += r[j];
                            qbs[c] += acc * acc;
                        }
                }
            }
            /* partial dW[Cout, K] (+)= dy[Cout, ld] col^T[ld, K], summed over the groups in order */
            if (!qw)
                ul_sgemm(false, true, cout, K, (int)ld, 1.0f, dy, (int)ld, col, (int)ld, i0 == c0 ? 0.0f : 1.0f, pws, K);
            if (!l->need_din) continue;
            /* dcol[K, ld] = W^T[K, Cout] dy[Cout, ld], reusing the column buffer */
            ul_sgemm(true, false, K, (int)ld, cout, 1.0f, W, K, dy, (int)ld, 0.0f, col, (int)ld);
            for (size_t i = i0; i < i1; i++) {
                float *d = l->din + i * l->in_n;
                const float *src = col + (i - i0) * (size_t)ohw;
                if (pointwise) {
                    for (int c = 0; c < l->in_c; c++)
                        memcpy(d + (size_t)c * ohw, src + (size_t)c * ld, sizeof(float) * (size_t)ohw);
                } else {
                    memset(d, 0, sizeof(float) * l->in_n);
                    ul_col2im(src, ld, l->in_c, l->in_h, l->in_w, l->k, l->k, l->stride, l->pad, l->out_h, l->out_w,
                              d);
                }
            }
        }
    }
    float *dW = ul_tg(m, l->t_w);
#pragma omp parallel for schedule(static) if (wn * (size_t)S >= UL_PAR_MIN)
    for (size_t j = 0; j < wn; j++) {
        float acc = dW[j];
        for (int s = 0; s < S; s++) acc += pw[(size_t)s * wn + j];
        dW[j] = acc;
    }
    if (l->t_b >= 0) {
        float *db = ul_tg(m, l->t_b);
        for (int c = 0; c < cout; c++) {
            float acc = db[c];
            for (int s = 0; s < S; s++) acc += pb[(size_t)s * cout + c];
            db[c] = acc;
        }
    }
    if (qw) { /* reduce the chunks' squared gradients in chunk order */
        float *sW = m->sq + m->tensors[l->t_w].offset;
        for (size_t j = 0; j < wn; j++) {
            float acc = sW[j];
            for (int s = 0; s < S; s++) acc += qw[(size_t)s * (wn + (size_t)cout) + j];
            sW[j] = acc;
        }
        if (l->t_b >= 0) {
            float *sb = m->sq + m->tensors[l->t_b].offset;
            for (int c = 0; c < cout; c++) {
                float acc = sb[c];
                for (int s = 0; s < S; s++) acc += qw[(size_t)s * (wn + (size_t)cout) + wn + (size_t)c];
                sb[c] = acc;
            }
        }
        free(qw);
        free(qg);
    }
}
