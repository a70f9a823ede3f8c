/* The model object: building from a spec (arch.c), the contiguous parameter/gradient blocks
 * with named views, activation buffers grown to the batch on demand, forward/backward
 * drivers, cloning and hashing. Parameters come first in the block, then the buffers, so
 * trainable-only loops run over params[0..P).
 */
#include "nn/layer.h"
#include "tensor/blas.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

ul_status ul_arch_build(ul_model *m, const char *spec, uint8_t **init_out, int **fan_out, size_t *np, size_t *nb);
void ul_arch_init(ul_model *m, const uint8_t *init, const int *fan, uint64_t seed);

static void seq_free(ul_seq *s) {
    for (int i = 0; i < s->n; i++) {
        ul_layer *l = &s->l[i];
        free(l->out);
        free(l->din);
        free(l->argmax);
        free(l->xhat);
        free(l->invstd);
        if (l->main) { seq_free(l->main); free(l->main); }
        if (l->shortcut) { seq_free(l->shortcut); free(l->shortcut); }
    }
    free(s->l);
    s->l = NULL;
    s->n = s->cap = 0;
}

void ul_model_free(ul_model *m) {
    if (!m) return;
    seq_free(&m->top);
    free(m->tensors);
    free(m->params);
    free(m->grads);
    free(m->ws_col);
    free(m->ws_tmp);
    free(m->ws_part);
    free(m);
}

/* Per-sample workspace needs of the convolutions, and per-channel buffers of BN. */
static ul_status seq_prepare(ul_model *m, ul_seq *s, bool first_needs_din) {
    for (int i = 0; i < s->n; i++) {
        ul_layer *l = &s->l[i];
        if (i == 0) l->need_din = first_needs_din;
        if (l->type == UL_L_CONV) {
            size_t col = (size_t)l->in_c * l->k * l->k * l->out_h * l->out_w;
            size_t tmp = l->out_n;
            if (col > m->ws_col_n) m->ws_col_n = col;
            if (tmp > m->ws_tmp_n) m->ws_tmp_n = tmp;
        }
        if (l->type == UL_L_BN) {
            l->invstd = calloc(2 * (size_t)l->in_c, sizeof(float)); /* invstd, then mean (bn.c) */
            if (!l->invstd) return ul_fail(UL_E_NOMEM, "out of memory");
        }
        if (l->type == UL_L_BLOCK) {
            ul_status st = seq_prepare(m, l->main, l->need_din);
            if (st == UL_OK) st = seq_prepare(m, l->shortcut, l->need_din);
            if (st != UL_OK) return st;
        }
    }
    return UL_OK;
}

/* Floats of per-chunk partial gradients the convolutions need (UL_CHUNKS x (weight + bias)). */
static size_t seq_parts(const ul_seq *s) {
    size_t mx = 0;
    for (int i = 0; i < s->n; i++) {
        const ul_layer *l = &s->l[i];
        size_t w = 0;
        if (l->type == UL_L_CONV) w = (size_t)UL_CHUNKS * ((size_t)l->out_c * l->in_c * l->k * l->k + (size_t)l->out_c);
        if (l->type == UL_L_BLOCK) {
            size_t a = seq_parts(l->main), b = seq_parts(l->shortcut);
            w = a > b ? a : b;
        }
        if (w > mx) mx = w;
    }
    return mx;
}

static ul_status seq_grow(ul_seq *s, size_t cap) {
    for (int i = 0; i < s->n; i++) {
        ul_layer *l = &s->l[i];
        free(l->out); free(l->din); free(l->argmax); free(l->xhat);
        l->out = NULL; l->din = NULL; l->argmax = NULL; l->xhat = NULL;
        l->out = ul_alloc_aligned(cap * l->out_n, sizeof(float));
        if (!l->out) return UL_E_NOMEM;
        if (l->need_din && !(l->din = ul_alloc_aligned(cap * l->in_n, sizeof(float)))) return UL_E_NOMEM;
        if (l->type == UL_L_MAXPOOL && !(l->argmax = ul_alloc_aligned(cap * l->out_n, sizeof(int32_t))))
            return UL_E_NOMEM;
        if ((l->type == UL_L_BLOCK || (l->type == UL_L_LINEAR && l->relu)) &&
            !(l->xhat = ul_alloc_aligned(cap * l->out_n, sizeof(float))))
            return UL_E_NOMEM;
        if (l->type == UL_L_BLOCK) {
            ul_status st = seq_grow(l->main, cap);
            if (st == UL_OK) st = seq_grow(l->shortcut, cap);
            if (st != UL_OK) return st;
        }
    }
    return UL_OK;
}

static ul_status ensure_capacity(ul_model *m, size_t n) {
    if (n <= m->capacity) return UL_OK;
    size_t cap = n;
    free(m->ws_col); free(m->ws_tmp);
    m->ws_col = m->ws_tmp = NULL;
    m->capacity = 0;
    ul_status st = seq_grow(&m->top, cap);
    if (st == UL_OK && m->ws_col_n) {
        m->ws_col = ul_alloc_aligned(cap * m->ws_col_n, sizeof(float));
        m->ws_tmp = ul_alloc_aligned(cap * m->ws_tmp_n, sizeof(float));
        if (!m->ws_col || !m->ws_tmp) st = UL_E_NOMEM;
    }
    if (st != UL_OK) return ul_fail(UL_E_NOMEM, "out of memory for activations of a batch of %zu", n);
    m->capacity = cap;
    return UL_OK;
}

ul_status ul_model_create(const char *spec, const ul_arch_params *ap, uint64_t seed, ul_model **out) {
    *out = NULL;
    if (!spec || !ap) return ul_fail(UL_E_ARG, "ul_model_create: spec and arch params are required");
    if (ap->in_c <= 0 || ap->in_h <= 0 || ap->in_w <= 0 || ap->in_c > 4096 || ap->in_h > 4096 || ap->in_w > 4096)
        return ul_fail(UL_E_ARG, "arch '%s': input shape %dx%dx%d out of range", spec, ap->in_c, ap->in_h, ap->in_w);
    if (ap->classes < 1 || ap->classes > 100000)
        return ul_fail(UL_E_ARG, "arch '%s': class count %d out of range [1, 100000]", spec, ap->classes);
    ul_model *m = calloc(1, sizeof *m);
    if (!m) return ul_fail(UL_E_NOMEM, "out of memory");
    m->ap = *ap;
    uint8_t *init = NULL;
    int *fan = NULL;
    size_t np = 0, nb = 0;
    ul_status st = ul_arch_build(m, spec, &init, &fan, &np, &nb);
    if (st == UL_OK && np + nb > UL_MAX_MODEL_VALUES)
        st = ul_fail(UL_E_ARG, "arch '%s': %zu parameters exceed the limit of %zu (%zu MiB per copy)", spec, np + nb,
                     (size_t)UL_MAX_MODEL_VALUES, (size_t)UL_MAX_MODEL_VALUES * sizeof(float) >> 20);
    if (st == UL_OK) {
        m->nparams = np;
        m->nbuffers = nb;
        for (int t = 0; t < m->ntensors; t++)
            if (m->tensors[t].kind != UL_TENSOR_PARAM) m->tensors[t].offset += np;
        m->params = ul_alloc_aligned(np + nb, sizeof(float));
        m->grads = ul_alloc_aligned(np, sizeof(float));
        if (!m->params || !m->grads) st = ul_fail(UL_E_NOMEM, "out of memory for %zu parameters", np + nb);
    }
    if (st == UL_OK) st = seq_prepare(m, &m->top, false);
    if (st == UL_OK && (m->ws_part_n = seq_parts(&m->top)) > 0 &&
        !(m->ws_part = ul_alloc_aligned(m->ws_part_n, sizeof(float))))
        st = ul_fail(UL_E_NOMEM, "out of memory for gradient workspaces");
    if (st == UL_OK) ul_arch_init(m, init, fan, seed);
    free(init);
    free(fan);
    if (st != UL_OK) {
        ul_model_free(m);
        return st;
    }
    *out = m;
    return UL_OK;
}

ul_status ul_model_clone(const ul_model *m, ul_model **out) {
    ul_status st = ul_model_create(m->spec, &m->ap, 0, out);
    if (st != UL_OK) return st;
    memcpy((*out)->params, m->params, sizeof(float) * (m->nparams + m->nbuffers));
    return UL_OK;
}

ul_status ul_model_copy_params(ul_model *dst, const ul_model *src) {
    if (strcmp(dst->spec, src->spec) != 0 || dst->nparams != src->nparams || dst->nbuffers != src->nbuffers ||
        dst->ap.in_c != src->ap.in_c || dst->ap.in_h != src->ap.in_h || dst->ap.in_w != src->ap.in_w ||
        dst->ap.classes != src->ap.classes)
        return ul_fail(UL_E_SHAPE, "cannot copy parameters of '%s' into '%s': architectures differ", src->spec,
                       dst->spec);
    memcpy(dst->params, src->params, sizeof(float) * (src->nparams + src->nbuffers));
    return UL_OK;
}

const char *ul_model_spec(const ul_model *m) { return m->spec; }
ul_arch_params ul_model_arch(const ul_model *m) { return m->ap; }
size_t ul_model_num_params(const ul_model *m) { return m->nparams; }
size_t ul_model_num_values(const ul_model *m) { return m->nparams + m->nbuffers; }
float *ul_model_params(ul_model *m) { return m->params; }
const float *ul_model_params_const(const ul_model *m) { return m->params; }
float *ul_model_grads(ul_model *m) { return m->grads; }
int ul_model_num_tensors(const ul_model *m) { return m->ntensors; }
size_t ul_model_capacity(const ul_model *m) { return m->capacity; }

const ul_tensor_info *ul_model_tensor(const ul_model *m, int i) {
    return (i >= 0 && i < m->ntensors) ? &m->tensors[i] : NULL;
}

const ul_tensor_info *ul_model_find_tensor(const ul_model *m, const char *name) {
    for (int i = 0; i < m->ntensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0) return &m->tensors[i];
    return NULL;
}

void ul_model_head(const ul_model *m, int *weight_tensor, int *bias_tensor) {
    const ul_layer *l = &m->top.l[m->head_layer];
    if (weight_tensor) *weight_tensor = l->t_w;
    if (bias_tensor) *bias_tensor = l->t_b;
}

ul_status ul_model_forward(ul_model *m, const float *x, size_t n, bool train, float *logits) {
    if (n == 0) return UL_OK;
    ul_status st = ensure_capacity(m, n);
    if (st != UL_OK) return st;
    m->train_mode = train;
    m->batch = n;
    const float *y = ul_seq_forward(m, &m->top, x, n, train);
    memcpy(logits, y, sizeof(float) * n * (size_t)m->ap.classes);
    return UL_OK;
}

ul_status ul_model_backward(ul_model *m, const float *dlogits) {
    if (m->batch == 0) return ul_fail(UL_E_ARG, "ul_model_backward: no forward pass to differentiate");
    ul_seq_backward(m, &m->top, dlogits, m->batch);
    return UL_OK;
}

ul_status ul_model_backward_sq(ul_model *m, const float *dlogits, float *sq) {
    if (m->batch == 0) return ul_fail(UL_E_ARG, "ul_model_backward_sq: no forward pass to differentiate");
    if (m->train_mode)
        return ul_fail(UL_E_ARG, "ul_model_backward_sq: needs an eval-mode forward (train-mode BN couples samples)");
    m->sq = sq;
    m->sq_failed = false;
    ul_seq_backward(m, &m->top, dlogits, m->batch);
    m->sq = NULL;
    if (m->sq_failed) return ul_fail(UL_E_NOMEM, "out of memory for per-sample squared gradients");
    return UL_OK;
}

void ul_model_zero_grad(ul_model *m) { memset(m->grads, 0, sizeof(float) * m->nparams); }

const float *ul_model_features(const ul_model *m, size_t *head_in) {
    const ul_layer *l = &m->top.l[m->head_layer];
    if (head_in) *head_in = l->in_n;
    return m->batch ? l->in : NULL;
}

void ul_model_hash(const ul_model *m, char hex[65]) {
    ul_sha256 c;
    uint8_t d[32];
    ul_sha256_init(&c);
    ul_sha256_update(&c, m->spec, strlen(m->spec) + 1);
    ul_sha256_update(&c, m->params, sizeof(float) * (m->nparams + m->nbuffers));
    ul_sha256_final(&c, d);
    ul_sha256_to_hex(d, hex);
}

static const char *layer_kind(ul_layer_type t) {
    switch (t) {
    case UL_L_LINEAR: return "linear";
    case UL_L_CONV: return "conv";
    case UL_L_MAXPOOL: return "maxpool";
    case UL_L_AVGPOOL: return "avgpool";
    case UL_L_RELU: return "relu";
    case UL_L_BN: return "batchnorm";
    default: return "block";
    }
}

/* Depth-first over a sequence; *pos counts layers. A block's own output is checked after its
 * branches, so the innermost layer that overflowed is named. */
static int seq_find_nonfinite(const ul_model *m, const ul_seq *s, int *pos, char *desc, size_t cap) {
    for (int i = 0; i < s->n; i++) {
        const ul_layer *l = &s->l[i];
        if (l->type == UL_L_BLOCK) {
            int r = seq_find_nonfinite(m, l->main, pos, desc, cap);
            if (r < 0 && l->shortcut) r = seq_find_nonfinite(m, l->shortcut, pos, desc, cap);
            if (r >= 0) return r;
        }
        const int here = (*pos)++;
        if (!l->out) continue;
        const size_t n = m->batch * l->out_n;
        for (size_t k = 0; k < n; k++)
            if (!isfinite(l->out[k])) {
                char name[96] = "";
                if (l->t_w >= 0 && l->t_w < m->ntensors) {
                    const char *tn = m->tensors[l->t_w].name, *dot = strrchr(tn, '.');
                    snprintf(name, sizeof name, " %.*s", (int)(dot ? (size_t)(dot - tn) : strlen(tn)), tn);
                }
                snprintf(desc, cap, "layer %d (%s%s%s)", here, layer_kind(l->type), name,
                         l->relu ? " + relu" : "");
                return here;
            }
    }
    return -1;
}

int ul_model_find_nonfinite_activation(const ul_model *m, char *desc, size_t cap) {
    if (cap) desc[0] = '\0';
    if (!m || m->batch == 0) return -1;
    int pos = 0;
    return seq_find_nonfinite(m, &m->top, &pos, desc, cap);
}

ptrdiff_t ul_model_find_nonfinite(const ul_model *m, int *tensor) {
    const size_t n = m->nparams + m->nbuffers;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(m->params[i])) {
            if (tensor) {
                *tensor = -1;
                for (int t = 0; t < m->ntensors; t++)
                    if (i >= m->tensors[t].offset && i < m->tensors[t].offset + m->tensors[t].numel) *tensor = t;
            }
            return (ptrdiff_t)i;
        }
    }
    return -1;
}
