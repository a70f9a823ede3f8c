/* The report's figures (report_internal.h): Graphviz DOT text of the network with affected models
 * coloured by forget accuracy after and roots doubly framed; gnuplot data and scripts for the
 * accuracy bars (forget and retained, before and after) and the per-model times (against a
 * compared method, log scale); finding the tools on PATH and running them as subprocesses.
 * Deliberately no SVG or PNG written by hand: `dot` and `gnuplot` (svg and pngcairo terminals)
 * draw everything, so the figures look like every other Graphviz/gnuplot figure.
 */
#include "report/report_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- tools ---------------------------------------------------------------------------------- */

bool rp_find_tool(const char *name, char *buf, size_t cap) {
    const char *path = getenv("PATH");
    if (!path || !*path) path = "/usr/bin:/bin";
    for (const char *p = path; *p;) {
        const char *e = strchr(p, ':');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len > 0) {
            int k = snprintf(buf, cap, "%.*s/%s", (int)len, p, name);
            struct stat sb;
            if (k > 0 && (size_t)k < cap && stat(buf, &sb) == 0 && S_ISREG(sb.st_mode) && access(buf, X_OK) == 0)
                return true;
        }
        p += len + (e ? 1 : 0);
    }
    return false;
}

ul_status rp_run(const char *const *argv, const char *cwd, const char *log) {
    char logpath[4096];
    snprintf(logpath, sizeof logpath, "%s/%s", cwd, log);
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return ul_fail(UL_E_IO, "running %s: fork: %s", argv[0], strerror(errno));
    if (pid == 0) {
        /* only async-signal-safe calls between fork and exec */
        int in = open("/dev/null", O_RDONLY), out = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || out < 0 || chdir(cwd) != 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0) _exit(126);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return ul_fail(UL_E_IO, "running %s: waitpid: %s", argv[0], strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return UL_OK;
    char tail[600] = "";
    FILE *f = fopen(logpath, "r");
    if (f) {
        size_t k = fread(tail, 1, sizeof tail - 1, f);
        tail[k] = '\0';
        fclose(f);
        for (char *c = tail; *c; c++)
            if (*c == '\n') *c = ' ';
    }
    char cmd[512] = "";
    size_t k = 0;
    for (int i = 0; argv[i] && k < sizeof cmd; i++) k += (size_t)snprintf(cmd + k, sizeof cmd - k, "%s%s", i ? " " : "", argv[i]);
    if (WIFEXITED(status))
        return ul_fail(UL_E_IO, "'%s' failed with exit status %d%s%s", cmd, WEXITSTATUS(status), tail[0] ? ": " : "", tail);
    return ul_fail(UL_E_IO, "'%s' was killed by signal %d", cmd, WIFSIGNALED(status) ? WTERMSIG(status) : -1);
}

/* ---- colours ----------------------------------------------------------------------------------- */

void rp_acc_colour(double acc, char out[8]) {
    /* low forget accuracy (forgotten) green, 50% pale yellow, high (still known) red-orange */
    static const double stops[5][3] = {{0x66, 0xbd, 0x63}, {0xd9, 0xef, 0x8b}, {0xff, 0xff, 0xbf}, {0xfd, 0xae, 0x61},
                                       {0xf4, 0x6d, 0x43}};
    if (!(acc >= 0)) {
        snprintf(out, 8, "#e8e8e8");
        return;
    }
    double t = fmin(acc, 100.0) / 25.0;
    int k = (int)t;
    if (k >= 4) k = 3;
    double f = t - k;
    int c[3];
    for (int i = 0; i < 3; i++) c[i] = (int)lround(stops[k][i] + f * (stops[k + 1][i] - stops[k][i]));
    snprintf(out, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

static const char *edge_colour(const char *type) {
    if (strcmp(type, "avg") == 0) return "#1f77b4";
    if (strcmp(type, "continue") == 0) return "#2ca02c";
    if (strcmp(type, "transfer") == 0) return "#d62728";
    if (strcmp(type, "finetune") == 0) return "#9467bd";
    return "#444444";
}

static void pct(double a, char *buf, size_t cap) {
    if (a < 0) snprintf(buf, cap, "-");
    else snprintf(buf, cap, "%.1f%%", a);
}

/* ---- the DAG ----------------------------------------------------------------------------------- */

ul_status rp_dag_dot(const rp_results *r, const rp_graph *g, rp_buf *b) {
    rp_printf(b, "digraph forget {\n"
                 "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=11, bgcolor=\"white\", nodesep=0.35, ranksep=0.45];\n"
                 "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10, fillcolor=\"white\","
                 " color=\"#333333\"];\n"
                 "  edge [fontname=\"Helvetica\", fontsize=9, arrowsize=0.7];\n");
    for (size_t i = 0; i < g->n; i++) {
        const char *nm = g->names[i];
        int k = rp_results_find(r, nm);
        if (k < 0) {
            rp_printf(b, "  \"%s\" [label=\"%s\\nnot affected\", style=\"rounded,dashed\", color=\"#999999\","
                         " fontcolor=\"#777777\"];\n", nm, nm);
            continue;
        }
        const rp_model *m = &r->models[k];
        char col[8], fb[16], fa[16], rb[16], ra[16];
        rp_acc_colour(m->fa_after, col);
        pct(m->fa_before, fb, sizeof fb);
        pct(m->fa_after, fa, sizeof fa);
        pct(m->ra_before, rb, sizeof rb);
        pct(m->ra_after, ra, sizeof ra);
        rp_printf(b, "  \"%s\" [label=\"%s%s\\nforget %s \xe2\x86\x92 %s\\nretained %s \xe2\x86\x92 %s\", fillcolor=\"%s\"%s];\n",
                  nm, nm, m->root ? " (root)" : "", fb, fa, rb, ra, col,
                  m->root ? ", peripheries=2, penwidth=1.6, color=\"#000000\"" : "");
    }
    for (size_t i = 0; i < g->nedges; i++) {
        const rp_edge *e = &g->edges[i];
        const char *c = edge_colour(e->type);
        rp_printf(b, "  \"%s\" -> \"%s\" [label=\"%s\", color=\"%s\", fontcolor=\"%s\"];\n", e->parent, e->child, e->type, c,
                  c);
    }
    if (!g->nedges && g->n > 3) {
        /* no edges: a grid of rows held apart by invisible edges, not one endless row */
        size_t cols = 3;
        while (cols * cols < g->n) cols++;
        for (size_t i = 0; i + cols < g->n; i++)
            rp_printf(b, "  \"%s\" -> \"%s\" [style=invis];\n", g->names[i], g->names[i + cols]);
    }
    /* legend: the colour scale of forget accuracy after, and the marks */
    rp_puts(b, "  subgraph cluster_legend {\n    label=\"\"; color=\"#cccccc\"; style=rounded;\n"
               "    legend [shape=plaintext, style=\"\", fillcolor=\"white\", label=<<TABLE BORDER=\"0\" CELLBORDER=\"1\""
               " CELLSPACING=\"0\" CELLPADDING=\"4\"><TR><TD COLSPAN=\"5\" BORDER=\"0\">forget accuracy after</TD></TR><TR>");
    for (int s = 0; s <= 100; s += 25) {
        char col[8];
        rp_acc_colour(s, col);
        rp_printf(b, "<TD BGCOLOR=\"%s\">%d%%</TD>", col, s);
    }
    rp_puts(b, "</TR><TR><TD COLSPAN=\"5\" BORDER=\"0\">double frame: root of the request</TD></TR>");
    if (!g->nedges)
        rp_puts(b, "<TR><TD COLSPAN=\"5\" BORDER=\"0\"><FONT COLOR=\"#b00000\">edges unknown: nodes drawn without edges</FONT></TD></TR>");
    rp_puts(b, "</TABLE>>];\n  }\n}\n");
    return b->oom ? ul_fail(UL_E_NOMEM, "out of memory writing the DAG") : UL_OK;
}

/* ---- gnuplot ------------------------------------------------------------------------------------- */

static void num(rp_buf *b, double v) {
    if (isnan(v) || v < 0) rp_puts(b, " NaN");
    else rp_printf(b, " %.6g", v);
}

/* Terminal preamble + body for both outputs; size grows with the number of models. */
static void two_terminals(rp_buf *s, const char *name, int w, int h, const char *body) {
    rp_printf(s, "set terminal svg size %d,%d font \"Helvetica,12\" noenhanced background rgb \"white\"\n"
                 "set output \"%s.svg\"\n%s"
                 "set output\n"
                 "set terminal pngcairo size %d,%d font \"Helvetica,10\" noenhanced background rgb \"white\"\n"
                 "set output \"%s.png\"\n%s"
                 "set output\n",
              w, h, name, body, w, h, name, body);
}

static int fig_width(size_t n) {
    int w = 260 + 46 * (int)n;
    return w < 760 ? 760 : w > 3000 ? 3000 : w;
}

/* Value labels above the bars of a clustered histogram (gap 1) of `nser` series in columns c0, c1,
 * c2; only for small networks, where they fit. Bar j of row i sits at i + (j - (nser-1)/2)/(nser+1). */
static void bar_labels(rp_buf *b, size_t n, int nser, int c0, int c1, int c2) {
    if (n > 12) return;
    const int cols[3] = {c0, c1, c2};
    for (int j = 0; j < nser; j++)
        rp_printf(b,
                  ", \"\" using ($0%+.4f):%d:(sprintf(\"%%.0f\", $%d)) with labels offset 0,0.6 font \",8\" "
                  "textcolor rgb \"#333333\" notitle",
                  (j - (nser - 1) / 2.0) / (nser + 1.0), cols[j], cols[j]);
}

ul_status rp_accuracy_plot(const rp_results *r, const rp_results *cmp, rp_buf *data, rp_buf *script) {
    rp_puts(data, "# model forget_before forget_after retain_before retain_after");
    if (cmp) rp_printf(data, " forget_after_%s retain_after_%s", cmp->method, cmp->method);
    rp_puts(data, "\n");
    for (size_t i = 0; i < r->n; i++) {
        const rp_model *m = &r->models[i];
        rp_printf(data, "%s", m->name);
        num(data, m->fa_before);
        num(data, m->fa_after);
        num(data, m->ra_before);
        num(data, m->ra_after);
        if (cmp) {
            int k = rp_results_find(cmp, m->name);
            num(data, k < 0 ? NAN : cmp->models[k].fa_after);
            num(data, k < 0 ? NAN : cmp->models[k].ra_after);
        }
        rp_puts(data, "\n");
    }
    rp_buf body = {0};
    rp_printf(&body,
              "set datafile missing \"NaN\"\n"
              "set style data histogram\nset style histogram clustered gap 1\n"
              "set style fill solid 0.9 border rgb \"#555555\"\nset boxwidth 0.9\n"
              "set yrange [0:109]\nset ytics 0,20,100\nset grid ytics lc rgb \"#dddddd\"\n"
              "set ylabel \"accuracy (%%)\"\nset key outside top center horizontal samplen 1.5\n"
              "set xtics nomirror%s\nset border 3\nset ytics nomirror\n"
              "set multiplot layout 2,1\n",
              r->n > 10 ? " rotate by -45" : "");
    const char *after_title = r->method;
    rp_printf(&body,
              "set title \"forget accuracy: test samples of the forget labels each model knows\"\n"
              "plot \"src/accuracy.dat\" using 2:xtic(1) title \"before\" lc rgb \"#bdbdbd\", "
              "\"\" using 3 title \"after (%s)\" lc rgb \"#2171b5\"",
              after_title);
    if (cmp) rp_printf(&body, ", \"\" using 6 title \"after (%s)\" lc rgb \"#fd8d3c\"", cmp->method);
    bar_labels(&body, r->n, cmp ? 3 : 2, 2, 3, 6);
    rp_printf(&body,
              "\nunset key\nset title \"retained accuracy: test samples of the other labels each model knows\"\n"
              "plot \"src/accuracy.dat\" using 4:xtic(1) title \"before\" lc rgb \"#bdbdbd\", "
              "\"\" using 5 title \"after (%s)\" lc rgb \"#2171b5\"",
              after_title);
    if (cmp) rp_printf(&body, ", \"\" using 7 title \"after (%s)\" lc rgb \"#fd8d3c\"", cmp->method);
    bar_labels(&body, r->n, cmp ? 3 : 2, 4, 5, 7);
    rp_puts(&body, "\nunset multiplot\n");
    if (!body.oom) two_terminals(script, "accuracy", fig_width(r->n), 640, body.s);
    bool oom = body.oom || data->oom || script->oom;
    rp_buf_free(&body);
    return oom ? ul_fail(UL_E_NOMEM, "out of memory writing the accuracy figure") : UL_OK;
}

ul_status rp_time_plot(const rp_results *r, const rp_results *cmp, rp_buf *data, rp_buf *script) {
    rp_printf(data, "# model seconds_%s", r->method);
    if (cmp) rp_printf(data, " seconds_%s", cmp->method);
    rp_puts(data, "\n");
    double sa = 0, sb = 0;
    size_t both = 0;
    for (size_t i = 0; i < r->n; i++) {
        const rp_model *m = &r->models[i];
        rp_printf(data, "%s", m->name);
        num(data, m->seconds > 0 ? m->seconds : NAN);
        if (cmp) {
            int k = rp_results_find(cmp, m->name);
            num(data, k < 0 || !(cmp->models[k].seconds > 0) ? NAN : cmp->models[k].seconds);
            if (k >= 0) sa += m->seconds, sb += cmp->models[k].seconds, both++;
        }
        rp_puts(data, "\n");
    }
    rp_buf body = {0};
    char title[256];
    if (cmp && both && sa > 0)
        snprintf(title, sizeof title, "time per model: %s against %s (sum over %zu models: %.3g s vs %.3g s, speed-up %.3gx)",
                 r->method, cmp->method, both, sa, sb, sb / sa);
    else
        snprintf(title, sizeof title, "time per model: %s", r->method);
    rp_printf(&body,
              "set datafile missing \"NaN\"\n"
              "set style data histogram\nset style histogram clustered gap 1\n"
              "set style fill solid 0.9 border rgb \"#555555\"\nset boxwidth 0.9\n"
              "set logscale y\nset format y \"%%g\"\nset grid ytics mytics lc rgb \"#dddddd\"\n"
              "set ylabel \"seconds (log scale)\"\nset key top left horizontal samplen 1.5\n"
              "set xtics nomirror%s\nset border 3\nset ytics nomirror\n"
              "set title \"%s\"\n"
              "plot \"src/time.dat\" using 2:xtic(1) title \"%s\" lc rgb \"#2171b5\"",
              r->n > 10 ? " rotate by -45" : "", title, r->method);
    if (cmp) rp_printf(&body, ", \"\" using 3 title \"%s\" lc rgb \"#fd8d3c\"", cmp->method);
    rp_puts(&body, "\n");
    if (!body.oom) two_terminals(script, "time", fig_width(r->n), 400, body.s);
    bool oom = body.oom || data->oom || script->oom;
    rp_buf_free(&body);
    return oom ? ul_fail(UL_E_NOMEM, "out of memory writing the time figure") : UL_OK;
}
