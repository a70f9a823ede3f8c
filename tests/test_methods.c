/* The single-model unlearning methods (methods.h): SFR-on's pieces against hand-computed values
 * (adaptive weights, alpha_t and lr schedules, the Fisher-ratio mask, masked clipping, the
 * forget:retain interleaving), the SalUn top-k threshold, the Bad Teacher and SCRUB KL terms;
 * then every method on a class-wise task (an MLP trained on 4 separable synthetic classes,
 * class 1 forgotten): forget accuracy must fall and retain accuracy stay high, thresholds a no-op
 * fails; determinism (same seed, 1 vs 2 threads) and bad input.
 */
#include "ul_test.h"
#include "unlearn/data.h"
#include "unlearn/methods.h"
#include "unlearn/nn.h"
#include "unlearn/train.h"
#include "unlearn/methods_internal.h"

#include <omp.h>

/* ---- hand-checked pieces ----------------------------------------------------------------- */

static void test_sfron_weights(void **s) {
    (void)s;
    const float l[3] = {0.25f, 1.0f, 4.0f};
    double w[4];
    ul_sfron_weights(l, 3, 0.5, w); /* l^-1/2 = 2, 1, 0.5 -> /3.5 */
    ULT_CLOSE(w[0], 4.0 / 7.0, 1e-14, 0);
    ULT_CLOSE(w[1], 2.0 / 7.0, 1e-14, 0);
    ULT_CLOSE(w[2], 1.0 / 7.0, 1e-14, 0);
    /* the same as softmax(-lambda ln l) */
    double z = 0.0;
    for (int i = 0; i < 3; i++) z += exp(-0.5 * log(l[i]));
    for (int i = 0; i < 3; i++) ULT_CLOSE(w[i], exp(-0.5 * log(l[i])) / z, 1e-14, 0);
    /* lambda 0: plain GA (uniform weights); lambda 1: w ~ 1/l */
    ul_sfron_weights(l, 3, 0.0, w);
    for (int i = 0; i < 3; i++) ULT_CLOSE(w[i], 1.0 / 3.0, 1e-14, 0);
    ul_sfron_weights(l, 3, 1.0, w); /* 4, 1, 0.25 -> /5.25 */
    ULT_CLOSE(w[0], 4.0 / 5.25, 1e-14, 0);
    ULT_CLOSE(w[2], 0.25 / 5.25, 1e-14, 0);
    /* a zero loss (fully memorised sample) takes nearly all the weight and nothing overflows */
    const float l0[4] = {0.0f, 1.0f, 2.0f, 3.0f};
    ul_sfron_weights(l0, 4, 0.5, w);
    for (int i = 0; i < 4; i++) assert_true(isfinite(w[i]));
    ULT_CLOSE(w[0], 1.0, 1e-14, 0);
}

static void test_sfron_schedules(void **s) {
    (void)s;
    ULT_CLOSE(ul_sfron_alpha(25.0, 0, 100), 25.0, 0, 1e-15);
    ULT_CLOSE(ul_sfron_alpha(25.0, 25, 100), 25.0 * (1.0 + sqrt(0.5)) / 2.0, 0, 1e-14);
    ULT_CLOSE(ul_sfron_alpha(25.0, 50, 100), 12.5, 0, 1e-14);
    ULT_CLOSE(ul_sfron_alpha(25.0, 100, 100), 0.0, 1e-14, 0);
    /* the learning rate follows the same c_t; the forget step's effective size lr_t * alpha_t is
     * 0.01 * 25 * c_t^2: 0.25 at t = 0 and 0.0625 at t = T/2 (spec §2.1, consequence 3) */
    ul_unlearn_params p = ul_unlearn_defaults(UL_UNLEARN_SFRON);
    assert_int_equal(p.iters, 1500);
    ULT_CLOSE(ul_unlearn_lr(&p, 0, 1500) * ul_sfron_alpha(25.0, 0, 1500), 0.25, 0, 1e-14);
    ULT_CLOSE(ul_unlearn_lr(&p, 750, 1500) * ul_sfron_alpha(25.0, 750, 1500), 0.0625, 0, 1e-12);
    ULT_CLOSE(ul_unlearn_lr(&p, 375, 1500), 0.01 * (1.0 + sqrt(0.5)) / 2.0, 0, 1e-14);
}

static void test_sfron_mask(void **s) {
    (void)s;
    /* ratio (F_f + 1e-15) / (F_r + 1e-15) >= gamma: 2, 0.5, 1 (both zero: salient), ~1e-15, 1, ~1e12 */
    const float Ff[6] = {2.0f, 1.0f, 0.0f, 0.0f, 1e-3f, 1e-3f};
    const float Fr[6] = {1.0f, 2.0f, 0.0f, 1.0f, 1e-3f, 0.0f};
    float m[6];
    assert_int_equal(ul_sfron_mask(Ff, Fr, 6, 1.0, m), 4);
    const float want1[6] = {1, 0, 1, 0, 1, 1};
    assert_memory_equal(m, want1, sizeof m);
    assert_int_equal(ul_sfron_mask(Ff, Fr, 6, 2.0, m), 2);
    const float want2[6] = {1, 0, 0, 0, 0, 1};
    assert_memory_equal(m, want2, sizeof m);
    assert_int_equal(ul_sfron_mask(Ff, Fr, 6, 0.0, m), 6);
}

static void test_mask_clip(void **s) {
    (void)s;
    float g[4] = {3.0f, -4.0f, 12.0f, 100.0f};
    const float mask[4] = {1, 1, 1, 0};
    /* masked: (3, -4, 12, 0), norm 13 -> scaled by 7 / (13 + 1e-6) */
    const double norm = ul_unlearn_mask_clip(g, mask, 4, 7.0);
    ULT_CLOSE(norm, 13.0, 1e-12, 0);
    const float sc = (float)(7.0 / (13.0 + 1e-6));
    ULT_CLOSE(g[0], 3.0f * sc, 0, 1e-7);
    ULT_CLOSE(g[1], -4.0f * sc, 0, 1e-7);
    ULT_CLOSE(g[2], 12.0f * sc, 0, 1e-7);
    assert_true(g[3] == 0.0f);
    ULT_CLOSE(sqrt((double)g[0] * g[0] + (double)g[1] * g[1] + (double)g[2] * g[2]), 7.0, 1e-5, 0);
    /* under the limit: untouched */
    float h[2] = {0.6f, 0.8f};
    ULT_CLOSE(ul_unlearn_mask_clip(h, NULL, 2, 7.0), 1.0, 1e-7, 0);
    assert_true(h[0] == 0.6f && h[1] == 0.8f);
}

static void test_salun_topk(void **s) {
    (void)s;
    const float g[10] = {0.5f, -3.0f, 2.0f, -0.1f, 2.0f, 0.0f, 1.0f, -1.0f, 0.3f, 4.0f};
    float score[10], m[10];
    for (int i = 0; i < 10; i++) score[i] = fabsf(g[i]);
    /* top floor(0.2 * 10) = 2: |4| (9) and |-3| (1) */
    assert_int_equal(ul_unlearn_topk_mask(score, 10, 0.2, m), 2);
    const float w2[10] = {0, 1, 0, 0, 0, 0, 0, 0, 0, 1};
    assert_memory_equal(m, w2, sizeof m);
    /* 3: the tie |2| at 2 and 4 goes to the lower index */
    assert_int_equal(ul_unlearn_topk_mask(score, 10, 0.3, m), 3);
    const float w3[10] = {0, 1, 1, 0, 0, 0, 0, 0, 0, 1};
    assert_memory_equal(m, w3, sizeof m);
    /* 5: both 2s, then the tie |1| at 6 and 7 -> 6 */
    assert_int_equal(ul_unlearn_topk_mask(score, 10, 0.5, m), 5);
    const float w5[10] = {0, 1, 1, 0, 1, 0, 1, 0, 0, 1};
    assert_memory_equal(m, w5, sizeof m);
    assert_int_equal(ul_unlearn_topk_mask(score, 10, 0.0, m), 0);
    assert_int_equal(ul_unlearn_topk_mask(score, 10, 1.0, m), 10);
    /* floor(0.29 * 10) = 2 */
    assert_int_equal(ul_unlearn_topk_mask(score, 10, 0.29, m), 2);
    /* a larger random case against a brute-force count: kept values all >= every dropped value */
    enum { N = 5000 };
    static float sc[N], mk[N];
    ul_rng r;
    ul_rng_seed(&r, 9);
    for (int i = 0; i < N; i++) sc[i] = (float)(ul_rng_below(&r, 300)) * 0.125f; /* many ties */
    assert_int_equal(ul_unlearn_topk_mask(sc, N, 0.37, mk), (size_t)(0.37 * N));
    float minkept = 1e30f, maxdropped = -1.0f;
    for (int i = 0; i < N; i++) {
        if (mk[i] == 1.0f && sc[i] < minkept) minkept = sc[i];
        if (mk[i] == 0.0f && sc[i] > maxdropped) maxdropped = sc[i];
    }
    assert_true(minkept >= maxdropped);
}

static void test_kl_pieces(void **s) {
    (void)s;
    /* one sample, 2 classes: teacher logits (0, 0) -> q = (.5, .5); student (ln 3, 0) -> (.75, .25).
     * KL(q || s) = .5 ln(.5/.75) + .5 ln(.5/.25) = .5 ln(4/3). */
    const float t[2] = {0.0f, 0.0f};
    const float st[2] = {(float)log(3.0), 0.0f};
    float dl[2] = {0, 0};
    /* Bad Teacher: kl_div 'mean' over B*C = 2 elements, T = 1 */
    double v = ul_unlearn_kl(t, st, 1, 2, 1.0, 1.0 / 2.0, dl);
    ULT_CLOSE(v, 0.25 * log(4.0 / 3.0), 1e-7, 0);
    ULT_CLOSE(dl[0], (0.75 - 0.5) / 2.0, 1e-7, 0);
    ULT_CLOSE(dl[1], (0.25 - 0.5) / 2.0, 1e-7, 0);
    /* SCRUB: T = 4, T^2 / B; student at T: s = (3^(1/4), 1) / (3^(1/4) + 1) */
    const double a = pow(3.0, 0.25), s1 = a / (a + 1.0), s2 = 1.0 / (a + 1.0);
    const double kl4 = 0.5 * log(0.5 / s1) + 0.5 * log(0.5 / s2);
    dl[0] = dl[1] = 0.0f;
    v = ul_unlearn_kl(t, st, 1, 2, 4.0, 16.0, dl);
    ULT_CLOSE(v, 16.0 * kl4, 1e-6, 1e-6);
    ULT_CLOSE(dl[0], 16.0 * (s1 - 0.5) / 4.0, 1e-6, 1e-6);
    /* the gradient adds to what is there, and matches a central difference (two rows, 3 classes) */
    const float tl[6] = {0.3f, -1.2f, 2.0f, 1.0f, 0.0f, -0.5f};
    float sl[6] = {-0.7f, 0.4f, 1.1f, 0.2f, 0.9f, -1.3f};
    float d[6] = {1, 1, 1, 1, 1, 1};
    ul_unlearn_kl(tl, sl, 2, 3, 2.0, 0.7, d);
    for (int k = 0; k < 6; k++) {
        const float h = 1e-3f, keep = sl[k];
        sl[k] = keep + h;
        const double fp = ul_unlearn_kl(tl, sl, 2, 3, 2.0, 0.7, NULL);
        sl[k] = keep - h;
        const double fm = ul_unlearn_kl(tl, sl, 2, 3, 2.0, 0.7, NULL);
        sl[k] = keep;
        ULT_CLOSE(d[k] - 1.0f, (fp - fm) / (2.0 * h), 2e-4, 1e-3);
    }
    /* identical distributions: 0 */
    ULT_CLOSE(ul_unlearn_kl(tl, tl, 2, 3, 1.0, 1.0, NULL), 0.0, 1e-12, 0);
}

static void test_names(void **s) {
    (void)s;
    for (int m = 0; m < UL_UNLEARN_METHOD_COUNT; m++) {
        ul_unlearn_method got;
        ULT_OK(ul_unlearn_method_parse(ul_unlearn_method_name((ul_unlearn_method)m), &got));
        assert_int_equal(got, m);
    }
    ul_unlearn_method got;
    ULT_OK(ul_unlearn_method_parse("SFR-on", &got));
    assert_int_equal(got, UL_UNLEARN_SFRON);
    ULT_OK(ul_unlearn_method_parse("l1-sparse", &got));
    assert_int_equal(got, UL_UNLEARN_L1SPARSE);
    ULT_FAILS(ul_unlearn_method_parse("neggrad", &got), UL_E_ARG);
    ULT_ERR_HAS("neggrad");
    ULT_ERR_HAS("sfron");
    ULT_FAILS(ul_unlearn_method_parse("", &got), UL_E_ARG);
    ULT_FAILS(ul_unlearn_method_parse(NULL, &got), UL_E_ARG);
    assert_string_equal(ul_unlearn_method_name(UL_UNLEARN_METHOD_COUNT), "?");
    /* spot-check the defaults table */
    ul_unlearn_params p = ul_unlearn_defaults(UL_UNLEARN_GA);
    assert_int_equal(p.epochs, 9);
    ULT_CLOSE(p.optim.lr, 1e-4, 0, 0);
    ULT_CLOSE(p.clip_norm, 0.1, 0, 0);
    assert_true(p.bn_eval && p.sched == UL_SCHED_CONST);
    p = ul_unlearn_defaults(UL_UNLEARN_SFRON);
    ULT_CLOSE(p.sfron.forget_alpha, 25, 0, 0);
    assert_int_equal(p.sfron.forget_freq, 5);
    ULT_CLOSE(p.sfron.max_norm, 7, 0, 0);
    ULT_CLOSE(p.sfron.lambda, 0.5, 0, 0);
    ULT_CLOSE(p.sfron.gamma, 1, 0, 0);
    ULT_CLOSE(p.sfron.ema_beta, 1, 0, 0);
    ULT_CLOSE(p.optim.momentum, 0.9, 0, 0);
    ULT_CLOSE(p.optim.weight_decay, 5e-4, 0, 0);
    assert_false(p.optim.nesterov);
    p = ul_unlearn_defaults(UL_UNLEARN_SALUN);
    ULT_CLOSE(p.salun.ratio, 0.2, 0, 0);
    ULT_CLOSE(p.optim.lr, 0.007, 0, 0);
}

/* ---- the class-wise task -------------------------------------------------------------------- */

enum { SIDE = 8, NCLS = 4, FORGET_CLASS = 1 };

/* 4 classes of 1x8x8 images: class c lights rows 2c and 2c+2 (mod 8) at 170..249, noise below 90
 * elsewhere, so every lit row is shared by two classes (fine-tuning on the others then erodes a
 * class, as it does on real data). */
static ul_dataset *make_data(size_t n, uint64_t seed) {
    ul_rng r;
    ul_rng_seed(&r, seed);
    const size_t img = SIDE * SIDE;
    uint8_t *px = malloc(n * img);
    int32_t *lab = malloc(sizeof(int32_t) * n);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % NCLS);
        lab[i] = c;
        for (size_t j = 0; j < img; j++) px[i * img + j] = (uint8_t)ul_rng_below(&r, 90);
        for (int row = 2 * c; row <= 2 * c + 2; row += 2)
            for (int j = 0; j < SIDE; j++) px[i * img + (size_t)(row % SIDE) * SIDE + j] = (uint8_t)(170 + ul_rng_below(&r, 80));
    }
    ul_dataset *d;
    ULT_OK(ul_dataset_from_memory("synthetic4", UL_PIX_U8, px, lab, n, 1, SIDE, SIDE, NCLS, &d));
    free(px);
    free(lab);
    return d;
}

typedef struct task_fixture {
    ul_dataset *d;
    ul_view *all, *forget, *retain;
    ul_model *orig;
} task_fixture;

static void fixture_make(task_fixture *f, const char *spec, uint64_t seed) {
    f->d = make_data(320, seed);
    ULT_OK(ul_view_all(f->d, &f->all));
    const int32_t fc = FORGET_CLASS;
    ULT_OK(ul_view_filter_labels(f->all, &fc, 1, true, &f->forget));
    ULT_OK(ul_view_filter_labels(f->all, &fc, 1, false, &f->retain));
    ul_arch_params ap = {.in_c = 1, .in_h = SIDE, .in_w = SIDE, .classes = NCLS};
    ULT_OK(ul_model_create(spec, &ap, seed + 100, &f->orig));
    ul_train_config c = ul_train_defaults();
    c.epochs = 6;
    c.batch_size = 32;
    c.seed = seed;
    ULT_OK(ul_train(f->orig, f->all, &c));
}

static void fixture_free(task_fixture *f) {
    ul_model_free(f->orig);
    ul_view_free(f->forget);
    ul_view_free(f->retain);
    ul_view_free(f->all);
    ul_dataset_free(f->d);
}

static double accuracy(ul_model *m, const ul_view *v) {
    ul_eval_result r;
    ULT_OK(ul_evaluate(m, v, NULL, 64, &r));
    double a = (double)r.correct / (double)r.n;
    ul_eval_result_free(&r);
    return a;
}

/* Parameters that make each method work on this tiny problem (the defaults are CIFAR-10/ResNet-18
 * settings: a few steps at lr 1e-4 would not move a 2k-parameter MLP). */
static ul_unlearn_params task_params(ul_unlearn_method m) {
    ul_unlearn_params p = ul_unlearn_defaults(m);
    p.batch_size = 32;
    p.forget_batch_size = 32;
    switch (m) {
    case UL_UNLEARN_RETRAIN: p.epochs = 8; p.optim.lr = 0.05; break;
    case UL_UNLEARN_FT: p.epochs = 20; p.optim.lr = 0.5; break;       /* forget acc 0.19 at 15 epochs */
    case UL_UNLEARN_GA: p.optim.lr = 0.02; p.clip_norm = 0.5; break;   /* 9 epochs; 6: 0.61, 12: retain 0.94 */
    case UL_UNLEARN_RL: p.epochs = 5; p.optim.lr = 0.02; break;
    case UL_UNLEARN_SALUN: p.epochs = 5; p.optim.lr = 0.02; p.salun.ratio = 0.5; break;
    case UL_UNLEARN_L1SPARSE: p.epochs = 20; p.optim.lr = 0.5; p.batch_size = 64; break;
    case UL_UNLEARN_BADTEACHER: p.epochs = 5; p.optim.lr = 0.5; break;
    case UL_UNLEARN_SCRUB: p.optim.lr = 0.05; break;                  /* 6 epochs, msteps 2 */
    /* with C balanced classes the batch Fisher ratio I_f / I_D of a value only the forget class
     * uses is about C (batches of D_f over batches of D): alpha must stay below 4 here */
    case UL_UNLEARN_SSD: p.ssd.alpha = 2.0; break;
    case UL_UNLEARN_SFRON: p.iters = 60; p.optim.lr = 0.02; break;    /* 12 forget, 60 retain steps */
    default: break;
    }
    return p;
}

static ul_unlearn_task make_task(task_fixture *f, ul_model *m, uint64_t seed, int threads) {
    ul_unlearn_task t = {.model = m, .forget = f->forget, .retain = f->retain, .classes = NCLS, .seed = seed,
                         .threads = threads};
    return t;
}

#define FORGET_MAX 0.30 /* forget accuracy after unlearning at most this (chance is 0.25) */
#define RETAIN_MIN 0.90 /* retain accuracy at least this */

static void test_classwise_all_methods(void **s) {
    (void)s;
    task_fixture f;
    fixture_make(&f, "mlp:64-32-4", 1);
    const double fa0 = accuracy(f.orig, f.forget), ra0 = accuracy(f.orig, f.retain);
    /* the no-op fails the thresholds: the trained model knows class 1 */
    if (!(fa0 > FORGET_MAX && ra0 >= RETAIN_MIN))
        fail_msg("original model: forget acc %.3f, retain acc %.3f; the no-op must fail the test", fa0, ra0);
    int failures = 0;
    for (int k = 0; k < UL_UNLEARN_METHOD_COUNT; k++) {
        const ul_unlearn_method me = (ul_unlearn_method)k;
        ul_model *m;
        ULT_OK(ul_model_clone(f.orig, &m));
        ul_unlearn_task t = make_task(&f, m, 7, 0);
        ul_unlearn_params p = task_params(me);
        ul_unlearn_result res;
        ULT_OK(ul_unlearn(&t, &p, &res));
        const double fa = accuracy(m, f.forget), ra = accuracy(m, f.retain);
        print_message("%-10s forget acc %.3f (was %.3f)  retain acc %.3f (was %.3f)  steps %lld (forget %lld)  mask %zu/%zu  %.3f s\n",
                      ul_unlearn_method_name(me), fa, fa0, ra, ra0, (long long)res.steps, (long long)res.forget_steps,
                      res.mask_kept, res.mask_total, res.seconds);
        if (!(fa <= FORGET_MAX && ra >= RETAIN_MIN)) {
            print_error("%s: forget acc %.3f (max %.2f), retain acc %.3f (min %.2f)\n", ul_unlearn_method_name(me), fa,
                        FORGET_MAX, ra, RETAIN_MIN);
            failures++;
        }
        assert_true(res.seconds > 0.0 && res.prep_seconds >= 0.0 && res.prep_seconds <= res.seconds);
        ul_model_free(m);
    }
    fixture_free(&f);
    assert_int_equal(failures, 0);
}

/* SFR-on's loop: one forget step at every t % forget_freq == 0, before that iteration's retain
 * step; both at lr_t; alpha_t on forget steps; the forget gradient masked then clipped, the retain
 * gradient neither. */
typedef struct trace {
    char kind[64];
    int n;
    double lr[64], scale[64], norm[64], applied[64];
} trace;

static void record(const ul_unlearn_progress *p, void *user) {
    trace *t = user;
    if (t->n >= 64) return;
    t->kind[t->n] = p->phase[0];
    t->lr[t->n] = p->lr;
    t->scale[t->n] = p->scale;
    t->norm[t->n] = p->grad_norm;
    t->applied[t->n] = p->applied_norm;
    t->n++;
}

static void test_sfron_interleaving(void **s) {
    (void)s;
    task_fixture f;
    fixture_make(&f, "mlp:64-32-4", 2);
    ul_model *m;
    ULT_OK(ul_model_clone(f.orig, &m));
    ul_unlearn_task t = make_task(&f, m, 3, 0);
    ul_unlearn_params p = task_params(UL_UNLEARN_SFRON);
    p.iters = 12;
    p.sfron.max_norm = 1e-3; /* small enough that every forget step is clipped */
    trace tr = {.n = 0};
    p.progress = record;
    p.progress_user = &tr;
    ul_unlearn_result res;
    ULT_OK(ul_unlearn(&t, &p, &res));
    tr.kind[tr.n] = '\0';
    /* t = 0: F R, t = 1..4: R, t = 5: F R, ..., t = 10: F R, t = 11: R */
    assert_string_equal(tr.kind, "frrrrrfrrrrrfrr");
    assert_int_equal(res.steps, 15);
    assert_int_equal(res.forget_steps, 3);
    assert_true(res.mask_total == ul_model_num_params(m) && res.mask_kept > 0 && res.mask_kept < res.mask_total);
    int64_t it = 0;
    for (int k = 0; k < tr.n; k++) {
        const double c = (1.0 + cos(3.14159265358979323846 * (double)it / 12.0)) / 2.0;
        ULT_CLOSE(tr.lr[k], 0.02 * c, 0, 1e-12);
        if (tr.kind[k] == 'f') {
            ULT_CLOSE(tr.scale[k], 25.0 * c, 0, 1e-12);
            assert_true(tr.norm[k] > 1e-3);
            ULT_CLOSE(tr.applied[k], 1e-3, 0, 1e-5);
        } else {
            assert_true(tr.scale[k] == 1.0 && tr.applied[k] == tr.norm[k]);
            it++;
        }
    }
    /* slow weights: beta < 1 gives another (finite, reproducible) model */
    char h1[65], h2[65], h3[65];
    ul_model_hash(m, h1);
    p.progress = NULL;
    p.sfron.ema_beta = 0.5;
    ULT_OK(ul_model_copy_params(m, f.orig));
    ULT_OK(ul_unlearn(&t, &p, &res));
    ul_model_hash(m, h2);
    ULT_OK(ul_model_copy_params(m, f.orig));
    ULT_OK(ul_unlearn(&t, &p, &res));
    ul_model_hash(m, h3);
    assert_string_not_equal(h1, h2);
    assert_string_equal(h2, h3);
    p.sfron.ema_beta = 1.0;
    p.progress = record;
    /* gamma so large that nothing is salient: the forget steps apply a zero gradient */
    ULT_OK(ul_model_copy_params(m, f.orig));
    p.sfron.gamma = 1e30;
    tr.n = 0;
    ULT_OK(ul_unlearn(&t, &p, &res));
    assert_int_equal(res.mask_kept, 0);
    for (int k = 0; k < tr.n; k++)
        if (tr.kind[k] == 'f') assert_true(tr.norm[k] == 0.0);
    ul_model_free(m);
    fixture_free(&f);
}

static void run_hash(task_fixture *f, const ul_model *start, ul_unlearn_method me, uint64_t seed, int threads, char hex[65]) {
    ul_model *m;
    ULT_OK(ul_model_clone(start, &m));
    ul_unlearn_task t = make_task(f, m, seed, threads);
    ul_unlearn_params p = task_params(me);
    /* a few steps are enough to compare bytes */
    if (me != UL_UNLEARN_SFRON && me != UL_UNLEARN_SSD) p.epochs = me == UL_UNLEARN_SCRUB ? 2 : 1;
    if (me == UL_UNLEARN_SFRON) p.iters = 12;
    ULT_OK(ul_unlearn(&t, &p, NULL));
    ul_model_hash(m, hex);
    ul_model_free(m);
}

static void test_deterministic(void **s) {
    (void)s;
    task_fixture f;
    /* wide enough (about 50k values) that the element-wise loops run in parallel */
    fixture_make(&f, "mlp:64-256-128-4", 3);
    for (int k = 0; k < UL_UNLEARN_METHOD_COUNT; k++) {
        const ul_unlearn_method me = (ul_unlearn_method)k;
        char a[65], b[65], c1[65], d[65];
        run_hash(&f, f.orig, me, 5, 2, a);
        run_hash(&f, f.orig, me, 5, 2, b);
        run_hash(&f, f.orig, me, 5, 1, c1);
        if (strcmp(a, b) != 0) fail_msg("%s: two runs with one seed differ", ul_unlearn_method_name(me));
        if (strcmp(a, c1) != 0) fail_msg("%s: 1 and 2 threads differ", ul_unlearn_method_name(me));
        run_hash(&f, f.orig, me, 6, 2, d);
        /* ssd draws nothing at random; every other method shuffles */
        if (me != UL_UNLEARN_SSD && strcmp(a, d) == 0) fail_msg("%s: the seed changes nothing", ul_unlearn_method_name(me));
    }
    /* retrain does not depend on the weights it starts from */
    ul_model *other;
    ul_arch_params ap = ul_model_arch(f.orig);
    ULT_OK(ul_model_create("mlp:64-256-128-4", &ap, 999, &other));
    char a[65], b[65];
    run_hash(&f, f.orig, UL_UNLEARN_RETRAIN, 5, 2, a);
    run_hash(&f, other, UL_UNLEARN_RETRAIN, 5, 2, b);
    assert_string_equal(a, b);
    ul_model_free(other);
    fixture_free(&f);
}

/* BN: methods with bn_eval (ga) leave the running statistics alone; train-mode methods move them. */
static void test_bn_modes(void **s) {
    (void)s;
    task_fixture f;
    fixture_make(&f, "resnet18@w=0.0625", 4);
    const size_t P = ul_model_num_params(f.orig), NV = ul_model_num_values(f.orig);
    const ul_unlearn_method ms[3] = {UL_UNLEARN_GA, UL_UNLEARN_FT, UL_UNLEARN_SFRON};
    for (int k = 0; k < 3; k++) {
        ul_model *m;
        ULT_OK(ul_model_clone(f.orig, &m));
        ul_unlearn_task t = make_task(&f, m, 1, 0);
        ul_unlearn_params p = task_params(ms[k]);
        p.epochs = 1;
        p.iters = 6;
        ULT_OK(ul_unlearn(&t, &p, NULL));
        const bool same_buffers = memcmp(ul_model_params(m) + P, ul_model_params_const(f.orig) + P, sizeof(float) * (NV - P)) == 0;
        const bool same_params = memcmp(ul_model_params(m), ul_model_params_const(f.orig), sizeof(float) * P) == 0;
        assert_false(same_params);
        if (ms[k] == UL_UNLEARN_GA) assert_true(same_buffers);
        else assert_false(same_buffers);
        ul_model_free(m);
    }
    fixture_free(&f);
}

static void test_bad_inputs(void **s) {
    (void)s;
    task_fixture f;
    fixture_make(&f, "mlp:64-32-4", 5);
    ul_model *m;
    ULT_OK(ul_model_clone(f.orig, &m));
    char h0[65], h1[65];
    ul_model_hash(m, h0);
    ul_unlearn_params p = task_params(UL_UNLEARN_SFRON);
    ul_unlearn_task t = make_task(&f, m, 1, 0);

    ul_view *empty;
    ULT_OK(ul_view_from_indices(f.d, NULL, 0, &empty));
    t.forget = empty;
    ULT_FAILS(ul_unlearn(&t, &p, NULL), UL_E_ARG);
    ULT_ERR_HAS("forget view is empty");
    t.forget = NULL;
    ULT_FAILS(ul_unlearn(&t, &p, NULL), UL_E_ARG);
    t.forget = f.forget;
    t.retain = empty;
    ULT_FAILS(ul_unlearn(&t, &p, NULL), UL_E_ARG);
    ULT_ERR_HAS("retain view is empty");
    t.retain = f.retain;

    t.classes = 5;
    ULT_FAILS(ul_unlearn(&t, &p, NULL), UL_E_SHAPE);
    ULT_ERR_HAS("5 classes");
    t.classes = 3;
    ULT_FAILS(ul_unlearn(&t, &p, NULL), UL_E_SHAPE);
    t.classes = NCLS;

    ul_unlearn_params bad = p;
    bad.method = UL_UNLEARN_METHOD_COUNT;
    ULT_FAILS(ul_unlearn(&t, &bad, NULL), UL_E_ARG);
    bad = p;
    bad.sfron.forget_freq = 0;
    ULT_FAILS(ul_unlearn(&t, &bad, NULL), UL_E_ARG);
    ULT_ERR_HAS("forget_freq");
    bad = p;
    bad.sfron.ema_beta = 0.0;
    ULT_FAILS(ul_unlearn(&t, &bad, NULL), UL_E_ARG);
    bad = task_params(UL_UNLEARN_SALUN);
    bad.salun.ratio = 1.5;
    ULT_FAILS(ul_unlearn(&t, &bad, NULL), UL_E_ARG);
    bad = task_params(UL_UNLEARN_FT);
    bad.batch_size = 0;
    ULT_FAILS(ul_unlearn(&t, &bad, NULL), UL_E_ARG);
    bad = task_params(UL_UNLEARN_FT);
    bad.optim.momentum = 1.5;
    ULT_FAILS(ul_unlearn(&t, &bad, NULL), UL_E_ARG);
    ULT_ERR_HAS("momentum");
    bad = task_params(UL_UNLEARN_FT);
    bad.sched = UL_SCHED_MULTISTEP;
    ULT_FAILS(ul_unlearn(&t, &bad, NULL), UL_E_ARG);
    ULT_FAILS(ul_unlearn(NULL, &p, NULL), UL_E_ARG);
    ULT_FAILS(ul_unlearn(&t, NULL, NULL), UL_E_ARG);

    /* labels outside the model's classes */
    ul_dataset *d5;
    {
        uint8_t px[2 * SIDE * SIDE] = {0};
        const int32_t lab[2] = {0, 4};
        ULT_OK(ul_dataset_from_memory("five", UL_PIX_U8, px, lab, 2, 1, SIDE, SIDE, 5, &d5));
    }
    ul_view *v5;
    ULT_OK(ul_view_all(d5, &v5));
    t.forget = v5;
    ULT_FAILS(ul_unlearn(&t, &p, NULL), UL_E_ARG);
    ULT_ERR_HAS("label 4");
    /* forget and retain on different datasets: methods that mix them refuse */
    const int32_t zero = 0;
    ul_view *v0;
    ULT_OK(ul_view_filter_labels(v5, &zero, 1, true, &v0));
    t.forget = v0;
    bad = task_params(UL_UNLEARN_RL);
    ULT_FAILS(ul_unlearn(&t, &bad, NULL), UL_E_ARG);
    ULT_ERR_HAS("one dataset");
    t.forget = f.forget;

    /* shape mismatch */
    ul_arch_params ap = {.in_c = 1, .in_h = 6, .in_w = 6, .classes = NCLS};
    ul_model *small;
    ULT_OK(ul_model_create("mlp:36-8-4", &ap, 1, &small));
    t.model = small;
    ULT_FAILS(ul_unlearn(&t, &p, NULL), UL_E_SHAPE);
    t.model = m;

    /* nothing above touched the model */
    ul_model_hash(m, h1);
    assert_string_equal(h0, h1);

    /* ga needs no retain view */
    t.retain = NULL;
    ul_unlearn_params ga = task_params(UL_UNLEARN_GA);
    ga.epochs = 1;
    ULT_OK(ul_unlearn(&t, &ga, NULL));
    /* a diverging run stops with UL_E_NUMERIC and leaves finite weights */
    ga.optim.lr = 1e38;
    ga.clip_norm = 0.0;
    ga.epochs = 50;
    ULT_FAILS(ul_unlearn(&t, &ga, NULL), UL_E_NUMERIC);
    ULT_ERR_HAS("ga");
    int bt = -1;
    assert_true(ul_model_find_nonfinite(m, &bt) < 0);

    ul_model_free(small);
    ul_view_free(v0);
    ul_view_free(v5);
    ul_dataset_free(d5);
    ul_view_free(empty);
    ul_model_free(m);
    fixture_free(&f);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sfron_weights), cmocka_unit_test(test_sfron_schedules),
        cmocka_unit_test(test_sfron_mask),    cmocka_unit_test(test_mask_clip),
        cmocka_unit_test(test_salun_topk),    cmocka_unit_test(test_kl_pieces),
        cmocka_unit_test(test_names),         cmocka_unit_test(test_classwise_all_methods),
        cmocka_unit_test(test_sfron_interleaving), cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_bn_modes),      cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
