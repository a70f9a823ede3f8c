/* Internal to src/net: re-deriving models from their recipes without some labels (rederive.c). */
#ifndef UL_NET_REDERIVE_H
#define UL_NET_REDERIVE_H

#include "unlearn/net.h"

/* Re-derive nodes[0..n) (current versions, creation order) from their recipes with the labels
 * forget[0..nf) removed from each one's own data, `train` being the loaded training split. When
 * given[i] is non-NULL that model is taken as it is (sequential: the unlearned roots). out[i]
 * receives a new model (caller frees), seconds[i] its time. On failure nothing is returned. */
ul_status ul_net_rederive(ul_net *net, const ul_node *nodes, size_t n, const int32_t *forget, size_t nf,
                          ul_dataset *train, ul_model **given, ul_model **out, double *seconds);

/* Fine-tune each models[i] (in place) for `epochs` epochs on its own data minus the forget labels,
 * with its recipe's optimizer and batch at learning rate 0.01 (cosine), seconds[i] its time. */
ul_status ul_net_finetune(const ul_node *nodes, size_t n, const int32_t *forget, size_t nf, ul_dataset *train,
                          int epochs, ul_model **models, double *seconds);

#endif
