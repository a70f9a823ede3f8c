/* Bad Teacher (Chundawat et al., AAAI 2023) as the official SFR-on code runs it (spec sfron.md
 * §6.1): the student (the model) trains on D_f u D_r (all of D_r) to minimise KL(q || student) at
 * temperature T = 1 with PyTorch kl_div's 'mean' reduction (divided by B*C, no T^2 factor), where
 * q = softmax(incompetent / T) for forget samples and softmax(competent / T) for retain samples.
 * Competent teacher: a frozen copy of the original model; incompetent: a fresh random
 * initialisation from the seed (stream UL_SEED_INIT). Teachers run in eval mode, the student in
 * train mode; SGD lr 0.02, 10 epochs, cosine per epoch. Not the original paper's 30 % retain subset.
 */
#include "unlearn/methods_internal.h"

#include <string.h>

typedef struct bt_ctx {
    ul_model *good, *bad;
    size_t nf;
    double T;
} bt_ctx;

static ul_status bt_loss(void *user, ul_runner *r, size_t n, double *loss) {
    bt_ctx *b = user;
    const size_t K = (size_t)r->K;
    float *tg = r->aux, *tb = r->aux + r->cap * K;
    ul_status st = ul_model_forward(b->good, r->x, n, false, tg);
    if (st == UL_OK) st = ul_model_forward(b->bad, r->x, n, false, tb);
    if (st != UL_OK) return st;
    for (size_t i = 0; i < n; i++) /* per-sample teacher: the incompetent one for forget samples */
        if (r->pos[i] < b->nf) memcpy(tg + i * K, tb + i * K, K * sizeof(float));
    memset(r->dl, 0, n * K * sizeof(float));
    *loss = ul_unlearn_kl(tg, r->logits, n, r->K, b->T, 1.0 / ((double)n * (double)K), r->dl);
    return UL_OK;
}

ul_status ul_unlearn_badteacher(ul_ucall *c) {
    const ul_unlearn_task *t = c->t;
    ul_runner r;
    ul_status st = ul_runner_init(&r, c, (size_t)c->p->batch_size);
    if (st != UL_OK) return st;
    ul_view *both = NULL;
    bt_ctx b = {.nf = t->forget->n, .T = c->p->badteacher.temperature};
    const ul_arch_params ap = ul_model_arch(t->model);
    if ((st = ul_model_clone(t->model, &b.good)) != UL_OK) goto done;
    if ((st = ul_model_create(ul_model_spec(t->model), &ap, ul_unlearn_subseed(t->seed, UL_SEED_INIT), &b.bad)) != UL_OK)
        goto done;
    if ((st = ul_unlearn_union(t->forget, t->retain, &both)) != UL_OK) goto done;
    {
        const ul_unlearn_params *p = c->p;
        ul_batcher *bt = NULL;
        if ((st = ul_batcher_create(both, p->batch_size, true, false, ul_unlearn_subseed(t->seed, UL_SEED_DATA), &t->transform,
                                    &bt)) != UL_OK)
            goto done;
        ul_step s = {.loss = bt_loss, .loss_user = &b, .clip = p->clip_norm, .train = !p->bn_eval, .phase = "mixed",
                     .scale = 1.0};
        for (int e = 0; e < p->epochs && st == UL_OK; e++) {
            s.epoch = e;
            s.lr = ul_unlearn_lr(p, e, p->epochs);
            st = ul_runner_epoch(&r, bt, e, &s);
        }
        ul_batcher_free(bt);
    }
done:
    ul_view_free(both);
    ul_model_free(b.good);
    ul_model_free(b.bad);
    ul_runner_free(&r);
    return st;
}
