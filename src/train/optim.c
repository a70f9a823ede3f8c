/* Optimizers: SGD (momentum, dampening, Nesterov, L2 weight decay) and AdamW (decoupled decay),
 * reproducing torch.optim.SGD / torch.optim.AdamW 1.13 single-tensor updates op for op in float32
 * (scalars such as bias corrections in double, cast to float where PyTorch casts them).
 * State is one zeroed float block allocated at create: SGD [momentum buffer, n] (empty when
 * momentum == 0), AdamW [exp_avg, n | exp_avg_sq, n]. Elementwise loops run under OpenMP; every
 * element is independent, so results are bit-identical for any thread count.
 * Deliberately not implemented: amsgrad, maximize, foreach/fused paths, per-group settings.
 */
#include "unlearn/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Below this many elements the loops run on the calling thread (same code, same results). */
#define UL_OPTIM_PAR_MIN ((size_t)1 << 15)

struct ul_optim {
    ul_optim_params p;
    size_t n;       /* trainable values */
    float *state;   /* nstate floats, 64-byte aligned; NULL when nstate == 0 */
    size_t nstate;
    int64_t steps;  /* completed ul_optim_step calls since create/reset */
};

ul_optim_params ul_optim_defaults(ul_optim_kind kind) {
    ul_optim_params p;
    memset(&p, 0, sizeof p);
    p.kind = kind;
    p.beta1 = 0.9;
    p.beta2 = 0.999;
    p.eps = 1e-8;
    switch (kind) {
    case UL_OPT_SGD:
        p.lr = 0.01;
        break;
    case UL_OPT_ADAMW:
        p.lr = 1e-3;
        p.weight_decay = 0.01;
        break;
    default:
        break; /* an invalid kind is reported by ul_optim_create */
    }
    return p;
}

/* Checks one optimizer's hyper-parameters; the message names the offending field. NaN fails
 * every range check because all comparisons are written as !(in range). */
static ul_status check_params(const ul_optim_params *p) {
    if (!(p->lr >= 0.0) || !isfinite(p->lr))
        return ul_fail(UL_E_ARG, "optimizer: lr must be finite and >= 0 (got %g)", p->lr);
    if (!(p->weight_decay >= 0.0) || !isfinite(p->weight_decay))
        return ul_fail(UL_E_ARG, "optimizer: weight_decay must be finite and >= 0 (got %g)",
                       p->weight_decay);
    if (p->kind == UL_OPT_SGD) {
        if (!(p->momentum >= 0.0 && p->momentum < 1.0))
            return ul_fail(UL_E_ARG, "SGD: momentum must be in [0, 1) (got %g)", p->momentum);
        if (!(p->dampening >= 0.0 && p->dampening <= 1.0))
            return ul_fail(UL_E_ARG, "SGD: dampening must be in [0, 1] (got %g)", p->dampening);
        if (p->nesterov && !(p->momentum > 0.0 && p->dampening == 0.0))
            return ul_fail(UL_E_ARG,
                           "SGD: nesterov requires momentum > 0 and dampening == 0 (got momentum %g, "
                           "dampening %g)", p->momentum, p->dampening);
    } else if (p->kind == UL_OPT_ADAMW) {
        if (!(p->beta1 >= 0.0 && p->beta1 < 1.0))
            return ul_fail(UL_E_ARG, "AdamW: beta1 must be in [0, 1) (got %g)", p->beta1);
        if (!(p->beta2 >= 0.0 && p->beta2 < 1.0))
            return ul_fail(UL_E_ARG, "AdamW: beta2 must be in [0, 1) (got %g)", p->beta2);
        if (!(p->eps > 0.0) || !isfinite(p->eps))
            return ul_fail(UL_E_ARG, "AdamW: eps must be finite and > 0 (got %g)", p->eps);
    } else {
        return ul_fail(UL_E_ARG, "optimizer: unknown kind %d", (int)p->kind);
    }
    return UL_OK;
}

ul_status ul_optim_create(const ul_optim_params *p, size_t n, ul_optim **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_optim_create: out is NULL");
    *out = NULL;
    if (!p) return ul_fail(UL_E_ARG, "ul_optim_create: params is NULL");
    ul_status st = check_params(p);
    if (st != UL_OK) return st;

    size_t nstate = 0;
    if (p->kind == UL_OPT_SGD) {
        nstate = p->momentum > 0.0 ? n : 0;
    } else {
        if (n > SIZE_MAX / 2) return ul_fail(UL_E_NOMEM, "AdamW: state for %zu values overflows", n);
        nstate = 2 * n;
    }
    ul_optim *o = ul_calloc(1, sizeof *o);
    if (!o) return UL_E_NOMEM;
    if (nstate) {
        o->state = ul_alloc_aligned(nstate, sizeof(float)); /* zero-filled */
        if (!o->state) {
            free(o);
            return ul_fail_ctx(UL_E_NOMEM, "optimizer state (%zu floats)", nstate);
        }
    }
    o->p = *p;
    o->n = n;
    o->nstate = nstate;
    o->steps = 0;
    *out = o;
    return UL_OK;
}

void ul_optim_free(ul_optim *o) {
    if (!o) return;
    free(o->state);
    free(o);
}

/* torch.optim.SGD._single_tensor_sgd, per element:
 *   d = g (*mask) ; if wd: d = d + wd*θ ; if momentum: buf = first ? d : buf*m + (1-damp)*d,
 *   d = nesterov ? d + m*buf : buf ; θ = θ + (-lr)*d. */
static void sgd_step(ul_optim *o, float *restrict th, const float *restrict g,
                     const float *restrict mask, double lr) {
    const size_t n = o->n;
    const float wd = (float)o->p.weight_decay;
    const float mom = (float)o->p.momentum;
    const float damp1 = (float)(1.0 - o->p.dampening);
    const float nlr = (float)(-lr);
    const int has_wd = o->p.weight_decay != 0.0;
    const int has_mom = o->p.momentum != 0.0;
    const int nesterov = o->p.nesterov;
    const int first = o->steps == 0;
    float *restrict buf = o->state;

#pragma omp parallel for schedule(static) if (n >= UL_OPTIM_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        float d = mask ? g[i] * mask[i] : g[i];
        if (has_wd) d = d + wd * th[i];
        if (has_mom) {
            float b = first ? d : buf[i] * mom + damp1 * d;
            buf[i] = b;
            d = nesterov ? d + mom * b : b;
        }
        th[i] = th[i] + nlr * d;
    }
}

/* torch.optim.AdamW._single_tensor_adamw (amsgrad off), per element:
 *   θ = θ*(1-lr*wd) ; m = m*β1 + (1-β1)*g ; v = v*β2 + (1-β2)*g*g ;
 *   denom = sqrt(v)/sqrt(1-β2^t) + eps ; θ = θ + (-(lr/(1-β1^t)))*m/denom. */
static void adamw_step(ul_optim *o, float *restrict th, const float *restrict g,
                       const float *restrict mask, double lr) {
    const size_t n = o->n;
    const double t = (double)o->steps; /* already incremented */
    const double bc1 = 1.0 - pow(o->p.beta1, t);
    const double bc2 = 1.0 - pow(o->p.beta2, t);
    const float decay = (float)(1.0 - lr * o->p.weight_decay);
    const float b1 = (float)o->p.beta1, omb1 = (float)(1.0 - o->p.beta1);
    const float b2 = (float)o->p.beta2, omb2 = (float)(1.0 - o->p.beta2);
    const float bc2_sqrt = (float)sqrt(bc2);
    const float eps = (float)o->p.eps;
    const float neg_step = (float)(-(lr / bc1));
    float *restrict m = o->state;
    float *restrict v = o->state + n;

#pragma omp parallel for schedule(static) if (n >= UL_OPTIM_PAR_MIN)
    for (size_t i = 0; i < n; i++) {
        const float gi = mask ? g[i] * mask[i] : g[i];
        const float p = th[i] * decay;
        const float mi = m[i] * b1 + omb1 * gi;
        const float vi = v[i] * b2 + omb2 * gi * gi;
        const float denom = sqrtf(vi) / bc2_sqrt + eps;
        m[i] = mi;
        v[i] = vi;
        th[i] = p + neg_step * mi / denom;
    }
}

void ul_optim_step(ul_optim *o, float *params, const float *grads, const float *mask, double lr) {
    if (!o || o->n == 0 || !params || !grads) return;
    if (o->p.kind == UL_OPT_SGD) {
        sgd_step(o, params, grads, mask, lr);
        o->steps++;
    } else {
        o->steps++; /* PyTorch increments the step before computing the bias corrections */
        adamw_step(o, params, grads, mask, lr);
    }
}

void ul_optim_reset(ul_optim *o) {
    if (!o) return;
    if (o->nstate) memset(o->state, 0, o->nstate * sizeof(float));
    o->steps = 0;
}

float *ul_optim_state(ul_optim *o, size_t *n) {
    if (n) *n = o ? o->nstate : 0;
    return o ? o->state : NULL;
}

int64_t ul_optim_steps(const ul_optim *o) { return o ? o->steps : 0; }
