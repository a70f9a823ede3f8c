/* ul_report_write (report.h): the HTML report of a forget request (a method-benchmark results file
 * is handed to methods.c). Reads and validates the results
 * (and an optional comparison run of the same request), checks that Graphviz and gnuplot are on
 * PATH before writing anything, writes the figure sources, runs the tools, writes index.html with
 * inline CSS, all inside a temporary sibling directory that is renamed onto the output at the end.
 * Deliberately no JavaScript, no external stylesheet or font and no timestamp in the page: the
 * directory is self-contained and the same inputs give the same index.html.
 */
#include "report/report_internal.h"

#include <cjson/cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unlearn/io.h"

/* ---- the output directory ------------------------------------------------------------------- */

/* Remove a directory tree this module wrote (regular files and subdirectories; links are
 * unlinked, never followed). Best effort. */
void rp_rm_tree(const char *dir) {
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
            char p[4096];
            if (snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= (int)sizeof p) continue;
            struct stat sb;
            if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) rp_rm_tree(p);
            else unlink(p);
        }
        closedir(d);
    }
    rmdir(dir);
}

/* An existing output directory may be replaced when it is empty or holds a report (index.html). */
ul_status rp_out_dir_ok(const char *out, bool *exists) {
    struct stat sb;
    *exists = false;
    if (stat(out, &sb) != 0) {
        if (errno == ENOENT) return UL_OK;
        return ul_fail(UL_E_IO, "report directory '%s': %s", out, strerror(errno));
    }
    if (!S_ISDIR(sb.st_mode)) return ul_fail(UL_E_ARG, "report directory '%s' exists and is not a directory", out);
    *exists = true;
    DIR *d = opendir(out);
    if (!d) return ul_fail(UL_E_IO, "report directory '%s': %s", out, strerror(errno));
    bool empty = true, report = false;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        empty = false;
        report |= strcmp(e->d_name, "index.html") == 0;
    }
    closedir(d);
    if (!empty && !report)
        return ul_fail(UL_E_ARG,
                       "report directory '%s' exists and holds no report (no index.html); choose another -o or "
                       "remove it",
                       out);
    return UL_OK;
}

ul_status rp_put(const char *dir, const char *name, const rp_buf *b) {
    if (b->oom) return ul_fail(UL_E_NOMEM, "out of memory writing %s", name);
    char p[4096];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return ul_write_file_atomic(p, b->s ? b->s : "", b->len);
}

/* ---- HTML -------------------------------------------------------------------------------------- */

const char rp_css[] =
    "body{font:15px/1.45 \"DejaVu Sans\",\"Segoe UI\",Helvetica,Arial,sans-serif;color:#222;max-width:1120px;"
    "margin:1.5em auto;padding:0 1.2em;background:#fff}\n"
    "h1{font-size:1.55em;margin:0 0 .15em}h2{font-size:1.2em;border-bottom:1px solid #ddd;padding-bottom:.2em;"
    "margin-top:1.8em}\n"
    ".sub{color:#555;margin:0 0 1em}\n"
    "table{border-collapse:collapse}\n"
    "table.meta th,table.meta td{padding:.18em 1em .18em 0;text-align:left;vertical-align:top}\n"
    "table.meta th{color:#555;font-weight:600;white-space:nowrap}\n"
    "code,.hash{font-family:\"DejaVu Sans Mono\",Menlo,Consolas,monospace;font-size:.86em;word-break:break-all}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:.7em;margin:1em 0}\n"
    ".card{border:1px solid #ddd;border-radius:6px;padding:.5em .9em;min-width:9.5em}\n"
    ".card .v{font-size:1.3em;font-weight:600}.card .k{color:#555;font-size:.82em}\n"
    "figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #eee}\n"
    "figcaption{color:#444;font-size:.9em;margin-top:.4em}\n"
    ".scroll{overflow-x:auto}table.models{font-size:.86em;width:100%}\n"
    "table.models th,table.models td{border-bottom:1px solid #e5e5e5;padding:.28em .45em;text-align:right;"
    "white-space:nowrap}\n"
    "table.models th{background:#f6f6f6}table.models td.l,table.models th.l{text-align:left}\n"
    ".note{background:#fff7e0;border-left:4px solid #f0b400;padding:.4em .8em;margin:.8em 0}\n"
    ".sw{display:inline-block;width:.85em;height:.85em;border:1px solid #888;vertical-align:-1px;margin-right:.25em}\n"
    "footer{margin-top:2.5em;color:#777;font-size:.82em}\n";

static void acc_cell(rp_buf *b, double a) {
    if (a < 0 || isnan(a)) rp_puts(b, "<td>-</td>");
    else rp_printf(b, "<td>%.2f%%</td>", a);
}

/* Mean of the accuracies that exist (>= 0); NAN when none. */
static double mean_acc(const rp_results *r, int which) {
    double s = 0;
    size_t k = 0;
    for (size_t i = 0; i < r->n; i++) {
        const rp_model *m = &r->models[i];
        double a = which == 0 ? m->fa_before : which == 1 ? m->fa_after : which == 2 ? m->ra_before : m->ra_after;
        if (a >= 0) s += a, k++;
    }
    return k ? s / (double)k : NAN;
}

static void pct_text(double a, char *buf, size_t cap) {
    if (isnan(a) || a < 0) snprintf(buf, cap, "-");
    else snprintf(buf, cap, "%.1f%%", a);
}

static void secs_text(double s, char *buf, size_t cap) {
    if (isnan(s)) snprintf(buf, cap, "unknown");
    else if (s < 0.01) snprintf(buf, cap, "%.2f ms", s * 1000.0);
    else snprintf(buf, cap, "%.3g s", s);
}

static void card(rp_buf *b, const char *value, const char *key) {
    rp_puts(b, "<div class=\"card\"><div class=\"v\">");
    rp_html(b, value);
    rp_puts(b, "</div><div class=\"k\">");
    rp_html(b, key);
    rp_puts(b, "</div></div>\n");
}

static void meta_row(rp_buf *b, const char *key, const char *value, bool code) {
    rp_printf(b, "<tr><th>%s</th><td>%s", key, code ? "<code>" : "");
    rp_html(b, value);
    rp_printf(b, "%s</td></tr>\n", code ? "</code>" : "");
}

static void params_text(const rp_results *r, char *buf, size_t cap) {
    const cJSON *par = (const cJSON *)r->parameters;
    if (!par || !par->child) {
        snprintf(buf, cap, "unknown");
        return;
    }
    size_t k = 0;
    const cJSON *x;
    buf[0] = '\0';
    cJSON_ArrayForEach(x, par) {
        char v[128];
        if (cJSON_IsString(x)) snprintf(v, sizeof v, "%s", x->valuestring);
        else if (cJSON_IsNumber(x)) snprintf(v, sizeof v, "%.10g", x->valuedouble);
        else if (cJSON_IsBool(x)) snprintf(v, sizeof v, "%s", cJSON_IsTrue(x) ? "true" : "false");
        else snprintf(v, sizeof v, "(%s)", cJSON_IsNull(x) ? "null" : "structured");
        if (k < cap) k += (size_t)snprintf(buf + k, cap - k, "%s%s = %s", k ? ", " : "", x->string, v);
    }
}

static double sum_seconds(const rp_results *r, const rp_results *other) {
    double s = 0;
    for (size_t i = 0; i < r->n; i++)
        if (!other || rp_results_find(other, r->models[i].name) >= 0) s += r->models[i].seconds;
    return s;
}

static void write_html(rp_buf *b, const ul_report_params *p, const rp_results *r, const rp_results *cmp,
                       const rp_graph *g, const char *notes) {
    char t[2048], u[256];
    const char *ver = p->tool_version ? p->tool_version : UL_VERSION_STRING;
    const char *commit = p->tool_commit && p->tool_commit[0] ? p->tool_commit : "unknown";
    rp_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>unlearn report: ");
    rp_html(b, r->request_text);
    rp_puts(b, " with ");
    rp_html(b, r->method);
    rp_printf(b, "</title>\n<meta name=\"generator\" content=\"unlearn %s (git %s)\">\n<style>\n%s</style>\n</head>\n<body>\n",
              ver, commit, rp_css);
    /* header */
    rp_puts(b, "<header>\n<h1>Unlearning report</h1>\n<p class=\"sub\">");
    if (r->request_id > 0) rp_printf(b, "Request %lld: ", r->request_id);
    else rp_puts(b, "Dry run (not committed): ");
    rp_puts(b, "forget ");
    rp_html(b, r->request_text);
    rp_puts(b, " with <b>");
    rp_html(b, r->method);
    rp_puts(b, "</b> on ");
    rp_html(b, r->network[0] ? r->network : "an unnamed network");
    rp_puts(b, "</p>\n<table class=\"meta\">\n");
    snprintf(t, sizeof t, "unlearn %s, git commit %s", ver, commit);
    meta_row(b, "report by", t, false);
    snprintf(t, sizeof t, "unlearn %s, git commit %s", r->tool_version, r->git_commit);
    meta_row(b, "results by", t, false);
    meta_row(b, "network", r->network[0] ? r->network : "unknown", true);
    if (r->request_id > 0) snprintf(t, sizeof t, "%lld: forget %s", r->request_id, r->request_text);
    else snprintf(t, sizeof t, "not committed (dry run): forget %s", r->request_text);
    meta_row(b, "request", t, false);
    meta_row(b, "method", r->method, false);
    params_text(r, t, sizeof t);
    meta_row(b, "parameters", t, false);
    size_t k = 0;
    t[0] = '\0';
    for (size_t i = 0; i < r->n; i++)
        if (r->models[i].root && k < sizeof t) k += (size_t)snprintf(t + k, sizeof t - k, "%s%s", k ? ", " : "", r->models[i].name);
    meta_row(b, "roots", k ? t : "none marked", false);
    snprintf(t, sizeof t, "%s (sha256 %s)", r->path, r->sha256);
    meta_row(b, "input file", t, true);
    if (cmp) {
        snprintf(t, sizeof t, "%s (sha256 %s), method %s%s", cmp->path, cmp->sha256, cmp->method,
                 cmp->request_id > 0 ? "" : ", dry run");
        meta_row(b, "compared with", t, true);
    }
    rp_puts(b, "</table>\n</header>\n");
    if (notes && notes[0]) {
        rp_puts(b, "<div class=\"note\">");
        rp_html(b, notes);
        rp_puts(b, "</div>\n");
    }
    /* summary cards */
    rp_puts(b, "<h2 id=\"summary\">Summary</h2>\n<div class=\"cards\">\n");
    size_t nroots = 0, worst = 0;
    for (size_t i = 0; i < r->n; i++) {
        nroots += r->models[i].root;
        if (r->models[i].fa_after > r->models[worst].fa_after) worst = i;
    }
    snprintf(t, sizeof t, "%zu", r->n);
    card(b, t, nroots == 1 ? "affected models (1 root)" : "affected models");
    if (nroots != 1) {
        snprintf(t, sizeof t, "%zu", nroots);
        card(b, t, "roots");
    }
    pct_text(mean_acc(r, 0), u, sizeof u);
    pct_text(mean_acc(r, 1), t, sizeof t);
    snprintf(t + strlen(t), sizeof t - strlen(t), " (from %s)", u);
    card(b, t, "mean forget accuracy after");
    pct_text(r->models[worst].fa_after, t, sizeof t);
    snprintf(u, sizeof u, "worst forget accuracy after (%s)", r->models[worst].name);
    card(b, t, u);
    pct_text(mean_acc(r, 2), u, sizeof u);
    pct_text(mean_acc(r, 3), t, sizeof t);
    snprintf(t + strlen(t), sizeof t - strlen(t), " (from %s)", u);
    card(b, t, "mean retained accuracy after");
    secs_text(isnan(r->t_makespan) ? NAN : r->t_makespan, t, sizeof t);
    card(b, t, "per-model phase (makespan)");
    secs_text(sum_seconds(r, NULL), t, sizeof t);
    card(b, t, "sum of per-model times");
    if (cmp) {
        pct_text(mean_acc(cmp, 1), t, sizeof t);
        snprintf(u, sizeof u, "%s: mean forget accuracy after", cmp->method);
        card(b, t, u);
        pct_text(mean_acc(cmp, 3), t, sizeof t);
        snprintf(u, sizeof u, "%s: mean retained accuracy after", cmp->method);
        card(b, t, u);
        double sa = sum_seconds(r, cmp), sb = sum_seconds(cmp, r);
        if (sa > 0) {
            snprintf(t, sizeof t, "%.3gx", sb / sa);
            snprintf(u, sizeof u, "speed-up over %s (sum of per-model times)", cmp->method);
            card(b, t, u);
        }
        if (r->t_makespan > 0 && cmp->t_makespan > 0) {
            snprintf(t, sizeof t, "%.3gx", cmp->t_makespan / r->t_makespan);
            snprintf(u, sizeof u, "speed-up over %s (makespan)", cmp->method);
            card(b, t, u);
        }
    }
    rp_puts(b, "</div>\n");
    /* figures */
    rp_puts(b, "<h2 id=\"dag\">The network</h2>\n<figure>\n<img src=\"dag.svg\" alt=\"the network's DAG, affected models "
               "coloured by forget accuracy after\">\n<figcaption>");
    rp_puts(b, "Affected models are filled by their forget accuracy after the request (");
    for (int s = 0; s <= 100; s += 50) {
        char col[8];
        rp_acc_colour(s, col);
        rp_printf(b, "<span class=\"sw\" style=\"background:%s\"></span>%d%%%s", col, s, s < 100 ? ", " : "");
    }
    rp_puts(b, "); roots have a double frame; each node shows forget and retained accuracy before &#8594; after; "
               "models outside the request are dashed. ");
    if (strcmp(g->from, "none") == 0) {
        rp_puts(b, "<b>The edges are unknown, so the nodes are drawn without edges:</b> ");
        rp_html(b, g->note);
        rp_puts(b, ". ");
    } else if (strcmp(g->from, "results") == 0) {
        rp_puts(b, "Edges from the results file. ");
    } else {
        rp_puts(b, "E");
        rp_html(b, g->note + 1);
        rp_puts(b, " (as the network is now). ");
    }
    rp_puts(b, "Drawn by Graphviz <code>dot</code> (source <a href=\"src/dag.dot\">src/dag.dot</a>; "
               "<a href=\"dag.png\">PNG</a>).</figcaption>\n</figure>\n");
    rp_puts(b, "<h2 id=\"accuracy\">Accuracy before and after</h2>\n<figure>\n<img src=\"accuracy.svg\" alt=\"forget and "
               "retained accuracy per model, before and after\">\n<figcaption>Per affected model: forget accuracy (top) "
               "and retained accuracy (bottom) before the request and after it");
    if (cmp) {
        rp_puts(b, ", and after ");
        rp_html(b, cmp->method);
        rp_puts(b, " on the same request");
    }
    rp_puts(b, ". A model that knows none of the forget labels has no forget bar. Drawn by gnuplot (<a "
               "href=\"src/accuracy.gp\">script</a>, <a href=\"src/accuracy.dat\">data</a>; <a href=\"accuracy.png\">PNG"
               "</a>).</figcaption>\n</figure>\n");
    rp_puts(b, "<h2 id=\"time\">Time per model</h2>\n<figure>\n<img src=\"time.svg\" alt=\"seconds per model\">\n"
               "<figcaption>Wall time of each model's unlearning work (log scale)");
    if (cmp) {
        rp_puts(b, " against ");
        rp_html(b, cmp->method);
    } else {
        rp_puts(b, "; give <code>--compare</code> another results file of the same request (e.g. "
                   "<code>--method retrain</code>) to compare");
    }
    rp_puts(b, ". Evaluation is excluded. Drawn by gnuplot (<a href=\"src/time.gp\">script</a>, <a href=\"src/time.dat\">"
               "data</a>; <a href=\"time.png\">PNG</a>).</figcaption>\n</figure>\n");
    /* per-model table */
    rp_puts(b, "<h2 id=\"models\">Per model</h2>\n<div class=\"scroll\"><table class=\"models\">\n<tr><th class=\"l\">model</th><th>root</th>"
               "<th>roots merged</th><th>forget before</th><th>forget after</th><th>retained before</th><th>retained after</th>");
    if (cmp) {
        rp_puts(b, "<th>forget after (");
        rp_html(b, cmp->method);
        rp_puts(b, ")</th><th>retained after (");
        rp_html(b, cmp->method);
        rp_puts(b, ")</th>");
    }
    rp_puts(b, "<th>seconds</th>");
    if (cmp) {
        rp_puts(b, "<th>seconds (");
        rp_html(b, cmp->method);
        rp_puts(b, ")</th><th>speed-up</th>");
    }
    rp_puts(b, "<th class=\"l\">checkpoint before</th><th class=\"l\">checkpoint after</th></tr>\n");
    for (size_t i = 0; i < r->n; i++) {
        const rp_model *m = &r->models[i];
        rp_printf(b, "<tr><td class=\"l\">%s</td><td>%s</td>", m->name, m->root ? "yes" : "");
        if (m->roots_merged >= 0) rp_printf(b, "<td>%d</td>", m->roots_merged);
        else rp_puts(b, "<td>-</td>");
        acc_cell(b, m->fa_before);
        acc_cell(b, m->fa_after);
        acc_cell(b, m->ra_before);
        acc_cell(b, m->ra_after);
        int c = cmp ? rp_results_find(cmp, m->name) : -1;
        if (cmp) {
            acc_cell(b, c < 0 ? NAN : cmp->models[c].fa_after);
            acc_cell(b, c < 0 ? NAN : cmp->models[c].ra_after);
        }
        rp_printf(b, "<td>%.4g</td>", m->seconds);
        if (cmp) {
            if (c < 0) rp_puts(b, "<td>-</td><td>-</td>");
            else if (m->seconds > 0) rp_printf(b, "<td>%.4g</td><td>%.3gx</td>", cmp->models[c].seconds, cmp->models[c].seconds / m->seconds);
            else rp_printf(b, "<td>%.4g</td><td>-</td>", cmp->models[c].seconds);
        }
        rp_printf(b, "<td class=\"l hash\" title=\"%s\">%.12s</td><td class=\"l hash\" title=\"%s\">%.12s</td></tr>\n",
                  m->before, m->before, m->after, m->after);
    }
    rp_puts(b, "</table></div>\n");
    char t1[32], t2[32], t3[32], t4[32];
    secs_text(r->t_roots, t1, sizeof t1);
    secs_text(r->t_makespan, t2, sizeof t2);
    secs_text(r->t_sum, t3, sizeof t3);
    secs_text(r->t_total, t4, sizeof t4);
    rp_printf(b, "<p>Timings of the request: roots' forget Fisher %s; per-model phase makespan %s, sum %s; whole "
                 "request %s (evaluation excluded).</p>\n", t1, t2, t3, t4);
    rp_printf(b, "<footer>Written by unlearn %s (git %s) from <code>", ver, commit);
    rp_html(b, r->path);
    rp_printf(b, "</code> (sha256 <code>%s</code>). Figures: Graphviz and gnuplot; see docs/reports.md.</footer>\n"
                 "</body>\n</html>\n", r->sha256);
}

/* ---- the whole report ---------------------------------------------------------------------------- */

ul_status ul_report_write(const ul_report_params *p, ul_report_info *info) {
    ul_report_info dummy;
    if (!info) info = &dummy;
    memset(info, 0, sizeof *info);
    if (!p || !p->results || !p->out_dir || !p->out_dir[0]) return ul_fail(UL_E_ARG, "ul_report_write: results and out_dir are required");
    char out[2048];
    snprintf(out, sizeof out, "%s", p->out_dir);
    for (size_t n = strlen(out); n > 1 && out[n - 1] == '/'; n--) out[n - 1] = '\0';
    char dot[1024], gnuplot[1024];
    if (rp_is_methods_results(p->results)) {
        snprintf(info->kind, sizeof info->kind, "methods");
        if (p->compare)
            return ul_fail(UL_E_ARG, "--compare: '%s' holds the results of `unlearn bench methods`, which compares its "
                                     "methods itself; --compare applies to forget results only",
                           p->results);
        if (!rp_find_tool("gnuplot", gnuplot, sizeof gnuplot))
            return ul_fail(UL_E_UNSUPPORTED, "'gnuplot' was not found on PATH: the report draws its plots with it "
                                             "(install it: apt-get install gnuplot-nox, or make deps)");
        return rp_methods_write(p, out, gnuplot, info);
    }
    snprintf(info->kind, sizeof info->kind, "forget");
    if (!rp_find_tool("dot", dot, sizeof dot))
        return ul_fail(UL_E_UNSUPPORTED, "Graphviz 'dot' was not found on PATH: the report draws the network with it "
                                         "(install it: apt-get install graphviz, or make deps)");
    if (!rp_find_tool("gnuplot", gnuplot, sizeof gnuplot))
        return ul_fail(UL_E_UNSUPPORTED, "'gnuplot' was not found on PATH: the report draws its plots with it "
                                         "(install it: apt-get install gnuplot-nox, or make deps)");
    rp_results r, c;
    memset(&c, 0, sizeof c);
    ul_status st = rp_results_load(p->results, &r);
    if (st != UL_OK) return st;
    rp_buf notes = {0};
    if (p->compare) {
        if ((st = rp_results_load(p->compare, &c)) != UL_OK) {
            rp_results_free(&r);
            return st;
        }
        if (!cJSON_Compare((const cJSON *)r.request, (const cJSON *)c.request, true)) {
            st = ul_fail(UL_E_ARG, "compare file '%s': field 'request': %s is not the request of '%s' (%s)", c.path,
                         c.request_text, r.path, r.request_text);
            goto done;
        }
        if (strcmp(r.network, c.network) != 0)
            rp_printf(&notes, "The compared results name another network directory (%s, here %s). ", c.network[0] ? c.network : "none",
                      r.network[0] ? r.network : "none");
        size_t nb = 0, nm = 0;
        for (size_t i = 0; i < r.n; i++) {
            int k = rp_results_find(&c, r.models[i].name);
            if (k < 0) nm++;
            else if (strcmp(c.models[k].before, r.models[i].before) != 0) nb++;
        }
        if (nm) rp_printf(&notes, "%zu affected model%s missing from the compared results. ", nm, nm == 1 ? " is" : "s are");
        if (nb)
            rp_printf(&notes, "%zu model%s started from another checkpoint in the compared run (another network state). ",
                      nb, nb == 1 ? "" : "s");
    }
    snprintf(info->results_sha256, sizeof info->results_sha256, "%s", r.sha256);
    bool exists = false;
    if ((st = rp_out_dir_ok(out, &exists)) != UL_OK) goto done;

    rp_graph g;
    memset(&g, 0, sizeof g);
    if ((st = rp_graph_build(&r, p->network, &g)) != UL_OK) {
        rp_graph_free(&g);
        goto done;
    }
    snprintf(info->edges_from, sizeof info->edges_from, "%s", g.from);
    snprintf(info->edges_note, sizeof info->edges_note, "%s", g.note);

    char tmp[2100], src[2200], old[2100];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
    snprintf(old, sizeof old, "%s.old-%ld", out, (long)getpid());
    snprintf(src, sizeof src, "%s/src", tmp);
    rp_rm_tree(tmp); /* a leftover of a killed run with our pid */
    if (mkdir(tmp, 0755) != 0) {
        st = ul_fail(UL_E_IO, "creating the report directory '%s': %s", tmp, strerror(errno));
        rp_graph_free(&g);
        goto done;
    }
    if (mkdir(src, 0755) != 0) st = ul_fail(UL_E_IO, "creating '%s': %s", src, strerror(errno));
    rp_buf dag = {0}, adat = {0}, agp = {0}, tdat = {0}, tgp = {0}, html = {0};
    if (st == UL_OK) st = rp_dag_dot(&r, &g, &dag);
    if (st == UL_OK) st = rp_accuracy_plot(&r, p->compare ? &c : NULL, &adat, &agp);
    if (st == UL_OK) st = rp_time_plot(&r, p->compare ? &c : NULL, &tdat, &tgp);
    if (st == UL_OK) st = rp_put(tmp, "src/dag.dot", &dag);
    if (st == UL_OK) st = rp_put(tmp, "src/accuracy.dat", &adat);
    if (st == UL_OK) st = rp_put(tmp, "src/accuracy.gp", &agp);
    if (st == UL_OK) st = rp_put(tmp, "src/time.dat", &tdat);
    if (st == UL_OK) st = rp_put(tmp, "src/time.gp", &tgp);
    const char *dot_svg[] = {dot, "-Tsvg", "-o", "dag.svg", "src/dag.dot", NULL};
    const char *dot_png[] = {dot, "-Tpng", "-Gdpi=96", "-o", "dag.png", "src/dag.dot", NULL};
    const char *gp_acc[] = {gnuplot, "src/accuracy.gp", NULL};
    const char *gp_time[] = {gnuplot, "src/time.gp", NULL};
    if (st == UL_OK) st = rp_run(dot_svg, tmp, "src/dot.log");
    if (st == UL_OK) st = rp_run(dot_png, tmp, "src/dot.log");
    if (st == UL_OK) st = rp_run(gp_acc, tmp, "src/gnuplot.log");
    if (st == UL_OK) st = rp_run(gp_time, tmp, "src/gnuplot.log");
    /* every figure must exist and be non-empty (gnuplot may exit 0 after a plot error) */
    static const char *const figs[] = {"dag.svg", "dag.png", "accuracy.svg", "accuracy.png", "time.svg", "time.png"};
    for (size_t i = 0; i < sizeof figs / sizeof *figs && st == UL_OK; i++) {
        char fp[2400];
        struct stat sb;
        snprintf(fp, sizeof fp, "%s/%s", tmp, figs[i]);
        if (stat(fp, &sb) != 0 || sb.st_size == 0) {
            char logp[2400], tail[400] = "";
            snprintf(logp, sizeof logp, "%s/src/gnuplot.log", tmp);
            FILE *f = fopen(logp, "r");
            if (f) {
                size_t k = fread(tail, 1, sizeof tail - 1, f);
                tail[k] = '\0';
                fclose(f);
                for (char *ch = tail; *ch; ch++)
                    if (*ch == '\n') *ch = ' ';
            }
            st = ul_fail(UL_E_IO, "the figure %s was not written%s%s", figs[i], tail[0] ? ": " : "", tail);
        }
    }
    if (st == UL_OK) {
        char lp[2400];
        snprintf(lp, sizeof lp, "%s/dot.log", src);
        unlink(lp);
        snprintf(lp, sizeof lp, "%s/gnuplot.log", src);
        unlink(lp);
        write_html(&html, p, &r, p->compare ? &c : NULL, &g, notes.s);
        st = rp_put(tmp, "index.html", &html);
    }
    rp_buf_free(&dag);
    rp_buf_free(&adat);
    rp_buf_free(&agp);
    rp_buf_free(&tdat);
    rp_buf_free(&tgp);
    rp_buf_free(&html);
    rp_graph_free(&g);
    if (st == UL_OK) {
        if (exists && rename(out, old) != 0) {
            st = ul_fail(UL_E_IO, "moving the previous report '%s' aside: %s", out, strerror(errno));
        } else if (rename(tmp, out) != 0) {
            st = ul_fail(UL_E_IO, "renaming '%s' onto '%s': %s", tmp, out, strerror(errno));
            if (exists) rename(old, out);
        } else if (exists) {
            rp_rm_tree(old);
        }
    }
    if (st != UL_OK) rp_rm_tree(tmp);
    else info->figures = 3;
done:
    rp_buf_free(&notes);
    rp_results_free(&r);
    rp_results_free(&c);
    return st;
}
