/* cli/exitcodes.h: the exit statuses of the `unlearn` command and the mapping from library
 * statuses to them. Documented in docs/cli.md and `unlearn --help`; scripts may rely on them,
 * so the numbers never change meaning.
 */
#ifndef UNLEARN_CLI_EXITCODES_H
#define UNLEARN_CLI_EXITCODES_H

#include "unlearn/base.h"

enum {
    CLI_EXIT_OK = 0,       /* success (also: --help, --version) */
    CLI_EXIT_USAGE = 2,    /* unknown option, missing or invalid value, bad option combination */
    CLI_EXIT_INPUT = 3,    /* bad input: a data or model file is missing, unreadable or malformed,
                              or an output file cannot be written */
    CLI_EXIT_INTERNAL = 4, /* out of memory, unsupported request, or a bug */
    CLI_EXIT_NUMERIC = 5,  /* training diverged (NaN/Inf loss, gradient or parameter) */
    CLI_EXIT_BUSY = 6,     /* a network is busy (another process is writing it) or changed while a
                              request ran; nothing was changed: retry */
    CLI_EXIT_DRIFT = 7     /* `unlearn run`: the run completed but an expected metric of the recipe
                              is outside its tolerance (results were still written) */
};

/* Where a failing library call came from; decides what UL_E_ARG, UL_E_SHAPE and UL_E_NUMERIC
 * mean for the user. */
typedef enum cli_origin {
    CLI_FROM_INPUT = 0, /* reading/validating data or model files: ARG, SHAPE, NUMERIC, UNSUPPORTED -> 3 */
    CLI_FROM_OPTION,    /* interpreting an option value (label set, arch spec): ARG, SHAPE -> 2 */
    CLI_FROM_TRAIN,     /* ul_train: NUMERIC -> 5, ARG (data content) -> 3 */
    CLI_FROM_OUTPUT     /* writing results: IO -> 3 */
} cli_origin;

/* The exit status for a failed library call. */
static inline int cli_exit_code(ul_status st, cli_origin o) {
    switch (st) {
    case UL_OK: return CLI_EXIT_OK;
    case UL_E_NOMEM:
    case UL_E_INTERNAL: return CLI_EXIT_INTERNAL;
    /* a file that uses a feature this build does not read (NPY big-endian or Fortran order, a
     * newer checkpoint or registry format) is bad input, not a failure of ours */
    case UL_E_UNSUPPORTED: return o == CLI_FROM_INPUT ? CLI_EXIT_INPUT : CLI_EXIT_INTERNAL;
    case UL_E_ARG:
    case UL_E_SHAPE: return o == CLI_FROM_OPTION ? CLI_EXIT_USAGE : CLI_EXIT_INPUT;
    case UL_E_NUMERIC: return o == CLI_FROM_TRAIN ? CLI_EXIT_NUMERIC : CLI_EXIT_INPUT;
    case UL_E_IO:
    case UL_E_FORMAT:
    case UL_E_NOTFOUND: return CLI_EXIT_INPUT;
    case UL_E_BUSY: return CLI_EXIT_BUSY;
    default: return CLI_EXIT_INTERNAL;
    }
}

#endif
