/* Internal to src/net and src/dist: the steps of ul_net_build (build.c), so that a driver can train
 * the models of a scenario in another order or in other processes: make a model (train it, store
 * its checkpoint and Fisher cache) apart from registering it (one ul_net_add). ul_net_build makes
 * and adds each model in creation order; src/dist/build_mpi.c makes the models whose parents are
 * registered on several MPI ranks and registers them in creation order on rank 0, so the objects
 * and the registry equal the single-process build's. Not public API.
 */
#ifndef UL_NET_BUILD_INTERNAL_H
#define UL_NET_BUILD_INTERNAL_H

#include "unlearn/net.h"

typedef struct ul_build_run ul_build_run; /* opaque; ul_build_run_free */

/* Check the parameters, make the scenario's table, load the data, create the architecture and the
 * shared normalisation: everything ul_net_build checks before touching the directory. */
ul_status ul_build_run_new(const ul_build_params *p, ul_build_run **out);
/* The writer: open the network at dir (created when absent; stale temporary files removed) and log
 * the build's "start" event (with "ranks" when ranks > 0). */
ul_status ul_build_run_attach(ul_build_run *r, const char *dir, int ranks);
/* A helper: the object store of dir alone (ul_net_open_store); the registry rows it needs (the
 * parents of what it makes, and what is already there) come from ul_build_run_set_rows. */
ul_status ul_build_run_attach_store(ul_build_run *r, const char *dir);
/* Add or replace (by name) rows of a helper's table (copied). */
ul_status ul_build_run_set_rows(ul_build_run *r, const ul_node *rows, size_t n);
ul_net *ul_build_run_net(ul_build_run *r);

/* Models of the scenario (creation order) and the parent indices of model i (returns their count). */
int ul_build_run_count(const ul_build_run *r);
int ul_build_run_parents(const ul_build_run *r, int i, int parents[UL_NET_MAX_PARENTS]);
/* A relative cost of making model i (epochs x own samples), for scheduling. */
double ul_build_run_cost(ul_build_run *r, int i);

/* Make model i: its parents must be registered (or in a helper's rows). Trains it and stores its
 * objects, filling *node with the row to add; or finds it present with the same recipe (*kept, *node
 * the stored row). Changes no registry row. *seconds: the time it took. */
ul_status ul_build_run_make(ul_build_run *r, int i, ul_node *node, bool *kept, double *seconds);
/* The writer: register a made model (ul_net_add; node gets its id) and report it (node_done). */
ul_status ul_build_run_add(ul_build_run *r, ul_node *node, bool kept, double seconds);
/* The writer: log the "done" or "failed" event (st; the error message is ul_last_error()). */
void ul_build_run_end(ul_build_run *r, ul_status st);
void ul_build_run_free(ul_build_run *r);

#endif
