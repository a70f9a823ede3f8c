/* unlearn/dist.h: FIUn requests and scenario builds spread over the ranks of an MPI job
 * (docs/scaling.md). Only builds configured with -DUL_MPI=ON (`make mpi`) have these functions;
 * they define UL_HAVE_MPI, and this header declares nothing without it.
 *
 * Every function here is collective over MPI_COMM_WORLD: every rank calls it with the same
 * arguments and gets the same status; a failure on any rank (its message prefixed "rank R: ")
 * fails the call everywhere. Results are bit-identical to the single-process ul_forget / ul_net_build
 * for any number of ranks: each model's work does not depend on the rank or thread that runs it.
 * Only rank 0 opens the registry; the other ranks read and write the object store alone (see
 * ul_net_open_store), so the network directory must be shared by every rank (one machine, or a
 * shared file system).
 *
 * Ownership: as ul_forget and ul_net_build; on ranks other than 0 the forget result holds no nodes
 * and no receipt (only timings and the fault).
 */
#ifndef UNLEARN_DIST_H
#define UNLEARN_DIST_H

#include "unlearn/base.h"
#include "unlearn/forget.h"
#include "unlearn/net.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifdef UL_HAVE_MPI

/* Initialise MPI (MPI_THREAD_FUNNELED: OpenMP threads inside a rank, MPI calls from its main thread)
 * unless already initialised; a process started without mpirun is a job of one rank. */
ul_status ul_dist_init(void);
/* Finalise MPI if ul_dist_init initialised it, after every rank has arrived here (collective). */
void ul_dist_finalize(void);
int ul_dist_rank(void);
int ul_dist_size(void);
/* Threads per rank when none are asked for: the cores this rank may use divided by the ranks of the
 * job on its machine (at least 1). */
int ul_dist_default_threads(void);

/* ul_forget over the ranks: rank 0 opens the network and plans the request (roots, closure, R(m))
 * and sends the plan to every rank; the affected models are partitioned over the ranks by cost
 * (longest first onto the least loaded rank); each root's forget Fisher is computed by the rank that
 * owns the root and broadcast to all; each rank loads, dampens and writes its models' new
 * versions (OpenMP over its models, p->threads each) and evaluates them; rank 0 gathers the
 * per-model results and commits the one transaction with the receipt (parameters add "ranks") only
 * when every rank succeeded. A rank that dies makes the job abort before anything is committed.
 * Methods fiun and ssd-local; no sweep (UL_E_ARG otherwise, fault UL_FORGET_FAULT_REQUEST).
 * Test hook: with env UL_MPI_TEST_DIE_RANK=R, rank R calls _exit(70) after writing half of its
 * models (at least one). */
ul_status ul_dist_forget(const char *dir, const ul_forget_params *p, ul_forget_result *out);

/* ul_net_build over the ranks: in waves, the models whose parents are registered are trained on
 * the ranks (by cost), each rank writing its checkpoints and Fisher caches; rank 0 registers the
 * made models in creation order and sends the new registry rows to every rank. Objects and rows
 * equal a single-process build's (the log's start event adds "ranks"). p->progress is not
 * called; p->node_done is called on rank 0 only, in creation order. */
ul_status ul_dist_build(const char *dir, const ul_build_params *p);

#endif /* UL_HAVE_MPI */

#ifdef __cplusplus
}
#endif
#endif
