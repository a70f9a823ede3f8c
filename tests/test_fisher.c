/* Diagonal Fisher: the per-sample estimator against a brute-force loop (one eval-mode backward
 * per sample) for mlp, cnn and a small ResNet with non-trivial BN statistics; the closed-form
 * last-layer path against the generic one; the batch estimator with truncation against a
 * brute-force loop; a two-sample case computed by hand; thread-count independence; the model
 * left unchanged; bad inputs refused.
 */
#include "ul_test.h"
#include "unlearn/data.h"
#include "unlearn/fisher.h"
#include "unlearn/nn.h"
#include "unlearn/rng.h"

#include <omp.h>

static ul_dataset *make_data(int c, int h, int w, int classes, size_t n, uint64_t seed) {
    ul_rng r;
    ul_rng_seed(&r, seed);
    size_t per = (size_t)c * h * w;
    float *px = malloc(sizeof(float) * n * per);
    int32_t *lab = malloc(sizeof(int32_t) * n);
    for (size_t i = 0; i < n; i++) {
        lab[i] = (int32_t)(i % (size_t)classes);
        for (size_t j = 0; j < per; j++) px[i * per + j] = (float)ul_rng_uniform(&r);
    }
    ul_dataset *d;
    ULT_OK(ul_dataset_from_memory("fisher-synthetic", UL_PIX_F32, px, lab, n, c, h, w, classes, &d));
    free(px);
    free(lab);
    return d;
}

/* Perturb BN affine params and running statistics so eval-mode BN is not the identity. */
static void perturb_bn(ul_model *m, uint64_t seed) {
    ul_rng r;
    ul_rng_seed(&r, seed);
    for (int t = 0; t < ul_model_num_tensors(m); t++) {
        const ul_tensor_info *ti = ul_model_tensor(m, t);
        if (ti->kind == UL_TENSOR_COUNTER || !strstr(ti->name, "bn") || ti->ndim != 1) continue;
        for (size_t i = 0; i < ti->numel; i++) {
            float *v = &ul_model_params(m)[ti->offset + i];
            *v = strstr(ti->name, "running_var") ? 0.5f + (float)ul_rng_uniform(&r) : *v + (float)(0.2 * ul_rng_normal(&r));
        }
    }
}

/* (1/n) sum_i g_i^2 with one backward per sample. */
static double *brute_sample(ul_model *m, ul_view *v) {
    const size_t P = ul_model_num_params(m);
    const int K = ul_model_arch(m).classes;
    const ul_dataset *d = v->ds;
    const size_t in = (size_t)ul_dataset_channels(d) * ul_dataset_height(d) * ul_dataset_width(d);
    double *F = calloc(P, sizeof(double));
    float *logits = malloc(sizeof(float) * (size_t)K), *dl = malloc(sizeof(float) * (size_t)K);
    for (size_t i = 0; i < v->n; i++) {
        const float *x = (const float *)ul_dataset_pixels(d) + (size_t)v->idx[i] * in;
        int32_t y = ul_dataset_labels(d)[v->idx[i]];
        ULT_OK(ul_model_forward(m, x, 1, false, logits));
        ul_softmax_xent(logits, &y, NULL, 1, K, NULL, dl);
        ul_model_zero_grad(m);
        ULT_OK(ul_model_backward(m, dl));
        for (size_t k = 0; k < P; k++) F[k] += (double)ul_model_grads(m)[k] * ul_model_grads(m)[k];
    }
    for (size_t k = 0; k < P; k++) F[k] /= (double)v->n;
    ul_model_zero_grad(m);
    free(logits);
    free(dl);
    return F;
}

static void compare(const char *what, const ul_model *m, const float *got, const double *ref, size_t lo, size_t hi) {
    double mx = 0.0;
    for (size_t k = lo; k < hi; k++) if (fabs(ref[k]) > mx) mx = fabs(ref[k]);
    if (!(mx > 0.0)) fail_msg("%s: reference Fisher is zero", what);
    for (size_t k = lo; k < hi; k++) {
        if (!(fabs(got[k] - ref[k]) <= 1e-5 * mx + 1e-3 * fabs(ref[k]))) {
            const char *tn = "?";
            for (int t = 0; t < ul_model_num_tensors(m); t++) {
                const ul_tensor_info *ti = ul_model_tensor(m, t);
                if (k >= ti->offset && k < ti->offset + ti->numel) tn = ti->name;
            }
            fail_msg("%s: %s (index %zu): %.9g vs brute force %.9g", what, tn, k, (double)got[k], ref[k]);
        }
    }
}

static void check_arch(const char *spec, int c, int h, int w, int classes) {
    ul_dataset *d = make_data(c, h, w, classes, 37, 5); /* 37: batches of 16 leave a partial one */
    ul_view *v;
    ULT_OK(ul_view_all(d, &v));
    ul_arch_params ap = {.in_c = c, .in_h = h, .in_w = w, .classes = classes};
    ul_model *m;
    ULT_OK(ul_model_create(spec, &ap, 3, &m));
    perturb_bn(m, 9);
    char h0[65], h1[65];
    ul_model_hash(m, h0);
    const size_t P = ul_model_num_params(m);
    double *ref = brute_sample(m, v);
    float *F = malloc(sizeof(float) * P);
    ul_fisher_params p = ul_fisher_defaults(UL_FISHER_SAMPLE);
    p.batch_size = 16;
    p.scope = UL_FISHER_ALL;
    ULT_OK(ul_fisher(m, v, NULL, &p, F));
    compare(spec, m, F, ref, 0, P);
    /* last scope: closed form equals the generic path on the head, zero elsewhere */
    float *FL = malloc(sizeof(float) * P);
    p.scope = UL_FISHER_LAST;
    ULT_OK(ul_fisher(m, v, NULL, &p, FL));
    size_t lo = P, hi = 0;
    for (size_t k = 0; k < P; k++) {
        if (ul_fisher_in_scope(m, UL_FISHER_LAST, k)) {
            if (k < lo) lo = k;
            hi = k + 1;
        } else if (FL[k] != 0.0f) {
            fail_msg("%s: last scope has a non-zero value outside the head at %zu", spec, k);
        }
    }
    assert_true(lo < hi);
    compare(spec, m, FL, ref, lo, hi);
    ul_model_hash(m, h1);
    assert_string_equal(h0, h1); /* nothing in the model changed */
    for (size_t k = 0; k < P; k++) assert_true(ul_model_grads(m)[k] == 0.0f);
    free(FL); free(F); free(ref);
    ul_model_free(m);
    ul_view_free(v);
    ul_dataset_free(d);
}

static void test_sample_mlp(void **s) { (void)s; check_arch("mlp:12-7-3", 1, 3, 4, 3); }
static void test_sample_cnn(void **s) { (void)s; check_arch("cnn", 1, 8, 8, 4); }
static void test_sample_resnet(void **s) { (void)s; check_arch("resnet18@w=0.0625", 3, 8, 8, 3); }

/* Two samples through a single linear layer, by hand: W = 0, b = 0 give p = (1/2, 1/2),
 * delta(y=0) = (-1/2, 1/2), delta(y=1) = (1/2, -1/2); x1 = (1, 2), x2 = (3, -1).
 * F_W[c][j] = (1/2) sum_i delta_ic^2 x_ij^2 = (1/8)(x1j^2 + x2j^2): (1.25, 0.625) for both rows;
 * F_b = (1/4, 1/4). */
static void test_by_hand(void **s) {
    (void)s;
    float px[4] = {1, 2, 3, -1};
    int32_t lab[2] = {0, 1};
    ul_dataset *d;
    ULT_OK(ul_dataset_from_memory("hand", UL_PIX_F32, px, lab, 2, 1, 1, 2, 2, &d));
    ul_view *v;
    ULT_OK(ul_view_all(d, &v));
    ul_arch_params ap = {.in_c = 1, .in_h = 1, .in_w = 2, .classes = 2};
    ul_model *m;
    ULT_OK(ul_model_create("mlp:2-2", &ap, 0, &m));
    memset(ul_model_params(m), 0, sizeof(float) * ul_model_num_values(m));
    float F[6];
    for (int scope = 0; scope < 2; scope++) {
        ul_fisher_params p = ul_fisher_defaults(UL_FISHER_SAMPLE);
        p.scope = (ul_fisher_scope)scope;
        ULT_OK(ul_fisher(m, v, NULL, &p, F));
        const double want[6] = {1.25, 0.625, 1.25, 0.625, 0.25, 0.25};
        for (int k = 0; k < 6; k++) ULT_CLOSE(F[k], want[k], 1e-7, 1e-6);
    }
    /* batch estimator, one batch of both: mean gradient of W row 0 = (1/2)(-1/2 x1 + 1/2 x2) =
     * (1/2, -3/4); squared (1/4, 9/16); bias: mean(-1/2, 1/2) = 0. */
    ul_fisher_params pb = ul_fisher_defaults(UL_FISHER_BATCH);
    pb.scope = UL_FISHER_ALL;
    ULT_OK(ul_fisher(m, v, NULL, &pb, F));
    const double wantb[6] = {0.25, 0.5625, 0.25, 0.5625, 0.0, 0.0};
    for (int k = 0; k < 6; k++) ULT_CLOSE(F[k], wantb[k], 1e-7, 1e-6);
    ul_model_free(m);
    ul_view_free(v);
    ul_dataset_free(d);
}

/* The batch estimator with truncation against a brute-force loop over batches. */
static void test_batch_estimator(void **s) {
    (void)s;
    ul_dataset *d = make_data(1, 8, 8, 4, 50, 7);
    ul_view *v;
    ULT_OK(ul_view_all(d, &v));
    ul_arch_params ap = {.in_c = 1, .in_h = 8, .in_w = 8, .classes = 4};
    ul_model *m;
    ULT_OK(ul_model_create("cnn", &ap, 4, &m));
    const size_t P = ul_model_num_params(m);
    ul_fisher_params p = ul_fisher_defaults(UL_FISHER_BATCH);
    p.batch_size = 16;
    p.trunc = 10;
    p.scope = UL_FISHER_ALL;
    float *F = malloc(sizeof(float) * P);
    ULT_OK(ul_fisher(m, v, NULL, &p, F));
    /* batches [0,16) [16,32) [32,48) [48,50): use the first 10, 10, 10, 2 samples */
    double *ref = calloc(P, sizeof(double));
    float x[16 * 64], lg[16 * 4], dl[16 * 4];
    int32_t y[16];
    int nb = 0;
    for (size_t b0 = 0; b0 < 50; b0 += 16) {
        size_t nu = 50 - b0 < 16 ? 50 - b0 : 16;
        if (nu > 10) nu = 10;
        for (size_t i = 0; i < nu; i++) {
            memcpy(x + i * 64, (const float *)ul_dataset_pixels(d) + (b0 + i) * 64, sizeof(float) * 64);
            y[i] = ul_dataset_labels(d)[b0 + i];
        }
        ULT_OK(ul_model_forward(m, x, nu, false, lg));
        ul_softmax_xent(lg, y, NULL, nu, 4, NULL, dl);
        ul_model_zero_grad(m);
        ULT_OK(ul_model_backward(m, dl));
        for (size_t k = 0; k < P; k++) ref[k] += (double)ul_model_grads(m)[k] * ul_model_grads(m)[k];
        nb++;
    }
    assert_int_equal(nb, 4);
    for (size_t k = 0; k < P; k++) ref[k] /= nb;
    compare("batch estimator", m, F, ref, 0, P);
    free(F); free(ref);
    ul_model_free(m);
    ul_view_free(v);
    ul_dataset_free(d);
}

static void test_threads_identical(void **s) {
    (void)s;
    ul_dataset *d = make_data(1, 12, 12, 5, 70, 8);
    ul_view *v;
    ULT_OK(ul_view_all(d, &v));
    ul_arch_params ap = {.in_c = 1, .in_h = 12, .in_w = 12, .classes = 5};
    const char *specs[] = {"cnn", "resnet18@w=0.125"};
    for (int a = 0; a < 2; a++) {
        ul_model *m;
        ULT_OK(ul_model_create(specs[a], &ap, 2, &m));
        perturb_bn(m, 3);
        const size_t P = ul_model_num_params(m);
        float *F1 = malloc(sizeof(float) * P), *F2 = malloc(sizeof(float) * P);
        ul_fisher_params p = ul_fisher_defaults(UL_FISHER_SAMPLE);
        p.scope = UL_FISHER_ALL;
        omp_set_num_threads(1);
        ULT_OK(ul_fisher(m, v, NULL, &p, F1));
        omp_set_num_threads(2);
        ULT_OK(ul_fisher(m, v, NULL, &p, F2));
        assert_memory_equal(F1, F2, sizeof(float) * P);
        free(F1); free(F2);
        ul_model_free(m);
    }
    ul_view_free(v);
    ul_dataset_free(d);
}

/* Per-class head sums: combined over every class they give the full-data Fisher, over a label
 * subset the Fisher of that subset's samples (both against ul_fisher on the same samples, to
 * float rounding); counts are per class; threads do not change them; no samples is an error. */
static void test_class_sums(void **s) {
    (void)s;
    const int K = 4;
    ul_dataset *d = make_data(1, 8, 8, K, 53, 11);
    ul_view *v, *sub;
    ULT_OK(ul_view_all(d, &v));
    const int32_t U[2] = {1, 3};
    ULT_OK(ul_view_filter_labels(v, U, 2, true, &sub));
    ul_arch_params ap = {.in_c = 1, .in_h = 8, .in_w = 8, .classes = K};
    ul_model *m;
    ULT_OK(ul_model_create("cnn", &ap, 4, &m));
    const size_t P = ul_model_num_params(m);
    size_t lo, hi;
    ul_fisher_head_range(m, &lo, &hi);
    const size_t H = hi - lo;
    float *sums = malloc(sizeof(float) * K * H), *sums2 = malloc(sizeof(float) * K * H);
    int64_t counts[4], counts2[4];
    float *F = malloc(sizeof(float) * P), *G = malloc(sizeof(float) * P);
    omp_set_num_threads(1);
    ULT_OK(ul_fisher_class_sums(m, v, NULL, 16, sums, counts));
    omp_set_num_threads(2);
    ULT_OK(ul_fisher_class_sums(m, v, NULL, 7, sums2, counts2));
    assert_memory_equal(counts, counts2, sizeof counts);
    int64_t total = 0;
    size_t per[4] = {0};
    ul_view_label_counts(v, per, K);
    for (int c = 0; c < K; c++) total += counts[c], assert_int_equal(counts[c], (int64_t)per[c]);
    assert_int_equal(total, (int64_t)v->n);
    ul_fisher_params p = ul_fisher_defaults(UL_FISHER_SAMPLE);
    const ul_view *views[2] = {v, sub};
    for (int pass = 0; pass < 2; pass++) {
        ULT_OK(ul_fisher(m, views[pass], NULL, &p, F));
        ULT_OK(ul_fisher_from_class_sums(pass ? sums2 : sums, counts, K, lo, hi, P, pass ? U : NULL, pass ? 2 : 0, G));
        double mx = 0.0;
        for (size_t k = 0; k < P; k++) mx = fabs(F[k]) > mx ? fabs(F[k]) : mx;
        assert_true(mx > 0.0);
        for (size_t k = 0; k < P; k++)
            if (!(fabs(F[k] - G[k]) <= 1e-5 * mx + 1e-4 * fabs(F[k])))
                fail_msg("pass %d, index %zu: class sums give %.9g, ul_fisher %.9g", pass, k, (double)G[k], (double)F[k]);
    }
    const int32_t none[1] = {2};
    int64_t zero[4] = {counts[0], counts[1], 0, counts[3]};
    ULT_FAILS(ul_fisher_from_class_sums(sums, zero, K, lo, hi, P, none, 1, G), UL_E_ARG);
    free(sums); free(sums2); free(F); free(G);
    ul_model_free(m);
    ul_view_free(sub);
    ul_view_free(v);
    ul_dataset_free(d);
}

/* Units: an mlp's layer fc2 (weight [3, 4], bias [3]) has 3 units of 5 values each; a unit is
 * selected by its sums and scaled as a whole; the other units and layers are untouched. */
static void test_dampen_units(void **s) {
    (void)s;
    ul_arch_params ap = {.in_c = 1, .in_h = 2, .in_w = 3, .classes = 3};
    ul_model *m;
    ULT_OK(ul_model_create("mlp:6-4-3", &ap, 1, &m));
    const size_t P = ul_model_num_params(m);
    const ul_tensor_info *w = ul_model_find_tensor(m, "fc2.weight"), *b = ul_model_find_tensor(m, "fc2.bias");
    assert_non_null(w);
    assert_non_null(b);
    float *ID = calloc(P, sizeof(float)), *IF = calloc(P, sizeof(float)), *before = malloc(P * sizeof(float));
    memcpy(before, ul_model_params(m), P * sizeof(float));
    for (int u = 0; u < 3; u++) {
        for (int j = 0; j < 4; j++) ID[w->offset + (size_t)u * 4 + (size_t)j] = 1.0f;
        ID[b->offset + (size_t)u] = 1.0f;
    }
    /* unit 1: sum I_f = 20 > 2 * sum I_D = 10, concentrated on one value; unit 2: one large value
     * (element-wise it would be selected) but a sum of 6 < 10 */
    IF[w->offset + 4] = 20.0f;
    IF[w->offset + 8] = 6.0f;
    ul_dampen_params dp = ul_dampen_defaults(2.0);
    dp.exponent = 2.0;
    const size_t n = ul_dampen_units(m, ul_model_params(m), ID, IF, &dp);
    assert_int_equal(n, 5);
    const float *th = ul_model_params(m);
    const double beta = pow(5.0 / 20.0, 2.0);
    for (size_t k = 0; k < P; k++) {
        const bool unit1 = (k >= w->offset + 4 && k < w->offset + 8) || k == b->offset + 1;
        const float want = unit1 ? (float)(beta * (double)before[k]) : before[k];
        if (th[k] != want) fail_msg("value %zu: %g, want %g", k, (double)th[k], (double)want);
    }
    /* units of mlp:6-4-3: fc1's 4 rows (weight + bias), then fc2's 3; ul_unit_of maps a value to its unit */
    assert_int_equal(ul_unit_count(m), 7);
    const ul_tensor_info *w1 = ul_model_find_tensor(m, "fc1.weight"), *b1 = ul_model_find_tensor(m, "fc1.bias");
    assert_int_equal(ul_unit_of(m, w1->offset), 0);
    assert_int_equal(ul_unit_of(m, w1->offset + 6 * 3 + 5), 3);
    assert_int_equal(ul_unit_of(m, b1->offset + 2), 2);
    for (size_t u = 0; u < 3; u++) {
        assert_int_equal(ul_unit_of(m, w->offset + u * 4), 4 + u);
        assert_int_equal(ul_unit_of(m, w->offset + u * 4 + 3), 4 + u);
        assert_int_equal(ul_unit_of(m, b->offset + u), 4 + u);
    }
    assert_true(ul_unit_of(m, P) == (size_t)-1);
    free(ID); free(IF); free(before);
    ul_model_free(m);
}

static void test_errors(void **s) {
    (void)s;
    ul_dataset *d = make_data(1, 3, 4, 3, 9, 1);
    ul_view *v, *empty;
    ULT_OK(ul_view_all(d, &v));
    ULT_OK(ul_view_from_indices(d, NULL, 0, &empty));
    ul_arch_params ap = {.in_c = 1, .in_h = 3, .in_w = 4, .classes = 2}; /* labels reach 2 */
    ul_model *m;
    ULT_OK(ul_model_create("mlp:12-2", &ap, 0, &m));
    float F[64];
    ul_fisher_params p = ul_fisher_defaults(UL_FISHER_SAMPLE);
    ULT_FAILS(ul_fisher(m, v, NULL, &p, F), UL_E_ARG);
    ULT_ERR_HAS("label 2");
    ULT_FAILS(ul_fisher(m, empty, NULL, &p, F), UL_E_ARG);
    p.batch_size = 0;
    ULT_FAILS(ul_fisher(m, v, NULL, &p, F), UL_E_ARG);
    ul_fisher_params q;
    ULT_FAILS(ul_fisher_parse("exact", "last", &q), UL_E_ARG);
    ULT_FAILS(ul_fisher_parse("sample", "head", &q), UL_E_ARG);
    ULT_OK(ul_fisher_parse("batch", "all", &q));
    assert_int_equal(q.estimator, UL_FISHER_BATCH);
    assert_int_equal(q.scope, UL_FISHER_ALL);
    assert_int_equal(q.trunc, 32);
    ul_model_free(m);
    ap = (ul_arch_params){.in_c = 1, .in_h = 4, .in_w = 4, .classes = 3};
    ULT_OK(ul_model_create("mlp:16-3", &ap, 0, &m));
    p = ul_fisher_defaults(UL_FISHER_SAMPLE);
    ULT_FAILS(ul_fisher(m, v, NULL, &p, F), UL_E_SHAPE);
    ul_model_free(m);
    ul_view_free(v);
    ul_view_free(empty);
    ul_dataset_free(d);
}

/* Dampening on hand-made Fisher vectors: selection is strict, beta = lambda*ID/If capped at
 * beta_max, ID = 0 zeroes a selected value, If = 0 never selects, the exponent applies. */
static void test_dampen_rule(void **s) {
    (void)s;
    float th[6] = {1, 2, 3, 4, 5, 6};
    const float ID[6] = {1, 1, 0, 2, 1, 0};
    const float If[6] = {1, 4, 3, 1, 0, 0};
    ul_dampen_params p = ul_dampen_defaults(1.0);
    size_t sel = ul_dampen(th, ID, If, 6, &p);
    /* k0: 1 > 1? no. k1: 4 > 1 yes, beta 1/4 -> 0.5. k2: 3 > 0 yes, beta 0 -> 0. k3: 1 > 2 no.
     * k4, k5: If = 0 never selected. */
    assert_int_equal(sel, 2);
    const float want[6] = {1, 0.5f, 0, 4, 5, 6};
    assert_memory_equal(th, want, sizeof want);
    /* alpha scales selection; lambda and the cap and exponent shape beta */
    float t2[2] = {10, 10};
    const float ID2[2] = {1, 1}, If2[2] = {2.5f, 1.5f};
    ul_dampen_params q = {.alpha = 2.0, .lambda = 4.0, .exponent = 2.0, .beta_max = 0.9};
    assert_int_equal(ul_dampen(t2, ID2, If2, 2, &q), 1); /* 2.5 > 2 selected, 1.5 > 2 not */
    ULT_CLOSE(t2[0], 10 * 0.9, 1e-6, 1e-6);              /* (4/2.5)^2 = 2.56 capped at 0.9 */
    assert_true(t2[1] == 10.0f);
    q.lambda = 1.0;
    t2[0] = 10;
    ul_dampen(t2, ID2, If2, 2, &q);
    ULT_CLOSE(t2[0], 10 * 0.16, 1e-6, 1e-6);             /* (1/2.5)^2 = 0.16 */
}

static void test_mfim(void **s) {
    (void)s;
    const float a[4] = {1, 5, 0, 2}, b[4] = {3, 1, 0, 2}, c[4] = {0, 0, 7, 1};
    const float *one[1] = {a}, *two[2] = {a, b}, *three[3] = {a, b, c};
    float out[4];
    ul_mfim(one, 1, 4, 5.0, out); /* K = 1 is exactly the single-root Fisher */
    assert_memory_equal(out, a, sizeof a);
    ul_mfim(two, 2, 4, 5.0, out);
    const float w2[4] = {3 / 5.0f, 1.0f, 0, 2 / 5.0f};
    for (int k = 0; k < 4; k++) ULT_CLOSE(out[k], w2[k], 1e-7, 1e-6);
    ul_mfim(three, 3, 4, 5.0, out);
    const float w3[4] = {3 / 25.0f, 5 / 25.0f, 7 / 25.0f, 2 / 25.0f};
    for (int k = 0; k < 4; k++) ULT_CLOSE(out[k], w3[k], 1e-7, 1e-6);
    /* dividing F by c^(K-1) equals dampening with alpha and lambda scaled by c^(K-1) */
    float t1[4] = {1, 1, 1, 1}, t2[4] = {1, 1, 1, 1};
    const float ID[4] = {0.1f, 0.3f, 0.05f, 0.01f};
    ul_mfim(two, 2, 4, 5.0, out);
    ul_dampen_params p = ul_dampen_defaults(1.0);
    ul_dampen(t1, ID, out, 4, &p);
    float mx[4];
    for (int k = 0; k < 4; k++) mx[k] = a[k] > b[k] ? a[k] : b[k];
    ul_dampen_params p5 = {.alpha = 5.0, .lambda = 5.0, .exponent = 1.0, .beta_max = 1.0};
    ul_dampen(t2, ID, mx, 4, &p5);
    for (int k = 0; k < 4; k++) ULT_CLOSE(t1[k], t2[k], 1e-6, 1e-5);
}

int main(void) {
    omp_set_num_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_mlp),      cmocka_unit_test(test_sample_cnn),
        cmocka_unit_test(test_sample_resnet),   cmocka_unit_test(test_by_hand),
        cmocka_unit_test(test_batch_estimator), cmocka_unit_test(test_threads_identical),
        cmocka_unit_test(test_errors),          cmocka_unit_test(test_dampen_rule),
        cmocka_unit_test(test_mfim),            cmocka_unit_test(test_class_sums),
        cmocka_unit_test(test_dampen_units),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
