/* The dampening rule of Selective Synaptic Dampening (Foster et al. 2023) as FIUn applies it
 * (fiun.md §2.3, decision 7), and MFIM, the merge of several roots' forget Fishers
 * (element-wise max divided by c^(K-1), decision 6). Pure array functions: which Fisher to pass
 * (a node's own I_D, the roots' I_f) is the caller's business. No epsilon, no top-k.
 */
#include "unlearn/fisher.h"

#include <math.h>
#include <string.h>

ul_dampen_params ul_dampen_defaults(double alpha) {
    ul_dampen_params p = {.alpha = alpha, .lambda = 1.0, .exponent = 1.0, .beta_max = 1.0};
    return p;
}

size_t ul_dampen(float *theta, const float *ID, const float *If, size_t n, const ul_dampen_params *p) {
    size_t selected = 0;
#pragma omp parallel for schedule(static) reduction(+ : selected) if (n >= 65536)
    for (size_t k = 0; k < n; k++) {
        const double f = If[k], d = ID[k];
        if (!(f > p->alpha * d)) continue;
        double beta = p->lambda * d / f;
        if (p->exponent != 1.0) beta = pow(beta, p->exponent);
        if (beta > p->beta_max) beta = p->beta_max;
        theta[k] = (float)(beta * (double)theta[k]);
        selected++;
    }
    return selected;
}

void ul_mfim(const float *const *F, int K, size_t n, double c, float *out) {
    if (K <= 1) {
        if (out != F[0]) memcpy(out, F[0], sizeof(float) * n);
        return;
    }
    const double div = pow(c, (double)(K - 1));
#pragma omp parallel for schedule(static) if (n >= 65536)
    for (size_t k = 0; k < n; k++) {
        float mx = F[0][k];
        for (int j = 1; j < K; j++)
            if (F[j][k] > mx) mx = F[j][k];
        out[k] = (float)((double)mx / div);
    }
}
