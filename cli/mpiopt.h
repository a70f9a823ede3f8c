/* cli/mpiopt.h: the --mpi option of `unlearn forget` and `unlearn net build` (docs/scaling.md). In a
 * build without MPI (UL_HAVE_MPI undefined) --mpi is a usage error (exit 2) naming how to get one;
 * with MPI these start MPI around the call and pick the threads per rank. Only rank 0 prints.
 */
#ifndef UNLEARN_CLI_MPIOPT_H
#define UNLEARN_CLI_MPIOPT_H

#include "unlearn/forget.h"
#include "unlearn/net.h"

/* 0 when this build has MPI; else prints the error and a hint and returns CLI_EXIT_USAGE. */
int cli_mpi_check(const char *cmd);
/* Start MPI (a process not started by mpirun is a job of one rank) and set the threads of this rank:
 * `threads` when > 0, else the cores of its machine divided by the job's ranks there. Returns 0 or an
 * exit status after printing the error. */
int cli_mpi_start(const char *cmd, long threads, int *rank, int *size);
void cli_mpi_stop(void);
/* ul_dist_forget / ul_dist_build (UL_E_UNSUPPORTED without MPI; never reached after cli_mpi_check). */
ul_status cli_mpi_forget(const char *dir, const ul_forget_params *p, ul_forget_result *out);
ul_status cli_mpi_build(const char *dir, const ul_build_params *p);

#endif
