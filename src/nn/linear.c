/* Linear layer y = x W^T + b (PyTorch nn.Linear layout: W is [out, in]), optionally with a fused
 * ReLU. Forward and the input gradient split the batch into chunks of at least UL_LIN_MIN rows;
 * the weight gradient splits the output rows into slabs of at least UL_LIN_MIN rows, each a
 * disjoint part of dW over the whole batch, so no reduction is needed. The counts depend on the
 * shapes only (not on the thread count), so neither does the result. Chunks are kept large because
 * every GEMM call packs the shared operand (W, or x for dW) again: with 8 chunks of 16 samples the
 * packing cost about a fifth of an MLP's training step.
 */
#include "nn/layer.h"
#include "tensor/blas.h"

#include <stdlib.h>

#define UL_LIN_MIN 64
/* Pieces of at least UL_LIN_MIN rows out of `rows`, between 1 and UL_CHUNKS. */
static int lin_pieces(size_t rows) {
    const size_t p = rows / UL_LIN_MIN;
    return p < 1 ? 1 : p > UL_CHUNKS ? UL_CHUNKS : (int)p;
}

void ul_linear_forward(ul_model *m, ul_layer *l, const float *x, size_t n) {
    const int in = (int)l->in_n, out = (int)l->out_n;
    const float *W = ul_tp(m, l->t_w);
    const float *b = l->t_b >= 0 ? ul_tp(m, l->t_b) : NULL;
    const int S = lin_pieces(n);
    l->in = x;
#pragma omp parallel for schedule(static) if (n * (size_t)in * out >= 8 * (size_t)UL_PAR_MIN)
    for (int s = 0; s < S; s++) {
        const size_t i0 = ul_chunk_lo(n, S, s), i1 = ul_chunk_lo(n, S, s + 1);
        float *y = l->out + i0 * (size_t)out;
        if (b)
            for (size_t i = i0; i < i1; i++)
                for (int j = 0; j < out; j++) y[(i - i0) * out + j] = b[j];
        ul_sgemm(false, true, (int)(i1 - i0), out, in, 1.0f, x + i0 * (size_t)in, in, W, in, b ? 1.0f : 0.0f, y, out);
        if (l->relu)
            for (size_t k = 0; k < (i1 - i0) * (size_t)out; k++) y[k] = y[k] > 0.0f ? y[k] : 0.0f;
    }
}

void ul_linear_backward(ul_model *m, ul_layer *l, const float *dout, size_t n) {
    const int in = (int)l->in_n, out = (int)l->out_n;
    const bool big = n * (size_t)in * out >= 8 * (size_t)UL_PAR_MIN;
    if (l->relu) { /* gradient w.r.t. the pre-activation, in the layer's scratch slot */
        ul_relu_mask(l->xhat, l->out, dout, n * (size_t)out);
        dout = l->xhat;
    }
    float *dW = ul_tg(m, l->t_w);
    float *db = l->t_b >= 0 ? ul_tg(m, l->t_b) : NULL;
    const int R = lin_pieces((size_t)out);
    if (m->sq) { /* per-sample squares: g_i = dout_i x_i^T, so sum_i g_i^2 = (dout o dout)^T (x o x) */
        float *d2 = ul_malloc(n * (size_t)out, sizeof(float)), *x2 = ul_malloc(n * (size_t)in, sizeof(float));
        if (d2 && x2) {
            for (size_t k = 0; k < n * (size_t)out; k++) d2[k] = dout[k] * dout[k];
            for (size_t k = 0; k < n * (size_t)in; k++) x2[k] = l->in[k] * l->in[k];
            float *sW = m->sq + m->tensors[l->t_w].offset;
            float *sb = l->t_b >= 0 ? m->sq + m->tensors[l->t_b].offset : NULL;
#pragma omp parallel for schedule(static) if (big)
            for (int r = 0; r < R; r++) {
                const int o0 = (int)ul_chunk_lo((size_t)out, R, r), o1 = (int)ul_chunk_lo((size_t)out, R, r + 1);
                ul_sgemm(true, false, o1 - o0, in, (int)n, 1.0f, d2 + o0, out, x2, in, 1.0f, sW + (size_t)o0 * in, in);
                if (sb)
                    for (int j = o0; j < o1; j++) {
                        float acc = 0.0f;
                        for (size_t i = 0; i < n; i++) acc += d2[i * out + j];
                        sb[j] += acc;
                    }
            }
        } else {
            m->sq_failed = true;
        }
        free(d2);
        free(x2);
    }
#pragma omp parallel for schedule(static) if (big)
    for (int r = 0; r < R; r++) {
        const int o0 = (int)ul_chunk_lo((size_t)out, R, r), o1 = (int)ul_chunk_lo((size_t)out, R, r + 1);
        /* dW[o0:o1, :] += dout[:, o0:o1]^T x */
        ul_sgemm(true, false, o1 - o0, in, (int)n, 1.0f, dout + o0, out, l->in, in, 1.0f, dW + (size_t)o0 * in, in);
        if (db)
            for (int j = o0; j < o1; j++) {
                float acc = 0.0f;
                for (size_t i = 0; i < n; i++) acc += dout[i * out + j];
                db[j] += acc;
            }
    }
    if (!l->need_din) return;
    const int S = lin_pieces(n);
    const float *W = ul_tp(m, l->t_w);
#pragma omp parallel for schedule(static) if (big)
    for (int s = 0; s < S; s++) {
        const size_t i0 = ul_chunk_lo(n, S, s), i1 = ul_chunk_lo(n, S, s + 1);
        ul_sgemm(false, false, (int)(i1 - i0), in, out, 1.0f, dout + i0 * (size_t)out, out, W, in, 0.0f,
                 l->din + i0 * (size_t)in, in);
    }
}
