/* 2-D convolution (PyTorch nn.Conv2d, weight [Cout, Cin, kh, kw], square kernels, stride,
 * zero padding, optional bias) by im2col + one GEMM over the whole batch: the columns of all
 * samples sit side by side in a [Cin*k*k, N*OH*OW] matrix, so OpenBLAS sees one large product.
 * The backward pass recomputes the columns instead of keeping them (memory over a cheap copy).
 * No groups, no dilation, no Winograd/FFT.
 */
#include "nn/layer.h"
#include "tensor/blas.h"

#include <omp.h>
#include <string.h>

void ul_conv_forward(ul_model *m, ul_layer *l, const float *x, size_t n) {
    const int cin = l->in_c, cout = l->out_c, k = l->k;
    const int ohw = l->out_h * l->out_w;
    const int K = cin * k * k;
    const size_t ld = n * (size_t)ohw;
    float *col = m->ws_col, *tmp = m->ws_tmp;
    const float *W = ul_tp(m, l->t_w);
    const float *b = l->t_b >= 0 ? ul_tp(m, l->t_b) : NULL;
    l->in = x;
    if (k == 1 && l->stride == 1 && l->pad == 0) {
        /* 1x1: the input of each sample already is its column matrix; gather [Cin, N*HW]. */
#pragma omp parallel for schedule(static) if (n * l->in_n >= UL_PAR_MIN)
        for (long i = 0; i < (long)n; i++)
            for (int c = 0; c < cin; c++)
                memcpy(col + (size_t)c * ld + (size_t)i * ohw, x + (size_t)i * l->in_n + (size_t)c * ohw,
                       sizeof(float) * (size_t)ohw);
    } else {
#pragma omp parallel for schedule(static) if (n * (size_t)K * ohw >= UL_PAR_MIN)
        for (long i = 0; i < (long)n; i++)
            ul_im2col(x + (size_t)i * l->in_n, cin, l->in_h, l->in_w, k, k, l->stride, l->pad, l->out_h,
                      l->out_w, col + (size_t)i * ohw, ld);
    }
    ul_sgemm(false, false, cout, (int)ld, K, 1.0f, W, K, col, (int)ld, 0.0f, tmp, (int)ld);
    float *y = l->out;
#pragma omp parallel for schedule(static) if (n * l->out_n >= UL_PAR_MIN)
    for (long i = 0; i < (long)n; i++) {
        for (int c = 0; c < cout; c++) {
            const float *src = tmp + (size_t)c * ld + (size_t)i * ohw;
            float *dst = y + (size_t)i * l->out_n + (size_t)c * ohw;
            const float bc = b ? b[c] : 0.0f;
            for (int j = 0; j < ohw; j++) dst[j] = src[j] + bc;
        }
    }
}

void ul_conv_backward(ul_model *m, ul_layer *l, const float *dout, size_t n) {
    const int cin = l->in_c, cout = l->out_c, k = l->k;
    const int ohw = l->out_h * l->out_w;
    const int K = cin * k * k;
    const size_t ld = n * (size_t)ohw;
    float *col = m->ws_col, *tmp = m->ws_tmp;
    const float *x = l->in;
    /* gather dout into [Cout, N*OHW] */
#pragma omp parallel for schedule(static) if (n * l->out_n >= UL_PAR_MIN)
    for (long i = 0; i < (long)n; i++)
        for (int c = 0; c < cout; c++)
            memcpy(tmp + (size_t)c * ld + (size_t)i * ohw, dout + (size_t)i * l->out_n + (size_t)c * ohw,
                   sizeof(float) * (size_t)ohw);
    if (l->t_b >= 0) {
        float *db = ul_tg(m, l->t_b);
#pragma omp parallel for schedule(static) if (ld * cout >= UL_PAR_MIN)
        for (int c = 0; c < cout; c++) {
            const float *r = tmp + (size_t)c * ld;
            float s = 0.0f;
            for (size_t j = 0; j < ld; j++) s += r[j];
            db[c] += s;
        }
    }
    const bool pointwise = (k == 1 && l->stride == 1 && l->pad == 0);
    if (pointwise) {
#pragma omp parallel for schedule(static) if (n * l->in_n >= UL_PAR_MIN)
        for (long i = 0; i < (long)n; i++)
            for (int c = 0; c < cin; c++)
                memcpy(col + (size_t)c * ld + (size_t)i * ohw, x + (size_t)i * l->in_n + (size_t)c * ohw,
                       sizeof(float) * (size_t)ohw);
    } else {
#pragma omp parallel for schedule(static) if (n * (size_t)K * ohw >= UL_PAR_MIN)
        for (long i = 0; i < (long)n; i++)
            ul_im2col(x + (size_t)i * l->in_n, cin, l->in_h, l->in_w, k, k, l->stride, l->pad, l->out_h,
                      l->out_w, col + (size_t)i * ohw, ld);
    }
    /* dW[Cout, K] += tmp[Cout, ld] col^T[ld, K] */
    ul_sgemm(false, true, cout, K, (int)ld, 1.0f, tmp, (int)ld, col, (int)ld, 1.0f, ul_tg(m, l->t_w), K);
    if (!l->need_din) return;
    /* dcol[K, ld] = W^T[K, Cout] tmp[Cout, ld], reusing the column buffer */
    ul_sgemm(true, false, K, (int)ld, cout, 1.0f, ul_tp(m, l->t_w), K, tmp, (int)ld, 0.0f, col, (int)ld);
    float *dx = l->din;
#pragma omp parallel for schedule(static) if (n * (size_t)K * ohw >= UL_PAR_MIN)
    for (long i = 0; i < (long)n; i++) {
        float *d = dx + (size_t)i * l->in_n;
        if (pointwise) {
            for (int c = 0; c < cin; c++)
                memcpy(d + (size_t)c * ohw, col + (size_t)c * ld + (size_t)i * ohw, sizeof(float) * (size_t)ohw);
        } else {
            memset(d, 0, sizeof(float) * l->in_n);
            ul_col2im(col + (size_t)i * ohw, ld, cin, l->in_h, l->in_w, k, k, l->stride, l->pad, l->out_h,
                      l->out_w, d);
        }
    }
}
