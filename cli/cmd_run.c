/* cli/cmd_run.c: `unlearn run RECIPE.json [-o DIR] [--verify]`: run a whole experiment described
 * by a recipe (cli/recipe.h, docs/recipes.md) through the same code paths as the commands (it
 * composes their argument vectors and calls cmd_net, cmd_forget, cmd_bench and cmd_demo in this
 * process, inside a temporary directory that is renamed onto DIR at the end), then checks every
 * expectation: PASS/FAIL per expectation, exit 0 when all pass and CLI_EXIT_DRIFT (7) otherwise.
 * DIR/run.json records the recipe's SHA-256, the seed, the effective configuration and every
 * outcome. Deliberately no scheduling, no parallel steps and no retries.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "unlearn/io.h"

#include "commands.h"
#include "common.h"
#include "opts.h"
#include "recipe.h"

enum { R_OUTPUT, R_VERIFY, R_THREADS, R_QUIET, R_COUNT };

/* ---- argument vectors ------------------------------------------------------------------------- */

typedef struct argl {
    char *v[96];
    int n;
    bool oom;
} argl;

static void add(argl *a, const char *fmt, ...) UL_PRINTF(2, 3);
static void add(argl *a, const char *fmt, ...) {
    if (a->n >= 95) {
        a->oom = true;
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *s = k >= 0 ? malloc((size_t)k + 1) : NULL;
    if (!s) {
        a->oom = true;
        return;
    }
    va_start(ap, fmt);
    vsnprintf(s, (size_t)k + 1, fmt, ap);
    va_end(ap);
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
}

static void argl_free(argl *a) {
    for (int i = 0; i < a->n; i++) free(a->v[i]);
    a->n = 0;
}

/* A JSON scalar as option text (numbers with %.17g, so they read back exactly). */
static void scalar_text(const cJSON *x, char *buf, size_t cap) {
    if (cJSON_IsString(x)) snprintf(buf, cap, "%s", x->valuestring);
    else if (cJSON_IsBool(x)) snprintf(buf, cap, "%s", cJSON_IsTrue(x) ? "on" : "off");
    else if (cJSON_IsNumber(x) && x->valuedouble == floor(x->valuedouble) && fabs(x->valuedouble) < 9.1e15)
        snprintf(buf, cap, "%.0f", x->valuedouble);
    else snprintf(buf, cap, "%.17g", cJSON_IsNumber(x) ? x->valuedouble : 0.0);
}

/* --opt value for a key of a section when present. */
static void opt(argl *a, const cJSON *sec, const char *key, const char *option) {
    const cJSON *x = sec ? cJSON_GetObjectItemCaseSensitive(sec, key) : NULL;
    if (!x) return;
    char v[512];
    scalar_text(x, v, sizeof v);
    add(a, "--%s", option);
    add(a, "%s", v);
}

/* A label set (string or array) as "3,5". */
static void labels_text(const cJSON *x, char *buf, size_t cap) {
    if (cJSON_IsString(x)) {
        snprintf(buf, cap, "%s", x->valuestring);
        return;
    }
    size_t k = 0;
    const cJSON *e;
    buf[0] = '\0';
    cJSON_ArrayForEach(e, x) if (k < cap) k += (size_t)snprintf(buf + k, cap - k, "%s%.0f", k ? "," : "", e->valuedouble);
}

/* A string or an array of strings joined with commas. */
static void list_text(const cJSON *x, char *buf, size_t cap) {
    if (cJSON_IsString(x)) {
        snprintf(buf, cap, "%s", x->valuestring);
        return;
    }
    size_t k = 0;
    const cJSON *e;
    buf[0] = '\0';
    cJSON_ArrayForEach(e, x) if (k < cap) k += (size_t)snprintf(buf + k, cap - k, "%s%s", k ? "," : "", e->valuestring);
}

/* ---- files ------------------------------------------------------------------------------------ */

static void rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char p[4096];
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) continue;
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) rm_tree(p);
            else unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

static cJSON *read_json(const char *cmd, const char *path) {
    uint8_t *buf = NULL;
    size_t len = 0;
    if (ul_read_file(path, (size_t)256 << 20, &buf, &len) != UL_OK) {
        cli_err(cmd, "reading '%s' that the run wrote: %s", path, ul_last_error());
        return NULL;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    if (!j) cli_err(cmd, "'%s' that the run wrote is not JSON", path);
    return j;
}

/* DIR may be absent, empty or an earlier run (holds run.json). */
static int check_out(const char *cmd, const char *out, bool *exists) {
    char parent[4096];
    const char *slash = strrchr(out, '/');
    if (!slash) snprintf(parent, sizeof parent, ".");
    else if (slash == out) snprintf(parent, sizeof parent, "/");
    else snprintf(parent, sizeof parent, "%.*s", (int)(slash - out), out);
    struct stat sb;
    *exists = false;
    if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_err(cmd, "-o/--output: directory '%s' of '%s' does not exist", parent, out);
        cli_hint("create it first (mkdir -p %s)", parent);
        return CLI_EXIT_USAGE;
    }
    if (stat(out, &sb) != 0) return 0;
    if (!S_ISDIR(sb.st_mode)) {
        cli_err(cmd, "-o/--output: '%s' exists and is not a directory", out);
        return CLI_EXIT_USAGE;
    }
    *exists = true;
    DIR *d = opendir(out);
    if (!d) {
        cli_err(cmd, "-o/--output: '%s': %s", out, strerror(errno));
        return CLI_EXIT_INPUT;
    }
    bool empty = true, run = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        empty = false;
        run |= strcmp(e->d_name, "run.json") == 0;
    }
    closedir(d);
    if (!empty && !run) {
        cli_err(cmd, "-o/--output: '%s' exists and holds no earlier run (no run.json); choose another -o or remove it", out);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

/* ---- the steps --------------------------------------------------------------------------------- */

typedef struct step_ctx {
    const char *cmd, *recipe;
    bool quiet;
    cJSON *commands; /* array of the command lines run */
} step_ctx;

/* Run `unlearn <a...>` in-process; a usage error of the inner command is the recipe's fault (3). */
static int step(step_ctx *s, int (*fn)(int, char **), const char *name, const char *shown, argl *a, const char *section) {
    if (a->oom) {
        cli_err(s->cmd, "out of memory composing the command line");
        return CLI_EXIT_INTERNAL;
    }
    char line[4096];
    size_t k = (size_t)snprintf(line, sizeof line, "unlearn %s", name);
    for (int i = 0; i < a->n && k < sizeof line; i++) k += (size_t)snprintf(line + k, sizeof line - k, " %s", a->v[i]);
    cJSON_AddItemToArray(s->commands, cJSON_CreateString(line));
    if (!s->quiet) {
        fprintf(stderr, "== %s\n", line);
        fflush(stderr);
    }
    int rc = fn(a->n, a->v);
    fflush(stdout);
    if (rc == CLI_EXIT_USAGE) {
        cli_err(s->cmd, "recipe '%s': the settings of '%s' were refused by `unlearn %s` (its message is above)", s->recipe,
                section, shown);
        return CLI_EXIT_INPUT;
    }
    if (rc != 0) cli_err(s->cmd, "`%s` failed with exit status %d", line, rc);
    return rc;
}

static void common_tail(argl *a, long threads, bool quiet) {
    add(a, "--threads");
    add(a, "%ld", threads);
    if (quiet) add(a, "-q");
}

/* A dataset given as a path is made absolute (the steps run inside the temporary directory); the
 * known names stay names. */
static void data_arg(const char *data, char *buf, size_t cap) {
    struct stat sb;
    char cwd[PATH_MAX];
    const bool named = strcmp(data, "fashion-mnist") == 0 || strcmp(data, "mnist") == 0;
    if (data[0] != '/' && !named && (strchr(data, '/') || stat(data, &sb) == 0) && getcwd(cwd, sizeof cwd))
        snprintf(buf, cap, "%s/%s", cwd, data);
    else snprintf(buf, cap, "%s", data);
}

static int run_forget(step_ctx *s, const cJSON *rc, const char *data, long threads, recipe_results *res, cJSON **keep) {
    const cJSON *net = cJSON_GetObjectItemCaseSensitive(rc, "network"), *fg = cJSON_GetObjectItemCaseSensitive(rc, "forget");
    argl a = {0};
    add(&a, "build");
    add(&a, "net");
    add(&a, "--data");
    add(&a, "%s", data);
    opt(&a, net, "scenario", "scenario");
    opt(&a, net, "arch", "arch");
    opt(&a, net, "width", "width");
    opt(&a, net, "depth", "depth");
    opt(&a, net, "epochs", "epochs");
    opt(&a, net, "max_samples", "max-samples");
    opt(&a, net, "seed", "seed");
    common_tail(&a, threads, true);
    int rc_ = step(s, cmd_net, "net", "net build", &a, "network");
    argl_free(&a);
    if (rc_) return rc_;
    char labels[1024], methods[8][32];
    labels_text(cJSON_GetObjectItemCaseSensitive(fg, "labels"), labels, sizeof labels);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(fg, "method"), *cmp = cJSON_GetObjectItemCaseSensitive(fg, "compare");
    int nm = 0;
    /* compared methods first, as dry runs on the same network state; then the recipe's method */
    const cJSON *c;
    if (cJSON_IsString(cmp)) snprintf(methods[nm++], sizeof methods[0], "%s", cmp->valuestring);
    else if (cmp) cJSON_ArrayForEach(c, cmp) if (nm < 7) snprintf(methods[nm++], sizeof methods[0], "%s", c->valuestring);
    snprintf(methods[nm++], sizeof methods[0], "%s", m ? m->valuestring : "fiun");
    const cJSON *dry = cJSON_GetObjectItemCaseSensitive(fg, "dry_run");
    for (int i = 0; i < nm; i++) {
        const bool main_run = i == nm - 1;
        add(&a, "net");
        add(&a, "--labels");
        add(&a, "%s", labels);
        add(&a, "--method");
        add(&a, "%s", methods[i]);
        if (main_run) {
            const cJSON *p;
            cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(fg, "params")) {
                char v[256], o[128];
                scalar_text(p, v, sizeof v);
                snprintf(o, sizeof o, "%s", p->string);
                for (char *ch = o; *ch; ch++)
                    if (*ch == '_') *ch = '-';
                add(&a, "--%s", o);
                add(&a, "%s", v);
            }
        }
        if (!main_run || cJSON_IsTrue(dry)) add(&a, "--dry-run");
        add(&a, "-o");
        add(&a, "%s.json", methods[i]);
        common_tail(&a, threads, true);
        rc_ = step(s, cmd_forget, "forget", "forget", &a, "forget");
        argl_free(&a);
        if (rc_) return rc_;
        char file[64];
        snprintf(file, sizeof file, "%s.json", methods[i]);
        if (!(keep[i] = read_json(s->cmd, file))) return CLI_EXIT_INPUT;
        res->names[res->nruns] = "?";
        res->runs[res->nruns++] = keep[i];
    }
    /* names must outlive this frame: point them at the results' own method strings */
    for (int i = 0; i < res->nruns; i++) {
        const cJSON *mm = cJSON_GetObjectItemCaseSensitive(res->runs[i], "method");
        res->names[i] = cJSON_IsString(mm) ? mm->valuestring : "?";
    }
    return 0;
}

static int run_bench(step_ctx *s, const cJSON *rc, const char *data, long threads, recipe_results *res, cJSON **keep) {
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(rc, "bench");
    argl a = {0};
    char t[2048];
    add(&a, "methods");
    add(&a, "--data");
    add(&a, "%s", data);
    opt(&a, b, "arch", "arch");
    opt(&a, b, "width", "width");
    opt(&a, b, "scenario", "scenario");
    opt(&a, b, "split_seed", "split-seed");
    const cJSON *x;
    if ((x = cJSON_GetObjectItemCaseSensitive(b, "methods"))) {
        list_text(x, t, sizeof t);
        add(&a, "--methods");
        add(&a, "%s", t);
    }
    opt(&a, b, "seeds", "seeds");
    if ((x = cJSON_GetObjectItemCaseSensitive(b, "seed_list"))) {
        labels_text(x, t, sizeof t);
        add(&a, "--seed-list");
        add(&a, "%s", t);
    }
    opt(&a, b, "epochs", "epochs");
    opt(&a, b, "batch", "batch");
    opt(&a, b, "lr", "lr");
    opt(&a, b, "wd", "wd");
    if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "augment"))) add(&a, "--augment");
    if (cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(b, "svc_mia"))) add(&a, "--no-svc-mia");
    cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(b, "set")) {
        char v[256];
        scalar_text(x, v, sizeof v);
        add(&a, "--set");
        add(&a, "%s=%s", x->string, v);
    }
    add(&a, "-o");
    add(&a, "bench");
    common_tail(&a, threads, s->quiet);
    int rc_ = step(s, cmd_bench, "bench", "bench methods", &a, "bench");
    argl_free(&a);
    if (rc_) return rc_;
    if (!(keep[0] = read_json(s->cmd, "bench/results.json"))) return CLI_EXIT_INPUT;
    res->bench = keep[0];
    return 0;
}

static int run_demo(step_ctx *s, const cJSON *rc, const char *data, long threads, recipe_results *res, cJSON **keep) {
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(rc, "demo");
    argl a = {0};
    add(&a, "--dir");
    add(&a, "net");
    add(&a, "--data");
    add(&a, "%s", data);
    const cJSON *x;
    if (d && (x = cJSON_GetObjectItemCaseSensitive(d, "labels"))) {
        char t[1024];
        labels_text(x, t, sizeof t);
        add(&a, "--labels");
        add(&a, "%s", t);
    }
    opt(&a, d, "max_samples", "max-samples");
    opt(&a, d, "epochs", "epochs");
    if (d && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(d, "sequential"))) add(&a, "--no-sequential");
    add(&a, "-o");
    add(&a, "demo.json");
    common_tail(&a, threads, true);
    int rc_ = step(s, cmd_demo, "demo", "demo", &a, "demo");
    argl_free(&a);
    if (rc_) return rc_;
    if (!(keep[0] = read_json(s->cmd, "demo.json"))) return CLI_EXIT_INPUT;
    static const char *const M[3] = {"fiun", "retrain", "sequential"};
    for (int i = 0; i < 3; i++) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(keep[0], M[i]);
        if (cJSON_IsObject(r)) {
            res->names[res->nruns] = M[i];
            res->runs[res->nruns++] = r;
        }
    }
    return 0;
}

/* ---- the command ------------------------------------------------------------------------------- */

int cmd_run(int argc, char **argv) {
    cli_opt opts[R_COUNT] = {
        [R_OUTPUT] = {"output", 'o', "DIR", "run-NAME (run-NAME-verify with --verify)",
                      "the run's directory: the commands' outputs and run.json; replaced as a whole when it holds an "
                      "earlier run"},
        [R_VERIFY] = {"verify", 0, NULL, "off",
                      "run the recipe's small `verify` settings (the whole recipe when it has none) and check its "
                      "expectations: exit 7 on drift"},
        [R_THREADS] = {"threads", 0, "N", "the recipe's, else 0 (all cores)", "threads of every step"},
        [R_QUIET] = {"quiet", 'q', NULL, "off",
                     "print only the expectations' lines, the verdict and errors (the steps' tables go to DIR/steps.log)"},
    };
    cli_cmd c = {
        .name = "run",
        .usage = "unlearn run RECIPE.json [-o DIR] [--verify]",
        .summary = "Run the experiment a recipe describes (recipes/*.json, docs/recipes.md): kind 'forget' builds a "
                   "network (`net build`) and runs a forget request with its method and the compared methods "
                   "(`forget`), 'bench-methods' runs `bench methods`, 'demo' runs `demo`; then checks every expected "
                   "metric and prints PASS or FAIL for each. Exit 0 when all pass, 7 when any drifted, 3 for a "
                   "malformed recipe (naming the file and the field). DIR/run.json records the recipe's SHA-256, "
                   "the seed, the configuration and every outcome; everything is written into a temporary sibling "
                   "directory renamed onto DIR at the end.",
        .epilog = "examples:\n  unlearn run recipes/fiun-il.json -o runs/il\n"
                  "  unlearn run --verify recipes/bench-methods.json      # the small settings, fail on drift\n",
        .opts = opts,
        .nopts = R_COUNT,
        .max_pos = 1,
    };
    const char *path;
    int rc = cli_parse_one(&c, argc, argv, "recipe file RECIPE.json", &path);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    const bool verify = cli_get_flag(&opts[R_VERIFY]), quiet = cli_get_flag(&opts[R_QUIET]);
    long threads = -1;
    if (opts[R_THREADS].given && (rc = cli_get_long(&c, &opts[R_THREADS], 0, 4096, &threads))) return rc;
    recipe r;
    if ((rc = recipe_load(c.name, path, verify, &r))) return rc;
    if (threads < 0) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(r.eff, "threads");
        threads = t ? (long)t->valuedouble : 0;
    }
    char out[2048];
    if (opts[R_OUTPUT].given) snprintf(out, sizeof out, "%s", opts[R_OUTPUT].value);
    else snprintf(out, sizeof out, "run-%s%s", r.name, verify ? "-verify" : "");
    for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--) out[n - 1] = '\0';
    bool exists = false;
    if ((rc = check_out(c.name, out, &exists))) {
        recipe_free(&r);
        return rc;
    }
    char data[PATH_MAX + 16];
    data_arg(cJSON_GetObjectItemCaseSensitive(r.eff, "data")->valuestring, data, sizeof data);
    char tmp[2200], old[2200];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
    snprintf(old, sizeof old, "%s.old-%ld", out, (long)getpid());
    rm_tree(tmp);
    if (mkdir(tmp, 0755) != 0) {
        cli_err(c.name, "creating '%s': %s", tmp, strerror(errno));
        recipe_free(&r);
        return CLI_EXIT_INPUT;
    }
    const int cwd = open(".", O_RDONLY | O_DIRECTORY);
    if (cwd < 0 || chdir(tmp) != 0) {
        cli_err(c.name, "entering '%s': %s", tmp, strerror(errno));
        if (cwd >= 0) close(cwd);
        rm_tree(tmp);
        recipe_free(&r);
        return CLI_EXIT_INPUT;
    }
    static const char *const KN[3] = {"forget", "bench-methods", "demo"};
    if (!quiet)
        fprintf(stderr, "== recipe %s (%s, sha256 %.16s...)%s: kind %s, output %s\n", r.path, r.name, r.sha256,
                r.verify ? ", verify settings" : verify ? ", no verify block: the whole recipe" : "", KN[r.kind], out);
    step_ctx s = {c.name, r.path, quiet, cJSON_CreateArray()};
    recipe_results res;
    memset(&res, 0, sizeof res);
    cJSON *keep[8] = {0};
    const double t0 = ul_now();
    /* --quiet: the steps' own tables go to DIR/steps.log instead of stdout */
    int saved_out = -1;
    if (quiet) {
        fflush(stdout);
        int log = open("steps.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (log >= 0) {
            saved_out = dup(1);
            if (saved_out < 0 || dup2(log, 1) < 0) {
                if (saved_out >= 0) close(saved_out);
                saved_out = -1;
            }
            close(log);
        }
    }
    if (r.kind == RECIPE_FORGET) rc = run_forget(&s, r.eff, data, threads, &res, keep);
    else if (r.kind == RECIPE_BENCH) rc = run_bench(&s, r.eff, data, threads, &res, keep);
    else rc = run_demo(&s, r.eff, data, threads, &res, keep);
    if (saved_out >= 0) {
        fflush(stdout);
        dup2(saved_out, 1);
        close(saved_out);
    }
    const double seconds = ul_now() - t0;
    int failed = 0;
    cJSON *outcomes = NULL, *rec = NULL;
    if (rc == 0) {
        printf("\nrecipe %s: expectations%s\n", r.name, r.verify ? " (verify settings)" : "");
        failed = recipe_check(&r, &res, stdout, &outcomes);
        int n = cJSON_GetArraySize(outcomes);
        /* the record */
        rec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec, "tool", "unlearn");
        cJSON_AddStringToObject(rec, "version", UL_VERSION_STRING);
        cJSON_AddStringToObject(rec, "git_commit", UL_GIT_COMMIT);
        cJSON_AddStringToObject(rec, "command", "run");
        cJSON_AddStringToObject(rec, "recipe_file", r.path);
        cJSON_AddStringToObject(rec, "recipe_sha256", r.sha256);
        cJSON_AddStringToObject(rec, "name", r.name);
        cJSON_AddStringToObject(rec, "kind", KN[r.kind]);
        cJSON_AddStringToObject(rec, "mode", r.verify ? "verify" : "full");
        /* the seed(s) the run used */
        const cJSON *sec = cJSON_GetObjectItemCaseSensitive(r.eff, r.kind == RECIPE_FORGET ? "network" : "bench");
        if (r.kind == RECIPE_BENCH) {
            const cJSON *sl = sec ? cJSON_GetObjectItemCaseSensitive(sec, "seed_list") : NULL;
            const cJSON *sn = sec ? cJSON_GetObjectItemCaseSensitive(sec, "seeds") : NULL;
            cJSON *seeds = cJSON_AddArrayToObject(rec, "seeds");
            if (sl) {
                const cJSON *e;
                cJSON_ArrayForEach(e, sl) cJSON_AddItemToArray(seeds, cJSON_CreateNumber(e->valuedouble));
            } else {
                for (int i = 0; i < (sn ? (int)sn->valuedouble : 3); i++) cJSON_AddItemToArray(seeds, cJSON_CreateNumber(i));
            }
        } else {
            const cJSON *sd = sec ? cJSON_GetObjectItemCaseSensitive(sec, "seed") : NULL;
            cJSON_AddNumberToObject(rec, "seed", sd ? sd->valuedouble : 0);
        }
        cJSON_AddNumberToObject(rec, "threads", (double)threads);
        cJSON *cfg = cJSON_Duplicate(r.eff, true);
        if (cfg) cJSON_DeleteItemFromObjectCaseSensitive(cfg, "expect");
        cJSON_AddItemToObject(rec, "config", cfg);
        cJSON_AddItemToObject(rec, "commands", s.commands);
        s.commands = NULL;
        cJSON_AddNumberToObject(rec, "seconds", round(seconds * 1000.0) / 1000.0);
        cJSON_AddItemToObject(rec, "expectations", outcomes);
        cJSON_AddNumberToObject(rec, "failed", failed);
        cJSON_AddBoolToObject(rec, "passed", failed == 0);
        char *text = cJSON_Print(rec);
        if (!text) {
            cli_err(c.name, "out of memory writing run.json");
            rc = CLI_EXIT_INTERNAL;
        } else {
            size_t len = strlen(text);
            text[len] = '\n';
            ul_status st = ul_write_file_atomic("run.json", text, len + 1);
            free(text);
            if (st != UL_OK) rc = cli_fail(c.name, st, CLI_FROM_OUTPUT, "run.json");
        }
        if (rc == 0)
            printf("recipe %s: %d of %d expectations passed%s\n", r.name, n - failed, n,
                   failed ? ": DRIFT (exit 7)" : "");
    }
    cJSON_Delete(rec);
    cJSON_Delete(s.commands);
    for (int i = 0; i < 8; i++) cJSON_Delete(keep[i]);
    if (fchdir(cwd) != 0 && rc == 0) {
        cli_err(c.name, "returning to the working directory: %s", strerror(errno));
        rc = CLI_EXIT_INPUT;
    }
    close(cwd);
    if (rc == 0) {
        if (exists && rename(out, old) != 0) {
            cli_err(c.name, "moving the earlier run '%s' aside: %s", out, strerror(errno));
            rc = CLI_EXIT_INPUT;
        } else if (rename(tmp, out) != 0) {
            cli_err(c.name, "renaming '%s' onto '%s': %s", tmp, out, strerror(errno));
            if (exists) rename(old, out);
            rc = CLI_EXIT_INPUT;
        } else if (exists) {
            rm_tree(old);
        }
    }
    if (rc != 0) rm_tree(tmp);
    else if (!quiet) fprintf(stderr, "== wrote %s/run.json\n", out);
    recipe_free(&r);
    if (rc != 0) return rc;
    return failed ? CLI_EXIT_DRIFT : CLI_EXIT_OK;
}
