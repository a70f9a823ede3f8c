/* Internal to src/net and src/dist: the phases of an unlearning request (forget.c), so that a
 * driver can run the per-model work for a subset of the affected models: ul_forget runs every
 * phase in one process (OpenMP over models); src/dist/forget_mpi.c spreads the models over MPI
 * ranks. Each phase computes exactly what ul_forget computes for that model, whatever the rank or
 * thread that runs it, so the new checkpoints are bit-identical. Not public API.
 */
#ifndef UL_NET_FORGET_INTERNAL_H
#define UL_NET_FORGET_INTERNAL_H

#include "unlearn/data.h"
#include "unlearn/forget.h"
#include "unlearn/net.h"

/* The forget Fisher of one root (ga-transfer: its transfer delta and ascended model). */
typedef struct ul_forget_root {
    char name[UL_NET_NAME_MAX];
    float *F;        /* its forget Fisher, P floats (malloc'd); ga-transfer: its delta 2 (G1 - G2) */
    ul_model *ga;    /* ga-transfer: the root after gradient ascent */
    int ga_steps;
} ul_forget_root;

/* Everything a request reads before any model changes. Every array is owned by the plan. */
typedef struct ul_forget_plan {
    const ul_forget_params *p;   /* borrowed from the caller */
    ul_net *net;
    ul_name_list roots, closure; /* closure: the affected models, in creation order */
    ul_node *nodes;              /* [closure.n] the versions the request read */
    ul_forget_root *rf;          /* [roots.n], in the order of roots */
    int *nr, *rmap;              /* R(m): nr[i] roots of model i, their indices rmap[i * roots.n + j] */
    ul_model **models;           /* [closure.n], NULL until ul_forget_node_before loads them */
    ul_forget_node *res;         /* [closure.n] per-model results */
    ul_dataset *test, *train;
    ul_view *fsv;                /* sample request: the forget samples */
    size_t P;                    /* parameters per model (set by ul_forget_root_fisher or the caller) */
    int K;                       /* classes */
    bool class_route;            /* label request with the default Fisher: every Fisher from per-class sums */
    double t_start;
} ul_forget_plan;

/* Validate the request, open the network (the registry writable, read-only on dry runs), find roots
 * and closure, read the affected versions, load the datasets and compute R(m). On failure nothing
 * is left open and out->fault says whose fault it is (out holds nothing else). */
ul_status ul_forget_plan_open(const char *dir, const ul_forget_params *p, ul_forget_plan *pl, ul_forget_result *out);
void ul_forget_plan_free(ul_forget_plan *pl);

/* A plan as bytes (roots, closure, the versions read, R(m); *buf malloc'd) and back: unpack opens
 * the object store alone (ul_net_open_store: no registry, writable unless p is a dry run) and
 * loads the datasets, so a helper process runs the per-model phases on exactly what the
 * process that opened the plan read, without reading the registry. Same build on both ends. */
ul_status ul_forget_plan_pack(const ul_forget_plan *pl, void **buf, size_t *len);
ul_status ul_forget_plan_unpack(const char *dir, const ul_forget_params *p, const void *buf, size_t len,
                                ul_forget_plan *pl);

/* Whether the method takes forget Fishers (or ga-transfer deltas) at the roots. */
bool ul_forget_uses_roots(const ul_forget_params *p);
/* Index of root r of the plan in the closure (roots are affected models), or -1. */
long ul_forget_root_index(const ul_forget_plan *pl, size_t r);
/* Root r's forget Fisher (ga-transfer: gradient ascent and delta) into pl->rf[r]; sets pl->P. */
ul_status ul_forget_root_fisher(ul_forget_plan *pl, size_t r);

/* Model i: name, hashes and roots in pl->res[i]; load it into pl->models[i] and measure forget and
 * retained accuracy before (thread-safe across models). */
ul_status ul_forget_node_before(ul_forget_plan *pl, size_t i);
/* Whether model i is dampened in the per-model phase (FIUn, ssd-local, sequential's roots). */
bool ul_forget_node_dampened(const ul_forget_plan *pl, size_t i);
/* The per-model work of FIUn / ssd-local / sequential's roots on model i (loaded): I_D (cache or
 * computed), MFIM over the roots' Fishers (pl->rf[..].F must be present for R(m)), dampening, the
 * new version's object (hashed only on dry runs) and, with a sweep, the sweep rows in out.
 * pl->res[i].seconds gets its time. Thread-safe across models. */
ul_status ul_forget_node_run(ul_forget_plan *pl, size_t i, ul_forget_result *out);
/* Forget and retained accuracy of model i after (thread-safe across models). */
void ul_forget_node_after(ul_forget_plan *pl, size_t i);

/* Build the receipt from pl->res and, unless dry, commit every new version with it in one
 * transaction (the handle must be a writer). threads: recorded in the receipt's parameters; ranks
 * (> 0): recorded too. On success out gets the nodes (moved from the plan), receipt and request id;
 * out's timings must be filled in by the caller (total_seconds is set here). */
ul_status ul_forget_plan_commit(ul_forget_plan *pl, int threads, int ranks, ul_forget_result *out);

#endif
