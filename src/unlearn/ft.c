/* FT: fine-tune on the retain set, minimising the mean cross-entropy on D_r with the shared
 * optimizer (official SFR-on code's `Finetune`, spec sfron.md §6.1: SGD lr 0.01, momentum 0.9,
 * wd 5e-4, 10 epochs, cosine stepped per epoch, train mode). Forgetting comes only from
 * catastrophic interference; nothing here looks at D_f.
 */
#include "unlearn/methods_internal.h"

ul_status ul_unlearn_ft(ul_ucall *c) {
    ul_runner r;
    ul_status st = ul_runner_init(&r, c, (size_t)c->p->batch_size);
    if (st != UL_OK) return st;
    ul_ce_run run = {.view = c->t->retain, .batch_size = c->p->batch_size, .ce = {.sign = 1.0}, .phase = "retain"};
    st = ul_unlearn_ce_epochs(&r, &run);
    ul_runner_free(&r);
    return st;
}
