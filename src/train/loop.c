/* The training loop and evaluation: batches from a view (shuffled and augmented per epoch from
 * the seed), forward, softmax cross-entropy, backward, optional clipping, optimizer step with
 * the learning rate of the schedule at that iteration. A non-finite loss or gradient stops the
 * run before the step is applied (BN running statistics are restored too), naming where.
 * Head-only training (transfer learning) runs the backbone in eval mode and updates only the
 * final linear layer. No mixed precision, no gradient accumulation, no early stopping.
 */
#include "unlearn/train.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ul_train_config ul_train_defaults(void) {
    ul_train_config c;
    memset(&c, 0, sizeof c);
    c.epochs = 2;
    c.batch_size = 128;
    c.optim = ul_optim_defaults(UL_OPT_SGD);
    c.optim.lr = 0.05;
    c.optim.momentum = 0.9;
    c.optim.nesterov = true;
    c.optim.weight_decay = 5e-4;
    c.sched = UL_SCHED_COSINE;
    c.eta_min = 0.0;
    c.gamma = 0.1;
    c.clip_norm = 0.0;
    c.seed = 0;
    return c;
}

static ul_status check_view(const ul_model *m, const ul_view *v, const char *what) {
    ul_arch_params ap = ul_model_arch(m);
    const ul_dataset *d = v->ds;
    if (ul_dataset_channels(d) != ap.in_c || ul_dataset_height(d) != ap.in_h || ul_dataset_width(d) != ap.in_w)
        return ul_fail(UL_E_SHAPE, "%s: data '%s' has samples of %dx%dx%d but model '%s' expects %dx%dx%d", what,
                       ul_dataset_name(d), ul_dataset_channels(d), ul_dataset_height(d), ul_dataset_width(d),
                       ul_model_spec(m), ap.in_c, ap.in_h, ap.in_w);
    return UL_OK;
}

/* "fc1" for "fc1.weight": the layer a tensor belongs to (its name up to the last '.'). */
static void layer_of(const char *tensor, char *buf, size_t cap) {
    const char *dot = strrchr(tensor, '.');
    size_t n = dot ? (size_t)(dot - tensor) : strlen(tensor);
    if (n >= cap) n = cap - 1;
    memcpy(buf, tensor, n);
    buf[n] = '\0';
}

static const char *nonfinite_text(double v) { return isnan(v) ? "nan" : v > 0 ? "inf" : "-inf"; }

/* Why the loss is not finite, for the message: a non-finite parameter (the previous update
 * overflowed) or, with every parameter finite, the forward pass (activations overflowed). */
static void explain_loss(const ul_model *m, const float *logits, size_t n, int K, int64_t step, char *buf, size_t cap) {
    int t = -1;
    if (ul_model_find_nonfinite(m, &t) >= 0 && t >= 0) {
        const char *name = ul_model_tensor(m, t)->name;
        char layer[128];
        layer_of(name, layer, sizeof layer);
        if (step > 0)
            snprintf(buf, cap, "parameter '%s' (layer %s) is non-finite: the update of step %lld overflowed", name, layer,
                     (long long)step);
        else
            snprintf(buf, cap, "parameter '%s' (layer %s) was non-finite before training", name, layer);
        return;
    }
    size_t bad = n;
    for (size_t i = 0; i < n * (size_t)K && bad == n; i++)
        if (!isfinite(logits[i])) bad = i / (size_t)K;
    char layer[160];
    if (ul_model_find_nonfinite_activation(m, layer, sizeof layer) >= 0)
        snprintf(buf, cap, "every parameter is finite, but the forward pass overflowed in %s", layer);
    else if (bad < n)
        snprintf(buf, cap, "every parameter is finite, but the logits of sample %zu of the batch are non-finite", bad);
    else
        snprintf(buf, cap, "every parameter and logit is finite (the loss itself overflowed)");
}

/* Index of the first tensor whose gradient is non-finite, for messages. */
static const char *nonfinite_grad_tensor(ul_model *m) {
    const float *g = ul_model_grads(m);
    for (int t = 0; t < ul_model_num_tensors(m); t++) {
        const ul_tensor_info *ti = ul_model_tensor(m, t);
        if (ti->kind != UL_TENSOR_PARAM) continue;
        for (size_t i = 0; i < ti->numel; i++)
            if (!isfinite(g[ti->offset + i])) return ti->name;
    }
    return "?";
}

ul_status ul_train(ul_model *m, const ul_view *v, const ul_train_config *c) {
    if (c->epochs < 0 || c->batch_size <= 0)
        return ul_fail(UL_E_ARG, "train: epochs (%d) must be >= 0 and batch size (%d) > 0", c->epochs, c->batch_size);
    if (!v || v->n == 0) return ul_fail(UL_E_ARG, "train: the training view is empty");
    ul_status st = check_view(m, v, "train");
    if (st != UL_OK) return st;
    const int K = ul_model_arch(m).classes;
    const int32_t *labels = ul_dataset_labels(v->ds);
    for (size_t i = 0; i < v->n; i++)
        if (labels[v->idx[i]] < 0 || labels[v->idx[i]] >= K)
            return ul_fail(UL_E_ARG, "train: sample %d of '%s' has label %d, outside the model's %d classes",
                           v->idx[i], ul_dataset_name(v->ds), labels[v->idx[i]], K);
    if (c->epochs == 0) return UL_OK;

    const size_t P = ul_model_num_params(m), NV = ul_model_num_values(m);
    size_t off = 0; /* first trainable value the optimizer updates */
    if (c->head_only) {
        int wt, bt;
        ul_model_head(m, &wt, &bt);
        off = ul_model_tensor(m, wt)->offset;
        if (bt >= 0 && ul_model_tensor(m, bt)->offset < off) off = ul_model_tensor(m, bt)->offset;
    }
    ul_batcher *b = NULL;
    ul_optim *o = NULL;
    const size_t bs = (size_t)c->batch_size;
    const size_t in = (size_t)ul_dataset_channels(v->ds) * ul_dataset_height(v->ds) * ul_dataset_width(v->ds);
    float *x = ul_alloc_aligned(bs * in, sizeof(float));
    float *logits = ul_malloc(bs * (size_t)K, sizeof(float));
    float *dl = ul_malloc(bs * (size_t)K, sizeof(float));
    int32_t *y = ul_malloc(bs, sizeof(int32_t));
    int32_t *pred = ul_malloc(bs, sizeof(int32_t));
    float *bufsave = ul_malloc(NV - P + 1, sizeof(float));
    if (!x || !logits || !dl || !y || !pred || !bufsave) { st = UL_E_NOMEM; goto done; }
    if ((st = ul_batcher_create(v, c->batch_size, true, false, c->seed, &c->transform, &b)) != UL_OK) goto done;
    if ((st = ul_optim_create(&c->optim, P - off, &o)) != UL_OK) goto done;

    const size_t bpe = ul_batcher_batches_per_epoch(b);
    ul_sched sc = {.kind = c->sched, .base_lr = c->optim.lr, .total = (int64_t)(bpe * (size_t)c->epochs),
                   .eta_min = c->eta_min, .gamma = c->gamma, .nmilestones = c->nmilestones};
    for (int i = 0; i < c->nmilestones && i < 8; i++) sc.milestones[i] = c->milestones[i] * (int64_t)bpe;
    const float *mask = c->grad_mask ? c->grad_mask + off : NULL;
    const bool train_mode = !c->head_only;
    int64_t it = 0;
    const double t0 = ul_now();
    size_t seen_total = 0;
    for (int ep = 0; ep < c->epochs; ep++) {
        ul_batcher_start_epoch(b, ep);
        double loss_sum = 0.0;
        size_t seen = 0, correct = 0, bi = 0, n;
        while ((n = ul_batcher_next(b, x, y, NULL)) > 0) {
            memcpy(bufsave, ul_model_params(m) + P, sizeof(float) * (NV - P));
            ul_model_zero_grad(m);
            if ((st = ul_model_forward(m, x, n, train_mode, logits)) != UL_OK) goto done;
            double loss = ul_softmax_xent(logits, y, NULL, n, K, NULL, dl);
            if (!isfinite(loss)) {
                memcpy(ul_model_params(m) + P, bufsave, sizeof(float) * (NV - P));
                char why[400];
                explain_loss(m, logits, n, K, it, why, sizeof why);
                st = ul_fail(UL_E_NUMERIC,
                             "train: loss became %s at epoch %d, batch %zu (step %lld, lr %g): %s; model left as before "
                             "that step",
                             nonfinite_text(loss), ep + 1, bi + 1, (long long)it + 1, ul_sched_lr(&sc, it), why);
                goto done;
            }
            if ((st = ul_model_backward(m, dl)) != UL_OK) goto done;
            float *g = ul_model_grads(m) + off;
            double norm = ul_clip_grad_norm(g, P - off, c->clip_norm);
            if (!isfinite(norm)) {
                memcpy(ul_model_params(m) + P, bufsave, sizeof(float) * (NV - P));
                const char *gt = nonfinite_grad_tensor(m);
                char layer[128];
                layer_of(gt, layer, sizeof layer);
                st = ul_fail(UL_E_NUMERIC,
                             "train: gradient of '%s' (layer %s) became non-finite in the backward pass at epoch %d, "
                             "batch %zu (step %lld, lr %g); model left as before that step",
                             gt, layer, ep + 1, bi + 1, (long long)it + 1, ul_sched_lr(&sc, it));
                goto done;
            }
            ul_optim_step(o, ul_model_params(m) + off, g, mask, ul_sched_lr(&sc, it));
            it++;
            ul_argmax(logits, n, K, pred);
            for (size_t i = 0; i < n; i++) correct += pred[i] == y[i];
            loss_sum += loss * (double)n;
            seen += n;
            seen_total += n;
            bi++;
            if (c->progress) {
                double el = ul_now() - t0;
                ul_train_progress p = {.epoch = ep + 1, .epochs = c->epochs, .batch = bi, .batches = bpe,
                                       .loss = loss_sum / (double)seen, .acc = (double)correct / (double)seen,
                                       .samples_per_s = el > 0 ? (double)seen_total / el : 0.0, .elapsed_s = el,
                                       .epoch_done = bi == bpe};
                c->progress(&p, c->progress_user);
            }
        }
    }
    {
        int t = -1;
        if (ul_model_find_nonfinite(m, &t) >= 0) {
            const char *name = t >= 0 ? ul_model_tensor(m, t)->name : "?";
            char layer[128];
            layer_of(name, layer, sizeof layer);
            st = ul_fail(UL_E_NUMERIC,
                         "train: parameter '%s' (layer %s) is non-finite after training: the last update (step %lld, "
                         "epoch %d) overflowed",
                         name, layer, (long long)it, c->epochs);
        }
    }
done:
    ul_batcher_free(b);
    ul_optim_free(o);
    free(x); free(logits); free(dl); free(y); free(pred); free(bufsave);
    return st;
}

void ul_eval_result_free(ul_eval_result *r) {
    if (!r) return;
    free(r->class_total);
    free(r->class_correct);
    r->class_total = r->class_correct = NULL;
}

ul_status ul_evaluate(ul_model *m, const ul_view *v, const ul_transform *tf, int batch_size, ul_eval_result *out) {
    memset(out, 0, sizeof *out);
    if (batch_size <= 0) batch_size = 256;
    ul_status st = check_view(m, v, "eval");
    if (st != UL_OK) return st;
    const int K = ul_model_arch(m).classes;
    int C = ul_dataset_classes(v->ds);
    if (C < K) C = K;
    const size_t bs = (size_t)batch_size;
    const size_t in = (size_t)ul_dataset_channels(v->ds) * ul_dataset_height(v->ds) * ul_dataset_width(v->ds);
    ul_batcher *b = NULL;
    ul_transform t = tf ? *tf : (ul_transform){0};
    t.crop_pad = 0;
    t.hflip = false;
    float *x = ul_alloc_aligned(bs * in, sizeof(float));
    float *logits = ul_malloc(bs * (size_t)K, sizeof(float));
    float *losses = ul_malloc(bs, sizeof(float));
    int32_t *y = ul_malloc(bs, sizeof(int32_t)), *pred = ul_malloc(bs, sizeof(int32_t));
    out->class_total = ul_calloc((size_t)C, sizeof(size_t));
    out->class_correct = ul_calloc((size_t)C, sizeof(size_t));
    out->classes = C;
    if (!x || !logits || !losses || !y || !pred || !out->class_total || !out->class_correct) { st = UL_E_NOMEM; goto done; }
    if (v->n == 0) goto done;
    if ((st = ul_batcher_create(v, batch_size, false, false, 0, &t, &b)) != UL_OK) goto done;
    ul_batcher_start_epoch(b, 0);
    double loss_sum = 0.0;
    size_t n;
    while ((n = ul_batcher_next(b, x, y, NULL)) > 0) {
        if ((st = ul_model_forward(m, x, n, false, logits)) != UL_OK) goto done;
        ul_softmax_xent(logits, y, NULL, n, K, losses, NULL);
        ul_argmax(logits, n, K, pred);
        for (size_t i = 0; i < n; i++) {
            bool ok = y[i] < K && pred[i] == y[i];
            out->class_total[y[i]]++;
            out->class_correct[y[i]] += ok;
            out->correct += ok;
            if (y[i] < K) loss_sum += losses[i];
        }
        out->n += n;
    }
    out->loss = out->n ? loss_sum / (double)out->n : 0.0;
done:
    ul_batcher_free(b);
    free(x); free(logits); free(losses); free(y); free(pred);
    if (st != UL_OK) ul_eval_result_free(out);
    return st;
}
