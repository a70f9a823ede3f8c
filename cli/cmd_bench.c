/* cli/cmd_bench.c: `unlearn bench <what>`. Now `bench methods`: the SFR-on suite's protocol
 * (spec sfron.md §3, decision 4) over methods and seeds. Per seed it trains or reuses the original
 * model and the retrain oracle (one recipe for both, the oracle on D_r; checkpoints cached by a
 * hash of data, split, arch, recipe and seed and verified by their hashes before reuse), runs
 * each method on a clone of the original through ul_protocol_run, and writes results.json,
 * results.csv and results.md (atomically, all at the end) plus the table on stdout. Deliberately
 * no model selection on the test set, no parallel seeds, and no partial results after a failure.
 * Room for more: a new `bench <what>` is one row in `subcommands` below.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "unlearn/base.h"
#include "unlearn/data.h"
#include "unlearn/eval.h"
#include "unlearn/io.h"
#include "unlearn/methods.h"
#include "unlearn/nn.h"
#include "unlearn/protocol.h"
#include "unlearn/pyrandom.h"
#include "unlearn/rng.h"
#include "unlearn/train.h"

#include "bench.h"
#include "commands.h"
#include "common.h"
#include "exitcodes.h"
#include "opts.h"

/* The recipe of the original and the retrain oracle unless options say otherwise: unlearn
 * train's defaults (SGD, Nesterov momentum 0.9, lr 0.05, wd 5e-4, batch 128, cosine per
 * iteration) with enough epochs to fit Fashion-MNIST's training set with cnn (train accuracy 99.99 %,
 * test 92.9 %; docs/methods.md, "Tuning on Fashion-MNIST"). */
#define BENCH_DEFAULT_EPOCHS 30
#define BENCH_MAX_SETS 64

/* ---- progress: one bar for the whole run, one for the current job ------------------------- */

typedef struct bench_prog {
    bool tty, quiet, mid;
    int job, njobs;        /* jobs finished, jobs in all */
    char label[128];
    int64_t done, total;   /* steps of the current job */
    double t0, tjob, last;
} bench_prog;

static void bar(char *b, int width, double frac) {
    if (!(frac >= 0)) frac = 0;
    if (frac > 1) frac = 1;
    const int fill = (int)(frac * width);
    for (int i = 0; i < width; i++) b[i] = i < fill ? '#' : '.';
    b[width] = '\0';
}

static void prog_draw(bench_prog *p) {
    if (p->quiet || !p->tty) return;
    char run[24], job[24], el[32], eta[32];
    const double jf = p->total > 0 ? (double)p->done / (double)p->total : 0.0;
    bar(run, 16, p->njobs ? ((double)p->job + jf) / p->njobs : 0.0);
    bar(job, 16, jf);
    const double now = ul_now();
    cli_fmt_duration(el, sizeof el, now - p->t0);
    if (p->total > 0 && p->done > 0) cli_fmt_duration(eta, sizeof eta, (now - p->tjob) / jf * (1.0 - jf));
    else snprintf(eta, sizeof eta, "?");
    if (p->total > 0)
        fprintf(stderr, "\rrun [%s] %d/%d %s | %s [%s] %lld/%lld ETA %s\033[K", run, p->job, p->njobs, el, p->label, job,
                (long long)p->done, (long long)p->total, eta);
    else
        fprintf(stderr, "\rrun [%s] %d/%d %s | %s\033[K", run, p->job, p->njobs, el, p->label);
    fflush(stderr);
    p->mid = true;
    p->last = now;
}

static void prog_begin(bench_prog *p, int64_t total, const char *fmt, ...) UL_PRINTF(3, 4);
static void prog_begin(bench_prog *p, int64_t total, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->label, sizeof p->label, fmt, ap);
    va_end(ap);
    p->done = 0;
    p->total = total;
    p->tjob = ul_now();
    prog_draw(p);
}

static void prog_step(bench_prog *p, int64_t done) {
    p->done = done;
    if (p->tty && !p->quiet && ul_now() - p->last >= 0.1) prog_draw(p);
}

/* Clear a half-drawn bar (before other output on stderr). */
static void prog_clear(bench_prog *p) {
    if (p->mid) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
        p->mid = false;
    }
}

/* A job is over: one line (also when stderr is not a terminal), then the bar again. */
static void prog_end(bench_prog *p, bool counts, const char *fmt, ...) UL_PRINTF(3, 4);
static void prog_end(bench_prog *p, bool counts, const char *fmt, ...) {
    if (counts) p->job++;
    if (p->quiet) return;
    prog_clear(p);
    char t[32];
    cli_fmt_duration(t, sizeof t, ul_now() - p->t0);
    fprintf(stderr, "[%d/%d %s] ", p->job, p->njobs, t);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
}

static void train_cb(const ul_train_progress *tp, void *user) {
    bench_prog *p = user;
    p->total = (int64_t)tp->epochs * (int64_t)tp->batches;
    prog_step(p, (int64_t)(tp->epoch - 1) * (int64_t)tp->batches + (int64_t)tp->batch);
}

static void unlearn_cb(const ul_unlearn_progress *up, void *user) { prog_step(user, up->step); }

/* ---- options ----------------------------------------------------------------------------- */

enum {
    O_DATA, O_ARCH, O_WIDTH, O_SCENARIO, O_FORGET_CLASS, O_FORGET_RANDOM, O_FORGET_IDS, O_SPLIT_SEED, O_METHODS, O_SEEDS, O_SEED_LIST,
    O_EPOCHS, O_BATCH, O_LR, O_WD, O_AUGMENT, O_SET, O_SWEEP, O_NO_SVC, O_CACHE, O_THREADS, O_OUTPUT, O_JSON, O_QUIET, O_COUNT
};

typedef struct bench_args {
    const char *data, *out_dir, *ids_file;
    char spec[160];
    char cache_dir[1024];
    char scenario_text[1100];
    bench_scenario scenario;
    double percent;
    uint64_t split_seed;
    const char *class_set;
    uint64_t seeds[BENCH_MAX_SEEDS];
    int nseeds;
    ul_train_config recipe;
    bool augment, json, quiet, svc;
    long threads;
    bench_method *methods;
    int nmethods;
    const char *sets[BENCH_MAX_SETS];
    int nsets;
    char set_text[4096];
    const char *sweeps[BENCH_MAX_SETS];
    int nsweeps;
    char sweep_text[4096];
} bench_args;

/* Pull every --set/--sweep VALUE and --set=/--sweep=VALUE out of argv (cli_parse keeps only the
 * last of a repeated option). The other arguments go to rest[0..*nrest). */
static int take_sets(const char *cmd, int argc, char **argv, bench_args *a, char **rest, int *nrest) {
    *nrest = 0;
    bool only_pos = false;
    for (int i = 0; i < argc; i++) {
        const char *s = argv[i];
        const char *v = NULL, *opt = NULL;
        if (!only_pos && strcmp(s, "--") == 0) only_pos = true;
        if (!only_pos && (strcmp(s, "--set") == 0 || strcmp(s, "--sweep") == 0)) {
            opt = s;
            if (i + 1 >= argc || argv[i + 1][0] == '\0' || strncmp(argv[i + 1], "--", 2) == 0) {
                cli_err(cmd, "option '%s' needs a value (METHOD.KEY=%s)", s, strcmp(s, "--set") == 0 ? "VALUE" : "V1,V2,...");
                cli_hint("see 'unlearn bench methods --help'");
                return CLI_EXIT_USAGE;
            }
            v = argv[++i];
        } else if (!only_pos && strncmp(s, "--set=", 6) == 0) {
            opt = "--set";
            v = s + 6;
        } else if (!only_pos && strncmp(s, "--sweep=", 8) == 0) {
            opt = "--sweep";
            v = s + 8;
        }
        if (v) {
            const bool set = strcmp(opt, "--set") == 0;
            int *n = set ? &a->nsets : &a->nsweeps;
            if (*n == BENCH_MAX_SETS) {
                cli_err(cmd, "%s: at most %d of them", opt, BENCH_MAX_SETS);
                return CLI_EXIT_USAGE;
            }
            (set ? a->sets : a->sweeps)[(*n)++] = v;
            continue;
        }
        rest[(*nrest)++] = argv[i];
    }
    return 0;
}

/* "0,1,2" -> seeds. */
static int parse_seed_list(const char *cmd, const char *s, bench_args *a) {
    a->nseeds = 0;
    const char *p = s;
    while (*p) {
        size_t len = strcspn(p, ",");
        char buf[32];
        if (len == 0 || len >= sizeof buf) goto bad;
        memcpy(buf, p, len);
        buf[len] = '\0';
        if (buf[0] < '0' || buf[0] > '9') goto bad;
        errno = 0;
        char *end;
        unsigned long long v = strtoull(buf, &end, 10);
        if (errno || *end) goto bad;
        for (int i = 0; i < a->nseeds; i++)
            if (a->seeds[i] == v) {
                cli_err(cmd, "--seed-list: seed %llu appears twice", v);
                return CLI_EXIT_USAGE;
            }
        if (a->nseeds == BENCH_MAX_SEEDS) {
            cli_err(cmd, "--seed-list: at most %d seeds", BENCH_MAX_SEEDS);
            return CLI_EXIT_USAGE;
        }
        a->seeds[a->nseeds++] = v;
        p += len;
        if (*p == ',' && !*++p) goto bad;
    }
    if (a->nseeds == 0) goto bad;
    return 0;
bad:
    cli_err(cmd, "--seed-list: '%s' is not a list of non-negative integers like 0,1,2", s);
    return CLI_EXIT_USAGE;
}

/* "all" or "sfron,ssd,...": retrain always comes first (it is the reference). */
static int parse_methods(const char *cmd, const char *s, bench_args *a) {
    bool want[UL_UNLEARN_METHOD_COUNT] = {false};
    int order[UL_UNLEARN_METHOD_COUNT], n = 0;
    if (strcmp(s, "all") == 0) {
        for (int m = 0; m < UL_UNLEARN_METHOD_COUNT; m++) order[n++] = m;
    } else {
        const char *p = s;
        while (*p) {
            size_t len = strcspn(p, ",");
            char buf[32];
            if (len == 0 || len >= sizeof buf) {
                cli_err(cmd, "--methods: '%s' is not a comma list of method names (or 'all')", s);
                return CLI_EXIT_USAGE;
            }
            memcpy(buf, p, len);
            buf[len] = '\0';
            ul_unlearn_method m;
            if (ul_unlearn_method_parse(buf, &m) != UL_OK) {
                cli_err(cmd, "--methods: %s", ul_last_error());
                return CLI_EXIT_USAGE;
            }
            if (want[m]) {
                cli_err(cmd, "--methods: '%s' is listed twice", ul_unlearn_method_name(m));
                return CLI_EXIT_USAGE;
            }
            want[m] = true;
            if (m != UL_UNLEARN_RETRAIN) order[n++] = (int)m;
            p += len;
            if (*p == ',' && !*++p) {
                cli_err(cmd, "--methods: '%s' ends with a comma", s);
                return CLI_EXIT_USAGE;
            }
        }
        memmove(order + 1, order, (size_t)n * sizeof *order);
        order[0] = UL_UNLEARN_RETRAIN;
        n++;
    }
    a->methods = calloc((size_t)n, sizeof *a->methods);
    if (!a->methods) {
        cli_err(cmd, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    a->nmethods = n;
    for (int i = 0; i < n; i++) {
        a->methods[i].id = (ul_unlearn_method)order[i];
        a->methods[i].params = ul_unlearn_defaults((ul_unlearn_method)order[i]);
        snprintf(a->methods[i].label, sizeof a->methods[i].label, "%s", ul_unlearn_method_name(a->methods[i].id));
    }
    return 0;
}

/* One --set METHOD.KEY=VALUE (METHOD may be '*': every selected method that has KEY). */
static int apply_set(const char *cmd, const char *s, bench_args *a) {
    const char *dot = strchr(s, '.'), *eq = strchr(s, '=');
    if (!dot || !eq || dot > eq || dot == s || eq == dot + 1) {
        cli_err(cmd, "--set '%s': expected METHOD.KEY=VALUE, e.g. sfron.forget_alpha=10", s);
        return CLI_EXIT_USAGE;
    }
    char meth[32], key[64];
    if ((size_t)(dot - s) >= sizeof meth || (size_t)(eq - dot - 1) >= sizeof key) {
        cli_err(cmd, "--set '%s': method or key too long", s);
        return CLI_EXIT_USAGE;
    }
    memcpy(meth, s, (size_t)(dot - s));
    meth[dot - s] = '\0';
    memcpy(key, dot + 1, (size_t)(eq - dot - 1));
    key[eq - dot - 1] = '\0';
    const char *val = eq + 1;
    if (strcmp(meth, "*") == 0) {
        int hits = 0;
        for (int i = 0; i < a->nmethods; i++) {
            bench_method *bm = &a->methods[i];
            if (bm->id == UL_UNLEARN_RETRAIN) continue;
            char tmp[64];
            if (ul_unlearn_param_get(&bm->params, key, tmp, sizeof tmp) != UL_OK) continue;
            if (ul_unlearn_param_set(&bm->params, key, val) != UL_OK) {
                cli_err(cmd, "--set '%s': %s", s, ul_last_error());
                return CLI_EXIT_USAGE;
            }
            hits++;
        }
        if (hits == 0) {
            cli_err(cmd, "--set '%s': none of the selected methods has a parameter '%s'", s, key);
            return CLI_EXIT_USAGE;
        }
        return 0;
    }
    ul_unlearn_method m;
    if (ul_unlearn_method_parse(meth, &m) != UL_OK) {
        cli_err(cmd, "--set '%s': %s", s, ul_last_error());
        return CLI_EXIT_USAGE;
    }
    if (m == UL_UNLEARN_RETRAIN) {
        cli_err(cmd, "--set '%s': retrain is the oracle, trained with the recipe of the original", s);
        cli_hint("set the recipe with --epochs, --batch, --lr, --wd, --augment");
        return CLI_EXIT_USAGE;
    }
    for (int i = 0; i < a->nmethods; i++)
        if (a->methods[i].id == m) {
            if (ul_unlearn_param_set(&a->methods[i].params, key, val) != UL_OK) {
                cli_err(cmd, "--set '%s': %s", s, ul_last_error());
                return CLI_EXIT_USAGE;
            }
            return 0;
        }
    cli_err(cmd, "--set '%s': %s is not among --methods", s, ul_unlearn_method_name(m));
    return CLI_EXIT_USAGE;
}

#define BENCH_MAX_ROWS 256

typedef struct sweep_dim {
    int method;            /* index into a->methods (before expansion) */
    char key[64];
    char vals[64][48];
    int nvals;
} sweep_dim;

/* Expand every --sweep METHOD.KEY=V1,V2,... into variants of that method: the product of its
 * dimensions, the first one given varying slowest. Each variant is labelled "method key=v ...". */
static int apply_sweeps(const char *cmd, bench_args *a) {
    if (a->nsweeps == 0) return 0;
    sweep_dim *dims = calloc((size_t)a->nsweeps, sizeof *dims);
    if (!dims) return CLI_EXIT_INTERNAL;
    int rc = 0;
    for (int i = 0; i < a->nsweeps && rc == 0; i++) {
        const char *s = a->sweeps[i];
        const char *dot = strchr(s, '.'), *eq = strchr(s, '=');
        char meth[32];
        if (!dot || !eq || dot > eq || dot == s || eq == dot + 1 || !eq[1] || (size_t)(dot - s) >= sizeof meth ||
            (size_t)(eq - dot - 1) >= sizeof dims[i].key) {
            cli_err(cmd, "--sweep '%s': expected METHOD.KEY=V1,V2,..., e.g. sfron.forget_alpha=5,10,25", s);
            rc = CLI_EXIT_USAGE;
            break;
        }
        memcpy(meth, s, (size_t)(dot - s));
        meth[dot - s] = '\0';
        memcpy(dims[i].key, dot + 1, (size_t)(eq - dot - 1));
        dims[i].key[eq - dot - 1] = '\0';
        ul_unlearn_method m;
        if (ul_unlearn_method_parse(meth, &m) != UL_OK || m == UL_UNLEARN_RETRAIN) {
            cli_err(cmd, "--sweep '%s': %s", s, m == UL_UNLEARN_RETRAIN ? "retrain is the oracle" : ul_last_error());
            rc = CLI_EXIT_USAGE;
            break;
        }
        dims[i].method = -1;
        for (int k = 0; k < a->nmethods; k++)
            if (a->methods[k].id == m) dims[i].method = k;
        if (dims[i].method < 0) {
            cli_err(cmd, "--sweep '%s': %s is not among --methods", s, ul_unlearn_method_name(m));
            rc = CLI_EXIT_USAGE;
            break;
        }
        for (int k = 0; k < i; k++)
            if (dims[k].method == dims[i].method && strcmp(dims[k].key, dims[i].key) == 0) {
                cli_err(cmd, "--sweep '%s': %s.%s is swept twice", s, meth, dims[i].key);
                rc = CLI_EXIT_USAGE;
            }
        const char *p = eq + 1;
        while (*p && rc == 0) {
            size_t len = strcspn(p, ",");
            if (len == 0 || len >= sizeof dims[i].vals[0] || dims[i].nvals == 64) {
                cli_err(cmd, "--sweep '%s': empty, too long or too many values (at most 64)", s);
                rc = CLI_EXIT_USAGE;
                break;
            }
            memcpy(dims[i].vals[dims[i].nvals], p, len);
            dims[i].vals[dims[i].nvals][len] = '\0';
            ul_unlearn_params probe = a->methods[dims[i].method].params;
            if (ul_unlearn_param_set(&probe, dims[i].key, dims[i].vals[dims[i].nvals]) != UL_OK) {
                cli_err(cmd, "--sweep '%s': %s", s, ul_last_error());
                rc = CLI_EXIT_USAGE;
                break;
            }
            dims[i].nvals++;
            p += len;
            if (*p == ',' && !*++p) {
                cli_err(cmd, "--sweep '%s' ends with a comma", s);
                rc = CLI_EXIT_USAGE;
            }
        }
    }
    /* count the rows */
    long total = 0;
    for (int k = 0; k < a->nmethods && rc == 0; k++) {
        long v = 1;
        for (int i = 0; i < a->nsweeps; i++)
            if (dims[i].method == k) v *= dims[i].nvals;
        total += v;
        if (total > BENCH_MAX_ROWS) {
            cli_err(cmd, "--sweep: the grid has more than %d settings", BENCH_MAX_ROWS);
            rc = CLI_EXIT_USAGE;
        }
    }
    bench_method *out = rc == 0 ? calloc((size_t)total, sizeof *out) : NULL;
    if (rc == 0 && !out) rc = CLI_EXIT_INTERNAL;
    int n = 0;
    for (int k = 0; k < a->nmethods && rc == 0; k++) {
        int idx[BENCH_MAX_SETS] = {0}, nd = 0, which[BENCH_MAX_SETS];
        for (int i = 0; i < a->nsweeps; i++)
            if (dims[i].method == k) which[nd++] = i;
        for (;;) {
            bench_method *bm = &out[n++];
            *bm = a->methods[k];
            size_t len = strlen(bm->label);
            for (int d = 0; d < nd; d++) {
                const sweep_dim *sd = &dims[which[d]];
                ul_unlearn_param_set(&bm->params, sd->key, sd->vals[idx[d]]); /* validated above */
                int w = snprintf(bm->label + len, sizeof bm->label - len, " %s=%s", sd->key, sd->vals[idx[d]]);
                if (w > 0 && (size_t)w < sizeof bm->label - len) len += (size_t)w;
            }
            int d = nd - 1; /* odometer: the last dimension varies fastest */
            while (d >= 0 && ++idx[d] == dims[which[d]].nvals) idx[d--] = 0;
            if (d < 0) break;
        }
    }
    if (rc == 0) {
        free(a->methods);
        a->methods = out;
        a->nmethods = n;
    } else {
        free(out);
    }
    free(dims);
    return rc;
}

static int make_dir(const char *cmd, const char *opt, const char *dir) {
    struct stat st;
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            cli_err(cmd, "%s: '%s' exists and is not a directory", opt, dir);
            return CLI_EXIT_USAGE;
        }
    } else if (mkdir(dir, 0755) != 0) {
        cli_err(cmd, "%s: cannot create directory '%s': %s", opt, dir, strerror(errno));
        cli_hint("its parent directory must exist and be writable");
        return CLI_EXIT_USAGE;
    }
    if (access(dir, W_OK) != 0) {
        cli_err(cmd, "%s: directory '%s' is not writable", opt, dir);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

static int read_args(cli_cmd *c, bench_args *a) {
    cli_opt *o = c->opts;
    const char *n = c->name;
    int rc;
    long l;
    double width;
    a->data = o[O_DATA].value;
    a->out_dir = o[O_OUTPUT].value;
    a->json = cli_get_flag(&o[O_JSON]);
    a->quiet = cli_get_flag(&o[O_QUIET]);
    a->augment = cli_get_flag(&o[O_AUGMENT]);
    a->svc = !cli_get_flag(&o[O_NO_SVC]);

    const char *arch = o[O_ARCH].value;
    if ((rc = cli_get_double(c, &o[O_WIDTH], 0.0, 16.0, true, &width))) return rc;
    if (strcmp(arch, "resnet18") == 0) {
        if (width != 1.0) snprintf(a->spec, sizeof a->spec, "resnet18@w=%g", width);
        else snprintf(a->spec, sizeof a->spec, "resnet18");
    } else {
        if (o[O_WIDTH].given) {
            cli_err(n, "--width applies to --arch resnet18 only (got --arch %s)", arch);
            return CLI_EXIT_USAGE;
        }
        if (strlen(arch) >= sizeof a->spec) {
            cli_err(n, "--arch: spec too long");
            return CLI_EXIT_USAGE;
        }
        snprintf(a->spec, sizeof a->spec, "%s", arch);
    }

    /* scenario */
    const int nsc = o[O_SCENARIO].given + o[O_FORGET_CLASS].given + o[O_FORGET_RANDOM].given + o[O_FORGET_IDS].given;
    if (nsc > 1) {
        cli_err(n, "give one of --scenario, --forget-class, --forget-random and --forget-ids");
        return CLI_EXIT_USAGE;
    }
    if (o[O_FORGET_IDS].given) {
        a->scenario = BENCH_IDS;
        a->ids_file = o[O_FORGET_IDS].value;
        snprintf(a->scenario_text, sizeof a->scenario_text, "ids:%s", a->ids_file);
    } else if (o[O_FORGET_CLASS].given) {
        a->scenario = BENCH_CLASS;
        a->class_set = o[O_FORGET_CLASS].value;
    } else {
        char rnd[64];
        const char *s = o[O_SCENARIO].value;
        if (o[O_FORGET_RANDOM].given) { /* --forget-random 10% = --scenario random:10 */
            const char *v = o[O_FORGET_RANDOM].value;
            size_t vl = strlen(v);
            if (vl > 0 && v[vl - 1] == '%') vl--;
            if (vl == 0 || vl >= sizeof rnd - 8) {
                cli_err(n, "--forget-random '%s': expected a percentage, e.g. 10%%", v);
                return CLI_EXIT_USAGE;
            }
            snprintf(rnd, sizeof rnd, "random:%.*s", (int)vl, v);
            s = rnd;
        }
        if (strncmp(s, "random:", 7) == 0) {
            a->scenario = BENCH_RANDOM;
            if (!cli_parse_double(s + 7, &a->percent) || !(a->percent > 0.0 && a->percent < 100.0)) {
                cli_err(n, "--scenario %s: the percentage must be a number in (0, 100), e.g. random:10", s);
                return CLI_EXIT_USAGE;
            }
        } else if (strncmp(s, "class:", 6) == 0 && s[6]) {
            a->scenario = BENCH_CLASS;
            a->class_set = s + 6;
        } else {
            cli_err(n, "--scenario '%s': expected random:PERCENT (e.g. random:10) or class:SET (e.g. class:3)", s);
            cli_hint("an index file goes to --forget-ids FILE");
            return CLI_EXIT_USAGE;
        }
        snprintf(a->scenario_text, sizeof a->scenario_text, "%s", s);
    }
    if (a->scenario == BENCH_CLASS) snprintf(a->scenario_text, sizeof a->scenario_text, "class:%s", a->class_set);
    if ((rc = cli_get_u64(c, &o[O_SPLIT_SEED], &a->split_seed))) return rc;
    if (o[O_SPLIT_SEED].given && a->scenario != BENCH_RANDOM) {
        cli_err(n, "--split-seed applies to --scenario random:P only");
        return CLI_EXIT_USAGE;
    }

    /* seeds */
    if (o[O_SEEDS].given && o[O_SEED_LIST].given) {
        cli_err(n, "give --seeds or --seed-list, not both");
        return CLI_EXIT_USAGE;
    }
    if (o[O_SEED_LIST].given) {
        if ((rc = parse_seed_list(n, o[O_SEED_LIST].value, a))) return rc;
    } else {
        if ((rc = cli_get_long(c, &o[O_SEEDS], 1, BENCH_MAX_SEEDS, &l))) return rc;
        a->nseeds = (int)l;
        for (int i = 0; i < a->nseeds; i++) a->seeds[i] = (uint64_t)i;
    }

    /* recipe */
    a->recipe = ul_train_defaults();
    if ((rc = cli_get_long(c, &o[O_EPOCHS], 1, 100000, &l))) return rc;
    a->recipe.epochs = (int)l;
    if ((rc = cli_get_long(c, &o[O_BATCH], 1, 65536, &l))) return rc;
    a->recipe.batch_size = (int)l;
    if ((rc = cli_get_double(c, &o[O_LR], 0.0, 100.0, true, &a->recipe.optim.lr))) return rc;
    if ((rc = cli_get_double(c, &o[O_WD], 0.0, 10.0, false, &a->recipe.optim.weight_decay))) return rc;

    if ((rc = cli_get_long(c, &o[O_THREADS], 0, 4096, &a->threads))) return rc;

    /* methods and overrides */
    if ((rc = parse_methods(n, o[O_METHODS].value, a))) return rc;
    size_t len = 0;
    a->set_text[0] = '\0';
    for (int i = 0; i < a->nsets; i++) {
        if ((rc = apply_set(n, a->sets[i], a))) return rc;
        int k = snprintf(a->set_text + len, sizeof a->set_text - len, "%s%s", i ? " " : "", a->sets[i]);
        if (k > 0 && (size_t)k < sizeof a->set_text - len) len += (size_t)k;
    }
    if ((rc = apply_sweeps(n, a))) return rc;
    len = 0;
    a->sweep_text[0] = '\0';
    for (int i = 0; i < a->nsweeps; i++) {
        int k = snprintf(a->sweep_text + len, sizeof a->sweep_text - len, "%s%s", i ? " " : "", a->sweeps[i]);
        if (k > 0 && (size_t)k < sizeof a->sweep_text - len) len += (size_t)k;
    }

    /* output and cache directories */
    if ((rc = make_dir(n, "-o/--output", a->out_dir))) return rc;
    if (o[O_CACHE].given) {
        if (strlen(o[O_CACHE].value) >= sizeof a->cache_dir) {
            cli_err(n, "--cache: path too long");
            return CLI_EXIT_USAGE;
        }
        snprintf(a->cache_dir, sizeof a->cache_dir, "%s", o[O_CACHE].value);
    } else {
        if (strlen(a->out_dir) + 7 >= sizeof a->cache_dir) {
            cli_err(n, "-o/--output: path too long");
            return CLI_EXIT_USAGE;
        }
        snprintf(a->cache_dir, sizeof a->cache_dir, "%s/cache", a->out_dir);
    }
    return make_dir(n, "--cache", a->cache_dir);
}

/* ---- the run ----------------------------------------------------------------------------- */

typedef struct bench_run {
    const char *cmd;
    bench_args *a;
    ul_dataset *train, *test;
    ul_view *all, *forget, *retain, *testv;
    int32_t *forget_classes;
    size_t nforget_classes;
    char ids_hash[65];
    char split_hash[65];
    ul_arch_params ap;
    int K;
    ul_transform eval_tf, train_tf;
    bench_prog prog;
} bench_run;

static cJSON *float_array(const float *v, int n) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) cJSON_AddItemToArray(arr, cJSON_CreateNumber(cli_float_for_json(v[i])));
    return arr;
}

/* The recipe as JSON (part of the cache key and of the results). */
static cJSON *recipe_json(const bench_run *b) {
    const ul_train_config *r = &b->a->recipe;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "epochs", r->epochs);
    cJSON_AddNumberToObject(j, "batch", r->batch_size);
    cJSON *op = cJSON_AddObjectToObject(j, "optimizer");
    cJSON_AddStringToObject(op, "name", "sgd");
    cJSON_AddNumberToObject(op, "lr", r->optim.lr);
    cJSON_AddNumberToObject(op, "momentum", r->optim.momentum);
    cJSON_AddNumberToObject(op, "dampening", r->optim.dampening);
    cJSON_AddBoolToObject(op, "nesterov", r->optim.nesterov);
    cJSON_AddNumberToObject(op, "weight_decay", r->optim.weight_decay);
    cJSON *sc = cJSON_AddObjectToObject(j, "schedule");
    cJSON_AddStringToObject(sc, "name", "cosine");
    cJSON_AddStringToObject(sc, "step", "iteration");
    cJSON_AddNumberToObject(sc, "eta_min", r->eta_min);
    cJSON_AddNumberToObject(j, "clip_norm", r->clip_norm);
    const ul_transform *tf = &b->train_tf;
    if (tf->crop_pad > 0 || tf->hflip) {
        cJSON *au = cJSON_AddObjectToObject(j, "augment");
        cJSON_AddNumberToObject(au, "crop_pad", tf->crop_pad);
        cJSON_AddBoolToObject(au, "hflip", tf->hflip);
    } else {
        cJSON_AddBoolToObject(j, "augment", false);
    }
    if (tf->nchan > 0) {
        cJSON *no = cJSON_AddObjectToObject(j, "normalize");
        cJSON_AddItemToObject(no, "mean", float_array(tf->mean, tf->nchan));
        cJSON_AddItemToObject(no, "std", float_array(tf->std, tf->nchan));
    } else {
        cJSON_AddNullToObject(j, "normalize");
    }
    return j;
}

static void seed_json(cJSON *j, const char *name, uint64_t seed) {
    if (seed <= (UINT64_C(1) << 53)) {
        cJSON_AddNumberToObject(j, name, (double)seed);
    } else {
        char s[32];
        snprintf(s, sizeof s, "%llu", (unsigned long long)seed);
        cJSON_AddStringToObject(j, name, s);
    }
}

/* Hash of the two index lists in view order (the order decides the training batches). */
static void split_hash(const ul_view *f, const ul_view *r, char hex[65]) {
    ul_sha256 c;
    ul_sha256_init(&c);
    const char tagf[] = "forget", tagr[] = "retain";
    ul_sha256_update(&c, tagf, sizeof tagf);
    for (size_t i = 0; i < f->n; i++) {
        uint8_t le[4];
        for (int k = 0; k < 4; k++) le[k] = (uint8_t)((uint32_t)f->idx[i] >> (8 * k));
        ul_sha256_update(&c, le, 4);
    }
    ul_sha256_update(&c, tagr, sizeof tagr);
    for (size_t i = 0; i < r->n; i++) {
        uint8_t le[4];
        for (int k = 0; k < 4; k++) le[k] = (uint8_t)((uint32_t)r->idx[i] >> (8 * k));
        ul_sha256_update(&c, le, 4);
    }
    uint8_t d[32];
    ul_sha256_final(&c, d);
    ul_sha256_to_hex(d, hex);
}

/* The cache key object of a model: what decides its bytes. */
static cJSON *key_json(const bench_run *b, const char *kind, uint64_t seed) {
    cJSON *k = cJSON_CreateObject();
    cJSON_AddStringToObject(k, "format", "unlearn-bench-cache-1");
    cJSON_AddStringToObject(k, "kind", kind);
    cJSON_AddStringToObject(k, "data", ul_dataset_name(b->train));
    cJSON_AddStringToObject(k, "data_hash", ul_dataset_hash(b->train));
    cJSON_AddStringToObject(k, "training_set", strcmp(kind, "original") == 0 ? "all" : "retain");
    if (strcmp(kind, "original") == 0) cJSON_AddNullToObject(k, "split_hash");
    else cJSON_AddStringToObject(k, "split_hash", b->split_hash);
    cJSON_AddStringToObject(k, "arch", b->a->spec);
    cJSON_AddItemToObject(k, "recipe", recipe_json(b));
    seed_json(k, "seed", seed);
    return k;
}

typedef struct cached_model {
    ul_model *m;
    bool cached;
    double seconds;
    char path[1200];
} cached_model;

/* Reuse a verified cache entry: the sidecar's key equals ours, the file's SHA-256 and the model
 * hash equal the recorded ones. Returns true with *out filled; false (with a warning when an
 * entry exists but fails a check) when the model must be trained. */
static bool cache_get(bench_run *b, const char *key, const char *ckpt, const char *side, cached_model *out) {
    uint8_t *buf = NULL;
    size_t n = 0;
    if (access(ckpt, F_OK) != 0) return false;
    const char *why = NULL;
    cJSON *j = NULL;
    ul_model *m = NULL;
    if (ul_read_file(side, 1 << 20, &buf, &n) != UL_OK) {
        why = "its record (.json) is missing or unreadable";
        goto bad;
    }
    j = cJSON_ParseWithLength((const char *)buf, n);
    const cJSON *jk = cJSON_GetObjectItemCaseSensitive(j, "key");
    const cJSON *jf = cJSON_GetObjectItemCaseSensitive(j, "file_sha256");
    const cJSON *jm = cJSON_GetObjectItemCaseSensitive(j, "model_hash");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(j, "train_seconds");
    if (!cJSON_IsString(jk) || !cJSON_IsString(jf) || !cJSON_IsString(jm) || !cJSON_IsNumber(js)) {
        why = "its record (.json) is malformed";
        goto bad;
    }
    if (strcmp(jk->valuestring, key) != 0) {
        why = "its record names another cache key";
        goto bad;
    }
    char fh[65];
    if (ul_sha256_file(ckpt, fh) != UL_OK || strcmp(fh, jf->valuestring) != 0) {
        why = "the file's SHA-256 differs from the recorded one";
        goto bad;
    }
    if (ul_ckpt_load(ckpt, b->a->spec, &b->ap, &m, NULL) != UL_OK) {
        why = ul_last_error();
        goto bad;
    }
    char mh[65];
    ul_model_hash(m, mh);
    if (strcmp(mh, jm->valuestring) != 0) {
        why = "the model hash differs from the recorded one";
        goto bad;
    }
    out->m = m;
    out->cached = true;
    out->seconds = js->valuedouble;
    cJSON_Delete(j);
    free(buf);
    return true;
bad:
    if (!b->a->quiet) {
        prog_clear(&b->prog);
        cli_warn(b->cmd, "cache entry %s fails verification (%s); training it again", ckpt, why);
    }
    ul_model_free(m);
    cJSON_Delete(j);
    free(buf);
    return false;
}

/* Train (or reuse) the original (kind "original", on every training sample) or the retrain
 * oracle (kind "retrain", on D_r) of `seed`. Returns 0 or an exit status. */
static int get_model(bench_run *b, const char *kind, const ul_view *v, uint64_t seed, cached_model *out) {
    memset(out, 0, sizeof *out);
    cJSON *kj = key_json(b, kind, seed);
    char *ks = kj ? cJSON_PrintUnformatted(kj) : NULL;
    if (!ks) {
        cJSON_Delete(kj);
        cli_err(b->cmd, "out of memory");
        return CLI_EXIT_INTERNAL;
    }
    char key[65], side[1200];
    ul_sha256_hex(ks, strlen(ks), key);
    snprintf(out->path, sizeof out->path, "%s/%s-seed%llu-%.16s.safetensors", b->a->cache_dir, kind,
             (unsigned long long)seed, key);
    snprintf(side, sizeof side, "%s/%s-seed%llu-%.16s.json", b->a->cache_dir, kind, (unsigned long long)seed, key);
    int rc = 0;
    prog_begin(&b->prog, 0, "seed %llu %s: looking in the cache", (unsigned long long)seed, kind);
    if (cache_get(b, key, out->path, side, out)) {
        prog_end(&b->prog, true, "seed %llu %s: reused %s (its training took %.1f s)", (unsigned long long)seed, kind, out->path,
                 out->seconds);
        goto done;
    }
    ul_model *m = NULL;
    ul_status st = ul_model_create(b->a->spec, &b->ap, seed, &m);
    if (st != UL_OK) {
        rc = cli_fail(b->cmd, st, CLI_FROM_OPTION, "--arch");
        goto done;
    }
    ul_train_config cfg = b->a->recipe;
    cfg.seed = seed;
    cfg.transform = b->train_tf;
    cfg.progress = train_cb;
    cfg.progress_user = &b->prog;
    prog_begin(&b->prog, 0, "seed %llu %s: training on %zu samples", (unsigned long long)seed, kind, v->n);
    const double t0 = ul_now();
    st = ul_train(m, v, &cfg);
    const double secs = ul_now() - t0;
    if (st != UL_OK) {
        prog_clear(&b->prog);
        rc = cli_fail(b->cmd, st, CLI_FROM_TRAIN, kind);
        if (st == UL_E_NUMERIC) cli_hint("training diverged; try a smaller --lr");
        ul_model_free(m);
        goto done;
    }
    /* checkpoint with provenance, then the record that makes it reusable */
    char mh[65], fh[65];
    ul_model_hash(m, mh);
    cJSON *prov = cJSON_CreateObject();
    cJSON_AddStringToObject(prov, "tool", "unlearn");
    cJSON_AddStringToObject(prov, "version", UL_VERSION_STRING);
    cJSON_AddStringToObject(prov, "git_commit", UL_GIT_COMMIT);
    cJSON_AddStringToObject(prov, "command", "bench methods");
    cJSON_AddStringToObject(prov, "kind", kind);
    cJSON_AddStringToObject(prov, "arch", b->a->spec);
    cJSON_AddStringToObject(prov, "data", ul_dataset_name(b->train));
    cJSON_AddStringToObject(prov, "data_hash", ul_dataset_hash(b->train));
    cJSON_AddNumberToObject(prov, "n_train", (double)v->n);
    seed_json(prov, "seed", seed);
    cJSON_AddStringToObject(prov, "cache_key", key);
    cJSON *rj = recipe_json(b);
    cJSON *norm = cJSON_DetachItemFromObjectCaseSensitive(rj, "normalize");
    cJSON_AddItemToObject(prov, "recipe", rj);
    cJSON_AddItemToObject(prov, "normalize", norm ? norm : cJSON_CreateNull());
    char *ps = cJSON_PrintUnformatted(prov);
    cJSON_Delete(prov);
    const char *const *names = cli_known_class_names(ul_dataset_name(b->train), b->K);
    char *nj = NULL;
    if (names) {
        cJSON *arr = cJSON_CreateStringArray(names, b->K);
        nj = arr ? cJSON_PrintUnformatted(arr) : NULL;
        cJSON_Delete(arr);
    }
    ul_ckpt_meta meta = {.class_names = nj, .provenance = ps};
    st = ps ? ul_ckpt_save(m, &meta, out->path) : UL_E_NOMEM;
    free(ps);
    free(nj);
    if (st == UL_OK) st = ul_sha256_file(out->path, fh);
    if (st == UL_OK) {
        cJSON *rec = cJSON_CreateObject();
        cJSON_AddStringToObject(rec, "key", key);
        cJSON_AddItemToObject(rec, "key_json", kj);
        kj = NULL;
        cJSON_AddStringToObject(rec, "checkpoint", strrchr(out->path, '/') ? strrchr(out->path, '/') + 1 : out->path);
        cJSON_AddStringToObject(rec, "file_sha256", fh);
        cJSON_AddStringToObject(rec, "model_hash", mh);
        cJSON_AddNumberToObject(rec, "train_seconds", round(secs * 1000.0) / 1000.0);
        cJSON_AddNumberToObject(rec, "threads", ul_get_threads());
        cJSON_AddStringToObject(rec, "version", UL_VERSION_STRING);
        cJSON_AddStringToObject(rec, "git_commit", UL_GIT_COMMIT);
        char *rs = cJSON_Print(rec);
        cJSON_Delete(rec);
        st = rs ? ul_write_file_atomic(side, rs, strlen(rs)) : UL_E_NOMEM;
        free(rs);
    }
    if (st != UL_OK) {
        prog_clear(&b->prog);
        rc = cli_fail(b->cmd, st, CLI_FROM_OUTPUT, out->path);
        ul_model_free(m);
        goto done;
    }
    out->m = m;
    out->cached = false;
    out->seconds = round(secs * 1000.0) / 1000.0; /* as recorded, so a reuse reports the same value */
    prog_end(&b->prog, true, "seed %llu %s: trained in %.1f s -> %s", (unsigned long long)seed, kind, secs, out->path);
done:
    cJSON_Delete(kj);
    free(ks);
    return rc;
}

/* Data, views, transforms, architecture. Returns 0 or an exit status. */
static int setup(bench_run *b) {
    const char *cmd = b->cmd;
    bench_args *a = b->a;
    int rc;
    ul_status st;
    if ((rc = cli_load_data(cmd, a->data, "train", &b->train))) return rc;
    if ((rc = cli_load_data(cmd, a->data, "test", &b->test))) return rc;
    const int C = ul_dataset_channels(b->train), H = ul_dataset_height(b->train), W = ul_dataset_width(b->train);
    if (ul_dataset_channels(b->test) != C || ul_dataset_height(b->test) != H || ul_dataset_width(b->test) != W) {
        cli_err(cmd, "--data %s: the test split has samples of %dx%dx%d, the training split %dx%dx%d", a->data,
                ul_dataset_channels(b->test), ul_dataset_height(b->test), ul_dataset_width(b->test), C, H, W);
        return CLI_EXIT_INPUT;
    }
    b->K = ul_dataset_classes(b->train);
    if (ul_dataset_classes(b->test) > b->K) {
        cli_err(cmd, "--data %s: the test split has labels up to %d but the training split only %d classes", a->data,
                ul_dataset_classes(b->test) - 1, b->K);
        return CLI_EXIT_INPUT;
    }
    const size_t n = ul_dataset_size(b->train);
    if ((st = ul_view_all(b->train, &b->all)) != UL_OK || (st = ul_view_all(b->test, &b->testv)) != UL_OK)
        return cli_fail(cmd, st, CLI_FROM_INPUT, NULL);

    /* the split */
    switch (a->scenario) {
    case BENCH_RANDOM: {
        int32_t *fi = NULL, *ri = NULL;
        size_t nf = 0, nr = 0;
        if ((st = ul_forget_split_random(n, a->percent / 100.0, a->split_seed, UL_SPLIT_ORDER_CODE, &fi, &nf, &ri, &nr)) !=
            UL_OK)
            return cli_fail(cmd, st, CLI_FROM_OPTION, "--scenario");
        if (nf == 0 || nr == 0) {
            free(fi);
            free(ri);
            cli_err(cmd, "--scenario %s: %zu forget and %zu retain samples of %zu; both must be non-empty",
                    a->scenario_text, nf, nr, n);
            return CLI_EXIT_USAGE;
        }
        st = ul_view_from_indices(b->train, fi, nf, &b->forget);
        if (st == UL_OK) st = ul_view_from_indices(b->train, ri, nr, &b->retain);
        free(fi);
        free(ri);
        if (st != UL_OK) return cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
        break;
    }
    case BENCH_CLASS: {
        if ((st = ul_parse_label_set(a->class_set, b->K, &b->forget_classes, &b->nforget_classes)) != UL_OK) {
            rc = cli_fail(cmd, st, CLI_FROM_OPTION, "--scenario/--forget-class");
            cli_hint("'%s' has %d classes, labels 0-%d", ul_dataset_name(b->train), b->K, b->K - 1);
            return rc;
        }
        if ((st = ul_view_filter_labels(b->all, b->forget_classes, b->nforget_classes, true, &b->forget)) != UL_OK ||
            (st = ul_view_filter_labels(b->all, b->forget_classes, b->nforget_classes, false, &b->retain)) != UL_OK)
            return cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
        break;
    }
    case BENCH_IDS: {
        int32_t *ids = NULL;
        size_t nids = 0;
        if ((st = ul_read_ids(a->ids_file, n, &ids, &nids)) != UL_OK) {
            rc = cli_fail(cmd, st, CLI_FROM_INPUT, a->ids_file);
            cli_hint("--forget-ids takes a file of training-set indices in [0, %zu), separated by whitespace or commas", n);
            return rc;
        }
        st = ul_view_filter_ids(b->all, ids, nids, true, &b->forget);
        if (st == UL_OK) st = ul_view_filter_ids(b->all, ids, nids, false, &b->retain);
        free(ids);
        if (st != UL_OK) return cli_fail(cmd, st, CLI_FROM_INPUT, a->ids_file);
        if ((st = ul_sha256_file(a->ids_file, b->ids_hash)) != UL_OK) return cli_fail(cmd, st, CLI_FROM_INPUT, a->ids_file);
        break;
    }
    }
    if (b->forget->n == 0) {
        cli_err(cmd, "%s: the forget set is empty (no training sample of '%s' matches)", a->scenario_text,
                ul_dataset_name(b->train));
        return CLI_EXIT_INPUT;
    }
    if (b->retain->n == 0) {
        cli_err(cmd, "%s: the retain set is empty (every training sample would be forgotten)", a->scenario_text);
        return CLI_EXIT_INPUT;
    }
    split_hash(b->forget, b->retain, b->split_hash);

    /* transforms: as `unlearn train` makes them */
    ul_transform tf;
    memset(&tf, 0, sizeof tf);
    tf = ul_transform_default(ul_dataset_name(b->train));
    if (tf.nchan == 0 && C <= 4) {
        if ((st = ul_view_channel_stats(b->all, tf.mean, tf.std)) != UL_OK) return cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
        tf.nchan = C;
        for (int i = 0; i < C; i++)
            if (!(tf.std[i] > 0.0f)) tf.std[i] = 1.0f;
    }
    for (int i = 0; i < tf.nchan; i++) {
        tf.mean[i] = (float)cli_float_for_json(tf.mean[i]);
        tf.std[i] = (float)cli_float_for_json(tf.std[i]);
    }
    tf.crop_pad = 0;
    tf.hflip = false;
    b->eval_tf = tf;
    if (a->augment) {
        tf.crop_pad = H >= 32 ? 4 : H >= 16 ? 2 : 1;
        tf.hflip = C == 3;
    }
    b->train_tf = tf;

    /* the architecture must fit before anything long starts */
    b->ap = (ul_arch_params){.in_c = C, .in_h = H, .in_w = W, .classes = b->K, .width = 0.0f};
    ul_model *probe = NULL;
    if ((st = ul_model_create(a->spec, &b->ap, 0, &probe)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_OPTION, "--arch");
        if (st == UL_E_SHAPE || st == UL_E_ARG)
            cli_hint("'%s' has samples of %dx%dx%d (%d values) and %d classes, e.g. --arch mlp:%d-256-%d",
                     ul_dataset_name(b->train), C, H, W, C * H * W, b->K, C * H * W, b->K);
        return rc;
    }
    snprintf(a->spec, sizeof a->spec, "%s", ul_model_spec(probe));
    ul_model_free(probe);
    return 0;
}

static void free_run(bench_run *b) {
    ul_view_free(b->forget);
    ul_view_free(b->retain);
    ul_view_free(b->all);
    ul_view_free(b->testv);
    free(b->forget_classes);
    ul_dataset_free(b->train);
    ul_dataset_free(b->test);
}

/* Write the three result files: each to a temporary name first, then renamed together, so a
 * failure leaves no result file half-written or out of step with the others. */
static int write_outputs(bench_run *b, const char *json, const char *csv, const char *md) {
    static const char *const names[3] = {"results.json", "results.csv", "results.md"};
    const char *texts[3] = {json, csv, md};
    char fin[3][1100], tmp[3][1200];
    int rc = 0, written = 0;
    for (int i = 0; i < 3; i++) {
        snprintf(fin[i], sizeof fin[i], "%s/%s", b->a->out_dir, names[i]);
        snprintf(tmp[i], sizeof tmp[i], "%s/%s.part.%ld", b->a->out_dir, names[i], (long)getpid());
        ul_status st = ul_write_file_atomic(tmp[i], texts[i], strlen(texts[i]));
        if (st != UL_OK) {
            rc = cli_fail(b->cmd, st, CLI_FROM_OUTPUT, fin[i]);
            break;
        }
        written++;
    }
    for (int i = 0; i < 3 && rc == 0; i++)
        if (rename(tmp[i], fin[i]) != 0) {
            cli_err(b->cmd, "renaming %s to %s: %s", tmp[i], fin[i], strerror(errno));
            rc = CLI_EXIT_INPUT;
        }
    if (rc)
        for (int i = 0; i < written; i++) unlink(tmp[i]);
    return rc;
}

static int run_methods(bench_run *b, bench_report *rep) {
    bench_args *a = b->a;
    const char *cmd = b->cmd;
    int rc = 0;
    const int jobs_per_seed = 2 + (a->nmethods - 1);
    b->prog.njobs = a->nseeds * jobs_per_seed;
    ul_protocol_task t = {.forget = b->forget, .retain = b->retain, .test = b->testv, .train_tf = b->train_tf,
                          .eval_tf = b->eval_tf, .forget_classes = b->forget_classes,
                          .nforget_classes = b->nforget_classes, .classes = b->K, .threads = 0, .eval_batch = 256,
                          .svc_mia = a->svc};
    for (int si = 0; si < a->nseeds && rc == 0; si++) {
        const uint64_t seed = a->seeds[si];
        cached_model orig, rt;
        memset(&rt, 0, sizeof rt);
        if ((rc = get_model(b, "original", b->all, seed, &orig))) break;
        if ((rc = get_model(b, "retrain", b->retain, seed, &rt))) {
            ul_model_free(orig.m);
            break;
        }
        ul_predictions ref;
        memset(&ref, 0, sizeof ref);
        ul_status st;
        bench_row *rr = &a->methods[0].rows[si], *ro = &rep->original[si];
        prog_begin(&b->prog, 0, "seed %llu: evaluating retrain and original", (unsigned long long)seed);
        if ((st = ul_protocol_eval(rt.m, &t, NULL, &ref, &rr->m)) != UL_OK ||
            (st = ul_protocol_eval(orig.m, &t, &ref, NULL, &ro->m)) != UL_OK) {
            prog_clear(&b->prog);
            rc = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
            goto seed_done;
        }
        /* retrain = the oracle: its run time is its training time; KL/JS to itself are 0 */
        rr->m.seconds = rt.seconds;
        rr->m.kl = 0.0;
        rr->m.js = 0.0;
        rr->gap = 0.0;
        rr->cached = rt.cached;
        snprintf(rr->ckpt, sizeof rr->ckpt, "%s", rt.path);
        ro->cached = orig.cached;
        ro->m.seconds = orig.seconds;
        snprintf(ro->ckpt, sizeof ro->ckpt, "%s", orig.path);
        if ((st = ul_protocol_gap(&ro->m, &rr->m, &ro->gap)) != UL_OK) {
            rc = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
            goto seed_done;
        }
        prog_end(&b->prog, false, "seed %llu: retrain FA %.2f RA %.2f TA %.2f MIA %.2f; original FA %.2f RA %.2f TA %.2f "
                                  "MIA %.2f (gap %.2f)",
                 (unsigned long long)seed, rr->m.acc.fa, rr->m.acc.ra, rr->m.acc.ta, rr->m.mia_entropy_lr, ro->m.acc.fa,
                 ro->m.acc.ra, ro->m.acc.ta, ro->m.mia_entropy_lr, ro->gap);
        t.original = orig.m;
        for (int mi = 1; mi < a->nmethods; mi++) {
            bench_method *bm = &a->methods[mi];
            bench_row *row = &bm->rows[si];
            const char *mn = bm->label;
            ul_unlearn_params p = bm->params;
            p.progress = unlearn_cb;
            p.progress_user = &b->prog;
            prog_begin(&b->prog, ul_unlearn_expected_steps(&p, b->forget->n, b->retain->n), "seed %llu %s",
                       (unsigned long long)seed, mn);
            st = ul_protocol_run(&t, &p, seed, &ref, &row->m, NULL);
            if (st == UL_E_NUMERIC && a->nsweeps > 0 && strchr(mn, ' ')) {
                /* one setting of a sweep diverged: record it and go on with the grid */
                prog_clear(&b->prog);
                fprintf(stderr, "unlearn %s: warning: %s diverged on seed %llu (%s); recorded as diverged\n", cmd, mn,
                        (unsigned long long)seed, ul_last_error());
                memset(&row->m, 0, sizeof row->m);
                row->m.acc.fa = row->m.acc.ua = row->m.acc.ra = row->m.acc.ta = NAN;
                row->m.acc.ta_remain = row->m.acc.ta_forget = NAN;
                row->m.mia_entropy_lr = row->m.mia_svc_confidence = row->m.kl = row->m.js = row->m.seconds = NAN;
                row->gap = NAN;
                row->diverged = true;
                prog_end(&b->prog, true, "seed %llu %s: diverged", (unsigned long long)seed, mn);
                continue;
            }
            if (st != UL_OK) {
                prog_clear(&b->prog);
                rc = cli_fail(cmd, st, CLI_FROM_TRAIN, mn);
                if (st == UL_E_NUMERIC)
                    cli_hint("%s diverged; try a smaller lr (--set %s.lr=...)", mn, ul_unlearn_method_name(bm->id));
                break;
            }
            if ((st = ul_protocol_gap(&row->m, &rr->m, &row->gap)) != UL_OK) {
                rc = cli_fail(cmd, st, CLI_FROM_INPUT, mn);
                break;
            }
            prog_end(&b->prog, true, "seed %llu %s: FA %.2f RA %.2f TA %.2f MIA %.2f gap %.2f KL %.4f in %.1f s",
                     (unsigned long long)seed, mn, row->m.acc.fa, row->m.acc.ra, row->m.acc.ta, row->m.mia_entropy_lr,
                     row->gap, row->m.kl, row->m.seconds);
        }
    seed_done:
        t.original = NULL;
        ul_predictions_free(&ref);
        ul_model_free(orig.m);
        ul_model_free(rt.m);
    }
    prog_clear(&b->prog);
    return rc;
}

static int bench_methods(int argc, char **argv) {
    char d_epochs[16];
    snprintf(d_epochs, sizeof d_epochs, "%d", BENCH_DEFAULT_EPOCHS);
    cli_opt opts[O_COUNT] = {
        [O_DATA] = {"data", 0, "NAME|DIR", "fashion-mnist",
                    "dataset: fashion-mnist, mnist, or a directory of IDX, CIFAR-10/100 binary or NPY files; its "
                    "training split is split into forget and retain sets, its test split is the test set"},
        [O_ARCH] = {"arch", 0, "SPEC", "cnn", "architecture: cnn, resnet18, or mlp:W0-...-Wk"},
        [O_WIDTH] = {"width", 0, "F", "1.0", "width multiplier of resnet18 (spec resnet18@w=F)"},
        [O_SCENARIO] = {"scenario", 0, "random:P|class:SET", "random:10",
                        "random:P forgets P% of the training set (SFR-on's seeded CPython shuffle); class:SET forgets "
                        "every training sample with these labels (e.g. class:3)"},
        [O_FORGET_CLASS] = {"forget-class", 0, "SET", NULL, "same as --scenario class:SET"},
        [O_FORGET_RANDOM] = {"forget-random", 0, "P[%]", NULL, "same as --scenario random:P, e.g. 10%"},
        [O_FORGET_IDS] = {"forget-ids", 0, "FILE", NULL,
                          "forget the training samples whose indices the file lists (whitespace or commas, # comments)"},
        [O_SPLIT_SEED] = {"split-seed", 0, "N", "0", "random:P: seed of the split (fixed across seeds, as SFR-on's)"},
        [O_METHODS] = {"methods", 0, "LIST", "all",
                       "comma list of retrain, ft, ga, rl, salun, l1sparse, badteacher, scrub, ssd, sfron, or all; "
                       "retrain (the oracle) always runs"},
        [O_SEEDS] = {"seeds", 0, "N", "3", "run seeds 0..N-1 (each trains its own original and oracle)"},
        [O_SEED_LIST] = {"seed-list", 0, "LIST", NULL, "explicit seeds, e.g. 100 or 0,1,2 (instead of --seeds)"},
        [O_EPOCHS] = {"epochs", 0, "N", d_epochs, "recipe of the original and the retrain oracle: epochs"},
        [O_BATCH] = {"batch", 0, "N", "128", "recipe: batch size"},
        [O_LR] = {"lr", 0, "F", "0.05", "recipe: SGD learning rate (Nesterov momentum 0.9, cosine per iteration)"},
        [O_WD] = {"wd", 0, "F", "0.0005", "recipe: weight decay"},
        [O_AUGMENT] = {"augment", 0, NULL, "off",
                       "recipe and methods: random crop (and flip for 3-channel images) during training"},
        [O_SET] = {"set", 0, "M.KEY=V", NULL,
                   "override a method's parameter, e.g. sfron.forget_alpha=10 or *.epochs=2 (every selected method "
                   "with that key); repeatable; an unknown key lists the method's keys"},
        [O_SWEEP] = {"sweep", 0, "M.KEY=V1,V2", NULL,
                     "run a method once per value (repeatable: the grid is the product of a method's sweeps; "
                     "rows are labelled 'method key=value ...'), e.g. sfron.forget_alpha=5,10,25"},
        [O_NO_SVC] = {"no-svc-mia", 0, NULL, "off", "skip mia_svc_confidence (SalUn's SVC MIA, a few seconds per model)"},
        [O_CACHE] = {"cache", 0, "DIR", "OUT/cache",
                     "checkpoints of originals and oracles, keyed by a hash of data, split, arch, recipe and seed, "
                     "verified by their hashes before reuse"},
        [O_THREADS] = {"threads", 0, "N", "0", "threads (0 = all cores); results are fixed for a seed and thread count"},
        [O_OUTPUT] = {"output", 'o', "DIR", NULL,
                      "directory for results.json, results.csv and results.md (created if missing)", true},
        [O_JSON] = {"json", 0, NULL, "off", "print the results JSON on stdout instead of the table"},
        [O_QUIET] = {"quiet", 'q', NULL, "off", "no progress on stderr (errors still go there)"},
    };
    cli_cmd c = {
        .name = "bench methods",
        .usage = "unlearn bench methods [--data NAME|DIR] [--arch SPEC] [--scenario random:P|class:SET | "
                 "--forget-ids FILE] [--methods LIST] [--seeds N] [--set M.KEY=V ...] -o DIR",
        .summary = "Benchmark unlearning methods with the SFR-on protocol. For every seed: train (or reuse from the "
                   "cache) the original model on the whole training split and the retrain oracle on the retain set "
                   "with the same recipe; run each method on a copy of the original and time it (Fisher and mask "
                   "passes included, evaluation excluded); evaluate FA, UA, RA, TA, mia_entropy_lr, "
                   "mia_svc_confidence, KL and JS to the oracle on the forget set, and the Avg. Gap over UA, RA, TA "
                   "and mia_entropy_lr. Writes results.json (config, version, git commit, seeds, hashes, every "
                   "metric per method and seed, mean and std), results.csv and results.md into DIR and prints the "
                   "table (mean +- sample std over seeds). On a terminal, progress shows one bar for the whole run "
                   "and one for the current job; otherwise one line per finished job.",
        .epilog = "method parameters (--set METHOD.KEY=VALUE; defaults in docs/methods.md):\n"
                  "  common      epochs, iters (sfron), batch_size, forget_batch_size, lr, momentum, weight_decay,\n"
                  "              sched (const|cosine), clip_norm, bn_eval (on|off)\n"
                  "  salun       ratio            l1sparse  alpha, no_l1_epochs     badteacher  temperature\n"
                  "  scrub       temperature, gamma, alpha, msteps\n"
                  "  ssd         alpha, lambda, fisher_estimator, fisher_scope, fisher_batch, fisher_trunc\n"
                  "  sfron       forget_alpha, forget_freq, lambda, gamma, max_norm, ema_beta\n"
                  "examples:\n"
                  "  unlearn bench methods --scenario random:10 --seeds 3 -o results/\n"
                  "  unlearn bench methods --forget-class 3 --methods sfron,salun,ssd --set ssd.alpha=5 -o results/\n"
                  "  unlearn bench methods --seed-list 100 --methods sfron --sweep sfron.forget_alpha=5,10,25 \\\n"
                  "      --sweep sfron.iters=150,300 -o tune/\n",
        .opts = opts,
        .nopts = O_COUNT,
        .max_pos = 0,
    };
    const char *cmd = c.name;
    bench_args a;
    memset(&a, 0, sizeof a);
    char **rest = calloc((size_t)argc + 1, sizeof *rest);
    if (!rest) return CLI_EXIT_INTERNAL;
    int nrest = 0, rc;
    const char *pos[1];
    int npos;
    if ((rc = take_sets(cmd, argc, argv, &a, rest, &nrest))) goto out;
    rc = cli_parse(&c, nrest, rest, pos, &npos);
    if (rc == CLI_PARSE_HELP) {
        rc = CLI_EXIT_OK;
        goto out;
    }
    if (rc) goto out;
    if ((rc = read_args(&c, &a))) goto out;

    ul_log_set(a.quiet ? UL_LOG_ERROR : UL_LOG_WARN, NULL, NULL);
    ul_set_threads((int)a.threads);
    bench_run b;
    memset(&b, 0, sizeof b);
    b.cmd = cmd;
    b.a = &a;
    b.prog.quiet = a.quiet;
    b.prog.tty = isatty(STDERR_FILENO) == 1;
    b.prog.t0 = ul_now();
    if ((rc = setup(&b))) {
        free_run(&b);
        goto out;
    }
    a.threads = ul_get_threads();
    if (!a.quiet) {
        char nf[32], nr[32];
        cli_fmt_count(nf, sizeof nf, b.forget->n);
        cli_fmt_count(nr, sizeof nr, b.retain->n);
        fprintf(stderr, "bench methods: %s on %s, %s (%s forget / %s retain), %d method%s x %d seed%s, recipe %d epochs "
                        "lr %g, %ld thread%s; cache %s\n",
                a.spec, ul_dataset_name(b.train), a.scenario_text, nf, nr, a.nmethods, a.nmethods == 1 ? "" : "s",
                a.nseeds, a.nseeds == 1 ? "" : "s", a.recipe.epochs, a.recipe.optim.lr, a.threads,
                a.threads == 1 ? "" : "s", a.cache_dir);
    }

    bench_report *rep = calloc(1, sizeof *rep);
    char *cl = NULL;
    if (!rep) {
        rc = CLI_EXIT_INTERNAL;
        free_run(&b);
        goto out;
    }
    if ((rc = run_methods(&b, rep)) == 0) {
        /* the command line, for the record */
        size_t cap = 64;
        for (int i = 0; i < argc; i++) cap += strlen(argv[i]) + 3;
        cl = malloc(cap);
        if (cl) {
            size_t len = (size_t)snprintf(cl, cap, "unlearn bench methods");
            for (int i = 0; i < argc; i++) len += (size_t)snprintf(cl + len, cap - len, " %s", argv[i]);
        }
        rep->command_line = cl ? cl : "";
        rep->data = ul_dataset_name(b.train);
        rep->data_hash = ul_dataset_hash(b.train);
        rep->test_hash = ul_dataset_hash(b.test);
        rep->arch = a.spec;
        rep->classes = b.K;
        rep->scenario = a.scenario;
        rep->scenario_text = a.scenario_text;
        rep->percent = a.percent;
        rep->split_seed = a.split_seed;
        rep->ids_file = a.ids_file;
        rep->ids_file_hash = a.scenario == BENCH_IDS ? b.ids_hash : NULL;
        rep->forget_classes = b.forget_classes;
        rep->nforget_classes = b.nforget_classes;
        rep->n_forget = b.forget->n;
        rep->n_retain = b.retain->n;
        rep->n_test = b.testv->n;
        rep->split_hash = b.split_hash;
        rep->recipe = &a.recipe;
        rep->augment = a.augment;
        rep->threads = (int)a.threads;
        rep->cache_dir = a.cache_dir;
        rep->seeds = a.seeds;
        rep->nseeds = a.nseeds;
        rep->methods = a.methods;
        rep->nmethods = a.nmethods;
        rep->set_text = a.set_text;
        rep->sweep_text = a.sweep_text;
        cJSON *j = bench_results_json(rep);
        char *js = j ? cJSON_Print(j) : NULL;
        char *csv = bench_results_csv(rep), *md = bench_results_md(rep);
        cJSON_Delete(j);
        if (!js || !csv || !md) {
            cli_err(cmd, "out of memory writing the results");
            rc = CLI_EXIT_INTERNAL;
        } else if ((rc = write_outputs(&b, js, csv, md)) == 0) {
            if (a.json) {
                fputs(js, stdout);
                fputc('\n', stdout);
            } else {
                bench_print_table(rep, stdout);
                printf("wrote %s/results.json, results.csv, results.md\n", a.out_dir);
            }
        }
        free(js);
        free(csv);
        free(md);
    }
    free(cl);
    free(rep);
    free_run(&b);
out:
    free(a.methods);
    free(rest);
    return rc;
}

/* ---- `unlearn bench` --------------------------------------------------------------------- */

typedef struct bench_sub {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} bench_sub;

static const bench_sub subcommands[] = {
    {"methods", bench_methods, "unlearning methods under the SFR-on protocol over seeds: results JSON, CSV, Markdown"},
};
#define NSUB ((int)(sizeof subcommands / sizeof subcommands[0]))

static void bench_help(FILE *f) {
    fprintf(f, "usage: unlearn bench <what> [options]\n       unlearn bench <what> --help\n\nbenchmarks:\n");
    for (int i = 0; i < NSUB; i++) fprintf(f, "  %-9s %s\n", subcommands[i].name, subcommands[i].summary);
}

int cmd_bench(int argc, char **argv) {
    if (argc < 1) {
        bench_help(stderr);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(argv[0], "-h") == 0 || strcmp(argv[0], "--help") == 0) {
        bench_help(stdout);
        return CLI_EXIT_OK;
    }
    for (int i = 0; i < NSUB; i++)
        if (strcmp(argv[0], subcommands[i].name) == 0) return subcommands[i].run(argc - 1, argv + 1);
    cli_err("bench", "unknown benchmark '%s'", argv[0]);
    cli_hint("benchmarks are: methods; see 'unlearn bench --help'");
    return CLI_EXIT_USAGE;
}
