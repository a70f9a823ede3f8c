/* Cross-check against PyTorch (label "torch"): tests/torch_crosscheck.py writes, for an MLP, the
 * CNN and a width-0.125 ResNet-18 with BatchNorm in a non-trivial state, a PyTorch state_dict as
 * safetensors (no unlearn metadata) plus float64 reference logits, loss, gradients and updated BN
 * running statistics. Here we load that file with the architecture supplied (ul_ckpt_load) and
 * compare:
 *   - eval-mode logits                         |ours - ref| <= 1e-4 + 1e-4 |ref|
 *   - train-mode logits and mean cross-entropy  same tolerance
 *   - every parameter gradient, by name         |ours - ref| <= 1e-4 + 1e-3 max|ref of tensor|
 *   - BN running_mean/var after the train-mode forward (momentum 0.1, unbiased variance) with the
 *     logits tolerance, num_batches_tracked exactly.
 * Needs /usr/bin/python3 with torch and numpy (env UL_PYTHON overrides the interpreter). When
 * they are missing the test FAILS with a hint: CI installs python3-torch, so a skip would hide a
 * broken setup.
 */
#include "ul_test.h"
#include "unlearn/io.h"
#include "unlearn/nn.h"

#include <sys/wait.h>

#define BATCH 4

typedef struct xcase {
    const char *name; /* subdirectory written by torch_crosscheck.py */
    const char *spec;
    int c, h, w, classes;
} xcase;

static const xcase k_cases[] = {
    {"mlp", "mlp:784-64-10", 1, 28, 28, 10},
    {"cnn", "cnn", 1, 28, 28, 10},
    {"resnet18", "resnet18@w=0.125", 3, 16, 16, 5},
};

/* ------------------------------------------------------------------ the PyTorch reference */

static int g_ref_state; /* 0 = not generated yet, 1 = ok, -1 = failed (g_ref_err says why) */
static char g_ref_err[4096];
static char g_ref_dir[600];

static void read_tail(const char *path, char *buf, size_t cap) {
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    if (fseek(f, 0, SEEK_END) == 0) {
        long len = ftell(f);
        long start = len > (long)cap - 1 ? len - ((long)cap - 1) : 0;
        if (fseek(f, start, SEEK_SET) == 0) {
            size_t got = fread(buf, 1, cap - 1, f);
            buf[got] = '\0';
        }
    }
    fclose(f);
}

/* Run torch_crosscheck.py once per process; every case test fails with the same message if it
 * could not run. */
static void ensure_reference(void) {
    if (g_ref_state == 0) {
        g_ref_state = -1;
        const char *py = getenv("UL_PYTHON");
        if (!py || !*py) py = "/usr/bin/python3";
        const char *src = getenv("UL_TEST_SRC");
        if (!src || !*src) src = ".";
        char script[700];
        snprintf(script, sizeof script, "%s/tests/torch_crosscheck.py", src);
        snprintf(g_ref_dir, sizeof g_ref_dir, "%s", ult_tmpdir("torch_crosscheck"));
        if (access(py, X_OK) != 0) {
            snprintf(g_ref_err, sizeof g_ref_err,
                     "%s not found or not executable: the PyTorch cross-check needs python3 with torch "
                     "and numpy (apt-get install python3-torch python3-numpy, or `make deps`)", py);
        } else if (access(script, R_OK) != 0) {
            snprintf(g_ref_err, sizeof g_ref_err,
                     "%s not found: set UL_TEST_SRC to the source tree (CTest does this)", script);
        } else if (strchr(py, '\'') || strchr(script, '\'') || strchr(g_ref_dir, '\'')) {
            snprintf(g_ref_err, sizeof g_ref_err, "paths with a single quote are not supported");
        } else {
            char cmd[2400], log[700], tail[1200];
            snprintf(log, sizeof log, "%s/python.log", g_ref_dir);
            snprintf(cmd, sizeof cmd, "'%s' '%s' '%s' > '%s' 2>&1", py, script, g_ref_dir, log);
            int rc = system(cmd);
            read_tail(log, tail, sizeof tail);
            if (rc == -1 || !WIFEXITED(rc)) {
                snprintf(g_ref_err, sizeof g_ref_err, "could not run `%s` (status %d)", cmd, rc);
            } else if (WEXITSTATUS(rc) == 2) {
                snprintf(g_ref_err, sizeof g_ref_err,
                         "%s cannot import torch/numpy: install python3-torch python3-numpy (or `make "
                         "deps`); the PyTorch cross-check does not skip.\n%s", py, tail);
            } else if (WEXITSTATUS(rc) != 0) {
                snprintf(g_ref_err, sizeof g_ref_err, "`%s` exited with %d:\n%s", cmd, WEXITSTATUS(rc), tail);
            } else {
                g_ref_state = 1;
                print_message("PyTorch reference in %s:\n%s", g_ref_dir, tail);
            }
        }
    }
    if (g_ref_state != 1) fail_msg("%s", g_ref_err);
}

/* ------------------------------------------------------------------ helpers */

/* Exactly `bytes` bytes of dir/file into a malloc'd buffer. */
static void *read_exact(const char *dir, const char *file, size_t bytes) {
    char path[800];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("cannot open %s", path);
    void *buf = malloc(bytes ? bytes : 1);
    assert_non_null(buf);
    size_t got = fread(buf, 1, bytes, f);
    int extra = fgetc(f);
    fclose(f);
    if (got != bytes || extra != EOF) {
        free(buf);
        fail_msg("%s: expected exactly %zu bytes", path, bytes);
    }
    return buf;
}

/* Append a line to the failure report (bounded). */
static void report(char *err, size_t cap, const char *fmt, ...) UL_PRINTF(3, 4);
static void report(char *err, size_t cap, const char *fmt, ...) {
    size_t len = strlen(err);
    if (len + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + len, cap - len, fmt, ap);
    va_end(ap);
}

/* Compare n floats; tolerance atol + rtol * scale, scale = |ref| (per element) or, when
 * scale_max, max|ref| over the array. Reports the worst element. Returns true when all pass. */
static bool compare(const char *what, const float *ours, const float *ref, size_t n, double atol, double rtol,
                    bool scale_max, char *err, size_t cap) {
    double maxref = 0.0;
    for (size_t i = 0; i < n; i++) maxref = fmax(maxref, fabs((double)ref[i]));
    size_t bad = 0, worst = 0;
    double worst_ratio = -1.0;
    for (size_t i = 0; i < n; i++) {
        double a = ours[i], b = ref[i];
        double tol = atol + rtol * (scale_max ? maxref : fabs(b));
        double d = fabs(a - b);
        if (!(d <= tol)) bad++;
        double ratio = isfinite(d) ? d / tol : INFINITY;
        if (ratio > worst_ratio) {
            worst_ratio = ratio;
            worst = i;
        }
    }
    if (bad) {
        report(err, cap, "%s: %zu of %zu values differ; worst [%zu] ours %.9g, PyTorch %.9g (max|ref| %.3g)\n",
               what, bad, n, worst, (double)ours[worst], (double)ref[worst], maxref);
        return false;
    }
    return true;
}

/* A tensor of a reference file as floats (F32) into out[numel]. */
static bool st_floats(const ul_st_tensor *t, size_t numel, float *out) {
    if (t->dtype != UL_DT_F32 || t->end - t->begin != numel * sizeof(float)) return false;
    memcpy(out, t->data, numel * sizeof(float));
    return true;
}

/* ------------------------------------------------------------------ one case */

static void check_case(const xcase *c) {
    ensure_reference();
    char dir[700], path[800];
    snprintf(dir, sizeof dir, "%s/%s", g_ref_dir, c->name);
    const size_t in_n = (size_t)BATCH * (size_t)c->c * (size_t)c->h * (size_t)c->w;
    const size_t out_n = (size_t)BATCH * (size_t)c->classes;

    ul_arch_params ap = {.in_c = c->c, .in_h = c->h, .in_w = c->w, .classes = c->classes, .width = 0.0f};
    ul_model *m = NULL;
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    ULT_OK(ul_ckpt_load(path, c->spec, &ap, &m, NULL));

    float *x = read_exact(dir, "input.bin", in_n * sizeof(float));
    int32_t *y = read_exact(dir, "labels.bin", BATCH * sizeof(int32_t));
    float *ref_eval = read_exact(dir, "logits_eval.bin", out_n * sizeof(float));
    float *ref_train = read_exact(dir, "logits_train.bin", out_n * sizeof(float));
    double *ref_loss = read_exact(dir, "loss.bin", sizeof(double));
    float *logits = calloc(out_n, sizeof(float));
    float *dlogits = calloc(out_n, sizeof(float));
    assert_non_null(logits);
    assert_non_null(dlogits);
    char err[4096] = "";

    /* eval mode: running statistics */
    ULT_OK(ul_model_forward(m, x, BATCH, false, logits));
    compare("eval logits", logits, ref_eval, out_n, 1e-4, 1e-4, false, err, sizeof err);

    /* train mode: batch statistics, loss, gradients, updated running statistics */
    ul_model_zero_grad(m);
    ULT_OK(ul_model_forward(m, x, BATCH, true, logits));
    compare("train logits", logits, ref_train, out_n, 1e-4, 1e-4, false, err, sizeof err);
    double loss = ul_softmax_xent(logits, y, NULL, BATCH, c->classes, NULL, dlogits);
    if (!(fabs(loss - *ref_loss) <= 1e-4 + 1e-4 * fabs(*ref_loss)))
        report(err, sizeof err, "loss: ours %.9g, PyTorch %.9g\n", loss, *ref_loss);
    ULT_OK(ul_model_backward(m, dlogits));

    ul_st_file *gf = NULL, *sf = NULL;
    snprintf(path, sizeof path, "%s/grads.safetensors", dir);
    ULT_OK(ul_st_read(path, &gf));
    const float *params = ul_model_params_const(m);
    const float *grads = ul_model_grads(m);
    int nparam = 0, nbuf = 0;
    double gsum = 0.0;
    for (int i = 0; i < ul_model_num_tensors(m); i++) {
        const ul_tensor_info *ti = ul_model_tensor(m, i);
        if (ti->kind == UL_TENSOR_PARAM) nparam++;
        else nbuf++;
    }
    if (ul_st_count(gf) != nparam)
        report(err, sizeof err, "grads.safetensors has %d tensors, the model %d trainable ones\n", ul_st_count(gf),
               nparam);
    for (int i = 0; i < ul_model_num_tensors(m); i++) {
        const ul_tensor_info *ti = ul_model_tensor(m, i);
        if (ti->kind != UL_TENSOR_PARAM) continue;
        const ul_st_tensor *t = ul_st_find(gf, ti->name);
        float *ref = malloc(ti->numel * sizeof(float));
        assert_non_null(ref);
        if (!t || !st_floats(t, ti->numel, ref)) {
            report(err, sizeof err, "gradient of %s: missing from the reference or wrong size\n", ti->name);
        } else {
            char what[160];
            snprintf(what, sizeof what, "gradient of %s", ti->name);
            compare(what, grads + ti->offset, ref, ti->numel, 1e-4, 1e-3, true, err, sizeof err);
            for (size_t k = 0; k < ti->numel; k++) gsum += fabs((double)grads[ti->offset + k]);
        }
        free(ref);
    }
    if (!(gsum > 1e-3)) report(err, sizeof err, "the gradient is (nearly) zero: sum |g| = %g\n", gsum);

    if (nbuf > 0) {
        snprintf(path, sizeof path, "%s/state_after.safetensors", dir);
        ULT_OK(ul_st_read(path, &sf));
        if (ul_st_count(sf) != nbuf)
            report(err, sizeof err, "state_after.safetensors has %d tensors, the model %d buffers\n",
                   ul_st_count(sf), nbuf);
        for (int i = 0; i < ul_model_num_tensors(m); i++) {
            const ul_tensor_info *ti = ul_model_tensor(m, i);
            if (ti->kind == UL_TENSOR_PARAM) continue;
            const ul_st_tensor *t = ul_st_find(sf, ti->name);
            if (!t) {
                report(err, sizeof err, "%s: missing from the reference\n", ti->name);
            } else if (ti->kind == UL_TENSOR_COUNTER) {
                int64_t want = 0;
                if (t->dtype != UL_DT_I64 || t->end - t->begin != sizeof want || ti->numel != 1) {
                    report(err, sizeof err, "%s: reference is not one I64\n", ti->name);
                } else {
                    memcpy(&want, t->data, sizeof want);
                    if ((double)params[ti->offset] != (double)want)
                        report(err, sizeof err, "%s: ours %.9g, PyTorch %lld\n", ti->name,
                               (double)params[ti->offset], (long long)want);
                }
            } else {
                float *ref = malloc(ti->numel * sizeof(float));
                assert_non_null(ref);
                if (!st_floats(t, ti->numel, ref))
                    report(err, sizeof err, "%s: reference has the wrong dtype or size\n", ti->name);
                else
                    compare(ti->name, params + ti->offset, ref, ti->numel, 1e-4, 1e-4, false, err, sizeof err);
                free(ref);
            }
        }
    }

    print_message("%-9s %-18s loss ours %.7f PyTorch %.7f, %d gradients, %d buffers compared\n", c->name,
                  c->spec, loss, *ref_loss, nparam, nbuf);
    ul_st_free(sf);
    ul_st_free(gf);
    free(dlogits);
    free(logits);
    free(ref_loss);
    free(ref_train);
    free(ref_eval);
    free(y);
    free(x);
    ul_model_free(m);
    if (err[0]) fail_msg("%s (%s) disagrees with PyTorch:\n%s", c->name, c->spec, err);
}

static void test_mlp(void **state) {
    (void)state;
    check_case(&k_cases[0]);
}

static void test_cnn(void **state) {
    (void)state;
    check_case(&k_cases[1]);
}

static void test_resnet18(void **state) {
    (void)state;
    check_case(&k_cases[2]);
}

int main(void) {
    ul_set_threads(2);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mlp),
        cmocka_unit_test(test_cnn),
        cmocka_unit_test(test_resnet18),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
