/* Internal to src/net: the network handle, SQLite helpers (errors naming the network, write and
 * read transactions with the busy message), name/hash/label-set validation, object paths and the
 * in-memory graph shared by registry.c, store.c, graph.c, check.c and build.c. Not public API.
 * Deliberately no statement cache and no global state: every helper works on one handle.
 */
#ifndef UL_NET_INTERNAL_H
#define UL_NET_INTERNAL_H

#include <sqlite3.h>

#include "unlearn/data.h"
#include "unlearn/net.h"

#define UL_NET_FORMAT "unlearn-umig" /* meta.format */
#define UL_NET_VERSION 1             /* meta.version: the only schema this build reads */
#define UL_NET_DB "umig.db"
#define UL_NET_OBJECTS "objects"
#define UL_NET_LABELS_MAX 256        /* size of the label-set text fields of ul_node */

struct ul_net {
    char *dir;           /* as given, without trailing slashes (owned) */
    sqlite3 *db;
    bool readonly;
    bool store_writable; /* a store-only handle (db NULL) that may write objects (ul_net_open_store) */
    int busy_ms;
    ul_net_txn *txn;     /* the open request transaction of this handle, if any */
};

struct ul_net_txn {
    ul_net *n;
    int64_t request_id;  /* the requests row reserved by ul_net_begin */
};

/* ---- errors and SQL ------------------------------------------------------------------ */

/* Record "network 'DIR': model 'NAME': FIELD: message" (model and field optional) and return s. */
ul_status ul_net_fail(const ul_net *n, ul_status s, const char *model, const char *field, const char *fmt, ...)
    UL_PRINTF(5, 6);
/* Map an SQLite result code to a status with "network 'DIR': WHAT: <sqlite message>".
 * SQLITE_BUSY/LOCKED give the "network is busy" UL_E_IO message. */
ul_status ul_net_sql_fail(const ul_net *n, int rc, const char *what);
/* Prepare one statement (bound parameters only; never format user strings into SQL). */
ul_status ul_net_prepare(const ul_net *n, const char *sql, sqlite3_stmt **st);
/* Run constant SQL without results. */
ul_status ul_net_exec(const ul_net *n, const char *sql, const char *what);
/* BEGIN IMMEDIATE: waits up to the busy timeout for another writer, then fails clearly. */
ul_status ul_net_write_begin(ul_net *n, const char *what);
/* ROLLBACK if a transaction is open on the connection (keeps the current error message). */
void ul_net_rollback(ul_net *n);
/* A read snapshot: BEGIN when the connection is in autocommit mode (*started = true), else
 * nothing (the open write transaction is the snapshot). ul_net_read_end COMMITs if started. */
ul_status ul_net_read_begin(ul_net *n, bool *started);
void ul_net_read_end(ul_net *n, bool started);
/* Bounded copy of a text column; false when NULL or too long for cap. */
bool ul_net_col_text(sqlite3_stmt *s, int col, char *dst, size_t cap);

/* ---- validation ---------------------------------------------------------------------- */

/* [A-Za-z0-9_.-], 1..UL_NET_NAME_MAX-1 chars, not starting with '.'. */
bool ul_net_name_ok(const char *name);
/* 64 lowercase hex digits and a NUL. */
bool ul_net_hex_ok(const char *hex);
/* Object extension: 1..15 of [a-z0-9]. */
bool ul_net_ext_ok(const char *ext);
/* Canonical text of a sorted unique label list: runs of two or more as "a-b", joined by ','
 * ("0-5,7"); "" for none. false when it does not fit in cap. */
bool ul_net_format_labels(const int32_t *labels, size_t n, char *buf, size_t cap);
/* Parse a label set ("" = empty: *labels NULL, *n 0) with labels in [0, classes). */
ul_status ul_net_parse_labels(const char *s, int classes, int32_t **labels, size_t *n);
/* Validate a selector (sizes, shard numbering, exclude hash, label syntax); `who` prefixes errors. */
ul_status ul_net_selector_validate(const ul_data_selector *s, const char *who);
/* true when parents and child agree on spec, input shape, classes and width. */
bool ul_net_same_arch(const char *arch_a, const ul_arch_params *a, const char *arch_b, const ul_arch_params *b);
/* Edge arity: none <-> 0 parents; continue/transfer/finetune 1; avg 2..UL_NET_MAX_PARENTS.
 * NULL when fine, else a static explanation. */
const char *ul_net_arity_problem(ul_edge_type e, int nparents);

/* ---- objects ------------------------------------------------------------------------- */

/* A handle on the object store alone, for the helper processes of a distributed request or build
 * (src/dist/): no registry connection (registry calls on it fail with UL_E_ARG), so it works where
 * SQLite's WAL cannot be shared (other machines on a network file system). writable: ul_net_put_object
 * works. No stale-temporary cleanup (the process that owns the registry does it). Close with
 * ul_net_close. */
ul_status ul_net_open_store(const char *dir, bool writable, ul_net **out);

/* DIR/objects/<hex>.<ext> into buf (no existence check). */
ul_status ul_net_object_file(const ul_net *n, const char *hex, const char *ext, char *buf, size_t bufsz);
/* Remove objects/<...>.tmp.<pid>.<n> files whose writer process no longer exists (a writer killed
 * mid-write leaves them), say so on the log sink and in the network's log ("cleanup" event).
 * Files of live processes and anything else are left alone. Called by every writable open. */
void ul_net_remove_stale_temps(ul_net *n);
/* The object exists and its file re-hashes to hex: UL_E_NOTFOUND / UL_E_FORMAT naming the model
 * and field otherwise. */
ul_status ul_net_verify_object(const ul_net *n, const char *hex, const char *ext, const char *model,
                               const char *field);

/* ---- the graph of current models ------------------------------------------------------ */

typedef struct ul_net_graph {
    size_t n;                                /* models, in creation order */
    char (*names)[UL_NET_NAME_MAX];
    int *classes;
    char (*learned)[UL_NET_LABELS_MAX];
    int *npar;
    int (*par)[UL_NET_MAX_PARENTS];          /* parent indices, each below its child's index */
    size_t *by_name;                         /* indices sorted by name (lookup) */
} ul_net_graph;

/* Load models and model-level edges in one snapshot; UL_E_FORMAT when the stored graph is not in
 * topological creation order or names a missing model (the message suggests `unlearn net check`). */
ul_status ul_net_graph_load(ul_net *n, ul_net_graph *g);
void ul_net_graph_free(ul_net_graph *g);
/* Index of a model by name, -1 if absent. */
int ul_net_graph_find(const ul_net_graph *g, const char *name);

/* The normalisation a model was trained with: its recipe's "normalize" (null = none), else the
 * dataset's default; no augmentation (forget.c; also used by the receipt's verification). */
ul_transform ul_net_node_transform(const ul_node *nd);
/* The labels a node knows (learned and inherited), split into those in U and the rest. */
void ul_net_known_split(const ul_node *nd, const int32_t *U, size_t nU, int32_t *fl, size_t *nf, int32_t *rl,
                        size_t *nr);

#endif
