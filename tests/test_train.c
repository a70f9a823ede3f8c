/* The training loop on small synthetic data: it learns a separable problem, two runs with one
 * seed and thread count give identical bytes, head-only training moves only the head, the
 * gradient mask freezes what it masks, a diverging run stops with UL_E_NUMERIC without
 * corrupting the model, and evaluation counts per class correctly.
 */
#include "ul_test.h"
#include "unlearn/data.h"
#include "unlearn/nn.h"
#include "unlearn/train.h"
#include "unlearn/rng.h"

#include <omp.h>

/* 3 classes of 1x6x6 images: a bright row at 0, 2 or 4 plus noise. */
static ul_dataset *make_data(size_t n, uint64_t seed) {
    ul_rng r;
    ul_rng_seed(&r, seed);
    uint8_t *px = malloc(n * 36);
    int32_t *lab = malloc(sizeof(int32_t) * n);
    for (size_t i = 0; i < n; i++) {
        int c = (int)(i % 3);
        lab[i] = c;
        for (int j = 0; j < 36; j++) px[i * 36 + j] = (uint8_t)ul_rng_below(&r, 90);
        for (int j = 0; j < 6; j++) px[i * 36 + (2 * c) * 6 + j] = (uint8_t)(170 + ul_rng_below(&r, 80));
    }
    ul_dataset *d;
    ULT_OK(ul_dataset_from_memory("synthetic", UL_PIX_U8, px, lab, n, 1, 6, 6, 3, &d));
    free(px);
    free(lab);
    return d;
}

static ul_train_config small_cfg(void) {
    ul_train_config c = ul_train_defaults();
    c.epochs = 3;
    c.batch_size = 16;
    c.seed = 11;
    return c;
}

static double accuracy(ul_model *m, ul_view *v) {
    ul_eval_result r;
    ULT_OK(ul_evaluate(m, v, NULL, 64, &r));
    double a = (double)r.correct / (double)r.n;
    ul_eval_result_free(&r);
    return a;
}

static void test_learns(void **s) {
    (void)s;
    ul_dataset *d = make_data(300, 1);
    ul_view *v;
    ULT_OK(ul_view_all(d, &v));
    ul_arch_params ap = {.in_c = 1, .in_h = 6, .in_w = 6, .classes = 3};
    const char *specs[] = {"mlp:36-16-3", "cnn", "resnet18@w=0.0625"};
    for (int k = 0; k < 3; k++) {
        ul_model *m;
        ULT_OK(ul_model_create(specs[k], &ap, 3, &m));
        double before = accuracy(m, v);
        ul_train_config c = small_cfg();
        ULT_OK(ul_train(m, v, &c));
        double after = accuracy(m, v);
        if (!(after > 0.95)) fail_msg("%s: accuracy %.3f after training (%.3f before)", specs[k], after, before);
        ul_model_free(m);
    }
    ul_view_free(v);
    ul_dataset_free(d);
}

static void train_hash(const char *spec, int threads, char hex[65]) {
    omp_set_num_threads(threads);
    ul_dataset *d = make_data(200, 2);
    ul_view *v;
    ULT_OK(ul_view_all(d, &v));
    ul_arch_params ap = {.in_c = 1, .in_h = 6, .in_w = 6, .classes = 3};
    ul_model *m;
    ULT_OK(ul_model_create(spec, &ap, 5, &m));
    ul_train_config c = small_cfg();
    c.transform.crop_pad = 1;
    c.transform.hflip = true;
    ULT_OK(ul_train(m, v, &c));
    ul_model_hash(m, hex);
    ul_model_free(m);
    ul_view_free(v);
    ul_dataset_free(d);
}

static void test_deterministic(void **s) {
    (void)s;
    const char *specs[] = {"cnn", "resnet18@w=0.0625"};
    for (int k = 0; k < 2; k++) {
        char a[65], b[65];
        train_hash(specs[k], 2, a);
        train_hash(specs[k], 2, b);
        assert_string_equal(a, b);
    }
    omp_set_num_threads(2);
}

static void test_seed_matters(void **s) {
    (void)s;
    ul_dataset *d = make_data(90, 3);
    ul_view *v;
    ULT_OK(ul_view_all(d, &v));
    ul_arch_params ap = {.in_c = 1, .in_h = 6, .in_w = 6, .classes = 3};
    char h[2][65];
    for (int k = 0; k < 2; k++) {
        ul_model *m;
        ULT_OK(ul_model_create("mlp:36-8-3", &ap, 5, &m));
        ul_train_config c = small_cfg();
        c.seed = (uint64_t)k;
        ULT_OK(ul_train(m, v, &c));
        ul_model_hash(m, h[k]);
        ul_model_free(m);
    }
    assert_string_not_equal(h[0], h[1]);
    ul_view_free(v);
    ul_dataset_free(d);
}

static void test_head_only_and_mask(void **s) {
    (void)s;
    ul_dataset *d = make_data(90, 4);
    ul_view *v;
    ULT_OK(ul_view_all(d, &v));
    ul_arch_params ap = {.in_c = 1, .in_h = 6, .in_w = 6, .classes = 3};
    ul_model *m, *m0;
    ULT_OK(ul_model_create("resnet18@w=0.0625", &ap, 5, &m));
    ULT_OK(ul_model_clone(m, &m0));
    ul_train_config c = small_cfg();
    c.epochs = 1;
    c.head_only = true;
    ULT_OK(ul_train(m, v, &c));
    int wt, bt;
    ul_model_head(m, &wt, &bt);
    const ul_tensor_info *hw = ul_model_tensor(m, wt);
    const float *a = ul_model_params(m), *b = ul_model_params_const(m0);
    /* everything before the head, buffers included, is untouched; the head moved */
    assert_memory_equal(a, b, sizeof(float) * hw->offset);
    size_t P = ul_model_num_params(m);
    assert_memory_equal(a + P, b + P, sizeof(float) * (ul_model_num_values(m) - P));
    assert_memory_not_equal(a + hw->offset, b + hw->offset, sizeof(float) * hw->numel);
    ul_model_free(m);
    ul_model_free(m0);

    /* a mask of zeros on fc1.weight freezes it when weight decay is off */
    ULT_OK(ul_model_create("mlp:36-8-3", &ap, 5, &m));
    ULT_OK(ul_model_clone(m, &m0));
    float *mask = malloc(sizeof(float) * ul_model_num_params(m));
    const ul_tensor_info *f1 = ul_model_find_tensor(m, "fc1.weight");
    for (size_t i = 0; i < ul_model_num_params(m); i++) mask[i] = (i >= f1->offset && i < f1->offset + f1->numel) ? 0.0f : 1.0f;
    c = small_cfg();
    c.optim.weight_decay = 0.0;
    c.grad_mask = mask;
    ULT_OK(ul_train(m, v, &c));
    assert_memory_equal(ul_model_params(m) + f1->offset, ul_model_params_const(m0) + f1->offset, sizeof(float) * f1->numel);
    const ul_tensor_info *f2 = ul_model_find_tensor(m, "fc2.weight");
    assert_memory_not_equal(ul_model_params(m) + f2->offset, ul_model_params_const(m0) + f2->offset, sizeof(float) * f2->numel);
    free(mask);
    ul_model_free(m);
    ul_model_free(m0);
    ul_view_free(v);
    ul_dataset_free(d);
}

static void test_divergence_detected(void **s) {
    (void)s;
    ul_dataset *d = make_data(90, 5);
    ul_view *v;
    ULT_OK(ul_view_all(d, &v));
    ul_arch_params ap = {.in_c = 1, .in_h = 6, .in_w = 6, .classes = 3};
    ul_model *m;
    ULT_OK(ul_model_create("mlp:36-8-3", &ap, 5, &m));
    ul_train_config c = small_cfg();
    c.epochs = 50;
    c.optim.lr = 1e30;
    c.optim.nesterov = false;
    c.optim.momentum = 0.0;
    c.sched = UL_SCHED_CONST;
    ULT_FAILS(ul_train(m, v, &c), UL_E_NUMERIC);
    ULT_ERR_HAS("epoch");
    ul_model_free(m);
    ul_view_free(v);
    ul_dataset_free(d);
}

static void test_bad_inputs(void **s) {
    (void)s;
    ul_dataset *d = make_data(30, 6);
    ul_view *v;
    ULT_OK(ul_view_all(d, &v));
    ul_arch_params ap = {.in_c = 1, .in_h = 6, .in_w = 6, .classes = 2}; /* labels reach 2 */
    ul_model *m;
    ULT_OK(ul_model_create("mlp:36-8-2", &ap, 5, &m));
    ul_train_config c = small_cfg();
    ULT_FAILS(ul_train(m, v, &c), UL_E_ARG);
    ULT_ERR_HAS("label 2");
    ul_model_free(m);
    ap = (ul_arch_params){.in_c = 1, .in_h = 5, .in_w = 5, .classes = 3};
    ULT_OK(ul_model_create("cnn", &ap, 5, &m));
    ULT_FAILS(ul_train(m, v, &c), UL_E_SHAPE);
    ULT_FAILS(ul_evaluate(m, v, NULL, 8, &(ul_eval_result){0}), UL_E_SHAPE);
    c.batch_size = 0;
    ULT_FAILS(ul_train(m, v, &c), UL_E_ARG);
    ul_model_free(m);
    ul_view_free(v);
    ul_dataset_free(d);
}

static void test_eval_counts(void **s) {
    (void)s;
    /* A model whose logits are all zero predicts class 0 (first max): per-class accuracy is
     * 100% on class 0 and 0% elsewhere, and the loss is log(3). */
    ul_dataset *d = make_data(30, 7);
    ul_view *v;
    ULT_OK(ul_view_all(d, &v));
    ul_arch_params ap = {.in_c = 1, .in_h = 6, .in_w = 6, .classes = 3};
    ul_model *m;
    ULT_OK(ul_model_create("mlp:36-3", &ap, 5, &m));
    memset(ul_model_params(m), 0, sizeof(float) * ul_model_num_values(m));
    ul_eval_result r;
    ULT_OK(ul_evaluate(m, v, NULL, 7, &r));
    assert_int_equal(r.n, 30);
    assert_int_equal(r.correct, 10);
    assert_int_equal(r.class_total[1], 10);
    assert_int_equal(r.class_correct[0], 10);
    assert_int_equal(r.class_correct[1], 0);
    ULT_CLOSE(r.loss, log(3.0), 1e-6, 1e-6);
    ul_eval_result_free(&r);
    ul_model_free(m);
    ul_view_free(v);
    ul_dataset_free(d);
}

int main(void) {
    omp_set_num_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_learns),          cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_seed_matters),    cmocka_unit_test(test_head_only_and_mask),
        cmocka_unit_test(test_divergence_detected), cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_eval_counts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
