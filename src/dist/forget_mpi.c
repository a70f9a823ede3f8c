/* ul_dist_forget (unlearn/dist.h): an unlearning request spread over MPI ranks, driving the phases
 * of src/net/forget.c (forget_internal.h) for each rank's share of the affected models. Rank 0
 * plans and commits; the plan travels as bytes, so the other ranks never open the registry; each
 * root's forget Fisher is computed once, by the rank that owns the root, and broadcast. Every model
 * is computed exactly as ul_forget computes it, so the checkpoints do not depend on the rank count.
 * Deliberately not distributed: the re-deriving baselines (retrain, sequential, finetune), which
 * train in creation order, ga-transfer, and dry-run sweeps.
 */
#include "dist/dist_internal.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net/forget_internal.h"

/* Test samples per class of the plan's test split. */
static size_t *test_counts(const ul_forget_plan *pl) {
    size_t *c = calloc((size_t)(pl->K > 0 ? pl->K : 1), sizeof *c);
    if (!c) return NULL;
    const int32_t *lab = ul_dataset_labels(pl->test);
    for (size_t k = 0; k < ul_dataset_size(pl->test); k++)
        if (lab[k] >= 0 && lab[k] < pl->K) c[lab[k]]++;
    return c;
}

/* A model's own sample count from its recipe ("samples"), 0 when unknown. */
static double recipe_samples(const ul_node *nd) {
    cJSON *j = cJSON_Parse(nd->recipe);
    const cJSON *s = j ? cJSON_GetObjectItemCaseSensitive(j, "samples") : NULL;
    const double n = cJSON_IsNumber(s) && s->valuedouble > 0 ? s->valuedouble : 0.0;
    cJSON_Delete(j);
    return n;
}

/* The relative cost of model i, in sample passes (a forward pass of one sample ~ P operations):
 * evaluation before and after on the test samples of the labels it knows (or the forget samples),
 * a few passes over P for dampening, hashing and writing, and a pass over its own data wherever a
 * Fisher must be computed (I_D without a matching cache, local or root forget Fishers off the
 * per-class route; x3 for the all scope, which needs backward passes). A heuristic for balancing
 * only: results never depend on it. */
static double node_cost(const ul_forget_plan *pl, size_t i, const size_t *tc) {
    const ul_forget_params *p = pl->p;
    const ul_node *nd = &pl->nodes[i];
    double c = 4.0;
    for (int pass = 0; pass < 2; pass++) {
        int32_t *lab = NULL;
        size_t n = 0;
        const char *s = pass ? nd->inherited : nd->learned;
        if (s[0] && ul_parse_label_set(s, pl->K, &lab, &n) == UL_OK)
            for (size_t k = 0; k < n; k++) c += 2.0 * (double)(tc ? tc[lab[k]] : 0);
        free(lab);
    }
    if (pl->fsv) c += 2.0 * (double)pl->fsv->n;
    const double own = recipe_samples(nd), sf = p->fisher.scope == UL_FISHER_ALL ? 3.0 : 1.0;
    if (!pl->class_route) {
        const bool default_fisher = p->fisher.estimator == UL_FISHER_SAMPLE && p->fisher.scope == UL_FISHER_LAST;
        if (!nd->fisher[0] || !default_fisher) c += own * sf;
        bool root = false;
        for (size_t r = 0; r < pl->roots.n; r++) root |= strcmp(pl->roots.names[r], nd->name) == 0;
        if (root || p->method == UL_FORGET_SSD_LOCAL || p->local_fisher != UL_LOCAL_OFF) c += own * sf;
    } else if (!nd->fisher[0]) {
        c += own; /* per-class sums recomputed: one forward pass */
    }
    return c;
}

/* The first failure of an OpenMP loop over models, as ul_forget reports it. */
typedef struct par_fail {
    ul_status st;
    char msg[1024];
} par_fail;

static void par_record(par_fail *f, ul_status s, const char *name) {
#pragma omp critical(ul_dist_forget_err)
    if (f->st == UL_OK) {
        f->st = s;
        snprintf(f->msg, sizeof f->msg, "model '%s': %s", name, ul_last_error());
    }
}

static ul_status par_status(const par_fail *f) {
    return f->st == UL_OK ? UL_OK : ul_fail(f->st, "forget: %s (nothing committed)", f->msg);
}

/* UL_MPI_TRACE=1: each rank prints the wall time of its phases to stderr at the end (benchmarks). */
enum { PH_PLAN, PH_ROOTS, PH_BEFORE, PH_RUN, PH_AFTER, PH_COMMIT, PH_COUNT };
static void trace(int rank, size_t nmine, const double *t) {
    const char *e = getenv("UL_MPI_TRACE");
    if (!e || !*e || *e == '0') return;
    static const char *const names[PH_COUNT] = {"plan", "roots", "before", "run", "after", "gather+commit"};
    char line[512];
    int k = snprintf(line, sizeof line, "ul_dist_forget: rank %d, %zu models:", rank, nmine);
    for (int i = 0; i < PH_COUNT && k > 0 && (size_t)k < sizeof line; i++)
        k += snprintf(line + k, sizeof line - (size_t)k, " %s %.3f s%s", names[i], t[i + 1] - t[i],
                      i + 1 < PH_COUNT ? "," : "");
    fprintf(stderr, "%s\n", line);
}

static int die_rank(void) {
    const char *e = getenv("UL_MPI_TEST_DIE_RANK");
    return e && *e ? atoi(e) : -1;
}

ul_status ul_dist_forget(const char *dir, const ul_forget_params *p, ul_forget_result *out) {
    memset(out, 0, sizeof *out);
    out->fault = UL_FORGET_FAULT_REQUEST;
    /* the same checks on every rank, before any communication */
    if (p->method != UL_FORGET_FIUN && p->method != UL_FORGET_SSD_LOCAL)
        return ul_fail(UL_E_ARG, "forget --mpi: method '%s' runs in one process (fiun and ssd-local are distributed)",
                       ul_forget_method_name(p->method));
    if (p->nsweep) return ul_fail(UL_E_ARG, "forget --mpi: a sweep runs in one process (drop --mpi or --sweep)");
    const int rank = ul_dist_rank(), size = ul_dist_size();
    int fault = UL_FORGET_FAULT_NETWORK;
    ul_forget_plan pl;
    memset(&pl, 0, sizeof pl);
    void *buf = NULL;
    size_t len = 0;
    int *owner = NULL;
    size_t *mine = NULL, nmine = 0;
    ul_forget_node *rows = NULL;
    int *counts = NULL, *displs = NULL;
    double tp[PH_COUNT + 1] = {0};
    tp[0] = ul_now();

    /* 1. rank 0 plans the request; the other ranks receive the plan */
    ul_status st = UL_OK;
    if (rank == 0) {
        st = ul_forget_plan_open(dir, p, &pl, out);
        fault = (int)out->fault;
        if (st == UL_OK) st = ul_forget_plan_pack(&pl, &buf, &len);
    }
    if ((st = ul_dist_agree(st, &fault)) != UL_OK) goto done;
    if ((st = ul_dist_bcast_buffer(&buf, &len)) != UL_OK) goto done;
    if (rank != 0) st = ul_forget_plan_unpack(dir, p, buf, len, &pl);
    free(buf);
    buf = NULL;
    fault = UL_FORGET_FAULT_NETWORK;
    if ((st = ul_dist_agree(st, &fault)) != UL_OK) goto done;
    const size_t n = pl.closure.n;

    /* 2. the partition, by cost, computed on rank 0 and sent to all */
    owner = calloc(n, sizeof *owner);
    mine = calloc(n, sizeof *mine);
    if (!owner || !mine) st = UL_E_NOMEM;
    if (st == UL_OK && rank == 0) {
        double *cost = calloc(n, sizeof *cost);
        size_t *tc = test_counts(&pl);
        if (!cost) st = UL_E_NOMEM;
        for (size_t i = 0; i < n && cost; i++) cost[i] = node_cost(&pl, i, tc);
        if (cost) ul_dist_partition(cost, n, size, owner, NULL);
        free(cost);
        free(tc);
    }
    if ((st = ul_dist_agree(st, NULL)) != UL_OK) goto done;
    MPI_Bcast(owner, (int)n, MPI_INT, 0, MPI_COMM_WORLD);
    for (size_t i = 0; i < n; i++)
        if (owner[i] == rank) mine[nmine++] = i;
    const int threads = p->threads > 0 ? p->threads : ul_get_threads();
    tp[PH_PLAN + 1] = ul_now();

    /* 3. the roots' forget Fishers, each at the rank that owns the root, then broadcast */
    const double t0 = ul_now();
    if (ul_forget_uses_roots(p)) {
        for (size_t r = 0; r < pl.roots.n && st == UL_OK; r++) {
            const long ri = ul_forget_root_index(&pl, r);
            if (ri < 0) st = ul_fail(UL_E_INTERNAL, "forget: root '%s' is not in the closure", pl.roots.names[r]);
            else if (owner[ri] == rank) st = ul_forget_root_fisher(&pl, r);
        }
        if ((st = ul_dist_agree(st, NULL)) != UL_OK) goto done;
        uint64_t P = pl.P, Pall = 0;
        MPI_Allreduce(&P, &Pall, 1, MPI_UINT64_T, MPI_MAX, MPI_COMM_WORLD);
        pl.P = (size_t)Pall;
        for (size_t r = 0; r < pl.roots.n && st == UL_OK; r++)
            if (!pl.rf[r].F && !(pl.rf[r].F = ul_malloc(pl.P ? pl.P : 1, sizeof(float)))) st = UL_E_NOMEM;
        if ((st = ul_dist_agree(st, NULL)) != UL_OK) goto done;
        for (size_t r = 0; r < pl.roots.n; r++)
            ul_dist_bcast_floats(pl.rf[r].F, pl.P, owner[ul_forget_root_index(&pl, r)]);
    }
    out->roots_seconds = ul_now() - t0;
    tp[PH_ROOTS + 1] = ul_now();

    /* 4. this rank's models: load and evaluate before */
    par_fail pf = {UL_OK, ""};
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long k = 0; k < (long)nmine; k++) {
        ul_status s = ul_forget_node_before(&pl, mine[k]);
        if (s != UL_OK) par_record(&pf, s, pl.nodes[mine[k]].name);
    }
    if ((st = ul_dist_agree(par_status(&pf), NULL)) != UL_OK) goto done;
    tp[PH_BEFORE + 1] = ul_now();

    /* 5. the timed phase: I_D, MFIM, dampening, the new versions' objects; it ends when the last
     * rank is done (the agreement waits for every rank) */
    MPI_Barrier(MPI_COMM_WORLD);
    const double t1 = ul_now();
    const int die = die_rank() == rank ? (int)((nmine + 1) / 2) : -1;
    int written = 0;
    fault = UL_FORGET_FAULT_NETWORK;
    out->fault = UL_FORGET_FAULT_NETWORK;
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long k = 0; k < (long)nmine; k++) {
        const size_t i = mine[k];
        if (!ul_forget_node_dampened(&pl, i)) continue;
        ul_status s = ul_forget_node_run(&pl, i, out);
        if (s != UL_OK) par_record(&pf, s, pl.nodes[i].name);
        if (die > 0) {
            int w;
#pragma omp atomic capture
            w = ++written;
            if (w >= die) _exit(70); /* test hook: a rank lost mid-request */
        }
    }
    fault = (int)out->fault;
    if ((st = ul_dist_agree(par_status(&pf), &fault)) != UL_OK) goto done;
    out->makespan_seconds = ul_now() - t1;
    tp[PH_RUN + 1] = ul_now();

    /* 6. evaluate after */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long k = 0; k < (long)nmine; k++) ul_forget_node_after(&pl, mine[k]);
    tp[PH_AFTER + 1] = ul_now();

    /* 7. every model's results to rank 0 */
    rows = malloc((nmine ? nmine : 1) * sizeof *rows);
    counts = calloc((size_t)size, sizeof *counts);
    displs = calloc((size_t)size, sizeof *displs);
    if (!rows || !counts || !displs) st = UL_E_NOMEM;
    if ((st = ul_dist_agree(st, NULL)) != UL_OK) goto done;
    for (size_t k = 0; k < nmine; k++) rows[k] = pl.res[mine[k]];
    ul_forget_node *all = NULL;
    if (rank == 0) {
        size_t at = 0;
        for (int r = 0; r < size; r++) {
            size_t c = 0;
            for (size_t i = 0; i < n; i++) c += owner[i] == r;
            counts[r] = (int)(c * sizeof(ul_forget_node));
            displs[r] = (int)(at * sizeof(ul_forget_node));
            at += c;
        }
        all = malloc(n * sizeof *all);
    }
    /* rank 0's buffer is needed before the gather: a failed allocation is agreed first */
    if ((st = ul_dist_agree(rank == 0 && !all ? UL_E_NOMEM : UL_OK, NULL)) != UL_OK) goto done;
    MPI_Gatherv(rows, (int)(nmine * sizeof(ul_forget_node)), MPI_BYTE, all, counts, displs, MPI_BYTE, 0,
                MPI_COMM_WORLD);
    if (rank == 0) {
        size_t *next = calloc((size_t)size, sizeof *next);
        if (!next) {
            st = UL_E_NOMEM;
        } else {
            for (size_t i = 0; i < n; i++) {
                const int r = owner[i];
                pl.res[i] = all[(size_t)displs[r] / sizeof(ul_forget_node) + next[r]++];
            }
            for (size_t i = 0; i < n; i++) out->sum_seconds += pl.res[i].seconds;
        }
        free(next);
        free(all);
        /* 8. the one transaction, only now that every rank has succeeded */
        if (st == UL_OK) st = ul_forget_plan_commit(&pl, threads, size, out);
        fault = (int)out->fault;
    }
    st = ul_dist_agree(st, &fault);
    tp[PH_COMMIT + 1] = ul_now();
    trace(rank, nmine, tp);

done:
    if (st != UL_OK) {
        ul_forget_result_free(out);
        out->fault = (ul_forget_fault)fault;
    }
    free(buf);
    free(owner);
    free(mine);
    free(rows);
    free(counts);
    free(displs);
    ul_forget_plan_free(&pl);
    return st;
}
