/* cli/cmd_forget.c: `unlearn forget DIR --labels SET`: an unlearning request over a model
 * network (FIUn + MFIM, include/unlearn/forget.h). Prints the per-model table (forget and
 * retained accuracy before and after, time per model, parallel makespan and sum) and writes the
 * results JSON (the deletion receipt plus the configuration) with -o.
 * Label-level (--labels) and sample-level (--samples FILE) requests; --method picks FIUn or a
 * network baseline; --mpi spreads the per-model work over the ranks of an MPI job (rank 0 prints).
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unlearn/forget.h"
#include "unlearn/io.h"

#include "commands.h"
#include "common.h"
#include "mpiopt.h"
#include "opts.h"

enum { O_LABELS, O_SAMPLES, O_METHOD, O_PROFILE, O_ALPHA, O_LAMBDA, O_EXPONENT, O_FLOOR, O_GRAN, O_REL, O_SHARE, O_MFIM_C, O_SCOPE, O_ESTIMATOR, O_LOCAL, O_THREADS, O_DRY, O_SWEEP, O_MPI, O_OUTPUT, O_QUIET, O_COUNT };

static void print_acc(double a) {
    if (a < 0) printf("%8s", "-");
    else printf("%7.2f%%", a);
}

typedef struct sweep_stats {
    double fmean, fworst, rmean, sel;
} sweep_stats;

/* Means over the models that have test samples of each kind (-1 when none). */
static sweep_stats sweep_summary(const ul_forget_result *r, size_t k) {
    sweep_stats s = {0, -1, 0, 0};
    int nf = 0, nr = 0;
    for (size_t i = 0; i < r->n; i++) {
        const double f = r->sweep_forget[k * r->n + i], a = r->sweep_retain[k * r->n + i];
        if (f >= 0) s.fmean += f, nf++, s.fworst = f > s.fworst ? f : s.fworst;
        if (a >= 0) s.rmean += a, nr++;
        s.sel += (double)r->sweep_selected[k * r->n + i] / (double)r->n;
    }
    s.fmean = nf ? s.fmean / nf : -1.0;
    s.rmean = nr ? s.rmean / nr : -1.0;
    return s;
}

/* Parse a sweep spec "key=v1,v2;key=..." (keys alpha, exponent, id-floor, local-fisher; ';' or
 * spaces between keys) into the cartesian product of the values; unlisted keys take the request's
 * value. At most 4096 settings. */
static ul_status parse_sweep(const char *spec, const ul_forget_params *base, ul_forget_setting **out, size_t *n) {
    enum { K_ALPHA, K_EXP, K_FLOOR, K_LOCAL, K_GRAN, K_REL, K_SHARE, K_N };
    static const char *const keys[K_N] = {"alpha", "exponent", "id-floor", "local-fisher", "granularity", "select-rel",
                                          "select-share"};
    double vals[K_N][64];
    int nv[K_N] = {0};
    vals[K_ALPHA][0] = base->alpha;
    vals[K_EXP][0] = base->exponent;
    vals[K_FLOOR][0] = base->id_floor;
    vals[K_LOCAL][0] = base->local_fisher;
    vals[K_GRAN][0] = base->units;
    vals[K_REL][0] = base->rel;
    vals[K_SHARE][0] = base->share;
    char *buf = strdup(spec);
    if (!buf) return UL_E_NOMEM;
    ul_status st = UL_OK;
    char *save = NULL;
    for (char *tok = strtok_r(buf, "; ", &save); tok && st == UL_OK; tok = strtok_r(NULL, "; ", &save)) {
        char *eq = strchr(tok, '=');
        int key = -1;
        if (eq) {
            *eq = 0;
            for (int k = 0; k < K_N; k++)
                if (strcmp(tok, keys[k]) == 0) key = k;
        }
        if (key < 0) {
            st = ul_fail(UL_E_ARG, "sweep '%s': '%s' is not key=values (keys: alpha, exponent, id-floor, local-fisher, granularity, "
                         "select-rel, select-share)",
                         spec, tok);
            break;
        }
        if (nv[key]) {
            st = ul_fail(UL_E_ARG, "sweep '%s': key '%s' is given twice", spec, tok);
            break;
        }
        char *save2 = NULL;
        for (char *v = strtok_r(eq + 1, ",", &save2); v && st == UL_OK; v = strtok_r(NULL, ",", &save2)) {
            if (nv[key] == 64) {
                st = ul_fail(UL_E_ARG, "sweep '%s': more than 64 values for '%s'", spec, keys[key]);
                break;
            }
            double x = 0;
            if (key == K_GRAN) {
                x = strcmp(v, "element") == 0 ? 0 : strcmp(v, "unit") == 0 ? 1 : -1;
            } else if (key == K_LOCAL) {
                x = strcmp(v, "off") == 0 ? UL_LOCAL_OFF : strcmp(v, "merge") == 0 ? UL_LOCAL_MERGE
                    : strcmp(v, "only") == 0                                       ? UL_LOCAL_ONLY
                                                                                   : -1;
            } else {
                char *end = NULL;
                x = strtod(v, &end);
                if (!end || *end || end == v || !(x >= 0) || !(x <= 1e6)) x = -1;
                if ((key == K_ALPHA || key == K_EXP) && x == 0) x = -1;
                if (key == K_EXP && x > 64) x = -1;
                if ((key == K_REL || key == K_SHARE) && x > 1) x = -1;
            }
            if (x < 0) st = ul_fail(UL_E_ARG, "sweep '%s': '%s' is not a valid value for '%s'", spec, v, keys[key]);
            else vals[key][nv[key]++] = x;
        }
        if (st == UL_OK && nv[key] == 0) st = ul_fail(UL_E_ARG, "sweep '%s': no values for '%s'", spec, keys[key]);
    }
    free(buf);
    if (st != UL_OK) return st;
    size_t total = 1;
    for (int k = 0; k < K_N; k++) {
        if (!nv[k]) nv[k] = 1;
        total *= (size_t)nv[k];
    }
    if (total > 4096) return ul_fail(UL_E_ARG, "sweep '%s': %zu settings (at most 4096)", spec, total);
    ul_forget_setting *s = calloc(total, sizeof *s);
    if (!s) return UL_E_NOMEM;
    size_t i = 0;
    for (int a = 0; a < nv[K_ALPHA]; a++)
        for (int e = 0; e < nv[K_EXP]; e++)
            for (int f = 0; f < nv[K_FLOOR]; f++)
                for (int l = 0; l < nv[K_LOCAL]; l++)
                    for (int g = 0; g < nv[K_GRAN]; g++)
                        for (int r = 0; r < nv[K_REL]; r++)
                            for (int h = 0; h < nv[K_SHARE]; h++)
                                s[i++] = (ul_forget_setting){vals[K_ALPHA][a], vals[K_EXP][e], vals[K_FLOOR][f],
                                                             (ul_local_fisher)(int)vals[K_LOCAL][l],
                                                             vals[K_GRAN][g] != 0, vals[K_REL][r], vals[K_SHARE][h]};
    *out = s;
    *n = total;
    return UL_OK;
}

/* The command; *mpi_on is set once MPI is started (cmd_forget stops it after rank 0 has reported). */
static int forget_main(int argc, char **argv, bool *mpi_on) {
    char d_alpha[32], d_exp[32], d_c[32], d_rel[32], d_share[32];
    snprintf(d_share, sizeof d_share, "%g", UL_FIUN_DEFAULT_SHARE);
    snprintf(d_rel, sizeof d_rel, "%g", UL_FIUN_DEFAULT_REL);
    snprintf(d_alpha, sizeof d_alpha, "%g", UL_FIUN_DEFAULT_ALPHA);
    snprintf(d_exp, sizeof d_exp, "%g", UL_FIUN_DEFAULT_EXPONENT);
    snprintf(d_c, sizeof d_c, "%g", UL_FIUN_DEFAULT_MFIM_C);
    cli_opt opts[O_COUNT] = {
        [O_LABELS] = {"labels", 0, "SET", NULL, "labels to forget, e.g. 3 or 3,5 or 0-2 (or --samples)"},
        [O_SAMPLES] = {"samples", 0, "FILE", NULL,
                       "forget these training samples instead: a file of sample ids (indices into the training "
                       "split; whitespace/comma separated, '#' comments)"},
        [O_METHOD] = {"method", 0, "NAME", "fiun", "fiun; retrain (re-derive every affected model without the labels: the exact answer); sequential (FIUn on the roots, re-derive the descendants); ssd-local (each model dampened with its own forget Fisher); finetune (each model trained 1 epoch on its data without the labels); ga-transfer (the reference code's gradient ascent at the roots, transferred to the descendants)"},
        [O_PROFILE] = {"profile", 0, "tuned|parity", "tuned",
                       "FIUn defaults: tuned (the sweeps of docs/fiun.md: unit granularity, alpha 2.5 (share 0.3 on models with own forget data), exponent 10, c 1, "
                       "local Fisher only) or parity (the spec's values: element-wise, alpha 1, exponent 1, c 5, "
                       "local Fisher off); options given explicitly win"},
        [O_ALPHA] = {"alpha", 0, "A", d_alpha, "FIUn selection: dampen k when I_f[k] > A * I_D[k]"},
        [O_LAMBDA] = {"lambda", 0, "L", "1", "FIUn dampening constant: factor min(L * I_D / I_f, 1)"},
        [O_EXPONENT] = {"exponent", 0, "E", d_exp, "FIUn dampening exponent: factor min((L * I_D / I_f)^E, 1)"},
        [O_FLOOR] = {"id-floor", 0, "F", "0",
                     "FIUn: dampen against I_D + F * mean(I_D) so that tiny full-data Fishers are not selected "
                     "(0 = the plain rule; see docs/fiun.md)"},
        [O_GRAN] = {"granularity", 0, "element|unit", "unit",
                    "FIUn: select and dampen single values (the spec), or whole units (one output of a layer, e.g. "
                    "a class's row of the head) by their summed Fishers"},
        [O_REL] = {"select-rel", 0, "B", d_rel,
                   "FIUn with units: also require a unit's forget/full Fisher ratio to be at least B times the "
                   "largest ratio of a forget label's own Fisher (0 = off; see docs/fiun.md)"},
        [O_SHARE] = {"select-share", 0, "S", d_share,
                     "FIUn with units, models with forget samples of their own: select a unit when the share of "
                     "its Fisher mass that one forget label's samples carry reaches S (and its ratio exceeds 1), "
                     "instead of the alpha rule (0 = off; see docs/fiun.md)"},
        [O_MFIM_C] = {"mfim-c", 0, "C", d_c, "MFIM divisor base: max of K root Fishers / C^(K-1)"},
        [O_SCOPE] = {"scope", 0, "last|all", "last", "Fisher scope: the final linear layer or every parameter"},
        [O_ESTIMATOR] = {"estimator", 0, "sample|batch", "sample",
                         "Fisher estimator: per-sample, or the reference code's batch means (batch 32, first 32)"},
        [O_LOCAL] = {"local-fisher", 0, "off|merge|only", "only",
                     "a model below the roots that trained on forget data itself: ignore the forget Fisher of "
                     "its own forget samples (off, the reference code), merge it with the roots' (merge), or use "
                     "it instead of theirs (only)"},
        [O_THREADS] = {"threads", 0, "N", "0", "models processed at once (0 = all cores)"},
        [O_DRY] = {"dry-run", 0, NULL, "off", "compute and report, change nothing"},
        [O_SWEEP] = {"sweep", 0, "SPEC", NULL,
                     "with --dry-run: also try every combination of the listed values, e.g. "
                     "'alpha=1,2;exponent=1,2;id-floor=0,1;local-fisher=merge,only;granularity=element,unit' (unlisted "
                     "keys keep the "
                     "request's value) and print forget/retained accuracy per setting"},
        [O_MPI] = {"mpi", 0, NULL, "off",
                   "spread the models over the ranks of an MPI job: mpirun -np N unlearn forget DIR ... --mpi "
                   "(fiun and ssd-local; same checkpoints as one process; --threads is per rank, 0 = the "
                   "machine's cores divided by its ranks). Needs a build with MPI (make mpi)"},
        [O_OUTPUT] = {"output", 'o', "FILE", NULL, "write the results JSON (receipt and configuration) here"},
        [O_QUIET] = {"quiet", 'q', NULL, "off", "print only errors"},
    };
    cli_cmd c = {
        .name = "forget",
        .usage = "unlearn forget DIR (--labels SET | --samples FILE) [options]",
        .summary = "Remove what the models of the network at DIR learned from the given labels: find the "
                   "models that first learned them from their own data (the roots) and every model derived "
                   "from those, take the forget Fisher at the roots before any change, and dampen every "
                   "affected model in parallel (FIUn; MFIM when a model inherits from several roots). New "
                   "versions and a deletion receipt are committed in one transaction.",
        .epilog = "examples:\n  unlearn forget nets/mixed --labels 3 -o forget-3.json\n"
                  "  mpirun -np 4 unlearn forget nets/dag --labels 3 --threads 1 --mpi\n",
        .opts = opts,
        .nopts = O_COUNT,
        .max_pos = 1,
    };
    const char *dir;
    int rc = cli_parse_one(&c, argc, argv, "network directory DIR", &dir);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    ul_forget_params p = ul_forget_defaults();
    long threads;
    int scope, est, local, gran, profile;
    static const char *const scopes[] = {"last", "all"}, *const ests[] = {"sample", "batch"},
                             *const locals[] = {"off", "merge", "only"}, *const grans[] = {"element", "unit"},
                             *const profiles[] = {"tuned", "parity"};
    if ((rc = cli_get_double(&c, &opts[O_ALPHA], 0.0, 1e12, true, &p.alpha)) ||
        (rc = cli_get_double(&c, &opts[O_LAMBDA], 0.0, 1e12, true, &p.lambda)) ||
        (rc = cli_get_double(&c, &opts[O_EXPONENT], 0.0, 64.0, true, &p.exponent)) ||
        (rc = cli_get_double(&c, &opts[O_FLOOR], 0.0, 1e6, false, &p.id_floor)) ||
        (rc = cli_get_double(&c, &opts[O_REL], 0.0, 1.0, false, &p.rel)) ||
        (rc = cli_get_double(&c, &opts[O_SHARE], 0.0, 1.0, false, &p.share)) ||
        (rc = cli_get_double(&c, &opts[O_MFIM_C], 1.0, 1e12, false, &p.mfim_c)) ||
        (rc = cli_get_choice(&c, &opts[O_SCOPE], scopes, 2, &scope)) ||
        (rc = cli_get_choice(&c, &opts[O_ESTIMATOR], ests, 2, &est)) ||
        (rc = cli_get_choice(&c, &opts[O_LOCAL], locals, 3, &local)) ||
        (rc = cli_get_choice(&c, &opts[O_GRAN], grans, 2, &gran)) ||
        (rc = cli_get_choice(&c, &opts[O_PROFILE], profiles, 2, &profile)) ||
        (rc = cli_get_long(&c, &opts[O_THREADS], 0, 4096, &threads)))
        return rc;
    ul_status st = ul_forget_method_parse(opts[O_METHOD].value, &p.method);
    if (st != UL_OK) return cli_fail(c.name, st, CLI_FROM_OPTION, "--method");
    p.fisher = ul_fisher_defaults(est ? UL_FISHER_BATCH : UL_FISHER_SAMPLE);
    p.fisher.scope = scope ? UL_FISHER_ALL : UL_FISHER_LAST;
    p.threads = (int)threads;
    p.dry_run = cli_get_flag(&opts[O_DRY]);
    p.local_fisher = (ul_local_fisher)local;
    p.units = gran == 1;
    if (profile == 1) { /* the spec's parity values, except for what was given explicitly */
        const ul_forget_params q = ul_forget_parity_defaults();
        if (!opts[O_ALPHA].given) p.alpha = q.alpha;
        if (!opts[O_EXPONENT].given) p.exponent = q.exponent;
        if (!opts[O_MFIM_C].given) p.mfim_c = q.mfim_c;
        if (!opts[O_LOCAL].given) p.local_fisher = q.local_fisher;
        if (!opts[O_GRAN].given) p.units = q.units;
        if (!opts[O_REL].given) p.rel = q.rel;
        if (!opts[O_SHARE].given) p.share = q.share;
    }
    const bool quiet = cli_get_flag(&opts[O_QUIET]), mpi = cli_get_flag(&opts[O_MPI]);
    if (mpi && (rc = cli_mpi_check(c.name))) return rc;
    const char *output = opts[O_OUTPUT].given ? opts[O_OUTPUT].value : NULL;
    if (output && (rc = cli_check_output_path(c.name, "-o/--output", output))) return rc;
    int32_t *labels = NULL, *ids = NULL;
    size_t nl = 0, nids = 0;
    if (opts[O_LABELS].given == opts[O_SAMPLES].given) {
        cli_err(c.name, "give --labels SET or --samples FILE (exactly one of the two)");
        return CLI_EXIT_USAGE;
    }
    if (opts[O_LABELS].given && (st = ul_parse_label_set(opts[O_LABELS].value, 65536, &labels, &nl)) != UL_OK)
        return cli_fail(c.name, st, CLI_FROM_OPTION, "--labels");
    if (opts[O_SAMPLES].given && (st = ul_read_ids(opts[O_SAMPLES].value, INT32_MAX, &ids, &nids)) != UL_OK)
        return cli_fail(c.name, st, CLI_FROM_INPUT, opts[O_SAMPLES].value);
    p.labels = labels;
    p.nlabels = nl;
    p.samples = ids;
    p.nsamples = nids;
    ul_log_set(quiet ? UL_LOG_ERROR : UL_LOG_WARN, NULL, NULL);
    ul_set_threads(0);

    ul_forget_setting *sweep = NULL;
    if (opts[O_SWEEP].given) {
        if (!p.dry_run) {
            free(labels);
            free(ids);
            cli_err(c.name, "--sweep needs --dry-run (a sweep only measures)");
            return CLI_EXIT_USAGE;
        }
        if ((st = parse_sweep(opts[O_SWEEP].value, &p, &sweep, &p.nsweep)) != UL_OK) {
            free(labels);
            free(ids);
            return cli_fail(c.name, st, CLI_FROM_OPTION, "--sweep");
        }
        p.sweep = sweep;
    }
    ul_forget_result r;
    int rank = 0, ranks = 1;
    if (mpi) {
        if ((rc = cli_mpi_start(c.name, threads, &rank, &ranks))) {
            free(labels);
            free(ids);
            free(sweep);
            return rc;
        }
        *mpi_on = true;
        st = cli_mpi_forget(dir, &p, &r);
    } else {
        st = ul_forget(dir, &p, &r);
    }
    free(labels);
    free(ids);
    /* a request that does not fit the network (labels) is a usage error (2), non-finite results a
     * numerical failure (5), busy is busy (6), the rest is about the network's files (3) */
    const cli_origin origin = r.fault == UL_FORGET_FAULT_REQUEST  ? CLI_FROM_OPTION
                              : r.fault == UL_FORGET_FAULT_RESULT ? CLI_FROM_TRAIN
                                                                  : CLI_FROM_INPUT;
    if (rank != 0) { /* every rank has the same status; rank 0 reports it */
        ul_forget_result_free(&r);
        free(sweep);
        return cli_exit_code(st, origin);
    }
    if (st != UL_OK) {
        free(sweep);
        rc = cli_fail(c.name, st, origin, dir);
        if (st == UL_E_BUSY)
            cli_hint("another process wrote the network while this request ran; nothing was changed: run the same "
                     "command again");
        return rc;
    }
    if (!quiet) {
        printf("%-14s %5s %6s %9s %9s %9s %9s %9s %8s\n", "model", "root", "roots", "forget", "forget'", "retain",
               "retain'", "dampened", "seconds");
        for (size_t i = 0; i < r.n; i++) {
            const ul_forget_node *o = &r.nodes[i];
            printf("%-14s %5s %6d ", o->name, o->root ? "yes" : "", o->nroots);
            print_acc(o->forget_acc_before);
            printf("  ");
            print_acc(o->forget_acc_after);
            printf("  ");
            print_acc(o->retain_acc_before);
            printf("  ");
            print_acc(o->retain_acc_after);
            printf(" %9zu %8.3f%s\n", o->selected, o->seconds, o->fisher_d_seconds > 0 ? " (I_D computed)" : "");
        }
        printf("roots' forget Fisher %.3f s; per-model phase: makespan %.3f s, sum %.3f s; total %.3f s%s\n",
               r.roots_seconds, r.makespan_seconds, r.sum_seconds, r.total_seconds,
               p.dry_run ? " (dry run: nothing written)" : "");
        if (mpi) printf("MPI: %d rank%s, %d thread%s each\n", ranks, ranks == 1 ? "" : "s", ul_get_threads(),
                        ul_get_threads() == 1 ? "" : "s");
        if (!p.dry_run) printf("committed request %lld: %zu new versions\n", (long long)r.request_id, r.n);
        if (r.nsweep) {
            printf("\nsweep (%zu settings; accuracies are means over the %zu models, worst = highest forget):\n",
                   r.nsweep, r.n);
            printf("%8s %8s %8s %6s %8s %6s %6s %9s %9s %9s %9s\n", "alpha", "exponent", "id-floor", "local", "unit",
                   "rel", "share", "forget'", "worst", "retain'", "dampened");
            for (size_t k = 0; k < r.nsweep; k++) {
                sweep_stats st_ = sweep_summary(&r, k);
                printf("%8g %8g %8g %6s %8s %6g %6g ", p.sweep[k].alpha, p.sweep[k].exponent, p.sweep[k].id_floor,
                       ul_local_fisher_name(p.sweep[k].local), p.sweep[k].units ? "unit" : "element", p.sweep[k].rel,
                       p.sweep[k].share);
                print_acc(st_.fmean);
                printf(" ");
                print_acc(st_.fworst);
                printf(" ");
                print_acc(st_.rmean);
                printf(" %9.0f\n", st_.sel);
            }
        }
    }
    if (output) {
        cJSON *j = cJSON_Parse(r.receipt);
        cJSON_AddStringToObject(j, "network", dir);
        cJSON_AddStringToObject(j, "git_commit", UL_GIT_COMMIT);
        if (r.nsweep) {
            cJSON *sw = cJSON_AddArrayToObject(j, "sweep");
            for (size_t k = 0; k < r.nsweep; k++) {
                sweep_stats ss = sweep_summary(&r, k);
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNumberToObject(o, "alpha", p.sweep[k].alpha);
                cJSON_AddNumberToObject(o, "exponent", p.sweep[k].exponent);
                cJSON_AddNumberToObject(o, "id_floor", p.sweep[k].id_floor);
                cJSON_AddStringToObject(o, "local_fisher", ul_local_fisher_name(p.sweep[k].local));
                cJSON_AddStringToObject(o, "granularity", p.sweep[k].units ? "unit" : "element");
                cJSON_AddNumberToObject(o, "select_rel", p.sweep[k].rel);
                cJSON_AddNumberToObject(o, "select_share", p.sweep[k].share);
                cJSON_AddNumberToObject(o, "forget_acc_mean", ss.fmean);
                cJSON_AddNumberToObject(o, "forget_acc_worst", ss.fworst);
                cJSON_AddNumberToObject(o, "retain_acc_mean", ss.rmean);
                cJSON *pm = cJSON_AddArrayToObject(o, "models");
                for (size_t i = 0; i < r.n; i++) {
                    cJSON *x = cJSON_CreateObject();
                    cJSON_AddStringToObject(x, "model", r.nodes[i].name);
                    cJSON_AddNumberToObject(x, "forget_acc_after", r.sweep_forget[k * r.n + i]);
                    cJSON_AddNumberToObject(x, "retain_acc_after", r.sweep_retain[k * r.n + i]);
                    cJSON_AddNumberToObject(x, "selected", (double)r.sweep_selected[k * r.n + i]);
                    cJSON_AddItemToArray(pm, x);
                }
                cJSON_AddItemToArray(sw, o);
            }
        }
        char *text = cJSON_Print(j);
        cJSON_Delete(j);
        st = text ? ul_write_file_atomic(output, text, strlen(text)) : UL_E_NOMEM;
        free(text);
        if (st != UL_OK) {
            ul_forget_result_free(&r);
            free(sweep);
            return cli_fail(c.name, st, CLI_FROM_OUTPUT, output);
        }
    }
    ul_forget_result_free(&r);
    free(sweep);
    return CLI_EXIT_OK;
}

int cmd_forget(int argc, char **argv) {
    bool mpi_on = false;
    const int rc = forget_main(argc, argv, &mpi_on);
    if (mpi_on) { /* every rank waits here until rank 0 has printed: a rank that exits non-zero first
                     makes mpirun end the job */
        fflush(stdout);
        fflush(stderr);
        cli_mpi_stop();
    }
    return rc;
}
