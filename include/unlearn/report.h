/* unlearn/report.h: deletion receipts checked against the network, and HTML reports of forget
 * results.
 *
 * Receipts: a committed forget request stores a JSON receipt in the registry (forget.h, docs/fiun.md):
 * the request (labels, or the hash and count of a sample-id list), roots, method and parameters,
 * and per affected model the checkpoint hashes before and after and the forget and retained
 * accuracy before and after. ul_receipt_verify re-derives what it can from the network itself:
 * the objects re-hash to their names, the registry's versions made by the request carry the
 * receipt's hashes, and the accuracies recomputed on the test split (or, for sample requests, on
 * the stored id list) equal the receipt's within UL_RECEIPT_ACC_TOL points.
 *
 * Reports: ul_report_write turns a results JSON (what `unlearn forget -o` or `unlearn receipt
 * --json` writes) into a directory with one index.html (inline CSS) and figures beside it as SVG
 * with PNG copies: the network's DAG drawn by Graphviz `dot`, accuracy and timing bars drawn by
 * gnuplot (both run as subprocesses; docs/reports.md). The results.json of `unlearn bench
 * methods` gives a method-benchmark page instead (table, Avg. Gap bars, per-class accuracy).
 *
 * Ownership: result structs are filled by the callee and released with their _free function.
 * Since v0.1.
 */
#ifndef UNLEARN_REPORT_H
#define UNLEARN_REPORT_H

#include "unlearn/base.h"
#include "unlearn/net.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Largest difference, in accuracy points, between a recomputed accuracy and the receipt's. */
#define UL_RECEIPT_ACC_TOL 0.01

/* The check of one affected model. Accuracies are percentages, -1 when the model has no samples
 * to measure on, NAN when they could not be recomputed (the checkpoint is missing or corrupt). */
typedef struct ul_receipt_model {
    char name[UL_NET_NAME_MAX];
    bool holds;
    int version;              /* the version the request made (0: the registry has none) */
    int current_version;      /* the model's current version */
    int64_t later_request;    /* request that made the current version when a later one changed it, else 0 */
    double forget_acc_before, forget_acc_after;  /* recomputed */
    double retain_acc_before, retain_acc_after;
    size_t forget_n, retain_n;                   /* samples they were measured on */
    char *problems;           /* one reason per line, "" when it holds (malloc'd) */
} ul_receipt_model;

typedef struct ul_receipt_check {
    bool holds;               /* every model holds and the receipt itself is consistent */
    ul_receipt_model *models; /* the receipt's affected models, in its order (malloc'd) */
    size_t n;
    char *problems;           /* receipt-level reasons, one per line ("" when none; malloc'd) */
} ul_receipt_check;

/* Verify the receipt of request `rq` (ul_net_get_request) against network `n`. Per affected
 * model: the after checkpoint exists as objects/<after>.safetensors and hashes to its name (the
 * before checkpoint too); the registry holds a version of the model made by this request whose
 * checkpoint is `after` and which replaced a version whose checkpoint is `before`; forget and
 * retained accuracy before and after, recomputed with the normalisation of the model's recipe on
 * the test split (labels as in the receipt; sample requests: the stored id list on the training
 * split), equal the receipt's within UL_RECEIPT_ACC_TOL. Receipt-level: the receipt is a JSON
 * object with the expected fields, its request equals the registry's request row, a sample
 * request's id list exists and re-hashes, and the registry has no version made by the request
 * that the receipt omits. A model changed again by a later request still holds (later_request
 * says by which). Evaluation runs one model per thread (threads: 0 = all cores), each
 * single-threaded, as ul_forget measures. Returns UL_OK when the check could run, whatever it
 * found (out->holds); an error status only when the network or data could not be read at all.
 * Free with ul_receipt_check_free. */
ul_status ul_receipt_verify(ul_net *n, const ul_net_request *rq, int threads, ul_receipt_check *out);
void ul_receipt_check_free(ul_receipt_check *c);

/* ---- HTML reports ---------------------------------------------------------------------- */

typedef struct ul_report_params {
    const char *results;      /* results JSON of a forget request (required) */
    const char *compare;      /* optional: results of another method on the same request (e.g. retrain) */
    const char *out_dir;      /* the report directory; replaced as a whole when it holds an older report */
    const char *network;      /* network directory for the edges; NULL = the results' "network" field */
    const char *tool_version; /* shown in the header (NULL = UL_VERSION_STRING) */
    const char *tool_commit;  /* git commit of the tool shown in the header (NULL = "unknown") */
} ul_report_params;

typedef struct ul_report_info {
    char kind[16];            /* "forget" (a forget request) or "methods" (`unlearn bench methods` results) */
    char edges_from[16];      /* "results", "network" or "none" */
    char edges_note[512];     /* where the edges came from, or why there are none */
    int figures;              /* figures written (each as .svg and .png) */
    char results_sha256[65];
} ul_report_info;

/* Write the report of p->results into p->out_dir. The kind of report follows the file's content:
 * the results.json of `unlearn bench methods` (an object with "command": "bench methods", or with
 * "config", "runs" and "summary") gives a method-benchmark report (the SFR-on table of every
 * method with mean +- std over seeds, a bar chart of the Avg. Gap per method and the per-class
 * test accuracy of the original, retrain and every method; figures by gnuplot only, `dot` is not
 * needed, p->compare must be NULL and p->network is ignored); anything else is read as forget
 * results, as follows. Everything is written into a temporary
 * sibling directory "<out_dir>.tmp-<pid>" that is renamed onto out_dir at the end, so a failure
 * leaves no out_dir (or the previous report) and no temporary directory. Edges: the results'
 * "edges" array ([{"parent","child","type"}]) when present, else those of the network directory
 * (p->network or the results' "network"), else none (the DAG shows the nodes alone and the page
 * says why). Errors: UL_E_FORMAT naming the file and the field for malformed results (not JSON,
 * not a forget results object, a missing or mistyped field), UL_E_ARG for a compare file of
 * another request or an out_dir that exists and is not a report, UL_E_UNSUPPORTED when `dot`
 * or `gnuplot` is not on PATH, UL_E_IO when a tool fails or a file cannot be written. */
ul_status ul_report_write(const ul_report_params *p, ul_report_info *info);

#ifdef __cplusplus
}
#endif
#endif
