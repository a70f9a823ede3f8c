/* SFR-on's membership-inference metric (sfron.md 3.3; Classification/evaluation/mia.py, metric
 * "entropy"): prediction entropy as the only feature; sklearn 0.24 LogisticRegression
 * (class_weight="balanced", multinomial, C = 1, L2, unpenalised intercept) trained on retain
 * (member) vs test (non-member); the member rate on the forget set. Two-class multinomial is a
 * binary logistic regression with penalty w^2 / (4C); we solve that by damped Newton to
 * convergence (lbfgs with max_iter = 100 may stop marginally short). Deliberately no m_entropy
 * or loss features, no cross-validation and no feature scaling (the reference has none).
 */
#include "unlearn/eval.h"

#include <math.h>
#include <stdlib.h>

#define LR_C 1.0         /* sklearn's default C */
#define LR_MAX_ITER 200

void ul_entropy_rows(const float *probs, size_t n, int k, double *out) {
    for (size_t i = 0; i < n; i++) {
        const float *p = probs + i * (size_t)k;
        double h = 0.0;
        for (int j = 0; j < k; j++)
            if (p[j] > 0.0f) h -= (double)p[j] * log((double)p[j]);
        out[i] = h;
    }
}

/* log(1 + exp(z)) without overflow. */
static double log1pexp(double z) { return z > 0 ? z + log1p(exp(-z)) : log1p(exp(z)); }
static double sigmoid(double z) {
    if (z >= 0) return 1.0 / (1.0 + exp(-z));
    double e = exp(z);
    return e / (1.0 + e);
}

typedef struct lr_data {
    const double *x[2]; /* x[1]: members (y = 1), x[0]: non-members (y = 0) */
    size_t n[2];
    double s[2];        /* class weights */
    double inv_c;       /* 1 / C_eff */
} lr_data;

/* Weighted objective sum_i s_i (log(1 + e^z_i) - y_i z_i) + v^2 inv_c / 2, z = v x + c. */
static double lr_objective(const lr_data *d, double v, double c) {
    double f = 0.5 * d->inv_c * v * v;
    for (int y = 0; y < 2; y++) {
        double acc = 0.0;
        for (size_t i = 0; i < d->n[y]; i++) {
            double z = v * d->x[y][i] + c;
            acc += log1pexp(z) - (y ? z : 0.0);
        }
        f += d->s[y] * acc;
    }
    return f;
}

/* Gradient (gv, gc) and Hessian [[hvv, hvc], [hvc, hcc]] at (v, c). */
static void lr_derivs(const lr_data *d, double v, double c, double g[2], double h[3]) {
    g[0] = d->inv_c * v;
    g[1] = 0.0;
    h[0] = d->inv_c;
    h[1] = h[2] = 0.0;
    for (int y = 0; y < 2; y++) {
        double g0 = 0, g1 = 0, h0 = 0, h1 = 0, h2 = 0;
        for (size_t i = 0; i < d->n[y]; i++) {
            double x = d->x[y][i], p = sigmoid(v * x + c), r = p - (double)y, w = p * (1.0 - p);
            g0 += r * x;
            g1 += r;
            h0 += w * x * x;
            h1 += w * x;
            h2 += w;
        }
        g[0] += d->s[y] * g0;
        g[1] += d->s[y] * g1;
        h[0] += d->s[y] * h0;
        h[1] += d->s[y] * h1;
        h[2] += d->s[y] * h2;
    }
}

/* Minimise the (strictly convex) objective by Newton steps with backtracking. */
static ul_status lr_fit(const lr_data *d, double *vo, double *co, int *iters) {
    double v = 0.0, c = 0.0, f = lr_objective(d, v, c);
    const double scale = d->s[0] * (double)d->n[0] + d->s[1] * (double)d->n[1]; /* total weight */
    for (int it = 1; it <= LR_MAX_ITER; it++) {
        double g[2], h[3];
        lr_derivs(d, v, c, g, h);
        double det = h[0] * h[2] - h[1] * h[1];
        double dv, dc;
        if (det > 0 && isfinite(det)) {
            dv = -(h[2] * g[0] - h[1] * g[1]) / det;
            dc = -(h[0] * g[1] - h[1] * g[0]) / det;
        } else { /* numerically flat curvature: fall back to a scaled gradient step */
            dv = -g[0] / (h[0] > 0 ? h[0] : 1.0);
            dc = -g[1] / (h[2] > 0 ? h[2] : 1.0);
        }
        double dec = -(g[0] * dv + g[1] * dc); /* Newton decrement squared, >= 0 */
        if (!(dec >= 0) || !isfinite(dec)) break;
        if (dec <= 1e-8 * scale) { /* quadratic-convergence region: full steps, no line search */
            v += dv;
            c += dc;
            if (dec <= 1e-20 * scale) { /* the step just taken leaves an error of order dec^2 */
                *vo = v;
                *co = c;
                *iters = it;
                return UL_OK;
            }
            f = lr_objective(d, v, c);
            continue;
        }
        double t = 1.0, fn = 0.0;
        int ls = 0;
        for (; ls < 60; ls++, t *= 0.5) {
            fn = lr_objective(d, v + t * dv, c + t * dc);
            if (fn <= f - 1e-4 * t * dec) break;
        }
        if (ls == 60) { /* no decrease representable any more: at the optimum to rounding */
            *vo = v;
            *co = c;
            *iters = it - 1;
            return UL_OK;
        }
        v += t * dv;
        c += t * dc;
        f = fn;
    }
    return ul_fail(UL_E_NUMERIC, "mia_entropy_lr: the logistic regression did not converge in %d Newton steps",
                   LR_MAX_ITER);
}

static ul_status check_features(const double *x, size_t n, const char *what) {
    if (n && !x) return ul_fail(UL_E_ARG, "mia_entropy_lr: %s features are NULL", what);
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return ul_fail(UL_E_NUMERIC, "mia_entropy_lr: %s feature %zu is not finite", what, i);
    return UL_OK;
}

ul_status ul_mia_entropy_lr_features(const double *h_member, size_t n_member, const double *h_nonmember,
                                     size_t n_nonmember, const double *h_target, size_t n_target,
                                     ul_mia_lr_result *out) {
    if (!out) return ul_fail(UL_E_ARG, "mia_entropy_lr: out is NULL");
    if (n_member == 0 || n_nonmember == 0)
        return ul_fail(UL_E_ARG, "mia_entropy_lr: the attack training data has a single class (%zu members from the "
                                 "retain set, %zu non-members from the test set); both must be non-empty",
                       n_member, n_nonmember);
    if (n_target == 0) return ul_fail(UL_E_ARG, "mia_entropy_lr: the forget set is empty");
    ul_status st;
    if ((st = check_features(h_member, n_member, "retain (member)")) != UL_OK) return st;
    if ((st = check_features(h_nonmember, n_nonmember, "test (non-member)")) != UL_OK) return st;
    if ((st = check_features(h_target, n_target, "forget (target)")) != UL_OK) return st;

    const double n = (double)(n_member + n_nonmember);
    lr_data d = {.x = {h_nonmember, h_member}, .n = {n_nonmember, n_member}};
    d.s[1] = n / (2.0 * (double)n_member); /* class_weight="balanced": n / (n_classes * n_c) */
    d.s[0] = n / (2.0 * (double)n_nonmember);
    d.inv_c = 1.0 / (2.0 * LR_C);          /* two-class multinomial = binary with C_eff = 2C */
    double v = 0.0, c = 0.0;
    int iters = 0;
    if ((st = lr_fit(&d, &v, &c, &iters)) != UL_OK) return st;

    ul_mia_lr_result r = {0};
    r.coef = 0.5 * v; /* multinomial rows are (-v/2, -c/2) and (v/2, c/2); sklearn keeps the latter */
    r.intercept = 0.5 * c;
    r.threshold = v != 0.0 ? -c / v : NAN;
    r.weight_member = d.s[1];
    r.weight_nonmember = d.s[0];
    r.iters = iters;
    r.n_forget = n_target;
    for (size_t i = 0; i < n_target; i++) r.n_member += (r.coef * h_target[i] + r.intercept > 0.0);
    r.rate = 100.0 * (double)r.n_member / (double)n_target;
    size_t right = 0;
    for (size_t i = 0; i < n_member; i++) right += (r.coef * h_member[i] + r.intercept > 0.0);
    for (size_t i = 0; i < n_nonmember; i++) right += !(r.coef * h_nonmember[i] + r.intercept > 0.0);
    r.train_acc = 100.0 * (double)right / n;
    *out = r;
    return UL_OK;
}

static ul_status entropies(const ul_predictions *p, const char *what, double **h) {
    *h = NULL;
    if (!p) return ul_fail(UL_E_ARG, "mia_entropy_lr: %s predictions are NULL", what);
    if (p->n && (!p->probs || p->classes < 1))
        return ul_fail(UL_E_ARG, "mia_entropy_lr: %s predictions are incomplete", what);
    *h = ul_malloc(p->n, sizeof(double));
    if (!*h) return UL_E_NOMEM;
    ul_entropy_rows(p->probs, p->n, p->classes, *h);
    return UL_OK;
}

ul_status ul_mia_entropy_lr(const ul_predictions *retain, const ul_predictions *forget, const ul_predictions *test,
                            ul_mia_lr_result *out) {
    if (!out) return ul_fail(UL_E_ARG, "mia_entropy_lr: out is NULL");
    double *hr = NULL, *hf = NULL, *ht = NULL;
    ul_status st;
    if ((st = entropies(retain, "retain", &hr)) == UL_OK && (st = entropies(forget, "forget", &hf)) == UL_OK &&
        (st = entropies(test, "test", &ht)) == UL_OK)
        st = ul_mia_entropy_lr_features(hr, retain->n, ht, test->n, hf, forget->n, out);
    free(hr);
    free(hf);
    free(ht);
    return st;
}
