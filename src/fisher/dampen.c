/* The dampening rule of Selective Synaptic Dampening (Foster et al. 2023) as FIUn applies it
 * (fiun.md §2.3, decision 7), and MFIM, the merge of several roots' forget Fishers
 * (element-wise max divided by c^(K-1), decision 6). Pure array functions: which Fisher to pass
 * (a node's own I_D, the roots' I_f) is the caller's business. Element-wise (the spec) or per
 * unit (one output of a layer: ul_dampen_units, our option). No epsilon, no top-k.
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

/* Units: walk the trainable tensors in block order; a tensor named "<layer>.<kind>" with a first
 * dimension of U contributes slice u (numel / U values) to unit (layer, u); tensors of one layer
 * (weight, bias; BN weight, bias) share the layer's units when their first dimensions agree.
 * visit(u, t0, t1, U, uidx) is called for every unit; t0..t1 are its tensors. */
typedef void (*unit_fn)(const ul_model *m, int t0, int t1, int64_t U, int64_t u, size_t index, void *ctx);

static size_t for_units(const ul_model *m, unit_fn fn, void *ctx) {
    const int nt = ul_model_num_tensors(m);
    size_t index = 0;
    int t = 0;
    while (t < nt) {
        const ul_tensor_info *a = ul_model_tensor(m, t);
        if (a->offset >= ul_model_num_params(m)) break; /* buffers follow the trainable block */
        const char *dot = strrchr(a->name, '.');
        const size_t plen = dot ? (size_t)(dot - a->name) : strlen(a->name);
        const int64_t U = a->ndim > 0 ? a->shape[0] : 1;
        int t1 = t + 1; /* the tensors of the same layer with the same unit count */
        while (t1 < nt) {
            const ul_tensor_info *b = ul_model_tensor(m, t1);
            const char *bd = strrchr(b->name, '.');
            const size_t bl = bd ? (size_t)(bd - b->name) : strlen(b->name);
            if (b->offset >= ul_model_num_params(m) || bl != plen || strncmp(a->name, b->name, plen) != 0 ||
                (b->ndim > 0 ? b->shape[0] : 1) != U)
                break;
            t1++;
        }
        for (int64_t u = 0; u < U; u++) fn(m, t, t1, U, u, index++, ctx);
        t = t1;
    }
    return index;
}

static void unit_sums(const ul_model *m, int t0, int t1, int64_t U, int64_t u, const float *ID, const float *If,
                      double *sd, double *sf) {
    *sd = *sf = 0.0;
    for (int q = t0; q < t1; q++) {
        const ul_tensor_info *x = ul_model_tensor(m, q);
        const size_t w = x->numel / (size_t)U, o = x->offset + (size_t)u * w;
        for (size_t k = 0; k < w; k++) *sf += If[o + k], *sd += ID[o + k];
    }
}

typedef struct count_ctx {
    size_t n;
} count_ctx;
static void count_fn(const ul_model *m, int t0, int t1, int64_t U, int64_t u, size_t index, void *ctx) {
    (void)m, (void)t0, (void)t1, (void)U, (void)u, (void)index;
    ((count_ctx *)ctx)->n++;
}

typedef struct of_ctx {
    size_t k, found;
} of_ctx;
static void of_fn(const ul_model *m, int t0, int t1, int64_t U, int64_t u, size_t index, void *ctx) {
    of_ctx *c = ctx;
    for (int q = t0; q < t1; q++) {
        const ul_tensor_info *x = ul_model_tensor(m, q);
        const size_t w = x->numel / (size_t)U, o = x->offset + (size_t)u * w;
        if (c->k >= o && c->k < o + w) c->found = index;
    }
}

size_t ul_unit_of(const ul_model *m, size_t k) {
    of_ctx c = {k, (size_t)-1};
    for_units(m, of_fn, &c);
    return c.found;
}

size_t ul_unit_count(const ul_model *m) {
    count_ctx c = {0};
    for_units(m, count_fn, &c);
    return c.n;
}

typedef struct ratio_ctx {
    const float *ID, *If;
    double *ratio;
} ratio_ctx;
static void ratio_fn(const ul_model *m, int t0, int t1, int64_t U, int64_t u, size_t index, void *ctx) {
    ratio_ctx *c = ctx;
    double sd, sf;
    unit_sums(m, t0, t1, U, u, c->ID, c->If, &sd, &sf);
    c->ratio[index] = sf > 0 ? (sd > 0 ? sf / sd : INFINITY) : 0.0;
}

void ul_unit_ratios(const ul_model *m, const float *ID, const float *If, double *ratio) {
    ratio_ctx c = {ID, If, ratio};
    for_units(m, ratio_fn, &c);
}

typedef struct damp_ctx {
    float *theta;
    const float *ID, *If;
    const ul_dampen_params *p;
    const unsigned char *sel;
    size_t selected;
} damp_ctx;
static void damp_fn(const ul_model *m, int t0, int t1, int64_t U, int64_t u, size_t index, void *ctx) {
    damp_ctx *c = ctx;
    double sd, sf;
    unit_sums(m, t0, t1, U, u, c->ID, c->If, &sd, &sf);
    if (c->sel ? !c->sel[index] || !(sf > 0) : !(sf > c->p->alpha * sd)) return;
    double beta = c->p->lambda * sd / sf;
    if (c->p->exponent != 1.0) beta = pow(beta, c->p->exponent);
    if (beta > c->p->beta_max) beta = c->p->beta_max;
    for (int q = t0; q < t1; q++) {
        const ul_tensor_info *x = ul_model_tensor(m, q);
        const size_t w = x->numel / (size_t)U, o = x->offset + (size_t)u * w;
        for (size_t k = 0; k < w; k++) c->theta[o + k] = (float)(beta * (double)c->theta[o + k]);
        c->selected += w;
    }
}

size_t ul_dampen_units(const ul_model *m, float *theta, const float *ID, const float *If, const ul_dampen_params *p) {
    damp_ctx c = {theta, ID, If, p, NULL, 0};
    for_units(m, damp_fn, &c);
    return c.selected;
}

size_t ul_dampen_units_selected(const ul_model *m, float *theta, const float *ID, const float *If,
                                const ul_dampen_params *p, const unsigned char *sel) {
    damp_ctx c = {theta, ID, If, p, sel, 0};
    for_units(m, damp_fn, &c);
    return c.selected;
}
