/* Per-sample predictions of a model on a view: logits, softmax probabilities (computed in double
 * per row, stored as float32 as PyTorch's F.softmax returns them) and labels, in view order,
 * with the model in eval mode and test-time normalisation only (the reference codes switch
 * every loader to test transforms before evaluating). The inputs of every metric in src/eval/.
 * Deliberately no augmentation, no test-time ensembling and no caching across calls.
 */
#include "unlearn/eval.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void ul_predictions_free(ul_predictions *p) {
    if (!p) return;
    free(p->logits);
    free(p->probs);
    free(p->labels);
    free(p->idx);
    memset(p, 0, sizeof *p);
}

/* Allocate the arrays of an n x k prediction set (logits only when want_logits). */
static ul_status alloc_preds(size_t n, int k, bool want_logits, ul_predictions *out) {
    memset(out, 0, sizeof *out);
    if (k < 1) return ul_fail(UL_E_ARG, "predictions: class count %d must be >= 1", k);
    if (n > SIZE_MAX / (size_t)k) return ul_fail(UL_E_NOMEM, "predictions: %zu x %d values overflow", n, k);
    out->n = n;
    out->classes = k;
    out->probs = ul_malloc(n * (size_t)k, sizeof(float));
    out->labels = ul_malloc(n, sizeof(int32_t));
    if (want_logits) out->logits = ul_malloc(n * (size_t)k, sizeof(float));
    if (!out->probs || !out->labels || (want_logits && !out->logits)) {
        ul_predictions_free(out);
        return UL_E_NOMEM;
    }
    return UL_OK;
}

ul_status ul_predictions_from_logits(const float *logits, const int32_t *labels, size_t n, int k,
                                     ul_predictions *out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_predictions_from_logits: out is NULL");
    memset(out, 0, sizeof *out);
    if (n && (!logits || !labels)) return ul_fail(UL_E_ARG, "ul_predictions_from_logits: NULL logits or labels");
    ul_status st = alloc_preds(n, k, true, out);
    if (st != UL_OK) return st;
    for (size_t i = 0; i < n * (size_t)k; i++)
        if (!isfinite(logits[i])) {
            ul_predictions_free(out);
            return ul_fail(UL_E_NUMERIC, "predictions: logit %zu of sample %zu is not finite", i % (size_t)k,
                           i / (size_t)k);
        }
    if (n) {
        memcpy(out->logits, logits, n * (size_t)k * sizeof(float));
        memcpy(out->labels, labels, n * sizeof(int32_t));
    }
    ul_softmax(out->logits, n, k, out->probs);
    return UL_OK;
}

ul_status ul_predictions_from_probs(const float *probs, const int32_t *labels, size_t n, int k,
                                    ul_predictions *out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_predictions_from_probs: out is NULL");
    memset(out, 0, sizeof *out);
    if (n && (!probs || !labels)) return ul_fail(UL_E_ARG, "ul_predictions_from_probs: NULL probabilities or labels");
    if (k >= 1 && n <= SIZE_MAX / (size_t)k)
        for (size_t i = 0; i < n * (size_t)k; i++)
            if (!(probs[i] >= 0.0f && probs[i] <= 1.0f)) /* also rejects NaN */
                return ul_fail(UL_E_ARG, "predictions: probability %zu of sample %zu is %g, not in [0, 1]",
                               i % (size_t)k, i / (size_t)k, (double)probs[i]);
    ul_status st = alloc_preds(n, k, false, out);
    if (st != UL_OK) return st;
    if (n) {
        memcpy(out->probs, probs, n * (size_t)k * sizeof(float));
        memcpy(out->labels, labels, n * sizeof(int32_t));
    }
    return UL_OK;
}

ul_status ul_predict(ul_model *m, const ul_view *v, const ul_transform *tf, int batch_size, ul_predictions *out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_predict: out is NULL");
    memset(out, 0, sizeof *out);
    if (!m || !v || !v->ds || (!v->idx && v->n)) return ul_fail(UL_E_ARG, "ul_predict: NULL model or view");
    const ul_arch_params ap = ul_model_arch(m);
    const ul_dataset *d = v->ds;
    if (ul_dataset_channels(d) != ap.in_c || ul_dataset_height(d) != ap.in_h || ul_dataset_width(d) != ap.in_w)
        return ul_fail(UL_E_SHAPE, "predict: data '%s' has samples of %dx%dx%d but model '%s' expects %dx%dx%d",
                       ul_dataset_name(d), ul_dataset_channels(d), ul_dataset_height(d), ul_dataset_width(d),
                       ul_model_spec(m), ap.in_c, ap.in_h, ap.in_w);
    if (batch_size <= 0) batch_size = 256;
    const int K = ap.classes;
    ul_status st = alloc_preds(v->n, K, true, out);
    if (st != UL_OK) return st;
    out->idx = ul_malloc(v->n, sizeof(int32_t));
    if (!out->idx) {
        ul_predictions_free(out);
        return UL_E_NOMEM;
    }
    if (v->n) memcpy(out->idx, v->idx, v->n * sizeof(int32_t));
    out->ds = v->ds;
    if (v->n == 0) return UL_OK;

    ul_transform t = tf ? *tf : (ul_transform){0};
    t.crop_pad = 0;
    t.hflip = false;
    const size_t in = (size_t)ul_dataset_channels(d) * (size_t)ul_dataset_height(d) * (size_t)ul_dataset_width(d);
    ul_batcher *b = NULL;
    float *x = ul_alloc_aligned((size_t)batch_size * in, sizeof(float));
    if (!x) {
        st = UL_E_NOMEM;
        goto done;
    }
    if ((st = ul_batcher_create(v, batch_size, false, false, 0, &t, &b)) != UL_OK) goto done;
    ul_batcher_start_epoch(b, 0);
    size_t at = 0, nb;
    while ((nb = ul_batcher_next(b, x, out->labels + at, NULL)) > 0) {
        float *z = out->logits + at * (size_t)K;
        if ((st = ul_model_forward(m, x, nb, false, z)) != UL_OK) goto done;
        ul_softmax(z, nb, K, out->probs + at * (size_t)K);
        at += nb;
    }
    if (at != v->n) st = ul_fail(UL_E_INTERNAL, "predict: the batcher gave %zu of %zu samples", at, v->n);
done:
    ul_batcher_free(b);
    free(x);
    if (st != UL_OK) ul_predictions_free(out);
    return st;
}
