/* The `unlearn` command end to end, on a tiny synthetic IDX dataset (1x8x8 images, 3 classes,
 * each a bright band at a different height plus noise) written to a temporary directory:
 * train -> eval --json -> info, --help of every command, exit statuses of usage errors (2),
 * bad inputs (3), divergence (5), --quiet, and byte-identical checkpoints for equal seeds and thread counts.
 * The binary comes from env UL_CLI (set by tests/CMakeLists.txt).
 */
#include "ul_test.h"

#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "unlearn/rng.h"

#define N_TRAIN 240
#define N_TEST 120
#define SIDE 8

static const char *g_cli;
static char g_dir[256];
static char g_data[512];  /* dataset directory */
static char g_model[512]; /* a trained checkpoint, made once by ensure_model() */

/* ---- helpers ------------------------------------------------------------------------- */

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void write_idx(const char *images, const char *labels, size_t n, uint64_t seed) {
    ul_rng r;
    ul_rng_seed(&r, seed);
    size_t img = SIDE * SIDE;
    uint8_t *px = malloc(16 + n * img), *lb = malloc(8 + n);
    assert_non_null(px);
    assert_non_null(lb);
    put_be32(px, 0x00000803);
    put_be32(px + 4, (uint32_t)n);
    put_be32(px + 8, SIDE);
    put_be32(px + 12, SIDE);
    put_be32(lb, 0x00000801);
    put_be32(lb + 4, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        int c = (int)((i * 7 + 3) % 3); /* classes interleaved */
        lb[8 + i] = (uint8_t)c;
        uint8_t *p = px + 16 + i * img;
        for (size_t j = 0; j < img; j++) p[j] = (uint8_t)ul_rng_below(&r, 90);
        for (int row = 3 * c; row < 3 * c + 2; row++)
            for (int x = 0; x < SIDE; x++) p[row * SIDE + x] = (uint8_t)(170 + ul_rng_below(&r, 80));
    }
    ult_write(images, px, 16 + n * img);
    ult_write(labels, lb, 8 + n);
    free(px);
    free(lb);
}

#include "ult_cli.h"

static bool file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void ensure_model(void) {
    if (file_exists(g_model)) return;
    run_result r = run("train --data '%s' --arch mlp:64-32-3 --epochs 4 --batch 16 --lr 0.05 --seed 7 "
                       "--threads 2 -o '%s'", g_data, g_model);
    EXPECT_CODE(r, 0, "train");
    EXPECT_HAS(r.out, "wrote", "train stdout");
    EXPECT_HAS(r.err, "epoch 4/4", "train log lines (stderr is not a terminal)");
    run_free(&r);
    assert_true(file_exists(g_model));
}

static int setup(void **state) {
    (void)state;
    g_cli = getenv("UL_CLI");
    if (!g_cli || !*g_cli || access(g_cli, X_OK) != 0) {
        fprintf(stderr, "test_cli: UL_CLI is not set to an executable\n");
        return -1;
    }
    if (snprintf(g_dir, sizeof g_dir, "%s", ult_tmpdir("test_cli")) >= (int)sizeof g_dir ||
        snprintf(g_data, sizeof g_data, "%s/data", g_dir) >= (int)sizeof g_data ||
        snprintf(g_model, sizeof g_model, "%s/model.safetensors", g_dir) >= (int)sizeof g_model) {
        fprintf(stderr, "test_cli: temporary directory path too long\n");
        return -1;
    }
    mkdir(g_data, 0755);
    write_idx(ult_path(g_data, "train-images-idx3-ubyte"), ult_path(g_data, "train-labels-idx1-ubyte"), N_TRAIN, 1);
    write_idx(ult_path(g_data, "t10k-images-idx3-ubyte"), ult_path(g_data, "t10k-labels-idx1-ubyte"), N_TEST, 2);
    return 0;
}

/* ---- tests --------------------------------------------------------------------------- */

static void test_train_eval_info(void **s) {
    (void)s;
    ensure_model();

    run_result r = run("eval -m '%s' --data '%s' --json --threads 2", g_model, g_data);
    EXPECT_CODE(r, 0, "eval --json");
    cJSON *j = cJSON_Parse(r.out);
    if (!j) fail_msg("eval --json printed no valid JSON:\n%s", r.out);
    const cJSON *acc = cJSON_GetObjectItem(j, "accuracy"), *n = cJSON_GetObjectItem(j, "n");
    const cJSON *pc = cJSON_GetObjectItem(j, "per_class"), *mh = cJSON_GetObjectItem(j, "model_hash");
    assert_true(cJSON_IsNumber(acc) && cJSON_IsNumber(n) && cJSON_IsArray(pc) && cJSON_IsString(mh));
    if (!(acc->valuedouble > 0.9)) fail_msg("test accuracy %.3f, expected > 0.9", acc->valuedouble);
    assert_int_equal((int)n->valuedouble, N_TEST);
    assert_int_equal(cJSON_GetArraySize(pc), 3);
    assert_int_equal(strlen(mh->valuestring), 64);
    assert_true(cJSON_IsNumber(cJSON_GetObjectItem(j, "loss")));
    assert_string_equal(cJSON_GetObjectItem(j, "split")->valuestring, "test");
    cJSON_Delete(j);
    run_free(&r);

    /* the readable table */
    r = run("eval -m '%s' --data '%s' --split train", g_model, g_data);
    EXPECT_CODE(r, 0, "eval table");
    EXPECT_HAS(r.out, "accuracy", "eval table");
    EXPECT_HAS(r.out, "label", "eval table");
    run_free(&r);

    /* a label subset */
    r = run("eval -m '%s' --data '%s' --classes 0,2 --json", g_model, g_data);
    EXPECT_CODE(r, 0, "eval --classes");
    j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_int_equal((int)cJSON_GetObjectItem(j, "n")->valuedouble, 80);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "per_class")), 2);
    cJSON_Delete(j);
    run_free(&r);

    r = run("info '%s'", g_model);
    EXPECT_CODE(r, 0, "info");
    EXPECT_HAS(r.out, "fc1.weight", "info");
    EXPECT_HAS(r.out, "fc1.bias", "info");
    EXPECT_HAS(r.out, "fc2.weight", "info");
    EXPECT_HAS(r.out, "mlp:64-32-3", "info");
    EXPECT_HAS(r.out, "2,179", "info parameter count"); /* 64*32+32 + 32*3+3 */
    EXPECT_HAS(r.out, "\"data_hash\"", "info provenance");
    run_free(&r);

    r = run("info --json '%s'", g_model);
    EXPECT_CODE(r, 0, "info --json");
    j = cJSON_Parse(r.out);
    if (!j) fail_msg("info --json printed no valid JSON:\n%s", r.out);
    assert_int_equal((int)cJSON_GetObjectItem(j, "params")->valuedouble, 2179);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "tensors")), 4);
    const cJSON *prov = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "provenance");
    assert_true(cJSON_IsObject(prov));
    assert_int_equal((int)cJSON_GetObjectItem(prov, "seed")->valuedouble, 7);
    assert_int_equal((int)cJSON_GetObjectItem(prov, "threads")->valuedouble, 2);
    assert_int_equal((int)cJSON_GetObjectItem(prov, "n_train")->valuedouble, N_TRAIN);
    assert_string_equal(cJSON_GetObjectItem(prov, "tool")->valuestring, "unlearn");
    cJSON_Delete(j);
    run_free(&r);
}

static void test_train_label_subset(void **s) {
    (void)s;
    const char *out = ult_path(g_dir, "subset.safetensors");
    run_result r = run("train --data '%s' --arch mlp:64-16-3 --epochs 1 --classes 0-1 --threads 2 -q -o '%s'",
                       g_data, out);
    EXPECT_CODE(r, 0, "train --classes 0-1");
    run_free(&r);
    r = run("info --json '%s'", out);
    EXPECT_CODE(r, 0, "info");
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    assert_int_equal((int)cJSON_GetObjectItem(j, "classes")->valuedouble, 3); /* keeps every class */
    const cJSON *prov = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "metadata"), "provenance");
    assert_string_equal(cJSON_GetObjectItem(prov, "classes")->valuestring, "0-1");
    assert_int_equal((int)cJSON_GetObjectItem(prov, "n_train")->valuedouble, N_TRAIN * 2 / 3);
    cJSON_Delete(j);
    run_free(&r);
}

static void check_help(const char *cmd, const char *const *names, int n) {
    run_result r = run("%s --help", cmd);
    EXPECT_CODE(r, 0, cmd);
    EXPECT_HAS(r.out, "usage: unlearn", cmd);
    for (int i = 0; i < n; i++) {
        char opt[64];
        snprintf(opt, sizeof opt, "  --%s", names[i]);
        if (!strstr(r.out, opt)) snprintf(opt, sizeof opt, ", --%s", names[i]); /* after a short alias */
        const char *opts = strstr(r.out, "\noptions:");
        assert_non_null(opts);
        const char *p = strstr(opts, opt);
        if (!p) fail_msg("%s --help does not mention %s:\n%s", cmd, opt, r.out);
        /* the option's entry (up to the next option line) shows a default in brackets */
        const char *end = strstr(p, "\n  -");
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *lb = memchr(p, '[', len), *rb = memchr(p, ']', len);
        if (!lb || !rb || rb < lb) fail_msg("%s --help: %s has no [default]:\n%.*s", cmd, opt, (int)len, p);
    }
    run_free(&r);
}

static void test_help(void **s) {
    (void)s;
    static const char *const train_opts[] = {"data", "arch", "width", "epochs", "batch", "optim", "lr",
                                             "momentum", "nesterov", "wd", "sched", "milestones", "gamma",
                                             "clip", "augment", "normalize", "classes", "seed", "threads",
                                             "output", "quiet"};
    static const char *const eval_opts[] = {"model", "data", "split", "classes", "batch", "threads", "json"};
    static const char *const info_opts[] = {"json"};
    check_help("train", train_opts, (int)(sizeof train_opts / sizeof *train_opts));
    check_help("eval", eval_opts, (int)(sizeof eval_opts / sizeof *eval_opts));
    check_help("info", info_opts, (int)(sizeof info_opts / sizeof *info_opts));

    run_result r = run("--help");
    EXPECT_CODE(r, 0, "--help");
    EXPECT_HAS(r.out, "train", "--help");
    EXPECT_HAS(r.out, "eval", "--help");
    EXPECT_HAS(r.out, "info", "--help");
    EXPECT_HAS(r.out, "exit status", "--help");
    run_free(&r);
    r = run("help train");
    EXPECT_CODE(r, 0, "help train");
    EXPECT_HAS(r.out, "--epochs", "help train");
    run_free(&r);
    r = run("--version");
    EXPECT_CODE(r, 0, "--version");
    EXPECT_HAS(r.out, UL_VERSION_STRING, "--version");
    run_free(&r);
}

static void expect_usage(const char *what, const char *needle, const char *fmt, ...) {
    char args[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    run_result r = run("%s", args);
    EXPECT_CODE(r, 2, what);
    if (needle) EXPECT_HAS(r.err, needle, what);
    run_free(&r);
}

static void test_usage_errors(void **s) {
    (void)s;
    const char *o = ult_path(g_dir, "never.safetensors");
    expect_usage("no command", NULL, "");
    expect_usage("unknown command", "frobnicate", "frobnicate");
    expect_usage("unknown option", "--bogus", "train --data '%s' --bogus -o '%s'", g_data, o);
    expect_usage("unknown short option", "-z", "train --data '%s' -z -o '%s'", g_data, o);
    expect_usage("missing -o", "--output", "train --data '%s' --arch mlp:64-32-3", g_data);
    expect_usage("--epochs abc", "--epochs", "train --data '%s' --epochs abc -o '%s'", g_data, o);
    expect_usage("--epochs -1", "--epochs", "train --data '%s' --epochs -1 -o '%s'", g_data, o);
    expect_usage("--epochs 3x", "--epochs", "train --data '%s' --epochs=3x -o '%s'", g_data, o);
    expect_usage("--epochs without value", "--epochs", "train --data '%s' -o '%s' --epochs", g_data, o);
    expect_usage("--data without value before -o", "--data", "train --data -o '%s'", o);
    expect_usage("--lr nan", "--lr", "train --data '%s' --lr nan -o '%s'", g_data, o);
    expect_usage("--optim bad", "--optim", "train --data '%s' --optim rmsprop -o '%s'", g_data, o);
    expect_usage("--quiet=1", "--quiet", "train --data '%s' --quiet=1 -o '%s'", g_data, o);
    expect_usage("--milestones without multistep", "--milestones", "train --data '%s' --milestones 1 -o '%s'", g_data, o);
    expect_usage("--width with cnn", "--width", "train --data '%s' --width 0.5 -o '%s'", g_data, o);
    expect_usage("output dir missing", "does not exist", "train --data '%s' -o '%s/no/such/dir/m.safetensors'",
                 g_data, g_dir);
    expect_usage("--classes out of range", "--classes", "train --data '%s' --arch mlp:64-32-3 --classes 0-5 -o '%s'",
                 g_data, o);
    expect_usage("arch does not fit the data", "mlp", "train --data '%s' --arch mlp:784-32-3 -o '%s'", g_data, o);
    expect_usage("eval without -m", "--model", "eval --data '%s'", g_data);
    expect_usage("eval --split bad", "--split", "eval -m '%s' --data '%s' --split valid", g_model, g_data);
    expect_usage("info without file", "FILE", "info");
    expect_usage("info two files", "extra", "info a b");
    assert_false(file_exists(o));
}

static void test_bad_input(void **s) {
    (void)s;
    ensure_model();
    const char *o = ult_path(g_dir, "never.safetensors");
    run_result r = run("train --data '%s/does-not-exist' -o '%s'", g_dir, o);
    EXPECT_CODE(r, 3, "nonexistent data dir");
    EXPECT_HAS(r.err, "does-not-exist", "nonexistent data dir");
    run_free(&r);

    /* garbage and truncated model files */
    const char *garbage = ult_path(g_dir, "garbage.safetensors");
    ult_write(garbage, "this is not a safetensors file at all, not even close....", 57);
    r = run("eval -m '%s' --data '%s'", garbage, g_data);
    EXPECT_CODE(r, 3, "eval garbage");
    EXPECT_HAS(r.err, "garbage.safetensors", "eval garbage");
    run_free(&r);

    size_t n;
    char *buf = slurp(g_model, &n);
    assert_non_null(buf);
    assert_true(n > 200);
    const char *trunc = ult_path(g_dir, "truncated.safetensors");
    ult_write(trunc, buf, n - 100);
    free(buf);
    r = run("eval -m '%s' --data '%s'", trunc, g_data);
    EXPECT_CODE(r, 3, "eval truncated");
    EXPECT_HAS(r.err, "truncated.safetensors", "eval truncated");
    run_free(&r);
    r = run("info '%s'", trunc);
    EXPECT_CODE(r, 3, "info truncated");
    EXPECT_HAS(r.err, "truncated.safetensors", "info truncated");
    run_free(&r);
    r = run("eval -m '%s/missing.safetensors' --data '%s'", g_dir, g_data);
    EXPECT_CODE(r, 3, "eval missing model");
    EXPECT_HAS(r.err, "missing.safetensors", "eval missing model");
    run_free(&r);
    r = run("info '%s/missing.safetensors'", g_dir);
    EXPECT_CODE(r, 3, "info missing file");
    run_free(&r);
    assert_false(file_exists(o));
}

static void test_diverges(void **s) {
    (void)s;
    /* lr 100 makes this cnn's loss NaN within a few steps (deterministic for seed and threads) */
    const char *out = ult_path(g_dir, "diverged.safetensors");
    run_result r = run("train --data '%s' --arch cnn --lr 100 --epochs 3 --seed 7 --threads 2 -q -o '%s'", g_data, out);
    EXPECT_CODE(r, 5, "diverging train");
    EXPECT_HAS(r.err, "hint:", "diverging train");
    run_free(&r);
    assert_false(file_exists(out));
}

static void test_quiet(void **s) {
    (void)s;
    const char *out = ult_path(g_dir, "quiet.safetensors");
    run_result r = run("train --data '%s' --arch mlp:64-16-3 --epochs 1 --threads 2 --quiet -o '%s'", g_data, out);
    EXPECT_CODE(r, 0, "train --quiet");
    if (r.err[0]) fail_msg("train --quiet wrote to stderr:\n%s", r.err);
    run_free(&r);
    assert_true(file_exists(out));
}

static bool same_file(const char *a, const char *b) {
    size_t na = 0, nb = 0;
    char *x = slurp(a, &na), *y = slurp(b, &nb);
    bool same = x && y && na == nb && memcmp(x, y, na) == 0;
    free(x);
    free(y);
    return same;
}

static char *model_hash(const char *path) {
    run_result r = run("info --json '%s'", path);
    EXPECT_CODE(r, 0, "info --json");
    cJSON *j = cJSON_Parse(r.out);
    assert_non_null(j);
    char *h = strdup(cJSON_GetObjectItem(j, "model_hash")->valuestring);
    cJSON_Delete(j);
    run_free(&r);
    return h;
}

static void test_reproducible(void **s) {
    (void)s;
    const char *files[4] = {ult_path(g_dir, "rep1.safetensors"), ult_path(g_dir, "rep2.safetensors"),
                            ult_path(g_dir, "rep3.safetensors"), ult_path(g_dir, "rep4.safetensors")};
    static const char *const args =
        "--arch mlp:64-32-3 --epochs 2 --batch 32 --augment --seed %d --threads %d -q -o '%s'";
    char fmt[512];
    snprintf(fmt, sizeof fmt, "train --data '%%s' %s", args);
    for (int i = 0; i < 4; i++) {
        /* 0, 1: same seed and threads; 2: other seed; 3: same seed, one thread */
        run_result r = run(fmt, g_data, i == 2 ? 8 : 7, i == 3 ? 1 : 2, files[i]);
        EXPECT_CODE(r, 0, "train");
        run_free(&r);
    }
    if (!same_file(files[0], files[1])) fail_msg("same seed and threads gave different files");
    assert_false(same_file(files[0], files[2]));
    char *h0 = model_hash(files[0]), *h2 = model_hash(files[2]), *h3 = model_hash(files[3]);
    assert_string_equal(h0, h3); /* work is chunked by batch, not by thread: same parameters */
    assert_string_not_equal(h0, h2);
    free(h0);
    free(h2);
    free(h3);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_train_eval_info),
        cmocka_unit_test(test_train_label_subset),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_diverges),
        cmocka_unit_test(test_quiet),
        cmocka_unit_test(test_reproducible),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
