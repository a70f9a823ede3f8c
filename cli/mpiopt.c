/* cli/mpiopt.c: the --mpi plumbing of the CLI (cli/mpiopt.h). Compiled in every build: without
 * UL_HAVE_MPI it only refuses the option; with it, a thin layer over unlearn/dist.h.
 */
#include "mpiopt.h"

#include "unlearn/base.h"

#include "common.h"
#include "exitcodes.h"

#ifdef UL_HAVE_MPI
#include "unlearn/dist.h"

int cli_mpi_check(const char *cmd) {
    (void)cmd;
    return 0;
}

int cli_mpi_start(const char *cmd, long threads, int *rank, int *size) {
    ul_status st = ul_dist_init();
    if (st != UL_OK) return cli_fail(cmd, st, CLI_FROM_INPUT, NULL);
    *rank = ul_dist_rank();
    *size = ul_dist_size();
    ul_set_threads(threads > 0 ? (int)threads : ul_dist_default_threads());
    return 0;
}

void cli_mpi_stop(void) { ul_dist_finalize(); }

ul_status cli_mpi_forget(const char *dir, const ul_forget_params *p, ul_forget_result *out) {
    return ul_dist_forget(dir, p, out);
}

ul_status cli_mpi_build(const char *dir, const ul_build_params *p) { return ul_dist_build(dir, p); }

#else

int cli_mpi_check(const char *cmd) {
    cli_err(cmd, "--mpi: this build of unlearn has no MPI support");
    cli_hint("build one with `make mpi` (Debian's OpenMPI; CMake option -DUL_MPI=ON), then run it under mpirun");
    return CLI_EXIT_USAGE;
}

int cli_mpi_start(const char *cmd, long threads, int *rank, int *size) {
    (void)threads;
    *rank = 0;
    *size = 1;
    return cli_mpi_check(cmd);
}

void cli_mpi_stop(void) {}

ul_status cli_mpi_forget(const char *dir, const ul_forget_params *p, ul_forget_result *out) {
    (void)dir;
    (void)p;
    (void)out;
    return ul_fail(UL_E_UNSUPPORTED, "this build has no MPI support");
}

ul_status cli_mpi_build(const char *dir, const ul_build_params *p) {
    (void)dir;
    (void)p;
    return ul_fail(UL_E_UNSUPPORTED, "this build has no MPI support");
}

#endif
