/* unlearn/protocol.h: the evaluation protocol of the SFR-on suite (spec sfron.md §3 and decision 4)
 * as one call per method, plus the generic parameter access that benchmark drivers need.
 *
 * A protocol task names the model before unlearning, the forget, retain and test views and the
 * transforms. ul_protocol_run clones the original, runs one method on the clone through
 * ul_unlearn (its wall time, Fisher/mask passes included and evaluation excluded, is the run
 * time), then ul_protocol_eval computes every metric of eval.h on the result: FA/UA/RA/TA (and,
 * class-wise, TA on the remaining and the forgotten classes), TA per class (from the same test
 * predictions, no extra forward pass), mia_entropy_lr, mia_svc_confidence, and KL/JS of a
 * reference (the retrained model) to the unlearned model on the forget set.
 * ul_protocol_gap is the Avg. Gap over UA, RA, TA (full test set) and mia_entropy_lr.
 * Training the original or the retrain oracle, caching checkpoints and aggregating over seeds
 * are the caller's (cli/cmd_bench.c); nothing here touches files.
 *
 * Ownership: the task borrows everything; ul_protocol_run never modifies the original.
 * Predictions handed out (forget_out) are the caller's to free with ul_predictions_free, a
 * model handed out (model_out) with ul_model_free. Every call is deterministic for a seed and
 * a thread count, and the library never exits on bad input.
 */
#ifndef UNLEARN_PROTOCOL_H
#define UNLEARN_PROTOCOL_H

#include "unlearn/base.h"
#include "unlearn/data.h"
#include "unlearn/eval.h"
#include "unlearn/methods.h"
#include "unlearn/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ul_protocol_task {
    const ul_model *original;      /* the model before unlearning (borrowed; cloned by each run) */
    const ul_view *forget;         /* D_f (borrowed, non-empty) */
    const ul_view *retain;         /* D_r (borrowed, non-empty) */
    const ul_view *test;           /* the test set (borrowed, non-empty) */
    ul_transform train_tf;         /* normalisation + augmentation of every loader a method trains on */
    ul_transform eval_tf;          /* normalisation of the predictions (augmentation ignored) */
    const int32_t *forget_classes; /* class-wise forgetting: the forgotten labels (borrowed), else NULL */
    size_t nforget_classes;
    int classes;                   /* the model's output count */
    int threads;                   /* > 0: threads for the call (restored afterwards); <= 0: as set */
    int eval_batch;                /* samples per forward pass of the predictions (<= 0: 256) */
    bool svc_mia;                  /* also compute mia_svc_confidence (libsvm; seconds per model) */
} ul_protocol_task;

/* Classes whose per-class test accuracy ul_protocol_eval records (CIFAR-100 fits). */
#define UL_PROTOCOL_MAX_CLASSES 100

typedef struct ul_protocol_metrics {
    ul_acc_metrics acc;            /* fa, ua, ra, ta (full test set), ta_remain, ta_forget, counts */
    int n_per_class;               /* entries of per_class_ta: the model's classes, 0 when they exceed
                                      UL_PROTOCOL_MAX_CLASSES */
    double per_class_ta[UL_PROTOCOL_MAX_CLASSES]; /* top-1 % on the test samples of each label
                                      (ul_per_class_accuracy, from the same test predictions as ta);
                                      NaN for a label without test samples */
    double mia_entropy_lr;         /* % of D_f predicted member (SFR-on's MIA) */
    double mia_svc_confidence;     /* % of D_f predicted non-member (SalUn's MIA-Efficacy); NaN if off */
    double kl;                     /* mean over D_f of KL(p_ref || p_model), nats; NaN without a reference */
    double js;                     /* mean over D_f of JS(p_ref, p_model), nats; NaN without a reference */
    double seconds;                /* run: ul_unlearn_result.seconds (evaluation excluded); eval: 0 */
    double prep_seconds;           /* run: masks, Fishers, teachers before the first update */
    int64_t steps, forget_steps;   /* run: optimizer steps (all / on forget-only batches) */
    size_t mask_kept, mask_total;  /* run: see ul_unlearn_result */
    double eval_seconds;           /* wall time of the evaluation itself (not part of `seconds`) */
    char model_hash[65];           /* ul_model_hash of the evaluated model */
} ul_protocol_metrics;

/* Evaluate model `m` on the task's views: predictions (eval mode, t->eval_tf, view order), the
 * accuracies (t->forget_classes selects the class-wise TAs) and the per-class test accuracy, both
 * MIAs, and, when `ref_forget` (the retrained model's predictions on the same forget view) is
 * given, KL(ref || m) and JS on the forget set. `forget_out` (optional) receives m's forget predictions, e.g. to serve as the
 * reference of later calls. The run fields of *out are zero. The model is not changed.
 * UL_E_ARG for an empty view or a missing argument; UL_E_SHAPE when classes or sample shapes
 * disagree; other statuses from the metrics (each message names the set). */
ul_status ul_protocol_eval(ul_model *m, const ul_protocol_task *t, const ul_predictions *ref_forget,
                           ul_predictions *forget_out, ul_protocol_metrics *out);

/* Clone t->original, run ul_unlearn(params) on the clone with the task's views, transform,
 * classes and threads and the given seed, then ul_protocol_eval it (ref_forget as there). The
 * run fields of *out come from ul_unlearn_result. `model_out` (optional) receives the unlearned
 * model (caller frees); otherwise it is freed. On failure nothing is handed out. */
ul_status ul_protocol_run(const ul_protocol_task *t, const ul_unlearn_params *params, uint64_t seed,
                          const ul_predictions *ref_forget, ul_protocol_metrics *out, ul_model **model_out);

/* Avg. Gap of m to the retrained model rt: mean of |UA - UA_rt|, |RA - RA_rt|, |TA - TA_rt| and
 * |mia_entropy_lr - mia_entropy_lr_rt| (ul_avg_gap; TA on the full test set). */
ul_status ul_protocol_gap(const ul_protocol_metrics *m, const ul_protocol_metrics *rt, double *gap);

/* ---- generic parameter access ------------------------------------------------------------ */

/* Set one field of `p` for p->method by key, from text: the keys are the field names of
 * ul_unlearn_params that the method reads ("epochs", "iters", "batch_size", "forget_batch_size",
 * "lr", "momentum", "weight_decay", "sched" (const|cosine), "clip_norm", "bn_eval" (on|off)) and
 * those of its own bundle without the prefix ("forget_alpha" for sfron, "alpha" for ssd, scrub and
 * l1sparse, "fisher_estimator" (sample|batch), "fisher_scope" (last|all), "fisher_batch" and
 * "fisher_trunc" for ssd, ...). Numbers are parsed strictly and range-checked as ul_unlearn
 * checks them. UL_E_ARG for an unknown key (the message lists the method's keys) or a bad value
 * (the message names the key); p is then unchanged. */
ul_status ul_unlearn_param_set(ul_unlearn_params *p, const char *key, const char *value);
/* The value of `key` for p->method as text (doubles with %.17g, so they read back exactly;
 * enums and bools by name) into buf[0..cap). UL_E_ARG for an unknown key. */
ul_status ul_unlearn_param_get(const ul_unlearn_params *p, const char *key, char *buf, size_t cap);
/* The keys that `m` reads, in a fixed order, into keys[0..cap) (static strings); returns how many
 * there are (which may exceed cap). */
size_t ul_unlearn_param_keys(ul_unlearn_method m, const char **keys, size_t cap);
/* Whether a key holds a number (true) or a name (sched, bn_eval, fisher_estimator/scope). */
bool ul_unlearn_param_is_numeric(const char *key);

/* Optimizer steps ul_unlearn will take for `p` on views of nforget and nretain samples (what its
 * result's `steps` reports; 0 for ssd), for progress bars. */
int64_t ul_unlearn_expected_steps(const ul_unlearn_params *p, size_t nforget, size_t nretain);

#ifdef __cplusplus
}
#endif
#endif
