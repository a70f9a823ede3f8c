/* ReLU, out-of-place (the input stays intact for layers that need it). The derivative at 0
 * is taken as 0, as PyTorch does. No other activations: the architectures need none.
 */
#include "nn/layer.h"

void ul_relu_forward(ul_layer *l, const float *x, size_t n) {
    const size_t total = n * l->in_n;
    float *y = l->out;
    l->in = x;
#pragma omp parallel for schedule(static) if (total >= UL_PAR_MIN)
    for (size_t i = 0; i < total; i++) y[i] = x[i] > 0.0f ? x[i] : 0.0f;
}

void ul_relu_backward(ul_layer *l, const float *dout, size_t n) {
    if (!l->need_din) return;
    const size_t total = n * l->in_n;
    const float *y = l->out;
    float *d = l->din;
#pragma omp parallel for schedule(static) if (total >= UL_PAR_MIN)
    for (size_t i = 0; i < total; i += 4096) ul_relu_mask(d + i, y + i, dout + i, total - i < 4096 ? total - i : 4096);
}
