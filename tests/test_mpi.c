/* The MPI driver end to end (built with -DUL_MPI=ON only; `make mpi`): the built `unlearn` ($UL_CLI)
 * under OpenMPI's mpirun ($UL_MPIRUN) on localhost with --oversubscribe, on a 16-model `dag`
 * network of small MLPs built from synthetic IDX data:
 *  - `net build --mpi` with -np 1, 2 and 4 gives the single-process build's registry (`net show
 *    --json`, ids and recipes included) and the same objects; run again, it keeps every model;
 *  - `forget --mpi` with -np 1, 2 and 4: a committed label request (Fishers from the cached
 *    per-class sums) leaves the network exactly as the single-process request does, and its
 *    receipt's `after` hashes are those of the single-process receipt; a sample request with the
 *    all scope (root Fishers computed and broadcast) gives the single-process dry run's hashes;
 *  - a rank killed mid-request (UL_MPI_TEST_DIE_RANK=1: rank 1 exits after writing half of its
 *    models) aborts the job with nothing committed: same `net show --json`, no request in the log,
 *    `net check` finds only orphans; running the request again commits it with the same hashes;
 *  - what is not distributed (retrain, a sweep) is refused with exit 2.
 */
#include "ul_test.h"

#include <sys/wait.h>

#include <cjson/cJSON.h>

#define ARCH "mlp:64-32-10"
#define BUILD_ARGS "--scenario dag --depth 16 --epochs 1 --seed 3 --arch " ARCH " --quiet"

static const char *g_cli, *g_mpirun;
static char g_dir[320];
static char g_data[400], g_ref[400], g_ref_show[64 * 1024];

#include "ult_cli.h"

/* `mpirun -np N unlearn <args>` with stdout/stderr captured; env is "" or "NAME=value" exported
 * to the ranks. */
static run_result mpi_run(int np, const char *env, const char *fmt, ...) UL_PRINTF(3, 4);
static run_result mpi_run(int np, const char *env, const char *fmt, ...) {
    char args[4096], cmd[8192], o[600], e[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    snprintf(o, sizeof o, "%s/stdout.txt", g_dir);
    snprintf(e, sizeof e, "%s/stderr.txt", g_dir);
    /* env before mpirun sets it for mpirun; -x passes it on to every rank */
    char pre[160] = "", x[160] = "";
    if (env && *env) {
        snprintf(pre, sizeof pre, "%s ", env);
        snprintf(x, sizeof x, " -x %.*s", (int)strcspn(env, "="), env);
    }
    snprintf(cmd, sizeof cmd,
             "%s'%s' --oversubscribe --allow-run-as-root -x OMP_WAIT_POLICY%s -np %d '%s' %s >'%s' 2>'%s' </dev/null", pre,
             g_mpirun, x, np, g_cli, args, o, e);
    int st = system(cmd);
    run_result r;
    r.code = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    r.out = slurp(o, NULL);
    r.err = slurp(e, NULL);
    if (!r.out) r.out = calloc(1, 1);
    if (!r.err) r.err = calloc(1, 1);
    return r;
}

static void sh(const char *fmt, ...) UL_PRINTF(1, 2);
static void sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) fail_msg("command failed: %s", cmd);
}

/* `net show DIR --json` (ids, versions, checkpoints, recipes of every model) into buf. */
static void show_json(const char *net, char *buf, size_t cap) {
    run_result r = run("net show '%s' --json", net);
    EXPECT_CODE(r, 0, "net show --json");
    snprintf(buf, cap, "%s", r.out);
    run_free(&r);
}

/* The sorted listing of DIR/objects (names are hashes). */
static void objects_list(const char *net, char *buf, size_t cap) {
    char cmd[1200], path[600];
    snprintf(path, sizeof path, "%s/objects.txt", g_dir);
    snprintf(cmd, sizeof cmd, "ls '%s/objects' | sort > '%s'", net, path);
    if (system(cmd) != 0) fail_msg("listing %s/objects failed", net);
    char *t = slurp(path, NULL);
    snprintf(buf, cap, "%s", t ? t : "");
    free(t);
}

/* "model:after\n" for every affected model of a results/receipt JSON file. */
static void after_list(const char *path, char *buf, size_t cap) {
    char *t = slurp(path, NULL);
    if (!t) fail_msg("%s was not written", path);
    cJSON *j = cJSON_Parse(t);
    free(t);
    if (!j) fail_msg("%s is not JSON", path);
    const cJSON *a;
    size_t at = 0;
    buf[0] = '\0';
    cJSON_ArrayForEach(a, cJSON_GetObjectItem(j, "affected")) {
        at += (size_t)snprintf(buf + at, cap - at, "%s:%s\n", cJSON_GetObjectItem(a, "model")->valuestring,
                               cJSON_GetObjectItem(a, "after")->valuestring);
        if (at >= cap) fail_msg("after list of %s does not fit", path);
    }
    cJSON_Delete(j);
    if (!buf[0]) fail_msg("%s lists no affected model", path);
}

static int setup(void **state) {
    (void)state;
    g_cli = getenv("UL_CLI");
    g_mpirun = getenv("UL_MPIRUN");
    if (!g_cli || !*g_cli || access(g_cli, X_OK) != 0 || !g_mpirun || !*g_mpirun || access(g_mpirun, X_OK) != 0) {
        fprintf(stderr, "test_mpi: UL_CLI and UL_MPIRUN must name executables\n");
        return -1;
    }
    if (snprintf(g_dir, sizeof g_dir, "%s", ult_tmpdir("test_mpi")) >= (int)sizeof g_dir ||
        snprintf(g_data, sizeof g_data, "%s/data", g_dir) >= (int)sizeof g_data ||
        snprintf(g_ref, sizeof g_ref, "%s/ref", g_dir) >= (int)sizeof g_ref)
        return -1;
    mkdir(g_data, 0755);
    ult_write_pattern_idx(ult_path(g_data, "train-images-idx3-ubyte"), ult_path(g_data, "train-labels-idx1-ubyte"), 1200,
                          8, 21);
    ult_write_pattern_idx(ult_path(g_data, "t10k-images-idx3-ubyte"), ult_path(g_data, "t10k-labels-idx1-ubyte"), 300, 8,
                          22);
    run_result r = run("net build '%s' --data '%s' " BUILD_ARGS " --threads 2", g_ref, g_data);
    const int ok = r.code == 0;
    if (!ok) fprintf(stderr, "net build failed (%d): %s\n", r.code, r.err);
    run_free(&r);
    if (!ok) return -1;
    r = run("net show '%s' --json", g_ref);
    snprintf(g_ref_show, sizeof g_ref_show, "%s", r.out);
    run_free(&r);
    return 0;
}

static void test_build(void **s) {
    (void)s;
    static char want_obj[16 * 1024], got_show[64 * 1024], got_obj[16 * 1024];
    objects_list(g_ref, want_obj, sizeof want_obj);
    const int nps[] = {1, 2, 4};
    for (size_t k = 0; k < sizeof nps / sizeof *nps; k++) {
        char net[600];
        snprintf(net, sizeof net, "%s/build-np%d", g_dir, nps[k]);
        run_result r = mpi_run(nps[k], "", "net build '%s' --data '%s' " BUILD_ARGS " --threads 1 --mpi", net, g_data);
        EXPECT_CODE(r, 0, "net build --mpi");
        run_free(&r);
        show_json(net, got_show, sizeof got_show);
        if (strcmp(got_show, g_ref_show) != 0) fail_msg("-np %d: the registry differs from the single-process build", nps[k]);
        objects_list(net, got_obj, sizeof got_obj);
        if (strcmp(got_obj, want_obj) != 0) fail_msg("-np %d: the objects differ from the single-process build", nps[k]);
        r = run("net check '%s'", net);
        EXPECT_CODE(r, 0, "net check after net build --mpi");
        run_free(&r);
    }
    /* resuming: every model is there with its recipe, so every one is kept, whichever rank checks it */
    char net[600];
    snprintf(net, sizeof net, "%s/build-np4", g_dir);
    run_result r = mpi_run(2, "", "net build '%s' --data '%s' " BUILD_ARGS " --threads 1 --mpi", net, g_data);
    EXPECT_CODE(r, 0, "net build --mpi on a finished network");
    EXPECT_HAS(r.out, "(0 trained, 16 kept)", "net build --mpi on a finished network");
    run_free(&r);
    show_json(net, got_show, sizeof got_show);
    if (strcmp(got_show, g_ref_show) != 0) fail_msg("resuming with --mpi changed the registry");
}

static void test_forget(void **s) {
    (void)s;
    static char want_show[64 * 1024], want_after[8192], got_show[64 * 1024], got_after[8192];
    static char want_samples[8192], got_samples[8192];
    /* the single-process requests */
    char single[600], ids[600];
    snprintf(single, sizeof single, "%s/forget-single", g_dir);
    snprintf(ids, sizeof ids, "%s/ids.txt", g_dir);
    FILE *f = fopen(ids, "w");
    assert_non_null(f);
    for (int i = 3; i < 600; i += 13) fprintf(f, "%d\n", i);
    fclose(f);
    sh("cp -r '%s' '%s'", g_ref, single);
    run_result r = run("forget '%s' --labels 3 -q -o '%s/single.json'", single, g_dir);
    EXPECT_CODE(r, 0, "forget (one process)");
    run_free(&r);
    show_json(single, want_show, sizeof want_show);
    after_list(ult_path(g_dir, "single.json"), want_after, sizeof want_after);
    r = run("forget '%s' --samples '%s' --scope all --dry-run -q -o '%s/single-samples.json'", g_ref, ids, g_dir);
    EXPECT_CODE(r, 0, "forget --samples (one process)");
    run_free(&r);
    after_list(ult_path(g_dir, "single-samples.json"), want_samples, sizeof want_samples);

    const int nps[] = {1, 2, 4};
    for (size_t k = 0; k < sizeof nps / sizeof *nps; k++) {
        char net[600], out[600];
        snprintf(net, sizeof net, "%s/forget-np%d", g_dir, nps[k]);
        snprintf(out, sizeof out, "%s/np%d.json", g_dir, nps[k]);
        sh("cp -r '%s' '%s'", g_ref, net);
        r = mpi_run(nps[k], "", "forget '%s' --labels 3 --threads 1 --mpi -o '%s'", net, out);
        EXPECT_CODE(r, 0, "forget --mpi");
        EXPECT_HAS(r.out, "committed request", "forget --mpi prints the commit (rank 0 only)");
        run_free(&r);
        show_json(net, got_show, sizeof got_show);
        if (strcmp(got_show, want_show) != 0) fail_msg("-np %d: the network differs from the single-process request", nps[k]);
        after_list(out, got_after, sizeof got_after);
        if (strcmp(got_after, want_after) != 0)
            fail_msg("-np %d: receipt hashes differ:\n%s\nsingle process:\n%s", nps[k], got_after, want_after);
        r = run("net check '%s'", net);
        EXPECT_CODE(r, 0, "net check after forget --mpi");
        run_free(&r);
        snprintf(out, sizeof out, "%s/np%d-samples.json", g_dir, nps[k]);
        r = mpi_run(nps[k], "", "forget '%s' --samples '%s' --scope all --dry-run -q --threads 1 --mpi -o '%s'", g_ref, ids,
                    out);
        EXPECT_CODE(r, 0, "forget --samples --mpi");
        run_free(&r);
        after_list(out, got_samples, sizeof got_samples);
        if (strcmp(got_samples, want_samples) != 0)
            fail_msg("-np %d: sample request hashes differ:\n%s\nsingle process:\n%s", nps[k], got_samples, want_samples);
    }
}

static void test_killed_rank(void **s) {
    (void)s;
    static char before[64 * 1024], after[64 * 1024], want[64 * 1024];
    char net[600], single[600];
    snprintf(net, sizeof net, "%s/killed", g_dir);
    snprintf(single, sizeof single, "%s/forget-single", g_dir); /* from test_forget */
    sh("cp -r '%s' '%s'", g_ref, net);
    show_json(net, before, sizeof before);
    run_result r = mpi_run(2, "UL_MPI_TEST_DIE_RANK=1", "forget '%s' --labels 3 --threads 1 --mpi", net);
    /* mpirun exits with the status of the rank that died first: the hook's 70 */
    EXPECT_CODE(r, 70, "forget --mpi with rank 1 dying");
    if (strstr(r.out, "committed request")) fail_msg("forget --mpi with a dead rank committed:\n%s", r.out);
    run_free(&r);
    show_json(net, after, sizeof after);
    if (strcmp(before, after) != 0) fail_msg("a killed rank changed the registry");
    r = run("net log '%s'", net);
    EXPECT_CODE(r, 0, "net log");
    if (strstr(r.out, " request ")) fail_msg("a killed rank's request was logged:\n%s", r.out);
    run_free(&r);
    r = run("net check '%s'", net);
    /* objects written before the kill are unreferenced (orphan), a kill mid-write may leave a temp */
    char *save = NULL;
    int orphans = 0;
    for (char *line = strtok_r(r.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        orphans += strncmp(line, "orphan:", 7) == 0;
        if (strncmp(line, "orphan:", 7) != 0 && strncmp(line, "temp:", 5) != 0 && strncmp(line, "net check:", 10) != 0)
            fail_msg("net check after a killed rank: unexpected problem: %s", line);
    }
    if (orphans == 0) fail_msg("no orphan after a rank died mid-request: the hook did not fire after writing");
    run_free(&r);
    /* the same request again completes it, as one process would have */
    r = mpi_run(2, "", "forget '%s' --labels 3 --threads 1 --mpi -q", net);
    EXPECT_CODE(r, 0, "forget --mpi after the kill");
    run_free(&r);
    show_json(net, after, sizeof after);
    show_json(single, want, sizeof want);
    if (strcmp(after, want) != 0) fail_msg("the re-run request differs from the single-process request");
    r = run("net check '%s'", net);
    EXPECT_CODE(r, 0, "net check after the re-run");
    run_free(&r);
}

static void test_refused(void **s) {
    (void)s;
    run_result r = mpi_run(2, "", "forget '%s' --labels 3 --method retrain --dry-run --mpi", g_ref);
    EXPECT_CODE(r, 2, "forget --mpi --method retrain");
    EXPECT_HAS(r.err, "runs in one process", "forget --mpi --method retrain");
    run_free(&r);
    r = mpi_run(1, "", "forget '%s' --labels 3 --dry-run --sweep alpha=1,2 --mpi", g_ref);
    EXPECT_CODE(r, 2, "forget --mpi --sweep");
    EXPECT_HAS(r.err, "sweep", "forget --mpi --sweep");
    run_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_build),
        cmocka_unit_test(test_forget),
        cmocka_unit_test(test_killed_rank),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
