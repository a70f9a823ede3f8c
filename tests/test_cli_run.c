/* `unlearn run` end to end (the binary comes from env UL_CLI) on tiny recipes over a synthetic IDX
 * dataset (8x8 pixels, 10 classes) with an MLP:
 *  - a forget recipe (il network, FIUn against retrain) whose expectations hold: exit 0, a PASS
 *    line each, the outputs and run.json (recipe SHA-256, seed, config, commands, outcomes);
 *    the same recipe with an impossible tolerance: exit 7 (drift), FAIL named, run.json written;
 *  - --verify runs the verify block's settings (merged over the recipe) and its expectations;
 *  - a bench-methods recipe (three methods, one seed) passes;
 *  - malformed recipes (not JSON, unknown keys, wrong types, missing fields, bad expectations,
 *    a section of another kind, a verify block changing the kind) exit 3 naming the file and the
 *    field, and write nothing; settings the command refuses exit 3; a bad -o exits 2.
 * The shipped recipes in recipes/ are checked to parse (full and verify) without running them.
 */
#include "ul_test.h"

#include <dirent.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "unlearn/io.h"
#include "unlearn/rng.h"

static const char *g_cli;
static char g_dir[256];
static char g_data[400];

#include "ult_cli.h"

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static int setup(void **state) {
    (void)state;
    g_cli = getenv("UL_CLI");
    if (!g_cli || !*g_cli || access(g_cli, X_OK) != 0) {
        fprintf(stderr, "test_cli_run: UL_CLI is not set to an executable\n");
        return -1;
    }
    if (snprintf(g_dir, sizeof g_dir, "%s", ult_tmpdir("test_cli_run")) >= (int)sizeof g_dir) return -1;
    snprintf(g_data, sizeof g_data, "%s/data", g_dir);
    mkdir(g_data, 0755);
    ult_write_pattern_idx(ult_path(g_data, "train-images-idx3-ubyte"), ult_path(g_data, "train-labels-idx1-ubyte"), 600, 8,
                          41);
    ult_write_pattern_idx(ult_path(g_data, "t10k-images-idx3-ubyte"), ult_path(g_data, "t10k-labels-idx1-ubyte"), 200, 8,
                          42);
    return 0;
}

/* A recipe file g_dir/<name> with the text `fmt` (printf, the data directory as %1$s is not
 * portable: callers pass it). Returns its path (static buffer per call site is not needed: the
 * caller copies). */
static void write_recipe(char *path, size_t cap, const char *name, const char *text) {
    snprintf(path, cap, "%s/%s", g_dir, name);
    ult_write(path, text, strlen(text));
}

/* The tiny forget recipe; `max_gap` bounds |retained after - retrain's| per model. */
static void forget_recipe(char *buf, size_t cap, const char *fiun_forget_max) {
    snprintf(buf, cap,
             "{\n"
             "  \"recipe\": 1, \"name\": \"tiny-il\", \"kind\": \"forget\", \"data\": \"%s\", \"threads\": 2,\n"
             "  \"network\": {\"scenario\": \"il\", \"arch\": \"mlp:64-32-10\", \"epochs\": 2, \"seed\": 1},\n"
             "  \"forget\": {\"labels\": \"3\", \"method\": \"fiun\", \"compare\": [\"retrain\"]},\n"
             "  \"expect\": [\n"
             "    {\"metric\": \"forget_acc_after\", \"model\": \"*\", \"max\": %s, \"source\": \"estimated\"},\n"
             "    {\"metric\": \"retain_acc_after\", \"vs\": \"retrain\", \"model\": \"mean\", \"min\": -100, \"max\": 100,"
             " \"source\": \"estimated\"},\n"
             "    {\"metric\": \"models\", \"value\": 4, \"tol\": 0, \"source\": \"measured\"},\n"
             "    {\"metric\": \"speedup\", \"vs\": \"retrain\", \"min\": 0, \"source\": \"estimated\"}\n"
             "  ],\n"
             "  \"verify\": {\"network\": {\"epochs\": 1}, \"expect\": [{\"metric\": \"models\", \"min\": 1, \"source\": \"measured\"}]}\n"
             "}\n",
             g_data, fiun_forget_max);
}

static cJSON *read_json(const char *path) {
    char *t = slurp(path, NULL);
    if (!t) fail_msg("%s was not written", path);
    cJSON *j = cJSON_Parse(t);
    free(t);
    if (!j) fail_msg("%s is not JSON", path);
    return j;
}

static void no_leftovers(void) {
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp-") || strstr(e->d_name, ".old-")) fail_msg("left behind: %s/%s", g_dir, e->d_name);
    closedir(d);
}

static void test_forget_pass_and_drift(void **s) {
    (void)s;
    char text[4096], path[400], out[400];
    forget_recipe(text, sizeof text, "100");
    write_recipe(path, sizeof path, "tiny.json", text);
    snprintf(out, sizeof out, "%s/run-pass", g_dir);
    run_result r = run("run '%s' -o '%s'", path, out);
    EXPECT_CODE(r, 0, "run of a recipe whose expectations hold");
    EXPECT_HAS(r.out, "PASS  expect[0] forget_acc_after of fiun, model *", "PASS line");
    EXPECT_HAS(r.out, "PASS  expect[3] speedup of fiun vs retrain", "PASS line of a run metric");
    EXPECT_HAS(r.out, "4 of 4 expectations passed", "verdict");
    EXPECT_HAS(r.err, "unlearn net build net --data", "the composed net build command");
    EXPECT_HAS(r.err, "unlearn forget net --labels 3 --method retrain --dry-run", "the compared method first, dry run");
    run_free(&r);
    assert_true(exists(ult_path(out, "net/umig.db")));
    assert_true(exists(ult_path(out, "fiun.json")));
    assert_true(exists(ult_path(out, "retrain.json")));
    cJSON *j = read_json(ult_path(out, "run.json"));
    uint8_t *b = NULL;
    size_t n = 0;
    char hex[65];
    assert_int_equal(ul_read_file(path, 1 << 20, &b, &n), UL_OK);
    ul_sha256_hex(b, n, hex);
    free(b);
    assert_string_equal(cJSON_GetObjectItem(j, "recipe_sha256")->valuestring, hex);
    assert_int_equal(cJSON_GetObjectItem(j, "seed")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(j, "mode")->valuestring, "full");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "passed")));
    const cJSON *cfg = cJSON_GetObjectItem(j, "config");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cfg, "network"), "epochs")->valueint, 2);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "commands")), 3);
    const cJSON *ex = cJSON_GetObjectItem(j, "expectations");
    assert_int_equal(cJSON_GetArraySize(ex), 4);
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(ex, 2), "actual")->valueint, 4);
    cJSON_Delete(j);
    no_leftovers();

    /* the same recipe with an impossible tolerance: the run completes, the check fails */
    forget_recipe(text, sizeof text, "-1");
    write_recipe(path, sizeof path, "tiny-drift.json", text);
    snprintf(out, sizeof out, "%s/run-drift", g_dir);
    r = run("run '%s' -o '%s'", path, out);
    EXPECT_CODE(r, 7, "run of a recipe whose expectation cannot hold");
    EXPECT_HAS(r.out, "FAIL  expect[0] forget_acc_after of fiun, model *: <= -1", "FAIL line");
    EXPECT_HAS(r.out, "3 of 4 expectations passed: DRIFT (exit 7)", "verdict");
    run_free(&r);
    j = read_json(ult_path(out, "run.json"));
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(j, "passed")));
    assert_int_equal(cJSON_GetObjectItem(j, "failed")->valueint, 1);
    assert_false(cJSON_IsTrue(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "expectations"), 0), "pass")));
    cJSON_Delete(j);
    /* re-running onto an earlier run replaces it */
    r = run("run '%s' -o '%s' -q", path, out);
    EXPECT_CODE(r, 7, "second run onto the earlier one");
    run_free(&r);
    no_leftovers();

    /* --verify: the verify block's epochs and expectations */
    forget_recipe(text, sizeof text, "-1");
    write_recipe(path, sizeof path, "tiny-verify.json", text);
    snprintf(out, sizeof out, "%s/run-verify", g_dir);
    r = run("run --verify '%s' -o '%s'", path, out);
    EXPECT_CODE(r, 0, "run --verify (the verify block's expectations hold)");
    EXPECT_HAS(r.err, "--epochs 1", "the verify block's epochs");
    EXPECT_HAS(r.out, "1 of 1 expectations passed", "only the verify block's expectations");
    run_free(&r);
    j = read_json(ult_path(out, "run.json"));
    assert_string_equal(cJSON_GetObjectItem(j, "mode")->valuestring, "verify");
    assert_int_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "network"), "epochs")->valueint, 1);
    cJSON_Delete(j);
}

static void test_bench_recipe(void **s) {
    (void)s;
    char text[4096], path[400], out[400];
    snprintf(text, sizeof text,
             "{\"recipe\": 1, \"name\": \"tiny-bench\", \"kind\": \"bench-methods\", \"data\": \"%s\", \"threads\": 2,\n"
             " \"bench\": {\"arch\": \"mlp:64-32-10\", \"scenario\": \"random:10\", \"methods\": [\"retrain\", \"ft\", \"sfron\"],"
             " \"seeds\": 1, \"epochs\": 3, \"svc_mia\": false, \"set\": {\"*.epochs\": 1, \"sfron.iters\": 20}},\n"
             " \"expect\": [\n"
             "  {\"metric\": \"ta\", \"method\": \"original\", \"min\": 0, \"max\": 100, \"source\": \"estimated\"},\n"
             "  {\"metric\": \"avg_gap\", \"method\": \"*\", \"min\": 0, \"source\": \"estimated\"},\n"
             "  {\"metric\": \"avg_gap\", \"method\": \"retrain\", \"value\": 0, \"tol\": 0, \"source\": \"measured\"}\n"
             " ]}\n",
             g_data);
    write_recipe(path, sizeof path, "bench.json", text);
    snprintf(out, sizeof out, "%s/run-bench", g_dir);
    run_result r = run("run '%s' -o '%s' -q", path, out);
    EXPECT_CODE(r, 0, "bench-methods recipe");
    EXPECT_HAS(r.out, "PASS  expect[1] avg_gap mean of *", "every method");
    EXPECT_HAS(r.out, "3 of 3 expectations passed", "verdict");
    run_free(&r);
    assert_true(exists(ult_path(out, "bench/results.json")));
    cJSON *j = read_json(ult_path(out, "run.json"));
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "seeds")), 1);
    assert_string_equal(cJSON_GetObjectItem(j, "kind")->valuestring, "bench-methods");
    cJSON_Delete(j);
}

/* `run` of the recipe text must exit `code` with `msg` on stderr and write nothing. */
static void expect_bad(const char *name, const char *text, int code, const char *msg) {
    char path[400], out[400];
    write_recipe(path, sizeof path, name, text);
    snprintf(out, sizeof out, "%s/run-bad", g_dir);
    run_result r = run("run '%s' -o '%s'", path, out);
    EXPECT_CODE(r, code, msg);
    char want[1200];
    snprintf(want, sizeof want, "recipe '%s'", path);
    if (code == 3) EXPECT_HAS(r.err, want, "the file is named");
    EXPECT_HAS(r.err, msg, "the message");
    if (exists(out)) fail_msg("%s: the run directory was written", msg);
    run_free(&r);
    no_leftovers();
}

#define HEAD "\"recipe\": 1, \"name\": \"bad\", \"kind\": \"forget\", \"data\": \"nowhere\""
#define NET "\"network\": {\"scenario\": \"il\", \"arch\": \"mlp:64-32-10\"}"
#define FG "\"forget\": {\"labels\": \"3\"}"
#define EX "\"expect\": [{\"metric\": \"models\", \"min\": 1, \"source\": \"measured\"}]"

static void test_bad_recipes(void **s) {
    (void)s;
    expect_bad("notjson.json", "{\"recipe\": 1,", 3, "not JSON (parse error near byte");
    expect_bad("array.json", "[1, 2]", 3, "field '(top level)': is an array, expected an object");
    expect_bad("unknown.json", "{" HEAD ", " NET ", " FG ", " EX ", \"colour\": \"red\"}", 3,
               "field 'colour': unknown key (known here: recipe, name, description, kind, data");
    expect_bad("unknown-net.json",
               "{" HEAD ", \"network\": {\"scenario\": \"il\", \"epoch\": 2}, " FG ", " EX "}", 3,
               "field 'network.epoch': unknown key (known here: scenario, arch, width, depth, epochs");
    expect_bad("type.json", "{" HEAD ", \"network\": {\"scenario\": \"il\", \"epochs\": \"2\"}, " FG ", " EX "}", 3,
               "field 'network.epochs': is a string, expected a number");
    expect_bad("whole.json", "{" HEAD ", \"network\": {\"scenario\": \"il\", \"epochs\": 1.5}, " FG ", " EX "}", 3,
               "field 'network.epochs': 1.5 is not a whole number");
    expect_bad("scenario.json", "{" HEAD ", \"network\": {\"scenario\": \"star\"}, " FG ", " EX "}", 3,
               "field 'network.scenario': 'star' is not one of: mixed, il, tl, fl, ddpl, chain, dag");
    expect_bad("version.json",
               "{\"recipe\": 2, \"name\": \"bad\", \"kind\": \"forget\", \"data\": \"x\", " NET ", " FG ", " EX "}", 3,
               "field 'recipe': 2 is outside 1..1");
    expect_bad("noexpect.json", "{" HEAD ", " NET ", " FG "}", 3, "field 'expect': is missing (required)");
    expect_bad("nokind.json", "{\"recipe\": 1, \"name\": \"bad\", \"data\": \"x\", " NET ", " FG ", " EX "}", 3,
               "field 'kind': is missing (required)");
    expect_bad("nonet.json", "{" HEAD ", " FG ", " EX "}", 3, "field 'network': is missing (required for kind 'forget')");
    expect_bad("othersection.json", "{" HEAD ", " NET ", " FG ", \"bench\": {}, " EX "}", 3,
               "field 'bench': is not used by kind 'forget'");
    expect_bad("labels.json", "{" HEAD ", " NET ", \"forget\": {\"labels\": \"3-\"}, " EX "}", 3,
               "field 'forget.labels': '3-' is not a label set");
    expect_bad("params.json", "{" HEAD ", " NET ", \"forget\": {\"labels\": [3], \"params\": {\"alfa\": 2}}, " EX "}", 3,
               "field 'forget.params.alfa': unknown key (known here: alpha, lambda, exponent");
    expect_bad("metric.json",
               "{" HEAD ", " NET ", " FG ", \"expect\": [{\"metric\": \"accuracy\", \"max\": 1, \"source\": \"measured\"}]}",
               3, "field 'expect[0].metric': 'accuracy' is not a metric");
    expect_bad("tol.json",
               "{" HEAD ", " NET ", " FG ", \"expect\": [{\"metric\": \"models\", \"value\": 4, \"source\": \"measured\"}]}",
               3, "field 'expect[0].tol': is missing: 'value' and 'tol' go together");
    expect_bad("nobound.json", "{" HEAD ", " NET ", " FG ", \"expect\": [{\"metric\": \"models\", \"source\": \"measured\"}]}",
               3, "field 'expect[0]': has no bound");
    expect_bad("source.json",
               "{" HEAD ", " NET ", " FG ", \"expect\": [{\"metric\": \"models\", \"min\": 1, \"source\": \"guessed\"}]}", 3,
               "field 'expect[0].source': 'guessed' is neither \"measured\" nor \"estimated\"");
    expect_bad("run.json",
               "{" HEAD ", " NET ", " FG ", \"expect\": [{\"metric\": \"forget_acc_after\", \"method\": \"sequential\", "
               "\"max\": 1, \"source\": \"measured\"}]}",
               3, "field 'expect[0].method': 'sequential' is not a run of this recipe");
    expect_bad("benchmetric.json",
               "{" HEAD ", " NET ", " FG ", \"expect\": [{\"metric\": \"avg_gap\", \"max\": 1, \"source\": \"measured\"}]}", 3,
               "field 'expect[0].metric': 'avg_gap' is not a metric of kind forget");
    expect_bad("verifykind.json", "{" HEAD ", " NET ", " FG ", " EX ", \"verify\": {\"kind\": \"demo\"}}", 3,
               "field 'verify.kind': cannot be changed by the verify block");
    expect_bad("verifykey.json", "{" HEAD ", " NET ", " FG ", " EX ", \"verify\": {\"network\": {\"epochs\": -1}}}", 3,
               "field 'verify.network.epochs': -1 is outside 0..1000");
    /* settings the command itself refuses are the recipe's fault: 3 */
    char text[2048];
    snprintf(text, sizeof text,
             "{\"recipe\": 1, \"name\": \"refused\", \"kind\": \"forget\", \"data\": \"%s\", \"threads\": 2, "
             "\"network\": {\"scenario\": \"il\", \"arch\": \"mlp:64-32-7\", \"epochs\": 1}, " FG ", " EX "}",
             g_data);
    expect_bad("refused.json", text, 3, "the settings of 'network' were refused by `unlearn net build`");
    /* a bad -o: 2 */
    char path[400], out[400];
    write_recipe(path, sizeof path, "ok.json", "{" HEAD ", " NET ", " FG ", " EX "}");
    snprintf(out, sizeof out, "%s/not-a-run", g_dir);
    mkdir(out, 0755);
    ult_write(ult_path(out, "keep.txt"), "x", 1);
    run_result r = run("run '%s' -o '%s'", path, out);
    EXPECT_CODE(r, 2, "-o holding something else");
    EXPECT_HAS(r.err, "holds no earlier run (no run.json)", "message");
    run_free(&r);
    assert_true(exists(ult_path(out, "keep.txt")));
}

/* Every shipped recipe parses, with and without its verify block (-o into a missing directory
 * stops the run right after the recipe was read). */
static void test_shipped_recipes(void **s) {
    (void)s;
    const char *src = getenv("UL_TEST_SRC");
    assert_non_null(src);
    static const char *const names[] = {"demo", "fiun-il", "fiun-tl", "fiun-fl", "fiun-ddpl", "bench-methods"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        for (int v = 0; v < 2; v++) {
            run_result r = run("run %s '%s/recipes/%s.json' -o '%s/missing/out'", v ? "--verify" : "", src, names[i], g_dir);
            EXPECT_CODE(r, 2, names[i]);
            EXPECT_HAS(r.err, "-o/--output: directory", names[i]);
            run_free(&r);
        }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bad_recipes),
        cmocka_unit_test(test_shipped_recipes),
        cmocka_unit_test(test_forget_pass_and_drift),
        cmocka_unit_test(test_bench_recipe),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
