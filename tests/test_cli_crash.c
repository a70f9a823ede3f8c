/* Crash safety of the writers, end to end with the built `unlearn` ($UL_CLI), on synthetic data:
 *  - `net build` killed with SIGKILL at seeded random moments (>= 20 trials): afterwards DIR is
 *    absent or `net check` reports nothing but orphan/temp leftovers (every checkpoint it lists
 *    loads: the check loads them all); re-running the build completes it with the checkpoints of
 *    an uninterrupted build, `net check` is clean and no DIR.partial-<pid> is left;
 *  - `forget` killed the same way (>= 20 trials): the request is committed completely (every
 *    affected model has its new version, the receipt is stored, `net log` shows the request) or
 *    not at all (the registry is as before); committed versions load (`net check`, `eval` on one);
 *    re-running completes it with the checkpoints of an uninterrupted request, and the network is
 *    clean again (orphans become referenced, temporary files are removed by the next writer);
 *  - a file size limit (setrlimit(RLIMIT_FSIZE) in the child, SIGXFSZ ignored so writes fail with
 *    EFBIG) swept over sizes that fail at different points (SQLite's WAL index, the WAL, checkpoint
 *    objects) for `forget`, `net build` and `train -o`: a clear error naming the cause, a non-zero
 *    exit, nothing committed, the previous state intact, no temporary file left; re-running
 *    without the limit completes;
 *  - when running as root with mount permitted (in a private mount namespace, so nothing leaks out
 *    of this process): a read-only tmpfs (readers work, writers are refused clearly, nothing
 *    changes; chmod would not do, root ignores it) and a full tmpfs (ENOSPC at several points, as
 *    for the size limit). Skipped cleanly otherwise;
 *  - a Fisher cache with -inf/negative values makes dampening produce non-finite values: the
 *    request must not commit them (whatever else it does).
 */
#define _GNU_SOURCE /* unshare, CLONE_NEWNS */
#include "ul_test.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <time.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "unlearn/forget.h"
#include "unlearn/io.h"
#include "unlearn/rng.h"

#define TRIALS 20
#define SIDE 8
#define SMALL_ARCH "mlp:64-32-10"
#define BIG_ARCH "mlp:64-256-256-10"
#define FORGET_LABEL "3"

static const char *g_cli;
static char g_dir[320];
static char g_small[340], g_big[340];         /* data: 800 and 4000 training samples */
static char g_snet[340], g_bnet[340];         /* base networks (mixed) on them, never changed */
static char *g_sref, *g_bref;                 /* "name=ckpt;" after an uninterrupted forget */
static char *g_sbase, *g_bbase;               /* the same before it */

#include "ult_cli.h"

/* ---- helpers ------------------------------------------------------------------------- */

static void sh(const char *fmt, ...) UL_PRINTF(1, 2);
static void sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) fail_msg("command failed: %s", cmd);
}

static bool exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static void sleep_s(double s) {
    if (s <= 0) return;
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Start `unlearn argv...` with stdout/stderr to files in g_dir (out.<tag>, err.<tag>); fsize > 0
 * sets RLIMIT_FSIZE in the child (SIGXFSZ ignored, so writes fail with EFBIG). */
static pid_t spawn(char *const *argv, const char *tag, rlim_t fsize) {
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
        if (fsize > 0) {
            signal(SIGXFSZ, SIG_IGN);
            struct rlimit rl = {fsize, fsize};
            if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(125);
        }
        execv(g_cli, argv);
        _exit(127);
    }
    return pid;
}

/* Exit status, or 128 + signal. */
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

/* Run to completion with an optional size limit; *err gets stderr (caller frees). */
static int run_argv(char *const *argv, rlim_t fsize, char **err) {
    int code = wait_code(spawn(argv, "run", fsize));
    if (err) *err = slurp_tag("err", "run");
    return code;
}

/* "name=ckpt;" for every model of a network, in creation order. */
static char *ckpt_list(const char *net) {
    run_result r = run("net show '%s' --json", net);
    EXPECT_CODE(r, 0, "net show --json");
    cJSON *j = cJSON_Parse(r.out), *x;
    if (!cJSON_IsArray(j)) fail_msg("net show --json printed no array:\n%s", r.out);
    size_t cap = 64 + (size_t)cJSON_GetArraySize(j) * 140, k = 0;
    char *s = calloc(cap, 1);
    cJSON_ArrayForEach(x, j) {
        k += (size_t)snprintf(s + k, cap - k, "%s=%s;", cJSON_GetObjectItem(x, "name")->valuestring,
                              cJSON_GetObjectItem(x, "ckpt")->valuestring);
    }
    cJSON_Delete(j);
    run_free(&r);
    return s;
}

/* `net check`: exit status; orphan/temp lines counted; any other problem line fails unless allowed. */
static int check_net(const char *net, bool allow_leftovers, int *orphans, int *temps, const char *what) {
    run_result c = run("net check '%s'", net);
    int o = 0, t = 0, others = 0;
    for (const char *p = c.out; *p;) {
        const char *e = strchr(p, '\n');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > 0 && strncmp(p, "net check:", 10) != 0) {
            if (strncmp(p, "orphan:", 7) == 0) o++;
            else if (strncmp(p, "temp:", 5) == 0) t++;
            else others++;
        }
        p += len + (e ? 1 : 0);
    }
    if (others || (!allow_leftovers && (o || t || c.code != 0)) || (c.code == 0 && o + t > 0) ||
        (c.code != 0 && o + t == 0))
        fail_msg("%s: net check exit %d:\n%s%s", what, c.code, c.out, c.err);
    if (orphans) *orphans = o;
    if (temps) *temps = t;
    int code = c.code;
    run_free(&c);
    return code;
}

/* Files whose name contains ".tmp." or ".partial-" under dir (recursively), counted. */
static int leftovers(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[1200];
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (strstr(e->d_name, ".tmp.") || strstr(e->d_name, ".partial-")) {
            n++;
            print_message("  leftover: %s\n", p);
        }
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode)) n += leftovers(p);
    }
    closedir(d);
    return n;
}

typedef struct req_state {
    int requests;   /* requests rows */
    int receipts;   /* requests with a receipt */
    int versions;   /* versions made by a request */
    int logged;     /* "request" lines in `net log` */
} req_state;

static req_state requests_of(const char *net) {
    req_state r = {0, 0, 0, 0};
    char path[400];
    snprintf(path, sizeof path, "%s/umig.db", net);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 5000);
    const char *q[3] = {"SELECT COUNT(*) FROM requests", "SELECT COUNT(*) FROM requests WHERE receipt IS NOT NULL",
                        "SELECT COUNT(*) FROM versions WHERE request IS NOT NULL"};
    int *dst[3] = {&r.requests, &r.receipts, &r.versions};
    for (int i = 0; i < 3; i++) {
        sqlite3_stmt *s = NULL;
        assert_int_equal(sqlite3_prepare_v2(db, q[i], -1, &s, NULL), SQLITE_OK);
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        *dst[i] = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    sqlite3_close(db);
    run_result l = run("net log '%s'", net);
    EXPECT_CODE(l, 0, "net log");
    for (const char *p = l.out; (p = strstr(p, " request {")) != NULL; p++) r.logged++;
    run_free(&l);
    return r;
}

/* The request is all there or not there at all; returns true when committed. */
static bool atomic_request(const char *net, int affected, const char *what) {
    req_state r = requests_of(net);
    if (r.requests == 0 && r.receipts == 0 && r.versions == 0 && r.logged == 0) return false;
    if (r.requests == 1 && r.receipts == 1 && r.versions == affected && r.logged == 1) return true;
    fail_msg("%s: a partly committed request: %d requests, %d receipts, %d new versions of %d, %d log lines", what,
             r.requests, r.receipts, r.versions, affected, r.logged);
    return false;
}

static int count_models(const char *list) {
    int n = 0;
    for (const char *p = list; *p; p++) n += *p == ';';
    return n;
}

/* A fresh copy of a base network. */
static void copy_net(const char *base, const char *to) { sh("rm -rf '%s' && cp -r '%s' '%s'", to, base, to); }

#define FORGET_ARGV(net)                                                                                             \
    (char *const[]) { (char *)g_cli, "forget", (char *)(net), "--labels", FORGET_LABEL, "--threads", "2", "-q", NULL }

static double timed_forget(const char *base, const char *net) {
    copy_net(base, net);
    double t0 = ul_now();
    char *err = NULL;
    int code = run_argv(FORGET_ARGV(net), 0, &err);
    if (code != 0) fail_msg("forget failed (%d): %s", code, err);
    free(err);
    return ul_now() - t0;
}

/* ---- setup --------------------------------------------------------------------------- */

static void write_data(const char *dir, size_t ntrain) {
    mkdir(dir, 0755);
    ult_write_pattern_idx(ult_path(dir, "train-images-idx3-ubyte"), ult_path(dir, "train-labels-idx1-ubyte"), ntrain, SIDE, 41);
    ult_write_pattern_idx(ult_path(dir, "t10k-images-idx3-ubyte"), ult_path(dir, "t10k-labels-idx1-ubyte"), 200, SIDE, 42);
}

static int setup(void **state) {
    (void)state;
    g_cli = getenv("UL_CLI");
    if (!g_cli || access(g_cli, X_OK) != 0) {
        fprintf(stderr, "test_cli_crash: UL_CLI is not set to an executable\n");
        return -1;
    }
    snprintf(g_dir, sizeof g_dir, "%.300s", ult_tmpdir("test_cli_crash"));
    snprintf(g_small, sizeof g_small, "%.300s/small", g_dir);
    snprintf(g_big, sizeof g_big, "%.300s/big", g_dir);
    snprintf(g_snet, sizeof g_snet, "%.300s/snet", g_dir);
    snprintf(g_bnet, sizeof g_bnet, "%.300s/bnet", g_dir);
    write_data(g_small, 800);
    write_data(g_big, 4000);
    run_result r = run("net build '%s' --scenario mixed --data '%s' --arch " SMALL_ARCH " --epochs 2 --threads 2 --seed 2 -q",
                       g_snet, g_small);
    int ok = r.code == 0;
    run_free(&r);
    r = run("net build '%s' --scenario mixed --data '%s' --arch " BIG_ARCH " --epochs 1 --threads 2 --seed 2 -q", g_bnet,
            g_big);
    ok = ok && r.code == 0;
    run_free(&r);
    return ok ? 0 : -1;
}

static void ensure_refs(void) {
    if (g_sref) return;
    g_sbase = ckpt_list(g_snet);
    g_bbase = ckpt_list(g_bnet);
    const char *w = ult_path(g_dir, "ref");
    timed_forget(g_snet, w);
    g_sref = ckpt_list(w);
    timed_forget(g_bnet, w);
    g_bref = ckpt_list(w);
    if (strcmp(g_bref, g_bbase) == 0) fail_msg("the reference forget changed nothing");
}

/* ---- net build killed ---------------------------------------------------------------- */

static char *build_argv[] = {NULL, "net", "build", NULL, "--scenario", "dag", "--depth", "10", "--data", NULL,
                             "--arch", SMALL_ARCH, "--epochs", "2", "--threads", "2", "--seed", "5", "-q", NULL};

/* A build of 4 big models (il) for the size limits: its checkpoints are larger than the WAL index. */
static char *const *big_build_argv(const char *dir) {
    static char *v[] = {NULL, "net", "build", NULL, "--scenario", "il", "--data", NULL, "--arch", BIG_ARCH, "--epochs", "1",
                        "--threads", "2", "-q", NULL};
    v[0] = (char *)g_cli;
    v[3] = (char *)dir;
    v[7] = g_small;
    return v;
}

static int full_build(const char *dir) {
    build_argv[0] = (char *)g_cli;
    build_argv[3] = (char *)dir;
    build_argv[9] = g_small;
    return wait_code(spawn(build_argv, "build", 0));
}

static void test_kill_build(void **s) {
    (void)s;
    const char *ref = ult_path(g_dir, "build-ref");
    double t0 = ul_now();
    assert_int_equal(full_build(ref), 0);
    double t = ul_now() - t0;
    char *want = ckpt_list(ref);
    const int total = count_models(want);
    print_message("net build kill test: an uninterrupted build of %d models takes %.3f s\n", total, t);
    ul_rng r;
    ul_rng_seed(&r, 20250101);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/build-kill", g_dir);
    int absent = 0, partial = 0, complete = 0, orphans = 0, temps = 0;
    for (int trial = 0; trial < TRIALS; trial++) {
        sh("rm -rf '%s'", dir);
        build_argv[0] = (char *)g_cli;
        build_argv[3] = dir;
        build_argv[9] = g_small;
        /* most kills are timed from the moment DIR appears (so start-up costs do not matter);
         * every fifth one lands during start-up and network creation */
        const bool early = trial % 5 == 4;
        double delay = early ? ul_rng_uniform(&r) * 0.05 : ul_rng_uniform(&r) * 0.95 * t;
        pid_t pid = spawn(build_argv, "build", 0);
        if (!early) {
            const double w0 = ul_now();
            while (!exists(dir) && ul_now() - w0 < 5.0 * t + 5.0 && waitpid(pid, NULL, WNOHANG) == 0) sleep_s(0.0005);
        }
        sleep_s(delay);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        int present = 0;
        if (!exists(dir)) {
            absent++;
        } else {
            int o = 0, tm = 0;
            check_net(dir, true, &o, &tm, "after a killed build");
            orphans += o;
            temps += tm;
            char *got = ckpt_list(dir);
            present = count_models(got);
            if (strncmp(want, got, strlen(got)) != 0) fail_msg("trial %d: the models present are not a prefix of the build:\n%s\n%s", trial, got, want);
            free(got);
            if (present == total) complete++;
            else partial++;
        }
        assert_int_equal(full_build(dir), 0);
        char *got = ckpt_list(dir);
        if (strcmp(got, want) != 0) fail_msg("trial %d: the resumed build differs from an uninterrupted one", trial);
        free(got);
        assert_int_equal(check_net(dir, false, NULL, NULL, "after resuming a build"), 0);
        if (leftovers(g_dir) > 0) fail_msg("trial %d: temporary files or DIR.partial-* left after resuming", trial);
        print_message("  build trial %2d: killed at %.3f s%s, %d/%d models present\n", trial, delay,
                      early ? " after start" : " after DIR appeared", present, total);
    }
    print_message("net build kill test: %d trials: %d before DIR existed, %d mid-build, %d complete; %d orphan and %d "
                  "temp lines seen\n",
                  TRIALS, absent, partial, complete, orphans, temps);
    if (partial < TRIALS / 3) fail_msg("only %d of %d kills landed mid-build", partial, TRIALS);
    free(want);
}

/* ---- forget killed ------------------------------------------------------------------- */

static void test_kill_forget(void **s) {
    (void)s;
    ensure_refs();
    const char *tw = ult_path(g_dir, "timing");
    double t = timed_forget(g_bnet, tw);
    double t2 = timed_forget(g_bnet, tw);
    if (t2 > t) t = t2;
    const int affected = count_models(g_bref);
    print_message("forget kill test: an uninterrupted request over %d models takes %.3f s (process included)\n", affected, t);
    ul_rng r;
    ul_rng_seed(&r, 20250202);
    char net[400];
    snprintf(net, sizeof net, "%s/forget-kill", g_dir);
    int nothing = 0, leftover = 0, committed = 0;
    for (int trial = 0; trial < TRIALS; trial++) {
        copy_net(g_bnet, net);
        double delay = ul_rng_uniform(&r) * 1.05 * t;
        pid_t pid = spawn(FORGET_ARGV(net), "forget", 0);
        sleep_s(delay);
        kill(pid, SIGKILL);
        int code = wait_code(pid);
        int o = 0, tm = 0;
        check_net(net, true, &o, &tm, "after a killed forget");
        bool done = atomic_request(net, affected, "after a killed forget");
        char *got = ckpt_list(net);
        if (strcmp(got, done ? g_bref : g_bbase) != 0)
            fail_msg("trial %d: %s, but the current checkpoints are neither the old nor the new ones", trial,
                     done ? "committed" : "not committed");
        free(got);
        /* a committed version loads and evaluates (the check loaded every checkpoint already) */
        run_result e = run("eval -m '%s/objects/%.64s.safetensors' --data '%s' --threads 1",
                           net, strrchr(done ? g_bref : g_bbase, '=') + 1, g_big);
        EXPECT_CODE(e, 0, "eval of the last model after a kill");
        run_free(&e);
        if (done) committed++;
        else if (o + tm) leftover++;
        else nothing++;
        if (!done) {
            char *err = NULL;
            int rc = run_argv(FORGET_ARGV(net), 0, &err);
            if (rc != 0) fail_msg("trial %d: re-running forget failed (%d): %s", trial, rc, err);
            free(err);
            assert_true(atomic_request(net, affected, "after re-running forget"));
            got = ckpt_list(net);
            if (strcmp(got, g_bref) != 0) fail_msg("trial %d: the re-run request differs from an uninterrupted one", trial);
            free(got);
        }
        assert_int_equal(check_net(net, false, NULL, NULL, "after completing the request"), 0);
        print_message("  forget trial %2d: killed at %.3f s (status %d): %s, %d orphan, %d temp\n", trial, delay, code,
                      done ? "committed" : "not committed", o, tm);
    }
    print_message("forget kill test: %d trials: %d killed before writing, %d mid-write (orphans/temps left), %d after "
                  "the commit\n",
                  TRIALS, nothing, leftover, committed);
    if (nothing + leftover == 0 || committed == TRIALS) fail_msg("the kills did not land inside requests");
}

/* ---- file size limits (RLIMIT_FSIZE) ------------------------------------------------- */

/* Checkpoints of BIG_ARCH are about 340 kB, SQLite's WAL index 32 kB: the small limits fail
 * while opening the registry, the middle ones while storing checkpoints, 1 MiB passes. */
static const rlim_t LIMITS[] = {4096, 20000, 36000, 100000, 200000, 300000, 1 << 20};
#define NLIMITS (sizeof LIMITS / sizeof *LIMITS)

/* A failure must be clear: the command's error line naming the cause. */
static void expect_clear(const char *err, const char *cmd, const char *cause, const char *what) {
    char head[64];
    snprintf(head, sizeof head, "unlearn %s: error: ", cmd);
    if (!strstr(err, head) || !strstr(err, cause)) fail_msg("%s: unclear error (want '%s'):\n%s", what, cause, err);
}

static void test_fsize_forget(void **s) {
    (void)s;
    ensure_refs();
    const int affected = count_models(g_bref);
    char net[400];
    snprintf(net, sizeof net, "%s/fsize-forget", g_dir);
    int failed = 0, ok = 0;
    for (size_t i = 0; i < NLIMITS; i++) {
        copy_net(g_bnet, net);
        char *err = NULL;
        int code = run_argv(FORGET_ARGV(net), LIMITS[i], &err);
        bool done = atomic_request(net, affected, "forget under a size limit");
        if (code == 0) {
            if (!done) fail_msg("limit %lu: exit 0 but nothing committed", (unsigned long)LIMITS[i]);
            ok++;
        } else {
            if (done) fail_msg("limit %lu: exit %d but the request committed", (unsigned long)LIMITS[i], code);
            expect_clear(err, "forget", "File too large", "forget under a size limit");
            char *got = ckpt_list(net);
            if (strcmp(got, g_bbase) != 0) fail_msg("limit %lu: a failed request changed the network", (unsigned long)LIMITS[i]);
            free(got);
            failed++;
        }
        int o = 0, t = 0;
        check_net(net, true, &o, &t, "after forget under a size limit");
        if (t || leftovers(net)) fail_msg("limit %lu: temporary files left behind", (unsigned long)LIMITS[i]);
        char first[400];
        snprintf(first, sizeof first, "%s", err);
        first[strcspn(first, "\n")] = '\0';
        print_message("  forget, file size limit %7lu: exit %d%s%s\n", (unsigned long)LIMITS[i], code, code ? ": " : "",
                      code ? first : "");
        free(err);
        if (!done) { /* without the limit it completes */
            err = NULL;
            assert_int_equal(run_argv(FORGET_ARGV(net), 0, &err), 0);
            free(err);
            char *got = ckpt_list(net);
            if (strcmp(got, g_bref) != 0) fail_msg("limit %lu: the completed request differs", (unsigned long)LIMITS[i]);
            free(got);
            assert_int_equal(check_net(net, false, NULL, NULL, "after completing"), 0);
        }
    }
    print_message("forget under file size limits: %d failed cleanly, %d completed\n", failed, ok);
    assert_true(failed >= 3 && ok >= 1);
}

static void test_fsize_build_train(void **s) {
    (void)s;
    const char *ref = ult_path(g_dir, "fsize-build-ref");
    if (!exists(ref)) assert_int_equal(run_argv(big_build_argv(ref), 0, NULL), 0);
    char *want = ckpt_list(ref);
    char dir[400], out[400];
    snprintf(dir, sizeof dir, "%s/fsize-build", g_dir);
    snprintf(out, sizeof out, "%s/fsize-model.safetensors", g_dir);
    int failed = 0;
    for (size_t i = 0; i < NLIMITS; i++) {
        sh("rm -rf '%s'", dir);
        char *err = NULL;
        int code = run_argv(big_build_argv(dir), LIMITS[i], &err);
        char first[400];
        snprintf(first, sizeof first, "%s", err);
        first[strcspn(first, "\n")] = '\0';
        print_message("  net build, file size limit %7lu: exit %d%s%s\n", (unsigned long)LIMITS[i], code, code ? ": " : "",
                      code ? first : "");
        if (code != 0) {
            expect_clear(err, "net build", "File too large", "net build under a size limit");
            failed++;
            if (exists(dir)) check_net(dir, true, NULL, NULL, "after a failed build"); /* the models so far are kept */
        }
        if (leftovers(g_dir)) fail_msg("net build, limit %lu: temporary files or DIR.partial-* left", (unsigned long)LIMITS[i]);
        free(err);
        assert_int_equal(run_argv(big_build_argv(dir), 0, NULL), 0);
        char *got = ckpt_list(dir);
        if (strcmp(got, want) != 0) fail_msg("net build, limit %lu: the completed build differs", (unsigned long)LIMITS[i]);
        free(got);
        assert_int_equal(check_net(dir, false, NULL, NULL, "after completing the build"), 0);
        /* train -o: no output and no temporary file on failure */
        unlink(out);
        char *targv[] = {(char *)g_cli, "train", "--data", g_small, "--arch", BIG_ARCH, "--epochs", "1", "--threads", "2",
                         "-q", "-o", out, NULL};
        code = run_argv(targv, LIMITS[i], &err);
        if (code != 0) {
            expect_clear(err, "train", "File too large", "train under a size limit");
            if (exists(out)) fail_msg("train, limit %lu: failed but wrote %s", (unsigned long)LIMITS[i], out);
        } else {
            ul_model *m = NULL;
            ULT_OK(ul_ckpt_load(out, NULL, NULL, &m, NULL));
            ul_model_free(m);
        }
        if (leftovers(g_dir)) fail_msg("train, limit %lu: temporary files left", (unsigned long)LIMITS[i]);
        free(err);
    }
    print_message("net build under file size limits: %d of %zu failed cleanly\n", failed, NLIMITS);
    assert_true(failed >= 3);
    free(want);
}

/* ---- read-only and full file systems (root, mount permitted) -------------------------- */

/* "path sha256" of every file under dir, sorted: compares a tree before and after. */
static char *tree_digest(const char *dir) {
    char o[400], cmd[2000];
    snprintf(o, sizeof o, "%s/digest.txt", g_dir);
    snprintf(cmd, sizeof cmd, "cd '%s' && find . -print0 | sort -z | xargs -0 ls -ld --time-style=+%%s.%%N > '%s' && "
                              "find . -type f -print0 | sort -z | xargs -0 sha256sum >> '%s'", dir, o, o);
    if (system(cmd) != 0) fail_msg("cannot digest %s", dir);
    return slurp(o, NULL);
}

static bool g_ns_ready;

/* A private mount namespace for this process (and the commands it runs): mounts made here vanish
 * with it. false when not permitted. */
static bool private_mounts(void) {
    if (g_ns_ready) return true;
    if (geteuid() != 0) return false;
    if (unshare(CLONE_NEWNS) != 0) return false;
    if (mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) return false;
    g_ns_ready = true;
    return true;
}

static bool mount_tmpfs(const char *at, const char *opts) {
    mkdir(at, 0755);
    return mount("tmpfs", at, "tmpfs", 0, opts) == 0;
}

static void test_readonly_fs(void **s) {
    (void)s;
    ensure_refs();
    char mnt[400];
    snprintf(mnt, sizeof mnt, "%s/ro", g_dir);
    if (!private_mounts() || !mount_tmpfs(mnt, "size=8m")) {
        print_message("skipped: needs root and permission to mount a tmpfs (chmod does not stop root)\n");
        skip();
    }
    char net[500], digest_dir[500];
    snprintf(net, sizeof net, "%s/net", mnt);
    snprintf(digest_dir, sizeof digest_dir, "%s", mnt);
    sh("cp -r '%s' '%s'", g_snet, net);
    assert_int_equal(mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL), 0);
    char *before = tree_digest(digest_dir);
    /* readers work */
    static const char *const readers[] = {"net show '%s'", "net log '%s'", "net check '%s'", "forget '%s' --labels 3 --dry-run -q"};
    for (int i = 0; i < 4; i++) {
        run_result r = run(readers[i], net);
        EXPECT_CODE(r, 0, readers[i]);
        run_free(&r);
    }
    /* writers are refused, clearly */
    run_result r = run("forget '%s' --labels 3 -q", net);
    EXPECT_CODE(r, 3, "forget on a read-only file system");
    EXPECT_HAS(r.err, "read-only file system", "forget on a read-only file system");
    run_free(&r);
    r = run("net add '%s' --name extra -m '%s/objects/%.64s.safetensors' --data '%s' -q", net, net,
            strchr(g_sbase, '=') + 1, g_small);
    EXPECT_CODE(r, 3, "net add on a read-only file system");
    EXPECT_HAS(r.err, "read-only file system", "net add on a read-only file system");
    run_free(&r);
    r = run("net build '%s/new' --scenario il --data '%s' --arch " SMALL_ARCH " -q", mnt, g_small);
    EXPECT_CODE(r, 3, "net build on a read-only file system");
    EXPECT_HAS(r.err, "Read-only file system", "net build on a read-only file system");
    run_free(&r);
    r = run("train --data '%s' --arch " SMALL_ARCH " --epochs 1 -q -o '%s/m.safetensors'", g_small, mnt);
    EXPECT_CODE(r, 2, "train -o on a read-only file system");
    EXPECT_HAS(r.err, "is not writable", "train -o on a read-only file system");
    run_free(&r);
    char *after = tree_digest(digest_dir);
    if (strcmp(before, after) != 0) fail_msg("the read-only tree changed:\n%s\n%s", before, after);
    free(before);
    free(after);
    umount2(mnt, MNT_DETACH);
}

/* Fill the file system at dir up to `keep` free bytes with a filler file. */
static void fill_fs(const char *filler, unsigned long keep) {
    int fd = open(filler, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    static char block[4096];
    for (;;) {
        struct statvfs v;
        assert_int_equal(fstatvfs(fd, &v), 0);
        unsigned long freeb = (unsigned long)v.f_bavail * v.f_bsize;
        if (freeb <= keep) break;
        size_t n = freeb - keep < sizeof block ? freeb - keep : sizeof block;
        if (write(fd, block, n) <= 0) break;
    }
    close(fd);
}

static void test_full_fs(void **s) {
    (void)s;
    ensure_refs();
    char mnt[400];
    snprintf(mnt, sizeof mnt, "%s/full", g_dir);
    if (!private_mounts() || !mount_tmpfs(mnt, "size=2m")) {
        print_message("skipped: needs root and permission to mount a tmpfs\n");
        skip();
    }
    const int affected = count_models(g_sref);
    char net[500], filler[500];
    snprintf(net, sizeof net, "%s/net", mnt);
    snprintf(filler, sizeof filler, "%s/filler", mnt);
    static const unsigned long keep[] = {0, 8192, 20480, 40960, 65536, 98304, 131072, 262144};
    int failed = 0, ok = 0;
    for (size_t i = 0; i < sizeof keep / sizeof *keep; i++) {
        unlink(filler);
        copy_net(g_snet, net);
        fill_fs(filler, keep[i]);
        char *err = NULL;
        int code = run_argv(FORGET_ARGV(net), 0, &err);
        unlink(filler); /* room for the checks */
        bool done = atomic_request(net, affected, "forget on a full file system");
        char first[200];
        snprintf(first, sizeof first, "%s", err);
        first[strcspn(first, "\n")] = '\0';
        print_message("  forget with %6lu bytes free: exit %d%s%s\n", keep[i], code, code ? ": " : "", code ? first : "");
        if (code == 0) {
            if (!done) fail_msg("%lu bytes free: exit 0 but nothing committed", keep[i]);
            ok++;
        } else {
            if (done) fail_msg("%lu bytes free: exit %d but committed", keep[i], code);
            if (!strstr(err, "No space left on device") && !strstr(err, "disk is full"))
                fail_msg("%lu bytes free: unclear error:\n%s", keep[i], err);
            char *got = ckpt_list(net);
            if (strcmp(got, g_sbase) != 0) fail_msg("%lu bytes free: a failed request changed the network", keep[i]);
            free(got);
            failed++;
        }
        free(err);
        int o = 0, t = 0;
        check_net(net, true, &o, &t, "after forget on a full file system");
        if (t || leftovers(mnt)) fail_msg("%lu bytes free: temporary files left behind", keep[i]);
        if (!done) {
            err = NULL;
            assert_int_equal(run_argv(FORGET_ARGV(net), 0, &err), 0);
            free(err);
            char *got = ckpt_list(net);
            if (strcmp(got, g_sref) != 0) fail_msg("%lu bytes free: the completed request differs", keep[i]);
            free(got);
        }
    }
    /* a build into a full file system: nothing half-made is left */
    char dir[500];
    snprintf(dir, sizeof dir, "%s/newnet", mnt);
    sh("rm -rf '%s'", net);
    fill_fs(filler, 16384);
    char *err = NULL;
    build_argv[0] = (char *)g_cli;
    build_argv[3] = dir;
    build_argv[9] = g_small;
    int code = run_argv(build_argv, 0, &err);
    unlink(filler);
    if (code == 0) fail_msg("net build into a full file system succeeded");
    if (!strstr(err, "No space left on device") && !strstr(err, "disk is full")) fail_msg("net build, full: unclear error:\n%s", err);
    if (exists(dir)) check_net(dir, true, NULL, NULL, "after a build into a full file system");
    if (leftovers(mnt)) fail_msg("net build into a full file system left temporary files");
    free(err);
    print_message("forget on a full file system: %d failed cleanly, %d completed\n", failed, ok);
    assert_true(failed >= 2);
    umount2(mnt, MNT_DETACH);
}

/* ---- non-finite dampening --------------------------------------------------------------- */

static void test_nonfinite_not_committed(void **s) {
    (void)s;
    ensure_refs();
    char net[400];
    snprintf(net, sizeof net, "%s/nonfinite", g_dir);
    copy_net(g_snet, net);
    /* root 'a' (it learned label 3 first) gets a Fisher cache of -inf and negative values */
    char path[500];
    snprintf(path, sizeof path, "%s/umig.db", net);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT fisher FROM versions WHERE name = 'a'", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    char fi[65];
    snprintf(fi, sizeof fi, "%s", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    assert_int_equal((int)strlen(fi), 64);
    snprintf(path, sizeof path, "%s/objects/%s.fisher", net, fi);
    ul_st_file *f = NULL;
    ULT_OK(ul_st_read(path, &f));
    const ul_st_tensor *t = ul_st_find(f, "fisher");
    size_t P = (size_t)t->shape[0];
    float *F = malloc(P * sizeof *F);
    for (size_t i = 0; i < P; i++) F[i] = i % 3 ? -1e-3f : -INFINITY;
    ul_st_writer *w = NULL;
    ULT_OK(ul_st_writer_create(&w));
    int64_t shape[1] = {(int64_t)P};
    ULT_OK(ul_st_writer_add(w, "fisher", UL_DT_F32, 1, shape, F));
    for (int i = 0; i < ul_st_meta_count(f); i++) ULT_OK(ul_st_writer_meta(w, ul_st_meta_key(f, i), ul_st_meta(f, ul_st_meta_key(f, i))));
    uint8_t *buf = NULL;
    size_t len = 0;
    ULT_OK(ul_st_writer_to_buffer(w, &buf, &len));
    char hex[65], q[300];
    ul_sha256_hex(buf, len, hex);
    snprintf(path, sizeof path, "%s/objects/%s.fisher", net, hex);
    ult_write(path, buf, len);
    snprintf(q, sizeof q, "UPDATE versions SET fisher = '%s' WHERE name = 'a'", hex);
    assert_int_equal(sqlite3_exec(db, q, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    free(buf);
    free(F);
    ul_st_writer_free(w);
    ul_st_free(f);

    char *err = NULL; /* not -q: warnings are part of the answer */
    char *argv[] = {(char *)g_cli, "forget", net, "--labels", FORGET_LABEL, "--threads", "2", NULL};
    int code = run_argv(argv, 0, &err);
    const int affected = count_models(g_sref);
    bool done = atomic_request(net, affected, "forget with a corrupt Fisher cache");
    print_message("forget with a -inf/negative Fisher cache: exit %d, %s\n%s", code, done ? "committed" : "nothing committed", err);
    /* whatever happens, no non-finite checkpoint is committed: `net check` loads every checkpoint
     * (only the planted cache itself, and objects left by the refused request, may be reported) */
    run_result c = run("net check '%s'", net);
    if (strstr(c.out, "checkpoint:")) fail_msg("a non-finite checkpoint was committed:\n%s", c.out);
    if (!strstr(c.out, "fisher:")) fail_msg("net check does not report the planted Fisher cache:\n%s", c.out);
    run_free(&c);
    if (code != 0) {
        if (done) fail_msg("forget failed (%d) but committed", code);
        EXPECT_HAS(err, "model 'a'", "the refusal names the model");
        EXPECT_HAS(err, "nothing committed", "the refusal says nothing was committed");
        char *got = ckpt_list(net);
        if (strcmp(got, g_sbase) != 0) fail_msg("a refused request changed the network");
        free(got);
    }
#ifdef UL_FORGET_VALIDATES_FISHER
    /* with PROPOSED-forget.diff: the damaged cache is ignored (recomputed) and the request succeeds */
    if (code != 0 || !done) fail_msg("forget did not recompute the damaged Fisher cache (exit %d)", code);
    EXPECT_HAS(err, "Fisher cache", "a warning about the ignored cache");
    char *got = ckpt_list(net);
    if (strcmp(got, g_sref) != 0) fail_msg("with the cache recomputed the request differs from the reference");
    free(got);
#else
    print_message("note: forget refuses (exit %d) instead of recomputing the damaged cache; recomputing with a "
                  "warning and exit 5 for non-finite results are pending PROPOSED-forget.diff\n", code);
#endif
    free(err);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kill_build),        cmocka_unit_test(test_kill_forget),
        cmocka_unit_test(test_fsize_forget),      cmocka_unit_test(test_fsize_build_train),
        cmocka_unit_test(test_readonly_fs),       cmocka_unit_test(test_full_fs),
        cmocka_unit_test(test_nonfinite_not_committed),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
