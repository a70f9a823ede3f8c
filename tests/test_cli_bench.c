/* `unlearn bench methods` end to end (the binary comes from env UL_CLI) on a synthetic IDX
 * dataset (8x8 pixels, 600 training and 200 test samples) with an MLP and reduced epochs and
 * iterations (--epochs 3, --set '*.epochs=1', --set sfron.iters=20):
 *  - the outputs exist and parse: results.json (config, git commit, seeds, hashes, every metric
 *    per method and seed, summary), results.csv (a row per method and seed plus mean/std rows),
 *    results.md and the stdout table (a row for every method);
 *  - the cache: a second run reuses the original and the oracle ("cached": true, the recorded
 *    training time, identical metrics); a tampered checkpoint is detected and trained again;
 *  - determinism: a run with a fresh cache gives identical metrics and model hashes;
 *  - class-wise and id-file scenarios, --set overrides recorded in the JSON;
 *  - usage errors (exit 2) and bad input (exit 3) naming the option or file, with nothing
 *    written; a diverging method (exit 5) leaves no result files.
 */
#include "ul_test.h"

#include <sys/stat.h>

#include <cjson/cJSON.h>

#define ARCH "mlp:64-32-10"

static const char *g_cli;
static char g_dir[256];
static char g_data[512];
static char g_fast[1024];

#include "ult_cli.h"

static int setup(void **state) {
    (void)state;
    g_cli = getenv("UL_CLI");
    if (!g_cli || !*g_cli || access(g_cli, X_OK) != 0) {
        fprintf(stderr, "test_cli_bench: UL_CLI is not set to an executable\n");
        return -1;
    }
    if (snprintf(g_dir, sizeof g_dir, "%s", ult_tmpdir("test_cli_bench")) >= (int)sizeof g_dir ||
        snprintf(g_data, sizeof g_data, "%s/data", g_dir) >= (int)sizeof g_data)
        return -1;
    mkdir(g_data, 0755);
    ult_write_pattern_idx(ult_path(g_data, "train-images-idx3-ubyte"), ult_path(g_data, "train-labels-idx1-ubyte"), 600,
                          8, 31);
    ult_write_pattern_idx(ult_path(g_data, "t10k-images-idx3-ubyte"), ult_path(g_data, "t10k-labels-idx1-ubyte"), 200, 8,
                          32);
    snprintf(g_fast, sizeof g_fast,
             "bench methods --data '%s' --arch " ARCH " --epochs 3 --seeds 2 --set '*.epochs=1' --set sfron.iters=20 "
             "--threads 2",
             g_data);
    return 0;
}

static cJSON *read_json(const char *path) {
    char *t = slurp(path, NULL);
    if (!t) fail_msg("%s was not written", path);
    cJSON *j = cJSON_Parse(t);
    free(t);
    if (!j) fail_msg("%s is not JSON", path);
    return j;
}

static const cJSON *get(const cJSON *o, const char *k) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (!v) fail_msg("JSON lacks '%s'", k);
    return v;
}

static const char *const METHODS[10] = {"retrain", "ft", "ga", "rl", "salun", "l1sparse", "badteacher", "scrub", "ssd", "sfron"};
static const char *const METRICS[] = {"fa", "ua", "ra", "ta", "mia_entropy_lr", "mia_svc_confidence", "kl", "js", "avg_gap"};

/* Every metric of every method and seed of two results documents must be equal. */
static void same_metrics(const cJSON *a, const cJSON *b) {
    const cJSON *ra = get(a, "runs"), *rb = get(b, "runs");
    assert_int_equal(cJSON_GetArraySize(ra), cJSON_GetArraySize(rb));
    for (int s = 0; s < cJSON_GetArraySize(ra); s++) {
        const cJSON *ma = get(cJSON_GetArrayItem(ra, s), "methods"), *mb = get(cJSON_GetArrayItem(rb, s), "methods");
        for (int i = 0; i < 10; i++) {
            const cJSON *x = get(ma, METHODS[i]), *y = get(mb, METHODS[i]);
            for (size_t k = 0; k < sizeof METRICS / sizeof *METRICS; k++) {
                const cJSON *u = get(x, METRICS[k]), *v = get(y, METRICS[k]);
                if (!(cJSON_IsNumber(u) && cJSON_IsNumber(v) && u->valuedouble == v->valuedouble))
                    fail_msg("seed %d %s %s differs: %g vs %g", s, METHODS[i], METRICS[k], u->valuedouble, v->valuedouble);
            }
            assert_string_equal(get(x, "model_hash")->valuestring, get(y, "model_hash")->valuestring);
        }
    }
}

static int count_lines(const char *t) {
    int n = 0;
    for (; *t; t++) n += *t == '\n';
    return n;
}

static void test_outputs_and_cache(void **s) {
    (void)s;
    char out[300], out2[300];
    snprintf(out, sizeof out, "%s/run1", g_dir);
    snprintf(out2, sizeof out2, "%s/run2", g_dir);
    double t0 = ul_now();
    run_result r = run("%s -o '%s'", g_fast, out);
    const double first = ul_now() - t0;
    EXPECT_CODE(r, 0, "bench methods");
    for (int i = 0; i < 10; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "\n%s ", METHODS[i]);
        EXPECT_HAS(r.out, needle, "a table row per method");
    }
    EXPECT_HAS(r.out, "Avg. Gap", "table header");
    EXPECT_HAS(r.out, "(original)", "the original's row");
    EXPECT_HAS(r.err, "seed 1 sfron", "progress lines when stderr is not a terminal");
    EXPECT_HAS(r.err, "trained", "the first run trains");
    run_free(&r);

    cJSON *j = read_json(ult_path(out, "results.json"));
    assert_string_equal(get(j, "tool")->valuestring, "unlearn");
    assert_true(cJSON_IsString(get(j, "git_commit")));
    assert_true(cJSON_IsString(get(j, "version")));
    const cJSON *cfg = get(j, "config");
    assert_int_equal(strlen(get(cfg, "data_hash")->valuestring), 64);
    assert_int_equal(strlen(get(cfg, "split_hash")->valuestring), 64);
    assert_string_equal(get(cfg, "arch")->valuestring, ARCH);
    assert_int_equal(get(cfg, "n_forget")->valueint, 60);
    assert_int_equal(get(cfg, "n_retain")->valueint, 540);
    assert_string_equal(get(get(cfg, "scenario"), "kind")->valuestring, "random");
    assert_int_equal(cJSON_GetArraySize(get(cfg, "seeds")), 2);
    assert_int_equal(get(get(cfg, "recipe"), "epochs")->valueint, 3);
    const cJSON *ms = get(cfg, "methods");
    assert_int_equal(cJSON_GetArraySize(ms), 10);
    const cJSON *sf = cJSON_GetArrayItem(ms, 9);
    assert_string_equal(get(sf, "name")->valuestring, "sfron");
    assert_int_equal(get(get(sf, "params"), "iters")->valueint, 20);
    assert_true(get(get(sf, "params"), "forget_alpha")->valuedouble == 25.0);
    const cJSON *runs = get(j, "runs");
    assert_int_equal(cJSON_GetArraySize(runs), 2);
    for (int sd = 0; sd < 2; sd++) {
        const cJSON *run = cJSON_GetArrayItem(runs, sd);
        assert_int_equal(get(run, "seed")->valueint, sd);
        assert_false(cJSON_IsTrue(get(get(run, "original"), "cached")));
        const cJSON *m = get(run, "methods");
        for (int i = 0; i < 10; i++) {
            const cJSON *row = get(m, METHODS[i]);
            for (size_t k = 0; k < sizeof METRICS / sizeof *METRICS; k++)
                if (!cJSON_IsNumber(get(row, METRICS[k]))) fail_msg("%s %s is not a number", METHODS[i], METRICS[k]);
            assert_true(cJSON_IsNull(get(row, "ta_remain")));
            assert_int_equal(strlen(get(row, "model_hash")->valuestring), 64);
        }
        assert_true(get(get(m, "retrain"), "avg_gap")->valuedouble == 0.0);
        assert_true(get(get(m, "retrain"), "kl")->valuedouble == 0.0);
        assert_int_equal(get(get(m, "sfron"), "steps")->valueint, 24);
        assert_int_equal(get(get(m, "sfron"), "forget_steps")->valueint, 4);
        assert_false(cJSON_IsTrue(get(get(m, "retrain"), "cached")));
    }
    const cJSON *sum = get(j, "summary");
    assert_int_equal(cJSON_GetArraySize(sum), 10);
    const cJSON *s9 = cJSON_GetArrayItem(sum, 9);
    assert_string_equal(get(s9, "method")->valuestring, "sfron");
    const cJSON *gap = get(s9, "avg_gap");
    const double g0 = get(get(get(cJSON_GetArrayItem(runs, 0), "methods"), "sfron"), "avg_gap")->valuedouble;
    const double g1 = get(get(get(cJSON_GetArrayItem(runs, 1), "methods"), "sfron"), "avg_gap")->valuedouble;
    ULT_CLOSE(get(gap, "mean")->valuedouble, (g0 + g1) / 2.0, 1e-12, 0);
    ULT_CLOSE(get(gap, "std")->valuedouble, fabs(g0 - g1) / sqrt(2.0), 1e-12, 1e-12);
    assert_true(cJSON_IsNumber(get(s9, "time_ratio_to_retrain")));

    size_t len;
    char *csv = slurp(ult_path(out, "results.csv"), &len);
    assert_non_null(csv);
    assert_int_equal(count_lines(csv), 1 + 11 * (2 + 2));
    EXPECT_HAS(csv, "method,seed,cached,fa,ua,ra,ta,", "CSV header");
    EXPECT_HAS(csv, "\nsfron,1,", "CSV row");
    EXPECT_HAS(csv, "\nsfron,mean,", "CSV mean row");
    free(csv);
    char *md = slurp(ult_path(out, "results.md"), NULL);
    assert_non_null(md);
    EXPECT_HAS(md, "| Method | FA | RA | TA | MIA | Avg. Gap | KL | Time (s) |", "Markdown table");
    for (int i = 0; i < 10; i++) {
        char needle[32];
        snprintf(needle, sizeof needle, "| %s |", METHODS[i]);
        EXPECT_HAS(md, needle, "a Markdown row per method");
    }
    EXPECT_HAS(md, " ± ", "mean ± std");
    free(md);

    /* second run: everything from the cache, nothing trained, identical metrics */
    t0 = ul_now();
    r = run("%s -o '%s'", g_fast, out);
    const double second = ul_now() - t0;
    EXPECT_CODE(r, 0, "bench methods, cached");
    EXPECT_HAS(r.err, "reused", "cache reuse reported");
    if (strstr(r.err, ": trained in")) fail_msg("the second run trained a model:\n%s", r.err);
    run_free(&r);
    cJSON *j2 = read_json(ult_path(out, "results.json"));
    for (int sd = 0; sd < 2; sd++) {
        const cJSON *a = cJSON_GetArrayItem(get(j, "runs"), sd), *b = cJSON_GetArrayItem(get(j2, "runs"), sd);
        assert_true(cJSON_IsTrue(get(get(b, "original"), "cached")));
        const cJSON *ra = get(get(a, "methods"), "retrain"), *rb = get(get(b, "methods"), "retrain");
        assert_true(cJSON_IsTrue(get(rb, "cached")));
        assert_true(get(ra, "seconds")->valuedouble == get(rb, "seconds")->valuedouble); /* the recorded time */
    }
    same_metrics(j, j2);
    (void)first;
    (void)second;
    cJSON_Delete(j2);

    /* a fresh cache: trained again, bit for bit the same */
    r = run("%s -q -o '%s'", g_fast, out2);
    EXPECT_CODE(r, 0, "bench methods, fresh cache");
    if (r.err[0]) fail_msg("-q printed on stderr:\n%s", r.err);
    run_free(&r);
    j2 = read_json(ult_path(out2, "results.json"));
    same_metrics(j, j2);
    cJSON_Delete(j2);

    /* a tampered cache entry is detected and trained again; the results do not change */
    char ck[700];
    snprintf(ck, sizeof ck, "%s", get(get(cJSON_GetArrayItem(get(j, "runs"), 0), "original"), "checkpoint")->valuestring);
    size_t n = 0;
    char *bytes = slurp(ck, &n);
    assert_non_null(bytes);
    bytes[n - 1] ^= 0x40;
    ult_write(ck, bytes, n);
    free(bytes);
    r = run("%s -o '%s'", g_fast, out);
    EXPECT_CODE(r, 0, "bench methods, tampered cache");
    EXPECT_HAS(r.err, "fails verification", "tampering detected");
    EXPECT_HAS(r.err, "seed 0 original: trained", "retrained");
    run_free(&r);
    j2 = read_json(ult_path(out, "results.json"));
    same_metrics(j, j2);
    cJSON_Delete(j2);
    cJSON_Delete(j);
}

static void test_scenarios(void **s) {
    (void)s;
    char cache[300], out[300], idsdir[300];
    snprintf(cache, sizeof cache, "%s/cache-sc", g_dir);
    snprintf(out, sizeof out, "%s/class", g_dir);
    snprintf(idsdir, sizeof idsdir, "%s/ids", g_dir);
    run_result r = run("bench methods --data '%s' --arch " ARCH " --epochs 2 --seeds 1 --scenario class:3 --methods "
                       "sfron,ssd,salun --set sfron.iters=10 --set salun.epochs=1 --set ssd.alpha=2 --no-svc-mia "
                       "--cache '%s' -q --json -o '%s'",
                       g_data, cache, out);
    EXPECT_CODE(r, 0, "class:3");
    cJSON *j = cJSON_Parse(r.out); /* --json: the document on stdout */
    if (!j) fail_msg("--json output is not JSON:\n%s", r.out);
    run_free(&r);
    const cJSON *cfg = get(j, "config");
    assert_int_equal(get(cfg, "n_forget")->valueint, 60);
    assert_int_equal(cJSON_GetArrayItem(get(get(cfg, "scenario"), "forget_classes"), 0)->valueint, 3);
    assert_int_equal(cJSON_GetArraySize(get(cfg, "methods")), 4); /* retrain first */
    assert_string_equal(get(cJSON_GetArrayItem(get(cfg, "methods"), 0), "name")->valuestring, "retrain");
    assert_true(get(get(cJSON_GetArrayItem(get(cfg, "methods"), 2), "params"), "alpha")->valuedouble == 2.0);
    assert_string_equal(get(cfg, "overrides")->valuestring, "sfron.iters=10 salun.epochs=1 ssd.alpha=2");
    const cJSON *m = get(cJSON_GetArrayItem(get(j, "runs"), 0), "methods");
    assert_true(cJSON_IsNumber(get(get(m, "sfron"), "ta_remain")));
    assert_true(cJSON_IsNull(get(get(m, "sfron"), "mia_svc_confidence")));
    assert_null(cJSON_GetObjectItem(m, "ft"));
    cJSON_Delete(j);

    /* --forget-class is the same scenario: same split hash, and the oracle comes from the cache */
    r = run("bench methods --data '%s' --arch " ARCH " --epochs 2 --seeds 1 --forget-class 3 --methods ga "
            "--set ga.epochs=1 --no-svc-mia --cache '%s' -o '%s'",
            g_data, cache, out);
    EXPECT_CODE(r, 0, "--forget-class 3");
    EXPECT_HAS(r.err, "seed 0 retrain: reused", "oracle reused across spellings");
    run_free(&r);

    /* a sweep: one row per setting, labelled, the first dimension varying slowest */
    r = run("bench methods --data '%s' --arch " ARCH " --epochs 2 --seeds 1 --methods sfron,ga --sweep "
            "sfron.forget_alpha=5,25 --sweep=sfron.iters=10,20 --set sfron.forget_freq=2 --set ga.epochs=1 --no-svc-mia "
            "--cache '%s' -q --json -o '%s'",
            g_data, cache, out);
    EXPECT_CODE(r, 0, "--sweep");
    EXPECT_HAS(r.out, "\"sfron forget_alpha=25 iters=10\"", "sweep labels");
    j = cJSON_Parse(r.out);
    run_free(&r);
    assert_non_null(j);
    const cJSON *ms = get(get(j, "config"), "methods");
    assert_int_equal(cJSON_GetArraySize(ms), 1 + 4 + 1);
    static const char *const labels[6] = {"retrain", "sfron forget_alpha=5 iters=10", "sfron forget_alpha=5 iters=20",
                                          "sfron forget_alpha=25 iters=10", "sfron forget_alpha=25 iters=20", "ga"};
    for (int i = 0; i < 6; i++) assert_string_equal(get(cJSON_GetArrayItem(ms, i), "label")->valuestring, labels[i]);
    const cJSON *p4 = get(cJSON_GetArrayItem(ms, 4), "params");
    assert_true(get(p4, "forget_alpha")->valuedouble == 25.0 && get(p4, "iters")->valueint == 20 &&
                get(p4, "forget_freq")->valueint == 2);
    const cJSON *rm = get(cJSON_GetArrayItem(get(j, "runs"), 0), "methods");
    assert_int_equal(get(get(rm, labels[4]), "steps")->valueint, 20 + 10);
    assert_string_equal(get(get(j, "config"), "sweep")->valuestring, "sfron.forget_alpha=5,25 sfron.iters=10,20");
    cJSON_Delete(j);

    /* an id file */
    const char *ids = ult_path(g_dir, "ids.txt");
    FILE *f = fopen(ids, "w");
    fprintf(f, "# request 1\n0, 1, 2\n");
    for (int i = 10; i < 300; i += 7) fprintf(f, "%d\n", i);
    fclose(f);
    r = run("bench methods --data '%s' --arch " ARCH " --epochs 2 --seeds 1 --forget-ids '%s' --methods ft "
            "--set ft.epochs=1 --no-svc-mia --cache '%s' -q -o '%s'",
            g_data, ids, cache, idsdir);
    EXPECT_CODE(r, 0, "--forget-ids");
    run_free(&r);
    j = read_json(ult_path(idsdir, "results.json"));
    assert_int_equal(get(get(j, "config"), "n_forget")->valueint, 3 + 42);
    assert_string_equal(get(get(get(j, "config"), "scenario"), "kind")->valuestring, "ids");
    assert_int_equal(strlen(get(get(get(j, "config"), "scenario"), "ids_file_sha256")->valuestring), 64);
    cJSON_Delete(j);
    /* --forget-random 10% is --scenario random:10 */
    char rnd[300];
    snprintf(rnd, sizeof rnd, "%s/random-alias", g_dir);
    r = run("bench methods --data '%s' --arch " ARCH " --epochs 2 --seeds 1 --forget-random 10%% --methods ssd "
            "--no-svc-mia --cache '%s' -q --json -o '%s'",
            g_data, cache, rnd);
    EXPECT_CODE(r, 0, "--forget-random 10%");
    cJSON *jr = cJSON_Parse(r.out);
    if (!jr) fail_msg("--json output is not JSON:\n%s", r.out);
    run_free(&r);
    assert_int_equal(get(get(jr, "config"), "n_forget")->valueint, 60);
    cJSON_Delete(jr);
    r = run("bench methods --data '%s' --forget-random abc%% -o '%s'", g_data, rnd);
    EXPECT_CODE(r, 2, "--forget-random abc%");
    run_free(&r);
    r = run("bench methods --data '%s' --forget-random 10 --forget-class 3 -o '%s'", g_data, rnd);
    EXPECT_CODE(r, 2, "two scenarios");
    run_free(&r);
}

static void test_errors(void **s) {
    (void)s;
    char bad[300], none[300], div[300];
    snprintf(bad, sizeof bad, "%s/bad-ids.txt", g_dir);
    snprintf(none, sizeof none, "%s/never", g_dir);
    snprintf(div, sizeof div, "%s/diverge", g_dir);
    FILE *f = fopen(bad, "w");
    fprintf(f, "1\n2\n3x\n");
    fclose(f);
    char base[1024];
    snprintf(base, sizeof base, "bench methods --data '%s' --arch " ARCH " --epochs 1 -q", g_data);
    struct {
        const char *args;
        int code;
        const char *needle;
    } cases[] = {
        {"--scenario random:0", 2, "--scenario"},
        {"--scenario random:abc", 2, "--scenario"},
        {"--scenario bogus:1", 2, "random:PERCENT"},
        {"--scenario class:3 --forget-ids x.txt", 2, "one of"},
        {"--scenario class:12", 2, "12"},
        {"--split-seed 3 --scenario class:3", 2, "--split-seed"},
        {"--methods sfron,bogus", 2, "bogus"},
        {"--methods sfron,SFR-on", 2, "twice"},
        {"--methods sfron, --set sfron.iters=1", 2, "comma"},
        {"--set sfron.bogus=1", 2, "forget_alpha"},
        {"--set sfron.forget_alpha=abc", 2, "forget_alpha"},
        {"--set sfron.forget_freq=0", 2, "forget_freq"},
        {"--set sfron", 2, "METHOD.KEY=VALUE"},
        {"--set ssd.alpha=1 --methods sfron", 2, "not among"},
        {"--set retrain.epochs=3", 2, "oracle"},
        {"--set '*.forget_alpha=3' --methods ft", 2, "none of"},
        {"--set bogus.x=1", 2, "bogus"},
        {"--sweep sfron.bogus=1,2", 2, "forget_alpha"},
        {"--sweep sfron.iters=1,", 2, "comma"},
        {"--sweep sfron.iters=1,x", 2, "integer"},
        {"--sweep ssd.alpha=1 --methods sfron", 2, "not among"},
        {"--sweep sfron.iters=1 --sweep sfron.iters=2", 2, "twice"},
        {"--sweep retrain.epochs=1", 2, "oracle"},
        {"--sweep sfron.iters", 2, "METHOD.KEY"},
        {"--seeds 0", 2, "--seeds"},
        {"--seeds 2 --seed-list 1", 2, "--seed-list"},
        {"--seed-list 1,1", 2, "twice"},
        {"--epochs 0", 2, "--epochs"},
        {"--width 0.5", 2, "--width"},
        {"--arch mlp:10-10", 2, "--arch"},
        {"--bogus", 2, "--bogus"},
        {"--forget-ids missing-ids.txt", 3, "missing-ids.txt"},
        {"--forget-ids BAD", 3, "bad-ids.txt"},
        {"--data /nonexistent/dir", 3, "/nonexistent/dir"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char args[700];
        const char *a = cases[i].args;
        if (strstr(a, "BAD")) {
            snprintf(args, sizeof args, "--forget-ids '%s'", bad);
            a = args;
        }
        run_result r = run("%s %s -o '%s'", base, a, none);
        EXPECT_CODE(r, cases[i].code, cases[i].args);
        EXPECT_HAS(r.err, cases[i].needle, cases[i].args);
        run_free(&r);
        if (access(ult_path(none, "results.json"), F_OK) == 0) fail_msg("%s: results.json was written", cases[i].args);
    }
    /* missing -o, an -o that is a file, the bench command itself */
    run_result r = run("bench methods --data '%s'", g_data);
    EXPECT_CODE(r, 2, "no -o");
    EXPECT_HAS(r.err, "-o/--output", "no -o");
    run_free(&r);
    r = run("%s -o '%s'", base, bad);
    EXPECT_CODE(r, 2, "-o FILE");
    EXPECT_HAS(r.err, "not a directory", "-o FILE");
    run_free(&r);
    r = run("bench");
    EXPECT_CODE(r, 2, "bench alone");
    EXPECT_HAS(r.err, "methods", "bench lists its benchmarks");
    run_free(&r);
    r = run("bench bogus");
    EXPECT_CODE(r, 2, "bench bogus");
    EXPECT_HAS(r.err, "bogus", "bench bogus");
    run_free(&r);
    r = run("bench methods --help");
    EXPECT_CODE(r, 0, "--help");
    EXPECT_HAS(r.out, "--set M.KEY=V", "--help");
    EXPECT_HAS(r.out, "forget_alpha", "--help lists the keys");
    run_free(&r);
    r = run("help bench");
    EXPECT_CODE(r, 0, "help bench");
    run_free(&r);

    /* a method that diverges: exit 5 and no result files (the cache keeps its complete entries) */
    r = run("%s --seeds 1 --methods ga --set ga.lr=1000 --set ga.clip_norm=0 --set ga.epochs=20 -o '%s'", base, div);
    EXPECT_CODE(r, 5, "diverging ga");
    EXPECT_HAS(r.err, "ga", "diverging ga");
    run_free(&r);
    if (access(ult_path(div, "results.json"), F_OK) == 0 || access(ult_path(div, "results.csv"), F_OK) == 0 ||
        access(ult_path(div, "results.md"), F_OK) == 0)
        fail_msg("a failed run wrote result files");

    /* inside a --sweep a diverging setting is recorded (diverged, metrics null) and the grid goes on */
    char swp[300];
    snprintf(swp, sizeof swp, "%s/sweep-diverge", g_dir);
    r = run("%s --seeds 1 --methods ga --set ga.clip_norm=0 --set ga.epochs=20 --sweep ga.lr=1000,0.0001 -o '%s'", base,
            swp);
    EXPECT_CODE(r, 0, "a sweep with one diverging setting");
    EXPECT_HAS(r.err, "diverged", "the diverging setting is named");
    run_free(&r);
    cJSON *j = read_json(ult_path(swp, "results.json"));
    const cJSON *ms = get(cJSON_GetArrayItem(get(j, "runs"), 0), "methods");
    const cJSON *dv = get(ms, "ga lr=1000"), *good = get(ms, "ga lr=0.0001");
    assert_true(cJSON_IsTrue(get(dv, "diverged")));
    assert_true(cJSON_IsNull(get(dv, "fa")));
    assert_true(cJSON_IsNumber(get(good, "fa")));
    assert_null(cJSON_GetObjectItemCaseSensitive(good, "diverged"));
    cJSON_Delete(j);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_outputs_and_cache),
        cmocka_unit_test(test_scenarios),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
