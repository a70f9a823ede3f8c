/* SalUn (Fan et al., ICLR 2024) as the official SFR-on code runs it (spec sfron.md §6.1): a
 * saliency mask computed once, before training, from G = |sum over forget batches of the
 * batch-mean CE gradient| (eval mode, forget loader with augmentation, shuffled); mask = 1 on the
 * floor(ratio * P) largest entries over all trainable values (BN and biases included; ties go to
 * the lower index), ratio 0.2; then RL (rl.c) with the gradient multiplied by the mask before
 * each SGD step, so weight decay and momentum still move masked values (lr 0.007). Not the 2026
 * SalUn HEAD's reset of masked weights to theta_o.
 */
#include "unlearn/methods_internal.h"

#include <math.h>
#include <stdlib.h>

ul_status ul_unlearn_salun(ul_ucall *c) {
    const ul_unlearn_params *p = c->p;
    ul_runner r;
    size_t cap = (size_t)(p->batch_size > p->forget_batch_size ? p->batch_size : p->forget_batch_size);
    ul_status st = ul_runner_init(&r, c, cap);
    if (st != UL_OK) return st;
    const size_t P = r.P;
    double *acc = ul_calloc(P, sizeof *acc);
    float *score = ul_malloc(P, sizeof *score), *mask = ul_malloc(P, sizeof *mask);
    if (!acc || !score || !mask) {
        st = UL_E_NOMEM;
        goto done;
    }
    size_t nb = 0;
    st = ul_runner_grad_pass(&r, c->t->forget, p->forget_batch_size, ul_unlearn_subseed(c->t->seed, UL_SEED_MASK_F), false,
                             acc, &nb);
    if (st != UL_OK) goto done;
    for (size_t k = 0; k < P; k++) {
        score[k] = (float)fabs(acc[k]);
        if (!isfinite(score[k])) {
            st = ul_fail(UL_E_NUMERIC, "salun: the saliency of parameter %zu is non-finite", k);
            goto done;
        }
    }
    free(acc);
    acc = NULL;
    c->res->mask_kept = ul_unlearn_topk_mask(score, P, p->salun.ratio, mask);
    c->res->mask_total = P;
    free(score);
    score = NULL;
    st = ul_unlearn_rl_run(&r, mask);
done:
    free(acc);
    free(score);
    free(mask);
    ul_runner_free(&r);
    return st;
}
