/* Output divergences between two models on the same samples (sfron.md 3.4; SFR-on's
 * Classification/evaluation/js_div.py): KL(p || q) = sum_c p (ln(p + 1e-20) - ln(q + 1e-20)) and
 * the Jensen-Shannon divergence 1/2 KL(p || m) + 1/2 KL(q || m), m = (p + q) / 2, natural log,
 * summed over classes and averaged over samples, in double. SFR-on reports KL(retrained ||
 * unlearned) on the forget set. Deliberately not the 1/2 KL(m || p) + 1/2 KL(m || q) with
 * element-mean reduction that BadT/SSD compute as "JS" (peers.md 1.3), and no temperature.
 */
#include "unlearn/eval.h"

#include <math.h>
#include <string.h>

static double kl_row(const float *p, const float *q, int k) {
    double s = 0.0;
    for (int j = 0; j < k; j++) {
        double a = p[j], b = q[j];
        if (a > 0.0) s += a * (log(a + UL_DIV_EPS) - log(b + UL_DIV_EPS));
    }
    return s;
}

static double js_row(const float *p, const float *q, int k) {
    double s = 0.0;
    for (int j = 0; j < k; j++) {
        double a = p[j], b = q[j], m = 0.5 * (a + b), lm = log(m + UL_DIV_EPS);
        if (a > 0.0) s += 0.5 * a * (log(a + UL_DIV_EPS) - lm);
        if (b > 0.0) s += 0.5 * b * (log(b + UL_DIV_EPS) - lm);
    }
    return s;
}

static ul_status check_pair(const ul_predictions *p, const ul_predictions *q, const char *what) {
    if (!p || !q) return ul_fail(UL_E_ARG, "%s: predictions are NULL", what);
    if (p->n == 0 || q->n == 0) return ul_fail(UL_E_ARG, "%s: the set is empty", what);
    if (p->n != q->n || p->classes != q->classes)
        return ul_fail(UL_E_SHAPE, "%s: predictions of %zu x %d and %zu x %d do not match", what, p->n, p->classes,
                       q->n, q->classes);
    if (!p->probs || !q->probs || p->classes < 1) return ul_fail(UL_E_ARG, "%s: predictions are incomplete", what);
    if (p->ds && q->ds && p->ds != q->ds)
        return ul_fail(UL_E_ARG, "%s: the predictions come from different datasets", what);
    if (p->idx && q->idx && memcmp(p->idx, q->idx, p->n * sizeof *p->idx) != 0)
        return ul_fail(UL_E_ARG, "%s: the predictions come from different samples (view indices differ)", what);
    if (p->labels && q->labels)
        for (size_t i = 0; i < p->n; i++)
            if (p->labels[i] != q->labels[i])
                return ul_fail(UL_E_ARG, "%s: sample %zu has label %d in one set and %d in the other", what, i,
                               (int)p->labels[i], (int)q->labels[i]);
    return UL_OK;
}

static ul_status mean_div(const ul_predictions *p, const ul_predictions *q, bool js, double *out) {
    const char *what = js ? "JS divergence" : "KL divergence";
    ul_status st = check_pair(p, q, what);
    if (st != UL_OK) return st;
    const int k = p->classes;
    double s = 0.0;
    for (size_t i = 0; i < p->n; i++) {
        const float *a = p->probs + i * (size_t)k, *b = q->probs + i * (size_t)k;
        double d = js ? js_row(a, b, k) : kl_row(a, b, k);
        if (!isfinite(d)) return ul_fail(UL_E_NUMERIC, "%s: sample %zu gives a non-finite value", what, i);
        s += d;
    }
    *out = s / (double)p->n;
    return UL_OK;
}

ul_status ul_kl_div(const ul_predictions *p, const ul_predictions *q, double *out) {
    if (!out) return ul_fail(UL_E_ARG, "KL divergence: out is NULL");
    return mean_div(p, q, false, out);
}

ul_status ul_js_div(const ul_predictions *p, const ul_predictions *q, double *out) {
    if (!out) return ul_fail(UL_E_ARG, "JS divergence: out is NULL");
    return mean_div(p, q, true, out);
}
