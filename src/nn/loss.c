/* Softmax cross-entropy with optional per-sample weights, softmax and argmax.
 * Each row is computed in double with the max-shift for stability; the gradient is that of
 * the weighted mean loss. No label smoothing (methods that need soft targets build them).
 */
#include "unlearn/nn.h"

#include <math.h>

/* Log-sum-exp of one row of k logits, in double, shifted by the row maximum. */
static double row_lse(const float *z, int k) {
    double mx = z[0];
    for (int j = 1; j < k; j++) if (z[j] > mx) mx = z[j];
    double se = 0.0;
    for (int j = 0; j < k; j++) se += exp((double)z[j] - mx);
    return mx + log(se);
}

double ul_softmax_xent(const float *logits, const int32_t *labels, const float *weights, size_t n, int k,
                       float *losses, float *dlogits) {
    double wsum = 0.0;
    for (size_t i = 0; i < n; i++) wsum += weights ? (double)weights[i] : 1.0;
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * (size_t)k;
        const double lse = row_lse(z, k);
        const int y = labels[i];
        const double li = (y >= 0 && y < k) ? lse - (double)z[y] : NAN;
        const double wi = weights ? (double)weights[i] : 1.0;
        if (losses) losses[i] = (float)li;
        total += wi * li;
        if (dlogits) {
            const double sc = wsum > 0.0 ? wi / wsum : 0.0;
            for (int j = 0; j < k; j++) {
                double p = exp((double)z[j] - lse);
                dlogits[i * (size_t)k + j] = (float)((p - (j == y ? 1.0 : 0.0)) * sc);
            }
        }
    }
    return wsum > 0.0 ? total / wsum : 0.0;
}

void ul_softmax(const float *logits, size_t n, int k, float *probs) {
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * (size_t)k;
        const double lse = row_lse(z, k);
        for (int j = 0; j < k; j++) probs[i * (size_t)k + j] = (float)exp((double)z[j] - lse);
    }
}

void ul_argmax(const float *logits, size_t n, int k, int32_t *pred) {
    for (size_t i = 0; i < n; i++) {
        const float *z = logits + i * (size_t)k;
        int b = 0;
        for (int j = 1; j < k; j++) if (z[j] > z[b]) b = j;
        pred[i] = b;
    }
}
