/* Internal to src/dist: the MPI plumbing shared by the distributed request and build: status
 * agreement (every rank learns the first failure and its message), chunked broadcasts of large
 * buffers and a deterministic cost-based partition. Only compiled with -DUL_MPI=ON.
 */
#ifndef UL_DIST_INTERNAL_H
#define UL_DIST_INTERNAL_H

#include <mpi.h>
#include <stddef.h>

#include "unlearn/dist.h"

/* Collective: every rank passes its status; every rank gets the status of the lowest failing rank
 * (UL_OK when none), that rank's message as its last error (prefixed "rank R: " when R > 0) and,
 * when extra is not NULL, that rank's *extra. Ranks that arrive early sleep (polling with backoff up
 * to 1 ms) instead of spinning in MPI, so they leave the cores to the ranks still working. */
ul_status ul_dist_agree(ul_status st, int *extra);
/* A barrier whose waiting ranks sleep (MPI_Ibarrier polled with backoff up to 1 ms). */
void ul_dist_quiet_barrier(void);
/* MPI_Bcast of len bytes / n floats from root, in chunks below 2^30 elements. */
void ul_dist_bcast_bytes(void *buf, size_t len, int root);
void ul_dist_bcast_floats(float *buf, size_t n, int root);
/* Rank 0's buffer to every rank: *buf (malloc'd on the other ranks, NULL when len is 0), *len.
 * UL_E_NOMEM agreed when a rank cannot allocate it. */
ul_status ul_dist_bcast_buffer(void **buf, size_t *len);
/* Longest processing time first: items in decreasing cost (ties: lower index first) onto the rank
 * with the least load so far (ties: lower rank). owner[i] gets the rank of item i; *max_load the
 * largest load. Pure function of its inputs. */
void ul_dist_partition(const double *cost, size_t n, int ranks, int *owner, double *max_load);

#endif
