/* Shared machinery of the unlearning methods: the step runner (forward, method loss hook,
 * backward, gradient hook, mask, clip, optimizer step, with the BN buffers restored when a step
 * goes non-finite), cycled loaders, saliency passes (sums of batch-mean CE gradients or their
 * squares, eval mode), the CE epoch driver, and the numerical pieces (KL distillation, top-k
 * mask, masked clipping). Same loader, transform and optimizer rules as src/train/loop.c, but
 * with pluggable losses and a per-epoch schedule, which ul_train does not offer. Every
 * reduction runs in a fixed order (per parameter, batches in sequence), so results do not
 * depend on the thread count.
 */
#include "unlearn/methods_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PAR_MIN ((size_t)1 << 15) /* element-wise loops go parallel from this many values */

uint64_t ul_unlearn_subseed(uint64_t seed, ul_seed_purpose purpose) {
    ul_rng r;
    ul_rng_seed2(&r, seed ^ 0x5DEECE66DULL, 0x756E6C6561726E00ULL + (uint64_t)purpose);
    return ul_rng_u64(&r);
}

ul_status ul_unlearn_union(const ul_view *a, const ul_view *b, ul_view **out) {
    *out = NULL;
    if (a->ds != b->ds)
        return ul_fail(UL_E_ARG, "the forget and retain views must be views of one dataset (got '%s' and '%s')",
                       ul_dataset_name(a->ds), ul_dataset_name(b->ds));
    int32_t *idx = ul_malloc(a->n + b->n, sizeof *idx);
    if (!idx) return UL_E_NOMEM;
    if (a->n) memcpy(idx, a->idx, a->n * sizeof *idx);
    if (b->n) memcpy(idx + a->n, b->idx, b->n * sizeof *idx);
    ul_status st = ul_view_from_indices(a->ds, idx, a->n + b->n, out);
    free(idx);
    return st;
}

double ul_unlearn_lr(const ul_unlearn_params *p, int64_t t, int64_t total) {
    ul_sched s = {.kind = p->sched, .base_lr = p->optim.lr, .total = total, .eta_min = 0.0};
    return ul_sched_lr(&s, t);
}

/* ---- runner ------------------------------------------------------------------------------ */

ul_status ul_runner_init(ul_runner *r, ul_ucall *c, size_t cap) {
    memset(r, 0, sizeof *r);
    r->c = c;
    r->m = c->t->model;
    r->K = ul_model_arch(r->m).classes;
    r->P = ul_model_num_params(r->m);
    r->NV = ul_model_num_values(r->m);
    r->cap = cap;
    const ul_arch_params ap = ul_model_arch(r->m);
    const size_t in = (size_t)ap.in_c * ap.in_h * ap.in_w, K = (size_t)r->K;
    ul_status st = ul_optim_create(&c->p->optim, r->P, &r->opt);
    if (st != UL_OK) return ul_fail_ctx(st, "%s", ul_unlearn_method_name(c->p->method));
    r->x = ul_alloc_aligned(cap * in, sizeof(float));
    r->logits = ul_malloc(cap * K, sizeof(float));
    r->dl = ul_malloc(cap * K, sizeof(float));
    r->aux = ul_malloc(3 * cap * K, sizeof(float));
    r->losses = ul_malloc(cap, sizeof(float));
    r->w = ul_malloc(cap, sizeof(double));
    r->y = ul_malloc(cap, sizeof(int32_t));
    r->pos = ul_malloc(cap, sizeof(size_t));
    r->bufsave = ul_malloc(r->NV - r->P + 1, sizeof(float));
    if (!r->x || !r->logits || !r->dl || !r->aux || !r->losses || !r->w || !r->y || !r->pos || !r->bufsave) {
        ul_runner_free(r);
        return UL_E_NOMEM;
    }
    return UL_OK;
}

void ul_runner_free(ul_runner *r) {
    if (!r) return;
    ul_optim_free(r->opt);
    free(r->x); free(r->logits); free(r->dl); free(r->aux); free(r->losses); free(r->w);
    free(r->y); free(r->pos); free(r->bufsave);
    memset(r, 0, sizeof *r);
}

double ul_unlearn_mask_clip(float *g, const float *mask, size_t n, double max_norm) {
    if (mask) {
#pragma omp parallel for schedule(static) if (n >= PAR_MIN)
        for (size_t k = 0; k < n; k++) g[k] *= mask[k];
    }
    return ul_clip_grad_norm(g, n, max_norm);
}

ul_status ul_runner_step(ul_runner *r, size_t n, const ul_step *s) {
    ul_model *m = r->m;
    ul_ucall *c = r->c;
    float *theta = ul_model_params(m);
    const char *what = ul_unlearn_method_name(c->p->method);
    memcpy(r->bufsave, theta + r->P, sizeof(float) * (r->NV - r->P));
    ul_model_zero_grad(m);
    ul_status st = ul_model_forward(m, r->x, n, s->train, r->logits);
    if (st != UL_OK) return st;
    double loss = 0.0;
    if ((st = s->loss(s->loss_user, r, n, &loss)) != UL_OK) {
        memcpy(theta + r->P, r->bufsave, sizeof(float) * (r->NV - r->P));
        return st;
    }
    const int64_t stepno = c->res->steps + 1;
    if (!isfinite(loss)) {
        memcpy(theta + r->P, r->bufsave, sizeof(float) * (r->NV - r->P));
        return ul_fail(UL_E_NUMERIC, "%s: the %s loss became %g at step %lld (epoch %d, lr %g); model left as before that step",
                       what, s->phase, loss, (long long)stepno, s->epoch + 1, s->lr);
    }
    if ((st = ul_model_backward(m, r->dl)) != UL_OK) {
        memcpy(theta + r->P, r->bufsave, sizeof(float) * (r->NV - r->P));
        return st;
    }
    float *g = ul_model_grads(m);
    if (s->grad) s->grad(s->grad_user, s, g, theta, r->P);
    const double norm = ul_unlearn_mask_clip(g, s->mask, r->P, s->clip);
    if (!isfinite(norm)) {
        memcpy(theta + r->P, r->bufsave, sizeof(float) * (r->NV - r->P));
        return ul_fail(UL_E_NUMERIC, "%s: the %s gradient became non-finite at step %lld (epoch %d); model left as before that step",
                       what, s->phase, (long long)stepno, s->epoch + 1);
    }
    if (c->res->steps == 0) c->res->prep_seconds = ul_now() - c->t0;
    ul_optim_step(r->opt, theta, g, NULL, s->lr);
    c->res->steps++;
    if (s->forget) c->res->forget_steps++;
    if (c->p->progress) {
        double applied = norm;
        if (s->clip > 0.0 && s->clip / (norm + 1e-6) < 1.0) applied = norm * (s->clip / (norm + 1e-6));
        ul_unlearn_progress pr = {.phase = s->phase, .epoch = s->epoch, .iter = s->iter, .step = c->res->steps,
                                  .batch = n, .lr = s->lr, .loss = loss, .grad_norm = norm, .applied_norm = applied, .scale = s->scale,
                                  .elapsed_s = ul_now() - c->t0};
        c->p->progress(&pr, c->p->progress_user);
    }
    return UL_OK;
}

ul_status ul_runner_epoch(ul_runner *r, ul_batcher *b, int epoch, ul_step *s) {
    ul_batcher_start_epoch(b, epoch);
    size_t n;
    while ((n = ul_batcher_next(b, r->x, r->y, r->pos)) > 0) {
        ul_status st = ul_runner_step(r, n, s);
        if (st != UL_OK) return st;
        s->iter++;
    }
    return UL_OK;
}

size_t ul_runner_next_cycled(ul_runner *r, ul_batcher *b, int *epoch) {
    size_t n = ul_batcher_next(b, r->x, r->y, r->pos);
    if (n == 0) {
        ++*epoch;
        ul_batcher_start_epoch(b, *epoch);
        n = ul_batcher_next(b, r->x, r->y, r->pos);
    }
    return n;
}

ul_status ul_runner_grad_pass(ul_runner *r, const ul_view *v, int bs, uint64_t seed, bool square, double *acc,
                              size_t *nbatches) {
    *nbatches = 0;
    if ((size_t)bs > r->cap) return ul_fail(UL_E_INTERNAL, "saliency pass: batch %d over capacity %zu", bs, r->cap);
    ul_batcher *b = NULL;
    ul_status st = ul_batcher_create(v, bs, true, false, seed, &r->c->t->transform, &b);
    if (st != UL_OK) return st;
    ul_model *m = r->m;
    const size_t P = r->P;
    size_t n;
    while ((n = ul_batcher_next(b, r->x, r->y, r->pos)) > 0) {
        if ((st = ul_model_forward(m, r->x, n, false, r->logits)) != UL_OK) break;
        const double loss = ul_softmax_xent(r->logits, r->y, NULL, n, r->K, NULL, r->dl);
        if (!isfinite(loss)) {
            st = ul_fail(UL_E_NUMERIC, "%s: saliency pass: loss is %g on batch %zu",
                         ul_unlearn_method_name(r->c->p->method), loss, *nbatches + 1);
            break;
        }
        ul_model_zero_grad(m);
        if ((st = ul_model_backward(m, r->dl)) != UL_OK) break;
        const float *g = ul_model_grads(m);
        if (square) {
#pragma omp parallel for schedule(static) if (P >= PAR_MIN)
            for (size_t k = 0; k < P; k++) acc[k] += (double)g[k] * (double)g[k];
        } else {
#pragma omp parallel for schedule(static) if (P >= PAR_MIN)
            for (size_t k = 0; k < P; k++) acc[k] += (double)g[k];
        }
        ++*nbatches;
    }
    ul_model_zero_grad(m);
    ul_batcher_free(b);
    return st;
}

ul_status ul_loss_ce(void *user, ul_runner *r, size_t n, double *loss) {
    const ul_ce_loss *L = user;
    if (L->relabel)
        for (size_t i = 0; i < n; i++)
            if (r->pos[i] < L->nrelabel) r->y[i] = L->relabel[r->pos[i]];
    double l = ul_softmax_xent(r->logits, r->y, NULL, n, r->K, NULL, r->dl);
    if (L->sign != 1.0) {
        const float sg = (float)L->sign;
        for (size_t k = 0; k < n * (size_t)r->K; k++) r->dl[k] *= sg;
        l *= L->sign;
    }
    *loss = l;
    return UL_OK;
}

ul_status ul_unlearn_ce_epochs(ul_runner *r, const ul_ce_run *run) {
    const ul_unlearn_params *p = r->c->p;
    ul_batcher *b = NULL;
    ul_status st = ul_batcher_create(run->view, run->batch_size, true, false,
                                     ul_unlearn_subseed(r->c->t->seed, UL_SEED_DATA), &r->c->t->transform, &b);
    if (st != UL_OK) return st;
    ul_ce_loss L = run->ce;
    ul_step s = {.loss = ul_loss_ce, .loss_user = &L, .grad = run->grad, .grad_user = run->grad_user,
                 .mask = run->mask, .clip = p->clip_norm, .train = !p->bn_eval, .forget = run->forget,
                 .phase = run->phase, .scale = 1.0};
    for (int e = 0; e < p->epochs && st == UL_OK; e++) {
        s.epoch = e;
        s.lr = ul_unlearn_lr(p, e, p->epochs);
        st = ul_runner_epoch(r, b, e, &s);
    }
    ul_batcher_free(b);
    return st;
}

/* ---- numerical pieces --------------------------------------------------------------------- */

/* ln sum_j exp(z_j / T) of one row, shifted by the row maximum. */
static double lse_t(const float *z, int K, double T) {
    double mx = (double)z[0] / T;
    for (int j = 1; j < K; j++)
        if ((double)z[j] / T > mx) mx = (double)z[j] / T;
    double se = 0.0;
    for (int j = 0; j < K; j++) se += exp((double)z[j] / T - mx);
    return mx + log(se);
}

double ul_unlearn_kl(const float *t_logits, const float *s_logits, size_t n, int K, double T, double scale,
                     float *dl) {
    double total = 0.0;
    for (size_t i = 0; i < n; i++) {
        const float *zt = t_logits + i * (size_t)K, *zs = s_logits + i * (size_t)K;
        const double lt = lse_t(zt, K, T), ls = lse_t(zs, K, T);
        double kl = 0.0;
        for (int j = 0; j < K; j++) {
            const double lpt = (double)zt[j] / T - lt, lps = (double)zs[j] / T - ls;
            const double pt = exp(lpt), ps = exp(lps);
            if (pt > 0.0) kl += pt * (lpt - lps);
            if (dl) dl[i * (size_t)K + j] += (float)(scale * (ps - pt) / T);
        }
        total += kl;
    }
    return scale * total;
}

/* Radix select on the float bit patterns (monotone for values >= 0): the k-th largest key. */
static uint32_t kth_largest_key(const uint32_t *key, size_t n, size_t k) {
    uint32_t prefix = 0, pmask = 0;
    size_t need = k; /* rank wanted among the candidates that share the prefix */
    for (int shift = 24; shift >= 0; shift -= 8) {
        size_t hist[256] = {0};
        for (size_t i = 0; i < n; i++)
            if ((key[i] & pmask) == prefix) hist[(key[i] >> shift) & 255u]++;
        int d = 255;
        for (; d > 0; d--) {
            if (hist[d] >= need) break;
            need -= hist[d];
        }
        prefix |= (uint32_t)d << shift;
        pmask |= 255u << shift;
    }
    return prefix;
}

size_t ul_unlearn_topk_mask(const float *score, size_t n, double ratio, float *mask) {
    size_t k = (size_t)floor(ratio * (double)n);
    if (k > n) k = n;
    for (size_t i = 0; i < n; i++) mask[i] = 0.0f;
    if (k == 0) return 0;
    uint32_t *key = malloc(sizeof(uint32_t) * n);
    if (!key) { /* fall back to an O(n k) scan: still exact, only slower */
        for (size_t sel = 0; sel < k; sel++) {
            size_t best = n;
            for (size_t i = 0; i < n; i++)
                if (mask[i] == 0.0f && (best == n || score[i] > score[best])) best = i;
            mask[best] = 1.0f;
        }
        return k;
    }
    for (size_t i = 0; i < n; i++) {
        float v = score[i] > 0.0f ? score[i] : 0.0f; /* -0 and 0 alike */
        memcpy(&key[i], &v, sizeof v);
    }
    const uint32_t thr = kth_largest_key(key, n, k);
    size_t above = 0;
    for (size_t i = 0; i < n; i++) above += key[i] > thr;
    size_t ties = k - above, kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (key[i] > thr || (key[i] == thr && ties > 0)) {
            if (key[i] == thr) ties--;
            mask[i] = 1.0f;
            kept++;
        }
    }
    free(key);
    return kept;
}
