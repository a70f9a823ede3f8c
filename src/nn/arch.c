/* Architectures from spec strings: "mlp:W0-W1-...-Wk", "cnn", "resnet18[@w=F]".
 * Builds the layer sequences and registers every tensor under its PyTorch state_dict name
 * (torchvision naming for ResNet: layerL.B.conv1, downsample.0/1, fc). Parameters are
 * initialised as PyTorch does by default; ResNet convolutions use torchvision's
 * kaiming_normal_(fan_out, relu). No other architectures, no pretrained weights.
 */
#include "nn/layer.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { INIT_UNIFORM_FANIN = 0, INIT_NORMAL_FANOUT = 1, INIT_ONES = 2, INIT_ZEROS = 3 };

typedef struct build {
    ul_model *m;
    size_t np, nb;          /* running sizes of the param and buffer regions */
    uint8_t *init;          /* grows with the tensor table */
    int *fan;               /* fan_in (uniform) or fan_out (normal) per tensor */
    int icap;
    bool resnet;
} build;

static int add_tensor(build *b, const char *name, ul_tensor_kind kind, int ndim, const int64_t *shape,
                      int init, int fan) {
    ul_model *m = b->m;
    if (m->ntensors == m->tcap) {
        int nc = m->tcap ? m->tcap * 2 : 32;
        ul_tensor_info *t = realloc(m->tensors, sizeof *t * (size_t)nc);
        uint8_t *in = realloc(b->init, (size_t)nc);
        int *fa = t && in ? realloc(b->fan, sizeof(int) * (size_t)nc) : NULL;
        if (t) m->tensors = t;
        if (in) b->init = in;
        if (fa) b->fan = fa;
        if (!t || !in || !fa) return -1;
        m->tcap = nc;
    }
    ul_tensor_info *t = &m->tensors[m->ntensors];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->kind = kind;
    t->ndim = ndim;
    size_t numel = 1;
    for (int i = 0; i < ndim; i++) {
        t->shape[i] = shape[i];
        numel *= (size_t)shape[i];
    }
    t->numel = numel;
    if (kind == UL_TENSOR_PARAM) {
        t->offset = b->np;
        b->np += numel;
    } else {
        t->offset = b->nb; /* shifted past the params in finish() */
        b->nb += numel;
    }
    b->init[m->ntensors] = (uint8_t)init;
    b->fan[m->ntensors] = fan;
    return m->ntensors++;
}

static ul_layer *push(ul_seq *s, ul_layer_type type, int c, int h, int w) {
    if (s->n == s->cap) {
        int nc = s->cap ? s->cap * 2 : 8;
        ul_layer *l = realloc(s->l, sizeof *l * (size_t)nc);
        if (!l) return NULL;
        s->l = l;
        s->cap = nc;
    }
    ul_layer *l = &s->l[s->n++];
    memset(l, 0, sizeof *l);
    l->type = type;
    l->in_c = c; l->in_h = h; l->in_w = w;
    l->out_c = c; l->out_h = h; l->out_w = w;
    l->t_w = l->t_b = l->t_rm = l->t_rv = l->t_nbt = -1;
    l->need_din = true;
    return l;
}

static void finish_shape(ul_layer *l) {
    l->in_n = (size_t)l->in_c * l->in_h * l->in_w;
    l->out_n = (size_t)l->out_c * l->out_h * l->out_w;
}

static ul_status add_conv(build *b, ul_seq *s, const char *name, int *c, int *h, int *w, int cout, int k,
                          int stride, int pad, bool bias) {
    ul_layer *l = push(s, UL_L_CONV, *c, *h, *w);
    if (!l) return ul_fail(UL_E_NOMEM, "out of memory building %s", name);
    l->k = k; l->stride = stride; l->pad = pad;
    l->out_c = cout;
    l->out_h = (*h + 2 * pad - k) / stride + 1;
    l->out_w = (*w + 2 * pad - k) / stride + 1;
    if (*h + 2 * pad < k || *w + 2 * pad < k)
        return ul_fail(UL_E_SHAPE, "%s: input %dx%d is smaller than the %dx%d kernel", name, *h, *w, k, k);
    finish_shape(l);
    char nm[UL_MAX_NAME];
    int64_t ws[4] = {cout, *c, k, k};
    int fan_in = *c * k * k, fan_out = cout * k * k;
    snprintf(nm, sizeof nm, "%s.weight", name);
    l->t_w = add_tensor(b, nm, UL_TENSOR_PARAM, 4, ws, b->resnet ? INIT_NORMAL_FANOUT : INIT_UNIFORM_FANIN,
                        b->resnet ? fan_out : fan_in);
    if (bias) {
        int64_t bs[1] = {cout};
        snprintf(nm, sizeof nm, "%s.bias", name);
        l->t_b = add_tensor(b, nm, UL_TENSOR_PARAM, 1, bs, INIT_UNIFORM_FANIN, fan_in);
    }
    if (l->t_w < 0 || (bias && l->t_b < 0)) return ul_fail(UL_E_NOMEM, "out of memory building %s", name);
    *c = cout; *h = l->out_h; *w = l->out_w;
    return UL_OK;
}

static ul_status add_bn(build *b, ul_seq *s, const char *name, int c, int h, int w) {
    ul_layer *l = push(s, UL_L_BN, c, h, w);
    if (!l) return ul_fail(UL_E_NOMEM, "out of memory building %s", name);
    finish_shape(l);
    l->eps = 1e-5f;
    l->momentum = 0.1f;
    char nm[UL_MAX_NAME];
    int64_t cs[1] = {c};
    snprintf(nm, sizeof nm, "%s.weight", name);
    l->t_w = add_tensor(b, nm, UL_TENSOR_PARAM, 1, cs, INIT_ONES, 0);
    snprintf(nm, sizeof nm, "%s.bias", name);
    l->t_b = add_tensor(b, nm, UL_TENSOR_PARAM, 1, cs, INIT_ZEROS, 0);
    snprintf(nm, sizeof nm, "%s.running_mean", name);
    l->t_rm = add_tensor(b, nm, UL_TENSOR_BUFFER, 1, cs, INIT_ZEROS, 0);
    snprintf(nm, sizeof nm, "%s.running_var", name);
    l->t_rv = add_tensor(b, nm, UL_TENSOR_BUFFER, 1, cs, INIT_ONES, 0);
    snprintf(nm, sizeof nm, "%s.num_batches_tracked", name);
    l->t_nbt = add_tensor(b, nm, UL_TENSOR_COUNTER, 0, NULL, INIT_ZEROS, 0);
    if (l->t_w < 0 || l->t_b < 0 || l->t_rm < 0 || l->t_rv < 0 || l->t_nbt < 0)
        return ul_fail(UL_E_NOMEM, "out of memory building %s", name);
    return UL_OK;
}

static ul_status add_simple(ul_seq *s, ul_layer_type type, int *c, int *h, int *w, int k) {
    ul_layer *l = push(s, type, *c, *h, *w);
    if (!l) return ul_fail(UL_E_NOMEM, "out of memory building the model");
    if (type == UL_L_MAXPOOL) {
        if (*h < k || *w < k) return ul_fail(UL_E_SHAPE, "max-pool: input %dx%d smaller than %dx%d", *h, *w, k, k);
        l->k = k; l->stride = k;
        l->out_h = (*h - k) / k + 1;
        l->out_w = (*w - k) / k + 1;
    } else if (type == UL_L_AVGPOOL) {
        l->out_h = l->out_w = 1;
    }
    finish_shape(l);
    *h = l->out_h; *w = l->out_w;
    return UL_OK;
}

/* Fuse a ReLU into the last layer of `s` (conv, linear or BN): one pass over memory less. */
static ul_status fuse_relu(ul_seq *s) {
    ul_layer *l = &s->l[s->n - 1];
    if (l->type != UL_L_CONV && l->type != UL_L_LINEAR && l->type != UL_L_BN)
        return ul_fail(UL_E_INTERNAL, "ReLU cannot be fused into layer type %d", (int)l->type);
    l->relu = true;
    return UL_OK;
}

static ul_status add_linear(build *b, ul_seq *s, const char *name, int in, int out) {
    ul_layer *l = push(s, UL_L_LINEAR, in, 1, 1);
    if (!l) return ul_fail(UL_E_NOMEM, "out of memory building %s", name);
    l->out_c = out;
    finish_shape(l);
    char nm[UL_MAX_NAME];
    int64_t ws[2] = {out, in}, bs[1] = {out};
    snprintf(nm, sizeof nm, "%s.weight", name);
    l->t_w = add_tensor(b, nm, UL_TENSOR_PARAM, 2, ws, INIT_UNIFORM_FANIN, in);
    snprintf(nm, sizeof nm, "%s.bias", name);
    l->t_b = add_tensor(b, nm, UL_TENSOR_PARAM, 1, bs, INIT_UNIFORM_FANIN, in);
    if (l->t_w < 0 || l->t_b < 0) return ul_fail(UL_E_NOMEM, "out of memory building %s", name);
    return UL_OK;
}

#define TRY(x) do { ul_status st_ = (x); if (st_ != UL_OK) return st_; } while (0)

static ul_status build_mlp(build *b, const char *widths) {
    ul_model *m = b->m;
    int w[64], nw = 0;
    const char *p = widths;
    while (*p) {
        if (!isdigit((unsigned char)*p)) return ul_fail(UL_E_ARG, "arch 'mlp:%s': expected a width at '%s'", widths, p);
        errno = 0;
        char *end;
        long v = strtol(p, &end, 10);
        if (errno || v <= 0 || v > (1L << 24)) return ul_fail(UL_E_ARG, "arch 'mlp:%s': width out of range", widths);
        if (nw == 64) return ul_fail(UL_E_ARG, "arch 'mlp:%s': more than 63 layers", widths);
        w[nw++] = (int)v;
        p = end;
        if (*p == '-') {
            p++;
            if (!*p) return ul_fail(UL_E_ARG, "arch 'mlp:%s': trailing '-'", widths);
        } else if (*p) {
            return ul_fail(UL_E_ARG, "arch 'mlp:%s': unexpected '%c'", widths, *p);
        }
    }
    if (nw < 2) return ul_fail(UL_E_ARG, "arch 'mlp:%s': needs at least an input and an output width", widths);
    long in = (long)m->ap.in_c * m->ap.in_h * m->ap.in_w;
    if (w[0] != in)
        return ul_fail(UL_E_SHAPE, "arch 'mlp:%s': first width %d does not match the input %dx%dx%d = %ld", widths,
                       w[0], m->ap.in_c, m->ap.in_h, m->ap.in_w, in);
    if (w[nw - 1] != m->ap.classes)
        return ul_fail(UL_E_SHAPE, "arch 'mlp:%s': last width %d does not match %d classes", widths, w[nw - 1],
                       m->ap.classes);
    for (int i = 0; i + 1 < nw; i++) {
        char nm[32];
        snprintf(nm, sizeof nm, "fc%d", i + 1);
        TRY(add_linear(b, &m->top, nm, w[i], w[i + 1]));
        if (i + 2 < nw) TRY(fuse_relu(&m->top));
    }
    m->head_layer = m->top.n - 1;
    return UL_OK;
}

static ul_status build_cnn(build *b) {
    ul_model *m = b->m;
    int c = m->ap.in_c, h = m->ap.in_h, w = m->ap.in_w;
    TRY(add_conv(b, &m->top, "conv1", &c, &h, &w, 32, 3, 1, 1, true));
    TRY(fuse_relu(&m->top));
    TRY(add_simple(&m->top, UL_L_MAXPOOL, &c, &h, &w, 2));
    TRY(add_conv(b, &m->top, "conv2", &c, &h, &w, 64, 3, 1, 1, true));
    TRY(fuse_relu(&m->top));
    TRY(add_simple(&m->top, UL_L_MAXPOOL, &c, &h, &w, 2));
    TRY(add_linear(b, &m->top, "fc1", c * h * w, 128));
    TRY(fuse_relu(&m->top));
    TRY(add_linear(b, &m->top, "fc2", 128, m->ap.classes));
    m->head_layer = m->top.n - 1;
    return UL_OK;
}

static ul_status add_block(build *b, const char *name, int *c, int *h, int *w, int cout, int stride) {
    ul_model *m = b->m;
    ul_layer *l = push(&m->top, UL_L_BLOCK, *c, *h, *w);
    if (!l) return ul_fail(UL_E_NOMEM, "out of memory building %s", name);
    l->main = calloc(1, sizeof(ul_seq));
    l->shortcut = calloc(1, sizeof(ul_seq));
    if (!l->main || !l->shortcut) return ul_fail(UL_E_NOMEM, "out of memory building %s", name);
    char nm[UL_MAX_NAME];
    int mc = *c, mh = *h, mw = *w;
    /* note: push() may move m->top.l, so `l` is not used after the sub-builds below */
    ul_seq *mainq = l->main, *sc = l->shortcut;
    snprintf(nm, sizeof nm, "%s.conv1", name);
    TRY(add_conv(b, mainq, nm, &mc, &mh, &mw, cout, 3, stride, 1, false));
    snprintf(nm, sizeof nm, "%s.bn1", name);
    TRY(add_bn(b, mainq, nm, mc, mh, mw));
    TRY(fuse_relu(mainq));
    snprintf(nm, sizeof nm, "%s.conv2", name);
    TRY(add_conv(b, mainq, nm, &mc, &mh, &mw, cout, 3, 1, 1, false));
    snprintf(nm, sizeof nm, "%s.bn2", name);
    TRY(add_bn(b, mainq, nm, mc, mh, mw));
    if (stride != 1 || *c != cout) {
        int sc_c = *c, sh = *h, sw = *w;
        snprintf(nm, sizeof nm, "%s.downsample.0", name);
        TRY(add_conv(b, sc, nm, &sc_c, &sh, &sw, cout, 1, stride, 0, false));
        snprintf(nm, sizeof nm, "%s.downsample.1", name);
        TRY(add_bn(b, sc, nm, sc_c, sh, sw));
    }
    l = &m->top.l[m->top.n - 1];
    l->out_c = mc; l->out_h = mh; l->out_w = mw;
    finish_shape(l);
    *c = mc; *h = mh; *w = mw;
    return UL_OK;
}

static ul_status build_resnet18(build *b, float width) {
    ul_model *m = b->m;
    b->resnet = true;
    int c = m->ap.in_c, h = m->ap.in_h, w = m->ap.in_w;
    int widths[4];
    for (int i = 0; i < 4; i++) {
        widths[i] = (int)lroundf(64.0f * (float)(1 << i) * width);
        if (widths[i] < 1) widths[i] = 1;
    }
    TRY(add_conv(b, &m->top, "conv1", &c, &h, &w, widths[0], 3, 1, 1, false));
    TRY(add_bn(b, &m->top, "bn1", c, h, w));
    TRY(fuse_relu(&m->top));
    for (int L = 0; L < 4; L++) {
        for (int k = 0; k < 2; k++) {
            char nm[32];
            snprintf(nm, sizeof nm, "layer%d.%d", L + 1, k);
            TRY(add_block(b, nm, &c, &h, &w, widths[L], (L > 0 && k == 0) ? 2 : 1));
        }
    }
    TRY(add_simple(&m->top, UL_L_AVGPOOL, &c, &h, &w, 0));
    b->resnet = false; /* fc uses nn.Linear's default init */
    TRY(add_linear(b, &m->top, "fc", c, m->ap.classes));
    m->head_layer = m->top.n - 1;
    return UL_OK;
}

/* Parse "name[@k=v,...]" and build. */
ul_status ul_arch_build(ul_model *m, const char *spec, uint8_t **init_out, int **fan_out, size_t *np, size_t *nb) {
    build b = {.m = m};
    char base[128], opts[128] = "";
    const char *at = strchr(spec, '@');
    size_t bl = at ? (size_t)(at - spec) : strlen(spec);
    if (bl >= sizeof base || (at && strlen(at + 1) >= sizeof opts))
        return ul_fail(UL_E_ARG, "arch '%s': spec too long", spec);
    memcpy(base, spec, bl);
    base[bl] = '\0';
    if (at) snprintf(opts, sizeof opts, "%s", at + 1);
    float width = m->ap.width > 0 ? m->ap.width : 1.0f;
    bool width_set = false;
    if (opts[0]) {
        char *save = NULL;
        for (char *tok = strtok_r(opts, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            if (strncmp(tok, "w=", 2) == 0) {
                char *end;
                errno = 0;
                double v = strtod(tok + 2, &end);
                if (errno || *end || !(v > 0.0) || v > 16.0)
                    return ul_fail(UL_E_ARG, "arch '%s': width '%s' must be a number in (0, 16]", spec, tok + 2);
                if (m->ap.width > 0 && fabsf(m->ap.width - (float)v) > 1e-6f)
                    return ul_fail(UL_E_ARG, "arch '%s': width %g disagrees with width parameter %g", spec, v,
                                   (double)m->ap.width);
                width = (float)v;
                width_set = true;
            } else {
                return ul_fail(UL_E_ARG, "arch '%s': unknown option '%s' (known: w=WIDTH)", spec, tok);
            }
        }
    }
    ul_status st;
    if (strncmp(base, "mlp:", 4) == 0) {
        if (width_set) return ul_fail(UL_E_ARG, "arch '%s': mlp takes no width option", spec);
        st = build_mlp(&b, base + 4);
        snprintf(m->spec, sizeof m->spec, "%s", base);
    } else if (strcmp(base, "cnn") == 0) {
        if (width_set) return ul_fail(UL_E_ARG, "arch '%s': cnn takes no width option", spec);
        st = build_cnn(&b);
        snprintf(m->spec, sizeof m->spec, "cnn");
    } else if (strcmp(base, "resnet18") == 0) {
        st = build_resnet18(&b, width);
        if (width == 1.0f) snprintf(m->spec, sizeof m->spec, "resnet18");
        else snprintf(m->spec, sizeof m->spec, "resnet18@w=%g", (double)width);
        m->ap.width = width;
    } else {
        st = ul_fail(UL_E_ARG, "unknown architecture '%s' (known: mlp:W0-W1-...-Wk, cnn, resnet18[@w=F])", spec);
    }
    *init_out = b.init;
    *fan_out = b.fan;
    *np = b.np;
    *nb = b.nb;
    return st;
}

void ul_arch_init(ul_model *m, const uint8_t *init, const int *fan, uint64_t seed) {
    for (int t = 0; t < m->ntensors; t++) {
        const ul_tensor_info *ti = &m->tensors[t];
        float *p = m->params + ti->offset;
        ul_rng r;
        ul_rng_seed2(&r, seed, (uint64_t)t);
        switch (init[t]) {
        case INIT_UNIFORM_FANIN: {
            double bound = fan[t] > 0 ? 1.0 / sqrt((double)fan[t]) : 0.0;
            for (size_t i = 0; i < ti->numel; i++) p[i] = (float)((2.0 * ul_rng_uniform(&r) - 1.0) * bound);
            break;
        }
        case INIT_NORMAL_FANOUT: {
            double sd = sqrt(2.0 / (double)fan[t]);
            for (size_t i = 0; i < ti->numel; i++) p[i] = (float)(ul_rng_normal(&r) * sd);
            break;
        }
        case INIT_ONES:
            for (size_t i = 0; i < ti->numel; i++) p[i] = 1.0f;
            break;
        default:
            for (size_t i = 0; i < ti->numel; i++) p[i] = 0.0f;
            break;
        }
    }
}
