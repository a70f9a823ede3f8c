/* unlearn/net.h: the model inheritance network (UMIG): a chronological DAG of model versions,
 * persisted in a directory holding an SQLite registry (umig.db, WAL mode) and a
 * content-addressed object store (objects/<sha256>.<ext>).
 *
 * Vocabulary
 *  - model: a logical node of the graph ("r1", "client-3"), identified by a unique name.
 *  - version: one immutable checkpoint of a model (node id). Version 1 is the trained model;
 *    unlearning adds versions 2, 3, ... and records which version each replaced and the
 *    request that made it. The graph is always read over the current (latest) versions.
 *  - edge: parent -> child in training time, typed: avg (child starts from the mean of its
 *    parents), continue (child continues the parent on a wider label set), transfer (copy the
 *    parent, train only the head), finetune (copy the parent, train everything).
 *  - own data: a data selector (dataset, split, label set, optional shard of the filtered
 *    samples) and its hash; the labels a model learned from its own data, and those it
 *    inherited from its ancestors.
 *  - recipe: parents, edge, optimizer, epochs, seed... (JSON) so the model can be re-derived.
 *
 * Invariants enforced on every write (a violating write is refused with a clear error and
 * changes nothing): the graph is acyclic; parents exist and were created earlier; every parent
 * has the child's architecture (spec, input shape, classes); the checkpoint object exists in the
 * store and its SHA-256 matches its name; model names are unique and safe ([A-Za-z0-9_.-],
 * 1..63 chars, not starting with '.').
 *
 * Crash safety: objects are written to a temporary file, fsynced and renamed into objects/
 * before the transaction that names them commits; a crash leaves at most unreferenced objects
 * (reported by ul_net_check as "orphan", never used) and temporary files, which the next writer
 * that opens the network removes when their process is gone (a "cleanup" log entry).
 *
 * Ownership: ul_net_open/create return a handle the caller closes with ul_net_close. Arrays
 * returned through pointers are malloc'd and freed by the caller with free().
 * Threads: one handle per thread; several processes may open one network (SQLite locking,
 * busy timeout 10 s by default).
 */
#ifndef UNLEARN_NET_H
#define UNLEARN_NET_H

#include "unlearn/base.h"
#include "unlearn/io.h"
#include "unlearn/nn.h"
#include "unlearn/train.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ul_net ul_net; /* opaque */

typedef enum ul_edge_type {
    UL_EDGE_NONE = 0,     /* a model without parents (trained from scratch) */
    UL_EDGE_AVG = 1,
    UL_EDGE_CONTINUE = 2,
    UL_EDGE_TRANSFER = 3,
    UL_EDGE_FINETUNE = 4,
    UL_EDGE_COUNT
} ul_edge_type;

const char *ul_edge_name(ul_edge_type t);                   /* "none", "avg", ... */
ul_status ul_edge_parse(const char *s, ul_edge_type *out);  /* UL_E_ARG on unknown names */

#define UL_NET_MAX_PARENTS 16
#define UL_NET_NAME_MAX 64

/* A data selector: the samples a model trained on, resolved against a dataset. */
typedef struct ul_data_selector {
    char data[256];       /* dataset spec for ul_dataset_load ("fashion-mnist" or a directory) */
    char split[16];       /* "train" */
    char labels[256];     /* label set (ul_parse_label_set syntax, canonical "0-5,7"); "" = all */
    int shard, nshards;   /* keep shard `shard` of `nshards` of the label-filtered samples (0/0 = all);
                             shards come from a seeded random split, disjoint, covering everything */
    uint64_t shard_seed;
    char exclude[65];     /* SHA-256 of a sample-id list removed from the selection ("" = none);
                             the list itself is an object in the store */
} ul_data_selector;

/* One model version as stored in the registry. Strings are NUL-terminated copies. */
typedef struct ul_node {
    int64_t id;                       /* version id, increasing with creation time */
    char name[UL_NET_NAME_MAX];
    int version;                      /* 1, 2, ... per name */
    int64_t created_seq;              /* creation order of the model (of its version 1) */
    char arch[128];                   /* canonical spec (ul_model_spec) */
    ul_arch_params ap;
    char ckpt[65];                    /* SHA-256 of the checkpoint object */
    char fisher[65];                  /* SHA-256 of the full-data Fisher cache object, "" if none */
    ul_data_selector own;             /* own data */
    char own_hash[65];                /* SHA-256 of the resolved own sample indices */
    char learned[256];                /* labels learned from own data (canonical set) */
    char inherited[256];              /* labels inherited from ancestors, not own */
    ul_edge_type edge;
    int nparents;
    char parents[UL_NET_MAX_PARENTS][UL_NET_NAME_MAX]; /* parent model names, in order */
    int64_t parent_ids[UL_NET_MAX_PARENTS];            /* the parent versions it was derived from */
    char recipe[4096];                /* JSON object: optimizer, lr, epochs, batch, seed, ... */
    int64_t replaces;                 /* version id this one replaced (0 for version 1) */
    int64_t request;                  /* request id that made it (0 for version 1) */
    double test_acc;                  /* accuracy on its own labels on the test split (-1: unknown) */
} ul_node;

/* ---- opening ---------------------------------------------------------------------- */

/* Create a new, empty network at `dir` (created if missing; must be empty or absent). Atomic: the
 * network is made in a sibling "DIR.partial-<pid>" and renamed into place, so a crash leaves no DIR
 * or a whole empty network. */
ul_status ul_net_create(const char *dir, ul_net **out);
/* Open an existing network. readonly opens the database read-only (readers work while a writer
 * runs, thanks to WAL; on a read-only file system the registry is opened immutable). A writable
 * open refuses a read-only file system or an unwritable directory up front (UL_E_IO) and removes
 * temporary object files left by writers that no longer run. */
ul_status ul_net_open(const char *dir, bool readonly, ul_net **out);
/* Close a handle; a request transaction still open on it is aborted (and its handle freed). */
void ul_net_close(ul_net *n);
const char *ul_net_dir(const ul_net *n);
/* Busy timeout for locks held by other processes, in milliseconds (default 10000). */
void ul_net_set_busy_timeout(ul_net *n, int ms);

/* ---- the object store -------------------------------------------------------------- */

/* Store bytes as objects/<sha256>.<ext> (atomic; a no-op when the object exists). hex gets the
 * digest. ext: "safetensors" for checkpoints, "fisher", "ids", "json". */
ul_status ul_net_put_object(ul_net *n, const void *data, size_t len, const char *ext, char hex[65]);
/* Store a model as a checkpoint object. */
ul_status ul_net_put_model(ul_net *n, const ul_model *m, const ul_ckpt_meta *meta, char hex[65]);
/* Path of an object (for reading), into buf. UL_E_NOTFOUND if no such object exists. */
ul_status ul_net_object_path(const ul_net *n, const char *hex, char *buf, size_t bufsz);
/* Load the checkpoint of a version (objects/<ckpt>.safetensors) with node->arch and node->ap,
 * which must match the file (UL_E_SHAPE). The file is re-hashed first: content that does not hash
 * to its name is UL_E_FORMAT ("is corrupt"), never loaded. */
ul_status ul_net_load_model(ul_net *n, const ul_node *node, ul_model **out);

/* ---- writing ------------------------------------------------------------------------ */

/* Add a new model (version 1). `node` fields used: name, arch, ap, ckpt, fisher, own,
 * own_hash, learned, inherited, edge, nparents, parents, recipe, test_acc. parent_ids are filled
 * with the parents' current versions. On success node->id, version, created_seq are set.
 * Every invariant is checked inside one transaction; on failure nothing changes (and *node keeps
 * its input values). Besides the invariants above: parents are distinct; edge arity: none <-> no
 * parents, continue/transfer/finetune exactly one, avg two or more (a one-parent "average" is a
 * finetune); ckpt names objects/<hex>.safetensors, fisher ("" = none) objects/<hex>.fisher and
 * own.exclude ("" = none) objects/<hex>.ids, each re-hashed; learned and inherited must parse
 * with labels below ap.classes and are rewritten in canonical form ("0-2,5"); recipe "" is stored
 * as "{}", anything else must be a JSON object. Errors name the network, the model and the
 * field ("parents[1]", "edge", "arch", "ckpt", ...). UL_E_ARG for a read-only handle or while a
 * request transaction is open on the handle. */
ul_status ul_net_add(ul_net *n, ul_node *node);

/* A request that replaces versions: begin, add versions, commit (or abort). Between begin and
 * commit the new versions are invisible to other connections; commit writes them and the
 * request row (with its receipt JSON) in one transaction. begin takes the write lock (BEGIN
 * IMMEDIATE): it waits up to the busy timeout for another writer, then fails with UL_E_BUSY
 * "network is busy: another process is writing (waited N s)". One open request per handle;
 * request_json (NULL = "{}") must be a JSON object. The handle is freed by commit (whether it
 * succeeds or not) or abort. */
typedef struct ul_net_txn ul_net_txn;
ul_status ul_net_begin(ul_net *n, const char *kind, const char *request_json, ul_net_txn **out);
/* A new version of model `name` with checkpoint `ckpt` (objects/<hex>.safetensors, re-hashed) and
 * optional fisher (NULL or "" = none); test_acc may be -1. version = current + 1, replaces = the
 * current version, request = this request; its parent_ids are the parents' current versions at
 * this point of the transaction, so replace parents before children (creation order) to record
 * the new snapshot. At most one new version per model per request. A failed replace changes
 * nothing and leaves the transaction usable. */
ul_status ul_net_txn_replace(ul_net_txn *t, const char *name, const char *ckpt, const char *fisher,
                             double test_acc, int64_t *new_id);
/* ul_net_txn_replace with a check against lost updates: `based_on` is the version id (ul_node.id)
 * the new version was computed from; when the model's current version is another one (a request
 * committed by another process since it was read), nothing is added and UL_E_BUSY says so
 * ("changed by another request while this one ran"); the caller aborts and may run again.
 * based_on 0 skips the check (ul_net_txn_replace). */
ul_status ul_net_txn_replace_from(ul_net_txn *t, const char *name, int64_t based_on, const char *ckpt,
                                  const char *fisher, double test_acc, int64_t *new_id);
/* receipt_json (NULL = "{}") must be a JSON object, else the request is aborted (UL_E_ARG). The
 * commit also appends a "request" entry to the log ({"id", "kind", "request", "versions":
 * [{"model", "version"}]}) in the same transaction, so the log lists exactly the committed
 * requests. */
ul_status ul_net_commit(ul_net_txn *t, const char *receipt_json, int64_t *request_id);
void ul_net_abort(ul_net_txn *t);

/* Append an entry to the network's log (builds, requests, checks). detail_json: JSON object or
 * NULL ("{}"). Inside an open request it is part of that transaction. */
ul_status ul_net_log(ul_net *n, const char *event, const char *detail_json);

/* ---- reading ------------------------------------------------------------------------ */

/* Current version of a model by name. UL_E_NOTFOUND if none. */
ul_status ul_net_get(ul_net *n, const char *name, ul_node *out);
/* A version by id. */
ul_status ul_net_get_version(ul_net *n, int64_t id, ul_node *out);
/* Current versions of every model in creation order (a topological order). *out malloc'd. */
ul_status ul_net_list(ul_net *n, ul_node **out, size_t *count);
/* Every version of one model, oldest first. */
ul_status ul_net_history(ul_net *n, const char *name, ul_node **out, size_t *count);
/* The log (ul_net_log entries), oldest first, as text: one line per entry,
 * "<seq> <UTC time> <event> <detail JSON>\n" ("" when empty). *text malloc'd, caller frees. */
ul_status ul_net_read_log(ul_net *n, char **text);

/* A committed request (the requests table): its kind ("forget"), UTC creation time, the request
 * JSON written by ul_net_begin and the receipt JSON written by ul_net_commit. */
typedef struct ul_net_request {
    int64_t id;
    char kind[32];
    char created_at[40];
    char *request;  /* JSON object text (malloc'd) */
    char *receipt;  /* JSON object text (malloc'd); "{}" when the writer gave none */
} ul_net_request;
/* Read request `id`, or with id 0 the latest request (of `kind` when kind is not NULL). Only
 * committed requests are visible. UL_E_NOTFOUND names the network and the ids it has. Free the
 * strings with ul_net_request_free. Works on a read-only handle. */
ul_status ul_net_get_request(ul_net *n, int64_t id, const char *kind, ul_net_request *out);
void ul_net_request_free(ul_net_request *r);

/* ---- graph queries (over current versions; results are model names in creation order) */

typedef struct ul_name_list {
    char (*names)[UL_NET_NAME_MAX];
    size_t n;
} ul_name_list;
void ul_name_list_free(ul_name_list *l);

ul_status ul_net_ancestors(ul_net *n, const char *name, ul_name_list *out);   /* excluding itself */
ul_status ul_net_descendants(ul_net *n, const char *name, ul_name_list *out); /* excluding itself */
ul_status ul_net_topo_order(ul_net *n, ul_name_list *out);
/* The roots of a label set: for each label, the earliest models that learned it from their own
 * data, none of whose ancestors learned it from theirs (a model that learned it on a separate
 * branch is a root too). Union over the labels, in creation order; labels nobody learned add
 * nothing; negative labels and labels no model of the network can output are UL_E_ARG. */
ul_status ul_net_roots(ul_net *n, const int32_t *labels, size_t nlabels, ul_name_list *out);
/* The affected closure of a request: the roots and every model reachable from them. */
ul_status ul_net_closure(ul_net *n, const ul_name_list *roots, ul_name_list *out);

/* ---- checking ----------------------------------------------------------------------- */

/* Verify every invariant and every object hash; never changes anything. Problems are appended
 * to *report (malloc'd text, one line each, caller frees) and counted in *problems. Returns
 * UL_OK when the check could run (even if it found problems). Lines start with their kind:
 * integrity, schema, graph, version, request, missing, corrupt, orphan ("orphan: objects/<f> is
 * not referenced"), temp (leftover temporary files), stray (not an object name). An object is
 * referenced by a version (ckpt, fisher), a selector's exclude, or any string value equal to its
 * hash in a recipe, selector, request or receipt JSON. Objects written by a writer whose
 * transaction has not committed yet show up as orphans. */
ul_status ul_net_check(ul_net *n, char **report, size_t *problems);

/* ---- data selectors ---------------------------------------------------------------- */

/* The view of `d` (already loaded from sel->data, sel->split) that the selector picks: every
 * sample, filtered by the label set, then (nshards > 0) part `shard` of a permutation of the
 * filtered positions drawn with ul_rng_seed(shard_seed) + ul_rng_shuffle_i32, cut into nshards
 * contiguous parts (part k = positions [n*k/N, n*(k+1)/N)), kept in dataset order. `exclude` is
 * NOT applied here (the id list lives in a network's store): ul_net_own_view applies it. */
ul_status ul_selector_resolve(const ul_data_selector *sel, ul_dataset *d, ul_view **out);
/* The selector's view with its `exclude` list (objects/<hex>.ids, the ul_parse_ids text format)
 * removed: what a model of network `n` actually trains on. */
ul_status ul_net_own_view(ul_net *n, const ul_data_selector *sel, ul_dataset *d, ul_view **out);
/* Canonical JSON of a selector (malloc'd; NULL when out of memory) and back:
 * {"data":..,"split":..,"labels":..,"shard":k,"nshards":N,"shard_seed":S,"exclude":..}, compact,
 * in that key order; seeds above 2^53 are written as decimal strings. from_json is strict
 * (unknown keys, wrong types, invalid values: UL_E_FORMAT). */
char *ul_selector_to_json(const ul_data_selector *sel);
ul_status ul_selector_from_json(const char *json, ul_data_selector *out);
/* SHA-256 of the dataset hash (64 hex chars) followed by the selected dataset indices (sorted,
 * int32 LE): the same set of samples gives the same hash in any order. hex is "" when v is NULL
 * or out of memory. */
void ul_selector_hash(const ul_view *v, char hex[65]);

/* ---- scenario builders ------------------------------------------------------------- */

typedef struct ul_build_params {
    const char *scenario;   /* "il", "tl", "fl", "ddpl", "mixed", "chain" (deep chain), "dag" (deep DAG) */
    const char *data;       /* dataset spec, e.g. "fashion-mnist" */
    const char *arch;       /* architecture spec, e.g. "cnn" */
    float width;            /* resnet width multiplier (0 = 1) */
    int depth;              /* chain/dag: number of models (defaults 30 / 50); others: ignored or scaled */
    int epochs;             /* per node (0 = scenario default) */
    size_t max_samples;     /* cap on each node's own samples (0 = no cap), for quick networks */
    uint64_t seed;
    ul_train_cb progress;   /* per-batch progress of the node being trained (optional) */
    void *progress_user;
    void (*node_done)(const ul_node *node, double seconds, void *user); /* optional */
    void *node_user;
} ul_build_params;

/* Create the network at `dir` and train every model of the scenario in creation order. A model
 * already present with the same recipe is kept (so an interrupted build resumes); one present
 * with a different recipe is an error. */
ul_status ul_net_build(const char *dir, const ul_build_params *p);

#ifdef __cplusplus
}
#endif
#endif
