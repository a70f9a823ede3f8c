/* Internal to src/report: a growing text buffer, the parsed results of a forget request, the graph
 * drawn in the report, and the figure helpers (Graphviz and gnuplot run as subprocesses) shared by
 * results.c, figures.c and report.c. Not public API.
 * Deliberately no plotting of our own: every figure comes from `dot` or `gnuplot`.
 */
#ifndef UL_REPORT_INTERNAL_H
#define UL_REPORT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "unlearn/net.h"
#include "unlearn/report.h"

/* ---- text buffer ------------------------------------------------------------------------ */

typedef struct rp_buf {
    char *s;     /* NUL-terminated (malloc'd) */
    size_t len, cap;
    bool oom;    /* an append failed: the text is incomplete */
} rp_buf;

void rp_printf(rp_buf *b, const char *fmt, ...) UL_PRINTF(2, 3);
void rp_puts(rp_buf *b, const char *s);
/* s with & < > " ' escaped for HTML text and attribute values. */
void rp_html(rp_buf *b, const char *s);
void rp_buf_free(rp_buf *b);

/* ---- results ---------------------------------------------------------------------------- */

typedef struct rp_model {
    char name[UL_NET_NAME_MAX];
    bool root;
    int roots_merged;              /* -1 unknown */
    char before[65], after[65];
    double fa_before, fa_after;    /* forget accuracy, percent; -1 = no samples */
    double ra_before, ra_after;    /* retained accuracy */
    double seconds;
    double selected;               /* parameters dampened; -1 unknown */
} rp_model;

typedef struct rp_edge {
    char parent[UL_NET_NAME_MAX], child[UL_NET_NAME_MAX];
    char type[16];
} rp_edge;

typedef struct rp_results {
    char path[1024];
    char sha256[65];
    void *json;                    /* cJSON* of the whole file */
    char method[64];
    char request_text[512];        /* "labels 3" / "42 samples of the train split (ids <hex>)" */
    char network[1024];            /* "" when absent */
    long long request_id;          /* 0: dry run or absent */
    char tool_version[64], git_commit[64];  /* "unknown" when absent */
    const void *parameters;        /* cJSON object inside json, or NULL */
    const void *request;           /* cJSON object inside json */
    rp_model *models;
    size_t n;
    double t_roots, t_makespan, t_sum, t_total;  /* NAN when absent */
    rp_edge *edges;                /* the file's "edges", when present */
    size_t nedges;
    bool has_edges;
} rp_results;

/* Read and validate a results file (UL_E_FORMAT naming the file and the field; UL_E_IO/NOTFOUND
 * when it cannot be read). */
ul_status rp_results_load(const char *path, rp_results *r);
void rp_results_free(rp_results *r);
/* Index of a model by name, -1 when absent. */
int rp_results_find(const rp_results *r, const char *name);

/* ---- the drawn graph --------------------------------------------------------------------- */

typedef struct rp_graph {
    char (*names)[UL_NET_NAME_MAX]; /* every node: the affected models and, with a network, the others */
    size_t n;
    rp_edge *edges;
    size_t nedges;
    char from[16];                  /* "results", "network", "none" */
    char note[512];
} rp_graph;

/* Nodes and edges for the DAG: the results' edges, else the network's (dir as given, then
 * relative to the results file), else none with a note saying why. */
ul_status rp_graph_build(const rp_results *r, const char *network, rp_graph *g);
void rp_graph_free(rp_graph *g);

/* ---- figures ----------------------------------------------------------------------------- */

/* Absolute path of an executable found on PATH into buf; false when absent. */
bool rp_find_tool(const char *name, char *buf, size_t cap);
/* Run argv (argv[0] an absolute path) in directory cwd with stdin from /dev/null and stdout and
 * stderr into cwd/log; UL_E_IO naming the tool and quoting the log's first lines on failure. */
ul_status rp_run(const char *const *argv, const char *cwd, const char *log);
/* Graphviz DOT of the DAG: affected nodes filled by forget accuracy after, roots doubly framed. */
ul_status rp_dag_dot(const rp_results *r, const rp_graph *g, rp_buf *out);
/* gnuplot data files and scripts (each writes <name>.svg and <name>.png) for the accuracy bars
 * and the per-model times; cmp may be NULL. */
ul_status rp_accuracy_plot(const rp_results *r, const rp_results *cmp, rp_buf *data, rp_buf *script);
ul_status rp_time_plot(const rp_results *r, const rp_results *cmp, rp_buf *data, rp_buf *script);
/* The fill colour of a forget accuracy (percent; < 0: none) as "#rrggbb". */
void rp_acc_colour(double acc, char out[8]);

/* ---- shared by report.c and methods.c ---------------------------------------------------- */

/* Remove a directory tree this module wrote (links unlinked, never followed). Best effort. */
void rp_rm_tree(const char *dir);
/* An existing output directory may be replaced when empty or holding a report (index.html);
 * *exists says whether it exists. UL_E_ARG when it holds something else. */
ul_status rp_out_dir_ok(const char *out, bool *exists);
/* Write buffer b as dir/name (atomically). */
ul_status rp_put(const char *dir, const char *name, const rp_buf *b);
/* The page's inline stylesheet. */
extern const char rp_css[];

/* ---- method-benchmark reports (methods.c) -------------------------------------------------- */

/* Is `path` a results.json of `unlearn bench methods` (an object with "command": "bench methods",
 * or with "config", "runs" and "summary" and no "affected")? False when unreadable or not JSON
 * (the forget reader then reports why). */
bool rp_is_methods_results(const char *path);
/* The method-benchmark report of p->results into out (trailing slashes removed), drawn with
 * gnuplot (absolute path): index.html, gap.svg/png, per_class.svg/png, src/. Same temporary
 * directory and rename discipline as the forget report. */
ul_status rp_methods_write(const ul_report_params *p, const char *out, const char *gnuplot, ul_report_info *info);

#endif
