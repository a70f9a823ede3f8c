/* Diagonal empirical Fisher information (fiun.md decisions 3, 4, 14): the per-sample estimator
 * (1/n) sum_i g_i^2 and the reference code's batch estimator (mean over batches of squared
 * batch-mean gradients, batches truncated to their first `trunc` samples), over the final
 * linear layer or every parameter. Eval mode throughout; per-sample squares come from
 * ul_model_backward_sq (all scope) or the head's closed form (last scope). No sampled-label
 * (true) Fisher, no K-FAC or off-diagonal terms.
 */
#include "unlearn/fisher.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "tensor/blas.h"

ul_fisher_params ul_fisher_defaults(ul_fisher_estimator est) {
    ul_fisher_params p = {.estimator = est, .scope = UL_FISHER_LAST, .batch_size = 128, .trunc = 32};
    if (est == UL_FISHER_BATCH) p.batch_size = 32;
    return p;
}

const char *ul_fisher_estimator_name(ul_fisher_estimator e) {
    return e == UL_FISHER_SAMPLE ? "sample" : e == UL_FISHER_BATCH ? "batch" : "?";
}

const char *ul_fisher_scope_name(ul_fisher_scope s) {
    return s == UL_FISHER_LAST ? "last" : s == UL_FISHER_ALL ? "all" : "?";
}

ul_status ul_fisher_parse(const char *estimator, const char *scope, ul_fisher_params *out) {
    ul_fisher_estimator e;
    if (!estimator || strcmp(estimator, "sample") == 0) e = UL_FISHER_SAMPLE;
    else if (strcmp(estimator, "batch") == 0) e = UL_FISHER_BATCH;
    else return ul_fail(UL_E_ARG, "unknown Fisher estimator '%s' (known: sample, batch)", estimator);
    *out = ul_fisher_defaults(e);
    if (!scope || strcmp(scope, "last") == 0) out->scope = UL_FISHER_LAST;
    else if (strcmp(scope, "all") == 0) out->scope = UL_FISHER_ALL;
    else return ul_fail(UL_E_ARG, "unknown Fisher scope '%s' (known: last, all)", scope);
    return UL_OK;
}

/* [lo, hi) of the head's parameters in the block (weight and bias are adjacent). */
static void head_range(const ul_model *m, size_t *lo, size_t *hi) {
    int wt, bt;
    ul_model_head(m, &wt, &bt);
    const ul_tensor_info *w = ul_model_tensor(m, wt);
    *lo = w->offset;
    *hi = w->offset + w->numel;
    if (bt >= 0) {
        const ul_tensor_info *b = ul_model_tensor(m, bt);
        if (b->offset < *lo) *lo = b->offset;
        if (b->offset + b->numel > *hi) *hi = b->offset + b->numel;
    }
}

bool ul_fisher_in_scope(const ul_model *m, ul_fisher_scope s, size_t k) {
    if (k >= ul_model_num_params(m)) return false;
    if (s == UL_FISHER_ALL) return true;
    size_t lo, hi;
    head_range(m, &lo, &hi);
    return k >= lo && k < hi;
}

/* Per-sample estimator over the head in closed form: for z = W h + b and softmax-CE,
 * g_i(W) = delta_i h_i^T with delta_i = p_i - onehot(y_i), so sum_i g_i(W)^2 =
 * (delta o delta)^T (h o h) and sum_i g_i(b)^2 = sum_i delta_i^2. */
static void head_sq(const ul_model *m, const float *delta, const float *h, size_t n, int K, size_t D,
                    float *sqW, float *sqb, float *d2, float *h2) {
    for (size_t k = 0; k < n * (size_t)K; k++) d2[k] = delta[k] * delta[k];
    for (size_t k = 0; k < n * D; k++) h2[k] = h[k] * h[k];
    const int R = K < UL_CHUNKS ? K : UL_CHUNKS;
    (void)m;
#pragma omp parallel for schedule(static) if (n * D * (size_t)K >= 262144)
    for (int r = 0; r < R; r++) {
        const int o0 = (int)ul_chunk_lo((size_t)K, R, r), o1 = (int)ul_chunk_lo((size_t)K, R, r + 1);
        ul_sgemm(true, false, o1 - o0, (int)D, (int)n, 1.0f, d2 + o0, K, h2, (int)D, 1.0f, sqW + (size_t)o0 * D, (int)D);
        if (sqb)
            for (int j = o0; j < o1; j++) {
                float acc = 0.0f;
                for (size_t i = 0; i < n; i++) acc += d2[i * (size_t)K + (size_t)j];
                sqb[j] += acc;
            }
    }
}

ul_status ul_fisher(ul_model *m, const ul_view *v, const ul_transform *tf, const ul_fisher_params *p, float *out) {
    if (!v || v->n == 0) return ul_fail(UL_E_ARG, "Fisher: the data view is empty");
    if (p->estimator >= UL_FISHER_ESTIMATOR_COUNT || p->scope >= UL_FISHER_SCOPE_COUNT)
        return ul_fail(UL_E_ARG, "Fisher: unknown estimator or scope");
    if (p->batch_size <= 0 || p->trunc < 0)
        return ul_fail(UL_E_ARG, "Fisher: batch size %d must be > 0 and trunc %d >= 0", p->batch_size, p->trunc);
    const ul_arch_params ap = ul_model_arch(m);
    const ul_dataset *d = v->ds;
    if (ul_dataset_channels(d) != ap.in_c || ul_dataset_height(d) != ap.in_h || ul_dataset_width(d) != ap.in_w)
        return ul_fail(UL_E_SHAPE, "Fisher: data '%s' has %dx%dx%d samples, model '%s' expects %dx%dx%d",
                       ul_dataset_name(d), ul_dataset_channels(d), ul_dataset_height(d), ul_dataset_width(d),
                       ul_model_spec(m), ap.in_c, ap.in_h, ap.in_w);
    const int K = ap.classes;
    const int32_t *labels = ul_dataset_labels(d);
    for (size_t i = 0; i < v->n; i++)
        if (labels[v->idx[i]] < 0 || labels[v->idx[i]] >= K)
            return ul_fail(UL_E_ARG, "Fisher: sample %d has label %d outside the model's %d classes", v->idx[i],
                           labels[v->idx[i]], K);

    const size_t P = ul_model_num_params(m);
    const size_t bs = (size_t)p->batch_size;
    const size_t in = (size_t)ap.in_c * ap.in_h * ap.in_w;
    size_t lo, hi;
    head_range(m, &lo, &hi);
    int wt, bt;
    ul_model_head(m, &wt, &bt);
    const size_t D = ul_model_tensor(m, wt)->shape[1];
    ul_transform t = tf ? *tf : (ul_transform){0};
    t.crop_pad = 0;
    t.hflip = false;

    ul_status st = UL_OK;
    ul_batcher *b = NULL;
    double *acc = NULL; /* batch estimator: squared batch gradients summed in double */
    float *x = ul_alloc_aligned(bs * in, sizeof(float));
    float *logits = ul_malloc(bs * (size_t)K, sizeof(float));
    float *delta = ul_malloc(bs * (size_t)K, sizeof(float));
    float *d2 = ul_malloc(bs * (size_t)K, sizeof(float));
    float *h2 = ul_malloc(bs * D, sizeof(float));
    int32_t *y = ul_malloc(bs, sizeof(int32_t));
    if (!x || !logits || !delta || !d2 || !h2 || !y) { st = UL_E_NOMEM; goto done; }
    if (p->estimator == UL_FISHER_BATCH && !(acc = ul_calloc(P, sizeof(double)))) { st = UL_E_NOMEM; goto done; }
    memset(out, 0, sizeof(float) * P);
    if ((st = ul_batcher_create(v, p->batch_size, false, false, 0, &t, &b)) != UL_OK) goto done;
    ul_batcher_start_epoch(b, 0);
    size_t n, used_total = 0, nbatches = 0;
    while ((n = ul_batcher_next(b, x, y, NULL)) > 0) {
        size_t nu = n;
        if (p->estimator == UL_FISHER_BATCH && p->trunc > 0 && nu > (size_t)p->trunc) nu = (size_t)p->trunc;
        if ((st = ul_model_forward(m, x, nu, false, logits)) != UL_OK) goto done;
        /* delta_i = softmax(z_i) - onehot(y_i) = d l_i / d z_i */
        ul_softmax(logits, nu, K, delta);
        for (size_t i = 0; i < nu; i++) delta[i * (size_t)K + (size_t)y[i]] -= 1.0f;
        if (p->estimator == UL_FISHER_SAMPLE) {
            if (p->scope == UL_FISHER_LAST) {
                const float *h = ul_model_features(m, NULL);
                head_sq(m, delta, h, nu, K, D, out + ul_model_tensor(m, wt)->offset,
                        bt >= 0 ? out + ul_model_tensor(m, bt)->offset : NULL, d2, h2);
            } else {
                ul_model_zero_grad(m);
                if ((st = ul_model_backward_sq(m, delta, out)) != UL_OK) goto done;
            }
        } else {
            /* gradient of the batch-mean loss, squared */
            for (size_t k = 0; k < nu * (size_t)K; k++) delta[k] /= (float)nu;
            ul_model_zero_grad(m);
            if ((st = ul_model_backward(m, delta)) != UL_OK) goto done;
            const float *g = ul_model_grads(m);
            const size_t k0 = p->scope == UL_FISHER_ALL ? 0 : lo, k1 = p->scope == UL_FISHER_ALL ? P : hi;
            for (size_t k = k0; k < k1; k++) acc[k] += (double)g[k] * g[k];
        }
        used_total += nu;
        nbatches++;
    }
    if (p->estimator == UL_FISHER_SAMPLE) {
        const float inv = 1.0f / (float)used_total;
        for (size_t k = 0; k < P; k++) out[k] *= inv;
    } else {
        for (size_t k = 0; k < P; k++) out[k] = (float)(acc[k] / (double)nbatches);
    }
    if (p->scope == UL_FISHER_LAST) { /* the all-scope pass may have touched nothing else, but be exact */
        for (size_t k = 0; k < lo; k++) out[k] = 0.0f;
        for (size_t k = hi; k < P; k++) out[k] = 0.0f;
    }
    for (size_t k = 0; k < P; k++)
        if (!isfinite(out[k])) { st = ul_fail(UL_E_NUMERIC, "Fisher: non-finite value at parameter %zu", k); break; }
done:
    ul_model_zero_grad(m);
    ul_batcher_free(b);
    free(acc); free(x); free(logits); free(delta); free(d2); free(h2); free(y);
    return st;
}

void ul_fisher_head_range(const ul_model *m, size_t *lo, size_t *hi) { head_range(m, lo, hi); }

/* Per-class head sums: one forward pass per batch; each class present in the batch gets its
 * samples' delta and feature rows packed and squared-summed by head_sq into its own slot. */
ul_status ul_fisher_class_sums(ul_model *m, const ul_view *v, const ul_transform *tf, int batch_size, float *sums,
                               int64_t *counts) {
    if (!v || v->n == 0) return ul_fail(UL_E_ARG, "Fisher: the data view is empty");
    if (batch_size <= 0) return ul_fail(UL_E_ARG, "Fisher: batch size %d must be > 0", batch_size);
    const ul_arch_params ap = ul_model_arch(m);
    const ul_dataset *d = v->ds;
    if (ul_dataset_channels(d) != ap.in_c || ul_dataset_height(d) != ap.in_h || ul_dataset_width(d) != ap.in_w)
        return ul_fail(UL_E_SHAPE, "Fisher: data '%s' has %dx%dx%d samples, model '%s' expects %dx%dx%d",
                       ul_dataset_name(d), ul_dataset_channels(d), ul_dataset_height(d), ul_dataset_width(d),
                       ul_model_spec(m), ap.in_c, ap.in_h, ap.in_w);
    const int K = ap.classes;
    const int32_t *labels = ul_dataset_labels(d);
    for (size_t i = 0; i < v->n; i++)
        if (labels[v->idx[i]] < 0 || labels[v->idx[i]] >= K)
            return ul_fail(UL_E_ARG, "Fisher: sample %d has label %d outside the model's %d classes", v->idx[i],
                           labels[v->idx[i]], K);
    size_t lo, hi;
    head_range(m, &lo, &hi);
    const size_t H = hi - lo, bs = (size_t)batch_size, in = (size_t)ap.in_c * ap.in_h * ap.in_w;
    int wt, bt;
    ul_model_head(m, &wt, &bt);
    const size_t D = ul_model_tensor(m, wt)->shape[1];
    const size_t woff = ul_model_tensor(m, wt)->offset - lo;
    const size_t boff = bt >= 0 ? ul_model_tensor(m, bt)->offset - lo : 0;
    ul_transform t = tf ? *tf : (ul_transform){0};
    t.crop_pad = 0;
    t.hflip = false;
    ul_status st = UL_OK;
    ul_batcher *b = NULL;
    float *x = ul_alloc_aligned(bs * in, sizeof(float));
    float *logits = ul_malloc(bs * (size_t)K, sizeof(float)), *delta = ul_malloc(bs * (size_t)K, sizeof(float));
    float *pd = ul_malloc(bs * (size_t)K, sizeof(float)), *ph = ul_malloc(bs * D, sizeof(float));
    float *d2 = ul_malloc(bs * (size_t)K, sizeof(float)), *h2 = ul_malloc(bs * D, sizeof(float));
    int32_t *y = ul_malloc(bs, sizeof(int32_t));
    if (!x || !logits || !delta || !pd || !ph || !d2 || !h2 || !y) { st = UL_E_NOMEM; goto done; }
    memset(sums, 0, sizeof(float) * (size_t)K * H);
    memset(counts, 0, sizeof(int64_t) * (size_t)K);
    if ((st = ul_batcher_create(v, batch_size, false, false, 0, &t, &b)) != UL_OK) goto done;
    ul_batcher_start_epoch(b, 0);
    size_t n;
    while ((n = ul_batcher_next(b, x, y, NULL)) > 0) {
        if ((st = ul_model_forward(m, x, n, false, logits)) != UL_OK) goto done;
        ul_softmax(logits, n, K, delta);
        for (size_t i = 0; i < n; i++) delta[i * (size_t)K + (size_t)y[i]] -= 1.0f;
        const float *h = ul_model_features(m, NULL);
        for (int c = 0; c < K; c++) {
            size_t nc = 0;
            for (size_t i = 0; i < n; i++)
                if (y[i] == c) {
                    memcpy(pd + nc * (size_t)K, delta + i * (size_t)K, sizeof(float) * (size_t)K);
                    memcpy(ph + nc * D, h + i * D, sizeof(float) * D);
                    nc++;
                }
            if (!nc) continue;
            float *slot = sums + (size_t)c * H;
            head_sq(m, pd, ph, nc, K, D, slot + woff, bt >= 0 ? slot + boff : NULL, d2, h2);
            counts[c] += (int64_t)nc;
        }
    }
    for (size_t k = 0; k < (size_t)K * H; k++)
        if (!isfinite(sums[k])) { st = ul_fail(UL_E_NUMERIC, "Fisher: non-finite per-class value at %zu", k); break; }
done:
    ul_batcher_free(b);
    free(x); free(logits); free(delta); free(pd); free(ph); free(d2); free(h2); free(y);
    return st;
}

ul_status ul_fisher_from_class_sums(const float *sums, const int64_t *counts, int K, size_t lo, size_t hi, size_t P,
                                    const int32_t *classes, size_t nclasses, float *out) {
    if (hi < lo || hi > P) return ul_fail(UL_E_ARG, "Fisher: head range [%zu, %zu) outside %zu parameters", lo, hi, P);
    const size_t H = hi - lo;
    int64_t n = 0;
    unsigned char *use = ul_calloc((size_t)K, 1);
    if (!use) return UL_E_NOMEM;
    for (size_t i = 0; i < nclasses; i++)
        if (classes[i] >= 0 && classes[i] < K) use[classes[i]] = 1;
    if (!classes)
        memset(use, 1, (size_t)K);
    for (int c = 0; c < K; c++)
        if (use[c]) n += counts[c];
    if (n <= 0) {
        free(use);
        return ul_fail(UL_E_ARG, "Fisher: no samples of the requested classes");
    }
    memset(out, 0, sizeof(float) * P);
    for (size_t j = 0; j < H; j++) {
        double acc = 0.0;
        for (int c = 0; c < K; c++)
            if (use[c]) acc += sums[(size_t)c * H + j];
        out[lo + j] = (float)(acc / (double)n);
    }
    free(use);
    return UL_OK;
}
