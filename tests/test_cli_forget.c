/* `unlearn forget` end to end (the binary comes from env UL_CLI) on a mixed network of small MLPs
 * built from a synthetic IDX dataset:
 *  - a label request as a dry run: the per-model table, the results JSON (receipt, configuration,
 *    git commit), nothing committed;
 *  - a sample request from an id file, and a sweep (table and JSON rows);
 *  - every method by name, usage errors (exit 2) and bad input (exit 3, naming the file/line);
 *  - a committed request: "committed request", `net log` shows it, `net check` passes.
 */
#include "ul_test.h"

#include <sys/stat.h>

#include <cjson/cJSON.h>

#define ARCH "mlp:64-32-10"

static const char *g_cli;
static char g_dir[256];
static char g_data[512];
static char g_net[512];

#include "ult_cli.h"

static int setup(void **state) {
    (void)state;
    g_cli = getenv("UL_CLI");
    if (!g_cli || !*g_cli || access(g_cli, X_OK) != 0) {
        fprintf(stderr, "test_cli_forget: UL_CLI is not set to an executable\n");
        return -1;
    }
    if (snprintf(g_dir, sizeof g_dir, "%s", ult_tmpdir("test_cli_forget")) >= (int)sizeof g_dir ||
        snprintf(g_data, sizeof g_data, "%s/data", g_dir) >= (int)sizeof g_data ||
        snprintf(g_net, sizeof g_net, "%s/mixed", g_dir) >= (int)sizeof g_net)
        return -1;
    mkdir(g_data, 0755);
    ult_write_pattern_idx(ult_path(g_data, "train-images-idx3-ubyte"), ult_path(g_data, "train-labels-idx1-ubyte"), 1200,
                          8, 21);
    ult_write_pattern_idx(ult_path(g_data, "t10k-images-idx3-ubyte"), ult_path(g_data, "t10k-labels-idx1-ubyte"), 300, 8,
                          22);
    run_result r = run("net build '%s' --scenario mixed --data '%s' --arch " ARCH " --threads 2 --seed 1 --quiet", g_net,
                       g_data);
    int ok = r.code == 0;
    if (!ok) fprintf(stderr, "net build failed (%d): %s\n", r.code, r.err);
    run_free(&r);
    return ok ? 0 : -1;
}

static cJSON *read_json(const char *path) {
    char *t = slurp(path, NULL);
    if (!t) fail_msg("%s was not written", path);
    cJSON *j = cJSON_Parse(t);
    free(t);
    if (!j) fail_msg("%s is not JSON", path);
    return j;
}

static void test_dry_run(void **s) {
    (void)s;
    const char *out = ult_path(g_dir, "dry.json");
    run_result r = run("forget '%s' --labels 3 --dry-run --mfim-c 1 --exponent 2 --id-floor 0.5 --local-fisher only -o '%s'",
                       g_net, out);
    EXPECT_CODE(r, 0, "forget --dry-run");
    EXPECT_HAS(r.out, "forget'", "table header");
    EXPECT_HAS(r.out, "dry run: nothing written", "dry-run note");
    run_free(&r);
    cJSON *j = read_json(out);
    assert_string_equal(cJSON_GetObjectItem(j, "method")->valuestring, "fiun");
    const cJSON *par = cJSON_GetObjectItem(j, "parameters");
    assert_true(cJSON_GetObjectItem(par, "exponent")->valuedouble == 2.0);
    assert_true(cJSON_GetObjectItem(par, "id_floor")->valuedouble == 0.5);
    assert_string_equal(cJSON_GetObjectItem(par, "local_fisher")->valuestring, "only");
    assert_non_null(cJSON_GetObjectItem(j, "git_commit"));
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(j, "affected")) >= 2);
    cJSON_Delete(j);
    r = run("net log '%s'", g_net);
    EXPECT_CODE(r, 0, "net log");
    if (strstr(r.out, "Z forget ")) fail_msg("a dry run was logged as a request:\n%s", r.out);
    run_free(&r);
}

static void test_samples_and_sweep(void **s) {
    (void)s;
    const char *ids = ult_path(g_dir, "ids.txt");
    FILE *f = fopen(ids, "w");
    fprintf(f, "# erasure request 17\n0\n5, 9\n");
    for (int i = 20; i < 200; i += 11) fprintf(f, "%d\n", i);
    fclose(f);
    run_result r = run("forget '%s' --samples '%s' --dry-run", g_net, ids);
    EXPECT_CODE(r, 0, "forget --samples");
    EXPECT_HAS(r.out, "yes", "a root in the table");
    run_free(&r);
    const char *out = ult_path(g_dir, "sweep.json");
    r = run("forget '%s' --labels 3 --dry-run --sweep 'alpha=1,2;exponent=1,3;local-fisher=off,merge' -o '%s'", g_net, out);
    EXPECT_CODE(r, 0, "forget --sweep");
    EXPECT_HAS(r.out, "sweep (8 settings", "sweep table");
    run_free(&r);
    cJSON *j = read_json(out);
    const cJSON *sw = cJSON_GetObjectItem(j, "sweep");
    assert_int_equal(cJSON_GetArraySize(sw), 8);
    const cJSON *row = cJSON_GetArrayItem(sw, 7);
    assert_true(cJSON_GetObjectItem(row, "alpha")->valuedouble == 2.0);
    assert_true(cJSON_GetObjectItem(row, "exponent")->valuedouble == 3.0);
    assert_string_equal(cJSON_GetObjectItem(row, "local_fisher")->valuestring, "merge");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(row, "models")),
                     cJSON_GetArraySize(cJSON_GetObjectItem(j, "affected")));
    cJSON_Delete(j);
}

static void test_methods(void **s) {
    (void)s;
    static const char *const methods[] = {"retrain", "sequential", "ssd-local", "finetune", "ga-transfer"};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        run_result r = run("forget '%s' --labels 3 --dry-run --method %s", g_net, methods[i]);
        EXPECT_CODE(r, 0, methods[i]);
        run_free(&r);
    }
}

static void test_errors(void **s) {
    (void)s;
    const char *bad_ids = ult_path(g_dir, "bad-ids.txt");
    FILE *f = fopen(bad_ids, "w");
    fprintf(f, "1\n2\n3x\n");
    fclose(f);
    const char *far_ids = ult_path(g_dir, "far-ids.txt");
    f = fopen(far_ids, "w");
    fprintf(f, "99999\n");
    fclose(f);
    struct {
        const char *args;
        int code;
        const char *needle;
    } cases[] = {
        {"--dry-run", 2, "--labels"},
        {"--labels 3 --samples ids.txt --dry-run", 2, "exactly one"},
        {"--labels 3 --method bogus --dry-run", 2, "bogus"},
        {"--labels 3 --local-fisher sometimes --dry-run", 2, "--local-fisher"},
        {"--labels 3 --exponent 0 --dry-run", 2, "--exponent"},
        {"--labels 3 --id-floor -1 --dry-run", 2, "--id-floor"},
        {"--labels 3 --sweep alpha=1,2", 2, "--dry-run"},
        {"--labels 3 --dry-run --sweep beta=1", 2, "beta"},
        {"--labels 3 --dry-run --sweep alpha=0", 2, "alpha"},
        {"--labels 3 --dry-run --sweep 'alpha=1;alpha=2'", 2, "twice"},
        {"--labels 3-x --dry-run", 2, "--labels"},
        {"--labels 12 --dry-run", 2, "label 12"},
        {"--labels 0-9 --dry-run", 2, "nothing to retain"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        run_result r = run("forget '%s' %s", g_net, cases[i].args);
        EXPECT_CODE(r, cases[i].code, cases[i].args);
        EXPECT_HAS(r.err, cases[i].needle, cases[i].args);
        run_free(&r);
    }
    run_result r = run("forget '%s' --samples '%s' --dry-run", g_net, bad_ids);
    EXPECT_CODE(r, 3, "malformed id file");
    EXPECT_HAS(r.err, "bad-ids.txt:3:1", "malformed id file names file:line:col");
    run_free(&r);
    r = run("forget '%s' --samples '%s' --dry-run", g_net, far_ids);
    EXPECT_CODE(r, 3, "id out of range");
    EXPECT_HAS(r.err, "99999", "id out of range");
    run_free(&r);
    r = run("forget '%s' --samples '%s/none.txt' --dry-run", g_net, g_dir);
    EXPECT_CODE(r, 3, "missing id file");
    EXPECT_HAS(r.err, "none.txt", "missing id file");
    run_free(&r);
    r = run("forget '%s' --labels 3 --dry-run", g_data);
    EXPECT_CODE(r, 3, "not a network");
    run_free(&r);
}

static void test_commit(void **s) {
    (void)s;
    const char *out = ult_path(g_dir, "commit.json");
    run_result r = run("forget '%s' --labels 3 -o '%s'", g_net, out);
    EXPECT_CODE(r, 0, "forget (commit)");
    EXPECT_HAS(r.out, "committed request", "commit line");
    run_free(&r);
    cJSON *j = read_json(out);
    assert_true(cJSON_GetObjectItem(j, "request_id")->valuedouble >= 1);
    cJSON_Delete(j);
    r = run("net log '%s'", g_net);
    EXPECT_CODE(r, 0, "net log");
    EXPECT_HAS(r.out, "forget", "net log lists the request");
    run_free(&r);
    r = run("net check '%s'", g_net);
    EXPECT_CODE(r, 0, "net check after forget");
    run_free(&r);
}

/* `unlearn demo` on the synthetic data: builds its own network, prints the comparison with the
 * speed-up, writes the receipts side by side; a second run reuses the network. */
static void test_demo(void **s) {
    (void)s;
    const char *dir = ult_path(g_dir, "demo-net"), *out = ult_path(g_dir, "demo.json");
    char d[600], o[600];
    snprintf(d, sizeof d, "%s", dir);
    snprintf(o, sizeof o, "%s", out);
    run_result r = run("demo --dir '%s' --data '%s' --max-samples 80 --epochs 1 --no-sequential -q -o '%s'", d, g_data, o);
    EXPECT_CODE(r, 0, "demo");
    EXPECT_HAS(r.out, "FIUn takes", "demo speed-up line");
    EXPECT_HAS(r.out, "mean retained accuracy after", "demo summary");
    run_free(&r);
    cJSON *j = read_json(o);
    assert_non_null(cJSON_GetObjectItem(j, "fiun"));
    assert_non_null(cJSON_GetObjectItem(j, "retrain"));
    assert_null(cJSON_GetObjectItem(j, "sequential"));
    assert_true(cJSON_GetObjectItem(j, "speedup_vs_retrain")->valuedouble > 0);
    cJSON_Delete(j);
    r = run("demo --dir '%s' --data '%s' --max-samples 80 --epochs 1 --no-sequential", d, g_data);
    EXPECT_CODE(r, 0, "demo again");
    EXPECT_HAS(r.err, "already built", "the network is reused");
    run_free(&r);
    r = run("demo --dir '%s' --data '%s' --max-samples 0", d, g_data);
    EXPECT_CODE(r, 2, "demo with a bad option");
    run_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dry_run), cmocka_unit_test(test_samples_and_sweep), cmocka_unit_test(test_methods),
        cmocka_unit_test(test_errors),  cmocka_unit_test(test_commit), cmocka_unit_test(test_demo),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
