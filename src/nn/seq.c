/* Running sequences of layers forwards and backwards, and the residual basic block
 * (He et al. 2016, "option B" projection shortcut: 1x1 conv + BN when the shape changes):
 * out = relu(main(x) + shortcut(x)). The block's gradient buffer for the pre-activation sum
 * reuses its xhat slot, which blocks do not otherwise use.
 */
#include "nn/layer.h"

static void block_forward(ul_model *m, ul_layer *l, const float *x, size_t n, bool train) {
    const float *a = ul_seq_forward(m, l->main, x, n, train);
    const float *b = l->shortcut->n ? ul_seq_forward(m, l->shortcut, x, n, train) : x;
    const size_t total = n * l->out_n;
    float *y = l->out;
    l->in = x;
#pragma omp parallel for schedule(static) if (total >= UL_PAR_MIN)
    for (size_t i = 0; i < total; i++) {
        float v = a[i] + b[i];
        y[i] = v > 0.0f ? v : 0.0f;
    }
}

static void block_backward(ul_model *m, ul_layer *l, const float *dout, size_t n) {
    const size_t total = n * l->out_n;
    float *ds = l->xhat;
    const float *y = l->out;
#pragma omp parallel for schedule(static) if (total >= UL_PAR_MIN)
    for (size_t i = 0; i < total; i += 4096) ul_relu_mask(ds + i, y + i, dout + i, total - i < 4096 ? total - i : 4096);
    const float *da = ul_seq_backward(m, l->main, ds, n);
    const float *db = l->shortcut->n ? ul_seq_backward(m, l->shortcut, ds, n) : ds;
    if (!l->need_din) return;
    const size_t tin = n * l->in_n;
    float *d = l->din;
#pragma omp parallel for schedule(static) if (tin >= UL_PAR_MIN)
    for (size_t i = 0; i < tin; i++) d[i] = da[i] + db[i];
}

const float *ul_seq_forward(ul_model *m, ul_seq *s, const float *x, size_t n, bool train) {
    const float *cur = x;
    for (int i = 0; i < s->n; i++) {
        ul_layer *l = &s->l[i];
        switch (l->type) {
        case UL_L_LINEAR: ul_linear_forward(m, l, cur, n); break;
        case UL_L_CONV: ul_conv_forward(m, l, cur, n); break;
        case UL_L_MAXPOOL: ul_maxpool_forward(l, cur, n); break;
        case UL_L_AVGPOOL: ul_avgpool_forward(l, cur, n); break;
        case UL_L_RELU: ul_relu_forward(l, cur, n); break;
        case UL_L_BN: ul_bn_forward(m, l, cur, n, train); break;
        case UL_L_BLOCK: block_forward(m, l, cur, n, train); break;
        }
        cur = l->out;
    }
    return cur;
}

const float *ul_seq_backward(ul_model *m, ul_seq *s, const float *dout, size_t n) {
    const float *g = dout;
    for (int i = s->n - 1; i >= 0; i--) {
        ul_layer *l = &s->l[i];
        switch (l->type) {
        case UL_L_LINEAR: ul_linear_backward(m, l, g, n); break;
        case UL_L_CONV: ul_conv_backward(m, l, g, n); break;
        case UL_L_MAXPOOL: ul_maxpool_backward(l, g, n); break;
        case UL_L_AVGPOOL: ul_avgpool_backward(l, g, n); break;
        case UL_L_RELU: ul_relu_backward(l, g, n); break;
        case UL_L_BN: ul_bn_backward(m, l, g, n); break;
        case UL_L_BLOCK: block_backward(m, l, g, n); break;
        }
        if (!l->need_din) return NULL;
        g = l->din;
    }
    return g;
}
