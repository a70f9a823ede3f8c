/* `unlearn report` end to end (the binary comes from env UL_CLI) on a synthetic `mixed` network:
 * a retrain dry run and a committed FIUn request of label 3 give two results files.
 *  - the report with --compare: index.html naming tool version, git commit, network, request,
 *    method, parameters and the input's SHA-256, three figures as SVG and PNG referenced
 *    relatively, the DOT with the network's edges and the roots marked, the plot data; a second
 *    run replaces the first; no temporary directory is left;
 *  - edges from the results file, and no edges (network missing: nodes alone, said so);
 *  - bad input: not JSON, another kind of JSON file, a missing or mistyped field, a compare file
 *    of another request, a missing file: exit 3 naming the file and the field, nothing written;
 *    Graphviz or gnuplot missing from PATH: exit 4, nothing written; an -o that is not a report: 2.
 * The method-benchmark report of a tiny `bench methods` run (2 seeds, retrain, ft, sfron): the
 * table with mean +- std, the Avg. Gap bars and the per-class figure and table; bad or mistyped
 * fields exit 3 naming the file and the field, --compare with it exits 2, nothing written.
 * With the argument --browser (the CTest test_cli_report_browser), it instead renders the reports
 * in headless Chromium and checks that every figure loads (a script marks images whose
 * naturalWidth is 0; a page with a missing figure proves the check can fail), and takes a
 * screenshot. Without Chromium it exits 77, which CTest reports as skipped (make deps-browser).
 */
#include "ul_test.h"

#include <dirent.h>
#include <limits.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "unlearn/io.h"
#include "unlearn/rng.h"

#define ARCH "mlp:64-32-10"
#define SKIP_CODE 77

static const char *g_cli;
static char g_dir[256];
static char g_data[300], g_net[300], g_fiun[300], g_retrain[300], g_bench[300];

#include "ult_cli.h"

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static int setup(void **state) {
    (void)state;
    g_cli = getenv("UL_CLI");
    if (!g_cli || !*g_cli || access(g_cli, X_OK) != 0) {
        fprintf(stderr, "test_cli_report: UL_CLI is not set to an executable\n");
        return -1;
    }
    /* absolute, for file:// URLs */
    const char *tmp = ult_tmpdir("test_cli_report");
    char cwd[PATH_MAX] = "";
    if (tmp[0] != '/' && !getcwd(cwd, sizeof cwd)) return -1;
    if (snprintf(g_dir, sizeof g_dir, "%s%s%s", cwd, cwd[0] ? "/" : "", tmp) >= (int)sizeof g_dir) return -1;
    snprintf(g_data, sizeof g_data, "%s/data", g_dir);
    snprintf(g_net, sizeof g_net, "%s/net", g_dir);
    snprintf(g_fiun, sizeof g_fiun, "%s/fiun.json", g_dir);
    snprintf(g_retrain, sizeof g_retrain, "%s/retrain.json", g_dir);
    snprintf(g_bench, sizeof g_bench, "%s/bench/results.json", g_dir);
    mkdir(g_data, 0755);
    ult_write_pattern_idx(ult_path(g_data, "train-images-idx3-ubyte"), ult_path(g_data, "train-labels-idx1-ubyte"), 1200, 8, 21);
    ult_write_pattern_idx(ult_path(g_data, "t10k-images-idx3-ubyte"), ult_path(g_data, "t10k-labels-idx1-ubyte"), 300, 8, 22);
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "'%s' net build '%s' --scenario mixed --data '%s' --arch " ARCH " --epochs 3 --seed 1 --threads 2 -q "
             ">/dev/null && '%s' forget '%s' --labels 3 --method retrain --dry-run -o '%s' -q && '%s' forget '%s' "
             "--labels 3 --local-fisher merge --mfim-c 1 -o '%s' -q && '%s' bench methods --data '%s' --arch " ARCH
             " --epochs 3 --seeds 2 --methods retrain,ft,sfron --set '*.epochs=1' --set sfron.iters=20 --no-svc-mia "
             "--threads 2 -q -o '%s/bench' >/dev/null",
             g_cli, g_net, g_data, g_cli, g_net, g_retrain, g_cli, g_net, g_fiun, g_cli, g_data, g_dir);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "test_cli_report: setup failed: %s\n", cmd);
        return -1;
    }
    return 0;
}

/* No "<name>.tmp-*" or "<name>.old-*" sibling left in g_dir. */
static void no_leftovers(void) {
    DIR *d = opendir(g_dir);
    assert_non_null(d);
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp-") || strstr(e->d_name, ".old-")) fail_msg("left behind: %s/%s", g_dir, e->d_name);
    closedir(d);
}

static void expect_png(const char *path) {
    size_t n = 0;
    char *b = slurp(path, &n);
    if (!b || n < 100 || memcmp(b, "\x89PNG\r\n\x1a\n", 8) != 0) fail_msg("%s is not a PNG", path);
    free(b);
}

static void expect_svg(const char *path) {
    char *b = slurp(path, NULL);
    if (!b || !strstr(b, "<svg") || !strstr(b, "</svg>")) fail_msg("%s is not an SVG", path);
    free(b);
}

/* Write `json` (a modified copy of fiun.json) to g_dir/<name>; returns the path. */
static const char *write_variant(const char *name, cJSON *json) {
    static char path[400];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    char *t = cJSON_Print(json);
    ult_write(path, t, strlen(t));
    free(t);
    return path;
}

static cJSON *fiun_json(void) {
    char *t = slurp(g_fiun, NULL);
    assert_non_null(t);
    cJSON *j = cJSON_Parse(t);
    free(t);
    assert_non_null(j);
    return j;
}

/* The report of fiun.json against retrain.json into g_dir/<name>. */
static void write_full_report(const char *out) {
    run_result r = run("report '%s' --compare '%s' -o '%s'", g_fiun, g_retrain, out);
    EXPECT_CODE(r, 0, "report --compare");
    EXPECT_HAS(r.out, "index.html (3 figures as SVG and PNG; edges from the results file)", "report summary line");
    run_free(&r);
}

static void test_report(void **s) {
    (void)s;
    char out[400];
    snprintf(out, sizeof out, "%s/report", g_dir);
    write_full_report(out);
    static const char *const figs[] = {"dag", "accuracy", "time"};
    for (int i = 0; i < 3; i++) {
        char f[64];
        snprintf(f, sizeof f, "%s.svg", figs[i]);
        expect_svg(ult_path(out, f));
        snprintf(f, sizeof f, "%s.png", figs[i]);
        expect_png(ult_path(out, f));
    }
    char sha[65];
    ULT_OK(ul_sha256_file(g_fiun, sha));
    char *html = slurp(ult_path(out, "index.html"), NULL);
    assert_non_null(html);
    const char *const want[] = {"<!DOCTYPE html>", "<style>", "unlearn " UL_VERSION_STRING ", git commit ", sha, g_net,
                                "forget labels 3", "<b>fiun</b>", "mfim_c = 1", "local_fisher = merge", "retrain",
                                "speed-up over retrain", "src=\"dag.svg\"", "src=\"accuracy.svg\"", "src=\"time.svg\"",
                                "href=\"dag.png\"", "href=\"accuracy.png\"", "href=\"time.png\"", "Request 1: "};
    for (size_t i = 0; i < sizeof want / sizeof *want; i++) EXPECT_HAS(html, want[i], "index.html");
    if (strstr(html, "src=\"/") || strstr(html, "http://") || strstr(html, "https://") || strstr(html, "<script"))
        fail_msg("index.html is not self-contained (absolute or remote reference, or a script)");
    free(html);
    /* the DAG: the network's edges, the roots doubly framed, every affected model coloured */
    char *dot = slurp(ult_path(out, "src/dag.dot"), NULL);
    assert_non_null(dot);
    EXPECT_HAS(dot, "\"a\" -> \"c\" [label=\"avg\"", "dag.dot edge a->c");
    EXPECT_HAS(dot, "\"g\" -> \"h\" [label=\"transfer\"", "dag.dot edge g->h");
    EXPECT_HAS(dot, "\"a\" [label=\"a (root)", "dag.dot root a");
    EXPECT_HAS(dot, "peripheries=2", "dag.dot root frame");
    free(dot);
    char *dat = slurp(ult_path(out, "src/accuracy.dat"), NULL);
    int rows = 0;
    for (char *p = dat; (p = strchr(p, '\n')) != NULL; p++) rows++;
    assert_int_equal(rows, 1 + 8);
    free(dat);
    assert_false(exists(ult_path(out, "src/gnuplot.log")));
    /* again onto the same directory: replaced as a whole */
    ult_write(ult_path(out, "stale.txt"), "x", 1);
    write_full_report(out);
    assert_false(exists(ult_path(out, "stale.txt")));
    assert_true(exists(ult_path(out, "index.html")));
    no_leftovers();
}

static void test_edges(void **s) {
    (void)s;
    char out[400];
    /* the results carry edges (forget writes them; here a hand-made list of one) */
    cJSON *j = fiun_json();
    cJSON_DeleteItemFromObject(j, "edges");
    cJSON *edges = cJSON_AddArrayToObject(j, "edges"), *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "parent", "a");
    cJSON_AddStringToObject(e, "child", "c");
    cJSON_AddStringToObject(e, "type", "avg");
    cJSON_AddItemToArray(edges, e);
    cJSON_ReplaceItemInObject(j, "network", cJSON_CreateString("/nonexistent/net"));
    const char *path = write_variant("edges.json", j);
    snprintf(out, sizeof out, "%s/report-edges", g_dir);
    run_result r = run("report '%s' -o '%s'", path, out);
    EXPECT_CODE(r, 0, "report with edges in the results");
    EXPECT_HAS(r.out, "edges from the results file", "report edges source");
    run_free(&r);
    char *dot = slurp(ult_path(out, "src/dag.dot"), NULL);
    EXPECT_HAS(dot, "\"a\" -> \"c\" [label=\"avg\"", "edges from the results");
    if (strstr(dot, "label=\"transfer\"")) fail_msg("dag.dot has edges the results do not list");
    free(dot);
    /* no edges anywhere: nodes alone, and the page says why */
    cJSON_DeleteItemFromObject(j, "edges");
    path = write_variant("noedges.json", j);
    snprintf(out, sizeof out, "%s/report-noedges", g_dir);
    r = run("report '%s' -o '%s'", path, out);
    EXPECT_CODE(r, 0, "report without edges");
    EXPECT_HAS(r.err, "the DAG is drawn without edges", "warning without edges");
    EXPECT_HAS(r.err, "/nonexistent/net", "warning names the network");
    run_free(&r);
    char *html = slurp(ult_path(out, "index.html"), NULL);
    EXPECT_HAS(html, "The edges are unknown, so the nodes are drawn without edges", "index.html without edges");
    free(html);
    dot = slurp(ult_path(out, "src/dag.dot"), NULL);
    if (strstr(dot, "label=\"avg\"")) fail_msg("dag.dot has edges without a source");
    EXPECT_HAS(dot, "edges unknown", "dag.dot legend says so");
    free(dot);
    /* --network points at the network instead */
    snprintf(out, sizeof out, "%s/report-network", g_dir);
    r = run("report '%s' --network '%s' -o '%s'", path, g_net, out);
    EXPECT_CODE(r, 0, "report --network");
    EXPECT_HAS(r.out, "edges from the network at ", "report --network edges");
    run_free(&r);
    cJSON_Delete(j);
    no_leftovers();
}

/* The report of `file` fails with exit `code` and `msg`, writing nothing. */
static void expect_bad(const char *file, const char *extra, int code, const char *msg) {
    char out[400];
    snprintf(out, sizeof out, "%s/report-bad", g_dir);
    run_result r = run("report '%s' %s -o '%s'", file, extra, out);
    EXPECT_CODE(r, code, msg);
    EXPECT_HAS(r.err, msg, "error message");
    if (exists(out)) fail_msg("%s: the report directory was written", msg);
    run_free(&r);
    no_leftovers();
}

static void test_bad_input(void **s) {
    (void)s;
    char p[400], m[600];
    snprintf(p, sizeof p, "%s/notjson.json", g_dir);
    ult_write(p, "{\"affected\": [", 14);
    snprintf(m, sizeof m, "results file '%s': not JSON", p);
    expect_bad(p, "", 3, m);
    snprintf(p, sizeof p, "%s/array.json", g_dir);
    ult_write(p, "[{\"name\": \"a\"}]", 15);
    expect_bad(p, "", 3, "not a forget results file: the top level is an array");
    snprintf(p, sizeof p, "%s/eval.json", g_dir);
    ult_write(p, "{\"model_hash\": \"x\", \"accuracy\": 0.9}", 36);
    snprintf(m, sizeof m, "results file '%s': field 'affected': missing: not a forget results file (it looks like", p);
    expect_bad(p, "", 3, m);
    cJSON *j = fiun_json();
    cJSON_DeleteItemFromObject(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "affected"), 2), "after");
    const char *path = write_variant("missing.json", j);
    snprintf(m, sizeof m, "results file '%s': field 'affected[2].after': is missing, expected a string", path);
    expect_bad(path, "", 3, m);
    cJSON_Delete(j);
    j = fiun_json();
    cJSON_ReplaceItemInObject(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "affected"), 1), "forget_acc_after",
                              cJSON_CreateString("12"));
    path = write_variant("mistyped.json", j);
    expect_bad(path, "", 3, "field 'affected[1].forget_acc_after': is a string, expected a number");
    cJSON_Delete(j);
    j = fiun_json();
    cJSON_DeleteItemFromObject(j, "method");
    path = write_variant("nomethod.json", j);
    expect_bad(path, "", 3, "field 'method': is missing");
    cJSON_Delete(j);
    /* a comparison of another request */
    j = fiun_json();
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(j, "request"), "labels", cJSON_CreateIntArray((const int[]){5}, 1));
    path = write_variant("other-request.json", j);
    char extra[500];
    snprintf(extra, sizeof extra, "--compare '%s'", path);
    snprintf(m, sizeof m, "compare file '%s': field 'request': labels 5 is not the request of '%s' (labels 3)", path, g_fiun);
    expect_bad(g_fiun, extra, 3, m);
    cJSON_Delete(j);
    snprintf(p, sizeof p, "%s/absent.json", g_dir);
    expect_bad(p, "", 3, "absent.json");
}

static void test_tools_and_output(void **s) {
    (void)s;
    char out[400], bin[400];
    snprintf(out, sizeof out, "%s/report-tools", g_dir);
    /* PATH without Graphviz: exit 4 naming dot; with dot but without gnuplot: naming gnuplot */
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "PATH=/nonexistent '%s' report '%s' -o '%s' >/dev/null 2>'%s/err.txt'", g_cli, g_fiun, out,
             g_dir);
    int st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3); /* a missing tool: UL_E_UNSUPPORTED, exit 3 like other unsupported setups */
    char *err = slurp(ult_path(g_dir, "err.txt"), NULL);
    EXPECT_HAS(err, "Graphviz 'dot' was not found on PATH", "missing dot");
    free(err);
    snprintf(bin, sizeof bin, "%s/bin-dot-only", g_dir);
    mkdir(bin, 0755);
    unlink(ult_path(bin, "dot"));
    char dotpath[PATH_MAX] = "/usr/bin/dot";
    FILE *w = popen("command -v dot", "r");
    if (w) {
        if (fgets(dotpath, sizeof dotpath, w)) dotpath[strcspn(dotpath, "\n")] = '\0';
        pclose(w);
    }
    assert_int_equal(symlink(dotpath, ult_path(bin, "dot")), 0);
    snprintf(cmd, sizeof cmd, "PATH='%s' '%s' report '%s' -o '%s' >/dev/null 2>'%s/err.txt'", bin, g_cli, g_fiun, out, g_dir);
    st = system(cmd);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 3); /* a missing tool: UL_E_UNSUPPORTED, exit 3 like other unsupported setups */
    err = slurp(ult_path(g_dir, "err.txt"), NULL);
    EXPECT_HAS(err, "'gnuplot' was not found on PATH", "missing gnuplot");
    free(err);
    assert_false(exists(out));
    no_leftovers();
    /* the report is written after the checks only */
    run_result r = run("report '%s' -o '%s'", g_fiun, out);
    EXPECT_CODE(r, 0, "report after the tool checks");
    run_free(&r);
    assert_true(exists(ult_path(out, "index.html")));
    /* -o naming a directory that is not a report, a missing parent, a file */
    r = run("report '%s' -o '%s'", g_fiun, g_data);
    EXPECT_CODE(r, 2, "-o a data directory");
    EXPECT_HAS(r.err, "holds no report (no index.html)", "-o a data directory");
    run_free(&r);
    assert_true(exists(ult_path(g_data, "train-images-idx3-ubyte")));
    r = run("report '%s' -o '%s/no/such/dir'", g_fiun, g_dir);
    EXPECT_CODE(r, 2, "-o below a missing directory");
    run_free(&r);
    r = run("report '%s' -o '%s'", g_fiun, g_fiun);
    EXPECT_CODE(r, 2, "-o a file");
    run_free(&r);
    r = run("report '%s'", g_fiun);
    EXPECT_CODE(r, 2, "no -o");
    run_free(&r);
    no_leftovers();
}

/* ---- the method-benchmark report -------------------------------------------------------------- */

static void write_methods_report(const char *out) {
    run_result r = run("report '%s' -o '%s'", g_bench, out);
    EXPECT_CODE(r, 0, "report of bench methods results");
    EXPECT_HAS(r.out, "method benchmark", "report summary line");
    EXPECT_HAS(r.out, "2 figures as SVG and PNG", "report summary line");
    run_free(&r);
}

static void test_methods_report(void **s) {
    (void)s;
    char out[400];
    snprintf(out, sizeof out, "%s/report-methods", g_dir);
    write_methods_report(out);
    static const char *const figs[] = {"gap", "per_class"};
    for (int i = 0; i < 2; i++) {
        char f[64];
        snprintf(f, sizeof f, "%s.svg", figs[i]);
        expect_svg(ult_path(out, f));
        snprintf(f, sizeof f, "%s.png", figs[i]);
        expect_png(ult_path(out, f));
    }
    char *html = slurp(ult_path(out, "index.html"), NULL);
    assert_non_null(html);
    EXPECT_HAS(html, "Unlearning methods benchmark", "title");
    EXPECT_HAS(html, "<th>FA</th><th>RA</th><th>TA</th><th>MIA</th><th>Avg. Gap</th><th>KL</th><th>Time (s)</th>",
               "the SFR-on table's columns");
    EXPECT_HAS(html, "<td class=\"l\">retrain</td>", "retrain row");
    EXPECT_HAS(html, "<td class=\"l\">ft</td>", "ft row");
    EXPECT_HAS(html, "<td class=\"l\">sfron</td>", "sfron row");
    EXPECT_HAS(html, "<td class=\"l\">(original)</td>", "original row");
    EXPECT_HAS(html, " &#177; ", "mean +- std over the two seeds");
    EXPECT_HAS(html, "<img src=\"gap.svg\"", "gap figure");
    EXPECT_HAS(html, "<img src=\"per_class.svg\"", "per-class figure");
    EXPECT_HAS(html, "<th>original</th><th>retrain</th><th>ft</th><th>sfron</th>", "per-class table header");
    EXPECT_HAS(html, "<td class=\"l\">9</td>", "a per-class row per label");
    EXPECT_HAS(html, "mlp:64-32-10", "architecture");
    EXPECT_HAS(html, "random:10", "scenario");
    uint8_t *b = NULL;
    size_t n = 0;
    char hex[65];
    assert_int_equal(ul_read_file(g_bench, 1 << 26, &b, &n), UL_OK);
    ul_sha256_hex(b, n, hex);
    free(b);
    EXPECT_HAS(html, hex, "the input's SHA-256");
    if (strstr(html, "<script") || strstr(html, "http://") || strstr(html, "https://"))
        fail_msg("the page is not self-contained");
    free(html);
    char *dat = slurp(ult_path(out, "src/gap.dat"), NULL);
    assert_non_null(dat);
    EXPECT_HAS(dat, "\"sfron\"", "gap data has sfron");
    EXPECT_HAS(dat, "\"(original)\"", "gap data has the original");
    if (strstr(dat, "\"retrain\"")) fail_msg("retrain (gap 0 by definition) is in the gap plot");
    free(dat);
    dat = slurp(ult_path(out, "src/per_class.dat"), NULL);
    assert_non_null(dat);
    int rows = 0;
    for (char *l = dat; (l = strchr(l, '\n')); l++) rows += l[1] == '"';
    assert_int_equal(rows, 10); /* one row per label */
    free(dat);
    assert_true(exists(ult_path(out, "src/gap.gp")));
    assert_true(exists(ult_path(out, "src/per_class.gp")));
    no_leftovers();
}

static cJSON *bench_json(void) {
    char *t = slurp(g_bench, NULL);
    assert_non_null(t);
    cJSON *j = cJSON_Parse(t);
    free(t);
    assert_non_null(j);
    return j;
}

static void test_methods_bad(void **s) {
    (void)s;
    char m[700];
    /* a metric's mean of the wrong type */
    cJSON *j = bench_json();
    cJSON *e = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "summary"), 1), "avg_gap");
    cJSON_ReplaceItemInObject(e, "mean", cJSON_CreateString("1.2"));
    const char *p = write_variant("bench-type.json", j);
    snprintf(m, sizeof m, "method-benchmark results file '%s': field 'summary[1].avg_gap.mean': is a string, expected a number or null", p);
    expect_bad(p, "", 3, m);
    cJSON_Delete(j);
    /* no config */
    j = bench_json();
    cJSON_DeleteItemFromObject(j, "config");
    p = write_variant("bench-noconfig.json", j);
    expect_bad(p, "", 3, "field 'config': is missing, expected an object");
    cJSON_Delete(j);
    /* per-class entries of the wrong count */
    j = bench_json();
    cJSON *pc = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "original_summary"), "per_class_ta");
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(pc, "mean"), 0);
    p = write_variant("bench-pc.json", j);
    expect_bad(p, "", 3, "field 'original_summary.per_class_ta.mean': has 9 entries, expected one per class");
    cJSON_Delete(j);
    /* no retrain */
    j = bench_json();
    cJSON_DeleteItemFromArray(cJSON_GetObjectItem(j, "summary"), 0);
    p = write_variant("bench-noretrain.json", j);
    expect_bad(p, "", 3, "field 'summary': has no entry with \"method\": \"retrain\"");
    cJSON_Delete(j);
    /* classes of the wrong type */
    j = bench_json();
    cJSON_ReplaceItemInObject(cJSON_GetObjectItem(j, "config"), "classes", cJSON_CreateString("10"));
    p = write_variant("bench-classes.json", j);
    expect_bad(p, "", 3, "field 'config.classes': is a string, expected a number");
    cJSON_Delete(j);
    /* --compare does not apply */
    snprintf(m, sizeof m, "--compare '%s'", g_retrain);
    expect_bad(g_bench, m, 2, "--compare applies to forget results only");
}

/* ---- the browser test --------------------------------------------------------------------- */

static bool find_chromium(char *buf, size_t cap) {
    const char *env = getenv("UL_CHROMIUM");
    if (env && *env) {
        snprintf(buf, cap, "%s", env);
        return access(buf, X_OK) == 0;
    }
    static const char *const names[] = {"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"};
    const char *path = getenv("PATH");
    for (size_t k = 0; k < sizeof names / sizeof *names; k++)
        for (const char *p = path ? path : ""; *p;) {
            const char *e = strchr(p, ':');
            size_t len = e ? (size_t)(e - p) : strlen(p);
            snprintf(buf, cap, "%.*s/%s", (int)len, p, names[k]);
            if (len && access(buf, X_OK) == 0) return true;
            p += len + (e ? 1 : 0);
        }
    return false;
}

static char g_chromium[1024];

/* A copy of index.html with a script that lists the images that did not load. */
static void write_check_page(const char *dir, const char *name, const char *break_src) {
    char *html = slurp(ult_path(dir, "index.html"), NULL);
    assert_non_null(html);
    static const char js[] =
        "<script>window.addEventListener('load',function(){var im=document.images,bad=[];"
        "for(var i=0;i<im.length;i++)if(!im[i].complete||im[i].naturalWidth===0)bad.push(im[i].getAttribute('src'));"
        "var p=document.createElement('pre');p.id='imgcheck';"
        "p.textContent='IMAGES '+im.length+' BROKEN ['+bad.join(',')+']';document.body.appendChild(p);});</script>";
    size_t n = strlen(html), cap = n + sizeof js + 64;
    char *o = malloc(cap);
    char *body = strstr(html, "</body>");
    assert_non_null(body);
    size_t k = (size_t)(body - html);
    memcpy(o, html, k);
    o[k] = '\0';
    strcat(o, js);
    strcat(o, body);
    if (break_src) { /* point one figure at a file that does not exist */
        char *at = strstr(o, break_src);
        assert_non_null(at);
        memcpy(at, "nope", 4);
    }
    ult_write(ult_path(dir, name), o, strlen(o));
    free(o);
    free(html);
}

/* The DOM after load (Chromium runs the page's scripts within a virtual time budget). */
static char *dump_dom(const char *dir, const char *page) {
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "timeout 120 '%s' --headless --no-sandbox --disable-gpu --no-first-run --user-data-dir='%s/chromium-profile' "
             "--virtual-time-budget=10000 --dump-dom 'file://%s/%s' >'%s/dom.txt' 2>'%s/chromium.log'",
             g_chromium, g_dir, dir, page, g_dir, g_dir);
    int st = system(cmd);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        char *log = slurp(ult_path(g_dir, "chromium.log"), NULL);
        fail_msg("chromium --dump-dom failed:\n%s", log ? log : "");
    }
    return slurp(ult_path(g_dir, "dom.txt"), NULL);
}

static void test_browser(void **s) {
    (void)s;
    char out[400];
    snprintf(out, sizeof out, "%s/report-browser", g_dir);
    write_full_report(out);
    write_check_page(out, "check.html", NULL);
    write_check_page(out, "check-broken.html", "time.svg");
    char *dom = dump_dom(out, "check.html");
    EXPECT_HAS(dom, "<pre id=\"imgcheck\">IMAGES 3 BROKEN []</pre>", "every figure loads in Chromium");
    EXPECT_HAS(dom, "Unlearning report", "the page rendered");
    free(dom);
    dom = dump_dom(out, "check-broken.html");
    EXPECT_HAS(dom, "<pre id=\"imgcheck\">IMAGES 3 BROKEN [nope.svg]</pre>", "the check sees a missing figure");
    free(dom);
    /* a screenshot of the real page */
    char cmd[8192];
    snprintf(cmd, sizeof cmd,
             "timeout 120 '%s' --headless --no-sandbox --disable-gpu --no-first-run --hide-scrollbars "
             "--user-data-dir='%s/chromium-profile' --window-size=1200,2400 --screenshot='%s/screenshot.png' "
             "'file://%s/index.html' >/dev/null 2>'%s/chromium.log'",
             g_chromium, g_dir, g_dir, out, g_dir);
    int st = system(cmd);
    assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    expect_png(ult_path(g_dir, "screenshot.png"));
    /* the method-benchmark report */
    snprintf(out, sizeof out, "%s/report-methods-browser", g_dir);
    write_methods_report(out);
    write_check_page(out, "check.html", NULL);
    write_check_page(out, "check-broken.html", "per_class.svg");
    dom = dump_dom(out, "check.html");
    EXPECT_HAS(dom, "<pre id=\"imgcheck\">IMAGES 2 BROKEN []</pre>", "every method-report figure loads in Chromium");
    EXPECT_HAS(dom, "Unlearning methods benchmark", "the method page rendered");
    free(dom);
    dom = dump_dom(out, "check-broken.html");
    EXPECT_HAS(dom, "<pre id=\"imgcheck\">IMAGES 2 BROKEN [nopeclass.svg]</pre>", "the check sees a missing figure");
    free(dom);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--browser") == 0) {
        if (!find_chromium(g_chromium, sizeof g_chromium)) {
            printf("SKIP: Chromium not found (chromium on PATH or UL_CHROMIUM; make deps-browser installs it)\n");
            return SKIP_CODE;
        }
        const struct CMUnitTest browser[] = {cmocka_unit_test(test_browser)};
        return cmocka_run_group_tests(browser, setup, NULL);
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_report),    cmocka_unit_test(test_edges),
        cmocka_unit_test(test_bad_input), cmocka_unit_test(test_tools_and_output),
        cmocka_unit_test(test_methods_report), cmocka_unit_test(test_methods_bad),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
