/* cli/progress.c: the training progress bar / log lines (see progress.h). */
#include "progress.h"

#include <string.h>
#include <unistd.h>

#include "common.h"

#define BAR 20

void cli_progress_init(cli_progress *p, bool quiet) {
    memset(p, 0, sizeof *p);
    p->f = stderr;
    p->quiet = quiet;
    p->tty = isatty(STDERR_FILENO) == 1;
}

static void draw_tty(cli_progress *p, const ul_train_progress *tp) {
    char bar[BAR + 1];
    size_t fill = tp->batches ? (tp->batch * BAR) / tp->batches : 0;
    for (size_t i = 0; i < BAR; i++) bar[i] = i < fill ? '#' : '.';
    bar[BAR] = '\0';
    char t[32];
    const char *tlabel;
    if (tp->epoch_done) {
        tlabel = "time";
        cli_fmt_duration(t, sizeof t, tp->elapsed_s);
    } else {
        /* ETA from the mean time per batch so far over the whole run */
        double done = (double)(tp->epoch - 1) * (double)tp->batches + (double)tp->batch;
        double total = (double)tp->epochs * (double)tp->batches;
        tlabel = "ETA";
        if (done > 0) cli_fmt_duration(t, sizeof t, tp->elapsed_s / done * (total - done));
        else snprintf(t, sizeof t, "?");
    }
    fprintf(p->f, "\repoch %d/%d [%s] %zu/%zu loss %.4f acc %.1f%% %.0f samples/s %s %s\033[K", tp->epoch,
            tp->epochs, bar, tp->batch, tp->batches, tp->loss, 100.0 * tp->acc, tp->samples_per_s, tlabel, t);
    if (tp->epoch_done) {
        fputc('\n', p->f);
        p->mid_line = false;
    } else {
        p->mid_line = true;
    }
    fflush(p->f);
}

void cli_progress_cb(const ul_train_progress *tp, void *user) {
    cli_progress *p = user;
    p->last = *tp;
    p->have_last = true;
    if (p->quiet) return;
    if (p->tty) {
        double now = ul_now();
        if (tp->epoch_done || tp->batch == 1 || now - p->last_draw >= 0.1) {
            draw_tty(p, tp);
            p->last_draw = now;
        }
    } else if (tp->epoch_done) {
        char t[32];
        cli_fmt_duration(t, sizeof t, tp->elapsed_s);
        fprintf(p->f, "epoch %d/%d: %zu batches, loss %.4f, acc %.1f%%, %.0f samples/s, elapsed %s\n", tp->epoch,
                tp->epochs, tp->batches, tp->loss, 100.0 * tp->acc, tp->samples_per_s, t);
        fflush(p->f);
    }
}

void cli_progress_finish(cli_progress *p) {
    if (p->mid_line) {
        fputc('\n', p->f);
        fflush(p->f);
        p->mid_line = false;
    }
}
