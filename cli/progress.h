/* cli/progress.h: training progress on stderr, driven by ul_train's progress callback.
 *
 * On a terminal: one line redrawn in place (at most 10 times a second) and kept at each epoch's end:
 *   epoch 1/2 [#####.....] 120/469 loss 0.4321 acc 84.2% 2345 samples/s ETA 0:42
 * Otherwise (a pipe or file): one plain line per finished epoch. With quiet: nothing, but the
 * last report is still recorded for the caller's summary.
 */
#ifndef UNLEARN_CLI_PROGRESS_H
#define UNLEARN_CLI_PROGRESS_H

#include <stdbool.h>
#include <stdio.h>

#include "unlearn/train.h"

typedef struct cli_progress {
    FILE *f;                 /* stderr */
    bool tty;                /* redraw a single line */
    bool quiet;              /* print nothing */
    bool mid_line;           /* a redrawn line is on screen without its newline */
    double last_draw;        /* ul_now() of the last redraw */
    bool have_last;
    ul_train_progress last;  /* the most recent report */
} cli_progress;

/* Set up for stderr; tty is isatty(2). */
void cli_progress_init(cli_progress *p, bool quiet);
/* The ul_train_cb; user is a cli_progress *. */
void cli_progress_cb(const ul_train_progress *tp, void *user);
/* End a half-drawn line (call before printing anything else to stderr, e.g. an error). */
void cli_progress_finish(cli_progress *p);

#endif
