/* SCRUB (Kurmanji et al., NeurIPS 2023) as the official SFR-on code runs it (spec sfron.md §6.1):
 * teacher = frozen original (eval mode), student = the model (train mode), one shared optimizer.
 * Epoch e = 0..E-1, learning rate cosine per epoch: if e < msteps, one max pass over D_f
 * minimising -KL_T; then one min pass over D_r minimising gamma * CE + alpha * KL_T, where
 * KL_T = T^2 * sum_i KL(softmax(t_i/T) || softmax(s_i/T)) / B (DistillKL), T = 4, gamma 0.99,
 * alpha 0.001. Defaults: the code's CIFAR-10 block (SGD lr 8e-5, 6 epochs, msteps 2); the
 * inert parts (smoothing 0, beta 0, SWA from epoch 10) are left out.
 */
#include "unlearn/methods_internal.h"

#include <string.h>

typedef struct scrub_ctx {
    ul_model *teacher;
    double T, gamma, alpha;
} scrub_ctx;

static ul_status teacher_logits(scrub_ctx *s, ul_runner *r, size_t n, float **out) {
    *out = r->aux;
    return ul_model_forward(s->teacher, r->x, n, false, r->aux);
}

static ul_status scrub_max(void *user, ul_runner *r, size_t n, double *loss) {
    scrub_ctx *s = user;
    float *tl;
    ul_status st = teacher_logits(s, r, n, &tl);
    if (st != UL_OK) return st;
    memset(r->dl, 0, n * (size_t)r->K * sizeof(float));
    *loss = ul_unlearn_kl(tl, r->logits, n, r->K, s->T, -s->T * s->T / (double)n, r->dl);
    return UL_OK;
}

static ul_status scrub_min(void *user, ul_runner *r, size_t n, double *loss) {
    scrub_ctx *s = user;
    float *tl;
    ul_status st = teacher_logits(s, r, n, &tl);
    if (st != UL_OK) return st;
    const double ce = ul_softmax_xent(r->logits, r->y, NULL, n, r->K, NULL, r->dl);
    const float g = (float)s->gamma;
    for (size_t k = 0; k < n * (size_t)r->K; k++) r->dl[k] *= g;
    const double kl = ul_unlearn_kl(tl, r->logits, n, r->K, s->T, s->alpha * s->T * s->T / (double)n, r->dl);
    *loss = s->gamma * ce + kl;
    return UL_OK;
}

ul_status ul_unlearn_scrub(ul_ucall *c) {
    const ul_unlearn_task *t = c->t;
    const ul_unlearn_params *p = c->p;
    ul_runner r;
    size_t cap = (size_t)(p->batch_size > p->forget_batch_size ? p->batch_size : p->forget_batch_size);
    ul_status st = ul_runner_init(&r, c, cap);
    if (st != UL_OK) return st;
    scrub_ctx s = {.T = p->scrub.temperature, .gamma = p->scrub.gamma, .alpha = p->scrub.alpha};
    ul_batcher *bf = NULL, *br = NULL;
    if ((st = ul_model_clone(t->model, &s.teacher)) != UL_OK) goto done;
    if ((st = ul_batcher_create(t->forget, p->forget_batch_size, true, false, ul_unlearn_subseed(t->seed, UL_SEED_FORGET),
                                &t->transform, &bf)) != UL_OK)
        goto done;
    if ((st = ul_batcher_create(t->retain, p->batch_size, true, false, ul_unlearn_subseed(t->seed, UL_SEED_RETAIN),
                                &t->transform, &br)) != UL_OK)
        goto done;
    ul_step smax = {.loss = scrub_max, .loss_user = &s, .clip = p->clip_norm, .train = !p->bn_eval, .forget = true,
                    .phase = "forget", .scale = 1.0};
    ul_step smin = {.loss = scrub_min, .loss_user = &s, .clip = p->clip_norm, .train = !p->bn_eval, .phase = "retain",
                    .scale = 1.0};
    for (int e = 0; e < p->epochs && st == UL_OK; e++) {
        const double lr = ul_unlearn_lr(p, e, p->epochs);
        if (e < p->scrub.msteps) {
            smax.epoch = e;
            smax.lr = lr;
            if ((st = ul_runner_epoch(&r, bf, e, &smax)) != UL_OK) break;
        }
        smin.epoch = e;
        smin.lr = lr;
        smin.iter = smax.iter;
        st = ul_runner_epoch(&r, br, e, &smin);
        smax.iter = smin.iter;
    }
done:
    ul_batcher_free(bf);
    ul_batcher_free(br);
    ul_model_free(s.teacher);
    ul_runner_free(&r);
    return st;
}
