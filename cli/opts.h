/* cli/opts.h: the small option parser shared by every `unlearn` subcommand.
 *
 * Each command describes its options in a table of cli_opt (name, short alias, metavar,
 * default, help). cli_parse accepts `--name value`, `--name=value`, `-x value`, `-xvalue`,
 * flags (`--quiet`, and `--no-name` for negatable flags), positional arguments and `--` (end of
 * options). -h/--help is built in. The default string is both what --help shows in brackets
 * and what the typed getters parse when the option is absent, so the two cannot disagree.
 * Typed getters parse strictly (the whole string, finite, in range) and print an error that
 * names the option. Errors go to stderr as "unlearn <cmd>: error: ..." and yield exit 2.
 * Deliberately no grouped short flags (-qh), no abbreviations, no permutation magic beyond
 * "options and positionals may be mixed".
 */
#ifndef UNLEARN_CLI_OPTS_H
#define UNLEARN_CLI_OPTS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct cli_opt {
    const char *name;    /* long name without "--", e.g. "epochs" */
    char short_name;     /* single-letter alias ('o' for -o), 0 for none */
    const char *metavar; /* placeholder of the value ("N", "FILE"); NULL marks a flag */
    const char *def;     /* default shown in --help as [def] and used when absent; flags: "on"/"off";
                            NULL = no default */
    const char *help;    /* one sentence; wrapped by cli_help */
    bool required;       /* --help shows [required]; cli_parse fails when absent */
    bool negatable;      /* flag: --no-<name> turns it off */
    /* filled by cli_parse */
    const char *value;   /* the given value, else def; flags "on"/"off" */
    bool given;          /* appeared on the command line */
} cli_opt;

typedef struct cli_cmd {
    const char *name;     /* "train"; messages say "unlearn train: ..." */
    const char *usage;    /* synopsis after "usage: " */
    const char *summary;  /* one paragraph printed under the synopsis */
    const char *epilog;   /* optional text printed after the options (examples, notes); may be NULL */
    cli_opt *opts;
    int nopts;
    int max_pos;          /* positional arguments accepted */
} cli_cmd;

#define CLI_PARSE_OK 0
#define CLI_PARSE_HELP (-1) /* help was printed to stdout: exit 0 */

/* Parse argv[0..argc) (argv[0] is the first argument after the command name). Positional
 * arguments go to pos[0..*npos) (pos must hold max_pos entries). Returns CLI_PARSE_OK,
 * CLI_PARSE_HELP, or CLI_EXIT_USAGE after printing an error. */
int cli_parse(cli_cmd *c, int argc, char **argv, const char **pos, int *npos);
/* cli_parse for a command taking exactly one positional argument: *arg gets it. Without it,
 * prints "missing the <what>" and a hint naming the command's --help and returns CLI_EXIT_USAGE. */
int cli_parse_one(cli_cmd *c, int argc, char **argv, const char *what, const char **arg);
/* Print the command's help: usage, summary, every option with its default, epilog. */
void cli_help(const cli_cmd *c, FILE *f);
/* Find an option by long name; NULL if absent. */
cli_opt *cli_find(cli_cmd *c, const char *name);

/* Typed getters for an option's value (given or default). Each returns 0 on success or
 * CLI_EXIT_USAGE after printing "unlearn <cmd>: error: --name: ..." . */
int cli_get_long(const cli_cmd *c, const cli_opt *o, long min, long max, long *out);
int cli_get_u64(const cli_cmd *c, const cli_opt *o, uint64_t *out);
/* Finite double in [min, max]; with min_open the lower bound is excluded. */
int cli_get_double(const cli_cmd *c, const cli_opt *o, double min, double max, bool min_open, double *out);
/* One of choices[0..n): *out gets its index. */
int cli_get_choice(const cli_cmd *c, const cli_opt *o, const char *const *choices, int n, int *out);
/* A flag's state. */
bool cli_get_flag(const cli_opt *o);

/* Strict number parsing used by the getters (whole string, no overflow); true on success. */
bool cli_parse_long(const char *s, long *out);
bool cli_parse_double(const char *s, double *out);

#endif
