/* unlearn/fisher.h: diagonal empirical Fisher information of a model on a data view.
 *
 * Two estimators (spec fiun.md, decision 3):
 *   UL_FISHER_SAMPLE  per-sample empirical Fisher  F_k = (1/n) * sum_i (d l_i / d theta_k)^2,
 *                     l_i the cross-entropy of sample i with its true label (the default);
 *   UL_FISHER_BATCH   the reference code's estimator: batches of `batch_size` samples in view
 *                     order, each truncated to its first `trunc` samples (0 = no truncation),
 *                     F_k = (1/N_b) * sum_b (d L_b / d theta_k)^2 with L_b the batch-mean loss.
 * Two scopes (decision 4): UL_FISHER_LAST (the final linear layer's weight and bias; the
 * backbone runs forward only and the per-sample squares come in closed form,
 * F_W = (1/n) (Delta o Delta)^T (H o H)) and UL_FISHER_ALL (every trainable tensor; per-sample
 * squared gradients without one backward pass per sample: linear layers use the same
 * outer-product identity, convolutions one small GEMM per sample, BN per-sample channel sums).
 * The model runs in eval mode (BN running statistics, decision 14); nothing in it changes.
 * Results are identical for any thread count. Values outside the scope are 0.
 */
#ifndef UNLEARN_FISHER_H
#define UNLEARN_FISHER_H

#include "unlearn/base.h"
#include "unlearn/data.h"
#include "unlearn/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ul_fisher_estimator { UL_FISHER_SAMPLE = 0, UL_FISHER_BATCH = 1, UL_FISHER_ESTIMATOR_COUNT } ul_fisher_estimator;
typedef enum ul_fisher_scope { UL_FISHER_LAST = 0, UL_FISHER_ALL = 1, UL_FISHER_SCOPE_COUNT } ul_fisher_scope;

typedef struct ul_fisher_params {
    ul_fisher_estimator estimator;
    ul_fisher_scope scope;
    int batch_size;   /* batch estimator: samples per batch (reference: 32); sample estimator:
                         samples per forward pass (speed only, no effect on the result) */
    int trunc;        /* batch estimator: use the first `trunc` samples of each batch (0 = all) */
} ul_fisher_params;

/* Defaults: sample estimator, last scope, batch_size 128 (sample) / 32 (batch), trunc 32. */
ul_fisher_params ul_fisher_defaults(ul_fisher_estimator est);

const char *ul_fisher_estimator_name(ul_fisher_estimator e); /* "sample", "batch" */
const char *ul_fisher_scope_name(ul_fisher_scope s);         /* "last", "all" */
ul_status ul_fisher_parse(const char *estimator, const char *scope, ul_fisher_params *out);

/* Compute the diagonal Fisher of `m` on view `v` (inputs normalised by `tf`, no augmentation)
 * into out[0 .. ul_model_num_params(m)). The model's parameters and buffers are unchanged; its
 * gradient block is left zero. An empty view gives UL_E_ARG. */
ul_status ul_fisher(ul_model *m, const ul_view *v, const ul_transform *tf, const ul_fisher_params *p, float *out);

/* Per-class sums for the per-sample estimator over the last scope: with [lo, hi) the head's range
 * in the parameter block (ul_fisher_head_range) and H = hi - lo, sums[c * H + j] receives
 * sum over the view's samples i of class c of g_i[lo + j]^2, counts[c] the number of those
 * samples (K = the model's classes; caller-provided arrays of K * H floats and K counts). One
 * forward pass gives every class, so a model's full-data Fisher and its Fisher on any label
 * subset (a forget request) both follow from one cached result without touching data again. */
ul_status ul_fisher_class_sums(ul_model *m, const ul_view *v, const ul_transform *tf, int batch_size, float *sums,
                               int64_t *counts);
void ul_fisher_head_range(const ul_model *m, size_t *lo, size_t *hi);
/* out[0 .. P) = 0 outside [lo, hi); inside, (sum over the classes of sums) / (sum of their counts),
 * summed in double. classes NULL = every class. UL_E_ARG when those classes have no samples. */
ul_status ul_fisher_from_class_sums(const float *sums, const int64_t *counts, int K, size_t lo, size_t hi, size_t P,
                                    const int32_t *classes, size_t nclasses, float *out);

/* Whether parameter index k (in [0, P)) lies in the scope. */
bool ul_fisher_in_scope(const ul_model *m, ul_fisher_scope s, size_t k);

/* ---- dampening (Selective Synaptic Dampening, as FIUn and SSD use it) ------------------ */

typedef struct ul_dampen_params {
    double alpha;     /* selection: k is selected when I_f[k] > alpha * I_D[k] (strict) */
    double lambda;    /* dampening constant */
    double exponent;  /* e */
    double beta_max;  /* cap on the factor (the reference code's misnamed "lower_bound") */
} ul_dampen_params;

/* Defaults of fiun.md decision 7: lambda 1, e 1, beta_max 1; alpha as given. */
ul_dampen_params ul_dampen_defaults(double alpha);

/* For every k in [0, n): if If[k] > alpha * ID[k], theta[k] *= min((lambda * ID[k] / If[k])^e,
 * beta_max). No epsilon: ID[k] = 0 with If[k] > 0 sets theta[k] to 0; If[k] = 0 never selects.
 * Returns the number of selected values. Values outside a Fisher scope have If = ID = 0 and are
 * never touched. */
size_t ul_dampen(float *theta, const float *ID, const float *If, size_t n, const ul_dampen_params *p);

/* The same rule at the granularity of units: a unit is one output of a layer (a row of a linear
 * weight with its bias, one output channel of a convolution with its bias, one channel of a
 * BatchNorm's weight and bias). A unit is selected when the sum of I_f over its values exceeds
 * alpha times the sum of I_D, and all its values are scaled by min((lambda * sum I_D / sum I_f)^e,
 * beta_max). Per-element ratios of small Fishers are noisy (a confidently learned class whose
 * row has a tiny I_D gets selected by a few forget gradients); the unit sums are not. Units wholly
 * outside a Fisher scope have zero sums and are never selected. theta, ID and If cover the
 * model's parameter block. Returns the number of values scaled. */
size_t ul_dampen_units(const ul_model *m, float *theta, const float *ID, const float *If, const ul_dampen_params *p);
/* The units of a model (in block order), each unit's ratio sum I_f / sum I_D (0 where sum I_f is 0,
 * +inf where only sum I_D is 0), and dampening of the units marked in sel[0 .. ul_unit_count)
 * (alpha is not consulted; the factor is the same as ul_dampen_units'). */
size_t ul_unit_count(const ul_model *m);
/* The index of the unit that holds parameter index k, (size_t)-1 when none does. */
size_t ul_unit_of(const ul_model *m, size_t k);
void ul_unit_ratios(const ul_model *m, const float *ID, const float *If, double *ratio);
size_t ul_dampen_units_selected(const ul_model *m, float *theta, const float *ID, const float *If,
                                const ul_dampen_params *p, const unsigned char *sel);

/* MFIM (fiun.md decision 6): out[k] = max_j F_j[k] / c^(K-1) over K >= 1 forget Fishers; K = 1
 * copies F_0 exactly. `out` may alias F[0]. */
void ul_mfim(const float *const *F, int K, size_t n, double c, float *out);

#ifdef __cplusplus
}
#endif
#endif
