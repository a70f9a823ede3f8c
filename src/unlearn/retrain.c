/* Retrain: the exact answer. The model is re-initialised from the task seed (derived stream
 * UL_SEED_INIT, PyTorch default initialisation as ul_model_create) and trained on D_r with the
 * given recipe (official SFR-on code's `Retrain`, spec sfron.md §6.1: SGD lr 0.1, momentum 0.9,
 * wd 5e-4, 200 epochs, cosine stepped per epoch). Unlike the official code it keeps the last
 * epoch, not the epoch with the best test accuracy (the task has no test set).
 */
#include "unlearn/methods_internal.h"

ul_status ul_unlearn_retrain(ul_ucall *c) {
    ul_runner r;
    ul_status st = ul_runner_init(&r, c, (size_t)c->p->batch_size);
    if (st != UL_OK) return st;
    ul_model *m = c->t->model, *fresh = NULL;
    const ul_arch_params ap = ul_model_arch(m);
    st = ul_model_create(ul_model_spec(m), &ap, ul_unlearn_subseed(c->t->seed, UL_SEED_INIT), &fresh);
    if (st == UL_OK) st = ul_model_copy_params(m, fresh);
    ul_model_free(fresh);
    if (st == UL_OK) {
        ul_ce_run run = {.view = c->t->retain, .batch_size = c->p->batch_size, .ce = {.sign = 1.0}, .phase = "retain"};
        st = ul_unlearn_ce_epochs(&r, &run);
    }
    ul_runner_free(&r);
    return st;
}
