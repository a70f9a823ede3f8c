/* libFuzzer target: the command line's text parsers: the option parser (cli_parse on an argv
 * split from the input at '\n', with a table covering every kind of option: valued, flags,
 * negatable flags, short aliases, required, positionals), every typed getter on the result
 * (integers, 64-bit seeds, bounded doubles, choices), label lists as the commands read them
 * (--classes, --labels, --milestones-like lists through cli_parse_long), and the checkpoint
 * provenance JSON the CLI reads back for normalisation (cli_transform_from_provenance). A usage
 * error is fine (the messages go to stderr, closed by -close_fd_mask); a crash, leak or sanitizer
 * report is a bug.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "unlearn/data.h"
#include "unlearn/forget.h"
#include "unlearn/net.h"

#include "common.h"
#include "opts.h"

#define MAX_ARGS 48

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 4096) return 0;
    char *buf = malloc(size + 1);
    memcpy(buf, data, size);
    buf[size] = '\0';
    /* the provenance parser sees the whole input */
    ul_transform tf;
    for (int ch = 1; ch <= 3; ch += 2) (void)cli_transform_from_provenance(buf, ch, &tf);
    /* argv: lines of the input (NULs end an argument early, as on a real command line) */
    char *argv[MAX_ARGS];
    int argc = 0;
    for (char *p = buf; argc < MAX_ARGS;) {
        argv[argc++] = p;
        char *nl = strchr(p, '\n');
        if (!nl) break;
        *nl = '\0';
        p = nl + 1;
    }
    cli_opt opts[] = {
        {"data", 0, "NAME|DIR", "fashion-mnist", "dataset", false, false, NULL, false},
        {"epochs", 0, "N", "2", "epochs", false, false, NULL, false},
        {"lr", 0, "F", "0.05", "learning rate", false, false, NULL, false},
        {"seed", 0, "N", "0", "seed", false, false, NULL, false},
        {"sched", 0, "NAME", "cosine", "schedule", false, false, NULL, false},
        {"classes", 0, "SET", "all", "labels", false, false, NULL, false},
        {"labels", 0, "SET", NULL, "labels", true, false, NULL, false},
        {"nesterov", 0, NULL, "on", "flag", false, true, NULL, false},
        {"quiet", 'q', NULL, "off", "flag", false, false, NULL, false},
        {"output", 'o', "FILE", NULL, "output", false, false, NULL, false},
        {"method", 0, "NAME", "fiun", "method", false, false, NULL, false},
        {"edge", 0, "TYPE", "none", "edge", false, false, NULL, false},
    };
    cli_cmd c = {.name = "fuzz", .usage = "unlearn fuzz [options] A B", .summary = "fuzzing the option parser",
                 .epilog = NULL, .opts = opts, .nopts = (int)(sizeof opts / sizeof *opts), .max_pos = 2};
    const char *pos[2];
    int npos = 0;
    if (cli_parse(&c, argc, argv, pos, &npos) == CLI_PARSE_OK) {
        long l;
        uint64_t u;
        double d;
        int k;
        static const char *const scheds[] = {"cosine", "multistep", "const"};
        (void)cli_get_long(&c, &opts[1], 0, 1000000, &l);
        (void)cli_get_double(&c, &opts[2], 0.0, 100.0, true, &d);
        (void)cli_get_u64(&c, &opts[3], &u);
        (void)cli_get_choice(&c, &opts[4], scheds, 3, &k);
        (void)cli_get_flag(&opts[7]);
        (void)cli_get_flag(&opts[8]);
        for (int i = 5; i <= 6; i++) {
            if (!opts[i].value || strcmp(opts[i].value, "all") == 0) continue;
            int32_t *labels = NULL;
            size_t n = 0;
            if (ul_parse_label_set(opts[i].value, i == 5 ? 10 : 65536, &labels, &n) == UL_OK) free(labels);
        }
        ul_forget_method m;
        (void)ul_forget_method_parse(opts[10].value, &m);
        ul_edge_type e;
        (void)ul_edge_parse(opts[11].value, &e);
    }
    /* the strict number parsers on every argument */
    for (int i = 0; i < argc; i++) {
        long l;
        double d;
        (void)cli_parse_long(argv[i], &l);
        (void)cli_parse_double(argv[i], &d);
    }
    free(buf);
    return 0;
}
