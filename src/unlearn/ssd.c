/* SSD, Selective Synaptic Dampening (Foster et al., AAAI 2024; if-loops/selective-synaptic-
 * dampening `ssd_tuning`): I_f = batch Fisher of D_f, I_D = batch Fisher of the full training
 * set D_r u D_f (in that order, the code's ConcatDataset), both in eval mode with batch-mean
 * gradients squared and divided by the number of batches (ul_fisher, batch estimator, batch 64,
 * no truncation, every trainable value); then ul_dampen: theta[k] *= min(lambda I_D[k] / I_f[k], 1)
 * where I_f[k] > alpha I_D[k], alpha 10, lambda 1. No training, no optimizer. Unlike the code the
 * Fisher batches see no augmentation (ul_fisher never augments).
 */
#include "unlearn/methods_internal.h"

#include <stdlib.h>

ul_status ul_unlearn_ssd(ul_ucall *c) {
    const ul_unlearn_task *t = c->t;
    const ul_unlearn_params *p = c->p;
    ul_model *m = t->model;
    const size_t P = ul_model_num_params(m);
    ul_view *full = NULL;
    float *If = ul_malloc(P, sizeof *If), *ID = ul_malloc(P, sizeof *ID);
    ul_status st = UL_OK;
    if (!If || !ID) {
        st = UL_E_NOMEM;
        goto done;
    }
    if ((st = ul_unlearn_union(t->retain, t->forget, &full)) != UL_OK) goto done;
    if ((st = ul_fisher(m, t->forget, &t->transform, &p->ssd.fisher, If)) != UL_OK) {
        ul_fail_ctx(st, "ssd: forget Fisher");
        goto done;
    }
    if ((st = ul_fisher(m, full, &t->transform, &p->ssd.fisher, ID)) != UL_OK) {
        ul_fail_ctx(st, "ssd: full-data Fisher");
        goto done;
    }
    c->res->prep_seconds = ul_now() - c->t0;
    ul_dampen_params dp = ul_dampen_defaults(p->ssd.alpha);
    dp.lambda = p->ssd.lambda;
    c->res->mask_kept = ul_dampen(ul_model_params(m), ID, If, P, &dp);
    c->res->mask_total = P;
done:
    ul_view_free(full);
    free(If);
    free(ID);
    return st;
}
