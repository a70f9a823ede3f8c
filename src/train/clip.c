/* Gradient clipping by global L2 norm, as torch.nn.utils.clip_grad_norm_ (norm_type 2):
 * scale = max_norm / (norm + 1e-6), applied only when it is below 1.
 * The sum of squares is taken in double over a fixed split into UL_CLIP_CHUNKS chunks that
 * depends only on n, with the chunk sums added in order, so the norm is bit-identical for any
 * thread count. Deliberately not implemented: other norm types, per-tensor norms, and scaling
 * when the norm is NaN/Inf (the grads are left untouched; the caller checks the returned norm).
 */
#include "unlearn/train.h"

#include <math.h>

#define UL_CLIP_CHUNKS 64
#define UL_CLIP_PAR_MIN ((size_t)1 << 15)

double ul_clip_grad_norm(float *grads, size_t n, double max_norm) {
    if (!grads || n == 0) return 0.0;
    double part[UL_CLIP_CHUNKS];
    const size_t chunk = n / UL_CLIP_CHUNKS + (n % UL_CLIP_CHUNKS != 0);

#pragma omp parallel for schedule(static) if (n >= UL_CLIP_PAR_MIN)
    for (int c = 0; c < UL_CLIP_CHUNKS; c++) {
        const size_t lo = (size_t)c * chunk;
        const size_t hi = lo + chunk < n ? lo + chunk : n;
        double s = 0.0;
        for (size_t i = lo; i < hi; i++) s += (double)grads[i] * (double)grads[i];
        part[c] = s;
    }
    double ss = 0.0;
    for (int c = 0; c < UL_CLIP_CHUNKS; c++) ss += part[c];
    const double norm = sqrt(ss);

    if (max_norm > 0.0 && isfinite(norm)) {
        const double scale = max_norm / (norm + 1e-6);
        if (scale < 1.0) {
            const float sf = (float)scale;
#pragma omp parallel for schedule(static) if (n >= UL_CLIP_PAR_MIN)
            for (size_t i = 0; i < n; i++) grads[i] *= sf;
        }
    }
    return norm;
}
