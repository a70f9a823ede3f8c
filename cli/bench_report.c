/* cli/bench_report.c: the outputs of `unlearn bench methods` (see bench.h): results JSON (config,
 * version, git commit, seeds, hashes, every metric per method and seed, mean and sample std),
 * CSV (one row per method and seed, then mean and std rows), Markdown and the stdout table in the
 * SFR-on paper's layout (FA, RA, TA, MIA, Avg. Gap, KL, time). It formats and aggregates only;
 * every metric was computed by ul_protocol_*. Nothing time-dependent but the run times is recorded.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "common.h"

/* ---- metrics of a row ---------------------------------------------------------------------- */

typedef enum metric {
    MX_FA, MX_UA, MX_RA, MX_TA, MX_TA_REMAIN, MX_TA_FORGET, MX_MIA_LR, MX_MIA_SVC, MX_KL, MX_JS, MX_GAP, MX_SECONDS,
    MX_PREP, MX_STEPS, MX_FSTEPS, MX_COUNT
} metric;

static const char *const MX_NAME[MX_COUNT] = {"fa", "ua", "ra", "ta", "ta_remain", "ta_forget", "mia_entropy_lr",
                                              "mia_svc_confidence", "kl", "js", "avg_gap", "seconds", "prep_seconds",
                                              "steps", "forget_steps"};

static double mx(const bench_row *r, metric k) {
    const ul_protocol_metrics *m = &r->m;
    switch (k) {
    case MX_FA: return m->acc.fa;
    case MX_UA: return m->acc.ua;
    case MX_RA: return m->acc.ra;
    case MX_TA: return m->acc.ta;
    case MX_TA_REMAIN: return m->acc.ta_remain;
    case MX_TA_FORGET: return m->acc.ta_forget;
    case MX_MIA_LR: return m->mia_entropy_lr;
    case MX_MIA_SVC: return m->mia_svc_confidence;
    case MX_KL: return m->kl;
    case MX_JS: return m->js;
    case MX_GAP: return r->gap;
    case MX_SECONDS: return m->seconds;
    case MX_PREP: return m->prep_seconds;
    case MX_STEPS: return (double)m->steps;
    case MX_FSTEPS: return (double)m->forget_steps;
    default: return NAN;
    }
}

/* Mean and sample std (ddof 1) over the seeds; NaN when a value is missing (NaN). */
static void stat(const bench_row *rows, int n, metric k, double *mean, double *sd) {
    double x[BENCH_MAX_SEEDS];
    *mean = *sd = NAN;
    for (int i = 0; i < n; i++) {
        x[i] = mx(&rows[i], k);
        if (!isfinite(x[i])) return;
    }
    if (ul_mean_std(x, (size_t)n, 1, mean, sd) != UL_OK) *mean = *sd = NAN;
}

/* DualOptim's Avg. Gap: of the seed-averaged metrics. */
static double gap_of_means(const bench_row *rows, const bench_row *rt, int n) {
    static const metric G[4] = {MX_UA, MX_RA, MX_TA, MX_MIA_LR};
    double s = 0.0, a, b, sd;
    for (int i = 0; i < 4; i++) {
        stat(rows, n, G[i], &a, &sd);
        stat(rt, n, G[i], &b, &sd);
        s += fabs(a - b);
    }
    return s / 4.0;
}

static cJSON *num(double v) { return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull(); }

static cJSON *seed_num(uint64_t s) {
    if (s <= (UINT64_C(1) << 53)) return cJSON_CreateNumber((double)s);
    char b[32];
    snprintf(b, sizeof b, "%llu", (unsigned long long)s);
    return cJSON_CreateString(b);
}

static const bench_row *retrain_rows(const bench_report *r) { return r->methods[0].rows; }

/* ---- JSON ---------------------------------------------------------------------------------- */

static cJSON *row_json(const bench_row *row, bool reference) {
    cJSON *j = cJSON_CreateObject();
    for (int k = 0; k < MX_COUNT; k++) {
        if (reference && (k == MX_PREP || k == MX_STEPS || k == MX_FSTEPS)) continue;
        if (k == MX_STEPS || k == MX_FSTEPS) cJSON_AddNumberToObject(j, MX_NAME[k], mx(row, (metric)k));
        else cJSON_AddItemToObject(j, MX_NAME[k], num(mx(row, (metric)k)));
    }
    if (!reference) {
        cJSON_AddNumberToObject(j, "mask_kept", (double)row->m.mask_kept);
        cJSON_AddNumberToObject(j, "mask_total", (double)row->m.mask_total);
    }
    if (row->m.n_per_class > 0) {
        cJSON *pc = cJSON_AddArrayToObject(j, "per_class_ta");
        for (int c = 0; c < row->m.n_per_class; c++) cJSON_AddItemToArray(pc, num(row->m.per_class_ta[c]));
    }
    cJSON_AddNumberToObject(j, "eval_seconds", round(row->m.eval_seconds * 1000.0) / 1000.0);
    cJSON_AddStringToObject(j, "model_hash", row->m.model_hash);
    if (row->diverged) cJSON_AddBoolToObject(j, "diverged", true);
    if (reference) {
        cJSON_AddBoolToObject(j, "cached", row->cached);
        cJSON_AddStringToObject(j, "checkpoint", row->ckpt);
    }
    return j;
}

static cJSON *summary_json(const char *name, const bench_row *rows, const bench_report *r) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "method", name);
    cJSON_AddNumberToObject(s, "n_seeds", r->nseeds);
    double mean, sd;
    for (int k = 0; k < MX_COUNT; k++) {
        stat(rows, r->nseeds, (metric)k, &mean, &sd);
        cJSON *o = cJSON_AddObjectToObject(s, MX_NAME[k]);
        cJSON_AddItemToObject(o, "mean", num(mean));
        cJSON_AddItemToObject(o, "std", num(sd));
    }
    cJSON_AddItemToObject(s, "avg_gap_of_means", num(gap_of_means(rows, retrain_rows(r), r->nseeds)));
    /* per-class test accuracy: mean and sample std over the seeds, per label */
    const int npc = rows[0].m.n_per_class;
    if (npc > 0) {
        cJSON *o = cJSON_AddObjectToObject(s, "per_class_ta");
        cJSON *ma = cJSON_AddArrayToObject(o, "mean"), *sa = cJSON_AddArrayToObject(o, "std");
        for (int c = 0; c < npc; c++) {
            double x[BENCH_MAX_SEEDS];
            bool ok = true;
            for (int i = 0; i < r->nseeds; i++) {
                x[i] = rows[i].m.n_per_class == npc ? rows[i].m.per_class_ta[c] : NAN;
                ok = ok && isfinite(x[i]);
            }
            if (!ok || ul_mean_std(x, (size_t)r->nseeds, 1, &mean, &sd) != UL_OK) mean = sd = NAN;
            cJSON_AddItemToArray(ma, num(mean));
            cJSON_AddItemToArray(sa, num(sd));
        }
    }
    double rt, rsd;
    stat(retrain_rows(r), r->nseeds, MX_SECONDS, &rt, &rsd);
    stat(rows, r->nseeds, MX_SECONDS, &mean, &sd);
    cJSON_AddItemToObject(s, "time_ratio_to_retrain", num(rt > 0 ? mean / rt : NAN));
    return s;
}

static cJSON *params_json(const ul_unlearn_params *p) {
    cJSON *o = cJSON_CreateObject();
    const char *keys[64];
    size_t n = ul_unlearn_param_keys(p->method, keys, 64);
    for (size_t i = 0; i < n && i < 64; i++) {
        char v[64];
        if (ul_unlearn_param_get(p, keys[i], v, sizeof v) != UL_OK) continue;
        if (ul_unlearn_param_is_numeric(keys[i])) cJSON_AddNumberToObject(o, keys[i], strtod(v, NULL));
        else cJSON_AddStringToObject(o, keys[i], v);
    }
    return o;
}

cJSON *bench_results_json(const bench_report *r) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "tool", "unlearn");
    cJSON_AddStringToObject(j, "version", UL_VERSION_STRING);
    cJSON_AddStringToObject(j, "git_commit", UL_GIT_COMMIT);
    cJSON_AddStringToObject(j, "command", "bench methods");
    cJSON_AddStringToObject(j, "command_line", r->command_line);

    cJSON *cfg = cJSON_AddObjectToObject(j, "config");
    cJSON_AddStringToObject(cfg, "data", r->data);
    cJSON_AddStringToObject(cfg, "data_hash", r->data_hash);
    cJSON_AddStringToObject(cfg, "test_hash", r->test_hash);
    cJSON_AddStringToObject(cfg, "arch", r->arch);
    cJSON_AddNumberToObject(cfg, "classes", r->classes);
    const char *const *cn = cli_known_class_names(r->data, r->classes);
    if (cn) {
        cJSON *na = cJSON_AddArrayToObject(cfg, "class_names");
        for (int c = 0; c < r->classes; c++) cJSON_AddItemToArray(na, cJSON_CreateString(cn[c]));
    }
    cJSON *sc = cJSON_AddObjectToObject(cfg, "scenario");
    static const char *const KIND[3] = {"random", "class", "ids"};
    cJSON_AddStringToObject(sc, "kind", KIND[r->scenario]);
    cJSON_AddStringToObject(sc, "text", r->scenario_text);
    if (r->scenario == BENCH_RANDOM) {
        cJSON_AddNumberToObject(sc, "percent", r->percent);
        cJSON_AddItemToObject(sc, "split_seed", seed_num(r->split_seed));
        cJSON_AddStringToObject(sc, "split", "CPython random.seed(split_seed); random.shuffle(range(n)); forget = first int(n * percent / 100)");
    } else if (r->scenario == BENCH_CLASS) {
        cJSON *fc = cJSON_AddArrayToObject(sc, "forget_classes");
        for (size_t i = 0; i < r->nforget_classes; i++) cJSON_AddItemToArray(fc, cJSON_CreateNumber(r->forget_classes[i]));
    } else {
        cJSON_AddStringToObject(sc, "ids_file", r->ids_file);
        cJSON_AddStringToObject(sc, "ids_file_sha256", r->ids_file_hash ? r->ids_file_hash : "");
    }
    cJSON_AddNumberToObject(cfg, "n_forget", (double)r->n_forget);
    cJSON_AddNumberToObject(cfg, "n_retain", (double)r->n_retain);
    cJSON_AddNumberToObject(cfg, "n_test", (double)r->n_test);
    cJSON_AddStringToObject(cfg, "split_hash", r->split_hash);
    const ul_train_config *rc = r->recipe;
    cJSON *re = cJSON_AddObjectToObject(cfg, "recipe");
    cJSON_AddStringToObject(re, "applies_to", "original (all training samples) and retrain oracle (retain set)");
    cJSON_AddNumberToObject(re, "epochs", rc->epochs);
    cJSON_AddNumberToObject(re, "batch", rc->batch_size);
    cJSON_AddStringToObject(re, "optimizer", "sgd");
    cJSON_AddNumberToObject(re, "lr", rc->optim.lr);
    cJSON_AddNumberToObject(re, "momentum", rc->optim.momentum);
    cJSON_AddBoolToObject(re, "nesterov", rc->optim.nesterov);
    cJSON_AddNumberToObject(re, "weight_decay", rc->optim.weight_decay);
    cJSON_AddStringToObject(re, "schedule", "cosine per iteration");
    cJSON_AddBoolToObject(re, "augment", r->augment);
    cJSON_AddNumberToObject(cfg, "threads", r->threads);
    cJSON_AddStringToObject(cfg, "cache", r->cache_dir);
    cJSON_AddStringToObject(cfg, "overrides", r->set_text);
    cJSON_AddStringToObject(cfg, "sweep", r->sweep_text);
    cJSON *sa = cJSON_AddArrayToObject(cfg, "seeds");
    for (int i = 0; i < r->nseeds; i++) cJSON_AddItemToArray(sa, seed_num(r->seeds[i]));
    cJSON *ms = cJSON_AddArrayToObject(cfg, "methods");
    for (int i = 0; i < r->nmethods; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "name", ul_unlearn_method_name(r->methods[i].id));
        cJSON_AddStringToObject(m, "label", r->methods[i].label);
        if (r->methods[i].id == UL_UNLEARN_RETRAIN) cJSON_AddStringToObject(m, "params", "the recipe on the retain set");
        else cJSON_AddItemToObject(m, "params", params_json(&r->methods[i].params));
        cJSON_AddItemToArray(ms, m);
    }
    cJSON *defs = cJSON_AddObjectToObject(cfg, "definitions");
    cJSON_AddStringToObject(defs, "fa", "top-1 % on the forget set; ua = 100 - fa");
    cJSON_AddStringToObject(defs, "ra", "top-1 % on the retain set");
    cJSON_AddStringToObject(defs, "ta", "top-1 % on the full test set; ta_remain / ta_forget: test samples of the "
                                        "remaining / forgotten classes (class-wise only)");
    cJSON_AddStringToObject(defs, "mia_entropy_lr", "SFR-on MIA: % of the forget set predicted member (target: retrain's value)");
    cJSON_AddStringToObject(defs, "mia_svc_confidence", "SalUn MIA-Efficacy: % of the forget set predicted non-member");
    cJSON_AddStringToObject(defs, "kl", "mean over the forget set of KL(p_retrain || p_method), nats; js likewise");
    cJSON_AddStringToObject(defs, "avg_gap", "mean of |ua|, |ra|, |ta|, |mia_entropy_lr| differences to the same "
                                             "seed's retrain oracle; avg_gap_of_means: the same on seed means");
    cJSON_AddStringToObject(defs, "seconds", "wall time of the unlearning call (Fisher/mask passes included, "
                                             "evaluation excluded); retrain: the oracle's training time, original: its training time");
    cJSON_AddStringToObject(defs, "per_class_ta", "top-1 % on the test samples of each label (index = label; "
                                                  "null: no test samples), from the same predictions as ta");
    cJSON_AddStringToObject(defs, "std", "sample standard deviation over seeds (ddof 1)");

    cJSON *runs = cJSON_AddArrayToObject(j, "runs");
    for (int s = 0; s < r->nseeds; s++) {
        cJSON *run = cJSON_CreateObject();
        cJSON_AddItemToObject(run, "seed", seed_num(r->seeds[s]));
        cJSON_AddItemToObject(run, "original", row_json(&r->original[s], true));
        cJSON *res = cJSON_AddObjectToObject(run, "methods");
        for (int i = 0; i < r->nmethods; i++)
            cJSON_AddItemToObject(res, r->methods[i].label,
                                  row_json(&r->methods[i].rows[s], r->methods[i].id == UL_UNLEARN_RETRAIN));
        cJSON_AddItemToArray(runs, run);
    }
    cJSON *sum = cJSON_AddArrayToObject(j, "summary");
    for (int i = 0; i < r->nmethods; i++)
        cJSON_AddItemToArray(sum, summary_json(r->methods[i].label, r->methods[i].rows, r));
    cJSON_AddItemToObject(j, "original_summary", summary_json("original", r->original, r));
    return j;
}

/* ---- text buffers -------------------------------------------------------------------------- */

typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const char *fmt, ...) UL_PRINTF(2, 3);
static void sb_add(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    va_list ap;
    va_start(ap, fmt);
    int k = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (k < 0) return;
    if (b->n + (size_t)k + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (b->n + (size_t)k + 1 > cap) cap *= 2;
        char *q = realloc(b->p, cap);
        if (!q) {
            b->oom = true;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
    va_end(ap);
    b->n += (size_t)k;
}

static char *sb_take(sbuf *b) {
    if (b->oom || !b->p) {
        free(b->p);
        return NULL;
    }
    return b->p;
}

/* ---- CSV ----------------------------------------------------------------------------------- */

static void csv_num(sbuf *b, double v) {
    if (isfinite(v)) sb_add(b, ",%.10g", v);
    else sb_add(b, ",");
}

static void csv_rows(sbuf *b, const char *name, const bench_row *rows, const bench_report *r, bool reference) {
    for (int s = 0; s < r->nseeds; s++) {
        sb_add(b, "%s,%llu,%s", name, (unsigned long long)r->seeds[s], reference ? (rows[s].cached ? "yes" : "no") : "");
        for (int k = 0; k < MX_COUNT; k++) csv_num(b, mx(&rows[s], (metric)k));
        sb_add(b, ",%s\n", rows[s].m.model_hash);
    }
    for (int w = 0; w < 2; w++) {
        sb_add(b, "%s,%s,", name, w == 0 ? "mean" : "std");
        for (int k = 0; k < MX_COUNT; k++) {
            double mean, sd;
            stat(rows, r->nseeds, (metric)k, &mean, &sd);
            csv_num(b, w == 0 ? mean : sd);
        }
        sb_add(b, ",\n");
    }
}

char *bench_results_csv(const bench_report *r) {
    sbuf b = {0};
    sb_add(&b, "method,seed,cached");
    for (int k = 0; k < MX_COUNT; k++) sb_add(&b, ",%s", MX_NAME[k]);
    sb_add(&b, ",model_hash\n");
    for (int i = 0; i < r->nmethods; i++)
        csv_rows(&b, r->methods[i].label, r->methods[i].rows, r, r->methods[i].id == UL_UNLEARN_RETRAIN);
    csv_rows(&b, "original", r->original, r, true);
    return sb_take(&b);
}

/* ---- tables -------------------------------------------------------------------------------- */

/* "92.51 ± 0.32" (digits after the point), or "92.51" for one seed, "-" when missing. */
static void cell(char *out, size_t cap, const bench_row *rows, int n, metric k, int digits) {
    double mean, sd;
    stat(rows, n, k, &mean, &sd);
    if (!isfinite(mean)) snprintf(out, cap, "-");
    else if (isfinite(sd)) snprintf(out, cap, "%.*f ± %.*f", digits, mean, digits, sd);
    else snprintf(out, cap, "%.*f", digits, mean);
}

typedef struct trow {
    const char *name;
    const bench_row *rows;
} trow;

static int table_rows(const bench_report *r, trow *t) {
    int n = 0;
    for (int i = 0; i < r->nmethods; i++) t[n++] = (trow){r->methods[i].label, r->methods[i].rows};
    t[n++] = (trow){"(original)", r->original};
    return n;
}

static const metric MAIN[7] = {MX_FA, MX_RA, MX_TA, MX_MIA_LR, MX_GAP, MX_KL, MX_SECONDS};
static const int MAIN_DIGITS[7] = {2, 2, 2, 2, 2, 4, 1};
static const char *const MAIN_HEAD[7] = {"FA", "RA", "TA", "MIA", "Avg. Gap", "KL", "Time (s)"};

/* Display width of a UTF-8 string (± is one column). */
static int ucols(const char *s) {
    int c = 0;
    for (; *s; s++) c += ((unsigned char)*s & 0xC0) != 0x80;
    return c;
}

static void pad(FILE *f, const char *s, int w, bool right) {
    int k = ucols(s);
    if (right)
        for (; k < w; k++) fputc(' ', f);
    fputs(s, f);
    if (!right)
        for (; k < w; k++) fputc(' ', f);
}

void bench_print_table(const bench_report *r, FILE *f) {
    trow *t = malloc(sizeof *t * (size_t)(r->nmethods + 1));
    char(*cells)[7][48] = malloc(sizeof *cells * (size_t)(r->nmethods + 1));
    if (!t || !cells) {
        free(t);
        free(cells);
        fprintf(f, "(out of memory printing the table; see results.md)\n");
        return;
    }
    const int nt = table_rows(r, t);
    int w[8] = {6, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < nt; i++) {
        if (ucols(t[i].name) > w[0]) w[0] = ucols(t[i].name);
        for (int k = 0; k < 7; k++) {
            cell(cells[i][k], sizeof cells[i][k], t[i].rows, r->nseeds, MAIN[k], MAIN_DIGITS[k]);
            if (ucols(cells[i][k]) > w[k + 1]) w[k + 1] = ucols(cells[i][k]);
        }
    }
    for (int k = 0; k < 7; k++)
        if (ucols(MAIN_HEAD[k]) > w[k + 1]) w[k + 1] = ucols(MAIN_HEAD[k]);
    fprintf(f, "%s, %s, %s: %zu forget / %zu retain / %zu test; %d seed%s (mean ± std)\n", r->data, r->arch,
            r->scenario_text, r->n_forget, r->n_retain, r->n_test, r->nseeds, r->nseeds == 1 ? "" : "s");
    pad(f, "method", w[0], false);
    for (int k = 0; k < 7; k++) {
        fputs("  ", f);
        pad(f, MAIN_HEAD[k], w[k + 1], true);
    }
    fputc('\n', f);
    for (int i = 0; i < nt; i++) {
        pad(f, t[i].name, w[0], false);
        for (int k = 0; k < 7; k++) {
            fputs("  ", f);
            pad(f, cells[i][k], w[k + 1], true);
        }
        fputc('\n', f);
    }
    fprintf(f, "MIA = mia_entropy_lr (target: retrain's value); Avg. Gap over UA, RA, TA, MIA to each seed's retrain; "
               "KL(retrain || method) on the forget set; retrain's time is its training time\n");
    free(t);
    free(cells);
}

char *bench_results_md(const bench_report *r) {
    sbuf b = {0};
    trow *t = malloc(sizeof *t * (size_t)(r->nmethods + 1));
    if (!t) return NULL;
    const int nt = table_rows(r, t);
    char c[64];
    sb_add(&b, "# Unlearning methods: %s, %s, %s\n\n", r->data, r->arch, r->scenario_text);
    sb_add(&b, "- Command: `%s`\n", r->command_line);
    sb_add(&b, "- unlearn %s, git %s; threads %d; seeds", UL_VERSION_STRING, UL_GIT_COMMIT, r->threads);
    for (int s = 0; s < r->nseeds; s++) sb_add(&b, "%s %llu", s ? "," : "", (unsigned long long)r->seeds[s]);
    sb_add(&b, "\n- Data: %s (train SHA-256 `%.16s…`, test `%.16s…`); forget %zu / retain %zu / test %zu; split `%.16s…`\n",
           r->data, r->data_hash, r->test_hash, r->n_forget, r->n_retain, r->n_test, r->split_hash);
    sb_add(&b, "- Original and retrain oracle: %d epochs, batch %d, SGD lr %g, %smomentum %g, wd %g, cosine per iteration, "
               "%saugmentation\n",
           r->recipe->epochs, r->recipe->batch_size, r->recipe->optim.lr, r->recipe->optim.nesterov ? "Nesterov " : "",
           r->recipe->optim.momentum, r->recipe->optim.weight_decay, r->augment ? "" : "no ");
    sb_add(&b, "- Method parameters: defaults of `ul_unlearn_defaults`%s%s%s%s%s%s\n\n", r->set_text[0] ? " with `--set " : "",
           r->set_text, r->set_text[0] ? "`" : "", r->sweep_text[0] ? "; grid `--sweep " : "", r->sweep_text,
           r->sweep_text[0] ? "`" : "");
    sb_add(&b, "| Method |");
    for (int k = 0; k < 7; k++) sb_add(&b, " %s |", MAIN_HEAD[k]);
    sb_add(&b, "\n|---|");
    for (int k = 0; k < 7; k++) sb_add(&b, "---:|");
    sb_add(&b, "\n");
    for (int i = 0; i < nt; i++) {
        sb_add(&b, "| %s |", t[i].name);
        for (int k = 0; k < 7; k++) {
            cell(c, sizeof c, t[i].rows, r->nseeds, MAIN[k], MAIN_DIGITS[k]);
            sb_add(&b, " %s |", c);
        }
        sb_add(&b, "\n");
    }
    sb_add(&b, "\nMean ± sample std over %d seed%s. FA: forget accuracy (UA = 100 − FA); RA: retain accuracy; TA: "
               "accuracy on the full test set; MIA: `mia_entropy_lr` (SFR-on: %% of the forget set predicted member; "
               "the target is retrain's value); Avg. Gap: mean of |UA|, |RA|, |TA|, |MIA| differences to the same seed's "
               "retrain oracle; KL: KL(retrain ‖ method) on the forget set (nats); Time: wall time of the unlearning call "
               "(Fisher/mask passes included, evaluation excluded) — retrain's is the oracle's training time. "
               "(original): the model before unlearning.\n\n",
           r->nseeds, r->nseeds == 1 ? "" : "s");

    const bool cw = r->scenario == BENCH_CLASS;
    sb_add(&b, "## More metrics\n\n| Method | UA |%s MIA-SVC | JS | Time / retrain | Avg. Gap of means | Steps |\n",
           cw ? " TA (remaining) | TA (forgotten) |" : "");
    sb_add(&b, "|---|---:|%s---:|---:|---:|---:|---:|\n", cw ? "---:|---:|" : "");
    double rt, rsd;
    stat(retrain_rows(r), r->nseeds, MX_SECONDS, &rt, &rsd);
    for (int i = 0; i < nt; i++) {
        sb_add(&b, "| %s |", t[i].name);
        cell(c, sizeof c, t[i].rows, r->nseeds, MX_UA, 2);
        sb_add(&b, " %s |", c);
        if (cw) {
            cell(c, sizeof c, t[i].rows, r->nseeds, MX_TA_REMAIN, 2);
            sb_add(&b, " %s |", c);
            cell(c, sizeof c, t[i].rows, r->nseeds, MX_TA_FORGET, 2);
            sb_add(&b, " %s |", c);
        }
        cell(c, sizeof c, t[i].rows, r->nseeds, MX_MIA_SVC, 2);
        sb_add(&b, " %s |", c);
        cell(c, sizeof c, t[i].rows, r->nseeds, MX_JS, 4);
        sb_add(&b, " %s |", c);
        double mean, sd;
        stat(t[i].rows, r->nseeds, MX_SECONDS, &mean, &sd);
        if (rt > 0 && isfinite(mean)) sb_add(&b, " %.1f%% |", 100.0 * mean / rt);
        else sb_add(&b, " - |");
        sb_add(&b, " %.2f |", gap_of_means(t[i].rows, retrain_rows(r), r->nseeds));
        stat(t[i].rows, r->nseeds, MX_STEPS, &mean, &sd);
        if (isfinite(mean) && i > 0 && i < r->nmethods) sb_add(&b, " %.0f |\n", mean);
        else sb_add(&b, " - |\n");
    }
    sb_add(&b, "\nMIA-SVC: `mia_svc_confidence` (SalUn's MIA-Efficacy, %% predicted non-member). JS: Jensen–Shannon "
               "divergence to retrain on the forget set. Avg. Gap of means: the gap of the seed-averaged metrics "
               "(DualOptim's parse_result.py).\n\n");

    sb_add(&b, "## Avg. Gap per seed\n\n| Method |");
    for (int s = 0; s < r->nseeds; s++) sb_add(&b, " seed %llu |", (unsigned long long)r->seeds[s]);
    sb_add(&b, "\n|---|");
    for (int s = 0; s < r->nseeds; s++) sb_add(&b, "---:|");
    sb_add(&b, "\n");
    for (int i = 0; i < nt; i++) {
        sb_add(&b, "| %s |", t[i].name);
        for (int s = 0; s < r->nseeds; s++) sb_add(&b, " %.2f |", t[i].rows[s].gap);
        sb_add(&b, "\n");
    }
    free(t);
    return sb_take(&b);
}
