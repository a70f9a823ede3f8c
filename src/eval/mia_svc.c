/* SalUn's membership-inference metric "MIA-Efficacy" (sfron.md 3.5; OPTML-Group/Unlearn-Saliency
 * Classification/evaluation/SVC_MIA.py, "confidence" entry, called from main_forget.py): feature =
 * softmax probability of the true label; training = the first |test| retain samples (member) and
 * the test set (non-member), no class weights; RBF C-SVC (C = 3, gamma "auto" = 1/n_features)
 * trained by libsvm, the solver sklearn's SVC wraps; result = non-member rate on the forget set.
 * Training rows go to libsvm non-members first so its classes are grouped as sklearn's sorted-label
 * fork groups them (same sample order inside the solver). Deliberately only the confidence
 * feature (not SalUn's correctness/entropy/m_entropy/prob variants) and no "training privacy" MIA.
 */
#include "unlearn/eval.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <svm.h>

ul_mia_svc_params ul_mia_svc_defaults(void) {
    return (ul_mia_svc_params){.C = 3.0, .gamma = 0.0, .tol = 1e-3, .cache_mb = 200.0};
}

static void svm_quiet(const char *s) { (void)s; }

static ul_status check_x(const double *x, size_t n, const char *what) {
    if (n && !x) return ul_fail(UL_E_ARG, "mia_svc_confidence: %s features are NULL", what);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return ul_fail(UL_E_NUMERIC, "mia_svc_confidence: %s feature %zu is not finite", what, i);
    return UL_OK;
}

ul_status ul_mia_svc_features(const double *x_in, size_t n_in, const double *x_out, size_t n_out,
                              const double *x_target, size_t n_target, const ul_mia_svc_params *p, double *decision,
                              ul_mia_svc_result *out) {
    if (!out) return ul_fail(UL_E_ARG, "mia_svc_confidence: out is NULL");
    ul_mia_svc_params prm = p ? *p : ul_mia_svc_defaults();
    if (n_in == 0 || n_out == 0)
        return ul_fail(UL_E_ARG, "mia_svc_confidence: the shadow training data has a single class (%zu members from "
                                 "the retain set, %zu non-members from the test set); both must be non-empty",
                       n_in, n_out);
    if (n_target == 0) return ul_fail(UL_E_ARG, "mia_svc_confidence: the forget set is empty");
    if (n_in > (size_t)INT_MAX / 4 || n_out > (size_t)INT_MAX / 4)
        return ul_fail(UL_E_ARG, "mia_svc_confidence: %zu training samples exceed libsvm's int range", n_in + n_out);
    if (!(prm.C > 0) || !isfinite(prm.C) || !(prm.tol > 0) || !(prm.cache_mb > 0) || !isfinite(prm.gamma))
        return ul_fail(UL_E_ARG, "mia_svc_confidence: C (%g), tol (%g) and cache (%g MB) must be positive", prm.C,
                       prm.tol, prm.cache_mb);
    ul_status st;
    if ((st = check_x(x_in, n_in, "member")) != UL_OK) return st;
    if ((st = check_x(x_out, n_out, "non-member")) != UL_OK) return st;
    if ((st = check_x(x_target, n_target, "target")) != UL_OK) return st;

    const size_t l = n_in + n_out;
    struct svm_node *nodes = ul_malloc(2 * l, sizeof *nodes), **rows = ul_malloc(l, sizeof *rows);
    double *y = ul_malloc(l, sizeof *y);
    struct svm_model *model = NULL;
    if (!nodes || !rows || !y) {
        st = UL_E_NOMEM;
        goto done;
    }
    for (size_t i = 0; i < l; i++) {
        /* non-members (label 0) first: libsvm orders classes by first occurrence, sklearn's fork by
         * sorted label; this makes the two agree (label[0] = 0) */
        double v = i < n_out ? x_out[i] : x_in[i - n_out];
        nodes[2 * i] = (struct svm_node){.index = 1, .value = v};
        nodes[2 * i + 1] = (struct svm_node){.index = -1, .value = 0.0};
        rows[i] = &nodes[2 * i];
        y[i] = i < n_out ? 0.0 : 1.0;
    }
    struct svm_problem prob = {.l = (int)l, .y = y, .x = rows};
    struct svm_parameter param;
    memset(&param, 0, sizeof param);
    param.svm_type = C_SVC;
    param.kernel_type = RBF;
    param.degree = 3;
    param.gamma = prm.gamma > 0 ? prm.gamma : 1.0; /* "auto": 1 / n_features, one feature */
    param.coef0 = 0.0;
    param.cache_size = prm.cache_mb;
    param.eps = prm.tol;
    param.C = prm.C;
    param.shrinking = 1;
    param.probability = 0;
    const char *err = svm_check_parameter(&prob, &param);
    if (err) {
        st = ul_fail(UL_E_ARG, "mia_svc_confidence: libsvm rejects the parameters: %s", err);
        goto done;
    }
    svm_set_print_string_function(svm_quiet);
    model = svm_train(&prob, &param);
    if (!model || svm_get_nr_class(model) != 2) {
        st = ul_fail(UL_E_INTERNAL, "mia_svc_confidence: libsvm training failed");
        goto done;
    }
    int labels[2];
    svm_get_labels(model, labels);
    const double sign = labels[0] == 1 ? 1.0 : -1.0; /* orient decision values: > 0 = member */
    ul_mia_svc_result r = {0};
    r.n_forget = n_target;
    r.n_shadow_in = n_in;
    r.n_shadow_out = n_out;
    r.n_sv = svm_get_nr_sv(model);
    for (size_t i = 0; i < n_target; i++) {
        struct svm_node q[2] = {{.index = 1, .value = x_target[i]}, {.index = -1, .value = 0.0}};
        double dec = 0.0;
        double lab = svm_predict_values(model, q, &dec);
        if (decision) decision[i] = sign * dec;
        r.n_nonmember += (lab == 0.0);
    }
    r.rate = 100.0 * (double)r.n_nonmember / (double)n_target;
    *out = r;
done:
    svm_free_and_destroy_model(&model); /* the model's SVs point into nodes: free it first */
    free(nodes);
    free(rows);
    free(y);
    return st;
}

/* Softmax probability of the true label of each sample. */
static ul_status confidences(const ul_predictions *p, size_t n, const char *what, double **x) {
    *x = NULL;
    if (!p) return ul_fail(UL_E_ARG, "mia_svc_confidence: %s predictions are NULL", what);
    if (p->n && (!p->probs || !p->labels || p->classes < 1))
        return ul_fail(UL_E_ARG, "mia_svc_confidence: %s predictions are incomplete", what);
    *x = ul_malloc(n, sizeof(double));
    if (!*x) return UL_E_NOMEM;
    for (size_t i = 0; i < n; i++) {
        int32_t y = p->labels[i];
        if (y < 0 || y >= p->classes) {
            free(*x);
            *x = NULL;
            return ul_fail(UL_E_ARG, "mia_svc_confidence: %s sample %zu has label %d outside the model's %d classes",
                           what, i, (int)y, p->classes);
        }
        (*x)[i] = (double)p->probs[i * (size_t)p->classes + (size_t)y];
    }
    return UL_OK;
}

ul_status ul_mia_svc_confidence(const ul_predictions *retain, const ul_predictions *forget, const ul_predictions *test,
                                const ul_mia_svc_params *p, ul_mia_svc_result *out) {
    if (!out) return ul_fail(UL_E_ARG, "mia_svc_confidence: out is NULL");
    if (!retain || !forget || !test) return ul_fail(UL_E_ARG, "mia_svc_confidence: predictions are NULL");
    /* SalUn: Subset(retain, range(len(test))); a retain set shorter than the test set is used whole
     * (the reference would raise an IndexError there). */
    const size_t n_in = retain->n < test->n ? retain->n : test->n;
    double *xi = NULL, *xo = NULL, *xt = NULL;
    ul_status st;
    if ((st = confidences(retain, n_in, "retain", &xi)) == UL_OK && (st = confidences(test, test->n, "test", &xo)) == UL_OK &&
        (st = confidences(forget, forget->n, "forget", &xt)) == UL_OK)
        st = ul_mia_svc_features(xi, n_in, xo, test->n, xt, forget->n, p, NULL, out);
    free(xi);
    free(xo);
    free(xt);
    return st;
}
