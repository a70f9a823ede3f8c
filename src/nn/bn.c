/* BatchNorm2d as PyTorch: train mode normalises with the batch mean and biased variance and
 * updates running_mean/running_var (unbiased variance) with momentum 0.1 and increments
 * num_batches_tracked; eval mode uses the running statistics. Per-channel sums are taken in
 * double, one channel per thread, so results do not depend on the thread count.
 * A ReLU may be fused on the output. Backward works after either mode (eval mode treats the statistics as constants).
 * The normalised input is not stored: backward recomputes it from the input (which the previous
 * layer keeps) with the same float operations, saving one activation-sized write and buffer.
 * No sync-BN, no cumulative-average momentum (momentum=None).
 */
#include "nn/layer.h"

#include <math.h>

/* Channel c of every sample: xhat = (x - mu) * is, y = gamma * xhat + beta (ReLU if fused).
 * Records mu and is for the backward pass. */
static void bn_normalize(ul_layer *l, const float *x, size_t n, int c, float mu, float is, float g, float b) {
    const size_t hw = (size_t)l->in_h * l->in_w;
    const bool relu = l->relu;
    l->invstd[c] = is;
    l->invstd[l->in_c + c] = mu;
    for (size_t i = 0; i < n; i++) {
        const size_t off = i * l->in_n + (size_t)c * hw;
        const float *restrict src = x + off;
        float *restrict dst = l->out + off;
        for (size_t j = 0; j < hw; j++) {
            const float t = (src[j] - mu) * is;
            const float o = t * g + b;
            dst[j] = (relu && !(o > 0.0f)) ? 0.0f : o;
        }
    }
}

void ul_bn_forward(ul_model *m, ul_layer *l, const float *x, size_t n, bool train) {
    const int C = l->in_c;
    const size_t hw = (size_t)l->in_h * l->in_w;
    const float *gamma = ul_tp(m, l->t_w), *beta = ul_tp(m, l->t_b);
    float *rm = ul_tp(m, l->t_rm), *rv = ul_tp(m, l->t_rv);
    l->in = x;
    if (!train) {
#pragma omp parallel for schedule(static) if (n * l->in_n >= UL_PAR_MIN)
        for (int c = 0; c < C; c++) {
            const float is = (float)(1.0 / sqrt((double)rv[c] + l->eps));
            bn_normalize(l, x, n, c, rm[c], is, gamma[c], beta[c]);
        }
        return;
    }
    const double M = (double)n * (double)hw;
#pragma omp parallel for schedule(static) if (n * l->in_n >= UL_PAR_MIN)
    for (int c = 0; c < C; c++) {
        double s = 0.0;
        for (size_t i = 0; i < n; i++) {
            const float *src = x + i * l->in_n + (size_t)c * hw;
            for (size_t j = 0; j < hw; j++) s += src[j];
        }
        const double mean = s / M;
        double v = 0.0;
        for (size_t i = 0; i < n; i++) {
            const float *src = x + i * l->in_n + (size_t)c * hw;
            for (size_t j = 0; j < hw; j++) {
                double d = src[j] - mean;
                v += d * d;
            }
        }
        const double var = v / M;
        const float is = (float)(1.0 / sqrt(var + l->eps));
        bn_normalize(l, x, n, c, (float)mean, is, gamma[c], beta[c]);
        const double unbiased = M > 1.0 ? v / (M - 1.0) : var;
        rm[c] = (float)((1.0 - l->momentum) * rm[c] + l->momentum * mean);
        rv[c] = (float)((1.0 - l->momentum) * rv[c] + l->momentum * unbiased);
    }
    ul_tp(m, l->t_nbt)[0] += 1.0f;
}

void ul_bn_backward(ul_model *m, ul_layer *l, const float *dout, size_t n) {
    const int C = l->in_c;
    const size_t hw = (size_t)l->in_h * l->in_w;
    const float *gamma = ul_tp(m, l->t_w);
    float *dg = ul_tg(m, l->t_w), *dbeta = ul_tg(m, l->t_b);
    const double M = (double)n * (double)hw;
    const bool relu = l->relu;
#pragma omp parallel for schedule(static) if (n * l->in_n >= UL_PAR_MIN)
    for (int c = 0; c < C; c++) {
        const float is = l->invstd[c], mu = l->invstd[C + c]; /* xhat = (x - mu) * is, as in the forward */
        double sdy = 0.0, sdyx = 0.0;
        for (size_t i = 0; i < n; i++) {
            const float *g = dout + i * l->in_n + (size_t)c * hw;
            const float *x = l->in + i * l->in_n + (size_t)c * hw;
            const float *y = l->out + i * l->in_n + (size_t)c * hw;
            for (size_t j = 0; j < hw; j++) {
                const float gv = g[j];
                const float gj = (relu && !(y[j] > 0.0f)) ? 0.0f : gv;
                sdy += gj;
                sdyx += (double)gj * ((x[j] - mu) * is);
            }
        }
        dg[c] += (float)sdyx;
        dbeta[c] += (float)sdy;
        if (m->sq) { /* eval mode: each sample's gamma/beta gradient is its own channel sum */
            double qg = 0.0, qb = 0.0;
            for (size_t i = 0; i < n; i++) {
                const float *g = dout + i * l->in_n + (size_t)c * hw;
                const float *x = l->in + i * l->in_n + (size_t)c * hw;
                const float *y = l->out + i * l->in_n + (size_t)c * hw;
                double a = 0.0, b = 0.0;
                for (size_t j = 0; j < hw; j++) {
                    const float gv = g[j];
                    const float gj = (relu && !(y[j] > 0.0f)) ? 0.0f : gv;
                    a += (double)gj * ((x[j] - mu) * is);
                    b += gj;
                }
                qg += a * a;
                qb += b * b;
            }
            m->sq[m->tensors[l->t_w].offset + (size_t)c] += (float)qg;
            m->sq[m->tensors[l->t_b].offset + (size_t)c] += (float)qb;
        }
        if (!l->need_din) continue;
        const float k = gamma[c] * l->invstd[c];
        if (!m->train_mode) { /* eval-mode statistics are constants: dx = dy * gamma * invstd */
            for (size_t i = 0; i < n; i++) {
                const float *g = dout + i * l->in_n + (size_t)c * hw;
                const float *y = l->out + i * l->in_n + (size_t)c * hw;
                float *d = l->din + i * l->in_n + (size_t)c * hw;
                for (size_t j = 0; j < hw; j++) {
                    const float v = k * g[j];
                    d[j] = (relu && !(y[j] > 0.0f)) ? 0.0f : v;
                }
            }
            continue;
        }
        const float mdy = (float)(sdy / M), mdyx = (float)(sdyx / M);
        for (size_t i = 0; i < n; i++) {
            const float *g = dout + i * l->in_n + (size_t)c * hw;
            const float *x = l->in + i * l->in_n + (size_t)c * hw;
            const float *y = l->out + i * l->in_n + (size_t)c * hw;
            float *d = l->din + i * l->in_n + (size_t)c * hw;
            for (size_t j = 0; j < hw; j++) {
                const float gv = g[j];
                const float gj = (relu && !(y[j] > 0.0f)) ? 0.0f : gv;
                d[j] = k * (gj - mdy - ((x[j] - mu) * is) * mdyx);
            }
        }
    }
}
