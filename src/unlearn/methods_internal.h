/* Internal to src/unlearn/ (and its tests): the step runner every gradient method shares, seed
 * derivation, union views, saliency passes, and the small numerical pieces (KL, top-k mask,
 * SFR-on's weights, schedule, Fisher-ratio mask, masked clipping) that tests check against hand
 * values. Not part of the public API; names keep the ul_ prefix because they are exported from
 * the static library.
 */
#ifndef UL_UNLEARN_METHODS_INTERNAL_H
#define UL_UNLEARN_METHODS_INTERNAL_H

#include "unlearn/methods.h"

/* ---- one call's context ----------------------------------------------------------------- */

typedef struct ul_ucall {
    const ul_unlearn_task *t;
    const ul_unlearn_params *p;
    ul_unlearn_result *res;   /* never NULL inside (the dispatcher substitutes a local one) */
    double t0;                /* ul_now() at entry */
} ul_ucall;

/* Independent streams derived from the task seed, one per purpose. */
typedef enum ul_seed_purpose {
    UL_SEED_DATA = 1,     /* the shuffles/augmentation of an epoch method's main loader */
    UL_SEED_INIT = 2,     /* fresh initialisations (retrain, Bad Teacher's incompetent teacher) */
    UL_SEED_LABELS = 3,   /* rl/salun random labels */
    UL_SEED_FORGET = 4,   /* forget loader (scrub max passes, sfron forget steps) */
    UL_SEED_RETAIN = 5,   /* retain loader (scrub min passes, sfron retain steps) */
    UL_SEED_MASK_F = 6,   /* saliency passes over D_f */
    UL_SEED_MASK_R = 7    /* saliency passes over D_r */
} ul_seed_purpose;
uint64_t ul_unlearn_subseed(uint64_t seed, ul_seed_purpose purpose);

/* A view of a's samples followed by b's (same dataset; UL_E_ARG otherwise). Caller frees. */
ul_status ul_unlearn_union(const ul_view *a, const ul_view *b, ul_view **out);

/* Learning rate of step t of `total` under p->sched with base p->optim.lr (cosine ends at 0). */
double ul_unlearn_lr(const ul_unlearn_params *p, int64_t t, int64_t total);

/* ---- the runner ------------------------------------------------------------------------- */

typedef struct ul_runner {
    ul_ucall *c;
    ul_model *m;
    ul_optim *opt;
    int K;
    size_t P, NV, cap;        /* trainable values, all values, batch capacity */
    float *x;                 /* cap samples */
    float *logits, *dl;       /* cap*K each */
    float *aux;               /* 3*cap*K scratch (teacher logits, probabilities) */
    float *losses;            /* cap */
    double *w;                /* cap */
    int32_t *y;               /* cap */
    size_t *pos;              /* cap: position of each batch sample in its view */
    float *bufsave;           /* BN buffers before the current step */
} ul_runner;

struct ul_step;
/* Fill r->dl (n*K, d objective / d logits of r->logits) and *loss for the batch in r->x, r->y,
 * r->pos. r->y may be rewritten (random labels). */
typedef ul_status (*ul_loss_fn)(void *user, ul_runner *r, size_t n, double *loss);
/* Add an extra term to the gradient g[0..P) (e.g. the L1 subgradient). */
typedef void (*ul_grad_fn)(void *user, const struct ul_step *s, float *g, const float *theta, size_t P);

typedef struct ul_step {
    ul_loss_fn loss;
    void *loss_user;
    ul_grad_fn grad;          /* optional */
    void *grad_user;
    const float *mask;        /* optional: g *= mask before clipping */
    double clip;              /* global L2 clip after masking (0 = off) */
    double lr;
    bool train;               /* BN batch statistics (true) or running statistics */
    bool forget;              /* counts as a forget step */
    const char *phase;        /* for progress and messages */
    int epoch;
    int64_t iter;
    double scale;             /* reported as progress.scale */
} ul_step;

/* Allocate buffers for batches of up to `cap` samples and the optimizer p->optim over all P
 * trainable values (its parameters are validated here, before any method touches the model). */
ul_status ul_runner_init(ul_runner *r, ul_ucall *c, size_t cap);
void ul_runner_free(ul_runner *r);
/* One update on the n samples in r->x/r->y/r->pos: forward (s->train), s->loss, backward,
 * s->grad, mask, clip, optimizer step at s->lr. A non-finite loss or gradient fails with
 * UL_E_NUMERIC and leaves the model (parameters and BN buffers) as before the step. */
ul_status ul_runner_step(ul_runner *r, size_t n, const ul_step *s);
/* One pass of `b` (epoch `epoch`), one step per batch; s->iter counts up. */
ul_status ul_runner_epoch(ul_runner *r, ul_batcher *b, int epoch, ul_step *s);
/* Next batch of a cycled loader: at the end of a pass the next epoch (new shuffle) starts. */
size_t ul_runner_next_cycled(ul_runner *r, ul_batcher *b, int *epoch);
/* One shuffled pass over v (batches of bs, task transform with augmentation, eval mode), adding
 * per parameter the batch-mean cross-entropy gradient (square = false) or its square (true) into
 * acc[0..P). *nbatches gets the number of batches. The gradient block is left zero. */
ul_status ul_runner_grad_pass(ul_runner *r, const ul_view *v, int bs, uint64_t seed, bool square,
                              double *acc, size_t *nbatches);

/* Cross-entropy hook: labels of positions < nrelabel are replaced by relabel[pos]; the loss and
 * its gradient are multiplied by sign. */
typedef struct ul_ce_loss {
    const int32_t *relabel;
    size_t nrelabel;
    double sign;
} ul_ce_loss;
ul_status ul_loss_ce(void *user, ul_runner *r, size_t n, double *loss);

/* p->epochs epochs of the CE hook over `view` (batches of bs, shuffled from subseed DATA),
 * learning rate per epoch from p->sched, clip p->clip_norm, BN per p->bn_eval. */
typedef struct ul_ce_run {
    const ul_view *view;
    int batch_size;
    ul_ce_loss ce;
    const float *mask;
    ul_grad_fn grad;
    void *grad_user;
    const char *phase;
    bool forget;
} ul_ce_run;
ul_status ul_unlearn_ce_epochs(ul_runner *r, const ul_ce_run *run);

/* ---- numerical pieces ---------------------------------------------------------------------- */

/* KL distillation: returns scale * sum_i sum_c p_t (ln p_t - ln p_s) with p = softmax(z / T) of
 * teacher (t) and student (s) logits, n rows of K; ADDS scale * (p_s - p_t) / T to dl when dl is
 * non-NULL. Terms with p_t = 0 contribute 0 (xlogy). Bad Teacher: scale 1/(n K) (kl_div 'mean');
 * SCRUB: scale T^2 / n (DistillKL). */
double ul_unlearn_kl(const float *t_logits, const float *s_logits, size_t n, int K, double T, double scale,
                     float *dl);

/* mask[k] = 1 for the floor(ratio * n) largest score[k] (ties: lower index first), else 0.
 * score must be finite and >= 0. Returns the number of ones. */
size_t ul_unlearn_topk_mask(const float *score, size_t n, double ratio, float *mask);

/* g *= mask (if mask), then clip to global L2 norm max_norm (if > 0). Returns the norm before
 * clipping. */
double ul_unlearn_mask_clip(float *g, const float *mask, size_t n, double max_norm);

/* SFR-on adaptive weights (spec §2.2): c_i = 1 / (l_i^lambda + 1e-15), w_i = c_i / sum c, i.e.
 * softmax(-lambda ln l) up to the epsilon; finite for l_i = 0. */
void ul_sfron_weights(const float *losses, size_t n, double lambda, double *w);
/* alpha_t = alpha0 * (1 + cos(pi t / T)) / 2. */
double ul_sfron_alpha(double alpha0, int64_t t, int64_t T);
/* mask[k] = (Ff[k] + 1e-15) / (Fr[k] + 1e-15) >= gamma, in float32 as the official code. Returns
 * the number of ones. */
size_t ul_sfron_mask(const float *Ff, const float *Fr, size_t n, double gamma, float *mask);

/* ---- methods (each validates nothing the dispatcher checked) ------------------------------- */

ul_status ul_unlearn_retrain(ul_ucall *c);
ul_status ul_unlearn_ft(ul_ucall *c);
ul_status ul_unlearn_ga(ul_ucall *c);
ul_status ul_unlearn_rl(ul_ucall *c);
/* rl with an optional gradient mask (salun), on an initialised runner. */
ul_status ul_unlearn_rl_run(ul_runner *r, const float *mask);
ul_status ul_unlearn_salun(ul_ucall *c);
ul_status ul_unlearn_l1sparse(ul_ucall *c);
ul_status ul_unlearn_badteacher(ul_ucall *c);
ul_status ul_unlearn_scrub(ul_ucall *c);
ul_status ul_unlearn_ssd(ul_ucall *c);
ul_status ul_unlearn_sfron(ul_ucall *c);

#endif
