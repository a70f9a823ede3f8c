/* ul_dist_build (unlearn/dist.h): `net build` spread over MPI ranks, driving the steps of
 * src/net/build.c (build_internal.h). In waves: the models not yet made whose parents are all
 * registered are partitioned over the ranks by cost; each rank trains its models and writes their
 * objects; rank 0 registers the made models in creation order (so ids, rows and checkpoints - whose
 * recipes name the parents' version ids - equal the single-process build's) and sends the new rows
 * to the other ranks, which never open the registry. Deliberately no pipelining across waves: a
 * wave waits for its slowest model.
 */
#include "dist/dist_internal.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/build_internal.h"

/* One made model on the wire. */
typedef struct made_item {
    int32_t i, kept;
    double seconds;
    ul_node node;
} made_item;

/* Rank 0's rows [from, to) of its table to every rank's row table (collective; agreed status). */
static ul_status share_rows(ul_build_run *r, ul_node *rows, size_t from, size_t to) {
    void *buf = ul_dist_rank() == 0 && to > from ? (void *)(rows + from) : NULL;
    size_t len = ul_dist_rank() == 0 ? (to - from) * sizeof(ul_node) : 0;
    ul_status st = ul_dist_bcast_buffer(&buf, &len);
    if (st != UL_OK) return st;
    if (ul_dist_rank() != 0) {
        st = ul_build_run_set_rows(r, buf, len / sizeof(ul_node));
        free(buf);
    }
    return ul_dist_agree(st, NULL);
}

ul_status ul_dist_build(const char *dir, const ul_build_params *p0) {
    const int rank = ul_dist_rank(), size = ul_dist_size();
    if (!dir || !p0) return ul_fail(UL_E_ARG, "ul_net_build: directory, scenario, data and arch are required");
    ul_build_params p = *p0;
    p.progress = NULL;
    if (rank != 0) p.node_done = NULL;
    ul_build_run *r = NULL;
    ul_status st = ul_dist_agree(ul_build_run_new(&p, &r), NULL);
    if (st != UL_OK) {
        ul_build_run_free(r);
        return st;
    }
    st = rank == 0 ? ul_build_run_attach(r, dir, size) : UL_OK;
    if ((st = ul_dist_agree(st, NULL)) == UL_OK && rank != 0) st = ul_build_run_attach_store(r, dir);
    st = ul_dist_agree(st, NULL);
    const int n = ul_build_run_count(r);
    ul_node *rows = NULL;  /* rank 0: made rows, by model index, until registered */
    bool *kept = NULL;     /* rank 0: ... found present with the same recipe */
    double *secs = NULL;   /* rank 0: ... and the time it took to make them */
    const size_t cap = (size_t)(n > 0 ? n : 1);
    bool *made = calloc(cap, sizeof *made);
    int *ready = malloc(cap * sizeof *ready), *owner = malloc(cap * sizeof *owner);
    double *cost = malloc(cap * sizeof *cost);
    made_item *mine = malloc(cap * sizeof *mine), *got = NULL;
    int *counts = calloc((size_t)size, sizeof *counts), *displs = calloc((size_t)size, sizeof *displs);
    if (st == UL_OK) { /* st is agreed: every rank takes this branch, and agrees on the allocations */
        ul_status ls = UL_OK;
        if (!made || !ready || !owner || !cost || !mine || !counts || !displs) ls = UL_E_NOMEM;
        if (ls == UL_OK && rank == 0) {
            rows = calloc(cap, sizeof *rows);
            kept = calloc(cap, sizeof *kept);
            secs = calloc(cap, sizeof *secs);
            if (!rows || !kept || !secs) ls = UL_E_NOMEM;
        }
        st = ul_dist_agree(ls, NULL);
    }

    /* the models already there (a resumed build), for the helpers' checks and parents */
    if (st == UL_OK) {
        ul_node *have = NULL;
        size_t nhave = 0;
        if (rank == 0) st = ul_net_list(ul_build_run_net(r), &have, &nhave);
        if ((st = ul_dist_agree(st, NULL)) == UL_OK) st = share_rows(r, have, 0, nhave);
        free(have);
    }

    int next = 0; /* models [0, next) are registered */
    while (st == UL_OK && next < n) {
        /* the wave: models not made whose parents are registered */
        int nready = 0;
        for (int i = next; i < n; i++) {
            int par[UL_NET_MAX_PARENTS];
            const int np = ul_build_run_parents(r, i, par);
            bool ok = !made[i];
            for (int k = 0; k < np && ok; k++) ok = par[k] < next;
            if (ok) ready[nready++] = i;
        }
        if (rank == 0) {
            for (int k = 0; k < nready; k++) cost[k] = ul_build_run_cost(r, ready[k]);
            ul_dist_partition(cost, (size_t)nready, size, owner, NULL);
        }
        MPI_Bcast(owner, nready, MPI_INT, 0, MPI_COMM_WORLD);

        /* make this rank's share; stop at its first failure */
        int nmine = 0;
        ul_status ms = UL_OK;
        for (int k = 0; k < nready && ms == UL_OK; k++) {
            if (owner[k] != rank) continue;
            made_item *it = &mine[nmine];
            bool was_there = false;
            memset(it, 0, sizeof *it);
            it->i = ready[k];
            if ((ms = ul_build_run_make(r, ready[k], &it->node, &was_there, &it->seconds)) == UL_OK) {
                it->kept = was_there;
                nmine++;
            }
        }

        /* the made models to rank 0, which registers the creation-order prefix */
        ul_dist_quiet_barrier(); /* ranks done early sleep while the others train */
        int bytes = nmine * (int)sizeof(made_item);
        MPI_Gather(&bytes, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
        ul_status rs = UL_OK;
        int total = 0;
        if (rank == 0) {
            for (int q = 0; q < size; q++) {
                displs[q] = total;
                total += counts[q];
            }
            got = malloc(total > 0 ? (size_t)total : 1);
            if (!got) rs = UL_E_NOMEM;
        }
        if ((rs = ul_dist_agree(rs, NULL)) != UL_OK) {
            st = rs;
            break;
        }
        MPI_Gatherv(mine, bytes, MPI_BYTE, got, counts, displs, MPI_BYTE, 0, MPI_COMM_WORLD);
        const int from = next;
        bool *wave_made = calloc(cap, sizeof *wave_made);
        if (!wave_made) rs = UL_E_NOMEM;
        if (rank == 0 && wave_made) {
            for (int k = 0; k < total / (int)sizeof(made_item); k++) {
                const made_item *it = &got[k];
                rows[it->i] = it->node;
                kept[it->i] = it->kept != 0;
                secs[it->i] = it->seconds;
                wave_made[it->i] = true;
            }
            for (int i = next; i < n && rs == UL_OK && (made[i] || wave_made[i]); i++)
                if ((rs = ul_build_run_add(r, &rows[i], kept[i], secs[i])) == UL_OK) next = i + 1;
        }
        free(got);
        got = NULL;
        free(wave_made);
        /* a failure anywhere in the wave (making on any rank, registering on rank 0) ends the build;
         * what rank 0 registered is a creation-order prefix (at most the models before the failing
         * one), as a failed single-process build leaves it, so re-running resumes */
        st = ul_dist_agree(ms != UL_OK ? ms : rs, NULL);
        MPI_Bcast(&next, 1, MPI_INT, 0, MPI_COMM_WORLD);
        if (st != UL_OK) break;
        for (int k = 0; k < nready; k++) made[ready[k]] = true;
        st = share_rows(r, rows, (size_t)from, (size_t)next);
    }
    if (rank == 0) ul_build_run_end(r, st);
    free(rows);
    free(kept);
    free(secs);
    free(made);
    free(ready);
    free(owner);
    free(cost);
    free(mine);
    free(counts);
    free(displs);
    ul_build_run_free(r);
    return st;
}
