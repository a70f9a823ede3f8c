/* cli/cmd_demo.c: `unlearn demo`, the main job in one command: build (or reuse) the default
 * `mixed` network of cnn models on Fashion-MNIST, forget one label with FIUn (defaults of
 * docs/fiun.md), run the `retrain` and `sequential` baselines on the same request, and print the
 * per-model table with the speed-up. Every request is a dry run, so the network stays reusable;
 * scripts/demo.sh commits FIUn on a copy for the receipt and the HTML report. Results JSON: the
 * three receipts side by side.
 */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unlearn/forget.h"
#include "unlearn/io.h"
#include "unlearn/net.h"

#include "commands.h"
#include "common.h"
#include "opts.h"

enum { D_DIR, D_DATA, D_LABEL, D_MAXS, D_EPOCHS, D_SEQ, D_THREADS, D_OUTPUT, D_QUIET, D_COUNT };

static void acc(double a) {
    if (a < 0) printf("%8s", "-");
    else printf("%7.2f%%", a);
}

static void node_built(const ul_node *node, double seconds, void *user) {
    (void)user;
    if (seconds < 0) fprintf(stderr, "  kept  %-6s (%s): already built\n", node->name, ul_edge_name(node->edge));
    else fprintf(stderr, "  built %-6s (%s) in %.1f s\n", node->name, ul_edge_name(node->edge), seconds);
}

/* Unlearning wall time of a request: FIUn = roots' Fisher + per-model phase; the baselines = their
 * per-model phase (re-derivation); evaluation and data loading excluded for all. */
static double unlearn_seconds(const ul_forget_result *r) { return r->roots_seconds + r->makespan_seconds; }

int cmd_demo(int argc, char **argv) {
    cli_opt opts[D_COUNT] = {
        [D_DIR] = {"dir", 0, "DIR", "demo/out/net-mixed", "the network (built when missing, reused when present)"},
        [D_DATA] = {"data", 0, "NAME|DIR", "fashion-mnist", "dataset"},
        [D_LABEL] = {"labels", 0, "SET", "3", "labels to forget"},
        [D_MAXS] = {"max-samples", 0, "N", "6000", "own samples per model when building"},
        [D_EPOCHS] = {"epochs", 0, "N", "2", "epochs per model when building"},
        [D_SEQ] = {"no-sequential", 0, NULL, "off", "skip the sequential baseline (it costs about as much as retrain)"},
        [D_THREADS] = {"threads", 0, "N", "0", "threads (0 = all cores)"},
        [D_OUTPUT] = {"output", 'o', "FILE", NULL, "write the three results (fiun, retrain, sequential) as one JSON"},
        [D_QUIET] = {"quiet", 'q', NULL, "off", "no build progress on stderr"},
    };
    cli_cmd c = {
        .name = "demo",
        .usage = "unlearn demo [options]",
        .summary = "The main job: build (or reuse) the mixed network of cnn models on Fashion-MNIST, forget a "
                   "label with FIUn, run the retrain and sequential baselines on the same request (all dry runs), "
                   "and print the per-model table with FIUn's speed-up.",
        .epilog = "example:\n  unlearn demo --labels 3 -o demo.json\n",
        .opts = opts,
        .nopts = D_COUNT,
        .max_pos = 0,
    };
    const char *pos[1];
    int npos = 0;
    int rc = cli_parse(&c, argc, argv, pos, &npos);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    long maxs, epochs, threads;
    if ((rc = cli_get_long(&c, &opts[D_MAXS], 1, 1L << 30, &maxs)) ||
        (rc = cli_get_long(&c, &opts[D_EPOCHS], 1, 1000, &epochs)) ||
        (rc = cli_get_long(&c, &opts[D_THREADS], 0, 4096, &threads)))
        return rc;
    const char *dir = opts[D_DIR].value, *output = opts[D_OUTPUT].given ? opts[D_OUTPUT].value : NULL;
    const bool quiet = cli_get_flag(&opts[D_QUIET]), seq = !cli_get_flag(&opts[D_SEQ]);
    if (output && (rc = cli_check_output_path(c.name, "-o/--output", output))) return rc;
    int32_t *labels = NULL;
    size_t nl = 0;
    ul_status st = ul_parse_label_set(opts[D_LABEL].value, 65536, &labels, &nl);
    if (st != UL_OK) return cli_fail(c.name, st, CLI_FROM_OPTION, "--labels");
    ul_log_set(UL_LOG_WARN, NULL, NULL);
    ul_set_threads((int)threads);

    /* 1. the network */
    struct stat sb;
    const bool existed = stat(dir, &sb) == 0;
    if (!quiet) fprintf(stderr, "== %s the mixed network at %s (cnn, %ld samples per model, %ld epochs)\n",
                        existed ? "checking" : "building", dir, maxs, epochs);
    ul_build_params bp = {.scenario = "mixed", .data = opts[D_DATA].value, .arch = "cnn", .epochs = (int)epochs,
                          .max_samples = (size_t)maxs, .seed = 0, .node_done = quiet ? NULL : node_built};
    const double tb = ul_now();
    if ((st = ul_net_build(dir, &bp)) != UL_OK) {
        free(labels);
        return cli_fail(c.name, st, CLI_FROM_INPUT, dir);
    }
    if (!quiet) fprintf(stderr, "== network ready in %.1f s\n", ul_now() - tb);

    /* 2. FIUn and the baselines, dry runs */
    ul_forget_method methods[3] = {UL_FORGET_FIUN, UL_FORGET_RETRAIN, UL_FORGET_SEQUENTIAL};
    ul_forget_result res[3];
    memset(res, 0, sizeof res);
    const int nm = seq ? 3 : 2;
    for (int k = 0; k < nm; k++) {
        ul_forget_params p = ul_forget_defaults();
        p.method = methods[k];
        p.labels = labels;
        p.nlabels = nl;
        p.dry_run = true;
        p.threads = (int)threads;
        if (!quiet) fprintf(stderr, "== forget --labels %s --method %s (dry run)\n", opts[D_LABEL].value,
                            ul_forget_method_name(methods[k]));
        if ((st = ul_forget(dir, &p, &res[k])) != UL_OK) {
            for (int j = 0; j < k; j++) ul_forget_result_free(&res[j]);
            free(labels);
            return cli_fail(c.name, st, CLI_FROM_INPUT, dir);
        }
    }
    free(labels);

    /* 3. the table */
    const ul_forget_result *f = &res[0], *r = &res[1];
    printf("\nforget labels %s: FIUn (defaults) against retrain (the exact answer)\n", opts[D_LABEL].value);
    printf("%-8s %5s %9s %9s %9s %9s %9s %9s %10s %10s\n", "model", "root", "forget", "FIUn", "retrain", "retain",
           "FIUn", "retrain", "FIUn s", "retrain s");
    for (size_t i = 0; i < f->n; i++) {
        const ul_forget_node *a = &f->nodes[i], *b = &r->nodes[i];
        printf("%-8s %5s ", a->name, a->root ? "yes" : "");
        acc(a->forget_acc_before);
        printf("  ");
        acc(a->forget_acc_after);
        printf("  ");
        acc(b->forget_acc_after);
        printf("  ");
        acc(a->retain_acc_before);
        printf("  ");
        acc(a->retain_acc_after);
        printf("  ");
        acc(b->retain_acc_after);
        printf(" %10.3f %10.3f\n", a->seconds, b->seconds);
    }
    double mf[2] = {0, 0}, mr[2] = {0, 0}, worst = 0;
    int nf = 0, nr = 0;
    for (size_t i = 0; i < f->n; i++) {
        if (f->nodes[i].forget_acc_after >= 0) {
            mf[0] += f->nodes[i].forget_acc_after, mf[1] += r->nodes[i].forget_acc_after, nf++;
            if (f->nodes[i].forget_acc_after > worst) worst = f->nodes[i].forget_acc_after;
        }
        if (f->nodes[i].retain_acc_after >= 0) mr[0] += f->nodes[i].retain_acc_after, mr[1] += r->nodes[i].retain_acc_after, nr++;
    }
    printf("\nmean forget accuracy after: FIUn %.2f%% (worst %.2f%%), retrain %.2f%%\n", nf ? mf[0] / nf : -1.0, worst,
           nf ? mf[1] / nf : -1.0);
    printf("mean retained accuracy after: FIUn %.2f%%, retrain %.2f%% (gap %+.2f points)\n", nr ? mr[0] / nr : -1.0,
           nr ? mr[1] / nr : -1.0, nr ? (mr[0] - mr[1]) / nr : 0.0);
    const double tf = unlearn_seconds(f), tr = r->makespan_seconds;
    printf("unlearning wall time (data loading and evaluation excluded): FIUn %.3f s (roots' Fisher %.3f s, "
           "per-model phase %.3f s)\n", tf, f->roots_seconds, f->makespan_seconds);
    printf("  retrain %.2f s: FIUn takes %.2f%% of it, a %.0fx speed-up\n", tr, 100.0 * tf / tr, tr / tf);
    if (seq)
        printf("  sequential %.2f s (FIUn on the roots, re-derive the rest): FIUn takes %.2f%% of it\n",
               res[2].makespan_seconds, 100.0 * tf / res[2].makespan_seconds);
    printf("whole request including data loading and evaluation: FIUn %.2f s, retrain %.2f s\n", f->total_seconds,
           r->total_seconds);

    if (output) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddStringToObject(j, "network", dir);
        cJSON_AddStringToObject(j, "git_commit", UL_GIT_COMMIT);
        cJSON_AddNumberToObject(j, "fiun_seconds", tf);
        cJSON_AddNumberToObject(j, "retrain_seconds", tr);
        cJSON_AddNumberToObject(j, "speedup_vs_retrain", tr / tf);
        for (int k = 0; k < nm; k++)
            cJSON_AddItemToObject(j, ul_forget_method_name(methods[k]), cJSON_Parse(res[k].receipt));
        char *text = cJSON_Print(j);
        cJSON_Delete(j);
        st = text ? ul_write_file_atomic(output, text, strlen(text)) : UL_E_NOMEM;
        free(text);
        if (st != UL_OK) {
            for (int k = 0; k < nm; k++) ul_forget_result_free(&res[k]);
            return cli_fail(c.name, st, CLI_FROM_OUTPUT, output);
        }
    }
    for (int k = 0; k < nm; k++) ul_forget_result_free(&res[k]);
    return CLI_EXIT_OK;
}
