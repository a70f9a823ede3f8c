/* RL (random labels): once, before training, each forget sample gets a label drawn uniformly from
 * the classes other than its own (the official SFR-on code's `RandomLabel`, Python random.choice;
 * here the stream UL_SEED_LABELS); then CE on D_f u D_r shuffled together (spec sfron.md §6.1:
 * SGD lr 0.003, momentum 0.9, wd 5e-4, 10 epochs, cosine stepped per epoch, train mode). Not the
 * SalUn/Sparse CIFAR-10 variant that redraws labels per batch (true label allowed) and passes
 * D_f then D_r in sequence. salun.c reuses ul_unlearn_rl_run with a gradient mask.
 */
#include "unlearn/methods_internal.h"

#include <stdlib.h>

ul_status ul_unlearn_rl_run(ul_runner *r, const float *mask) {
    const ul_unlearn_task *t = r->c->t;
    ul_view *both = NULL;
    ul_status st = ul_unlearn_union(t->forget, t->retain, &both); /* forget samples at positions [0, nf) */
    if (st != UL_OK) return st;
    const size_t nf = t->forget->n;
    int32_t *relabel = ul_malloc(nf, sizeof *relabel);
    if (!relabel) {
        ul_view_free(both);
        return UL_E_NOMEM;
    }
    ul_rng g;
    ul_rng_seed(&g, ul_unlearn_subseed(t->seed, UL_SEED_LABELS));
    const int32_t *labels = ul_dataset_labels(t->forget->ds);
    for (size_t i = 0; i < nf; i++) {
        const int32_t y = labels[t->forget->idx[i]];
        const int32_t o = (int32_t)ul_rng_below(&g, (uint64_t)(t->classes - 1));
        relabel[i] = o < y ? o : o + 1;
    }
    ul_ce_run run = {.view = both, .batch_size = r->c->p->batch_size,
                     .ce = {.relabel = relabel, .nrelabel = nf, .sign = 1.0}, .mask = mask, .phase = "mixed"};
    st = ul_unlearn_ce_epochs(r, &run);
    free(relabel);
    ul_view_free(both);
    return st;
}

ul_status ul_unlearn_rl(ul_ucall *c) {
    ul_runner r;
    ul_status st = ul_runner_init(&r, c, (size_t)c->p->batch_size);
    if (st != UL_OK) return st;
    st = ul_unlearn_rl_run(&r, NULL);
    ul_runner_free(&r);
    return st;
}
