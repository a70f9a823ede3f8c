/* src/net/scenarios.h (private): the scenario tables of `unlearn net build`.
 *
 * A scenario is a list of nodes in creation order. Each node names its edge type, its parents
 * (indices of earlier nodes), its own label set and its data "slot" (the owner of the data: the
 * node's shard index). Label sets are written for 10 classes as bit masks over tenths of the
 * label range (bit t = labels l with floor(10 l / K) == t), so every scenario works for any
 * dataset with K >= 10 classes: for Fashion-MNIST tenth t is label t, for CIFAR-100 labels
 * 10t..10t+9. docs/net.md lists every scenario with its DAG.
 */
#ifndef UL_NET_SCENARIOS_H
#define UL_NET_SCENARIOS_H

#include "unlearn/data.h"
#include "unlearn/train.h" /* net.h uses ul_train_cb and the data types without including them */
#include "unlearn/net.h"

/* bits lo..hi of a tenth mask */
#define UL_TENTHS(lo, hi) ((uint16_t)(((1u << ((hi) + 1)) - 1u) & ~((1u << (lo)) - 1u)))
#define UL_TENTHS_ALL UL_TENTHS(0, 9)

typedef struct ul_scen_node {
    char name[UL_NET_NAME_MAX];
    ul_edge_type edge;
    int nparents;
    int parents[UL_NET_MAX_PARENTS]; /* indices of earlier nodes */
    uint16_t tenths;                 /* own label set, as a mask over tenths of the label range */
    int slot;                        /* data owner: the node's shard index in [0, nslots) */
    int epochs;                      /* 0 = the build's default */
} ul_scen_node;

typedef struct ul_scenario {
    char name[16];
    ul_scen_node *nodes; /* malloc'd */
    int n;
    int nslots;          /* number of data owners: own data is shard `slot` of at least nslots */
} ul_scenario;

/* Default depth of the deep scenarios. */
#define UL_SCEN_CHAIN_DEPTH 30
#define UL_SCEN_DAG_DEPTH 50
#define UL_SCEN_MAX_DEPTH 1000

/* Build the table of scenario `name` ("il", "tl", "fl", "ddpl", "mixed", "chain", "dag").
 * depth: chain/dag model count (0 = default), ignored by the others. seed: only "dag" uses it
 * (its shape is drawn from it). UL_E_ARG for an unknown name or a depth out of [2, 1000]. */
ul_status ul_scenario_make(const char *name, int depth, uint64_t seed, ul_scenario *out);
void ul_scenario_free(ul_scenario *s);

/* The labels of a tenth mask for K classes: in[l] = true for every label in the set. */
void ul_scenario_labels(uint16_t tenths, int K, bool *in);

#endif
