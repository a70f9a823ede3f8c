/* SFR-on (Huang et al., NeurIPS 2024) as the official code runs it (spec sfron.md decision 1, §2.1):
 * a Fisher-ratio saliency mask computed once (eval mode, squared batch-mean gradients; gamma 1), then
 * T iterations of one shared SGD-momentum optimizer, BN in train mode, lr_t cosine over T: every
 * forget_freq-th iteration a forget step minimising -alpha_t * sum_i w_i l_i (w = softmax(-lambda ln l),
 * detached; alpha_t cosine from forget_alpha), gradient masked then clipped to max_norm; then every
 * iteration a plain CE retain step (no mask, no clip); optional slow weights (beta = 1: off, as the
 * code). Not DualOptim's separate/hybrid optimizers; no periodic evaluation; no on-disk mask cache.
 */
#include "unlearn/methods_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const double PI = 3.14159265358979323846;

void ul_sfron_weights(const float *losses, size_t n, double lambda, double *w) {
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) {
        const double l = losses[i] > 0.0f ? (double)losses[i] : 0.0;
        w[i] = 1.0 / (pow(l, lambda) + 1e-15);
        sum += w[i];
    }
    for (size_t i = 0; i < n; i++) w[i] /= sum;
}

double ul_sfron_alpha(double alpha0, int64_t t, int64_t T) {
    if (T <= 0) return alpha0;
    return alpha0 * (1.0 + cos(PI * (double)t / (double)T)) / 2.0;
}

size_t ul_sfron_mask(const float *Ff, const float *Fr, size_t n, double gamma, float *mask) {
    const float eps = 1e-15f, g = (float)gamma;
    size_t kept = 0;
    for (size_t k = 0; k < n; k++) {
        const float ratio = (Ff[k] + eps) / (Fr[k] + eps);
        mask[k] = ratio >= g ? 1.0f : 0.0f;
        kept += ratio >= g;
    }
    return kept;
}

typedef struct forget_ctx {
    double alpha_t, lambda;
} forget_ctx;

/* -alpha_t * sum_i w_i l_i with w detached: d/dz_i = -alpha_t w_i (softmax(z_i) - onehot(y_i)). */
static ul_status forget_loss(void *user, ul_runner *r, size_t n, double *loss) {
    const forget_ctx *f = user;
    const size_t K = (size_t)r->K;
    float *prob = r->aux;
    ul_softmax_xent(r->logits, r->y, NULL, n, r->K, r->losses, NULL);
    ul_sfron_weights(r->losses, n, f->lambda, r->w);
    ul_softmax(r->logits, n, r->K, prob);
    double wl = 0.0;
    for (size_t i = 0; i < n; i++) {
        wl += r->w[i] * (double)r->losses[i];
        const double c = -f->alpha_t * r->w[i];
        for (size_t j = 0; j < K; j++)
            r->dl[i * K + j] = (float)(c * ((double)prob[i * K + j] - (j == (size_t)r->y[i] ? 1.0 : 0.0)));
    }
    *loss = -f->alpha_t * wl;
    return UL_OK;
}

/* The Fisher-ratio mask: F_f and F_r are means over batches of squared batch-mean gradients. */
static ul_status saliency(ul_runner *r, float *mask) {
    const ul_unlearn_task *t = r->c->t;
    const ul_unlearn_params *p = r->c->p;
    const size_t P = r->P;
    ul_status st = UL_OK;
    double *acc = ul_calloc(P, sizeof *acc);
    float *Ff = ul_malloc(P, sizeof *Ff), *Fr = ul_malloc(P, sizeof *Fr);
    if (!acc || !Ff || !Fr) {
        st = UL_E_NOMEM;
        goto done;
    }
    size_t nb = 0;
    if ((st = ul_runner_grad_pass(r, t->forget, p->forget_batch_size, ul_unlearn_subseed(t->seed, UL_SEED_MASK_F), true, acc,
                                  &nb)) != UL_OK)
        goto done;
    for (size_t k = 0; k < P; k++) Ff[k] = (float)(acc[k] / (double)nb);
    memset(acc, 0, P * sizeof *acc);
    if ((st = ul_runner_grad_pass(r, t->retain, p->batch_size, ul_unlearn_subseed(t->seed, UL_SEED_MASK_R), true, acc,
                                  &nb)) != UL_OK)
        goto done;
    for (size_t k = 0; k < P; k++) Fr[k] = (float)(acc[k] / (double)nb);
    for (size_t k = 0; k < P; k++)
        if (!isfinite(Ff[k]) || !isfinite(Fr[k])) {
            st = ul_fail(UL_E_NUMERIC, "sfron: the Fisher of parameter %zu is non-finite (forget %g, retain %g)", k,
                         (double)Ff[k], (double)Fr[k]);
            goto done;
        }
    r->c->res->mask_kept = ul_sfron_mask(Ff, Fr, P, p->sfron.gamma, mask);
    r->c->res->mask_total = P;
done:
    free(acc);
    free(Ff);
    free(Fr);
    return st;
}

ul_status ul_unlearn_sfron(ul_ucall *c) {
    const ul_unlearn_task *t = c->t;
    const ul_unlearn_params *p = c->p;
    const ul_sfron_params *sp = &p->sfron;
    ul_runner r;
    size_t cap = (size_t)(p->batch_size > p->forget_batch_size ? p->batch_size : p->forget_batch_size);
    ul_status st = ul_runner_init(&r, c, cap);
    if (st != UL_OK) return st;
    const size_t P = r.P;
    float *mask = ul_malloc(P, sizeof *mask), *prev = NULL;
    ul_batcher *bf = NULL, *br = NULL;
    if (!mask) {
        st = UL_E_NOMEM;
        goto done;
    }
    if ((st = saliency(&r, mask)) != UL_OK) goto done;
    if ((st = ul_batcher_create(t->forget, p->forget_batch_size, true, false, ul_unlearn_subseed(t->seed, UL_SEED_FORGET),
                                &t->transform, &bf)) != UL_OK)
        goto done;
    if ((st = ul_batcher_create(t->retain, p->batch_size, true, false, ul_unlearn_subseed(t->seed, UL_SEED_RETAIN),
                                &t->transform, &br)) != UL_OK)
        goto done;
    if (sp->ema_beta < 1.0) {
        if (!(prev = ul_malloc(P, sizeof *prev))) {
            st = UL_E_NOMEM;
            goto done;
        }
        memcpy(prev, ul_model_params(t->model), P * sizeof *prev);
    }
    const int64_t T = p->iters;
    int ef = 0, er = 0; /* passes started over D_f and D_r */
    ul_batcher_start_epoch(bf, 0);
    ul_batcher_start_epoch(br, 0);
    forget_ctx fc = {.lambda = sp->lambda};
    ul_ce_loss ce = {.sign = 1.0};
    ul_step sf = {.loss = forget_loss, .loss_user = &fc, .mask = mask, .clip = sp->max_norm, .train = !p->bn_eval,
                  .forget = true, .phase = "forget"};
    ul_step sr = {.loss = ul_loss_ce, .loss_user = &ce, .train = !p->bn_eval, .phase = "retain", .scale = 1.0};
    for (int64_t it = 0; it < T; it++) {
        const double lr = ul_unlearn_lr(p, it, T);
        if (it % sp->forget_freq == 0) {
            const size_t n = ul_runner_next_cycled(&r, bf, &ef);
            fc.alpha_t = ul_sfron_alpha(sp->forget_alpha, it, T);
            sf.lr = lr;
            sf.iter = it;
            sf.epoch = er;
            sf.scale = fc.alpha_t;
            if ((st = ul_runner_step(&r, n, &sf)) != UL_OK) goto done;
        }
        const size_t n = ul_runner_next_cycled(&r, br, &er);
        sr.lr = lr;
        sr.iter = it;
        sr.epoch = er;
        if ((st = ul_runner_step(&r, n, &sr)) != UL_OK) goto done;
        if (prev) {
            float *th = ul_model_params(t->model);
            const float b = (float)sp->ema_beta, a = (float)(1.0 - sp->ema_beta);
#pragma omp parallel for schedule(static) if (P >= ((size_t)1 << 15))
            for (size_t k = 0; k < P; k++) th[k] = prev[k] = a * prev[k] + b * th[k];
        }
    }
done:
    ul_batcher_free(bf);
    ul_batcher_free(br);
    free(mask);
    free(prev);
    ul_runner_free(&r);
    return st;
}
