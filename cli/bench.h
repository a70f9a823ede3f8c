/* cli/bench.h: shared between cmd_bench.c (options, cache, the run) and bench_report.c (results
 * JSON, CSV, Markdown and the stdout table) of `unlearn bench methods`: one row per model and seed,
 * one entry per method (or sweep setting), and the report a run hands to the writers. Internal to
 * the CLI; no computation lives here (metrics come from unlearn/protocol.h).
 */
#ifndef UNLEARN_CLI_BENCH_H
#define UNLEARN_CLI_BENCH_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cjson/cJSON.h>

#include "unlearn/methods.h"
#include "unlearn/protocol.h"
#include "unlearn/train.h"

#define BENCH_MAX_SEEDS 64

/* One model on one seed: the original (no unlearning), the retrain oracle or a method's output. */
typedef struct bench_row {
    ul_protocol_metrics m;
    double gap;            /* Avg. Gap to this seed's retrain oracle */
    bool cached;           /* original / retrain: reused from the cache (seconds = recorded training time) */
    char ckpt[1200];       /* original / retrain: the cache checkpoint */
    bool diverged;         /* a --sweep setting whose run diverged: metrics NaN, recorded and skipped */
} bench_row;

typedef struct bench_method {
    ul_unlearn_method id;
    char label[192];           /* the method's name, plus " key=value ..." for a --sweep variant */
    ul_unlearn_params params;  /* defaults + --set overrides (unused for retrain: the recipe applies) */
    bench_row rows[BENCH_MAX_SEEDS];
} bench_method;

typedef enum bench_scenario { BENCH_RANDOM = 0, BENCH_CLASS = 1, BENCH_IDS = 2 } bench_scenario;

/* Everything a report needs. Strings are borrowed from the run. */
typedef struct bench_report {
    const char *command_line;
    const char *data, *data_hash, *test_hash, *arch;
    int classes;
    bench_scenario scenario;
    const char *scenario_text;     /* "random:10", "class:3", "ids:<file>" */
    double percent;                /* random */
    uint64_t split_seed;           /* random */
    const char *ids_file;          /* ids */
    const char *ids_file_hash;     /* ids: SHA-256 of the file */
    const int32_t *forget_classes; /* class */
    size_t nforget_classes;
    size_t n_forget, n_retain, n_test;
    const char *split_hash;
    const ul_train_config *recipe;
    bool augment;
    int threads;
    const char *cache_dir;
    const uint64_t *seeds;
    int nseeds;
    bench_row original[BENCH_MAX_SEEDS];
    bench_method *methods;         /* methods[0] is retrain */
    int nmethods;
    const char *set_text;          /* the --set overrides as given, joined by spaces ("" if none) */
    const char *sweep_text;        /* the --sweep grids as given, joined by spaces ("" if none) */
} bench_report;

/* The results document (caller deletes). NULL when out of memory. */
cJSON *bench_results_json(const bench_report *r);
/* CSV (one row per method and seed, then mean and std rows) and Markdown; malloc'd, caller frees. */
char *bench_results_csv(const bench_report *r);
char *bench_results_md(const bench_report *r);
/* The SFR-on table (FA, RA, TA, MIA, Avg. Gap, KL, time; mean +- std) on f. */
void bench_print_table(const bench_report *r, FILE *f);

#endif
