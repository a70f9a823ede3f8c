/* Summaries over metrics and seeds: Avg. Gap to the retrained model (sfron.md decision 4, as
 * DualOptim's parse_result.py computes it: the mean absolute difference over UA, RA, TA and MIA)
 * and mean +- standard deviation with a chosen ddof (two-pass, double). Deliberately no
 * confidence intervals, no weighting of the four gaps and no "ToW" or other composite scores.
 */
#include "unlearn/eval.h"

#include <math.h>

ul_status ul_avg_gap(const ul_gap_metrics *m, const ul_gap_metrics *rt, double *out) {
    if (!m || !rt || !out) return ul_fail(UL_E_ARG, "avg gap: NULL argument");
    const double a[4] = {m->ua, m->ra, m->ta, m->mia}, b[4] = {rt->ua, rt->ra, rt->ta, rt->mia};
    static const char *names[4] = {"UA", "RA", "TA", "MIA"};
    double s = 0.0;
    for (int i = 0; i < 4; i++) {
        if (!isfinite(a[i]) || !isfinite(b[i]))
            return ul_fail(UL_E_NUMERIC, "avg gap: %s is not finite (%g, retrain %g)", names[i], a[i], b[i]);
        s += fabs(a[i] - b[i]);
    }
    *out = s / 4.0;
    return UL_OK;
}

ul_status ul_mean_std(const double *x, size_t n, int ddof, double *mean, double *std) {
    if (!mean || !std) return ul_fail(UL_E_ARG, "mean/std: NULL output");
    if (n == 0 || !x) return ul_fail(UL_E_ARG, "mean/std: no values");
    if (ddof < 0) return ul_fail(UL_E_ARG, "mean/std: ddof %d must be >= 0", ddof);
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(x[i])) return ul_fail(UL_E_NUMERIC, "mean/std: value %zu is not finite", i);
        s += x[i];
    }
    const double mu = s / (double)n;
    double ss = 0.0;
    for (size_t i = 0; i < n; i++) ss += (x[i] - mu) * (x[i] - mu);
    *mean = mu;
    *std = n > (size_t)ddof ? sqrt(ss / (double)(n - (size_t)ddof)) : NAN;
    return UL_OK;
}
