/* The reference code's parallel gradient-ascent transfer baseline (`ga` in util.py of the FIUn
 * repository, fiun.md §5): at a root, G1 = gradient of the mean cross-entropy on one shuffled
 * batch of its own data at the original weights; then plain SGD (lr 8) on -CE over shuffled
 * batches of its own forget samples, one pass, stopping as soon as the root's accuracy on those
 * samples falls below 20 %; G2 = the gradient of the last step (of -CE). Every descendant then
 * gets theta += 2 * (G1 - G2), in one shot. Like the reference, the ascent runs in training mode
 * (batch statistics, running statistics updated). It is a baseline, not a recommendation.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "net/rederive.h"
#include "unlearn/train.h"

ul_ga_params ul_ga_defaults(void) {
    return (ul_ga_params){.lr = 8.0, .batch_size = 64, .stop_acc = 20.0, .scale = 2.0};
}

/* Gradient of the mean (sign * CE) on one batch, left in ul_model_grads(m). */
static ul_status batch_grad(ul_model *m, const float *x, const int32_t *y, size_t n, int K, float sign, float *logits,
                            float *dl) {
    ul_status st = ul_model_forward(m, x, n, true, logits);
    if (st != UL_OK) return st;
    double loss = ul_softmax_xent(logits, y, NULL, n, K, NULL, dl);
    if (!isfinite(loss)) return ul_fail(UL_E_NUMERIC, "gradient ascent: the loss is not finite");
    if (sign != 1.0f)
        for (size_t k = 0; k < n * (size_t)K; k++) dl[k] *= sign;
    ul_model_zero_grad(m);
    return ul_model_backward(m, dl);
}

static ul_status forget_acc(ul_model *m, const ul_view *fv, const ul_transform *tf, double *acc) {
    ul_eval_result r;
    ul_status st = ul_evaluate(m, fv, tf, 256, &r);
    if (st != UL_OK) return st;
    *acc = r.n ? 100.0 * (double)r.correct / (double)r.n : 0.0;
    ul_eval_result_free(&r);
    return UL_OK;
}

ul_status ul_net_ga_root(ul_model *m, const ul_view *own, const ul_view *fv, const ul_transform *tf, uint64_t seed,
                         const ul_ga_params *gp, float *delta, int *steps, double *acc_after) {
    const ul_arch_params ap = ul_model_arch(m);
    const int K = ap.classes;
    const size_t P = ul_model_num_params(m);
    const size_t bs = (size_t)gp->batch_size;
    const size_t in = (size_t)ap.in_c * ap.in_h * ap.in_w;
    *steps = 0;
    *acc_after = -1.0;
    if (own->n == 0 || fv->n == 0) return ul_fail(UL_E_ARG, "gradient ascent: empty data or forget set");
    ul_transform t = tf ? *tf : (ul_transform){0};
    t.crop_pad = 0;
    t.hflip = false;
    ul_status st = UL_OK;
    ul_batcher *b = NULL;
    float *x = ul_alloc_aligned(bs * in, sizeof(float));
    float *logits = ul_malloc(bs * (size_t)K, sizeof(float)), *dl = ul_malloc(bs * (size_t)K, sizeof(float));
    int32_t *y = ul_malloc(bs, sizeof(int32_t));
    float *g1 = ul_malloc(P, sizeof(float));
    if (!x || !logits || !dl || !y || !g1) { st = UL_E_NOMEM; goto done; }
    /* G1: one batch of the root's own data, original weights */
    if ((st = ul_batcher_create(own, (int)bs, true, false, seed, &t, &b)) != UL_OK) goto done;
    ul_batcher_start_epoch(b, 0);
    size_t n = ul_batcher_next(b, x, y, NULL);
    if ((st = batch_grad(m, x, y, n, K, 1.0f, logits, dl)) != UL_OK) goto done;
    memcpy(g1, ul_model_grads(m), sizeof(float) * P);
    ul_batcher_free(b);
    b = NULL;
    /* ascent over the forget samples, one pass, until accuracy < stop_acc */
    if ((st = ul_batcher_create(fv, (int)bs, true, false, seed ^ 0x9e3779b97f4a7c15ULL, &t, &b)) != UL_OK) goto done;
    ul_batcher_start_epoch(b, 0);
    float *th = ul_model_params(m);
    while ((n = ul_batcher_next(b, x, y, NULL)) > 0) {
        if ((st = batch_grad(m, x, y, n, K, -1.0f, logits, dl)) != UL_OK) goto done;
        const float *g = ul_model_grads(m);
        for (size_t k = 0; k < P; k++) th[k] -= (float)gp->lr * g[k];
        (*steps)++;
        if ((st = forget_acc(m, fv, &t, acc_after)) != UL_OK) goto done;
        if (*acc_after < gp->stop_acc) break;
    }
    const float *g2 = ul_model_grads(m);
    for (size_t k = 0; k < P; k++) delta[k] = (float)gp->scale * (g1[k] - g2[k]);
    for (size_t k = 0; k < P; k++)
        if (!isfinite(th[k]) || !isfinite(delta[k])) {
            st = ul_fail(UL_E_NUMERIC, "gradient ascent diverged: parameter %zu is not finite after %d steps", k, *steps);
            break;
        }
done:
    ul_model_zero_grad(m);
    ul_batcher_free(b);
    free(x);
    free(logits);
    free(dl);
    free(y);
    free(g1);
    return st;
}
