/* The evaluation protocol (protocol.h) on a small synthetic task (an MLP trained on 4 separable
 * classes; random and class-wise forget sets):
 *  - the Avg. Gap against hand values, and the retrained model against itself (KL = JS = 0, gap 0);
 *  - ul_protocol_eval against independent paths: accuracies from ul_evaluate, the MIA from
 *    ul_predict + ul_mia_entropy_lr, the class-wise TAs;
 *  - ul_protocol_run: the original is never modified, an SSD run that selects nothing equals the
 *    evaluation of the original, runs are reproducible, run fields come from ul_unlearn;
 *  - ul_unlearn_expected_steps equals the steps every method takes;
 *  - ul_unlearn_param_set/get: round trips, ranges, names, unknown keys listing the known ones;
 *  - bad input (empty views, class mismatch).
 */
#include "ul_test.h"

#include "unlearn/data.h"
#include "unlearn/eval.h"
#include "unlearn/methods.h"
#include "unlearn/nn.h"
#include "unlearn/protocol.h"
#include "unlearn/train.h"

#define SIDE 8
#define NCLS 4
#define ARCH "mlp:64-16-4"

typedef struct fixture {
    ul_dataset *train, *test;
    ul_view *all, *testv, *forget, *retain, *cforget, *cretain;
    ul_model *original, *oracle;
    ul_transform tf;
    int32_t fclass;
} fixture;

static fixture F;

static ul_dataset *make_data(const char *name, size_t n, uint64_t seed) {
    ul_rng r;
    ul_rng_seed(&r, seed);
    const size_t img = SIDE * SIDE;
    uint8_t *px = malloc(n * img);
    int32_t *lab = malloc(sizeof(int32_t) * n);
    for (size_t i = 0; i < n; i++) {
        const int c = (int)((i * 3 + 1) % NCLS);
        lab[i] = c;
        for (size_t j = 0; j < img; j++) px[i * img + j] = (uint8_t)ul_rng_below(&r, 120);
        for (int j = 0; j < SIDE; j++) px[i * img + (size_t)(2 * c) * SIDE + j] = (uint8_t)(150 + ul_rng_below(&r, 100));
    }
    ul_dataset *d;
    ULT_OK(ul_dataset_from_memory(name, UL_PIX_U8, px, lab, n, 1, SIDE, SIDE, NCLS, &d));
    free(px);
    free(lab);
    return d;
}

static ul_model *train_on(const ul_view *v, uint64_t seed) {
    const ul_arch_params ap = {.in_c = 1, .in_h = SIDE, .in_w = SIDE, .classes = NCLS};
    ul_model *m;
    ULT_OK(ul_model_create(ARCH, &ap, seed, &m));
    ul_train_config c = ul_train_defaults();
    c.epochs = 4;
    c.batch_size = 32;
    c.seed = seed;
    c.transform = F.tf;
    ULT_OK(ul_train(m, v, &c));
    return m;
}

static int setup(void **state) {
    (void)state;
    ul_set_threads(2);
    F.train = make_data("proto-train", 400, 1);
    F.test = make_data("proto-test", 120, 2);
    F.tf = (ul_transform){.nchan = 1, .mean = {0.4f}, .std = {0.3f}};
    ULT_OK(ul_view_all(F.train, &F.all));
    ULT_OK(ul_view_all(F.test, &F.testv));
    ULT_OK(ul_view_split_random(F.all, 0.1, 5, &F.forget, &F.retain));
    F.fclass = 2;
    ULT_OK(ul_view_filter_labels(F.all, &F.fclass, 1, true, &F.cforget));
    ULT_OK(ul_view_filter_labels(F.all, &F.fclass, 1, false, &F.cretain));
    F.original = train_on(F.all, 3);
    F.oracle = train_on(F.retain, 3);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    ul_model_free(F.original);
    ul_model_free(F.oracle);
    ul_view_free(F.all);
    ul_view_free(F.testv);
    ul_view_free(F.forget);
    ul_view_free(F.retain);
    ul_view_free(F.cforget);
    ul_view_free(F.cretain);
    ul_dataset_free(F.train);
    ul_dataset_free(F.test);
    return 0;
}

static ul_protocol_task task(bool classwise) {
    ul_protocol_task t = {.original = F.original, .forget = classwise ? F.cforget : F.forget,
                          .retain = classwise ? F.cretain : F.retain, .test = F.testv, .train_tf = F.tf, .eval_tf = F.tf,
                          .forget_classes = classwise ? &F.fclass : NULL, .nforget_classes = classwise ? 1 : 0,
                          .classes = NCLS, .threads = 0, .eval_batch = 64, .svc_mia = true};
    return t;
}

/* ---- the gap ------------------------------------------------------------------------------ */

static void test_gap_hand(void **s) {
    (void)s;
    ul_protocol_metrics a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.acc.ua = 10, a.acc.ra = 90, a.acc.ta = 80, a.mia_entropy_lr = 50;
    b.acc.ua = 12, b.acc.ra = 91, b.acc.ta = 77, b.mia_entropy_lr = 54;
    a.mia_svc_confidence = 1e9; /* not part of the gap */
    a.acc.ta_remain = -1e9;
    double g;
    ULT_OK(ul_protocol_gap(&a, &b, &g));
    ULT_CLOSE(g, (2.0 + 1.0 + 3.0 + 4.0) / 4.0, 1e-15, 0);
    ULT_OK(ul_protocol_gap(&b, &a, &g)); /* symmetric */
    ULT_CLOSE(g, 2.5, 1e-15, 0);
    a.acc.ra = NAN;
    ULT_FAILS(ul_protocol_gap(&a, &b, &g), UL_E_NUMERIC);
    ULT_FAILS(ul_protocol_gap(NULL, &b, &g), UL_E_ARG);
}

/* ---- evaluation ------------------------------------------------------------------------------ */

static double acc_of(ul_model *m, const ul_view *v) {
    ul_eval_result r;
    ULT_OK(ul_evaluate(m, v, &F.tf, 64, &r));
    const double a = 100.0 * (double)r.correct / (double)r.n;
    ul_eval_result_free(&r);
    return a;
}

static void test_eval_independent(void **s) {
    (void)s;
    ul_protocol_task t = task(false);
    ul_protocol_metrics m;
    ul_predictions ref;
    ULT_OK(ul_protocol_eval(F.oracle, &t, NULL, &ref, &m));
    assert_int_equal(ref.n, F.forget->n);
    assert_true(isnan(m.kl) && isnan(m.js));   /* no reference given */
    assert_true(m.seconds == 0.0 && m.steps == 0);
    assert_true(isnan(m.acc.ta_remain));       /* random forgetting */
    ULT_CLOSE(m.acc.fa, acc_of(F.oracle, F.forget), 1e-9, 0);
    ULT_CLOSE(m.acc.ua, 100.0 - m.acc.fa, 1e-12, 0);
    ULT_CLOSE(m.acc.ra, acc_of(F.oracle, F.retain), 1e-9, 0);
    ULT_CLOSE(m.acc.ta, acc_of(F.oracle, F.testv), 1e-9, 0);
    assert_int_equal(m.acc.n_forget, F.forget->n);
    assert_int_equal(m.acc.n_retain, F.retain->n);
    assert_int_equal(m.acc.n_test, F.testv->n);
    /* per-class test accuracy against ul_evaluate's per-class counts */
    {
        ul_eval_result er;
        ULT_OK(ul_evaluate(F.oracle, F.testv, &F.tf, 64, &er));
        assert_int_equal(m.n_per_class, NCLS);
        for (int c = 0; c < NCLS; c++) {
            if (er.class_total[c] == 0) assert_true(isnan(m.per_class_ta[c]));
            else ULT_CLOSE(m.per_class_ta[c], 100.0 * (double)er.class_correct[c] / (double)er.class_total[c], 1e-9, 0);
        }
        ul_eval_result_free(&er);
    }
    /* the MIA through the public pieces */
    ul_predictions pf, pr, pt;
    ULT_OK(ul_predict(F.oracle, F.forget, &F.tf, 64, &pf));
    ULT_OK(ul_predict(F.oracle, F.retain, &F.tf, 64, &pr));
    ULT_OK(ul_predict(F.oracle, F.testv, &F.tf, 64, &pt));
    ul_mia_lr_result lr;
    ULT_OK(ul_mia_entropy_lr(&pr, &pf, &pt, &lr));
    assert_true(m.mia_entropy_lr == lr.rate);
    ul_mia_svc_result svc;
    ULT_OK(ul_mia_svc_confidence(&pr, &pf, &pt, NULL, &svc));
    assert_true(m.mia_svc_confidence == svc.rate);
    assert_memory_equal(pf.probs, ref.probs, pf.n * NCLS * sizeof(float));
    char h[65];
    ul_model_hash(F.oracle, h);
    assert_string_equal(m.model_hash, h);

    /* the reference against itself: KL = JS = 0 exactly, gap 0 */
    ul_protocol_metrics self;
    ULT_OK(ul_protocol_eval(F.oracle, &t, &ref, NULL, &self));
    assert_true(self.kl == 0.0 && self.js == 0.0);
    double g;
    ULT_OK(ul_protocol_gap(&self, &m, &g));
    assert_true(g == 0.0);
    /* the original against the oracle: KL(ref || original) by hand */
    ul_protocol_metrics om;
    ULT_OK(ul_protocol_eval(F.original, &t, &ref, NULL, &om));
    ul_predictions po;
    ULT_OK(ul_predict(F.original, F.forget, &F.tf, 64, &po));
    double kl = 0.0;
    for (size_t i = 0; i < po.n; i++)
        for (int c = 0; c < NCLS; c++) {
            const double p = ref.probs[i * NCLS + c], q = po.probs[i * NCLS + c];
            if (p > 0) kl += p * (log(p + UL_DIV_EPS) - log(q + UL_DIV_EPS));
        }
    ULT_CLOSE(om.kl, kl / (double)po.n, 1e-12, 1e-9);
    assert_true(om.kl > 0.0 && om.js > 0.0);
    ul_predictions_free(&pf);
    ul_predictions_free(&pr);
    ul_predictions_free(&pt);
    ul_predictions_free(&po);
    ul_predictions_free(&ref);
}

static void test_eval_classwise(void **s) {
    (void)s;
    ul_protocol_task t = task(true);
    ul_protocol_metrics m;
    ULT_OK(ul_protocol_eval(F.original, &t, NULL, NULL, &m));
    assert_false(isnan(m.acc.ta_remain));
    assert_false(isnan(m.acc.ta_forget));
    /* TA on all test samples is the count-weighted mean of the two parts */
    ul_view *rem, *fgt;
    ULT_OK(ul_view_filter_labels(F.testv, &F.fclass, 1, false, &rem));
    ULT_OK(ul_view_filter_labels(F.testv, &F.fclass, 1, true, &fgt));
    ULT_CLOSE(m.acc.ta_remain, acc_of(F.original, rem), 1e-9, 0);
    ULT_CLOSE(m.acc.ta_forget, acc_of(F.original, fgt), 1e-9, 0);
    ULT_CLOSE(m.acc.ta, (m.acc.ta_remain * (double)rem->n + m.acc.ta_forget * (double)fgt->n) / (double)F.testv->n, 1e-9, 0);
    ul_view_free(rem);
    ul_view_free(fgt);
}

/* ---- runs ---------------------------------------------------------------------------------- */

static void test_run_ssd_noop_and_original_untouched(void **s) {
    (void)s;
    ul_protocol_task t = task(false);
    char before[65], after[65];
    ul_model_hash(F.original, before);
    ul_unlearn_params p = ul_unlearn_defaults(UL_UNLEARN_SSD);
    ULT_OK(ul_unlearn_param_set(&p, "alpha", "1e30")); /* selects nothing */
    ul_protocol_metrics m, o;
    ul_model *out = NULL;
    ULT_OK(ul_protocol_run(&t, &p, 7, NULL, &m, &out));
    ULT_OK(ul_protocol_eval(F.original, &t, NULL, NULL, &o));
    assert_int_equal(m.mask_kept, 0);
    assert_int_equal(m.mask_total, ul_model_num_params(F.original));
    assert_string_equal(m.model_hash, o.model_hash);
    assert_true(m.acc.fa == o.acc.fa && m.acc.ra == o.acc.ra && m.acc.ta == o.acc.ta);
    assert_true(m.mia_entropy_lr == o.mia_entropy_lr && m.mia_svc_confidence == o.mia_svc_confidence);
    assert_true(m.seconds > 0.0 && m.prep_seconds <= m.seconds);
    char h[65];
    ul_model_hash(out, h);
    assert_string_equal(h, m.model_hash);
    ul_model_free(out);
    ul_model_hash(F.original, after);
    assert_string_equal(before, after);
}

static void test_run_reproducible(void **s) {
    (void)s;
    ul_protocol_task t = task(true);
    ul_predictions ref;
    ul_protocol_metrics rm;
    ul_model *oracle_c = train_on(F.cretain, 3);
    ULT_OK(ul_protocol_eval(oracle_c, &t, NULL, &ref, &rm));
    ul_unlearn_params p = ul_unlearn_defaults(UL_UNLEARN_SFRON);
    ULT_OK(ul_unlearn_param_set(&p, "iters", "30"));
    ULT_OK(ul_unlearn_param_set(&p, "batch_size", "32"));
    ULT_OK(ul_unlearn_param_set(&p, "forget_batch_size", "32"));
    ul_protocol_metrics a, b, c;
    ULT_OK(ul_protocol_run(&t, &p, 11, &ref, &a, NULL));
    ULT_OK(ul_protocol_run(&t, &p, 11, &ref, &b, NULL));
    ULT_OK(ul_protocol_run(&t, &p, 12, &ref, &c, NULL));
    assert_string_equal(a.model_hash, b.model_hash);
    assert_true(a.acc.fa == b.acc.fa && a.kl == b.kl && a.js == b.js && a.mia_entropy_lr == b.mia_entropy_lr);
    assert_string_not_equal(a.model_hash, c.model_hash);
    assert_int_equal(a.steps, ul_unlearn_expected_steps(&p, F.cforget->n, F.cretain->n));
    assert_int_equal(a.forget_steps, 6);
    assert_true(a.mask_total == ul_model_num_params(F.original) && a.mask_kept > 0);
    assert_true(a.kl > 0.0 && isfinite(a.kl));
    assert_true(a.eval_seconds > 0.0);
    ul_predictions_free(&ref);
    ul_model_free(oracle_c);
}

static void test_expected_steps(void **s) {
    (void)s;
    ul_protocol_task t = task(false);
    for (int mi = 0; mi < UL_UNLEARN_METHOD_COUNT; mi++) {
        ul_unlearn_params p = ul_unlearn_defaults((ul_unlearn_method)mi);
        if (mi != UL_UNLEARN_SSD) {
            if (mi == UL_UNLEARN_SFRON) ULT_OK(ul_unlearn_param_set(&p, "iters", "23"));
            else ULT_OK(ul_unlearn_param_set(&p, "epochs", "2"));
            if (mi != UL_UNLEARN_GA) ULT_OK(ul_unlearn_param_set(&p, "batch_size", "50"));
            if (mi != UL_UNLEARN_RETRAIN && mi != UL_UNLEARN_FT && mi != UL_UNLEARN_RL && mi != UL_UNLEARN_L1SPARSE &&
                mi != UL_UNLEARN_BADTEACHER)
                ULT_OK(ul_unlearn_param_set(&p, "forget_batch_size", "16"));
            if (mi == UL_UNLEARN_SCRUB) ULT_OK(ul_unlearn_param_set(&p, "msteps", "5")); /* more than the epochs */
        }
        ul_protocol_metrics m;
        ULT_OK(ul_protocol_run(&t, &p, 1, NULL, &m, NULL));
        if (m.steps != ul_unlearn_expected_steps(&p, F.forget->n, F.retain->n))
            fail_msg("%s: %lld steps, expected %lld", ul_unlearn_method_name((ul_unlearn_method)mi), (long long)m.steps,
                     (long long)ul_unlearn_expected_steps(&p, F.forget->n, F.retain->n));
    }
}

/* ---- parameters ------------------------------------------------------------------------------ */

static void test_params_roundtrip(void **s) {
    (void)s;
    for (int mi = 0; mi < UL_UNLEARN_METHOD_COUNT; mi++) {
        const ul_unlearn_params d = ul_unlearn_defaults((ul_unlearn_method)mi);
        const char *keys[64];
        const size_t n = ul_unlearn_param_keys((ul_unlearn_method)mi, keys, 64);
        assert_true(n > 0 && n < 64);
        for (size_t k = 0; k < n; k++) {
            char v[64], w[64];
            ULT_OK(ul_unlearn_param_get(&d, keys[k], v, sizeof v));
            ul_unlearn_params p = d;
            ULT_OK(ul_unlearn_param_set(&p, keys[k], v));
            assert_memory_equal(&p, &d, sizeof p); /* setting the default back changes no byte */
            ULT_OK(ul_unlearn_param_get(&p, keys[k], w, sizeof w));
            assert_string_equal(v, w);
        }
    }
    ul_unlearn_params p = ul_unlearn_defaults(UL_UNLEARN_SFRON);
    ULT_OK(ul_unlearn_param_set(&p, "forget_alpha", "10"));
    ULT_OK(ul_unlearn_param_set(&p, "forget_freq", "2"));
    ULT_OK(ul_unlearn_param_set(&p, "iters", "500"));
    ULT_OK(ul_unlearn_param_set(&p, "lr", "0.02"));
    ULT_OK(ul_unlearn_param_set(&p, "sched", "const"));
    ULT_OK(ul_unlearn_param_set(&p, "bn_eval", "on"));
    assert_true(p.sfron.forget_alpha == 10.0 && p.sfron.forget_freq == 2 && p.iters == 500 && p.optim.lr == 0.02);
    assert_true(p.sched == UL_SCHED_CONST && p.bn_eval);
    char v[64];
    ULT_OK(ul_unlearn_param_get(&p, "lr", v, sizeof v));
    assert_true(strtod(v, NULL) == 0.02);
    ULT_OK(ul_unlearn_param_get(&p, "sched", v, sizeof v));
    assert_string_equal(v, "const");
    /* the same key names different fields per method */
    ul_unlearn_params q = ul_unlearn_defaults(UL_UNLEARN_SSD), r = ul_unlearn_defaults(UL_UNLEARN_SCRUB);
    ULT_OK(ul_unlearn_param_set(&q, "alpha", "5"));
    ULT_OK(ul_unlearn_param_set(&r, "alpha", "0.5"));
    assert_true(q.ssd.alpha == 5.0 && r.scrub.alpha == 0.5 && r.ssd.alpha == 10.0);
    ULT_OK(ul_unlearn_param_set(&q, "fisher_scope", "last"));
    ULT_OK(ul_unlearn_param_set(&q, "fisher_estimator", "sample"));
    assert_true(q.ssd.fisher.scope == UL_FISHER_LAST && q.ssd.fisher.estimator == UL_FISHER_SAMPLE);
    assert_true(ul_unlearn_param_is_numeric("forget_alpha") && !ul_unlearn_param_is_numeric("sched"));
}

static void test_params_errors(void **s) {
    (void)s;
    ul_unlearn_params p = ul_unlearn_defaults(UL_UNLEARN_SFRON), keep = p;
    ULT_FAILS(ul_unlearn_param_set(&p, "bogus", "1"), UL_E_ARG);
    ULT_ERR_HAS("bogus");
    ULT_ERR_HAS("forget_alpha"); /* lists the known keys */
    ULT_ERR_HAS("ema_beta");
    ULT_FAILS(ul_unlearn_param_set(&p, "epochs", "3"), UL_E_ARG); /* sfron runs iterations */
    ULT_FAILS(ul_unlearn_param_set(&p, "ratio", "0.5"), UL_E_ARG); /* salun's */
    const struct {
        const char *key, *value, *needle;
    } bad[] = {
        {"forget_freq", "0", "forget_freq"}, {"forget_alpha", "abc", "abc"}, {"forget_alpha", "1e999", "forget_alpha"},
        {"forget_alpha", "-1", "out of range"}, {"lr", "nan", "lr"}, {"iters", "1.5", "integer"},
        {"ema_beta", "0", "ema_beta"}, {"ema_beta", "1.5", "ema_beta"}, {"sched", "multistep", "cosine"},
        {"bn_eval", "maybe", "on or off"}, {"momentum", "2", "momentum"}, {"batch_size", "0", "batch_size"},
        {"forget_alpha", "", "forget_alpha"}, {"forget_alpha", " 1", "forget_alpha"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (ul_unlearn_param_set(&p, bad[i].key, bad[i].value) != UL_E_ARG)
            fail_msg("%s=%s was accepted", bad[i].key, bad[i].value);
        ULT_ERR_HAS(bad[i].needle);
    }
    assert_memory_equal(&p, &keep, sizeof p); /* unchanged by every failure */
    ul_unlearn_params sa = ul_unlearn_defaults(UL_UNLEARN_SALUN);
    ULT_FAILS(ul_unlearn_param_set(&sa, "ratio", "1.01"), UL_E_ARG);
    ULT_OK(ul_unlearn_param_set(&sa, "ratio", "1"));
    ul_unlearn_params ssd = ul_unlearn_defaults(UL_UNLEARN_SSD);
    ULT_FAILS(ul_unlearn_param_set(&ssd, "lr", "0.1"), UL_E_ARG); /* ssd does not train */
    ULT_FAILS(ul_unlearn_param_set(&ssd, "fisher_scope", "some"), UL_E_ARG);
    ul_unlearn_params bt = ul_unlearn_defaults(UL_UNLEARN_BADTEACHER);
    ULT_FAILS(ul_unlearn_param_set(&bt, "temperature", "0"), UL_E_ARG);
    char v[8];
    ULT_FAILS(ul_unlearn_param_get(&bt, "forget_alpha", v, sizeof v), UL_E_ARG);
    assert_int_equal(ul_unlearn_param_keys(UL_UNLEARN_METHOD_COUNT, NULL, 0), 0);
    assert_int_equal(ul_unlearn_expected_steps(NULL, 1, 1), 0);
}

static void test_bad_input(void **s) {
    (void)s;
    ul_protocol_task t = task(false);
    ul_protocol_metrics m;
    ul_view empty = {.ds = F.train, .idx = NULL, .n = 0};
    t.forget = &empty;
    ULT_FAILS(ul_protocol_eval(F.original, &t, NULL, NULL, &m), UL_E_ARG);
    ULT_ERR_HAS("forget");
    t = task(false);
    t.test = &empty;
    ULT_FAILS(ul_protocol_eval(F.original, &t, NULL, NULL, &m), UL_E_ARG);
    ULT_ERR_HAS("test");
    t = task(false);
    t.classes = 5;
    ULT_FAILS(ul_protocol_eval(F.original, &t, NULL, NULL, &m), UL_E_SHAPE);
    ul_unlearn_params p = ul_unlearn_defaults(UL_UNLEARN_FT);
    ul_model *out = (ul_model *)&m; /* must be reset to NULL on failure */
    ULT_FAILS(ul_protocol_run(&t, &p, 0, NULL, &m, &out), UL_E_SHAPE);
    assert_null(out);
    t = task(false);
    t.original = NULL;
    ULT_FAILS(ul_protocol_run(&t, &p, 0, NULL, &m, NULL), UL_E_ARG);
    t = task(false);
    p.optim.lr = -1.0; /* ul_unlearn refuses it before touching the clone */
    ULT_FAILS(ul_protocol_run(&t, &p, 0, NULL, &m, NULL), UL_E_ARG);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gap_hand),
        cmocka_unit_test(test_eval_independent),
        cmocka_unit_test(test_eval_classwise),
        cmocka_unit_test(test_run_ssd_noop_and_original_untouched),
        cmocka_unit_test(test_run_reproducible),
        cmocka_unit_test(test_expected_steps),
        cmocka_unit_test(test_params_roundtrip),
        cmocka_unit_test(test_params_errors),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
