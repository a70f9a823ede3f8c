/* cli/cmd_net.c: `unlearn net <subcommand>`: the model inheritance network (include/unlearn/net.h).
 *   build  create a network from a scenario (il, tl, fl, ddpl, mixed, chain, dag) and train it;
 *          re-running the same command resumes an interrupted build
 *   add    add a model trained elsewhere (a checkpoint) with its parents, edge type and own data
 *   show   the models as a table and a tree, Graphviz DOT (--dot), an SVG drawing (--svg), or JSON
 *   log    the network's history (builds, additions, requests)
 *   check  verify every hash and invariant; exit 3 when problems are found
 * docs/net.md describes the scenarios and the on-disk layout.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "unlearn/base.h"
#include "unlearn/data.h"
#include "unlearn/io.h"
#include "unlearn/nn.h"
#include "unlearn/rng.h"
#include "unlearn/train.h"
#include "unlearn/net.h"

#include "commands.h"
#include "common.h"
#include "exitcodes.h"
#include "mpiopt.h"
#include "opts.h"
#include "progress.h"

/* ---- shared helpers ----------------------------------------------------------------- */

/* Open an existing network; prints the error (exit 3) when DIR is not one. */
static int open_net(const char *cmd, const char *dir, bool readonly, ul_net **out) {
    char db[4200];
    struct stat sb;
    *out = NULL;
    snprintf(db, sizeof db, "%s/umig.db", dir);
    if (stat(dir, &sb) != 0) {
        cli_err(cmd, "network directory '%s' does not exist", dir);
        cli_hint("create one with 'unlearn net build %s --scenario mixed ...'", dir);
        return CLI_EXIT_INPUT;
    }
    if (!S_ISDIR(sb.st_mode)) {
        cli_err(cmd, "'%s' is a file, not a network directory", dir);
        return CLI_EXIT_INPUT;
    }
    if (stat(db, &sb) != 0) {
        cli_err(cmd, "'%s' is not a network (it has no umig.db)", dir);
        cli_hint("create one with 'unlearn net build %s --scenario mixed ...'", dir);
        return CLI_EXIT_INPUT;
    }
    ul_status st = ul_net_open(dir, readonly, out);
    if (st != UL_OK) return cli_fail(cmd, st, CLI_FROM_INPUT, dir);
    return 0;
}

/* Parse a subcommand that takes exactly one positional DIR and open that network. Returns 0 with
 * *net open, CLI_PARSE_HELP after --help (exit 0), or an exit status. */
static int parse_dir_open(cli_cmd *c, int argc, char **argv, bool readonly, ul_net **net) {
    const char *dir;
    int rc = cli_parse_one(c, argc, argv, "network directory DIR", &dir);
    return rc ? rc : open_net(c->name, dir, readonly, net);
}

/* The same rule as the registry: [A-Za-z0-9_.-], 1..63 characters, not starting with '.'. */
static bool name_ok(const char *s) {
    size_t n = strlen(s);
    if (n == 0 || n >= UL_NET_NAME_MAX || s[0] == '.') return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' ||
              ch == '-'))
            return false;
    }
    return true;
}

/* Canonical label text of flags in[0..K): runs of two or more as "a-b", joined by ','. */
static bool fmt_labels(const bool *in, int K, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = '\0';
    for (int l = 0; l < K;) {
        if (!in[l]) {
            l++;
            continue;
        }
        int e = l;
        while (e + 1 < K && in[e + 1]) e++;
        int w = e > l ? snprintf(buf + k, cap - k, "%s%d-%d", k ? "," : "", l, e) : snprintf(buf + k, cap - k, "%s%d", k ? "," : "", l);
        if (w < 0 || (size_t)w >= cap - k) return false;
        k += (size_t)w;
        l = e + 1;
    }
    return true;
}

/* Add the labels of a canonical set to in[0..K) (silently ignores what does not parse). */
static void or_labels(const char *text, int K, bool *in) {
    if (!text || !*text) return;
    int32_t *l = NULL;
    size_t n = 0;
    if (ul_parse_label_set(text, K, &l, &n) != UL_OK) return;
    for (size_t i = 0; i < n; i++) in[l[i]] = true;
    free(l);
}

/* The recipe's "samples" count, or -1. */
static long recipe_samples(const char *recipe) {
    cJSON *j = cJSON_Parse(recipe);
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(j, "samples");
    long n = cJSON_IsNumber(s) ? (long)s->valuedouble : -1;
    cJSON_Delete(j);
    return n;
}

static void parents_text(const ul_node *nd, char *buf, size_t cap) {
    size_t k = 0;
    buf[0] = '\0';
    if (nd->nparents == 0) {
        snprintf(buf, cap, "-");
        return;
    }
    for (int i = 0; i < nd->nparents && k < cap; i++) {
        int w = snprintf(buf + k, cap - k, "%s%s", i ? "," : "", nd->parents[i]);
        if (w < 0) break;
        k += (size_t)w;
    }
}

static void acc_text(double acc, char *buf, size_t cap) {
    if (acc >= 0) snprintf(buf, cap, "%.2f%%", 100.0 * acc);
    else snprintf(buf, cap, "?");
}

/* ---- net build ---------------------------------------------------------------------- */

enum { B_SCENARIO, B_DATA, B_ARCH, B_WIDTH, B_DEPTH, B_EPOCHS, B_MAX_SAMPLES, B_SEED, B_THREADS, B_MPI, B_QUIET, B_COUNT };

static const char *const scenario_names[] = {"mixed", "il", "tl", "fl", "ddpl", "chain", "dag"};

typedef struct build_ui {
    cli_progress pr;     /* terminal detection and the last report */
    int index;           /* models reported so far */
    int built, kept;
    bool table_started;
} build_ui;

/* Per-batch progress of the model being trained: one redrawn line on a terminal, nothing
 * otherwise (each finished model gets its table row on stdout). */
static void build_progress(const ul_train_progress *tp, void *user) {
    build_ui *u = user;
    u->pr.last = *tp;
    u->pr.have_last = true;
    if (u->pr.quiet || !u->pr.tty) return;
    double now = ul_now();
    if (!(tp->epoch_done || tp->batch == 1 || now - u->pr.last_draw >= 0.1)) return;
    u->pr.last_draw = now;
    enum { BAR = 20 };
    char bar[BAR + 1];
    size_t fill = tp->batches ? (tp->batch * BAR) / tp->batches : 0;
    for (size_t i = 0; i < BAR; i++) bar[i] = i < fill ? '#' : '.';
    bar[BAR] = '\0';
    fprintf(stderr, "\rtraining model %d: epoch %d/%d [%s] %zu/%zu loss %.4f acc %.1f%%\033[K", u->index + 1, tp->epoch,
            tp->epochs, bar, tp->batch, tp->batches, tp->loss, 100.0 * tp->acc);
    fflush(stderr);
    u->pr.mid_line = true;
}

static void build_row(const ul_node *nd, double seconds, void *user) {
    build_ui *u = user;
    if (u->pr.mid_line) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        u->pr.mid_line = false;
    }
    if (!u->table_started) {
        printf("%-10s %-9s %-14s %-10s %-10s %8s %9s %8s\n", "model", "edge", "parents", "labels", "inherited", "samples",
               "test acc", "time");
        u->table_started = true;
    }
    char par[256], acc[32], t[32], smp[32];
    parents_text(nd, par, sizeof par);
    acc_text(nd->test_acc, acc, sizeof acc);
    long s = recipe_samples(nd->recipe);
    if (s >= 0) cli_fmt_count(smp, sizeof smp, (unsigned long long)s);
    else snprintf(smp, sizeof smp, "?");
    if (seconds < 0) snprintf(t, sizeof t, "kept");
    else snprintf(t, sizeof t, "%.1f s", seconds);
    printf("%-10s %-9s %-14s %-10s %-10s %8s %9s %8s\n", nd->name, ul_edge_name(nd->edge), par, nd->learned,
           nd->inherited[0] ? nd->inherited : "-", smp, acc, t);
    fflush(stdout);
    u->index++;
    if (seconds < 0) u->kept++;
    else u->built++;
}

/* The command; *mpi_on is set once MPI is started (net_build stops it after rank 0 has reported). */
static int net_build_main(int argc, char **argv, bool *mpi_on) {
    cli_opt opts[B_COUNT] = {
        [B_SCENARIO] = {"scenario", 0, "NAME", "mixed",
                        "mixed, il, tl, fl, ddpl, chain (deep continue-chain) or dag (deep random DAG); see docs/net.md"},
        [B_DATA] = {"data", 0, "NAME|DIR", "fashion-mnist", "dataset (at least 10 classes): fashion-mnist, mnist, or a directory"},
        [B_ARCH] = {"arch", 0, "SPEC", "cnn", "architecture of every model: cnn, resnet18, or mlp:W0-...-Wk"},
        [B_WIDTH] = {"width", 0, "F", "1.0", "width multiplier of resnet18"},
        [B_DEPTH] = {"depth", 0, "N", "0", "models of chain/dag (0 = 30 for chain, 50 for dag); other scenarios have fixed sizes"},
        [B_EPOCHS] = {"epochs", 0, "N", "0", "epochs per model (0 = the scenario's: 2, and 1 for the ddpl aggregator)"},
        [B_MAX_SAMPLES] = {"max-samples", 0, "N", "0",
                           "cap on each model's own samples (a seeded subset; 0 = its whole shard)"},
        [B_SEED] = {"seed", 0, "N", "0", "seed of the whole build (initialisation, shards, shuffling, dag shape)"},
        [B_THREADS] = {"threads", 0, "N", "0", "threads (0 = all cores); checkpoints are bit-identical for a given seed"},
        [B_MPI] = {"mpi", 0, NULL, "off",
                   "train the models whose parents are built on the ranks of an MPI job: mpirun -np N unlearn net "
                   "build DIR ... --mpi (same checkpoints and registry as one process; --threads is per rank). "
                   "Needs a build with MPI (make mpi)"},
        [B_QUIET] = {"quiet", 'q', NULL, "off", "no progress or header on stderr (the table still goes to stdout)"},
    };
    cli_cmd c = {
        .name = "net build",
        .usage = "unlearn net build DIR [--scenario NAME] [--data NAME|DIR] [--arch SPEC] [options]",
        .summary = "Create the network DIR and train every model of a scenario in creation order: start weights by "
                   "edge type (scratch, mean of the parents, copy), training on the model's own data (a label set and "
                   "a disjoint shard of the training split), test accuracy on the labels it knows, checkpoint into the "
                   "store, one registry row. One table row per model goes to stdout. Re-running the same command on DIR "
                   "resumes an interrupted build: models already there with the same recipe are kept; a model there "
                   "with a different recipe is an error.",
        .epilog = "examples:\n"
                  "  unlearn net build nets/mixed --scenario mixed --data fashion-mnist --arch cnn --max-samples 6000\n"
                  "  unlearn net build nets/chain --scenario chain --depth 30 --arch mlp:784-128-10 --epochs 1\n",
        .opts = opts,
        .nopts = B_COUNT,
        .max_pos = 1,
    };
    const char *dir_arg;
    int rc = cli_parse_one(&c, argc, argv, "network directory DIR", &dir_arg);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    const char *cmd = c.name;
    int si;
    long depth, epochs, threads, maxs;
    double width;
    uint64_t seed;
    if ((rc = cli_get_choice(&c, &opts[B_SCENARIO], scenario_names, 7, &si))) return rc;
    if ((rc = cli_get_long(&c, &opts[B_DEPTH], 0, 1000, &depth))) return rc;
    if ((rc = cli_get_long(&c, &opts[B_EPOCHS], 0, 1000000, &epochs))) return rc;
    if ((rc = cli_get_long(&c, &opts[B_MAX_SAMPLES], 0, 1000000000, &maxs))) return rc;
    if ((rc = cli_get_long(&c, &opts[B_THREADS], 0, 4096, &threads))) return rc;
    if ((rc = cli_get_u64(&c, &opts[B_SEED], &seed))) return rc;
    if ((rc = cli_get_double(&c, &opts[B_WIDTH], 0.0, 16.0, true, &width))) return rc;
    const char *scen = scenario_names[si], *arch = opts[B_ARCH].value, *data = opts[B_DATA].value;
    const bool deep = si >= 5, quiet = cli_get_flag(&opts[B_QUIET]), mpi = cli_get_flag(&opts[B_MPI]);
    if (mpi && (rc = cli_mpi_check(cmd))) return rc;
    if (opts[B_DEPTH].given && !deep) {
        cli_err(cmd, "--depth applies to --scenario chain and dag only (%s has a fixed shape)", scen);
        return CLI_EXIT_USAGE;
    }
    if (deep && opts[B_DEPTH].given && depth < 2) {
        cli_err(cmd, "--depth: %ld is out of range [2, 1000]", depth);
        return CLI_EXIT_USAGE;
    }
    if (opts[B_WIDTH].given && strcmp(arch, "resnet18") != 0) {
        cli_err(cmd, "--width applies to --arch resnet18 only (got --arch %s)", arch);
        return CLI_EXIT_USAGE;
    }

    ul_log_set(quiet ? UL_LOG_ERROR : UL_LOG_WARN, NULL, NULL);
    ul_set_threads((int)threads);

    /* check the options against the data before creating anything */
    ul_dataset *d = NULL;
    if ((rc = cli_load_data(cmd, data, "train", &d))) return rc;
    const int K = ul_dataset_classes(d);
    ul_arch_params ap = {.in_c = ul_dataset_channels(d), .in_h = ul_dataset_height(d), .in_w = ul_dataset_width(d),
                         .classes = K, .width = strcmp(arch, "resnet18") == 0 ? (float)width : 0.0f};
    ul_model *probe = NULL;
    ul_status st = ul_model_create(arch, &ap, 0, &probe);
    char dname[300];
    snprintf(dname, sizeof dname, "%s", ul_dataset_name(d));
    ul_dataset_free(d);
    if (st != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_OPTION, "--arch");
        cli_hint("'%s' has samples of %dx%dx%d (%d values) and %d classes, e.g. --arch mlp:%d-64-%d", dname, ap.in_c,
                 ap.in_h, ap.in_w, ap.in_c * ap.in_h * ap.in_w, K, ap.in_c * ap.in_h * ap.in_w, K);
        return rc;
    }
    char spec[160];
    snprintf(spec, sizeof spec, "%s", ul_model_spec(probe));
    ul_model_free(probe);
    if (K < 10) {
        cli_err(cmd, "--data %s has %d classes; the scenarios need at least 10", data, K);
        return CLI_EXIT_USAGE;
    }

    int rank = 0, ranks = 1;
    if (mpi && (rc = cli_mpi_start(cmd, threads, &rank, &ranks))) return rc;
    *mpi_on = mpi;
    build_ui ui;
    memset(&ui, 0, sizeof ui);
    cli_progress_init(&ui.pr, quiet || rank != 0);
    if (!quiet && rank == 0)
        fprintf(stderr, "building scenario %s in %s: %s on %s, seed %llu, %d thread%s%s%s\n", scen, dir_arg, spec, dname,
                (unsigned long long)seed, ul_get_threads(), ul_get_threads() == 1 ? "" : "s",
                mpi ? " per rank" : "", maxs > 0 ? ", capped samples" : "");
    if (!quiet && rank == 0 && mpi) fprintf(stderr, "MPI: %d rank%s\n", ranks, ranks == 1 ? "" : "s");
    ul_build_params bp = {.scenario = scen, .data = data, .arch = arch, .width = ap.width, .depth = (int)depth,
                          .epochs = (int)epochs, .max_samples = (size_t)maxs, .seed = seed,
                          .progress = build_progress, .progress_user = &ui, .node_done = build_row, .node_user = &ui};
    const double t0 = ul_now();
    if (mpi) {
        st = cli_mpi_build(dir_arg, &bp);
        if (rank != 0) return cli_exit_code(st, CLI_FROM_TRAIN); /* rank 0 reports */
    } else {
        st = ul_net_build(dir_arg, &bp);
    }
    const double secs = ul_now() - t0;
    if (ui.pr.mid_line) fputs("\r\033[K", stderr);
    if (st != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_TRAIN, NULL);
        if (st == UL_E_NUMERIC) cli_hint("training diverged; try another --seed or fewer --epochs");
        else if (st == UL_E_ARG && strstr(ul_last_error(), "already exists"))
            cli_hint("to resume or extend a network, repeat the options of its first build; for other options use a new DIR");
        else if (st == UL_E_BUSY)
            cli_hint("another process is writing %s; wait for it, then re-run the same command to resume", dir_arg);
        else if ((ui.index > 0 || st == UL_E_IO) && access(dir_arg, F_OK) == 0)
            cli_hint("models finished so far are kept; fix the cause and re-run the same command to resume");
        return rc;
    }
    printf("network %s: %d models (%d trained, %d kept) in %.1f s\n", dir_arg, ui.index, ui.built, ui.kept, secs);
    return CLI_EXIT_OK;
}

static int net_build(int argc, char **argv) {
    bool mpi_on = false;
    const int rc = net_build_main(argc, argv, &mpi_on);
    if (mpi_on) { /* every rank waits until rank 0 has printed (see cmd_forget) */
        fflush(stdout);
        fflush(stderr);
        cli_mpi_stop();
    }
    return rc;
}

/* ---- net add ------------------------------------------------------------------------ */

enum { A_NAME, A_PARENTS, A_EDGE, A_MODEL, A_DATA, A_LABELS, A_SHARD, A_SHARD_SEED, A_THREADS, A_QUIET, A_COUNT };

static int parse_shard(const char *cmd, const char *s, int *k, int *n) {
    long a, b;
    char buf[64];
    const char *slash = strchr(s, '/');
    if (!slash || (size_t)(slash - s) >= sizeof buf) goto bad;
    memcpy(buf, s, (size_t)(slash - s));
    buf[slash - s] = '\0';
    if (!cli_parse_long(buf, &a) || !cli_parse_long(slash + 1, &b)) goto bad;
    if (b < 2 || b > 1000000 || a < 0 || a >= b) goto bad;
    *k = (int)a;
    *n = (int)b;
    return 0;
bad:
    cli_err(cmd, "--shard: '%s' is not K/N with 0 <= K < N and N >= 2 (e.g. 0/4)", s);
    return CLI_EXIT_USAGE;
}

static int net_add(int argc, char **argv) {
    cli_opt opts[A_COUNT] = {
        [A_NAME] = {"name", 0, "NAME", NULL, "model name: [A-Za-z0-9_.-], 1 to 63 characters, not starting with '.'", true},
        [A_PARENTS] = {"parents", 0, "A,B,...", "none", "parent models (they must exist in the network)"},
        [A_EDGE] = {"edge", 0, "TYPE", "none",
                    "how it derives from its parents: none (no parents), avg (2 or more), continue, transfer or finetune "
                    "(exactly 1); required with --parents"},
        [A_MODEL] = {"model", 'm', "FILE", NULL, "checkpoint (.safetensors) of the model", true},
        [A_DATA] = {"data", 0, "NAME|DIR", "fashion-mnist", "dataset its own training data comes from (training split)"},
        [A_LABELS] = {"labels", 0, "SET", "all", "labels of its own data, e.g. 0-5 or 1,3,5-6"},
        [A_SHARD] = {"shard", 0, "K/N", "none", "its own data is shard K of N of the label-filtered samples"},
        [A_SHARD_SEED] = {"shard-seed", 0, "S", "0", "seed of the shard split"},
        [A_THREADS] = {"threads", 0, "N", "0", "threads for the test evaluation (0 = all cores)"},
        [A_QUIET] = {"quiet", 'q', NULL, "off", "no messages on stderr except errors"},
    };
    cli_cmd c = {
        .name = "net add",
        .usage = "unlearn net add DIR --name NAME [--parents A,B] [--edge TYPE] -m FILE [--data D] [--labels SET] "
                 "[--shard K/N --shard-seed S]",
        .summary = "Add a model trained elsewhere to the network DIR (created if it does not exist): the checkpoint is "
                   "stored, its own data is recorded as a data selector (dataset, labels, shard), its learned labels "
                   "are its own labels and its inherited labels come from its parents, and its test accuracy on the "
                   "labels it knows is measured. Every registry invariant is checked; nothing changes on failure.",
        .epilog = "example:\n"
                  "  unlearn train --data fashion-mnist --classes 0-7 -o mine.safetensors\n"
                  "  unlearn net add nets/mixed --name mine --parents c --edge finetune -m mine.safetensors --labels 0-7\n",
        .opts = opts,
        .nopts = A_COUNT,
        .max_pos = 1,
    };
    const char *dir;
    int rc = cli_parse_one(&c, argc, argv, "network directory DIR", &dir);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    const char *cmd = c.name;
    const char *name = opts[A_NAME].value, *mpath = opts[A_MODEL].value;
    if (!name_ok(name)) {
        cli_err(cmd, "--name: '%s' is not a valid model name", name);
        cli_hint("names use letters, digits, '_', '.' and '-', 1 to 63 characters, not starting with '.'");
        return CLI_EXIT_USAGE;
    }
    ul_edge_type edge;
    if (ul_edge_parse(opts[A_EDGE].value, &edge) != UL_OK) {
        cli_err(cmd, "--edge: '%s' is not one of none, avg, continue, transfer, finetune", opts[A_EDGE].value);
        return CLI_EXIT_USAGE;
    }
    /* parents */
    char pnames[UL_NET_MAX_PARENTS][UL_NET_NAME_MAX];
    int np = 0;
    if (opts[A_PARENTS].given) {
        const char *q = opts[A_PARENTS].value;
        for (;;) {
            size_t len = strcspn(q, ",");
            if (np == UL_NET_MAX_PARENTS) {
                cli_err(cmd, "--parents: at most %d parents", UL_NET_MAX_PARENTS);
                return CLI_EXIT_USAGE;
            }
            if (len == 0 || len >= UL_NET_NAME_MAX) {
                cli_err(cmd, "--parents: '%s' is not a comma-separated list of model names", opts[A_PARENTS].value);
                return CLI_EXIT_USAGE;
            }
            memcpy(pnames[np], q, len);
            pnames[np][len] = '\0';
            if (!name_ok(pnames[np])) {
                cli_err(cmd, "--parents: '%s' is not a valid model name", pnames[np]);
                return CLI_EXIT_USAGE;
            }
            for (int k = 0; k < np; k++)
                if (strcmp(pnames[k], pnames[np]) == 0) {
                    cli_err(cmd, "--parents: '%s' is listed twice", pnames[np]);
                    return CLI_EXIT_USAGE;
                }
            if (strcmp(pnames[np], name) == 0) {
                cli_err(cmd, "--parents: a model cannot be its own parent ('%s')", name);
                return CLI_EXIT_USAGE;
            }
            np++;
            q += len;
            if (*q == '\0') break;
            q++;
        }
        if (!opts[A_EDGE].given) {
            cli_err(cmd, "--parents needs --edge (avg, continue, transfer or finetune)");
            return CLI_EXIT_USAGE;
        }
    }
    const char *arity = NULL;
    if (edge == UL_EDGE_NONE && np > 0) arity = "--edge none takes no parents";
    else if (edge == UL_EDGE_AVG && np < 2) arity = "--edge avg needs at least 2 parents";
    else if (edge != UL_EDGE_NONE && edge != UL_EDGE_AVG && np != 1) arity = "--edge continue/transfer/finetune needs exactly 1 parent";
    if (arity) {
        cli_err(cmd, "%s (got %d)", arity, np);
        return CLI_EXIT_USAGE;
    }
    int shard = 0, nshards = 0;
    uint64_t shard_seed = 0;
    long threads;
    if (opts[A_SHARD].given && (rc = parse_shard(cmd, opts[A_SHARD].value, &shard, &nshards))) return rc;
    if ((rc = cli_get_u64(&c, &opts[A_SHARD_SEED], &shard_seed))) return rc;
    if (opts[A_SHARD_SEED].given && !opts[A_SHARD].given) {
        cli_err(cmd, "--shard-seed applies with --shard only");
        return CLI_EXIT_USAGE;
    }
    if ((rc = cli_get_long(&c, &opts[A_THREADS], 0, 4096, &threads))) return rc;
    if (strlen(opts[A_DATA].value) >= sizeof(((ul_data_selector *)0)->data)) {
        cli_err(cmd, "--data: '%s' is too long", opts[A_DATA].value);
        return CLI_EXIT_USAGE;
    }
    const bool quiet = cli_get_flag(&opts[A_QUIET]);
    ul_log_set(quiet ? UL_LOG_ERROR : UL_LOG_WARN, NULL, NULL);
    ul_set_threads((int)threads);

    ul_dataset *dtr = NULL, *dte = NULL;
    ul_view *own = NULL, *tall = NULL, *tv = NULL;
    ul_model *m = NULL;
    ul_st_file *meta = NULL;
    ul_net *net = NULL;
    ul_node *node = calloc(1, sizeof *node), *par = calloc(UL_NET_MAX_PARENTS, sizeof *par);
    bool *in = NULL, *inh = NULL;
    int32_t *labels = NULL, *known = NULL;
    char *recipe = NULL;
    ul_status st;
    if (!node || !par) {
        cli_err(cmd, "out of memory");
        rc = CLI_EXIT_INTERNAL;
        goto done;
    }

    /* inputs: data and checkpoint */
    if ((rc = cli_load_data(cmd, opts[A_DATA].value, "train", &dtr))) goto done;
    if ((rc = cli_load_data(cmd, opts[A_DATA].value, "test", &dte))) goto done;
    const int K = ul_dataset_classes(dtr);
    if ((st = ul_ckpt_load(mpath, NULL, NULL, &m, &meta)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, mpath);
        goto done;
    }
    ul_arch_params ap = ul_model_arch(m);
    if (ap.in_c != ul_dataset_channels(dtr) || ap.in_h != ul_dataset_height(dtr) || ap.in_w != ul_dataset_width(dtr) ||
        ap.classes != K) {
        cli_err(cmd, "%s: model %s takes %dx%dx%d inputs and has %d classes, but '%s' has %dx%dx%d samples and %d classes",
                mpath, ul_model_spec(m), ap.in_c, ap.in_h, ap.in_w, ap.classes, ul_dataset_name(dtr),
                ul_dataset_channels(dtr), ul_dataset_height(dtr), ul_dataset_width(dtr), K);
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    in = calloc((size_t)K, sizeof *in);
    inh = calloc((size_t)K, sizeof *inh);
    known = malloc((size_t)K * sizeof *known);
    if (!in || !inh || !known) {
        cli_err(cmd, "out of memory");
        rc = CLI_EXIT_INTERNAL;
        goto done;
    }
    if (strcmp(opts[A_LABELS].value, "all") == 0) {
        for (int l = 0; l < K; l++) in[l] = true;
    } else {
        size_t nl;
        if ((st = ul_parse_label_set(opts[A_LABELS].value, K, &labels, &nl)) != UL_OK) {
            rc = cli_fail(cmd, st, CLI_FROM_OPTION, "--labels");
            cli_hint("'%s' has %d classes, labels 0-%d", ul_dataset_name(dtr), K, K - 1);
            goto done;
        }
        for (size_t i = 0; i < nl; i++) in[labels[i]] = true;
    }

    /* the network and the parents */
    {
        char db[4200];
        struct stat sb;
        snprintf(db, sizeof db, "%s/umig.db", dir);
        if (stat(db, &sb) == 0) {
            if ((rc = open_net(cmd, dir, false, &net))) goto done;
        } else if (np > 0) {
            cli_err(cmd, "--parents: '%s' is not a network yet, so it has no model '%s'", dir, pnames[0]);
            rc = CLI_EXIT_INPUT;
            goto done;
        } else {
            if ((st = ul_net_create(dir, &net)) != UL_OK) {
                rc = cli_fail(cmd, st, CLI_FROM_OUTPUT, dir);
                goto done;
            }
            if (!quiet) fprintf(stderr, "created network %s\n", dir);
        }
    }
    for (int k = 0; k < np; k++) {
        st = ul_net_get(net, pnames[k], &par[k]);
        if (st == UL_E_NOTFOUND) {
            cli_err(cmd, "--parents: network '%s' has no model '%s'", dir, pnames[k]);
            cli_hint("'unlearn net show %s' lists its models", dir);
            rc = CLI_EXIT_INPUT;
            goto done;
        }
        if (st != UL_OK) {
            rc = cli_fail(cmd, st, CLI_FROM_INPUT, dir);
            goto done;
        }
        ul_arch_params pa = par[k].ap;
        if (strcmp(par[k].arch, ul_model_spec(m)) != 0 || pa.in_c != ap.in_c || pa.in_h != ap.in_h || pa.in_w != ap.in_w ||
            pa.classes != ap.classes) {
            /* checked before anything is stored, so a refused model leaves no unreferenced object */
            cli_err(cmd, "%s: model %s (%dx%dx%d, %d classes) does not have the architecture of its parent '%s': %s "
                         "(%dx%dx%d, %d classes)",
                    mpath, ul_model_spec(m), ap.in_c, ap.in_h, ap.in_w, ap.classes, pnames[k], par[k].arch, pa.in_c, pa.in_h,
                    pa.in_w, pa.classes);
            rc = CLI_EXIT_INPUT;
            goto done;
        }
        or_labels(par[k].learned, K, inh);
        or_labels(par[k].inherited, K, inh);
    }
    {
        ul_node existing;
        st = ul_net_get(net, name, &existing);
        if (st == UL_OK) {
            cli_err(cmd, "--name: network '%s' already has a model '%s' (version %d)", dir, name, existing.version);
            rc = CLI_EXIT_INPUT;
            goto done;
        }
        if (st != UL_E_NOTFOUND) {
            rc = cli_fail(cmd, st, CLI_FROM_INPUT, dir);
            goto done;
        }
    }

    /* own data */
    ul_data_selector *sel = &node->own;
    snprintf(sel->data, sizeof sel->data, "%s", opts[A_DATA].value);
    snprintf(sel->split, sizeof sel->split, "train");
    if (!fmt_labels(in, K, sel->labels, sizeof sel->labels)) {
        cli_err(cmd, "--labels: the label set is too long to record");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    sel->shard = shard;
    sel->nshards = nshards;
    sel->shard_seed = shard_seed;
    if ((st = ul_selector_resolve(sel, dtr, &own)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
        goto done;
    }
    if (own->n == 0) {
        cli_err(cmd, "its own data is empty: no training sample of '%s' has labels %s%s", ul_dataset_name(dtr), sel->labels,
                nshards ? " in that shard" : "");
        rc = CLI_EXIT_INPUT;
        goto done;
    }
    ul_selector_hash(own, node->own_hash);
    snprintf(node->learned, sizeof node->learned, "%s", sel->labels);
    size_t nknown = 0;
    for (int l = 0; l < K; l++) {
        if (in[l] || inh[l]) known[nknown++] = l;
        if (in[l]) inh[l] = false;
    }
    fmt_labels(inh, K, node->inherited, sizeof node->inherited);

    /* test accuracy on the labels it knows, normalised as it was trained */
    ul_transform tf;
    if (!cli_transform_from_provenance(ul_st_meta(meta, "provenance"), ul_dataset_channels(dte), &tf))
        tf = ul_transform_default(ul_dataset_name(dte));
    ul_eval_result er;
    if ((st = ul_view_all(dte, &tall)) != UL_OK || (st = ul_view_filter_labels(tall, known, nknown, true, &tv)) != UL_OK ||
        (st = ul_evaluate(m, tv, &tf, 256, &er)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
        goto done;
    }
    node->test_acc = er.n ? (double)er.correct / (double)er.n : -1.0;
    ul_eval_result_free(&er);

    /* store, record */
    char src_hash[65];
    if ((st = ul_sha256_file(mpath, src_hash)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, mpath);
        goto done;
    }
    ul_ckpt_meta cm = {.class_names = ul_st_meta(meta, "class_names"), .provenance = ul_st_meta(meta, "provenance")};
    if ((st = ul_net_put_model(net, m, &cm, node->ckpt)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_OUTPUT, dir);
        goto done;
    }
    {
        cJSON *j = cJSON_CreateObject(), *pa = cJSON_AddArrayToObject(j, "parents"),
              *pv = cJSON_AddArrayToObject(j, "parent_versions");
        cJSON_AddStringToObject(j, "edge", ul_edge_name(edge));
        cJSON_AddBoolToObject(j, "external", true);
        for (int k = 0; k < np; k++) {
            cJSON_AddItemToArray(pa, cJSON_CreateString(par[k].name));
            cJSON_AddItemToArray(pv, cJSON_CreateNumber((double)par[k].id));
        }
        const char *base = strrchr(mpath, '/');
        cJSON_AddStringToObject(j, "source", base ? base + 1 : mpath);
        cJSON_AddStringToObject(j, "source_sha256", src_hash);
        cJSON_AddNumberToObject(j, "samples", (double)own->n);
        recipe = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
    }
    if (!recipe || strlen(recipe) >= sizeof node->recipe) {
        cli_err(cmd, "could not write the recipe (out of memory or too long)");
        rc = CLI_EXIT_INTERNAL;
        goto done;
    }
    snprintf(node->recipe, sizeof node->recipe, "%s", recipe);
    snprintf(node->name, sizeof node->name, "%s", name);
    snprintf(node->arch, sizeof node->arch, "%s", ul_model_spec(m));
    node->ap = ap;
    node->edge = edge;
    node->nparents = np;
    for (int k = 0; k < np; k++) snprintf(node->parents[k], sizeof node->parents[k], "%s", pnames[k]);
    node->fisher[0] = '\0'; /* the full-data Fisher cache: computed at creation once the Fisher module lands */
    if ((st = ul_net_add(net, node)) != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
        goto done;
    }
    {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "model", name);
        cJSON_AddStringToObject(j, "edge", ul_edge_name(edge));
        cJSON_AddStringToObject(j, "source", mpath);
        cJSON_AddStringToObject(j, "source_sha256", src_hash);
        char *s = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        if (!s || ul_net_log(net, "add", s) != UL_OK) cli_warn(cmd, "could not append to the network's log: %s", ul_last_error());
        free(s);
    }
    {
        char par_s[1100], acc[32], ns[32];
        parents_text(node, par_s, sizeof par_s);
        acc_text(node->test_acc, acc, sizeof acc);
        cli_fmt_count(ns, sizeof ns, own->n);
        printf("added %s (version %d, edge %s, parents %s): labels %s, inherited %s, %s samples, test acc %s, "
               "checkpoint %.12s\n",
               name, node->version, ul_edge_name(edge), par_s, node->learned, node->inherited[0] ? node->inherited : "-",
               ns, acc, node->ckpt);
    }
    rc = CLI_EXIT_OK;
done:
    free(recipe);
    free(labels);
    free(known);
    free(in);
    free(inh);
    ul_view_free(own);
    ul_view_free(tv);
    ul_view_free(tall);
    ul_model_free(m);
    ul_st_free(meta);
    ul_dataset_free(dtr);
    ul_dataset_free(dte);
    ul_net_close(net);
    free(node);
    free(par);
    return rc;
}

/* ---- net show ----------------------------------------------------------------------- */

enum { S_DOT, S_SVG, S_JSON, S_COUNT };

static const char *edge_colour(ul_edge_type e) {
    switch (e) {
    case UL_EDGE_AVG: return "#1f77b4";
    case UL_EDGE_CONTINUE: return "#2ca02c";
    case UL_EDGE_TRANSFER: return "#d62728";
    case UL_EDGE_FINETUNE: return "#9467bd";
    default: return "black";
    }
}

/* Graphviz DOT text of the current graph (malloc'd). Names are [A-Za-z0-9_.-] (registry rule),
 * so they need no escaping inside quotes. */
static char *dot_text(const ul_node *v, size_t n) {
    size_t cap = 1024 + n * 512, k = 0;
    for (size_t i = 0; i < n; i++) cap += (size_t)v[i].nparents * 160;
    char *s = malloc(cap);
    if (!s) return NULL;
#define PUT(...) k += (size_t)snprintf(s + k, cap - k, __VA_ARGS__)
    PUT("digraph umig {\n  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=10];\n"
        "  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for (size_t i = 0; i < n; i++) {
        char acc[32];
        acc_text(v[i].test_acc, acc, sizeof acc);
        PUT("  \"%s\" [label=\"%s v%d\\nlabels %s%s%s\\nacc %s\"%s];\n", v[i].name, v[i].name, v[i].version, v[i].learned,
            v[i].inherited[0] ? "\\ninherited " : "", v[i].inherited, acc,
            v[i].version > 1 ? ", style=\"rounded,filled\", fillcolor=\"#eeeeee\"" : "");
    }
    for (size_t i = 0; i < n; i++)
        for (int p = 0; p < v[i].nparents; p++)
            PUT("  \"%s\" -> \"%s\" [label=\"%s\", color=\"%s\"];\n", v[i].parents[p], v[i].name, ul_edge_name(v[i].edge),
                edge_colour(v[i].edge));
    PUT("}\n");
#undef PUT
    return s;
}

/* Render DOT to an SVG file with Graphviz: `dot -Tsvg -o TMP` fed on stdin, then TMP renamed onto path. */
static int write_svg(const char *cmd, const char *dot, const char *path) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd[2];
    if (pipe(fd) != 0) {
        cli_err(cmd, "--svg: pipe: %s", strerror(errno));
        return CLI_EXIT_INTERNAL;
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        cli_err(cmd, "--svg: fork: %s", strerror(errno));
        close(fd[0]);
        close(fd[1]);
        return CLI_EXIT_INTERNAL;
    }
    if (pid == 0) {
        dup2(fd[0], STDIN_FILENO);
        close(fd[0]);
        close(fd[1]);
        execlp("dot", "dot", "-Tsvg", "-o", tmp, (char *)NULL);
        _exit(127);
    }
    close(fd[0]);
    void (*old)(int) = signal(SIGPIPE, SIG_IGN);
    size_t len = strlen(dot), off = 0;
    while (off < len) {
        ssize_t w = write(fd[1], dot + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    close(fd[1]);
    signal(SIGPIPE, old);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) {
        unlink(tmp);
        cli_err(cmd, "--svg: Graphviz 'dot' was not found on PATH");
        cli_hint("install Graphviz (apt-get install graphviz), or use --dot and render elsewhere");
        return CLI_EXIT_INTERNAL;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || off < len) {
        unlink(tmp);
        cli_err(cmd, "--svg: 'dot -Tsvg' failed (%s %d)", WIFEXITED(status) ? "exit status" : "signal",
                WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? WTERMSIG(status) : -1);
        return CLI_EXIT_INTERNAL;
    }
    if (rename(tmp, path) != 0) {
        cli_err(cmd, "--svg: renaming onto '%s': %s", path, strerror(errno));
        unlink(tmp);
        return CLI_EXIT_INPUT;
    }
    return 0;
}

/* The ASCII tree: each model under its first parent; other parents are named after '+'. */
static void print_tree(const ul_node *v, size_t n, size_t at, int depth, bool *last, FILE *f) {
    for (int d = 0; d < depth; d++) fputs(d == depth - 1 ? (last[d] ? "`-- " : "|-- ") : (last[d] ? "    " : "|   "), f);
    char acc[32];
    acc_text(v[at].test_acc, acc, sizeof acc);
    fprintf(f, "%s", v[at].name);
    if (v[at].nparents > 0) {
        fprintf(f, " (%s", ul_edge_name(v[at].edge));
        for (int p = 1; p < v[at].nparents; p++) fprintf(f, "%s%s", p == 1 ? " + " : ", ", v[at].parents[p]);
        fputc(')', f);
    }
    fprintf(f, "  labels %s%s%s  acc %s%s\n", v[at].learned, v[at].inherited[0] ? " +inherited " : "", v[at].inherited, acc,
            v[at].version > 1 ? "  (unlearned)" : "");
    size_t nkids = 0, lastkid = 0;
    for (size_t j = at + 1; j < n; j++)
        if (v[j].nparents > 0 && strcmp(v[j].parents[0], v[at].name) == 0) {
            nkids++;
            lastkid = j;
        }
    if (depth >= 256) return;
    for (size_t j = at + 1; j < n && nkids; j++)
        if (v[j].nparents > 0 && strcmp(v[j].parents[0], v[at].name) == 0) {
            last[depth] = j == lastkid;
            print_tree(v, n, j, depth + 1, last, f);
        }
}

static cJSON *node_json(const ul_node *v) {
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", v->name);
    cJSON_AddNumberToObject(j, "id", (double)v->id);
    cJSON_AddNumberToObject(j, "version", v->version);
    cJSON_AddNumberToObject(j, "replaces", (double)v->replaces);
    cJSON_AddNumberToObject(j, "request", (double)v->request);
    cJSON_AddNumberToObject(j, "created_seq", (double)v->created_seq);
    cJSON_AddStringToObject(j, "arch", v->arch);
    cJSON_AddStringToObject(j, "edge", ul_edge_name(v->edge));
    cJSON *pa = cJSON_AddArrayToObject(j, "parents"), *pi = cJSON_AddArrayToObject(j, "parent_ids");
    for (int p = 0; p < v->nparents; p++) {
        cJSON_AddItemToArray(pa, cJSON_CreateString(v->parents[p]));
        cJSON_AddItemToArray(pi, cJSON_CreateNumber((double)v->parent_ids[p]));
    }
    cJSON_AddStringToObject(j, "learned", v->learned);
    cJSON_AddStringToObject(j, "inherited", v->inherited);
    char *sel = ul_selector_to_json(&v->own);
    cJSON *so = sel ? cJSON_Parse(sel) : NULL;
    free(sel);
    cJSON_AddItemToObject(j, "own", so ? so : cJSON_CreateNull());
    cJSON_AddStringToObject(j, "own_hash", v->own_hash);
    cJSON_AddStringToObject(j, "ckpt", v->ckpt);
    cJSON_AddStringToObject(j, "fisher", v->fisher);
    cJSON *r = cJSON_Parse(v->recipe);
    cJSON_AddItemToObject(j, "recipe", r ? r : cJSON_CreateString(v->recipe));
    cJSON_AddNumberToObject(j, "replaces", (double)v->replaces);
    cJSON_AddNumberToObject(j, "request", (double)v->request);
    if (v->test_acc >= 0) cJSON_AddNumberToObject(j, "test_acc", v->test_acc);
    else cJSON_AddNullToObject(j, "test_acc");
    return j;
}

static int net_show(int argc, char **argv) {
    cli_opt opts[S_COUNT] = {
        [S_DOT] = {"dot", 0, NULL, "off", "print the graph as Graphviz DOT instead of the table"},
        [S_SVG] = {"svg", 0, "FILE", "none", "also draw the graph into FILE with Graphviz (dot -Tsvg)"},
        [S_JSON] = {"json", 0, NULL, "off", "print the models as one JSON array instead of the table"},
    };
    cli_cmd c = {
        .name = "net show",
        .usage = "unlearn net show DIR [--dot | --json] [--svg FILE]",
        .summary = "The models of the network DIR (current versions) in creation order: name, version, edge type, "
                   "parents, own (learned) labels, inherited labels, test accuracy on the labels it knows, and the "
                   "checkpoint hash prefix; then a tree (each model under its first parent, further parents after '+').",
        .epilog = "examples:\n  unlearn net show nets/mixed\n  unlearn net show nets/mixed --dot | dot -Tpng -o mixed.png\n"
                  "  unlearn net show nets/mixed --svg mixed.svg\n",
        .opts = opts,
        .nopts = S_COUNT,
        .max_pos = 1,
    };
    const char *dir_arg;
    int rc = cli_parse_one(&c, argc, argv, "network directory DIR", &dir_arg);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    const char *cmd = c.name;
    const bool dot = cli_get_flag(&opts[S_DOT]), json = cli_get_flag(&opts[S_JSON]);
    if (dot && json) {
        cli_err(cmd, "--dot and --json both print to stdout; choose one");
        return CLI_EXIT_USAGE;
    }
    const char *svg = opts[S_SVG].given ? opts[S_SVG].value : NULL;
    if (svg && (rc = cli_check_output_path(cmd, "--svg", svg))) return rc;
    ul_net *net = NULL;
    if ((rc = open_net(cmd, dir_arg, true, &net))) return rc;
    ul_node *v = NULL;
    size_t n = 0;
    char *dtext = NULL;
    ul_status st = ul_net_list(net, &v, &n);
    if (st != UL_OK) {
        rc = cli_fail(cmd, st, CLI_FROM_INPUT, dir_arg);
        goto done;
    }
    if (json) {
        cJSON *arr = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) cJSON_AddItemToArray(arr, node_json(&v[i]));
        char *s = cJSON_Print(arr);
        cJSON_Delete(arr);
        if (!s) {
            cli_err(cmd, "out of memory");
            rc = CLI_EXIT_INTERNAL;
            goto done;
        }
        printf("%s\n", s);
        free(s);
    } else if (dot || svg) {
        dtext = dot_text(v, n);
        if (!dtext) {
            cli_err(cmd, "out of memory");
            rc = CLI_EXIT_INTERNAL;
            goto done;
        }
        if (dot) fputs(dtext, stdout);
    }
    if (!dot && !json) {
        int wn = 5, wp = 7, wl = 6, wi = 9;
        char par[1100];
        for (size_t i = 0; i < n; i++) {
            parents_text(&v[i], par, sizeof par);
            int a = (int)strlen(v[i].name), b = (int)strlen(par), l = (int)strlen(v[i].learned), h = (int)strlen(v[i].inherited);
            if (a > wn) wn = a;
            if (b > wp) wp = b;
            if (l > wl) wl = l;
            if (h > wi) wi = h;
        }
        printf("network %s: %zu model%s\n", dir_arg, n, n == 1 ? "" : "s");
        printf("%4s  %-*s %3s  %-9s %-*s %-*s %-*s %8s  %-12s  %s\n", "#", wn, "model", "ver", "edge", wp, "parents", wl,
               "labels", wi, "inherited", "test acc", "checkpoint", "changed by");
        for (size_t i = 0; i < n; i++) {
            char acc[32];
            parents_text(&v[i], par, sizeof par);
            acc_text(v[i].test_acc, acc, sizeof acc);
            char req[32] = "-";
            if (v[i].request > 0) snprintf(req, sizeof req, "request %lld", (long long)v[i].request);
            printf("%4zu  %-*s %3d  %-9s %-*s %-*s %-*s %8s  %.12s  %s\n", i + 1, wn, v[i].name, v[i].version,
                   ul_edge_name(v[i].edge), wp, par, wl, v[i].learned, wi, v[i].inherited[0] ? v[i].inherited : "-", acc,
                   v[i].ckpt, req);
        }
        if (n > 0) {
            printf("\ntree (each model under its first parent):\n");
            bool last[256];
            for (size_t i = 0; i < n; i++)
                if (v[i].nparents == 0) print_tree(v, n, i, 0, last, stdout);
        }
    }
    if (svg) {
        fflush(stdout);
        if ((rc = write_svg(cmd, dtext, svg))) goto done;
        if (!dot && !json) printf("\nwrote %s\n", svg);
        else fprintf(stderr, "wrote %s\n", svg);
    }
    rc = CLI_EXIT_OK;
done:
    free(dtext);
    free(v);
    ul_net_close(net);
    return rc;
}

/* ---- net log ------------------------------------------------------------------------ */

static int net_log(int argc, char **argv) {
    cli_cmd c = {
        .name = "net log",
        .usage = "unlearn net log DIR",
        .summary = "The history of the network DIR, oldest first: one line per event (time, event, details as JSON): "
                   "build starts and ends, models added with 'net add', unlearning requests.",
        .opts = NULL,
        .nopts = 0,
        .max_pos = 1,
    };
    ul_net *net = NULL;
    int rc = parse_dir_open(&c, argc, argv, true, &net);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    char *text = NULL;
    ul_status st = ul_net_read_log(net, &text);
    if (st != UL_OK) rc = cli_fail(c.name, st, CLI_FROM_INPUT, ul_net_dir(net));
    else fputs(text, stdout);
    free(text);
    ul_net_close(net);
    return rc;
}

/* ---- net check ---------------------------------------------------------------------- */

static int net_check(int argc, char **argv) {
    cli_cmd c = {
        .name = "net check",
        .usage = "unlearn net check DIR",
        .summary = "Verify the network DIR without changing anything: every object's SHA-256, every registry invariant "
                   "(acyclic, parents earlier and of the same architecture, names, label sets, versions), and objects or "
                   "temporary files nothing refers to (an interrupted write leaves these; they are reported, never used). "
                   "Prints one line per problem and a summary; exit status 0 when clean, 3 when problems were found.",
        .opts = NULL,
        .nopts = 0,
        .max_pos = 1,
    };
    ul_net *net = NULL;
    int rc = parse_dir_open(&c, argc, argv, true, &net);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    char *report = NULL;
    size_t problems = 0;
    ul_status st = ul_net_check(net, &report, &problems);
    if (st != UL_OK) {
        rc = cli_fail(c.name, st, CLI_FROM_INPUT, ul_net_dir(net));
    } else {
        if (report && *report) {
            fputs(report, stdout);
            if (report[strlen(report) - 1] != '\n') fputc('\n', stdout);
        }
        ul_node *v = NULL;
        size_t n = 0;
        bool listed = ul_net_list(net, &v, &n) == UL_OK;
        free(v);
        if (problems == 0) {
            if (listed) printf("net check: %s: ok (%zu model%s, every object verified)\n", ul_net_dir(net), n, n == 1 ? "" : "s");
            else printf("net check: %s: ok\n", ul_net_dir(net));
            rc = CLI_EXIT_OK;
        } else {
            printf("net check: %s: %zu problem%s found\n", ul_net_dir(net), problems, problems == 1 ? "" : "s");
            fflush(stdout);
            cli_err(c.name, "%s: %zu problem%s found (listed on stdout)", ul_net_dir(net), problems, problems == 1 ? "" : "s");
            rc = CLI_EXIT_INPUT;
        }
    }
    free(report);
    ul_net_close(net);
    return rc;
}

/* ---- dispatch ----------------------------------------------------------------------- */

typedef struct net_sub {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} net_sub;

static const net_sub subs[] = {
    {"build", net_build, "create a network from a scenario and train every model (re-run to resume)"},
    {"add", net_add, "add a model trained elsewhere, with its parents, edge type and own data"},
    {"show", net_show, "the models as a table and a tree; --dot, --svg FILE, --json"},
    {"log", net_log, "the history of builds, additions and requests"},
    {"check", net_check, "verify every hash and invariant (exit 3 when problems are found)"},
};
#define NSUBS ((int)(sizeof subs / sizeof subs[0]))

static void net_help(FILE *f) {
    fprintf(f, "usage: unlearn net <subcommand> DIR [options]\n"
               "       unlearn net <subcommand> --help\n\n"
               "The model inheritance network: a directory with a registry (umig.db) and a content-addressed store of\n"
               "checkpoints (objects/). See docs/net.md.\n\nsubcommands:\n");
    for (int i = 0; i < NSUBS; i++) fprintf(f, "  %-6s %s\n", subs[i].name, subs[i].summary);
    fprintf(f, "\nexample:\n  unlearn net build nets/mixed --scenario mixed --data fashion-mnist --arch cnn --max-samples 6000\n"
               "  unlearn net show nets/mixed --svg mixed.svg\n  unlearn net check nets/mixed\n");
}

int cmd_net(int argc, char **argv) {
    if (argc < 1) {
        net_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *a = argv[0];
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0) {
        net_help(stdout);
        return CLI_EXIT_OK;
    }
    for (int i = 0; i < NSUBS; i++)
        if (strcmp(subs[i].name, a) == 0) return subs[i].run(argc - 1, argv + 1);
    fprintf(stderr, "unlearn net: error: unknown subcommand '%s'\n", a);
    fprintf(stderr, "hint: subcommands are: build, add, show, log, check; see 'unlearn net --help'\n");
    return CLI_EXIT_USAGE;
}
