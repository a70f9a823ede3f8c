/* l1-sparse ("sparsity-aware unlearning", Jia et al., NeurIPS 2023; Unlearn-Sparse `FT_l1`, spec
 * sfron.md §6.2): fine-tune on D_r minimising CE + alpha_e * ||theta||_1 over every trainable
 * value, alpha_e = alpha * (1 - e / (E - no_l1_epochs)) for the 0-based epoch e <= E - no_l1_epochs
 * and 0 after, so the gradient gains alpha_e * sign(theta) (sign(0) = 0, as torch). Defaults are
 * Unlearn-Sparse's framework (batch 256, lr 0.01 constant, 10 epochs); alpha = 5e-4 is our pick
 * (the paper's value was not read, docs/methods.md). Not the "prune first" OMP/IMP pipeline.
 */
#include "unlearn/methods_internal.h"

typedef struct l1_ctx {
    double alpha;
    int epochs, no_l1;
} l1_ctx;

static void l1_grad(void *user, const ul_step *s, float *g, const float *theta, size_t P) {
    const l1_ctx *L = user;
    const int span = L->epochs - L->no_l1;
    if (span <= 0 || s->epoch > span) return;
    const float a = (float)(L->alpha * (1.0 - (double)s->epoch / (double)span));
    if (a == 0.0f) return;
#pragma omp parallel for schedule(static) if (P >= ((size_t)1 << 15))
    for (size_t k = 0; k < P; k++) g[k] += theta[k] > 0.0f ? a : theta[k] < 0.0f ? -a : 0.0f;
}

ul_status ul_unlearn_l1sparse(ul_ucall *c) {
    ul_runner r;
    ul_status st = ul_runner_init(&r, c, (size_t)c->p->batch_size);
    if (st != UL_OK) return st;
    l1_ctx L = {.alpha = c->p->l1sparse.alpha, .epochs = c->p->epochs, .no_l1 = c->p->l1sparse.no_l1_epochs};
    ul_ce_run run = {.view = c->t->retain, .batch_size = c->p->batch_size, .ce = {.sign = 1.0}, .grad = l1_grad,
                     .grad_user = &L, .phase = "retain"};
    st = ul_unlearn_ce_epochs(&r, &run);
    ul_runner_free(&r);
    return st;
}
