/* MPI plumbing of the distributed request and build (dist_internal.h): initialisation with
 * MPI_THREAD_FUNNELED, the status agreement that keeps every rank on the same path (and makes
 * rank 0 commit only when all succeeded), chunked broadcasts, the LPT partition. MPI_COMM_WORLD
 * only; no home-made transport, no fault tolerance beyond MPI's own (a dead rank aborts the job).
 */
#include "dist/dist_internal.h"

#include <omp.h>
#include <stdint.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int g_inited_here;

ul_status ul_dist_init(void) {
    int flag = 0;
    MPI_Initialized(&flag);
    if (flag) return UL_OK;
    int provided = 0;
    if (MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS)
        return ul_fail(UL_E_INTERNAL, "MPI could not be initialised");
    g_inited_here = 1;
    if (provided < MPI_THREAD_FUNNELED)
        ul_log(UL_LOG_WARN, "MPI provides thread level %d, below MPI_THREAD_FUNNELED; OpenMP threads make no MPI calls",
               provided);
    return UL_OK;
}

void ul_dist_finalize(void) {
    int fin = 0;
    MPI_Finalized(&fin);
    if (g_inited_here && !fin) {
        ul_dist_quiet_barrier(); /* ranks done early sleep until the last one arrives */
        MPI_Finalize();
    }
    g_inited_here = 0;
}

int ul_dist_rank(void) {
    int r = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int ul_dist_size(void) {
    int n = 1;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

int ul_dist_default_threads(void) {
    MPI_Comm local;
    int nlocal = 1;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local) == MPI_SUCCESS) {
        MPI_Comm_size(local, &nlocal);
        MPI_Comm_free(&local);
    }
    const int t = omp_get_num_procs() / (nlocal > 0 ? nlocal : 1);
    return t > 0 ? t : 1;
}

/* MPI's blocking collectives poll at full speed, so a rank waiting for rank 0's planning or for a
 * slower rank would take a core from the ranks still working (ranks oversubscribe cores, or share
 * them with OpenMP threads): waiting ranks sleep here instead. */
void ul_dist_quiet_barrier(void) {
    MPI_Request rq;
    int done = 0;
    MPI_Ibarrier(MPI_COMM_WORLD, &rq);
    MPI_Test(&rq, &done, MPI_STATUS_IGNORE);
    long ns = 2000;
    while (!done) {
        struct timespec ts = {0, ns};
        nanosleep(&ts, NULL);
        if (ns < 1000000) ns *= 2;
        MPI_Test(&rq, &done, MPI_STATUS_IGNORE);
    }
}

typedef struct agree_msg {
    int32_t st, extra;
    char msg[1024];
} agree_msg;

ul_status ul_dist_agree(ul_status st, int *extra) {
    const int rank = ul_dist_rank(), size = ul_dist_size();
    ul_dist_quiet_barrier(); /* every agreement ends a phase in which ranks may finish at different times */
    int me = st != UL_OK ? rank : size, first = size;
    MPI_Allreduce(&me, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == size) return UL_OK;
    agree_msg m;
    memset(&m, 0, sizeof m);
    if (rank == first) {
        m.st = (int32_t)st;
        m.extra = extra ? *extra : 0;
        snprintf(m.msg, sizeof m.msg, "%s", ul_last_error());
    }
    MPI_Bcast(&m, (int)sizeof m, MPI_BYTE, first, MPI_COMM_WORLD);
    if (extra) *extra = m.extra;
    if (first > 0) return ul_fail((ul_status)m.st, "rank %d: %s", first, m.msg);
    if (rank != first) return ul_fail((ul_status)m.st, "%s", m.msg);
    return (ul_status)m.st;
}

enum { CHUNK = 1 << 30 };

void ul_dist_bcast_bytes(void *buf, size_t len, int root) {
    for (size_t at = 0; at < len; at += CHUNK) {
        const size_t k = len - at < CHUNK ? len - at : CHUNK;
        MPI_Bcast((char *)buf + at, (int)k, MPI_BYTE, root, MPI_COMM_WORLD);
    }
}

void ul_dist_bcast_floats(float *buf, size_t n, int root) {
    for (size_t at = 0; at < n; at += CHUNK) {
        const size_t k = n - at < CHUNK ? n - at : CHUNK;
        MPI_Bcast(buf + at, (int)k, MPI_FLOAT, root, MPI_COMM_WORLD);
    }
}

ul_status ul_dist_bcast_buffer(void **buf, size_t *len) {
    const int rank = ul_dist_rank();
    uint64_t n = rank == 0 ? (uint64_t)*len : 0;
    MPI_Bcast(&n, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD);
    ul_status st = UL_OK;
    if (rank != 0) {
        *len = (size_t)n;
        *buf = n ? malloc((size_t)n) : NULL;
        if (n && !*buf) st = ul_fail(UL_E_NOMEM, "out of memory receiving %llu bytes", (unsigned long long)n);
    }
    if ((st = ul_dist_agree(st, NULL)) != UL_OK) {
        if (rank != 0) {
            free(*buf);
            *buf = NULL;
        }
        return st;
    }
    ul_dist_bcast_bytes(*buf, (size_t)n, 0);
    return UL_OK;
}

typedef struct cost_item {
    double cost;
    size_t i;
} cost_item;

/* decreasing cost, then increasing index: a total order, so the sort is deterministic */
static int cmp_cost(const void *a, const void *b) {
    const cost_item *x = a, *y = b;
    if (x->cost != y->cost) return x->cost < y->cost ? 1 : -1;
    return (x->i > y->i) - (x->i < y->i);
}

void ul_dist_partition(const double *cost, size_t n, int ranks, int *owner, double *max_load) {
    if (ranks < 1) ranks = 1;
    cost_item *order = malloc((n ? n : 1) * sizeof *order);
    double *load = calloc((size_t)ranks, sizeof *load);
    if (max_load) *max_load = 0;
    if (!order || !load) { /* round robin: still a pure function of the inputs */
        for (size_t i = 0; i < n; i++) owner[i] = (int)(i % (size_t)ranks);
        free(order);
        free(load);
        return;
    }
    for (size_t i = 0; i < n; i++) order[i] = (cost_item){cost[i], i};
    qsort(order, n, sizeof *order, cmp_cost);
    for (size_t a = 0; a < n; a++) {
        int best = 0;
        for (int r = 1; r < ranks; r++)
            if (load[r] < load[best]) best = r;
        owner[order[a].i] = best;
        load[best] += order[a].cost;
    }
    if (max_load)
        for (int r = 0; r < ranks; r++)
            if (load[r] > *max_load) *max_load = load[r];
    free(order);
    free(load);
}
