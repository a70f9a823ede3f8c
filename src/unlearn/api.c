/* The public entry of the single-model unlearning suite: method names, per-method defaults (the
 * official SFR-on code's CIFAR-10 settings, spec sfron.md §2.4 and §6.1; Unlearn-Sparse for
 * l1sparse, §6.2; the SSD code for ssd), validation of the task and the parameters before the
 * model is touched, the thread setting, timing, and dispatch to one file per method.
 * Deliberately no model selection on a test set (the official retrain keeps its best-test epoch)
 * and no periodic evaluation inside the timed region.
 */
#include "unlearn/methods_internal.h"

#include <ctype.h>
#include <math.h>
#include <string.h>

static const char *const NAMES[UL_UNLEARN_METHOD_COUNT] = {
    "retrain", "ft", "ga", "rl", "salun", "l1sparse", "badteacher", "scrub", "ssd", "sfron"};

const char *ul_unlearn_method_name(ul_unlearn_method m) {
    return (unsigned)m < UL_UNLEARN_METHOD_COUNT ? NAMES[m] : "?";
}

ul_status ul_unlearn_method_parse(const char *s, ul_unlearn_method *out) {
    if (!s || !out) return ul_fail(UL_E_ARG, "unlearning method: NULL name");
    char norm[32];
    size_t k = 0;
    for (const char *q = s; *q && k + 1 < sizeof norm; q++)
        if (*q != '-' && *q != '_') norm[k++] = (char)tolower((unsigned char)*q);
    norm[k] = '\0';
    for (int m = 0; m < UL_UNLEARN_METHOD_COUNT; m++)
        if (strcmp(norm, NAMES[m]) == 0 && strlen(s) < sizeof norm) {
            *out = (ul_unlearn_method)m;
            return UL_OK;
        }
    return ul_fail(UL_E_ARG,
                   "unknown unlearning method '%s' (known: retrain, ft, ga, rl, salun, l1sparse, badteacher, scrub, ssd, sfron)",
                   s);
}

ul_unlearn_params ul_unlearn_defaults(ul_unlearn_method method) {
    ul_unlearn_params p;
    memset(&p, 0, sizeof p);
    p.method = method;
    /* shared by the official code's baselines (§6.1): batch 128, SGD momentum 0.9, wd 5e-4,
     * cosine over the epochs stepped per epoch, BN in train mode */
    p.epochs = 10;
    p.iters = 0;
    p.batch_size = 128;
    p.forget_batch_size = 128;
    p.optim = ul_optim_defaults(UL_OPT_SGD);
    p.optim.momentum = 0.9;
    p.optim.weight_decay = 5e-4;
    p.sched = UL_SCHED_COSINE;
    p.clip_norm = 0.0;
    p.bn_eval = false;
    p.salun.ratio = 0.2;                       /* §6.1: th = 0.2, top 20 % */
    p.l1sparse.alpha = 5e-4;                   /* §6.2 leaves alpha open; see docs/methods.md */
    p.l1sparse.no_l1_epochs = 0;
    p.badteacher.temperature = 1.0;
    p.scrub.temperature = 4.0;
    p.scrub.gamma = 0.99;
    p.scrub.alpha = 0.001;
    p.scrub.msteps = 2;
    p.ssd.alpha = 10.0;                        /* SSD code: selection_weighting 10 (ResNet) */
    p.ssd.lambda = 1.0;                        /* dampening_constant 1 */
    p.ssd.fisher = ul_fisher_defaults(UL_FISHER_BATCH);
    p.ssd.fisher.scope = UL_FISHER_ALL;
    p.ssd.fisher.batch_size = 64;              /* SSD driver: -b 64 */
    p.ssd.fisher.trunc = 0;
    p.sfron.forget_alpha = 25.0;               /* §2.4 */
    p.sfron.forget_freq = 5;
    p.sfron.lambda = 0.5;
    p.sfron.gamma = 1.0;
    p.sfron.max_norm = 7.0;
    p.sfron.ema_beta = 1.0;
    switch (method) {
    case UL_UNLEARN_RETRAIN:
        p.epochs = 200;
        p.optim.lr = 0.1;
        break;
    case UL_UNLEARN_FT:
        p.optim.lr = 0.01;
        break;
    case UL_UNLEARN_GA:
        p.epochs = 9;
        p.optim.lr = 1e-4;
        p.sched = UL_SCHED_CONST;
        p.clip_norm = 0.1;
        p.bn_eval = true;
        break;
    case UL_UNLEARN_RL:
        p.optim.lr = 0.003;
        break;
    case UL_UNLEARN_SALUN:
        p.optim.lr = 0.007;
        break;
    case UL_UNLEARN_L1SPARSE: /* Unlearn-Sparse: batch 256, MultiStepLR 91/136 = constant within 10 epochs */
        p.optim.lr = 0.01;
        p.batch_size = 256;
        p.sched = UL_SCHED_CONST;
        break;
    case UL_UNLEARN_BADTEACHER:
        p.optim.lr = 0.02;
        break;
    case UL_UNLEARN_SCRUB: /* the official code's CIFAR-10 block (commented out there) */
        p.epochs = 6;
        p.optim.lr = 8e-5;
        break;
    case UL_UNLEARN_SSD:
        p.epochs = 0;
        p.optim.lr = 0.0;
        break;
    case UL_UNLEARN_SFRON:
        p.epochs = 0;
        p.iters = 1500;
        p.optim.lr = 0.01;
        break;
    default:
        break;
    }
    return p;
}

/* ---- validation ----------------------------------------------------------------------------- */

static bool uses_retain(ul_unlearn_method m) { return m != UL_UNLEARN_GA; }
static bool mixes_views(ul_unlearn_method m) {
    return m == UL_UNLEARN_RL || m == UL_UNLEARN_SALUN || m == UL_UNLEARN_BADTEACHER || m == UL_UNLEARN_SSD;
}

static ul_status check_view(const ul_unlearn_task *t, const ul_view *v, const char *what, const char *method) {
    const ul_arch_params ap = ul_model_arch(t->model);
    const ul_dataset *d = v->ds;
    if (!d) return ul_fail(UL_E_ARG, "%s: the %s view has no dataset", method, what);
    if (ul_dataset_channels(d) != ap.in_c || ul_dataset_height(d) != ap.in_h || ul_dataset_width(d) != ap.in_w)
        return ul_fail(UL_E_SHAPE, "%s: %s data '%s' has samples of %dx%dx%d but model '%s' expects %dx%dx%d", method,
                       what, ul_dataset_name(d), ul_dataset_channels(d), ul_dataset_height(d), ul_dataset_width(d),
                       ul_model_spec(t->model), ap.in_c, ap.in_h, ap.in_w);
    const int32_t *labels = ul_dataset_labels(d);
    for (size_t i = 0; i < v->n; i++) {
        const int32_t y = labels[v->idx[i]];
        if (y < 0 || y >= t->classes)
            return ul_fail(UL_E_ARG, "%s: %s sample %d of '%s' has label %d, outside the task's %d classes", method,
                           what, v->idx[i], ul_dataset_name(d), y, t->classes);
    }
    return UL_OK;
}

#define FINITE_GE(x, lo) (isfinite(x) && (x) >= (lo))

static ul_status check_params(const ul_unlearn_task *t, const ul_unlearn_params *p) {
    const char *mn = ul_unlearn_method_name(p->method);
    const ul_unlearn_method m = p->method;
    if (m == UL_UNLEARN_SSD) {
        if (!FINITE_GE(p->ssd.alpha, 0.0) || !FINITE_GE(p->ssd.lambda, 0.0))
            return ul_fail(UL_E_ARG, "ssd: alpha (%g) and lambda (%g) must be finite and >= 0", p->ssd.alpha, p->ssd.lambda);
        return UL_OK; /* the Fisher parameters are checked by ul_fisher */
    }
    if (p->batch_size <= 0 || p->forget_batch_size <= 0)
        return ul_fail(UL_E_ARG, "%s: batch_size (%d) and forget_batch_size (%d) must be > 0", mn, p->batch_size,
                       p->forget_batch_size);
    if (p->sched != UL_SCHED_CONST && p->sched != UL_SCHED_COSINE)
        return ul_fail(UL_E_ARG, "%s: the schedule must be constant or cosine (got kind %d)", mn, (int)p->sched);
    if (!FINITE_GE(p->clip_norm, 0.0)) return ul_fail(UL_E_ARG, "%s: clip_norm %g must be finite and >= 0", mn, p->clip_norm);
    if (m == UL_UNLEARN_SFRON) {
        const ul_sfron_params *s = &p->sfron;
        if (p->iters < 0) return ul_fail(UL_E_ARG, "sfron: iters %lld must be >= 0", (long long)p->iters);
        if (s->forget_freq < 1) return ul_fail(UL_E_ARG, "sfron: forget_freq %d must be >= 1", s->forget_freq);
        if (!FINITE_GE(s->forget_alpha, 0.0) || !isfinite(s->lambda) || !FINITE_GE(s->gamma, 0.0) ||
            !FINITE_GE(s->max_norm, 0.0))
            return ul_fail(UL_E_ARG, "sfron: forget_alpha %g, gamma %g, max_norm %g must be finite and >= 0, lambda %g finite",
                           s->forget_alpha, s->gamma, s->max_norm, s->lambda);
        if (!(s->ema_beta > 0.0 && s->ema_beta <= 1.0))
            return ul_fail(UL_E_ARG, "sfron: ema_beta %g must lie in (0, 1]", s->ema_beta);
        return UL_OK;
    }
    if (p->epochs < 0) return ul_fail(UL_E_ARG, "%s: epochs %d must be >= 0", mn, p->epochs);
    switch (m) {
    case UL_UNLEARN_RL:
    case UL_UNLEARN_SALUN:
        if (t->classes < 2) return ul_fail(UL_E_ARG, "%s: random labels need at least 2 classes", mn);
        if (m == UL_UNLEARN_SALUN && !(p->salun.ratio >= 0.0 && p->salun.ratio <= 1.0))
            return ul_fail(UL_E_ARG, "salun: ratio %g must lie in [0, 1]", p->salun.ratio);
        break;
    case UL_UNLEARN_L1SPARSE:
        if (!FINITE_GE(p->l1sparse.alpha, 0.0) || p->l1sparse.no_l1_epochs < 0)
            return ul_fail(UL_E_ARG, "l1sparse: alpha %g must be finite and >= 0, no_l1_epochs %d >= 0", p->l1sparse.alpha,
                           p->l1sparse.no_l1_epochs);
        break;
    case UL_UNLEARN_BADTEACHER:
        if (!(isfinite(p->badteacher.temperature) && p->badteacher.temperature > 0.0))
            return ul_fail(UL_E_ARG, "badteacher: temperature %g must be finite and > 0", p->badteacher.temperature);
        break;
    case UL_UNLEARN_SCRUB:
        if (!(isfinite(p->scrub.temperature) && p->scrub.temperature > 0.0) || !isfinite(p->scrub.gamma) ||
            !isfinite(p->scrub.alpha) || p->scrub.msteps < 0)
            return ul_fail(UL_E_ARG, "scrub: temperature %g must be > 0, gamma %g and alpha %g finite, msteps %d >= 0",
                           p->scrub.temperature, p->scrub.gamma, p->scrub.alpha, p->scrub.msteps);
        break;
    default:
        break;
    }
    return UL_OK;
}

static ul_status validate(const ul_unlearn_task *t, const ul_unlearn_params *p) {
    if (!t || !p) return ul_fail(UL_E_ARG, "ul_unlearn: NULL task or parameters");
    if ((unsigned)p->method >= UL_UNLEARN_METHOD_COUNT)
        return ul_fail(UL_E_ARG, "ul_unlearn: unknown method %d", (int)p->method);
    const char *mn = ul_unlearn_method_name(p->method);
    if (!t->model) return ul_fail(UL_E_ARG, "%s: the task has no model", mn);
    const int K = ul_model_arch(t->model).classes;
    if (t->classes != K)
        return ul_fail(UL_E_SHAPE, "%s: the task has %d classes but model '%s' has %d outputs", mn, t->classes,
                       ul_model_spec(t->model), K);
    if (!t->forget || t->forget->n == 0) return ul_fail(UL_E_ARG, "%s: the forget view is empty", mn);
    ul_status st = check_view(t, t->forget, "forget", mn);
    if (st != UL_OK) return st;
    if (uses_retain(p->method)) {
        if (!t->retain || t->retain->n == 0) return ul_fail(UL_E_ARG, "%s: the retain view is empty", mn);
        if ((st = check_view(t, t->retain, "retain", mn)) != UL_OK) return st;
        if (mixes_views(p->method) && t->forget->ds != t->retain->ds)
            return ul_fail(UL_E_ARG, "%s: the forget and retain views must be views of one dataset (got '%s' and '%s')", mn,
                           ul_dataset_name(t->forget->ds), ul_dataset_name(t->retain->ds));
    }
    return check_params(t, p);
}

ul_status ul_unlearn(const ul_unlearn_task *task, const ul_unlearn_params *params, ul_unlearn_result *result) {
    ul_unlearn_result local;
    ul_unlearn_result *res = result ? result : &local;
    memset(res, 0, sizeof *res);
    const double t0 = ul_now();
    ul_status st = validate(task, params);
    if (st != UL_OK) return st;
    const int prev_threads = task->threads > 0 ? ul_get_threads() : 0;
    const bool set_threads = task->threads > 0 && task->threads != prev_threads;
    if (set_threads) ul_set_threads(task->threads);
    ul_ucall c = {.t = task, .p = params, .res = res, .t0 = t0};
    switch (params->method) {
    case UL_UNLEARN_RETRAIN: st = ul_unlearn_retrain(&c); break;
    case UL_UNLEARN_FT: st = ul_unlearn_ft(&c); break;
    case UL_UNLEARN_GA: st = ul_unlearn_ga(&c); break;
    case UL_UNLEARN_RL: st = ul_unlearn_rl(&c); break;
    case UL_UNLEARN_SALUN: st = ul_unlearn_salun(&c); break;
    case UL_UNLEARN_L1SPARSE: st = ul_unlearn_l1sparse(&c); break;
    case UL_UNLEARN_BADTEACHER: st = ul_unlearn_badteacher(&c); break;
    case UL_UNLEARN_SCRUB: st = ul_unlearn_scrub(&c); break;
    case UL_UNLEARN_SSD: st = ul_unlearn_ssd(&c); break;
    case UL_UNLEARN_SFRON: st = ul_unlearn_sfron(&c); break;
    default: st = ul_fail(UL_E_INTERNAL, "ul_unlearn: unhandled method %d", (int)params->method); break;
    }
    if (st == UL_OK) {
        int bad = -1;
        if (ul_model_find_nonfinite(task->model, &bad) >= 0)
            st = ul_fail(UL_E_NUMERIC, "%s: parameter '%s' is non-finite after unlearning", ul_unlearn_method_name(params->method),
                         bad >= 0 ? ul_model_tensor(task->model, bad)->name : "?");
    }
    if (res->steps == 0 && res->prep_seconds == 0.0) res->prep_seconds = ul_now() - t0;
    res->seconds = ul_now() - t0;
    if (set_threads) ul_set_threads(prev_threads);
    return st;
}
