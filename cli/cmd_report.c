/* cli/cmd_report.c: `unlearn report RESULTS.json -o DIR`: an HTML report of a forget request
 * (include/unlearn/report.h ul_report_write): index.html with inline CSS, and the network's DAG,
 * the accuracy bars and the per-model times as SVG figures with PNG copies beside it, drawn by
 * Graphviz and gnuplot. --compare adds a second run of the same request (e.g. retrain). The
 * results.json of `unlearn bench methods` gives a method-benchmark page instead (the SFR-on table,
 * Avg. Gap bars, per-class accuracy; src/report/methods.c). Deliberately no recipes here.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unlearn/report.h"

#include "commands.h"
#include "common.h"
#include "opts.h"

enum { O_OUTPUT, O_COMPARE, O_NETWORK, O_QUIET, O_COUNT };

/* DIR's parent must exist and be writable; DIR itself may be absent, empty or an older report. */
static int check_out_dir(const char *cmd, const char *out) {
    char parent[2048];
    const char *slash = strrchr(out, '/');
    if (!slash) snprintf(parent, sizeof parent, ".");
    else if (slash == out) snprintf(parent, sizeof parent, "/");
    else snprintf(parent, sizeof parent, "%.*s", (int)(slash - out), out);
    struct stat sb;
    if (stat(parent, &sb) != 0 || !S_ISDIR(sb.st_mode)) {
        cli_err(cmd, "-o/--output: directory '%s' of '%s' does not exist", parent, out);
        cli_hint("create it first (mkdir -p %s)", parent);
        return CLI_EXIT_USAGE;
    }
    if (access(parent, W_OK) != 0) {
        cli_err(cmd, "-o/--output: directory '%s' is not writable (the report is written next to '%s' first)", parent, out);
        return CLI_EXIT_USAGE;
    }
    if (stat(out, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
        cli_err(cmd, "-o/--output: '%s' exists and is not a directory", out);
        return CLI_EXIT_USAGE;
    }
    return 0;
}

int cmd_report(int argc, char **argv) {
    cli_opt opts[O_COUNT] = {
        [O_OUTPUT] = {"output", 'o', "DIR", NULL,
                      "the report directory (index.html and figures); replaced as a whole when it holds an older "
                      "report",
                      .required = true},
        [O_COMPARE] = {"compare", 0, "FILE", "none",
                       "results of another method on the same request (e.g. `unlearn forget --method retrain "
                       "--dry-run -o retrain.json`): compared accuracy, time per model and speed-up"},
        [O_NETWORK] = {"network", 0, "DIR", "the results' network",
                       "network directory to take the edges from when the results file has none"},
        [O_QUIET] = {"quiet", 'q', NULL, "off", "print only errors"},
    };
    cli_cmd c = {
        .name = "report",
        .usage = "unlearn report RESULTS.json -o DIR [--compare FILE] [--network DIR]",
        .summary = "Write a self-contained HTML report of a forget request from its results JSON (what `unlearn "
                   "forget -o` or `unlearn receipt --json` writes): a header naming tool, git commit, network, "
                   "request, method, parameters and the input file's SHA-256; the network's DAG with affected "
                   "models coloured by forget accuracy after and roots marked (Graphviz dot); per-model bars of "
                   "forget and retained accuracy before and after, and time per model (gnuplot); SVG figures with "
                   "PNG copies. The results.json of `unlearn bench methods` (recognised by its content) gives a method-"
                   "benchmark page instead: the SFR-on table (FA, RA, TA, MIA, Avg. Gap, KL, time; mean +- std over "
                   "seeds), a bar chart of the Avg. Gap per method and the per-class test accuracy of the original, "
                   "retrain and every method (gnuplot only). Everything is written into a temporary sibling "
                   "directory renamed onto DIR at the end. Needs `dot` and `gnuplot` on PATH (make deps).",
        .epilog = "examples:\n  unlearn forget nets/mixed --labels 3 --method retrain --dry-run -o retrain.json\n"
                  "  unlearn forget nets/mixed --labels 3 -o fiun.json\n"
                  "  unlearn report fiun.json --compare retrain.json -o report/\n",
        .opts = opts,
        .nopts = O_COUNT,
        .max_pos = 1,
    };
    const char *results;
    int rc = cli_parse_one(&c, argc, argv, "results file RESULTS.json", &results);
    if (rc == CLI_PARSE_HELP) return CLI_EXIT_OK;
    if (rc) return rc;
    /* the parent of DIR must exist (DIR itself is made at the end) */
    char out[2048];
    snprintf(out, sizeof out, "%s", opts[O_OUTPUT].value);
    for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--) out[n - 1] = '\0';
    if ((rc = check_out_dir(c.name, out))) return rc;
    ul_report_params p = {
        .results = results,
        .compare = opts[O_COMPARE].given ? opts[O_COMPARE].value : NULL,
        .out_dir = out,
        .network = opts[O_NETWORK].given ? opts[O_NETWORK].value : NULL,
        .tool_version = UL_VERSION_STRING,
        .tool_commit = UL_GIT_COMMIT,
    };
    ul_report_info info;
    ul_status st = ul_report_write(&p, &info);
    if (st != UL_OK) {
        rc = cli_fail(c.name, st, CLI_FROM_INPUT, NULL);
        if (st == UL_E_ARG && (strstr(ul_last_error(), "holds no report") || strstr(ul_last_error(), "--compare:")))
            rc = CLI_EXIT_USAGE;
        if (st == UL_E_UNSUPPORTED) cli_hint("the report needs Graphviz and gnuplot: make deps");
        return rc;
    }
    if (!cli_get_flag(&opts[O_QUIET]) && strcmp(info.kind, "methods") == 0) {
        printf("wrote %s/index.html (method benchmark: the table, Avg. Gap per method and per-class accuracy; %d "
               "figures as SVG and PNG)\n",
               out, info.figures);
    } else if (!cli_get_flag(&opts[O_QUIET])) {
        if (strcmp(info.edges_from, "none") == 0)
            cli_warn(c.name, "the DAG is drawn without edges: %s", info.edges_note);
        printf("wrote %s/index.html (%d figures as SVG and PNG; %s)\n", out, info.figures,
               strcmp(info.edges_from, "network") == 0   ? info.edges_note
               : strcmp(info.edges_from, "results") == 0 ? "edges from the results file"
                                                         : "no edges");
    }
    return CLI_EXIT_OK;
}
