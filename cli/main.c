/* cli/main.c: the `unlearn` command: dispatch to subcommands, --version, global help.
 * Subcommands live in cmd_<name>.c; adding one (net, forget, bench, report, run) is one row in
 * `commands` below. Exit statuses are in exitcodes.h and listed by `unlearn --help`.
 */
#include <stdio.h>
#include <string.h>

#include "unlearn/base.h"

#include "commands.h"
#include "common.h"
#include "exitcodes.h"

typedef struct cli_command {
    const char *name;
    int (*run)(int argc, char **argv); /* arguments after the command name */
    const char *summary;
} cli_command;

static const cli_command commands[] = {
    {"train", cmd_train, "train a model on a dataset and write a checkpoint with its provenance"},
    {"eval", cmd_eval, "accuracy and loss of a checkpoint on a dataset split, overall and per class"},
    {"info", cmd_info, "describe a checkpoint: architecture, parameters, tensors, metadata"},
    {"net", cmd_net, "model inheritance networks: build a scenario, add, show, log, check"},
    {"forget", cmd_forget, "unlearn labels from a model network (FIUn + MFIM) with a deletion receipt"},
    {"receipt", cmd_receipt, "print or verify the deletion receipt of a committed request"},
    {"report", cmd_report, "an HTML report (DAG, accuracy and timing figures) of forget results"},
    {"demo", cmd_demo, "the main job: build the mixed network, forget a label with FIUn, compare with retrain"},
    {"bench", cmd_bench, "benchmarks: 'bench methods' runs the SFR-on protocol over methods and seeds"},
    {"run", cmd_run, "run an experiment recipe (recipes/*.json) and check its expected metrics"},
};
#define NCOMMANDS ((int)(sizeof commands / sizeof commands[0]))

static void global_help(FILE *f) {
    fprintf(f, "usage: unlearn <command> [options]\n"
               "       unlearn <command> --help\n"
               "       unlearn --version\n\n"
               "unlearn %s: train, evaluate and inspect models for machine-unlearning experiments.\n\n"
               "commands:\n",
            UL_VERSION_STRING);
    for (int i = 0; i < NCOMMANDS; i++) fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "  %-8s %s\n", "help", "this text, or 'help <command>' for a command's options");
    fprintf(f, "\noptions:\n"
               "  -h, --help   show this help and exit\n"
               "  --version    print the version and git commit and exit\n"
               "\nexit status:\n"
               "  %d  success\n"
               "  %d  usage error: unknown option, missing or invalid value, bad combination\n"
               "  %d  bad input: a data or model file is missing, unreadable, malformed or does not fit\n"
               "     (also: the output file cannot be written)\n"
               "  %d  internal failure: out of memory, unsupported request, or a bug\n"
               "  %d  numerical failure: training diverged (NaN or Inf)\n"
               "  %d  busy: another process is writing the network, or changed it while the request ran;\n"
               "     nothing was changed, run the command again\n"
               "  %d  drift: `unlearn run` completed but a recipe's expected metric is out of tolerance\n"
               "\nenvironment:\n"
               "  UL_DATA_DIR  root of the named datasets (fashion-mnist, mnist) [/usr/share/datasets]\n"
               "\nexample:\n"
               "  unlearn train --data fashion-mnist --arch cnn --epochs 2 -o model.safetensors\n"
               "  unlearn eval -m model.safetensors --data fashion-mnist\n"
               "  unlearn info model.safetensors\n",
            CLI_EXIT_OK, CLI_EXIT_USAGE, CLI_EXIT_INPUT, CLI_EXIT_INTERNAL, CLI_EXIT_NUMERIC, CLI_EXIT_BUSY, CLI_EXIT_DRIFT);
}

static const cli_command *find_command(const char *name) {
    for (int i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

static int unknown_command(const char *name) {
    fprintf(stderr, "unlearn: error: unknown command '%s'\n", name);
    fprintf(stderr, "hint: commands are:");
    for (int i = 0; i < NCOMMANDS; i++) fprintf(stderr, " %s", commands[i].name);
    fprintf(stderr, "; see 'unlearn --help'\n");
    return CLI_EXIT_USAGE;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        global_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const char *a = argv[1];
    if (strcmp(a, "--version") == 0 || strcmp(a, "version") == 0) {
        printf("unlearn %s (git %s)\n", UL_VERSION_STRING, UL_GIT_COMMIT);
        return CLI_EXIT_OK;
    }
    if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0 || strcmp(a, "help") == 0) {
        if (strcmp(a, "help") == 0 && argc > 2) {
            const cli_command *c = find_command(argv[2]);
            if (!c) return unknown_command(argv[2]);
            char help[] = "--help";
            char *av[] = {help, NULL};
            return c->run(1, av);
        }
        global_help(stdout);
        return CLI_EXIT_OK;
    }
    if (a[0] == '-') {
        fprintf(stderr, "unlearn: error: unknown option '%s' (options go after the command)\n", a);
        fprintf(stderr, "hint: see 'unlearn --help'\n");
        return CLI_EXIT_USAGE;
    }
    const cli_command *c = find_command(a);
    if (!c) return unknown_command(a);
    int rc = c->run(argc - 2, argv + 2);
    if (fflush(stdout) != 0 && rc == CLI_EXIT_OK) {
        fprintf(stderr, "unlearn %s: error: writing to stdout failed\n", c->name);
        return CLI_EXIT_INPUT;
    }
    return rc;
}
