/* unlearn/methods.h: single-model unlearning methods (the SFR-on suite, spec sfron.md).
 *
 * One call, ul_unlearn, takes a task (the model to update in place, the forget view D_f, the
 * retain view D_r, the training-time transform, the class count, a seed and a thread count) and
 * a parameter bundle, runs one method, and reports the wall time of the whole call (saliency
 * masks, Fisher passes and teacher set-up included). Methods and the code they follow
 * (docs/methods.md has the formulas and every deviation):
 *   retrain     fresh initialisation from the seed, trained on D_r (the exact answer)
 *   ft          fine-tune on D_r (CE)
 *   ga          gradient ascent on D_f (-CE), BN frozen, clipped
 *   rl          random labels: each forget sample relabelled once to a uniform other class,
 *               then CE on D_f u D_r shuffled together
 *   salun       rl with the gradient masked by the top-k |sum of forget gradients| saliency mask
 *   l1sparse    fine-tune on D_r with a linearly decaying L1 penalty
 *   badteacher  KL distillation: forget samples toward a random-init teacher, retain samples
 *               toward the original model
 *   scrub       max steps (ascend KL to the original on D_f) then min steps (CE + KL on D_r)
 *   ssd         selective synaptic dampening with batch Fishers of D_f and D_r u D_f
 *   sfron       SFR-on as the official code runs it (spec decision 1)
 * Every method is deterministic bit for bit for a seed, and identical for any thread count.
 *
 * Ownership: the task borrows the model and views; nothing is retained after the call.
 * Bad input (empty forget view, class-count mismatch, labels out of range, invalid parameters)
 * fails before the model is touched. A failure during the updates (UL_E_NUMERIC) leaves the
 * model as it was before the failing step.
 */
#ifndef UNLEARN_METHODS_H
#define UNLEARN_METHODS_H

#include "unlearn/base.h"
#include "unlearn/data.h"
#include "unlearn/fisher.h"
#include "unlearn/nn.h"
#include "unlearn/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ul_unlearn_method {
    UL_UNLEARN_RETRAIN = 0,
    UL_UNLEARN_FT = 1,
    UL_UNLEARN_GA = 2,
    UL_UNLEARN_RL = 3,
    UL_UNLEARN_SALUN = 4,
    UL_UNLEARN_L1SPARSE = 5,
    UL_UNLEARN_BADTEACHER = 6,
    UL_UNLEARN_SCRUB = 7,
    UL_UNLEARN_SSD = 8,
    UL_UNLEARN_SFRON = 9,
    UL_UNLEARN_METHOD_COUNT
} ul_unlearn_method;

/* "retrain", "ft", "ga", "rl", "salun", "l1sparse", "badteacher", "scrub", "ssd", "sfron";
 * "?" for an invalid value. Static storage. */
const char *ul_unlearn_method_name(ul_unlearn_method m);
/* Parse a method name (case-insensitive; '-' and '_' are ignored, so "l1-sparse" and "SFR-on"
 * work). Unknown names give UL_E_ARG with the list of known names. */
ul_status ul_unlearn_method_parse(const char *s, ul_unlearn_method *out);

/* ---- the task ----------------------------------------------------------------------- */

typedef struct ul_unlearn_task {
    ul_model *model;          /* updated in place (borrowed) */
    const ul_view *forget;    /* D_f (borrowed); must not be empty */
    const ul_view *retain;    /* D_r (borrowed); may be NULL or empty for ga only. Methods that mix
                                 the two (rl, salun, badteacher, ssd) need both views on one dataset */
    ul_transform transform;   /* normalisation and training-time augmentation of every loader the
                                 method trains or takes a saliency mask on (ssd's Fisher: no
                                 augmentation) */
    int classes;              /* must equal the model's output count */
    uint64_t seed;            /* every random draw (shuffles, augmentation, labels, fresh inits) */
    int threads;              /* > 0: threads for this call (restored afterwards); <= 0: as set */
} ul_unlearn_task;

/* ---- parameters --------------------------------------------------------------------- */

typedef struct ul_salun_params {
    double ratio;             /* fraction of values kept by the saliency mask: top floor(ratio*P) */
} ul_salun_params;

typedef struct ul_l1sparse_params {
    double alpha;             /* L1 weight at epoch 0; epoch e uses alpha*(1 - e/(E - no_l1_epochs)) */
    int no_l1_epochs;         /* final epochs without the penalty */
} ul_l1sparse_params;

typedef struct ul_badteacher_params {
    double temperature;       /* KL temperature (no T^2 factor, as the Bad Teacher code) */
} ul_badteacher_params;

typedef struct ul_scrub_params {
    double temperature;       /* T of KL_T = T^2 * sum KL(softmax(t/T) || softmax(s/T)) / B */
    double gamma;             /* min step: weight of CE */
    double alpha;             /* min step: weight of KL_T */
    int msteps;               /* epochs (from the first) that start with a max pass over D_f */
} ul_scrub_params;

typedef struct ul_ssd_params {
    double alpha;             /* selection: I_f[k] > alpha * I_D[k] */
    double lambda;            /* dampening: theta[k] *= min(lambda * I_D[k] / I_f[k], 1) */
    ul_fisher_params fisher;  /* estimator, scope and batch size of both Fishers */
} ul_ssd_params;

typedef struct ul_sfron_params {
    double forget_alpha;      /* alpha_0 of alpha_t = alpha_0 * (1 + cos(pi t / T)) / 2 */
    int forget_freq;          /* one forget step at every iteration t with t % forget_freq == 0 */
    double lambda;            /* adaptive weights w = softmax(-lambda * ln l) per forget batch */
    double gamma;             /* saliency: mask[k] = (F_f[k] + 1e-15) / (F_r[k] + 1e-15) >= gamma */
    double max_norm;          /* global L2 clip of the masked forget gradient (0 = off) */
    double ema_beta;          /* slow weights theta <- (1 - beta) theta_prev + beta theta; 1 = off */
} ul_sfron_params;

typedef struct ul_unlearn_progress {
    const char *phase;        /* "retain", "forget" or "mixed" (a batch from D_f u D_r) */
    int epoch;                /* 0-based epoch; sfron: passes over D_r completed */
    int64_t iter;             /* sfron: iteration t; other methods: step index within the run */
    int64_t step;             /* optimizer steps taken so far, this one included */
    size_t batch;             /* samples in this batch */
    double lr;
    double loss;              /* value of the objective whose gradient was applied */
    double grad_norm;         /* L2 norm of the (masked) gradient before clipping */
    double applied_norm;      /* ... and after clipping (= grad_norm when not clipped) */
    double scale;             /* sfron forget steps: alpha_t; otherwise 1 */
    double elapsed_s;
} ul_unlearn_progress;

typedef void (*ul_unlearn_cb)(const ul_unlearn_progress *p, void *user);

typedef struct ul_unlearn_params {
    ul_unlearn_method method;
    int epochs;               /* passes of the epoch methods (sfron: unused) */
    int64_t iters;            /* sfron: T, iterations (one retain step each) */
    int batch_size;           /* retain / mixed batches */
    int forget_batch_size;    /* forget-only batches (ga, scrub max, sfron forget, saliency passes) */
    ul_optim_params optim;    /* optim.lr is the base learning rate */
    ul_sched_kind sched;      /* stepped per epoch (epoch methods) or per iteration over T (sfron);
                                 cosine decays toward 0; multistep is not accepted */
    double clip_norm;         /* global L2 gradient clip of every step (0 = off); sfron: unused */
    bool bn_eval;             /* run BN in eval mode (running statistics) during updates */
    ul_salun_params salun;
    ul_l1sparse_params l1sparse;
    ul_badteacher_params badteacher;
    ul_scrub_params scrub;
    ul_ssd_params ssd;
    ul_sfron_params sfron;
    ul_unlearn_cb progress;   /* optional, called after every optimizer step */
    void *progress_user;
} ul_unlearn_params;

/* The defaults of `method` (docs/methods.md, table "Defaults"): the official SFR-on code's
 * CIFAR-10 settings (spec sfron.md §2.4, §6.1), Unlearn-Sparse's for l1sparse (§6.2) and the SSD
 * code's for ssd. Every method's constants are filled, whatever the method. */
ul_unlearn_params ul_unlearn_defaults(ul_unlearn_method method);

typedef struct ul_unlearn_result {
    double seconds;           /* wall time of the whole call: masks, Fishers, teachers, updates */
    double prep_seconds;      /* of which before the first update (masks, Fishers, teachers) */
    int64_t steps;            /* optimizer steps */
    int64_t forget_steps;     /* of which on forget-only batches */
    size_t mask_kept;         /* salun, sfron: mask entries that are 1; ssd: values dampened */
    size_t mask_total;        /* salun, sfron, ssd: trainable values P; otherwise 0 */
} ul_unlearn_result;

/* Run `params->method` on `task`. `result` may be NULL. */
ul_status ul_unlearn(const ul_unlearn_task *task, const ul_unlearn_params *params, ul_unlearn_result *result);

#ifdef __cplusplus
}
#endif
#endif
