/* The method-benchmark report (report_internal.h rp_methods_write): the results.json of `unlearn
 * bench methods` read and validated field by field (errors name the file and the field), then one
 * index.html with the SFR-on paper's table (FA, RA, TA, MIA, Avg. Gap, KL, time; mean +- std over
 * seeds), a gnuplot bar chart of the Avg. Gap per method and a gnuplot chart and table of the
 * per-class test accuracy of the original, retrain and every method, written into a temporary
 * sibling directory renamed onto the output at the end (as the forget report).
 * Deliberately no recomputation: every number comes from the file's summary.
 */
#include "report/report_internal.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unlearn/io.h"
#include "unlearn/rng.h"

#define MR_MAX_CLASSES 100

/* The seven columns of the paper's table, in order. */
enum { MC_FA, MC_RA, MC_TA, MC_MIA, MC_GAP, MC_KL, MC_TIME, MC_COUNT };
static const char *const MC_KEY[MC_COUNT] = {"fa", "ra", "ta", "mia_entropy_lr", "avg_gap", "kl", "seconds"};
static const char *const MC_HEAD[MC_COUNT] = {"FA", "RA", "TA", "MIA", "Avg. Gap", "KL", "Time (s)"};
static const int MC_DIGITS[MC_COUNT] = {2, 2, 2, 2, 2, 4, 1};

typedef struct mr_row {
    char label[192];
    double mean[MC_COUNT], sd[MC_COUNT];  /* NAN: null in the file */
    int npc;                              /* per-class entries (0: none in the file) */
    double pc_mean[MR_MAX_CLASSES], pc_sd[MR_MAX_CLASSES];
} mr_row;

typedef struct mr_results {
    char path[1024], sha256[65];
    cJSON *json;
    char version[64], commit[64], command_line[1024];
    char data[512], arch[128], scenario[256];
    double n_forget, n_retain, n_test;
    int classes, nseeds;
    char seeds[256];
    char class_names[MR_MAX_CLASSES][64];
    mr_row *rows;          /* the summary's methods, in its order */
    int n;
    int retrain;           /* index of retrain in rows */
    mr_row original;
} mr_results;

/* ---- reading --------------------------------------------------------------------------------- */

bool rp_is_methods_results(const char *path) {
    uint8_t *buf = NULL;
    size_t len = 0;
    if (ul_read_file(path, (size_t)256 << 20, &buf, &len) != UL_OK) {
        ul_clear_error();
        return false;
    }
    cJSON *j = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    bool yes = false;
    if (cJSON_IsObject(j)) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "command");
        yes = (cJSON_IsString(c) && strcmp(c->valuestring, "bench methods") == 0) ||
              (cJSON_GetObjectItemCaseSensitive(j, "config") && cJSON_GetObjectItemCaseSensitive(j, "runs") &&
               cJSON_GetObjectItemCaseSensitive(j, "summary") && !cJSON_GetObjectItemCaseSensitive(j, "affected"));
    }
    cJSON_Delete(j);
    return yes;
}

static const char *kind_of(const cJSON *x) {
    if (!x) return "missing";
    if (cJSON_IsString(x)) return "a string";
    if (cJSON_IsNumber(x)) return "a number";
    if (cJSON_IsBool(x)) return "a boolean";
    if (cJSON_IsNull(x)) return "null";
    if (cJSON_IsArray(x)) return "an array";
    return "an object";
}

static ul_status bad(const mr_results *r, const char *field, const char *fmt, ...) UL_PRINTF(3, 4);
static ul_status bad(const mr_results *r, const char *field, const char *fmt, ...) {
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return ul_fail(UL_E_FORMAT, "method-benchmark results file '%s': field '%s': %s", r->path, field, msg);
}

static ul_status get_str(const mr_results *r, const cJSON *o, const char *key, const char *where, char *dst, size_t cap) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    char f[200];
    snprintf(f, sizeof f, "%s%s", where, key);
    if (!cJSON_IsString(x)) return bad(r, f, "is %s, expected a string", kind_of(x));
    if (strlen(x->valuestring) >= cap) return bad(r, f, "is longer than %zu characters", cap - 1);
    snprintf(dst, cap, "%s", x->valuestring);
    return UL_OK;
}

static ul_status get_num(const mr_results *r, const cJSON *o, const char *key, const char *where, double lo, double hi,
                         double *out) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    char f[200];
    snprintf(f, sizeof f, "%s%s", where, key);
    if (!cJSON_IsNumber(x)) return bad(r, f, "is %s, expected a number", kind_of(x));
    if (!(x->valuedouble >= lo && x->valuedouble <= hi)) return bad(r, f, "%g is outside %g..%g", x->valuedouble, lo, hi);
    *out = x->valuedouble;
    return UL_OK;
}

/* A number or null (NAN) at x, named f. */
static ul_status num_or_null(const mr_results *r, const cJSON *x, const char *f, double *out) {
    if (cJSON_IsNull(x)) {
        *out = NAN;
        return UL_OK;
    }
    if (!cJSON_IsNumber(x) || !isfinite(x->valuedouble)) return bad(r, f, "is %s, expected a number or null", kind_of(x));
    *out = x->valuedouble;
    return UL_OK;
}

static void opt_str(const cJSON *o, const char *key, char *dst, size_t cap, const char *fallback) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    snprintf(dst, cap, "%s", cJSON_IsString(x) && x->valuestring[0] ? x->valuestring : fallback);
}

/* One summary entry (an object of {metric: {mean, std}}) named `where` ("summary[3]"). */
static ul_status read_row(const mr_results *r, const cJSON *o, const char *where, bool has_method, mr_row *row) {
    char w[64], f[200];
    ul_status st;
    if (!cJSON_IsObject(o)) return bad(r, where, "is %s, expected an object", kind_of(o));
    snprintf(w, sizeof w, "%s.", where);
    if (has_method && (st = get_str(r, o, "method", w, row->label, sizeof row->label)) != UL_OK) return st;
    for (int k = 0; k < MC_COUNT; k++) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, MC_KEY[k]);
        snprintf(f, sizeof f, "%s%s", w, MC_KEY[k]);
        if (!cJSON_IsObject(m)) return bad(r, f, "is %s, expected an object with 'mean' and 'std'", kind_of(m));
        snprintf(f, sizeof f, "%s%s.mean", w, MC_KEY[k]);
        if ((st = num_or_null(r, cJSON_GetObjectItemCaseSensitive(m, "mean"), f, &row->mean[k])) != UL_OK) return st;
        snprintf(f, sizeof f, "%s%s.std", w, MC_KEY[k]);
        if ((st = num_or_null(r, cJSON_GetObjectItemCaseSensitive(m, "std"), f, &row->sd[k])) != UL_OK) return st;
    }
    const cJSON *pc = cJSON_GetObjectItemCaseSensitive(o, "per_class_ta");
    row->npc = 0;
    if (pc) {
        snprintf(f, sizeof f, "%sper_class_ta", w);
        if (!cJSON_IsObject(pc)) return bad(r, f, "is %s, expected an object with 'mean' and 'std' arrays", kind_of(pc));
        for (int which = 0; which < 2; which++) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(pc, which ? "std" : "mean");
            snprintf(f, sizeof f, "%sper_class_ta.%s", w, which ? "std" : "mean");
            if (!cJSON_IsArray(a)) return bad(r, f, "is %s, expected an array", kind_of(a));
            if (cJSON_GetArraySize(a) != r->classes)
                return bad(r, f, "has %d entries, expected one per class (config.classes = %d)", cJSON_GetArraySize(a),
                           r->classes);
            int c = 0;
            const cJSON *x;
            cJSON_ArrayForEach(x, a) {
                snprintf(f, sizeof f, "%sper_class_ta.%s[%d]", w, which ? "std" : "mean", c);
                if ((st = num_or_null(r, x, f, which ? &row->pc_sd[c] : &row->pc_mean[c])) != UL_OK) return st;
                c++;
            }
        }
        row->npc = r->classes;
    }
    return UL_OK;
}

static void mr_free(mr_results *r) {
    cJSON_Delete(r->json);
    free(r->rows);
    memset(r, 0, sizeof *r);
}

static ul_status mr_load(const char *path, mr_results *r) {
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    uint8_t *buf = NULL;
    size_t len = 0;
    ul_status st = ul_read_file(path, (size_t)256 << 20, &buf, &len);
    if (st != UL_OK) return ul_fail_ctx(st, "results file '%s'", path);
    ul_sha256_hex(buf, len, r->sha256);
    r->json = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    if (!r->json) return ul_fail(UL_E_FORMAT, "results file '%s': not JSON", path);
#define CHECK(expr)                                                                                                    \
    do {                                                                                                               \
        if ((st = (expr)) != UL_OK) {                                                                                  \
            mr_free(r);                                                                                                \
            return st;                                                                                                 \
        }                                                                                                              \
    } while (0)
    const cJSON *j = r->json;
    opt_str(j, "version", r->version, sizeof r->version, "unknown");
    opt_str(j, "git_commit", r->commit, sizeof r->commit, "unknown");
    opt_str(j, "command_line", r->command_line, sizeof r->command_line, "unknown");
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(j, "config");
    if (!cJSON_IsObject(cfg)) CHECK(bad(r, "config", "is %s, expected an object", kind_of(cfg)));
    CHECK(get_str(r, cfg, "data", "config.", r->data, sizeof r->data));
    CHECK(get_str(r, cfg, "arch", "config.", r->arch, sizeof r->arch));
    const cJSON *sc = cJSON_GetObjectItemCaseSensitive(cfg, "scenario");
    if (!cJSON_IsObject(sc)) CHECK(bad(r, "config.scenario", "is %s, expected an object", kind_of(sc)));
    CHECK(get_str(r, sc, "text", "config.scenario.", r->scenario, sizeof r->scenario));
    double x;
    CHECK(get_num(r, cfg, "classes", "config.", 1, MR_MAX_CLASSES, &x));
    r->classes = (int)x;
    if (x != floor(x)) CHECK(bad(r, "config.classes", "%g is not a whole number", x));
    CHECK(get_num(r, cfg, "n_forget", "config.", 0, 1e12, &r->n_forget));
    CHECK(get_num(r, cfg, "n_retain", "config.", 0, 1e12, &r->n_retain));
    CHECK(get_num(r, cfg, "n_test", "config.", 0, 1e12, &r->n_test));
    const cJSON *seeds = cJSON_GetObjectItemCaseSensitive(cfg, "seeds");
    if (!cJSON_IsArray(seeds) || cJSON_GetArraySize(seeds) == 0)
        CHECK(bad(r, "config.seeds", "is %s, expected a non-empty array", cJSON_IsArray(seeds) ? "empty" : kind_of(seeds)));
    r->nseeds = cJSON_GetArraySize(seeds);
    size_t k = 0;
    const cJSON *s;
    cJSON_ArrayForEach(s, seeds) {
        char v[32];
        if (cJSON_IsNumber(s)) snprintf(v, sizeof v, "%.0f", s->valuedouble);
        else if (cJSON_IsString(s)) snprintf(v, sizeof v, "%.30s", s->valuestring);
        else CHECK(bad(r, "config.seeds", "holds %s, expected numbers", kind_of(s)));
        if (k < sizeof r->seeds) k += (size_t)snprintf(r->seeds + k, sizeof r->seeds - k, "%s%s", k ? ", " : "", v);
    }
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(cfg, "class_names");
    for (int c = 0; c < r->classes; c++) snprintf(r->class_names[c], sizeof r->class_names[c], "%d", c);
    if (names) {
        if (!cJSON_IsArray(names) || cJSON_GetArraySize(names) != r->classes)
            CHECK(bad(r, "config.class_names", "is %s, expected an array of %d strings", kind_of(names), r->classes));
        int c = 0;
        cJSON_ArrayForEach(s, names) {
            if (!cJSON_IsString(s)) {
                char f[64];
                snprintf(f, sizeof f, "config.class_names[%d]", c);
                CHECK(bad(r, f, "is %s, expected a string", kind_of(s)));
            }
            snprintf(r->class_names[c], sizeof r->class_names[c], "%d %.40s", c, s->valuestring);
            c++;
        }
    }
    const cJSON *sum = cJSON_GetObjectItemCaseSensitive(j, "summary");
    if (!cJSON_IsArray(sum) || cJSON_GetArraySize(sum) == 0)
        CHECK(bad(r, "summary", "is %s, expected a non-empty array", cJSON_IsArray(sum) ? "empty" : kind_of(sum)));
    r->n = cJSON_GetArraySize(sum);
    if (!(r->rows = calloc((size_t)r->n, sizeof *r->rows))) CHECK(ul_fail(UL_E_NOMEM, "out of memory reading '%s'", path));
    r->retrain = -1;
    int i = 0;
    cJSON_ArrayForEach(s, sum) {
        char w[48];
        snprintf(w, sizeof w, "summary[%d]", i);
        CHECK(read_row(r, s, w, true, &r->rows[i]));
        for (char *c = r->rows[i].label; *c; c++)
            if (*c == '"' || *c == '\\' || (unsigned char)*c < 0x20) *c = '\'';
        if (strcmp(r->rows[i].label, "retrain") == 0) r->retrain = i;
        i++;
    }
    if (r->retrain < 0) CHECK(bad(r, "summary", "has no entry with \"method\": \"retrain\" (the reference of every gap)"));
    CHECK(read_row(r, cJSON_GetObjectItemCaseSensitive(j, "original_summary"), "original_summary", false, &r->original));
    snprintf(r->original.label, sizeof r->original.label, "(original)");
#undef CHECK
    return UL_OK;
}

/* ---- figures ---------------------------------------------------------------------------------- */

static void dnum(rp_buf *b, double v) {
    if (isfinite(v)) rp_printf(b, " %.6g", v);
    else rp_puts(b, " NaN");
}

static void two_terminals(rp_buf *s, const char *name, int w, int h, const char *body) {
    rp_printf(s, "set terminal svg size %d,%d font \"Helvetica,12\" noenhanced background rgb \"white\"\n"
                 "set output \"%s.svg\"\n%s"
                 "set output\n"
                 "set terminal pngcairo size %d,%d font \"Helvetica,10\" noenhanced background rgb \"white\"\n"
                 "set output \"%s.png\"\n%s"
                 "set output\n",
              w, h, name, body, w, h, name, body);
}

/* Avg. Gap per method (retrain, the reference, left out), error bars = std over seeds. */
static void gap_plot(const mr_results *r, rp_buf *data, rp_buf *script) {
    rp_puts(data, "# method avg_gap_mean avg_gap_std (percentage points; to each seed's retrain oracle)\n");
    int n = 0;
    for (int i = 0; i < r->n; i++) {
        if (i == r->retrain) continue;
        rp_printf(data, "\"%s\"", r->rows[i].label);
        dnum(data, r->rows[i].mean[MC_GAP]);
        dnum(data, isfinite(r->rows[i].sd[MC_GAP]) ? r->rows[i].sd[MC_GAP] : 0.0);
        rp_puts(data, "\n");
        n++;
    }
    rp_printf(data, "\"(original)\"");
    dnum(data, r->original.mean[MC_GAP]);
    dnum(data, isfinite(r->original.sd[MC_GAP]) ? r->original.sd[MC_GAP] : 0.0);
    rp_puts(data, "\n");
    n++;
    rp_buf body = {0};
    rp_printf(&body,
              "set datafile missing \"NaN\"\n"
              "set style data histogram\nset style histogram errorbars gap 1 lw 1\n"
              "set style fill solid 0.9 border rgb \"#555555\"\nset boxwidth 0.8\n"
              "set yrange [0:*]\nset grid ytics lc rgb \"#dddddd\"\nset key off\n"
              "set ylabel \"Avg. Gap to retrain (points; lower is better)\"\n"
              "set xtics nomirror%s\nset border 3\nset ytics nomirror\n"
              "set title \"Avg. Gap per method: %s, %s, %s (mean and std over %d seed%s)\"\n"
              "plot \"src/gap.dat\" using 2:3:xtic(1) lc rgb \"#2171b5\", "
              "\"\" using ($0):($2):(sprintf(\"%%.2f\", $2)) with labels offset 0,0.8 font \",9\" textcolor rgb \"#333333\"\n",
              n > 8 ? " rotate by -30" : "", r->data, r->arch, r->scenario, r->nseeds, r->nseeds == 1 ? "" : "s");
    int w = 200 + 70 * n;
    if (!body.oom) two_terminals(script, "gap", w < 760 ? 760 : w > 2400 ? 2400 : w, 440, body.s);
    rp_buf_free(&body);
}

static const char *const COLOURS[] = {"#000000", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                                      "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#393b79", "#637939", "#8c6d31"};
#define NCOLOURS ((int)(sizeof COLOURS / sizeof *COLOURS))

/* Per-class test accuracy: the original (grey bars) and, as lines over the classes, retrain and
 * every method. Rows without per-class values are left out. */
static void per_class_plot(const mr_results *r, rp_buf *data, rp_buf *script) {
    rp_puts(data, "# class original retrain");
    for (int i = 0; i < r->n; i++)
        if (i != r->retrain) rp_printf(data, " \"%s\"", r->rows[i].label);
    rp_puts(data, "\n# top-1 % on the test samples of each class, mean over seeds; NaN: no values\n");
    for (int c = 0; c < r->classes; c++) {
        rp_printf(data, "\"%s\"", r->class_names[c]);
        dnum(data, r->original.npc ? r->original.pc_mean[c] : NAN);
        dnum(data, r->rows[r->retrain].npc ? r->rows[r->retrain].pc_mean[c] : NAN);
        for (int i = 0; i < r->n; i++)
            if (i != r->retrain) dnum(data, r->rows[i].npc ? r->rows[i].pc_mean[c] : NAN);
        rp_puts(data, "\n");
    }
    rp_buf body = {0};
    rp_printf(&body,
              "set datafile missing \"NaN\"\n"
              "set style fill solid 0.6 border rgb \"#999999\"\nset boxwidth 0.8\n"
              "set yrange [0:105]\nset ytics 0,10,100\nset grid ytics lc rgb \"#dddddd\"\n"
              "set ylabel \"test accuracy (%%)\"\nset key outside right top vertical samplen 2\n"
              "set xtics nomirror%s\nset border 3\nset ytics nomirror\nset xrange [-0.6:%d.6]\n"
              "set title \"Per-class test accuracy: original (bars) against retrain and every method (mean over seeds)\"\n"
              "plot \"src/per_class.dat\" using 0:2:xtic(1) with boxes lc rgb \"#d9d9d9\" title \"original\", "
              "\"\" using 0:3 with linespoints lw 2.5 pt 7 ps 0.8 lc rgb \"#000000\" title \"retrain\"",
              r->classes > 10 ? " rotate by -45" : "", r->classes - 1);
    int col = 4, ci = 1;
    for (int i = 0; i < r->n; i++) {
        if (i == r->retrain) continue;
        rp_printf(&body, ", \"\" using 0:%d with linespoints lw 1.3 pt %d ps 0.7 lc rgb \"%s\" title \"%s\"", col++,
                  1 + ci % 12, COLOURS[ci % NCOLOURS], r->rows[i].label);
        ci++;
    }
    rp_puts(&body, "\n");
    int w = 360 + 60 * r->classes;
    if (!body.oom) two_terminals(script, "per_class", w < 900 ? 900 : w > 3000 ? 3000 : w, 520, body.s);
    rp_buf_free(&body);
}

/* ---- HTML ---------------------------------------------------------------------------------------- */

static void cell(rp_buf *b, double mean, double sd, int digits, int nseeds) {
    if (!isfinite(mean)) rp_puts(b, "<td>-</td>");
    else if (nseeds > 1 && isfinite(sd)) rp_printf(b, "<td>%.*f &#177; %.*f</td>", digits, mean, digits, sd);
    else rp_printf(b, "<td>%.*f</td>", digits, mean);
}

static void meta(rp_buf *b, const char *k, const char *v, bool code) {
    rp_printf(b, "<tr><th>%s</th><td>%s", k, code ? "<code>" : "");
    rp_html(b, v);
    rp_printf(b, "%s</td></tr>\n", code ? "</code>" : "");
}

static void write_html(rp_buf *b, const ul_report_params *p, const mr_results *r) {
    const char *ver = p->tool_version ? p->tool_version : UL_VERSION_STRING;
    const char *commit = p->tool_commit && p->tool_commit[0] ? p->tool_commit : "unknown";
    char t[2048];
    rp_puts(b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>unlearn method benchmark: ");
    rp_html(b, r->data);
    rp_puts(b, ", ");
    rp_html(b, r->arch);
    rp_puts(b, ", ");
    rp_html(b, r->scenario);
    rp_printf(b, "</title>\n<meta name=\"generator\" content=\"unlearn %s (git %s)\">\n<style>\n%s</style>\n</head>\n<body>\n",
              ver, commit, rp_css);
    rp_puts(b, "<header>\n<h1>Unlearning methods benchmark</h1>\n<p class=\"sub\">");
    snprintf(t, sizeof t, "%s, %s, %s: %.0f forget / %.0f retain / %.0f test samples; %d seed%s (mean ± std)", r->data,
             r->arch, r->scenario, r->n_forget, r->n_retain, r->n_test, r->nseeds, r->nseeds == 1 ? "" : "s");
    rp_html(b, t);
    rp_puts(b, "</p>\n<table class=\"meta\">\n");
    snprintf(t, sizeof t, "unlearn %s, git commit %s", ver, commit);
    meta(b, "report by", t, false);
    snprintf(t, sizeof t, "unlearn %s, git commit %s", r->version, r->commit);
    meta(b, "results by", t, false);
    meta(b, "command", r->command_line, true);
    meta(b, "seeds", r->seeds, false);
    snprintf(t, sizeof t, "%s (sha256 %s)", r->path, r->sha256);
    meta(b, "input file", t, true);
    rp_puts(b, "</table>\n</header>\n");

    rp_puts(b, "<h2 id=\"table\">Results</h2>\n<div class=\"scroll\"><table class=\"models\">\n<tr><th class=\"l\">Method</th>");
    for (int k = 0; k < MC_COUNT; k++) rp_printf(b, "<th>%s</th>", MC_HEAD[k]);
    rp_puts(b, "</tr>\n");
    for (int i = 0; i <= r->n; i++) {
        const mr_row *row = i < r->n ? &r->rows[i] : &r->original;
        rp_puts(b, "<tr><td class=\"l\">");
        rp_html(b, row->label);
        rp_puts(b, "</td>");
        for (int k = 0; k < MC_COUNT; k++) cell(b, row->mean[k], row->sd[k], MC_DIGITS[k], r->nseeds);
        rp_puts(b, "</tr>\n");
    }
    rp_puts(b, "</table></div>\n<p>FA: forget accuracy (%); RA: retain accuracy; TA: accuracy on the full test set; MIA: "
               "<code>mia_entropy_lr</code> (SFR-on: % of the forget set predicted member; the target is retrain's "
               "value); Avg. Gap: mean of the |UA|, |RA|, |TA|, |MIA| differences to the same seed's retrain oracle "
               "(lower is better); KL: KL(retrain &#8214; method) on the forget set (nats); Time: wall time of the "
               "unlearning call, evaluation excluded (retrain's is the oracle's training time). Mean &#177; sample std "
               "over the seeds. (original): the model before unlearning.</p>\n");
    rp_puts(b, "<h2 id=\"gap\">Avg. Gap per method</h2>\n<figure>\n<img src=\"gap.svg\" alt=\"Avg. Gap to retrain per "
               "method\">\n<figcaption>Avg. Gap to retrain per method (mean over seeds, error bars one std; retrain "
               "itself is 0 and left out; the original shows the gap before unlearning). Drawn by gnuplot (<a "
               "href=\"src/gap.gp\">script</a>, <a href=\"src/gap.dat\">data</a>; <a href=\"gap.png\">PNG</a>)."
               "</figcaption>\n</figure>\n");
    bool any_pc = r->original.npc > 0;
    for (int i = 0; i < r->n; i++) any_pc |= r->rows[i].npc > 0;
    rp_puts(b, "<h2 id=\"per-class\">Per-class test accuracy before and after</h2>\n<figure>\n<img src=\"per_class.svg\" "
               "alt=\"per-class test accuracy of the original, retrain and every method\">\n<figcaption>Test accuracy "
               "per class of the original (grey bars), the retrain oracle (black) and every method (mean over seeds). "
               "Drawn by gnuplot (<a href=\"src/per_class.gp\">script</a>, <a href=\"src/per_class.dat\">data</a>; <a "
               "href=\"per_class.png\">PNG</a>).");
    if (!any_pc)
        rp_puts(b, " <b>The results file has no per-class accuracies</b> (written by an older <code>unlearn bench "
                   "methods</code>), so the figure is empty.");
    rp_puts(b, "</figcaption>\n</figure>\n");
    if (any_pc) {
        rp_puts(b, "<div class=\"scroll\"><table class=\"models\">\n<tr><th class=\"l\">class</th><th>original</th>"
                   "<th>retrain</th>");
        for (int i = 0; i < r->n; i++)
            if (i != r->retrain) {
                rp_puts(b, "<th>");
                rp_html(b, r->rows[i].label);
                rp_puts(b, "</th>");
            }
        rp_puts(b, "</tr>\n");
        for (int c = 0; c < r->classes; c++) {
            rp_puts(b, "<tr><td class=\"l\">");
            rp_html(b, r->class_names[c]);
            rp_puts(b, "</td>");
            cell(b, r->original.npc ? r->original.pc_mean[c] : NAN, r->original.pc_sd[c], 1, r->nseeds);
            const mr_row *rt = &r->rows[r->retrain];
            cell(b, rt->npc ? rt->pc_mean[c] : NAN, rt->pc_sd[c], 1, r->nseeds);
            for (int i = 0; i < r->n; i++)
                if (i != r->retrain) cell(b, r->rows[i].npc ? r->rows[i].pc_mean[c] : NAN, r->rows[i].pc_sd[c], 1, r->nseeds);
            rp_puts(b, "</tr>\n");
        }
        rp_puts(b, "</table></div>\n");
    }
    rp_printf(b, "<footer>Written by unlearn %s (git %s) from <code>", ver, commit);
    rp_html(b, r->path);
    rp_printf(b, "</code> (sha256 <code>%s</code>). Figures: gnuplot; see docs/reports.md.</footer>\n</body>\n</html>\n",
              r->sha256);
}

/* ---- the whole report -------------------------------------------------------------------------- */

ul_status rp_methods_write(const ul_report_params *p, const char *out, const char *gnuplot, ul_report_info *info) {
    mr_results *r = calloc(1, sizeof *r);
    if (!r) return ul_fail(UL_E_NOMEM, "out of memory reading '%s'", p->results);
    ul_status st = mr_load(p->results, r);
    if (st != UL_OK) {
        free(r);
        return st;
    }
    snprintf(info->results_sha256, sizeof info->results_sha256, "%s", r->sha256);
    snprintf(info->edges_from, sizeof info->edges_from, "none");
    bool exists = false;
    if ((st = rp_out_dir_ok(out, &exists)) != UL_OK) {
        mr_free(r);
        free(r);
        return st;
    }
    char tmp[2100], src[2200], old[2100];
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out, (long)getpid());
    snprintf(old, sizeof old, "%s.old-%ld", out, (long)getpid());
    snprintf(src, sizeof src, "%s/src", tmp);
    rp_rm_tree(tmp);
    if (mkdir(tmp, 0755) != 0) {
        st = ul_fail(UL_E_IO, "creating the report directory '%s': %s", tmp, strerror(errno));
        mr_free(r);
        free(r);
        return st;
    }
    if (mkdir(src, 0755) != 0) st = ul_fail(UL_E_IO, "creating '%s': %s", src, strerror(errno));
    rp_buf gdat = {0}, ggp = {0}, pdat = {0}, pgp = {0}, html = {0};
    gap_plot(r, &gdat, &ggp);
    per_class_plot(r, &pdat, &pgp);
    if (st == UL_OK) st = rp_put(tmp, "src/gap.dat", &gdat);
    if (st == UL_OK) st = rp_put(tmp, "src/gap.gp", &ggp);
    if (st == UL_OK) st = rp_put(tmp, "src/per_class.dat", &pdat);
    if (st == UL_OK) st = rp_put(tmp, "src/per_class.gp", &pgp);
    const char *gp_gap[] = {gnuplot, "src/gap.gp", NULL};
    const char *gp_pc[] = {gnuplot, "src/per_class.gp", NULL};
    if (st == UL_OK) st = rp_run(gp_gap, tmp, "src/gnuplot.log");
    if (st == UL_OK) st = rp_run(gp_pc, tmp, "src/gnuplot.log");
    static const char *const figs[] = {"gap.svg", "gap.png", "per_class.svg", "per_class.png"};
    for (size_t i = 0; i < sizeof figs / sizeof *figs && st == UL_OK; i++) {
        char fp[2400];
        struct stat sb;
        snprintf(fp, sizeof fp, "%s/%s", tmp, figs[i]);
        if (stat(fp, &sb) != 0 || sb.st_size == 0) st = ul_fail(UL_E_IO, "the figure %s was not written (see gnuplot's output)", figs[i]);
    }
    if (st == UL_OK) {
        char lp[2400];
        snprintf(lp, sizeof lp, "%s/gnuplot.log", src);
        unlink(lp);
        write_html(&html, p, r);
        st = rp_put(tmp, "index.html", &html);
    }
    rp_buf_free(&gdat);
    rp_buf_free(&ggp);
    rp_buf_free(&pdat);
    rp_buf_free(&pgp);
    rp_buf_free(&html);
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
    else info->figures = 2;
    mr_free(r);
    free(r);
    return st;
}
