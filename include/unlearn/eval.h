/* unlearn/eval.h: unlearning metrics, each named for the paper/code variant it implements.
 *
 * Everything starts from ul_predictions: per-sample logits, softmax probabilities and labels of
 * one model on one view (eval mode, test-time normalisation, no augmentation). From those:
 *   - accuracies FA, UA = 100 - FA, RA, TA (and, for class-wise forgetting, TA on the remaining
 *     classes and on the forgotten ones), all in percent;
 *   - mia_entropy_lr      SFR-on's MIA (entropy feature, class-balanced logistic regression,
 *                         retain = member, test = non-member; member rate on the forget set);
 *   - mia_svc_confidence  SalUn's MIA-Efficacy (RBF SVC via libsvm on the true-class confidence;
 *                         non-member rate on the forget set);
 *   - KL and Jensen-Shannon divergence of the unlearned model's predictions to the retrained
 *     model's (natural log, mean over samples);
 *   - Avg. Gap to the retrained model and mean +- std over seeds.
 * docs/metrics.md gives each formula, its source and its pitfalls. Rates and accuracies are in
 * percent (0..100); divergences in nats.
 *
 * Ownership: ul_predictions owns its arrays (free with ul_predictions_free). Result structs are
 * plain values. Inputs are borrowed and never modified. Every function is deterministic (a fixed
 * summation order; the model's forward pass is deterministic for a thread count).
 */
#ifndef UNLEARN_EVAL_H
#define UNLEARN_EVAL_H

#include "unlearn/base.h"
#include "unlearn/data.h"
#include "unlearn/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- predictions ------------------------------------------------------------------- */

typedef struct ul_predictions {
    size_t n;               /* samples */
    int classes;            /* k: columns of logits/probs */
    float *logits;          /* owned, n*k, row-major; NULL when built from probabilities */
    float *probs;           /* owned, n*k softmax probabilities (computed in double, stored as
                               float32 like PyTorch's F.softmax output) */
    int32_t *labels;        /* owned, n true labels (may lie outside [0, k): such samples count
                               as wrong for accuracy and are rejected by the confidence MIA) */
    int32_t *idx;           /* owned, n dataset indices of the view's samples; NULL if unknown */
    const ul_dataset *ds;   /* borrowed: the view's dataset; NULL if unknown */
} ul_predictions;

/* Run `m` in eval mode over view `v` in view order, `batch_size` samples per forward pass
 * (<= 0: 256; results are fixed for a batch size and thread count, and may differ between batch
 * sizes in the last bits where BLAS blocks differently), inputs normalised by `tf` (NULL: none; its
 * augmentation fields are ignored). Fills *out (caller frees with ul_predictions_free). An empty
 * view gives n = 0 (metrics then refuse it with a message). UL_E_SHAPE when the view's sample
 * shape differs from the model's input. The model's parameters and buffers are not changed. */
ul_status ul_predict(ul_model *m, const ul_view *v, const ul_transform *tf, int batch_size,
                     ul_predictions *out);

/* Predictions from memory (for results computed elsewhere and for tests). from_logits copies
 * logits (n*k) and computes the softmax; from_probs copies probabilities (n*k, each finite and
 * in [0, 1]; rows are not renormalised) and leaves logits NULL. labels (n) are copied. idx and
 * ds stay NULL. UL_E_ARG for k < 1, NULL arrays with n > 0, or invalid probabilities;
 * UL_E_NUMERIC for non-finite logits. */
ul_status ul_predictions_from_logits(const float *logits, const int32_t *labels, size_t n, int k,
                                     ul_predictions *out);
ul_status ul_predictions_from_probs(const float *probs, const int32_t *labels, size_t n, int k,
                                    ul_predictions *out);
/* Free the arrays and zero the struct (NULL-safe; safe on a zeroed struct). */
void ul_predictions_free(ul_predictions *p);

/* ---- accuracies ---------------------------------------------------------------------- */

/* Top-1 accuracy in percent: argmax of the logits (of the probabilities when logits is NULL),
 * ties to the lowest class index, compared with the label. UL_E_ARG for an empty set. */
ul_status ul_top1_accuracy(const ul_predictions *p, double *pct);

/* Top-1 accuracy in percent per true label 0..classes-1 (argmax as ul_top1_accuracy) into
 * pct[0..classes); NaN for a label without samples. Samples whose label lies outside
 * [0, classes) are not counted. UL_E_ARG for an empty set or classes < 1. */
ul_status ul_per_class_accuracy(const ul_predictions *p, int classes, double *pct);

typedef struct ul_acc_metrics {
    double fa;          /* forget accuracy: top-1 % on the forget set (SFR-on's "forget_train") */
    double ua;          /* unlearning accuracy, 100 - fa (SalUn's "UA") */
    double ra;          /* retain accuracy: top-1 % on the retain set */
    double ta;          /* test accuracy on the FULL test set (SFR-on's "retain_valid") */
    double ta_remain;   /* class-wise: test samples whose label is not forgotten (SalUn's TA,
                           which removes the forgotten class from the test set); NaN when no
                           forget classes are given */
    double ta_forget;   /* class-wise: test samples of the forgotten classes; NaN when no forget
                           classes are given or the test set has none of them */
    size_t n_forget, n_retain, n_test, n_test_remain;
} ul_acc_metrics;

/* FA, UA, RA and TA from predictions on the forget, retain and test sets. For class-wise
 * forgetting pass the forgotten labels (forget_classes[0..nfc)); for random forgetting pass
 * NULL, 0. UL_E_ARG when a set is empty, or when forget classes are given and every test sample
 * belongs to one of them. */
ul_status ul_eval_accuracies(const ul_predictions *forget, const ul_predictions *retain,
                             const ul_predictions *test, const int32_t *forget_classes, size_t nfc,
                             ul_acc_metrics *out);

/* ---- membership inference: SFR-on's entropy + logistic regression ---------------------- */

/* Prediction entropy of each row, H = -sum_c p_c ln p_c in nats, terms with p_c <= 0 dropped
 * (torch.where(p > 0, p log p, 0) in the reference). out gets n values. */
void ul_entropy_rows(const float *probs, size_t n, int k, double *out);

typedef struct ul_mia_lr_result {
    double rate;        /* % of forget samples predicted member: the SFR-on "MIA" x 100 */
    size_t n_member;    /* forget samples predicted member */
    size_t n_forget;
    double coef;        /* sklearn's coef_[0][0] for LogisticRegression(multinomial) on 2 classes:
                           the class-1 (member) row; the class-0 row is its negative */
    double intercept;   /* sklearn's intercept_[0] (class-1 row) */
    double threshold;   /* -intercept / coef: with coef < 0 a sample is a member iff its entropy
                           is below it (NaN when coef == 0) */
    double train_acc;   /* unweighted % accuracy on the attack training set (sklearn's
                           clf.score(X_r, Y_r), which the reference prints) */
    double weight_member, weight_nonmember; /* "balanced" class weights n / (2 n_c) */
    int iters;          /* Newton iterations to convergence */
} ul_mia_lr_result;

/* SFR-on's MIA (Classification/evaluation/mia.py, metric "entropy"): features H(p) of every
 * retain sample (label 1, member) and every test sample (label 0), fitted with sklearn's
 * LogisticRegression(class_weight="balanced", multi_class="multinomial", C=1, L2, intercept)
 * solved here to convergence by Newton's method on the equivalent binary problem (two-class
 * multinomial = binary logistic regression with penalty w^2 / (2 * 2C)); reported as the member
 * rate on the forget set: member iff coef * H + intercept > 0. Not SalUn's MIA-Efficacy: the
 * target is the retrained model's value, not 0 or 100.
 * UL_E_ARG when the retain or test set is empty (the attack training data would hold a single
 * class) or the forget set is empty; UL_E_NUMERIC for non-finite entropies or a fit that does
 * not converge. */
ul_status ul_mia_entropy_lr(const ul_predictions *retain, const ul_predictions *forget,
                            const ul_predictions *test, ul_mia_lr_result *out);
/* The same from precomputed features (h_member: retain entropies, h_nonmember: test entropies,
 * h_target: forget entropies). */
ul_status ul_mia_entropy_lr_features(const double *h_member, size_t n_member,
                                     const double *h_nonmember, size_t n_nonmember,
                                     const double *h_target, size_t n_target,
                                     ul_mia_lr_result *out);

/* ---- membership inference: SalUn's confidence + RBF SVC (libsvm) ------------------------ */

typedef struct ul_mia_svc_params {
    double C;           /* 3 (SalUn's SVC(C=3)) */
    double gamma;       /* RBF gamma; <= 0 means sklearn's gamma="auto" = 1 / n_features = 1 */
    double tol;         /* stopping tolerance, 1e-3 (libsvm eps = sklearn tol) */
    double cache_mb;    /* kernel cache, 200 MB (sklearn's cache_size) */
} ul_mia_svc_params;

/* SalUn's settings: C = 3, gamma "auto", tol 1e-3, cache 200 MB, shrinking on. */
ul_mia_svc_params ul_mia_svc_defaults(void);

typedef struct ul_mia_svc_result {
    double rate;          /* % of forget samples predicted NON-member: SalUn's MIA-Efficacy x 100 */
    size_t n_nonmember;   /* forget samples predicted non-member */
    size_t n_forget;
    size_t n_shadow_in;   /* members used for training: the first min(|test|, |retain|) retain
                             samples in view order */
    size_t n_shadow_out;  /* non-members used for training: every test sample */
    int n_sv;             /* support vectors of the fitted SVC */
} ul_mia_svc_result;

/* SalUn's MIA-Efficacy (Classification/evaluation/SVC_MIA.py, "confidence" entry, as
 * main_forget.py calls it): feature = softmax probability of the true label; training set =
 * the first |test| retain samples (label 1) and the test set (label 0), no class weights;
 * classifier = RBF SVC, the libsvm C-SVC that sklearn's SVC wraps; reported as the fraction of
 * forget samples predicted non-member, x 100. p NULL = ul_mia_svc_defaults(). The retain view's
 * order matters (SalUn's retain set is in ascending dataset order: UL_SPLIT_ORDER_SORTED).
 * UL_E_ARG for an empty retain, test or forget set or a label outside [0, classes);
 * UL_E_NUMERIC for non-finite features. Side effect: sets libsvm's (process-wide) print function
 * to a no-op, so training prints nothing. Cost: about 5 s for 10 000 + 10 000 training samples. */
ul_status ul_mia_svc_confidence(const ul_predictions *retain, const ul_predictions *forget,
                                const ul_predictions *test, const ul_mia_svc_params *p,
                                ul_mia_svc_result *out);
/* The same from one-dimensional features: x_in (members, used as given: no truncation here),
 * x_out (non-members), x_target (scored). decision (optional, n_target values) gets the SVC
 * decision value of each target, oriented so that > 0 means member. */
ul_status ul_mia_svc_features(const double *x_in, size_t n_in, const double *x_out, size_t n_out,
                              const double *x_target, size_t n_target, const ul_mia_svc_params *p,
                              double *decision, ul_mia_svc_result *out);

/* ---- divergences to the retrained model ------------------------------------------------ */

/* Added to every probability inside the logarithms (SFR-on's evaluation/js_div.py). */
#define UL_DIV_EPS 1e-20

/* Mean over samples of KL(p_i || q_i) = sum_c p_ic (ln(p_ic + eps) - ln(q_ic + eps)), in nats,
 * eps = UL_DIV_EPS; terms with p_ic = 0 contribute 0, and q_ic = 0 with p_ic > 0 gives a large
 * finite term. SFR-on's "D_KL" is ul_kl_div(retrained, unlearned) on the forget set. */
ul_status ul_kl_div(const ul_predictions *p, const ul_predictions *q, double *out);
/* Mean over samples of the Jensen-Shannon divergence JS(p_i, q_i) = 1/2 KL(p_i || m_i) +
 * 1/2 KL(q_i || m_i), m_i = (p_i + q_i) / 2, same eps rule, in nats (so 0 <= JS <= ln 2).
 * Symmetric. Not the 1/2 KL(m || p) + 1/2 KL(m || q) of the BadT/SSD "ZRF" code.
 * Both: UL_E_SHAPE when n or classes differ; UL_E_ARG for empty sets or predictions of
 * different samples (labels differ, or indices/datasets differ when both are known). */
ul_status ul_js_div(const ul_predictions *p, const ul_predictions *q, double *out);

/* ---- summaries --------------------------------------------------------------------- */

typedef struct ul_gap_metrics {
    double ua, ra, ta, mia;   /* percent; mia = ul_mia_lr_result.rate */
} ul_gap_metrics;

/* Avg. Gap (sfron.md decision 4; DualOptim's parse_result.py): the mean of |UA - UA_rt|,
 * |RA - RA_rt|, |TA - TA_rt| and |MIA - MIA_rt|. The reference applies it to seed-averaged
 * values; |FA - FA_rt| = |UA - UA_rt|, so FA may stand in for UA. UL_E_NUMERIC for a non-finite
 * input. */
ul_status ul_avg_gap(const ul_gap_metrics *m, const ul_gap_metrics *retrain, double *out);

/* Mean and standard deviation of x[0..n) with `ddof` delta degrees of freedom: std =
 * sqrt(sum (x - mean)^2 / (n - ddof)). ddof = 1 is the sample std we report over seeds (an
 * unbiased variance from few seeds); ddof = 0 reproduces numpy's np.std, which DualOptim's
 * tables use. std is NaN when n <= ddof (one seed). Two-pass, in double. UL_E_ARG for n = 0 or
 * ddof < 0; UL_E_NUMERIC for a non-finite value. */
ul_status ul_mean_std(const double *x, size_t n, int ddof, double *mean, double *std);

#ifdef __cplusplus
}
#endif
#endif
