/* Concurrent use of one network, with the built `unlearn` ($UL_CLI) on synthetic data:
 *  - lost updates at the registry (library, deterministic): a request that computed a model's new
 *    version from version X must not commit once another request has replaced X
 *    (ul_net_txn_replace_from fails with UL_E_BUSY, "changed by another request");
 *  - two `unlearn forget` processes started together on one network, >= 10 rounds: each exits 0
 *    or 6 (busy: "network is busy" / "changed by another request"), never anything else; the
 *    loser never waits longer than the busy timeout; `net check` is clean after every round; the
 *    requests committed are exactly those whose process exited 0, each complete (all affected
 *    versions, receipt, `net log` line); and no committed request was computed from versions
 *    that another request had already replaced (a lost update). That last property needs forget
 *    to pass the versions it read to the commit (PROPOSED-forget.diff): until then it is
 *    measured and reported, and test_no_lost_update is skipped naming the pending change;
 *  - a writer that finds the write lock held longer than the busy timeout (10 s) gives up after it
 *    with exit 6 and "network is busy", commits nothing, and goes through once the lock is free;
 *  - readers keep working while writers run: `net show`, `net log` and `eval` of a stored
 *    checkpoint, in a loop during a `net build` and during a series of `forget` requests;
 *  - forget holds no write lock while it computes: during a request another connection can take
 *    the write lock (BEGIN IMMEDIATE with no busy wait) nearly all the time.
 */
#include "ul_test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <time.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "unlearn/forget.h"
#include "unlearn/net.h"

#define ROUNDS 12
#define SIDE 8

static const char *g_cli;
static char g_dir[320], g_data[340], g_net[340], g_big[340];
static int g_rounds_run, g_lost_updates; /* filled by test_two_forgets */

#include "ult_cli.h"

static void sh(const char *fmt, ...) UL_PRINTF(1, 2);
static void sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) fail_msg("command failed: %s", cmd);
}

static void sleep_s(double s) {
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

static pid_t spawn(char *const *argv, const char *tag) {
    char o[400], e[400];
    snprintf(o, sizeof o, "%s/out.%s", g_dir, tag);
    snprintf(e, sizeof e, "%s/err.%s", g_dir, tag);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fo = open(o, O_WRONLY | O_CREAT | O_TRUNC, 0644), fe = open(e, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fi = open("/dev/null", O_RDONLY);
        if (fo < 0 || fe < 0 || fi < 0) _exit(126);
        dup2(fi, 0), dup2(fo, 1), dup2(fe, 2);
        execv(g_cli, argv);
        _exit(127);
    }
    return pid;
}

static int wait_code(pid_t pid) {
    int st = 0;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static char *slurp_tag(const char *kind, const char *tag) {
    char p[400];
    snprintf(p, sizeof p, "%s/%s.%s", g_dir, kind, tag);
    char *t = slurp(p, NULL);
    return t ? t : calloc(1, 1);
}

static int setup(void **state) {
    (void)state;
    g_cli = getenv("UL_CLI");
    if (!g_cli || access(g_cli, X_OK) != 0) return -1;
    snprintf(g_dir, sizeof g_dir, "%.300s", ult_tmpdir("test_cli_concurrent"));
    snprintf(g_data, sizeof g_data, "%.300s/data", g_dir);
    snprintf(g_net, sizeof g_net, "%.300s/base", g_dir);
    snprintf(g_big, sizeof g_big, "%.300s/big", g_dir);
    mkdir(g_data, 0755);
    ult_write_pattern_idx(ult_path(g_data, "train-images-idx3-ubyte"), ult_path(g_data, "train-labels-idx1-ubyte"), 2000, SIDE, 51);
    ult_write_pattern_idx(ult_path(g_data, "t10k-images-idx3-ubyte"), ult_path(g_data, "t10k-labels-idx1-ubyte"), 200, SIDE, 52);
    run_result r = run("net build '%s' --scenario mixed --data '%s' --arch mlp:64-32-10 --epochs 2 --threads 2 -q", g_net, g_data);
    int ok = r.code == 0;
    run_free(&r);
    r = run("net build '%s' --scenario mixed --data '%s' --arch mlp:64-256-256-10 --epochs 1 --threads 2 -q", g_big, g_data);
    ok = ok && r.code == 0;
    run_free(&r);
    return ok ? 0 : -1;
}

/* ---- registry level --------------------------------------------------------------------- */

static void test_lost_update_registry(void **s) {
    (void)s;
    const char *dir = ult_path(g_dir, "reg");
    sh("rm -rf '%s' && cp -r '%s' '%s'", dir, g_net, dir);
    ul_net *a = NULL, *b = NULL;
    ULT_OK(ul_net_open(dir, false, &a));
    ULT_OK(ul_net_open(dir, false, &b));
    ul_node na, nb;
    ULT_OK(ul_net_get(a, "d", &na)); /* request A reads d (version 1) ... */
    ULT_OK(ul_net_get(b, "d", &nb));
    ul_node other;
    ULT_OK(ul_net_get(b, "e", &other));
    ul_net_txn *t = NULL;
    int64_t id = 0, rid = 0;
    /* ... request B replaces d (with e's checkpoint, any stored object does) and commits */
    ULT_OK(ul_net_begin(b, "forget", "{\"labels\":[9]}", &t));
    ULT_OK(ul_net_txn_replace_from(t, "d", nb.id, other.ckpt, NULL, -1, &id));
    ULT_OK(ul_net_commit(t, "{}", &rid));
    /* A's commit, based on version 1, must not overwrite B's version */
    ULT_OK(ul_net_begin(a, "forget", "{\"labels\":[8]}", &t));
    ULT_FAILS(ul_net_txn_replace_from(t, "d", na.id, na.ckpt, NULL, -1, NULL), UL_E_BUSY);
    ULT_ERR_HAS("changed by another request while this one ran");
    ULT_ERR_HAS("'d'");
    ul_net_abort(t);
    ul_node now;
    ULT_OK(ul_net_get(a, "d", &now));
    assert_int_equal(now.version, 2);
    assert_string_equal(now.ckpt, other.ckpt);
    /* based on the current version it goes through; 0 skips the check (ul_net_txn_replace) */
    ULT_OK(ul_net_begin(a, "forget", "{\"labels\":[8]}", &t));
    ULT_OK(ul_net_txn_replace_from(t, "d", now.id, na.ckpt, NULL, -1, NULL));
    ULT_OK(ul_net_commit(t, "{}", &rid));
    ULT_OK(ul_net_get(a, "d", &now));
    assert_int_equal(now.version, 3);
    /* the committed requests are in the log, each once */
    char *log = NULL;
    ULT_OK(ul_net_read_log(a, &log));
    int n = 0;
    for (const char *p = log; (p = strstr(p, " request {")) != NULL; p++) n++;
    assert_int_equal(n, 2);
    free(log);
    ul_net_close(a);
    ul_net_close(b);
    run_result c = run("net check '%s'", dir);
    EXPECT_CODE(c, 0, "net check after the refused commit");
    run_free(&c);
}

/* ---- two forgets at once --------------------------------------------------------------- */

/* Requests whose receipt's "before" differs from the checkpoint of the version they replaced. */
static int lost_updates(const char *net, int *requests) {
    char path[600];
    snprintf(path, sizeof path, "%s/umig.db", net);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT v.name, r.id, r.receipt, p.ckpt FROM versions v JOIN requests r ON r.id = "
                                        "v.request JOIN versions p ON p.id = v.replaces ORDER BY v.id",
                                        -1, &s, NULL),
                     SQLITE_OK);
    int lost = 0, last = -1;
    *requests = 0;
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(s, 0);
        int rid = sqlite3_column_int(s, 1);
        cJSON *rec = cJSON_Parse((const char *)sqlite3_column_text(s, 2)), *x;
        const char *before = NULL;
        cJSON_ArrayForEach(x, cJSON_GetObjectItem(rec, "affected")) {
            if (strcmp(cJSON_GetObjectItem(x, "model")->valuestring, name) == 0)
                before = cJSON_GetObjectItem(x, "before")->valuestring;
        }
        if (!before) fail_msg("request %d replaced '%s' but its receipt does not list it", rid, name);
        if (strcmp(before, (const char *)sqlite3_column_text(s, 3)) != 0 && rid != last) {
            lost++;
            last = rid;
        }
        cJSON_Delete(rec);
    }
    sqlite3_finalize(s);
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM requests WHERE receipt IS NOT NULL", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    *requests = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return lost;
}

static void test_two_forgets(void **s) {
    (void)s;
    char net[400];
    snprintf(net, sizeof net, "%s/race", g_dir);
    int both = 0, one = 0, lost = 0;
    for (int round = 0; round < ROUNDS; round++) {
        sh("rm -rf '%s' && cp -r '%s' '%s'", net, g_net, net);
        char *argv[] = {(char *)g_cli, "forget", net, "--labels", "3", "--threads", "1", "-q", NULL};
        double t0 = ul_now();
        pid_t p1 = spawn(argv, "f1"), p2 = spawn(argv, "f2");
        int c1 = wait_code(p1), c2 = wait_code(p2);
        double dt = ul_now() - t0;
        const int codes[2] = {c1, c2};
        int ok = 0;
        for (int k = 0; k < 2; k++) {
            char *err = slurp_tag("err", k ? "f2" : "f1");
            if (codes[k] == 0) ok++;
            else if (codes[k] != 6 || (!strstr(err, "network is busy") && !strstr(err, "changed by another request")))
                fail_msg("round %d: forget %d exited %d (want 0, or 6 with a busy message):\n%s", round, k + 1, codes[k], err);
            free(err);
        }
        if (dt > 12.0) fail_msg("round %d: the two requests took %.1f s: a waiter exceeded the busy timeout", round, dt);
        run_result c = run("net check '%s'", net);
        EXPECT_CODE(c, 0, "net check after two concurrent requests");
        run_free(&c);
        int requests = 0, l = lost_updates(net, &requests);
        if (requests != ok) fail_msg("round %d: %d processes exited 0 but %d requests are committed", round, ok, requests);
        run_result lg = run("net log '%s'", net);
        int logged = 0;
        for (const char *p = lg.out; (p = strstr(p, " request {")) != NULL; p++) logged++;
        run_free(&lg);
        if (logged != requests) fail_msg("round %d: %d requests committed, %d in net log", round, requests, logged);
        lost += l > 0;
        both += ok == 2;
        one += ok == 1;
        print_message("  round %2d: exits %d and %d in %.2f s, %d requests committed%s\n", round, c1, c2, dt, requests,
                      l ? ", one computed from replaced versions (lost update)" : "");
    }
    g_rounds_run = ROUNDS;
    g_lost_updates = lost;
    print_message("two forgets at once, %d rounds: %d with one request refused, %d with both committed, %d lost updates\n",
                  ROUNDS, one, both, lost);
}

static void test_no_lost_update(void **s) {
    (void)s;
    if (!g_rounds_run) fail_msg("test_two_forgets did not run");
#ifdef UL_FORGET_CHECKS_CONFLICTS
    if (g_lost_updates) fail_msg("%d of %d rounds committed a request computed from replaced versions", g_lost_updates, g_rounds_run);
#else
    print_message("%d of %d rounds committed a request computed from versions another request had replaced: forget does "
                  "not yet pass the versions it read to the commit (ul_net_txn_replace_from); pending "
                  "PROPOSED-forget.diff\n",
                  g_lost_updates, g_rounds_run);
    skip();
#endif
}

/* ---- a writer that holds the lock too long ------------------------------------------- */

static void test_busy_timeout(void **s) {
    (void)s;
    char net[400];
    snprintf(net, sizeof net, "%s/busy", g_dir);
    sh("rm -rf '%s' && cp -r '%s' '%s'", net, g_net, net);
    ul_net *holder = NULL;
    ul_net_txn *t = NULL;
    ULT_OK(ul_net_open(net, false, &holder));
    ULT_OK(ul_net_begin(holder, "holder", NULL, &t)); /* the write lock, held past the 10 s busy timeout */
    char *argv[] = {(char *)g_cli, "forget", net, "--labels", "3", "--threads", "1", "-q", NULL};
    double t0 = ul_now();
    int code = wait_code(spawn(argv, "busy"));
    double waited = ul_now() - t0;
    ul_net_abort(t);
    ul_net_close(holder);
    char *err = slurp_tag("err", "busy");
    print_message("forget against a held write lock: exit %d after %.1f s: %s", code, waited, err);
    if (code != 6) fail_msg("forget against a held lock exited %d, expected 6:\n%s", code, err);
    EXPECT_HAS(err, "network is busy: another process is writing (waited 10.0 s)", "the busy message");
    if (waited < 9.5 || waited > 30.0) fail_msg("the wait took %.1f s, expected the 10 s busy timeout", waited);
    free(err);
    run_result r = run("net log '%s'", net);
    if (strstr(r.out, " request {")) fail_msg("the refused request committed");
    run_free(&r);
    /* released: the same command goes through, and the network is clean */
    assert_int_equal(wait_code(spawn(argv, "busy2")), 0);
    r = run("net check '%s'", net);
    EXPECT_CODE(r, 0, "net check after the busy request ran again");
    run_free(&r);
}

/* ---- readers during writers --------------------------------------------------------- */

/* Run reader commands in a loop while `writer` runs; every reader must succeed. *status gets the
 * writer's exit status (the loop reaps it). */
static int read_while(pid_t writer, const char *net, const char *obj, double *span, int *status) {
    int reads = 0, st = 0;
    double t0 = ul_now();
    while (waitpid(writer, &st, WNOHANG) == 0) {
        char db[500];
        snprintf(db, sizeof db, "%s/umig.db", net);
        if (access(db, F_OK) != 0) { /* not created yet */
            sleep_s(0.005);
            continue;
        }
        run_result r = run("net show '%s'", net);
        EXPECT_CODE(r, 0, "net show during a write");
        run_free(&r);
        r = run("net log '%s'", net);
        EXPECT_CODE(r, 0, "net log during a write");
        run_free(&r);
        if (obj) {
            r = run("eval -m '%s' --data '%s' --threads 1", obj, g_data);
            EXPECT_CODE(r, 0, "eval during a write");
            run_free(&r);
        }
        reads++;
    }
    *span = ul_now() - t0;
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    return reads;
}

static void test_readers_during_writers(void **s) {
    (void)s;
    /* a build */
    char net[400];
    snprintf(net, sizeof net, "%s/readers-build", g_dir);
    sh("rm -rf '%s'", net);
    char *bargv[] = {(char *)g_cli, "net", "build", net, "--scenario", "dag", "--depth", "20", "--data", g_data, "--arch",
                     "mlp:64-256-256-10", "--epochs", "1", "--threads", "1", "-q", NULL};
    pid_t w = spawn(bargv, "writer");
    double span;
    int code = -1;
    int reads = read_while(w, net, NULL, &span, &code);
    if (code != 0) fail_msg("the build under readers failed (%d)", code);
    print_message("readers during net build: %d rounds of show+log in %.2f s\n", reads, span);
    /* a series of requests, with eval of a stored checkpoint too */
    snprintf(net, sizeof net, "%s/readers-forget", g_dir);
    sh("rm -rf '%s' && cp -r '%s' '%s'", net, g_big, net);
    run_result r = run("net show '%s' --json", net);
    cJSON *j = cJSON_Parse(r.out);
    run_free(&r);
    char obj[600];
    snprintf(obj, sizeof obj, "%s/objects/%s.safetensors", net,
             cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "ckpt")->valuestring);
    cJSON_Delete(j);
    char script[1200];
    snprintf(script, sizeof script, "for l in 3 7 1 5; do '%s' forget '%s' --labels $l --threads 1 -q || exit 1; done", g_cli, net);
    char *fargv[] = {"/bin/sh", "-c", script, NULL};
    fflush(NULL);
    w = fork();
    assert_true(w >= 0);
    if (w == 0) {
        execv("/bin/sh", fargv);
        _exit(127);
    }
    int reads2 = read_while(w, net, obj, &span, &code);
    if (code != 0) fail_msg("the requests under readers failed (%d)", code);
    print_message("readers during 4 forget requests: %d rounds of show+log+eval in %.2f s\n", reads2, span);
    r = run("net log '%s'", net);
    int logged = 0;
    for (const char *p = r.out; (p = strstr(p, " request {")) != NULL; p++) logged++;
    run_free(&r);
    assert_int_equal(logged, 4);
    r = run("net check '%s'", net);
    EXPECT_CODE(r, 0, "net check after the requests");
    run_free(&r);
    if (reads + reads2 < 3) fail_msg("the readers hardly ran while the writers did (%d rounds)", reads + reads2);
}

/* ---- no write lock while computing ---------------------------------------------------- */

static void test_no_lock_during_compute(void **s) {
    (void)s;
    char net[400];
    snprintf(net, sizeof net, "%s/nolock", g_dir);
    sh("rm -rf '%s' && cp -r '%s' '%s'", net, g_big, net);
    ul_net *probe = NULL;
    ULT_OK(ul_net_open(net, false, &probe));
    ul_net_set_busy_timeout(probe, 0);
    char *argv[] = {(char *)g_cli, "forget", net, "--labels", "3", "--scope", "all", "--threads", "1", "-q", NULL};
    pid_t w = spawn(argv, "nolock");
    int got = 0, busy = 0;
    double worst = 0.0, busy_since = -1.0;
    while (waitpid(w, NULL, WNOHANG) == 0) {
        ul_net_txn *t = NULL;
        ul_status st = ul_net_begin(probe, "probe", NULL, &t);
        double now = ul_now();
        if (st == UL_OK) {
            ul_net_abort(t);
            got++;
            if (busy_since >= 0 && now - busy_since > worst) worst = now - busy_since;
            busy_since = -1.0;
        } else {
            if (st != UL_E_BUSY) fail_msg("probe: %s", ul_last_error());
            busy++;
            if (busy_since < 0) busy_since = now;
        }
        sleep_s(0.002);
    }
    if (busy_since >= 0 && ul_now() - busy_since > worst) worst = ul_now() - busy_since; /* busy until the end */
    ul_net_close(probe);
    char *err = slurp_tag("err", "nolock");
    run_result c = run("net log '%s'", net);
    if (!strstr(c.out, " request {")) fail_msg("the request did not commit:\n%s", err);
    run_free(&c);
    free(err);
    print_message("write lock probes during a forget: %d free, %d busy (longest busy stretch %.3f s)\n", got, busy, worst);
    if (got < 5 || busy > got / 4 || worst > 0.5)
        fail_msg("forget seems to hold the write lock while computing: %d free, %d busy, longest %.3f s", got, busy, worst);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lost_update_registry), cmocka_unit_test(test_two_forgets),
        cmocka_unit_test(test_no_lost_update),       cmocka_unit_test(test_busy_timeout),
        cmocka_unit_test(test_readers_during_writers),
        cmocka_unit_test(test_no_lock_during_compute),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
