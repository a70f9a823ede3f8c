/* Linear layer y = x W^T + b (PyTorch nn.Linear layout: W is [out, in]).
 * Forward and backward are one GEMM each through OpenBLAS; the bias gradient is a per-column
 * sum in fixed order so it is bit-identical for any thread count. No fused activation here.
 */
#include "nn/layer.h"
#include "tensor/blas.h"

void ul_linear_forward(ul_model *m, ul_layer *l, const float *x, size_t n) {
    const int in = (int)l->in_n, out = (int)l->out_n;
    const float *W = ul_tp(m, l->t_w);
    const float *b = l->t_b >= 0 ? ul_tp(m, l->t_b) : NULL;
    float *y = l->out;
    if (b) {
        for (size_t i = 0; i < n; i++)
            for (int j = 0; j < out; j++) y[i * out + j] = b[j];
    }
    ul_sgemm(false, true, (int)n, out, in, 1.0f, x, in, W, in, b ? 1.0f : 0.0f, y, out);
    l->in = x;
}

void ul_linear_backward(ul_model *m, ul_layer *l, const float *dout, size_t n) {
    const int in = (int)l->in_n, out = (int)l->out_n;
    /* dW[out,in] += dout^T[out,n] x[n,in] */
    ul_sgemm(true, false, out, in, (int)n, 1.0f, dout, out, l->in, in, 1.0f, ul_tg(m, l->t_w), in);
    if (l->t_b >= 0) {
        float *db = ul_tg(m, l->t_b);
        for (int j = 0; j < out; j++) {
            float s = 0.0f;
            for (size_t i = 0; i < n; i++) s += dout[i * out + j];
            db[j] += s;
        }
    }
    if (l->need_din) ul_sgemm(false, false, (int)n, in, out, 1.0f, dout, out, ul_tp(m, l->t_w), in, 0.0f, l->din, in);
}
