/* unlearn/forget.h: unlearning requests over a model inheritance network.
 *
 * FIUn (fiun.md, decisions at its top): for a set of forget labels, find the roots (the
 * earliest models that learned each label from their own data) and the affected closure; take
 * the forget Fisher I_f at every root on its own forget samples BEFORE anything changes; for
 * every affected model m merge the Fishers of the roots that are m or its ancestors (MFIM);
 * dampen every model independently, in parallel, against its own full-data Fisher I_D (cached
 * at creation, or computed here); write the new versions, then commit them and a deletion
 * receipt in one registry transaction.
 *
 * Ownership: ul_forget fills a caller-provided result, freed with ul_forget_result_free.
 */
#ifndef UNLEARN_FORGET_H
#define UNLEARN_FORGET_H

#include "unlearn/base.h"
#include "unlearn/fisher.h"
#include "unlearn/net.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ul_forget_method {
    UL_FORGET_FIUN = 0,       /* FIUn + MFIM: every affected model dampened independently */
    UL_FORGET_RETRAIN = 1,    /* re-derive every affected model in creation order from its recipe
                                 with the forget labels removed everywhere: the exact answer */
    UL_FORGET_SEQUENTIAL = 2, /* FIUn on the roots, then re-derive every descendant from its
                                 unlearned parents */
    UL_FORGET_SSD_LOCAL = 3,  /* per-model SSD with each model's own forget Fisher (models without
                                 forget samples of their own are left as they are) */
    UL_FORGET_FINETUNE = 4,   /* per-model fine-tuning on its own data minus the forget labels */
    UL_FORGET_GA_TRANSFER = 5,/* the reference code's parallel gradient-ascent transfer: gradient
                                 ascent at each root until its forget accuracy is below 20 %, then
                                 theta += 2 (G1 - G2) on every descendant in one shot */
    UL_FORGET_METHOD_COUNT
} ul_forget_method;

const char *ul_forget_method_name(ul_forget_method m);
ul_status ul_forget_method_parse(const char *s, ul_forget_method *out);

typedef enum ul_local_fisher {
    UL_LOCAL_OFF = 0,         /* ignore it: MFIM over the roots only (the reference code) */
    UL_LOCAL_MERGE = 1,       /* merge it with the roots' Fishers (MFIM over R(m) and itself) */
    UL_LOCAL_ONLY = 2,        /* use it instead of the roots' Fishers */
    UL_LOCAL_COUNT
} ul_local_fisher;
const char *ul_local_fisher_name(ul_local_fisher l);

/* One setting of a dry-run sweep (ul_forget_params.sweep). */
typedef struct ul_forget_setting {
    double alpha, exponent, id_floor;
    ul_local_fisher local;
    bool units;               /* dampen per unit (ul_dampen_units) instead of per element */
    double rel;               /* relative selection (units only; 0 = off) */
    double share;             /* share selection (units only; 0 = off) */
} ul_forget_setting;

typedef struct ul_forget_params {
    ul_forget_method method;
    const int32_t *labels;    /* forget labels (a label-level request) ... */
    size_t nlabels;
    const int32_t *samples;   /* ... or sample ids: sorted, unique indices into the training split of
                                 the network's dataset (a sample-level request); exactly one of the
                                 two is non-empty */
    size_t nsamples;
    double alpha;             /* selection weighting (see docs/fiun.md for the default) */
    double lambda;            /* dampening constant (1) */
    double exponent;          /* dampening exponent e: factor min((lambda*I_D/I_f)^e, 1) (1) */
    double id_floor;          /* dampen against I_D + id_floor * mean(non-zero I_D) inside the Fisher
                                 scope (0: the plain rule); see docs/fiun.md */
    bool units;               /* select and dampen whole units (one output of a layer: a class's row
                                 of the head) by their summed Fishers instead of single values */
    double rel;               /* units: also require a unit's ratio to be at least rel times the
                                 largest unit ratio of a forget label's own Fisher (0 = off) */
    double share;             /* units, models with forget samples of their own: select a unit when,
                                 for some forget label j, the share of the unit's Fisher mass on the
                                 model's own data that label j's samples carry (ratio_j * rho_j, rho_j
                                 the label's fraction of the model's own data) reaches `share` and its
                                 ratio exceeds 1; this replaces the alpha rule for those models
                                 (0 = off: the alpha rule everywhere); see docs/fiun.md */
    double mfim_c;            /* MFIM divisor base c (5) */
    ul_fisher_params fisher;  /* estimator and scope, used for I_f and I_D alike */
    ul_local_fisher local_fisher; /* fiun.md §7 Q3: what a non-root model that trained on forget data
                                     itself does with the forget Fisher of its own forget samples */
    int finetune_epochs;      /* finetune: epochs (1) at the recipe's optimizer with lr 0.01 */
    int threads;              /* nodes processed concurrently (0 = all cores) */
    bool dry_run;             /* compute and report, write nothing */
    const ul_forget_setting *sweep; /* dry-run FIUn only: also dampen a copy of every model with each */
    size_t nsweep;            /* of these settings and evaluate it (alpha, exponent, id_floor and
                                 local mode vary; lambda, c, estimator and scope are the request's) */
} ul_forget_params;

/* Defaults (docs/fiun.md, "Choosing the defaults"): FIUn with unit granularity, alpha 2.5 (share
 * 0.3 instead on models with forget samples of their own), no relative selection, lambda 1,
 * exponent 10, c 1, local Fisher `only`, no I_D floor, per-sample estimator, last scope: chosen
 * by sweeps on Fashion-MNIST over the five scenarios and the demo network as the setting whose
 * forget accuracy is at most 1% on every affected model and whose retained accuracy is closest to
 * retrain's. They deliberately differ from the spec's parity values (fiun.md decisions 6, 7:
 * element-wise, e 1, c 5, no local Fisher), which ul_forget_parity_defaults returns and
 * `unlearn forget --profile parity` selects. */
#define UL_FIUN_DEFAULT_ALPHA 2.5
#define UL_FIUN_DEFAULT_REL 0.0
#define UL_FIUN_DEFAULT_SHARE 0.3
#define UL_FIUN_DEFAULT_EXPONENT 10.0
#define UL_FIUN_DEFAULT_MFIM_C 1.0
ul_forget_params ul_forget_defaults(void);
/* The spec's parity values: element-wise, alpha 1, lambda 1, e 1, c 5, local Fisher off. */
ul_forget_params ul_forget_parity_defaults(void);

typedef struct ul_forget_node {
    char name[UL_NET_NAME_MAX];
    bool root;
    int nroots;               /* |R(m)|: roots merged by MFIM for this model */
    bool local;               /* its own forget Fisher was used (local_fisher merge or only) */
    char before[65], after[65];  /* checkpoint hashes */
    int64_t new_version;      /* version id written (0 on dry runs) */
    double forget_acc_before, forget_acc_after;   /* label request: on the test split, forget labels it
                                                     knows (-1 if none); sample request: on the
                                                     forget samples themselves */
    double retain_acc_before, retain_acc_after;   /* on the labels it knows minus the forget labels; -1 if none */
    size_t forget_test_n, retain_test_n;
    size_t selected;          /* parameters dampened */
    double fisher_d_seconds;  /* I_D: 0 when taken from the cache */
    bool fisher_d_cached;
    double seconds;           /* this model's unlearning time (I_D if computed, MFIM, dampening, write) */
} ul_forget_node;

/* Who is at fault when ul_forget fails (the CLI picks its exit status from it). */
typedef enum ul_forget_fault {
    UL_FORGET_FAULT_NETWORK = 0, /* the network or its files (missing, damaged, busy, ...) */
    UL_FORGET_FAULT_REQUEST = 1, /* the request does not fit the network (labels, parameters) */
    UL_FORGET_FAULT_RESULT = 2   /* unlearning produced non-finite values (dampening, re-training) */
} ul_forget_fault;

typedef struct ul_forget_result {
    ul_forget_node *nodes;    /* the closure, in creation order (malloc'd) */
    size_t n;
    double roots_seconds;     /* forget Fishers at the roots */
    double makespan_seconds;  /* wall time of the parallel per-model phase */
    double sum_seconds;       /* sum of per-model times (a sequential run's cost) */
    double total_seconds;     /* whole request, evaluation excluded */
    int64_t request_id;       /* 0 on dry runs */
    char *receipt;            /* JSON receipt (malloc'd) */
    ul_forget_fault fault;    /* on failure: whose fault it is */
    size_t nsweep;            /* sweep results, [setting * n + node] (malloc'd; NULL without a sweep) */
    double *sweep_forget, *sweep_retain; /* forget and retained accuracy after, as in the nodes */
    size_t *sweep_selected;
} ul_forget_result;

void ul_forget_result_free(ul_forget_result *r);

/* Feature macros for tests: the commit detects lost updates; damaged Fisher caches are ignored. */
#define UL_FORGET_CHECKS_CONFLICTS 1
#define UL_FORGET_VALIDATES_FISHER 1

/* Run a request on the network at `dir`. Refused (UL_E_ARG) when the labels cover every class
 * (nothing would be retained). The commit checks that every affected model is still at the version
 * the request read (ul_net_txn_replace_from): when another request replaced one meanwhile, nothing
 * is committed and UL_E_BUSY says so (run it again). A result with a non-finite value is never
 * written or committed (UL_E_NUMERIC naming the tensor), dry runs included. Roots of a sample request: for each sample, the earliest
 * models whose own data holds it (none of their ancestors' does); I_f at a root is taken on the
 * request's samples in its own data. The receipt names the id list by the hash of its canonical
 * text (one id per line), stored in the network as objects/<hex>.ids. */
ul_status ul_forget(const char *dir, const ul_forget_params *p, ul_forget_result *out);

/* Per-class head sums of a model on its own data (ul_fisher_class_sums): K classes, head range
 * [lo, hi) of the parameter block. */
typedef struct ul_fisher_classes {
    float *sums;      /* K * (hi - lo) (malloc'd by the get/compute functions) */
    int64_t *counts;  /* K */
    int K;
    size_t lo, hi;
} ul_fisher_classes;
void ul_fisher_classes_free(ul_fisher_classes *c);

/* The full-data Fisher cache of a model: a safetensors object with one F32 tensor "fisher" of P
 * values and metadata naming the estimator, scope, batch size, truncation and checkpoint hash;
 * with cs (sample estimator, last scope) also "class_sums" [K, hi - lo] F32, "class_counts" [K]
 * I64 and metadata "head_lo", from which label requests take every Fisher they need. */
ul_status ul_net_fisher_put(ul_net *n, const char *ckpt_hex, const ul_fisher_params *p, const float *F, size_t P,
                            const ul_fisher_classes *cs, char hex[65]);
/* The per-class sums of cache `hex` (UL_E_NOTFOUND when it has none, or for another checkpoint
 * or head layout). */
ul_status ul_net_fisher_get_classes(ul_net *n, const char *hex, const char *ckpt_hex, int K, size_t lo, size_t hi,
                                    ul_fisher_classes *out);
/* Compute them on a view (one forward pass). */
ul_status ul_net_fisher_classes_compute(ul_model *m, const ul_view *own, const ul_transform *tf, ul_fisher_classes *out);
/* Read a cache into F (P floats). UL_E_NOTFOUND when the cache was made with other parameters
 * or for another checkpoint, UL_E_FORMAT when it holds negative or non-finite values (a damaged
 * cache would make dampening factors negative or infinite); the caller recomputes. */
ul_status ul_net_fisher_get(ul_net *n, const char *hex, const char *ckpt_hex, const ul_fisher_params *p, float *F,
                            size_t P);

#ifdef __cplusplus
}
#endif
#endif
