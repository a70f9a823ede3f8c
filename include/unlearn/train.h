/* unlearn/train.h: optimizers, learning-rate schedules, gradient clipping and the training loop.
 *
 * Optimizers follow PyTorch's update rules exactly (torch.optim.SGD and torch.optim.AdamW,
 * version 1.13 semantics) so recipes transfer. They act on the first P values of a model's
 * parameter block (the trainable part) and keep their state in one contiguous block.
 */
#ifndef UNLEARN_TRAIN_H
#define UNLEARN_TRAIN_H

#include "unlearn/base.h"
#include "unlearn/nn.h"
#include "unlearn/data.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ul_optim_kind { UL_OPT_SGD = 0, UL_OPT_ADAMW = 1, UL_OPT_COUNT } ul_optim_kind;

typedef struct ul_optim_params {
    ul_optim_kind kind;
    double lr;            /* base learning rate */
    double momentum;      /* SGD */
    double dampening;     /* SGD */
    double weight_decay;  /* SGD: L2 added to the gradient; AdamW: decoupled decay lr*wd*theta */
    bool nesterov;        /* SGD */
    double beta1, beta2;  /* AdamW */
    double eps;           /* AdamW */
} ul_optim_params;

/* Defaults: SGD lr 0.01, momentum 0, AdamW lr 1e-3, betas (0.9, 0.999), eps 1e-8, wd 0.01. */
ul_optim_params ul_optim_defaults(ul_optim_kind kind);

typedef struct ul_optim ul_optim; /* opaque */

/* An optimizer for `n` trainable values. Caller frees with ul_optim_free. */
ul_status ul_optim_create(const ul_optim_params *p, size_t n, ul_optim **out);
void ul_optim_free(ul_optim *o);
/* One update of params[0..n) from grads[0..n) at learning rate `lr` (the schedule's value;
 * params.lr is not used here). If mask is non-NULL, grads are multiplied element-wise by mask
 * first (the gradient-mask hook used by saliency methods) and nothing else is masked, exactly
 * as a PyTorch gradient hook: a zero entry zeroes that gradient, but SGD weight decay (added
 * after masking), an existing momentum buffer, and AdamW's decoupled decay and moments still
 * move that value. A zero entry freezes a value only with weight_decay 0 and no state built
 * up for it (SGD without momentum, or an element masked since the optimizer's first step). */
void ul_optim_step(ul_optim *o, float *params, const float *grads, const float *mask, double lr);
/* Forget all state (momentum buffers, Adam moments, step count). */
void ul_optim_reset(ul_optim *o);
/* State block (borrowed) and its length in floats, for checkpointing. */
float *ul_optim_state(ul_optim *o, size_t *n);
int64_t ul_optim_steps(const ul_optim *o);

/* Scale grads[0..n) so their global L2 norm is at most max_norm (no-op when max_norm <= 0).
 * Returns the norm before clipping (as torch.nn.utils.clip_grad_norm_). */
double ul_clip_grad_norm(float *grads, size_t n, double max_norm);

typedef enum ul_sched_kind { UL_SCHED_CONST = 0, UL_SCHED_COSINE = 1, UL_SCHED_MULTISTEP = 2, UL_SCHED_COUNT } ul_sched_kind;

typedef struct ul_sched {
    ul_sched_kind kind;
    double base_lr;
    int64_t total;        /* cosine: T_max (in the unit the caller steps, epochs or iterations) */
    double eta_min;       /* cosine */
    int64_t milestones[8];/* multistep */
    int nmilestones;
    double gamma;         /* multistep */
    int64_t warmup;       /* linear warm-up steps from base_lr/warmup... (0 = off) */
} ul_sched;

/* Learning rate at step t (0-based), closed form:
 *   const:     base_lr
 *   cosine:    eta_min + (base_lr - eta_min) * (1 + cos(pi * t / total)) / 2   (t clamped to total)
 *   multistep: base_lr * gamma^(number of milestones <= t)
 * With warmup > 0, steps t < warmup use base-rule(t) * (t + 1) / warmup. */
double ul_sched_lr(const ul_sched *s, int64_t t);

/* ---- the training loop ------------------------------------------------------------ */

typedef struct ul_train_progress {
    int epoch, epochs;
    size_t batch, batches;
    double loss;          /* running mean loss of this epoch */
    double acc;           /* running training accuracy of this epoch */
    double samples_per_s;
    double elapsed_s;
    bool epoch_done;
} ul_train_progress;

typedef void (*ul_train_cb)(const ul_train_progress *p, void *user);

typedef struct ul_train_config {
    int epochs;
    int batch_size;
    ul_optim_params optim;
    ul_sched_kind sched;          /* schedule stepped per iteration over the whole run */
    double eta_min;
    int64_t milestones[8];        /* multistep milestones in epochs */
    int nmilestones;
    double gamma;
    double clip_norm;             /* 0 = off */
    uint64_t seed;                /* shuffling and augmentation */
    ul_transform transform;
    const float *grad_mask;       /* optional, P floats */
    bool head_only;               /* train only the final linear layer (transfer learning) */
    ul_train_cb progress;
    void *progress_user;
} ul_train_config;

/* The default recipe (see docs/training.md): SGD momentum 0.9, nesterov, lr 0.05, weight decay
 * 5e-4, batch 128, cosine schedule per iteration, 2 epochs. */
ul_train_config ul_train_defaults(void);

/* Train `m` on view `v` with config `c`. Deterministic for a fixed seed and thread count.
 * Fails with UL_E_NUMERIC (naming epoch, batch and tensor) if a loss or parameter becomes
 * non-finite; the model is then left as it was before that step. */
ul_status ul_train(ul_model *m, const ul_view *v, const ul_train_config *c);

/* ---- evaluation ------------------------------------------------------------------- */

typedef struct ul_eval_result {
    size_t n;
    size_t correct;
    double loss;                  /* mean cross-entropy */
    int classes;
    size_t *class_total;          /* owned; classes entries */
    size_t *class_correct;        /* owned; classes entries */
} ul_eval_result;

/* Evaluate `m` (eval mode) on `v` with normalisation from `tf`. Caller frees with
 * ul_eval_result_free. Labels >= the model's classes count as wrong and are counted. */
ul_status ul_evaluate(ul_model *m, const ul_view *v, const ul_transform *tf, int batch_size,
                      ul_eval_result *out);
void ul_eval_result_free(ul_eval_result *r);

#ifdef __cplusplus
}
#endif
#endif
