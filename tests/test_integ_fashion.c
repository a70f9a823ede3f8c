/* Integration on real Fashion-MNIST (Debian package dataset-fashion-mnist), 2 threads:
 *  - the default recipe (ul_train_defaults: SGD nesterov momentum 0.9, lr 0.05 cosine, wd 5e-4,
 *    batch 128, normalised inputs) reaches >= 88% test accuracy with `cnn` and >= 85% with
 *    `mlp:784-256-128-10` within 2 epochs;
 *  - PyTorch's recipe from the issue (plain SGD lr 0.01, momentum 0.9, batch 128, no
 *    normalisation, 2 epochs) lands within 1 point of PyTorch 1.13's accuracy on this machine.
 *    One run varies by +-1.5 points with the seed in both libraries (PyTorch cnn: 85.87, 83.09,
 *    85.94), so means over seeds are compared: PyTorch cnn 84.97 (seeds 0-2), mlp 83.01
 *    (seeds 0-4), from bench/torch_recipe.py.
 */
#include "ul_test.h"
#include "unlearn/data.h"
#include "unlearn/nn.h"
#include "unlearn/train.h"

#include <omp.h>

static ul_dataset *g_train, *g_test;
static ul_view *g_vtrain, *g_vtest;

static int setup(void **s) {
    (void)s;
    if (ul_dataset_load("fashion-mnist", "train", &g_train) != UL_OK ||
        ul_dataset_load("fashion-mnist", "test", &g_test) != UL_OK) {
        fprintf(stderr, "cannot load fashion-mnist: %s\n", ul_last_error());
        return -1;
    }
    if (ul_view_all(g_train, &g_vtrain) != UL_OK || ul_view_all(g_test, &g_vtest) != UL_OK) return -1;
    return 0;
}

static int teardown(void **s) {
    (void)s;
    ul_view_free(g_vtrain);
    ul_view_free(g_vtest);
    ul_dataset_free(g_train);
    ul_dataset_free(g_test);
    return 0;
}

static double run(const char *spec, const ul_train_config *c) {
    ul_arch_params ap = {.in_c = 1, .in_h = 28, .in_w = 28, .classes = 10};
    ul_model *m;
    ULT_OK(ul_model_create(spec, &ap, c->seed, &m));
    double t0 = ul_now();
    ULT_OK(ul_train(m, g_vtrain, c));
    double dt = ul_now() - t0;
    ul_eval_result r;
    ULT_OK(ul_evaluate(m, g_vtest, &c->transform, 512, &r));
    double acc = 100.0 * (double)r.correct / (double)r.n;
    printf("%-22s lr %.3g norm %d seed %d: test accuracy %.2f%% (train %.1f s, %.0f samples/s)\n", spec,
           c->optim.lr, c->transform.nchan, (int)c->seed, acc, dt, (double)c->epochs * (double)g_vtrain->n / dt);
    ul_eval_result_free(&r);
    ul_model_free(m);
    return acc;
}

static void test_default_recipe(void **s) {
    (void)s;
    ul_train_config c = ul_train_defaults();
    c.epochs = 2;
    c.transform = ul_transform_default("fashion-mnist");
    double cnn = run("cnn", &c);
    double mlp = run("mlp:784-256-128-10", &c);
    if (!(cnn >= 88.0)) fail_msg("cnn reached %.2f%%, needs >= 88%%", cnn);
    if (!(mlp >= 85.0)) fail_msg("mlp reached %.2f%%, needs >= 85%%", mlp);
}

static void test_pytorch_recipe(void **s) {
    (void)s;
    ul_train_config c = ul_train_defaults();
    c.epochs = 2;
    c.optim = ul_optim_defaults(UL_OPT_SGD);
    c.optim.lr = 0.01;
    c.optim.momentum = 0.9;
    c.sched = UL_SCHED_CONST;
    memset(&c.transform, 0, sizeof c.transform);
    double cnn = 0.0, mlp = 0.0;
    for (int k = 0; k < 3; k++) {
        c.seed = (uint64_t)k;
        cnn += run("cnn", &c) / 3.0;
    }
    for (int k = 0; k < 5; k++) {
        c.seed = (uint64_t)k;
        mlp += run("mlp:784-256-128-10", &c) / 5.0;
    }
    printf("PyTorch recipe, mean over seeds: cnn %.2f%% (PyTorch 84.97%%), mlp %.2f%% (PyTorch 83.01%%)\n", cnn, mlp);
    if (!(fabs(cnn - 84.97) <= 1.0)) fail_msg("cnn with PyTorch's recipe: mean %.2f%%, PyTorch 84.97%%", cnn);
    if (!(fabs(mlp - 83.01) <= 1.0)) fail_msg("mlp with PyTorch's recipe: mean %.2f%%, PyTorch 83.01%%", mlp);
}

int main(void) {
    omp_set_num_threads(2);
    ul_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_recipe),
        cmocka_unit_test(test_pytorch_recipe),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
