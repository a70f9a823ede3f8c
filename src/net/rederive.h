/* Internal to src/net: re-deriving models from their recipes without some labels (rederive.c). */
#ifndef UL_NET_REDERIVE_H
#define UL_NET_REDERIVE_H

#include "unlearn/forget.h"
#include "unlearn/net.h"

/* The part of `own` a request forgets (forget=true: its labels or sample ids) or keeps. */
ul_status ul_forget_view(const ul_forget_params *fp, const ul_view *own, bool forget, ul_view **out);

/* Re-derive nodes[0..n) (current versions, creation order) from their recipes with the request's
 * forget data removed from each one's own data (selector exclusions applied), `train` being the loaded training split. When
 * given[i] is non-NULL that model is taken as it is (sequential: the unlearned roots). out[i]
 * receives a new model (caller frees), seconds[i] its time. On failure nothing is returned. */
ul_status ul_net_rederive(ul_net *net, const ul_node *nodes, size_t n, const ul_forget_params *fp,
                          ul_dataset *train, ul_model **given, ul_model **out, double *seconds);

/* Fine-tune each models[i] (in place) for `epochs` epochs on its own data minus the forget data,
 * with its recipe's optimizer and batch at learning rate 0.01 (cosine), seconds[i] its time. */
ul_status ul_net_finetune(ul_net *net, const ul_node *nodes, size_t n, const ul_forget_params *fp,
                          ul_dataset *train, int epochs, ul_model **models, double *seconds);

/* The reference code's gradient-ascent transfer (gatransfer.c). */
typedef struct ul_ga_params {
    double lr;        /* plain SGD on -CE (8) */
    int batch_size;   /* 64 */
    double stop_acc;  /* stop once accuracy on the forget samples is below this, in % (20) */
    double scale;     /* descendants get theta += scale * (G1 - G2) (2) */
} ul_ga_params;
ul_ga_params ul_ga_defaults(void);
/* Gradient ascent at a root `m` (updated in place) on its forget samples `fv`; G1 from one batch
 * of its own data `own`. delta (P floats) receives scale * (G1 - G2), steps the number of ascent
 * steps, acc_after the final accuracy on fv. UL_E_NUMERIC when the ascent diverges. */
ul_status ul_net_ga_root(ul_model *m, const ul_view *own, const ul_view *fv, const ul_transform *tf, uint64_t seed,
                         const ul_ga_params *gp, float *delta, int *steps, double *acc_after);

#endif
