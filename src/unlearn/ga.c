/* GA: gradient ascent on the forget set, minimising -CE over D_f with no retain term (official
 * SFR-on code's `GradAscent`, spec sfron.md §6.1: SGD lr 1e-4 constant, momentum 0.9, wd 5e-4,
 * 9 epochs, global gradient clip 0.1, and BN in eval mode during the updates, as the code's
 * "important" comment insists). No retain view is needed.
 */
#include "unlearn/methods_internal.h"

ul_status ul_unlearn_ga(ul_ucall *c) {
    ul_runner r;
    ul_status st = ul_runner_init(&r, c, (size_t)c->p->forget_batch_size);
    if (st != UL_OK) return st;
    ul_ce_run run = {.view = c->t->forget, .batch_size = c->p->forget_batch_size, .ce = {.sign = -1.0},
                     .phase = "forget", .forget = true};
    st = ul_unlearn_ce_epochs(&r, &run);
    ul_runner_free(&r);
    return st;
}
