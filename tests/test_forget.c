/* FIUn over a network: on a synthetic `mixed` network the roots forget the label (accuracy to
 * chance or below), the affected models lose most of it on average, and retained accuracy holds
 * (the per-scenario acceptance on Fashion-MNIST is measured by the FIUn issue's sweep); the forget Fisher is taken at the roots
 * before they change (a descendant dampened by hand from the roots' original Fishers matches);
 * one and two threads give identical checkpoints; a dry run changes nothing; a committed
 * request adds versions, a receipt, and leaves `net check` clean; the local-Fisher modes, the
 * dampening exponent, the ga-transfer baseline and sample-level requests; bad requests are refused.
 */
#include "ul_test.h"
#include "unlearn/fisher.h"
#include "unlearn/forget.h"
#include "unlearn/net.h"

#include <cjson/cJSON.h>
#include <omp.h>
#include <sys/stat.h>

static char g_dir[512], g_data[520], g_net[520];

static int setup(void **state) {
    (void)state;
    if (snprintf(g_dir, sizeof g_dir, "%s", ult_tmpdir("test_forget")) >= (int)sizeof g_dir ||
        snprintf(g_data, sizeof g_data, "%s/data", g_dir) >= (int)sizeof g_data ||
        snprintf(g_net, sizeof g_net, "%s/net", g_dir) >= (int)sizeof g_net)
        return -1;
    mkdir(g_data, 0755);
    ult_write_pattern_idx(ult_path(g_data, "train-images-idx3-ubyte"), ult_path(g_data, "train-labels-idx1-ubyte"), 3000, 8, 21);
    ult_write_pattern_idx(ult_path(g_data, "t10k-images-idx3-ubyte"), ult_path(g_data, "t10k-labels-idx1-ubyte"), 400, 8, 22);
    ul_set_threads(2);
    ul_build_params p;
    memset(&p, 0, sizeof p);
    p.scenario = "mixed";
    p.data = g_data;
    p.arch = "mlp:64-32-10";
    p.epochs = 6;
    p.seed = 3;
    if (ul_net_build(g_net, &p) != UL_OK) {
        fprintf(stderr, "build failed: %s\n", ul_last_error());
        return -1;
    }
    return 0;
}

/* The spec's parity values with alpha 1 and c 1: the tests below pin the element-wise rule; the
 * tuned defaults have their own test. */
static ul_forget_params params(const int32_t *labels, size_t n) {
    ul_forget_params p = ul_forget_parity_defaults();
    p.labels = labels;
    p.nlabels = n;
    p.alpha = 1.0;
    p.mfim_c = 1.0;
    p.dry_run = true;
    return p;
}

static void test_forgets_and_retains(void **s) {
    (void)s;
    const int32_t lab[1] = {3};
    ul_forget_params p = params(lab, 1);
    ul_forget_result r;
    ULT_OK(ul_forget(g_net, &p, &r));
    assert_true(r.n >= 2);
    int roots = 0;
    double drop = 0.0, rdrop = 0.0, before = 0.0;
    int forgot_root = 0;
    for (size_t i = 0; i < r.n; i++) {
        const ul_forget_node *o = &r.nodes[i];
        roots += o->root;
        if (o->forget_acc_before < 0 || o->retain_acc_before < 0) fail_msg("%s: no test samples", o->name);
        if (o->root && o->forget_acc_after <= 10.0) forgot_root = 1;
        if (!(o->forget_acc_after <= o->forget_acc_before + 5.0))
            fail_msg("%s: forget acc rose %.1f%% -> %.1f%%", o->name, o->forget_acc_before, o->forget_acc_after);
        drop += (o->forget_acc_before - o->forget_acc_after) / (double)r.n;
        before += o->forget_acc_before / (double)r.n;
        rdrop += (o->retain_acc_before - o->retain_acc_after) / (double)r.n;
        assert_true(o->selected > 0);
        assert_string_not_equal(o->before, o->after);
        assert_true(o->fisher_d_cached); /* the build cached every Fisher a label request needs */
    }
    assert_true(roots >= 1);
    if (!(before > 60.0)) fail_msg("mean forget accuracy before is %.1f%%: the models are not trained enough", before);
    /* One-shot last-layer dampening with the parity defaults does not reach chance on every
     * model of this very confident synthetic network (measured: two models to 0%, others a few
     * points); the test pins what it does reach, the sweep tunes it on Fashion-MNIST. */
    if (!forgot_root) fail_msg("no root fell to chance on the forget label");
    if (!(drop >= 25.0)) fail_msg("mean forget accuracy fell by %.1f points only (from %.1f%%)", drop, before);
    if (!(rdrop <= 5.0)) fail_msg("mean retained accuracy fell by %.1f points", rdrop);
    cJSON *j = cJSON_Parse(r.receipt);
    assert_non_null(j);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "affected")), (int)r.n);
    cJSON_Delete(j);
    ul_forget_result_free(&r);
}

/* The normalisation recorded in a node's recipe (the builder's, one per network). */
static ul_transform recipe_transform(const ul_node *nd) {
    ul_transform tf;
    memset(&tf, 0, sizeof tf);
    cJSON *j = cJSON_Parse(nd->recipe);
    const cJSON *nz = cJSON_GetObjectItem(j, "normalize");
    if (cJSON_IsObject(nz)) {
        tf.nchan = 1;
        tf.mean[0] = (float)cJSON_GetArrayItem(cJSON_GetObjectItem(nz, "mean"), 0)->valuedouble;
        tf.std[0] = (float)cJSON_GetArrayItem(cJSON_GetObjectItem(nz, "std"), 0)->valuedouble;
    }
    cJSON_Delete(j);
    return tf;
}

/* The descendant's result equals dampening by hand with MFIM over the roots' Fishers taken on
 * their ORIGINAL weights: if FIUn took a root's Fisher after dampening it, this would differ. */
static void test_fisher_before_change(void **s) {
    (void)s;
    const int32_t lab[1] = {3};
    ul_forget_params p = params(lab, 1);
    ul_forget_result r;
    ULT_OK(ul_forget(g_net, &p, &r));
    ul_net *net;
    ULT_OK(ul_net_open(g_net, true, &net));
    ul_dataset *train;
    ULT_OK(ul_dataset_load(g_data, "train", &train));
    /* the roots' forget Fishers */
    size_t nroots = 0;
    float *F[8];
    size_t P = 0;
    for (size_t i = 0; i < r.n; i++) {
        if (!r.nodes[i].root) continue;
        ul_node nd;
        ULT_OK(ul_net_get(net, r.nodes[i].name, &nd));
        ul_model *m;
        ULT_OK(ul_net_load_model(net, &nd, &m));
        ul_view *own;
        ULT_OK(ul_selector_resolve(&nd.own, train, &own));
        P = ul_model_num_params(m);
        F[nroots] = malloc(sizeof(float) * P);
        ul_transform tf = recipe_transform(&nd);
        /* label requests take I_f from per-class sums on the root's own data at its weights */
        ul_fisher_classes cs;
        ULT_OK(ul_net_fisher_classes_compute(m, own, &tf, &cs));
        ULT_OK(ul_fisher_from_class_sums(cs.sums, cs.counts, cs.K, cs.lo, cs.hi, P, lab, 1, F[nroots]));
        ul_fisher_classes_free(&cs);
        nroots++;
        ul_view_free(own);
        ul_model_free(m);
    }
    /* a non-root model whose R(m) holds every root */
    int checked = 0;
    for (size_t i = 0; i < r.n && !checked; i++) {
        if (r.nodes[i].root || r.nodes[i].nroots != (int)nroots) continue;
        ul_node nd;
        ULT_OK(ul_net_get(net, r.nodes[i].name, &nd));
        ul_model *m;
        ULT_OK(ul_net_load_model(net, &nd, &m));
        ul_view *own;
        ULT_OK(ul_selector_resolve(&nd.own, train, &own));
        float *ID = malloc(sizeof(float) * P), *Fm = malloc(sizeof(float) * P);
        ul_transform tf = recipe_transform(&nd);
        ul_fisher_classes cs;
        ULT_OK(ul_net_fisher_classes_compute(m, own, &tf, &cs));
        ULT_OK(ul_fisher_from_class_sums(cs.sums, cs.counts, cs.K, cs.lo, cs.hi, P, NULL, 0, ID));
        ul_fisher_classes_free(&cs);
        ul_mfim((const float *const *)F, (int)nroots, P, p.mfim_c, Fm);
        ul_dampen_params dp = ul_dampen_defaults(p.alpha);
        ul_dampen(ul_model_params(m), ID, Fm, P, &dp);
        char h[65];
        ul_model_hash(m, h);
        assert_string_equal(h, r.nodes[i].after);
        checked = 1;
        free(ID);
        free(Fm);
        ul_view_free(own);
        ul_model_free(m);
    }
    assert_int_equal(checked, 1);
    for (size_t k = 0; k < nroots; k++) free(F[k]);
    ul_dataset_free(train);
    ul_net_close(net);
    ul_forget_result_free(&r);
}

static void test_threads_identical(void **s) {
    (void)s;
    const int32_t lab[2] = {3, 7};
    ul_forget_result r1, r2;
    ul_forget_params p = params(lab, 2);
    p.threads = 1;
    ULT_OK(ul_forget(g_net, &p, &r1));
    p.threads = 2;
    ULT_OK(ul_forget(g_net, &p, &r2));
    assert_int_equal(r1.n, r2.n);
    for (size_t i = 0; i < r1.n; i++) assert_string_equal(r1.nodes[i].after, r2.nodes[i].after);
    ul_forget_result_free(&r1);
    ul_forget_result_free(&r2);
}

static void test_commit(void **s) {
    (void)s;
    /* commit on a copy of the network so the other tests keep the original */
    char cmd[2048], copy[700];
    snprintf(copy, sizeof copy, "%s/net-commit", g_dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", copy, g_net, copy);
    assert_int_equal(system(cmd), 0);
    const int32_t lab[1] = {3};
    ul_forget_params p = params(lab, 1);
    p.dry_run = false;
    ul_forget_result r;
    ULT_OK(ul_forget(copy, &p, &r));
    assert_true(r.request_id > 0);
    ul_net *net;
    ULT_OK(ul_net_open(copy, true, &net));
    for (size_t i = 0; i < r.n; i++) {
        ul_node nd;
        ULT_OK(ul_net_get(net, r.nodes[i].name, &nd));
        assert_int_equal(nd.version, 2);
        assert_string_equal(nd.ckpt, r.nodes[i].after);
        assert_int_equal(nd.request, r.request_id);
    }
    char *report = NULL;
    size_t problems = 99;
    ULT_OK(ul_net_check(net, &report, &problems));
    if (problems) fail_msg("net check after forget: %s", report);
    free(report);
    ul_net_close(net);
    ul_forget_result_free(&r);
}

/* Whether model `name`'s own data holds `label`. */
static bool trained_on(ul_net *net, const char *name, int32_t label) {
    ul_node nd;
    ULT_OK(ul_net_get(net, name, &nd));
    int32_t *own = NULL;
    size_t no = 0;
    ULT_OK(ul_parse_label_set(nd.own.labels, 10, &own, &no));
    bool has = false;
    for (size_t k = 0; k < no; k++) has |= own[k] == label;
    free(own);
    return has;
}

/* The local-Fisher option merges a model's own forget Fisher when it trained on the label: the
 * receipt says so for exactly those models, and on this network it forgets at least as much. */
static void test_local_fisher(void **s) {
    (void)s;
    const int32_t lab[1] = {3};
    ul_forget_params p = params(lab, 1);
    ul_forget_result r0, r1;
    ULT_OK(ul_forget(g_net, &p, &r0));
    p.local_fisher = UL_LOCAL_MERGE;
    ULT_OK(ul_forget(g_net, &p, &r1));
    ul_net *net;
    ULT_OK(ul_net_open(g_net, true, &net));
    double f0 = 0.0, f1 = 0.0;
    int locals = 0;
    for (size_t i = 0; i < r1.n; i++) {
        assert_int_equal(r1.nodes[i].local, trained_on(net, r1.nodes[i].name, 3) && !r1.nodes[i].root);
        locals += r1.nodes[i].local;
        f0 += r0.nodes[i].forget_acc_after;
        f1 += r1.nodes[i].forget_acc_after;
        if (!r1.nodes[i].local) assert_string_equal(r0.nodes[i].after, r1.nodes[i].after);
    }
    assert_true(locals > 0);
    if (!(f1 <= f0)) fail_msg("local Fishers forgot less: mean %.1f%% vs %.1f%%", f1 / (double)r1.n, f0 / (double)r0.n);
    ul_net_close(net);
    ul_forget_result_free(&r0);
    ul_forget_result_free(&r1);
}

/* retrain re-derives every affected model without the label: the label is gone (the models never
 * saw it) and the result is deterministic; sequential keeps FIUn's roots and re-derives the rest. */
static void test_retrain_and_sequential(void **s) {
    (void)s;
    const int32_t lab[1] = {3};
    ul_forget_params p = params(lab, 1);
    ul_forget_result rt, rt2, sq, fi;
    ULT_OK(ul_forget(g_net, &p, &fi));
    p.method = UL_FORGET_RETRAIN;
    ULT_OK(ul_forget(g_net, &p, &rt));
    ULT_OK(ul_forget(g_net, &p, &rt2));
    p.method = UL_FORGET_SEQUENTIAL;
    ULT_OK(ul_forget(g_net, &p, &sq));
    assert_int_equal(rt.n, fi.n);
    double slowest = 0.0;
    for (size_t i = 0; i < rt.n; i++) {
        if (!(rt.nodes[i].forget_acc_after <= 5.0))
            fail_msg("retrain: %s still has %.1f%% on the forgotten label", rt.nodes[i].name, rt.nodes[i].forget_acc_after);
        assert_string_equal(rt.nodes[i].after, rt2.nodes[i].after);
        assert_string_not_equal(rt.nodes[i].after, rt.nodes[i].before);
        assert_int_equal(rt.nodes[i].selected, 0);
        if (sq.nodes[i].root) assert_string_equal(sq.nodes[i].after, fi.nodes[i].after);
        else assert_string_not_equal(sq.nodes[i].after, fi.nodes[i].after);
        if (rt.nodes[i].seconds > slowest) slowest = rt.nodes[i].seconds;
    }
    assert_true(slowest > 0.0);
    cJSON *j = cJSON_Parse(rt.receipt);
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "retrain");
    cJSON_Delete(j);
    ul_forget_method m;
    ULT_OK(ul_forget_method_parse("sequential", &m));
    assert_int_equal(m, UL_FORGET_SEQUENTIAL);
    ULT_FAILS(ul_forget_method_parse("gradient-ascent", &m), UL_E_ARG);
    ul_forget_result_free(&fi);
    ul_forget_result_free(&rt);
    ul_forget_result_free(&rt2);
    ul_forget_result_free(&sq);
}

/* ssd-local dampens each model with its own forget Fisher (changing exactly the models that have
 * forget samples of their own); finetune trains every model on its data without the label, keeping
 * retained accuracy. (One epoch does not remove the label from this very confident network: the
 * summed forget accuracy stays at 8 x 100%, as fine-tuning is the weak baseline it is known to be.) */
static void test_local_baselines(void **s) {
    (void)s;
    const int32_t lab[1] = {3};
    ul_forget_params p = params(lab, 1);
    ul_forget_result sl, ft;
    p.method = UL_FORGET_SSD_LOCAL;
    ULT_OK(ul_forget(g_net, &p, &sl));
    p.method = UL_FORGET_FINETUNE;
    ULT_OK(ul_forget(g_net, &p, &ft));
    ul_net *net;
    ULT_OK(ul_net_open(g_net, true, &net));
    double fb = 0.0, fa = 0.0;
    for (size_t i = 0; i < sl.n; i++) {
        if (trained_on(net, sl.nodes[i].name, 3)) assert_string_not_equal(sl.nodes[i].after, sl.nodes[i].before);
        else assert_string_equal(sl.nodes[i].after, sl.nodes[i].before);
        assert_string_not_equal(ft.nodes[i].after, ft.nodes[i].before);
        fb += ft.nodes[i].forget_acc_before;
        fa += ft.nodes[i].forget_acc_after;
        if (!(ft.nodes[i].retain_acc_after >= ft.nodes[i].retain_acc_before - 10.0))
            fail_msg("finetune: %s retained %.1f%% -> %.1f%%", ft.nodes[i].name, ft.nodes[i].retain_acc_before,
                     ft.nodes[i].retain_acc_after);
    }
    if (!(fa <= fb)) fail_msg("finetune raised the forget accuracy (%.1f -> %.1f, summed)", fb, fa);
    ul_net_close(net);
    ul_forget_result_free(&sl);
    ul_forget_result_free(&ft);
}

/* --local-fisher only: a model with forget data of its own is dampened with its own forget Fisher
 * alone (exactly what ssd-local does to it); one without is dampened with the roots' (exactly FIUn). */
static void test_local_only(void **s) {
    (void)s;
    const int32_t lab[1] = {3};
    ul_forget_params p = params(lab, 1);
    ul_forget_result off, only, ssd;
    ULT_OK(ul_forget(g_net, &p, &off));
    p.local_fisher = UL_LOCAL_ONLY;
    ULT_OK(ul_forget(g_net, &p, &only));
    p.local_fisher = UL_LOCAL_OFF;
    p.method = UL_FORGET_SSD_LOCAL;
    ULT_OK(ul_forget(g_net, &p, &ssd));
    int locals = 0;
    for (size_t i = 0; i < only.n; i++) {
        locals += only.nodes[i].local;
        assert_string_equal(only.nodes[i].after, only.nodes[i].local ? ssd.nodes[i].after : off.nodes[i].after);
    }
    assert_true(locals > 0);
    ul_forget_result_free(&off);
    ul_forget_result_free(&only);
    ul_forget_result_free(&ssd);
}

/* The exponent sharpens the dampening: e = 2 changes the same parameters as e = 1 (selection does
 * not depend on it) and forgets at least as much on average. */
static void test_exponent(void **s) {
    (void)s;
    const int32_t lab[1] = {3};
    ul_forget_params p = params(lab, 1);
    ul_forget_result e1, e2;
    ULT_OK(ul_forget(g_net, &p, &e1));
    p.exponent = 2.0;
    ULT_OK(ul_forget(g_net, &p, &e2));
    double f1 = 0.0, f2 = 0.0;
    for (size_t i = 0; i < e1.n; i++) {
        assert_int_equal(e1.nodes[i].selected, e2.nodes[i].selected);
        assert_string_not_equal(e1.nodes[i].after, e2.nodes[i].after);
        f1 += e1.nodes[i].forget_acc_after;
        f2 += e2.nodes[i].forget_acc_after;
    }
    if (!(f2 <= f1)) fail_msg("exponent 2 forgot less: %.1f vs %.1f (summed)", f2, f1);
    ul_forget_result_free(&e1);
    p.exponent = 0.0;
    ULT_FAILS(ul_forget(g_net, &p, &e1), UL_E_ARG);
    ul_forget_result_free(&e2);
}

/* ga-transfer: every root ascends until its forget accuracy (on its own forget samples) is below
 * 20 %, which shows on the test split too; every affected model changes; deterministic and the
 * same for one and two threads. */
static void test_ga_transfer(void **s) {
    (void)s;
    const int32_t lab[1] = {3};
    ul_forget_params p = params(lab, 1);
    p.method = UL_FORGET_GA_TRANSFER;
    ul_forget_result a, b;
    p.threads = 1;
    ULT_OK(ul_forget(g_net, &p, &a));
    p.threads = 2;
    ULT_OK(ul_forget(g_net, &p, &b));
    int roots = 0;
    for (size_t i = 0; i < a.n; i++) {
        assert_string_equal(a.nodes[i].after, b.nodes[i].after);
        assert_string_not_equal(a.nodes[i].after, a.nodes[i].before);
        if (a.nodes[i].root) {
            roots++;
            if (!(a.nodes[i].forget_acc_after < 40.0))
                fail_msg("ga-transfer: root %s keeps %.1f%% on the label", a.nodes[i].name, a.nodes[i].forget_acc_after);
        }
    }
    assert_true(roots > 0);
    ul_forget_result_free(&a);
    ul_forget_result_free(&b);
}

/* Sample-level requests: the roots are the earliest models whose own data holds a requested
 * sample; FIUn and retrain run; the receipt names the id list by hash and a committed request
 * leaves `net check` clean (the id list is stored and referenced). */
static void test_samples(void **s) {
    (void)s;
    ul_net *net;
    ULT_OK(ul_net_open(g_net, true, &net));
    ul_dataset *train;
    ULT_OK(ul_dataset_load(g_data, "train", &train));
    ul_node *all;
    size_t cnt;
    ULT_OK(ul_net_list(net, &all, &cnt));
    /* 40 samples of the LAST model's own data that no ancestor trained on, if any, else of the first */
    ul_view *own;
    ULT_OK(ul_selector_resolve(&all[0].own, train, &own));
    int32_t ids[40];
    size_t nids = 0;
    for (size_t i = 0; i < own->n && nids < 40; i += 7) ids[nids++] = own->idx[i];
    ul_view_free(own);
    ul_forget_params p = ul_forget_defaults();
    p.samples = ids;
    p.nsamples = nids;
    p.dry_run = true;
    ul_forget_result r;
    ULT_OK(ul_forget(g_net, &p, &r));
    assert_true(r.n >= 1);
    assert_string_equal(r.nodes[0].name, all[0].name);
    assert_true(r.nodes[0].root);
    assert_true(r.nodes[0].forget_acc_before >= 0.0);
    assert_int_equal(r.nodes[0].forget_test_n, nids);
    cJSON *j = cJSON_Parse(r.receipt);
    const cJSON *js = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "request"), "samples");
    assert_non_null(js);
    assert_int_equal((int)cJSON_GetObjectItem(js, "count")->valuedouble, (int)nids);
    assert_int_equal(strlen(cJSON_GetObjectItem(js, "ids")->valuestring), 64);
    cJSON_Delete(j);
    ul_forget_result_free(&r);
    /* retrain without those samples: every affected model changes */
    p.method = UL_FORGET_RETRAIN;
    ULT_OK(ul_forget(g_net, &p, &r));
    for (size_t i = 0; i < r.n; i++) assert_string_not_equal(r.nodes[i].after, r.nodes[i].before);
    ul_forget_result_free(&r);
    /* committed on a copy: net check clean */
    char cmd[2048], copy[700];
    snprintf(copy, sizeof copy, "%s/net-samples", g_dir);
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && cp -r '%s' '%s'", copy, g_net, copy);
    assert_int_equal(system(cmd), 0);
    p.method = UL_FORGET_FIUN;
    p.dry_run = false;
    ULT_OK(ul_forget(copy, &p, &r));
    ul_net *cn;
    ULT_OK(ul_net_open(copy, true, &cn));
    char *report = NULL;
    size_t problems = 99;
    ULT_OK(ul_net_check(cn, &report, &problems));
    if (problems) fail_msg("net check after a sample request: %s", report);
    free(report);
    ul_net_close(cn);
    ul_forget_result_free(&r);
    /* bad sample requests */
    int32_t far[1] = {1 << 30};
    p.samples = far;
    p.nsamples = 1;
    p.dry_run = true;
    ULT_FAILS(ul_forget(g_net, &p, &r), UL_E_ARG);
    const int32_t lab[1] = {3};
    p.samples = ids;
    p.nsamples = nids;
    p.labels = lab;
    p.nlabels = 1;
    ULT_FAILS(ul_forget(g_net, &p, &r), UL_E_ARG);
    int32_t unsorted[2] = {ids[1], ids[0]};
    p.labels = NULL;
    p.nlabels = 0;
    p.samples = unsorted;
    p.nsamples = 2;
    ULT_FAILS(ul_forget(g_net, &p, &r), UL_E_ARG);
    free(all);
    ul_dataset_free(train);
    ul_net_close(net);
}

/* A sweep row gives exactly what a request with that setting gives; the id floor selects fewer
 * parameters; a sweep needs a dry run of FIUn. */
static void test_sweep(void **s) {
    (void)s;
    const int32_t lab[1] = {3};
    ul_forget_params p = params(lab, 1);
    const ul_forget_setting set[4] = {{1.0, 1.0, 0.0, UL_LOCAL_OFF, false, 0.0, 0.0}, {2.0, 2.0, 0.5, UL_LOCAL_MERGE, false, 0.0, 0.0},
                                      {1.0, 1.0, 0.5, UL_LOCAL_OFF, false, 0.0, 0.0}, {3.0, 3.0, 0.0, UL_LOCAL_ONLY, true, 0.5, 0.0}};
    p.sweep = set;
    p.nsweep = 4;
    ul_forget_result sw, one;
    ULT_OK(ul_forget(g_net, &p, &sw));
    assert_int_equal(sw.nsweep, 4);
    for (int k = 0; k < 4; k++) {
        ul_forget_params q = params(lab, 1);
        q.alpha = set[k].alpha;
        q.exponent = set[k].exponent;
        q.id_floor = set[k].id_floor;
        q.local_fisher = set[k].local;
        q.units = set[k].units;
        q.rel = set[k].rel;
        ULT_OK(ul_forget(g_net, &q, &one));
        for (size_t i = 0; i < one.n; i++) {
            assert_true(sw.sweep_forget[(size_t)k * sw.n + i] == one.nodes[i].forget_acc_after);
            assert_true(sw.sweep_retain[(size_t)k * sw.n + i] == one.nodes[i].retain_acc_after);
            assert_int_equal(sw.sweep_selected[(size_t)k * sw.n + i], one.nodes[i].selected);
            if (k == 2) assert_true(one.nodes[i].selected < sw.sweep_selected[i]); /* the floor selects fewer */
        }
        ul_forget_result_free(&one);
    }
    /* the main result is the request's own setting (row 0) */
    for (size_t i = 0; i < sw.n; i++) assert_true(sw.nodes[i].forget_acc_after == sw.sweep_forget[i]);
    ul_forget_result_free(&sw);
    p.dry_run = false;
    ULT_FAILS(ul_forget(g_net, &p, &sw), UL_E_ARG);
    p.dry_run = true;
    p.method = UL_FORGET_RETRAIN;
    ULT_FAILS(ul_forget(g_net, &p, &sw), UL_E_ARG);
}

/* The tuned defaults (unit granularity, alpha 2.5, e 10, share 0.3, c 1, local Fisher only) on this synthetic
 * network: every affected model's forget accuracy falls to near zero and mean retained accuracy
 * stays near retrain's; the parity profile is what the spec says. */
static void test_defaults(void **s) {
    (void)s;
    ul_forget_params d = ul_forget_defaults(), q = ul_forget_parity_defaults();
    assert_true(d.units && d.local_fisher == UL_LOCAL_ONLY && d.alpha == 2.5 && d.rel == 0.0 && d.exponent == 10.0 &&
                d.mfim_c == 1.0 && d.share == 0.3);
    assert_true(!q.units && q.local_fisher == UL_LOCAL_OFF && q.alpha == 1.0 && q.exponent == 1.0 && q.mfim_c == 5.0 &&
                q.rel == 0.0 && q.share == 0.0);
    /* the shared network fits its patterns perfectly (every gradient vanishes, and with it every
     * Fisher: a root of 7 classes then shows a forget/full Fisher ratio below 2.5 on the label's
     * row and is left alone, retrain-like behaviour being out of reach for any Fisher method); one
     * epoch of training leaves the models as confident as real ones */
    char net1[600];
    snprintf(net1, sizeof net1, "%s/net-1epoch", g_dir);
    ul_build_params bp;
    memset(&bp, 0, sizeof bp);
    bp.scenario = "mixed";
    bp.data = g_data;
    bp.arch = "mlp:64-32-10";
    bp.epochs = 1;
    bp.seed = 3;
    ULT_OK(ul_net_build(net1, &bp));
    const int32_t lab[1] = {3};
    d.labels = lab;
    d.nlabels = 1;
    d.dry_run = true;
    ul_forget_result f, r;
    ULT_OK(ul_forget(net1, &d, &f));
    d.method = UL_FORGET_RETRAIN;
    ULT_OK(ul_forget(net1, &d, &r));
    double worst = 0.0, rf = 0.0, rr = 0.0;
    for (size_t i = 0; i < f.n; i++) {
        print_message("  %s root %d local %d: forget %.1f -> %.1f, retain %.1f -> %.1f, %zu values\n", f.nodes[i].name, f.nodes[i].root, f.nodes[i].local, f.nodes[i].forget_acc_before, f.nodes[i].forget_acc_after, f.nodes[i].retain_acc_before, f.nodes[i].retain_acc_after, f.nodes[i].selected);
        if (f.nodes[i].forget_acc_after > worst) worst = f.nodes[i].forget_acc_after;
        rf += f.nodes[i].retain_acc_after / (double)f.n;
        rr += r.nodes[i].retain_acc_after / (double)f.n;
    }
    print_message("tuned defaults: worst forget %.1f%%, retained %.1f%% (retrain %.1f%%)\n", worst, rf, rr);
    if (!(worst <= 5.0)) fail_msg("a model keeps %.1f%% of the forgotten label", worst);
    if (!(rf >= rr - 5.0)) fail_msg("retained %.1f%% against retrain's %.1f%%", rf, rr);
    ul_forget_result_free(&f);
    ul_forget_result_free(&r);
    /* three labels at once: per-label forget Fishers merged by max, so every label's row is selected
     * (pooled, the ratio of each row would be capped near 10/3 and mostly missed) */
    const int32_t three[3] = {1, 3, 5};
    d.labels = three;
    d.nlabels = 3;
    d.method = UL_FORGET_FIUN;
    ULT_OK(ul_forget(net1, &d, &f));
    worst = 0.0;
    for (size_t i = 0; i < f.n; i++)
        if (f.nodes[i].forget_acc_after > worst) worst = f.nodes[i].forget_acc_after;
    print_message("tuned defaults, labels 1,3,5: worst forget %.1f%%\n", worst);
    if (!(worst <= 10.0)) fail_msg("three labels: a model keeps %.1f%% of them", worst);
    ul_forget_result_free(&f);
}

/* Share selection (units): a unit is selected on a model with forget samples of its own when one
 * label's samples carry at least `share` of its Fisher mass, and a forget label's own head row
 * whenever its ratio exceeds 1. share 1 can never be reached (the other labels' samples always add
 * some mass), so those models dampen their forget labels' rows and nothing else (rows of 33 values:
 * 32 weights and a bias in mlp:64-32-10); a tiny share selects every unit whose ratio exceeds 1, a
 * superset of what alpha 2.5 selects. Models without
 * forget samples of their own keep the alpha rule, so their results do not change. Out-of-range
 * values are refused. */
static void test_share(void **s) {
    (void)s;
    const int32_t lab[2] = {3, 5};
    for (size_t nl = 1; nl <= 2; nl++) {
        ul_forget_params p = ul_forget_defaults();
        p.labels = lab;
        p.nlabels = nl;
        p.dry_run = true;
        p.share = 0.0; /* the alpha rule */
        ul_forget_result base, one, tiny;
        ULT_OK(ul_forget(g_net, &p, &base));
        p.share = 1.0;
        ULT_OK(ul_forget(g_net, &p, &one));
        p.share = 1e-9;
        ULT_OK(ul_forget(g_net, &p, &tiny));
        int own = 0, more = 0, rows = 0;
        for (size_t i = 0; i < base.n; i++) {
            const bool has_own = base.nodes[i].root || base.nodes[i].local;
            own += has_own;
            if (has_own) {
                const size_t sel1 = one.nodes[i].selected;
                if (sel1 % 33 != 0 || sel1 > nl * 33)
                    fail_msg("model %s: share 1 selected %zu values, not whole forget-label rows", base.nodes[i].name, sel1);
                rows += sel1 > 0;
                if (tiny.nodes[i].selected < sel1) fail_msg("model %s: share 1e-9 selected less than share 1", base.nodes[i].name);
                if (tiny.nodes[i].selected < base.nodes[i].selected)
                    fail_msg("model %s: share 1e-9 selected %zu values, alpha 2.5 %zu", base.nodes[i].name,
                             tiny.nodes[i].selected, base.nodes[i].selected);
                more += tiny.nodes[i].selected > base.nodes[i].selected;
            } else {
                assert_string_equal(one.nodes[i].after, base.nodes[i].after);
                assert_string_equal(tiny.nodes[i].after, base.nodes[i].after);
            }
        }
        assert_true(own > 0);
        assert_true(more > 0);
        assert_true(rows > 0);
        ul_forget_result_free(&base);
        ul_forget_result_free(&one);
        ul_forget_result_free(&tiny);
        p.share = 1.5;
        ULT_FAILS(ul_forget(g_net, &p, &base), UL_E_ARG);
    }
}

/* A model that trained on some forget labels itself and only inherited the others (model f of the
 * mixed network: own labels 2-9, inherited 0-1) is dampened with its own forget Fisher for the first
 * and the roots' Fishers for the rest: forgetting {1, 3} must select more of f than forgetting {3}
 * alone (label 1's row comes from the roots) and leave f's forget accuracy on {1, 3} low. */
static void test_partial_local(void **s) {
    (void)s;
    const int32_t one[1] = {3}, two[2] = {1, 3};
    ul_forget_params p = ul_forget_defaults();
    p.dry_run = true;
    p.labels = one;
    p.nlabels = 1;
    ul_forget_result r1, r2;
    ULT_OK(ul_forget(g_net, &p, &r1));
    p.labels = two;
    p.nlabels = 2;
    ULT_OK(ul_forget(g_net, &p, &r2));
    const ul_forget_node *f1 = NULL, *f2 = NULL;
    for (size_t i = 0; i < r1.n; i++)
        if (strcmp(r1.nodes[i].name, "f") == 0) f1 = &r1.nodes[i];
    for (size_t i = 0; i < r2.n; i++)
        if (strcmp(r2.nodes[i].name, "f") == 0) f2 = &r2.nodes[i];
    assert_non_null(f1);
    assert_non_null(f2);
    print_message("f: {3} selected %zu, forget %.1f -> %.1f; {1,3} selected %zu, forget %.1f -> %.1f\n", f1->selected,
                  f1->forget_acc_before, f1->forget_acc_after, f2->selected, f2->forget_acc_before, f2->forget_acc_after);
    assert_true(f2->local);
    if (!(f2->selected > f1->selected)) fail_msg("f: {1,3} selected %zu values, {3} %zu", f2->selected, f1->selected);
    if (!(f2->forget_acc_after <= 10.0)) fail_msg("f keeps %.1f%% of labels 1 and 3", f2->forget_acc_after);
    ul_forget_result_free(&r1);
    ul_forget_result_free(&r2);
}

static void test_bad_requests(void **s) {
    (void)s;
    ul_forget_result r;
    const int32_t big[1] = {10};
    ul_forget_params p = params(big, 1);
    ULT_FAILS(ul_forget(g_net, &p, &r), UL_E_ARG);
    p = params(big, 0);
    ULT_FAILS(ul_forget(g_net, &p, &r), UL_E_ARG);
    const int32_t lab[1] = {3};
    p = params(lab, 1);
    p.alpha = 0.0;
    ULT_FAILS(ul_forget(g_net, &p, &r), UL_E_ARG);
    p = params(lab, 1);
    char missing[700];
    snprintf(missing, sizeof missing, "%s/no-such-net", g_dir);
    assert_int_not_equal(ul_forget(missing, &p, &r), UL_OK);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forgets_and_retains), cmocka_unit_test(test_fisher_before_change),
        cmocka_unit_test(test_threads_identical),   cmocka_unit_test(test_commit),
        cmocka_unit_test(test_local_fisher),        cmocka_unit_test(test_retrain_and_sequential),
        cmocka_unit_test(test_local_baselines),     cmocka_unit_test(test_local_only),
        cmocka_unit_test(test_exponent),            cmocka_unit_test(test_ga_transfer),
        cmocka_unit_test(test_samples),             cmocka_unit_test(test_sweep),
        cmocka_unit_test(test_defaults),            cmocka_unit_test(test_share),
        cmocka_unit_test(test_partial_local),
        cmocka_unit_test(test_bad_requests),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
