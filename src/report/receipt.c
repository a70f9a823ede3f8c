/* ul_receipt_verify (report.h): checks a stored deletion receipt against the network it came from:
 * objects re-hashed, the registry's versions made by the request compared with the receipt's
 * before/after hashes, and forget/retained accuracy recomputed exactly as ul_forget measures them
 * (test split by label-set membership, or the stored sample-id list on the training split; the
 * recipe's normalisation; one model per thread, each single-threaded).
 * Deliberately read-only and lenient about what it cannot judge: a receipt field that is only
 * informative (method, parameters, timings) is not checked, and a model changed again by a later
 * request is noted, not failed.
 */
#include "unlearn/report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "unlearn/data.h"
#include "unlearn/rng.h"
#include "net/net_internal.h"
#include "unlearn/train.h"

void ul_receipt_check_free(ul_receipt_check *c) {
    if (!c) return;
    for (size_t i = 0; i < c->n; i++) free(c->models[i].problems);
    free(c->models);
    free(c->problems);
    memset(c, 0, sizeof *c);
}

/* Append one line to a malloc'd text (kept "" on allocation failure of the addition). */
static void add_line(char **text, const char *fmt, ...) UL_PRINTF(2, 3);
static void add_line(char **text, const char *fmt, ...) {
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    size_t old = *text ? strlen(*text) : 0, add = strlen(line);
    char *t = realloc(*text, old + add + 2);
    if (!t) return;
    memcpy(t + old, line, add);
    t[old + add] = '\n';
    t[old + add + 1] = '\0';
    *text = t;
}

static bool hex_ok(const char *s) {
    if (!s || strlen(s) != 64) return false;
    for (int i = 0; i < 64; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) return false;
    return true;
}

/* objects/<hex>.<ext> exists and re-hashes to hex; else a line in *problems naming `what`. */
static bool object_ok(ul_net *n, const char *hex, const char *ext, const char *what, char **problems) {
    if (!hex_ok(hex)) {
        add_line(problems, "%s: '%.70s' is not a SHA-256", what, hex ? hex : "(missing)");
        return false;
    }
    char path[4096], got[65];
    snprintf(path, sizeof path, "%s/objects/%s.%s", ul_net_dir(n), hex, ext);
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        add_line(problems, "%s: objects/%s.%s does not exist", what, hex, ext);
        return false;
    }
    if (ul_sha256_file(path, got) != UL_OK) {
        add_line(problems, "%s: objects/%s.%s cannot be read: %s", what, hex, ext, ul_last_error());
        return false;
    }
    if (strcmp(got, hex) != 0) {
        add_line(problems, "%s: objects/%s.%s is corrupt: its content hashes to %s", what, hex, ext, got);
        return false;
    }
    return true;
}


/* Accuracy in percent of m on the samples of `src` whose label is in labels (-1 when none). */
static double acc_labels(ul_model *m, const ul_view *src, const ul_transform *tf, const int32_t *labels, size_t nl,
                         size_t *count, ul_status *st) {
    ul_view *v = NULL;
    double acc = -1.0;
    *count = 0;
    if (nl == 0) return -1.0;
    ul_status s = ul_view_filter_labels(src, labels, nl, true, &v);
    if (s == UL_OK && v->n > 0) {
        ul_eval_result r;
        if ((s = ul_evaluate(m, v, tf, 256, &r)) == UL_OK) {
            acc = 100.0 * (double)r.correct / (double)r.n;
            *count = r.n;
            ul_eval_result_free(&r);
        }
    }
    ul_view_free(v);
    if (s != UL_OK) *st = s;
    return acc;
}

/* A number field of a receipt entry; false (and a problem line) when absent or not a number. */
static bool num_field(const cJSON *o, const char *key, size_t idx, double *out, char **problems) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(x)) {
        add_line(problems, "receipt field affected[%zu].%s is %s", idx, key, x ? "not a number" : "missing");
        return false;
    }
    *out = x->valuedouble;
    return true;
}

/* One loaded split per dataset spec (models of a network normally share one). */
typedef struct data_cache {
    char spec[256];
    ul_dataset *test, *train; /* train only for sample requests */
    ul_view *test_all, *forget; /* the whole test split; the request's samples */
    ul_status st;
    char err[512];
} data_cache;

typedef struct model_job {
    ul_node after, before;   /* registry rows with the receipt's checkpoints */
    bool have_after, have_before;
    double want[4];          /* receipt: forget before, forget after, retain before, retain after */
    bool want_ok[4];
    int data;                /* index into the data cache, -1 when no evaluation is possible */
} model_job;

static void eval_model(ul_net *n, model_job *j, data_cache *dc, const int32_t *U, size_t nU, bool samples,
                       ul_receipt_model *o) {
    int32_t fl[1024], rl[1024];
    size_t nfl = 0, nrl = 0;
    for (int side = 0; side < 2; side++) {
        const bool aft = side == 1;
        const ul_node *nd = aft ? &j->after : &j->before;
        if (!(aft ? j->have_after : j->have_before)) continue;
        ul_net_known_split(nd, U, nU, fl, &nfl, rl, &nrl);
        ul_model *m = NULL;
        ul_status st = ul_net_load_model(n, nd, &m);
        if (st != UL_OK) {
            add_line(&o->problems, "%s checkpoint cannot be loaded: %s", aft ? "after" : "before", ul_last_error());
            continue;
        }
        ul_transform tf = ul_net_node_transform(nd);
        ul_status es = UL_OK;
        size_t fn = 0, rn = 0;
        /* sample requests measure "forget" on the forget samples of every label the model knows */
        double fa = samples ? acc_labels(m, dc->forget, &tf, rl, nrl, &fn, &es)
                            : acc_labels(m, dc->test_all, &tf, fl, nfl, &fn, &es);
        double ra = acc_labels(m, dc->test_all, &tf, rl, nrl, &rn, &es);
        ul_model_free(m);
        if (es != UL_OK) {
            add_line(&o->problems, "evaluating the %s checkpoint failed: %s", aft ? "after" : "before", ul_last_error());
            continue;
        }
        if (aft) {
            o->forget_acc_after = fa;
            o->retain_acc_after = ra;
            o->forget_n = fn;
            o->retain_n = rn;
        } else {
            o->forget_acc_before = fa;
            o->retain_acc_before = ra;
        }
    }
}

static void compare_acc(ul_receipt_model *o, const model_job *j, bool samples) {
    static const char *const what[4] = {"forget accuracy before", "forget accuracy after", "retained accuracy before",
                                        "retained accuracy after"};
    const double got[4] = {o->forget_acc_before, o->forget_acc_after, o->retain_acc_before, o->retain_acc_after};
    for (int k = 0; k < 4; k++) {
        if (!j->want_ok[k] || isnan(got[k])) continue;
        const double w = j->want[k], g = got[k];
        const bool none_w = w < 0, none_g = g < 0;
        if (none_w && none_g) continue;
        if (none_w != none_g || fabs(g - w) > UL_RECEIPT_ACC_TOL) {
            char gs[64], ws[64];
            const size_t cnt = k % 2 == 0 ? 0 : (k == 1 ? o->forget_n : o->retain_n);
            if (none_g) snprintf(gs, sizeof gs, "none (no samples)");
            else if (cnt) snprintf(gs, sizeof gs, "%.2f%% on %zu %s", g, cnt, k < 2 && samples ? "forget samples" : "test samples");
            else snprintf(gs, sizeof gs, "%.2f%%", g);
            if (none_w) snprintf(ws, sizeof ws, "none (-1)");
            else snprintf(ws, sizeof ws, "%.2f%%", w);
            add_line(&o->problems, "%s differs: recomputed %s, the receipt says %s", what[k], gs, ws);
        }
    }
}

ul_status ul_receipt_verify(ul_net *n, const ul_net_request *rq, int threads, ul_receipt_check *out) {
    if (out) memset(out, 0, sizeof *out);
    if (!n || !rq || !out) return ul_fail(UL_E_ARG, "ul_receipt_verify: NULL argument");
    ul_status st = UL_OK;
    cJSON *rec = cJSON_Parse(rq->receipt ? rq->receipt : ""), *reqrow = cJSON_Parse(rq->request ? rq->request : "");
    int32_t *U = NULL, *ids = NULL;
    size_t nU = 0, nids = 0;
    bool samples = false, request_ok = true;
    model_job *jobs = NULL;
    data_cache *dc = NULL;
    size_t ndc = 0;
    ul_node *all = NULL;
    size_t nall = 0;
    out->problems = calloc(1, 1);
    if (!out->problems) { st = UL_E_NOMEM; goto done; }

    if (!cJSON_IsObject(rec)) {
        add_line(&out->problems, "the stored receipt of request %lld is not a JSON object", (long long)rq->id);
        goto done;
    }
    /* the request: labels, or a sample-id list stored as an object */
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(rec, "request");
    if (!cJSON_IsObject(req)) {
        add_line(&out->problems, "receipt field request is %s", req ? "not an object" : "missing");
        request_ok = false;
    } else if (reqrow && !cJSON_Compare(req, reqrow, true)) {
        char *a = cJSON_PrintUnformatted(req), *b = cJSON_PrintUnformatted(reqrow);
        add_line(&out->problems, "the receipt's request %.300s differs from the registry's request row %.300s",
                 a ? a : "?", b ? b : "?");
        free(a);
        free(b);
    }
    const cJSON *labels = req ? cJSON_GetObjectItemCaseSensitive(req, "labels") : NULL;
    const cJSON *smp = req ? cJSON_GetObjectItemCaseSensitive(req, "samples") : NULL;
    if (request_ok && cJSON_IsArray(labels) && cJSON_GetArraySize(labels) > 0) {
        int k = cJSON_GetArraySize(labels);
        if (!(U = calloc((size_t)k, sizeof *U))) { st = UL_E_NOMEM; goto done; }
        const cJSON *x;
        cJSON_ArrayForEach(x, labels) {
            if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > 65535 || x->valuedouble != floor(x->valuedouble)) {
                add_line(&out->problems, "receipt field request.labels holds a value that is not a label");
                request_ok = false;
                break;
            }
            U[nU++] = (int32_t)x->valuedouble;
        }
    } else if (request_ok && cJSON_IsObject(smp)) {
        samples = true;
        const cJSON *h = cJSON_GetObjectItemCaseSensitive(smp, "ids"), *c = cJSON_GetObjectItemCaseSensitive(smp, "count");
        if (!cJSON_IsString(h) || !object_ok(n, h->valuestring, "ids", "request.samples.ids", &out->problems)) {
            request_ok = false;
        } else {
            char path[4096];
            snprintf(path, sizeof path, "%s/objects/%s.ids", ul_net_dir(n), h->valuestring);
            if (ul_read_ids(path, (size_t)INT32_MAX, &ids, &nids) != UL_OK) {
                add_line(&out->problems, "request.samples.ids: %s", ul_last_error());
                request_ok = false;
            } else if (!cJSON_IsNumber(c) || (double)nids != c->valuedouble) {
                add_line(&out->problems, "request.samples.count is %s but objects/%s.ids holds %zu ids",
                         cJSON_IsNumber(c) ? "different" : "missing", h->valuestring, nids);
            }
        }
    } else if (request_ok) {
        add_line(&out->problems, "receipt field request has neither labels nor samples");
        request_ok = false;
    }

    const cJSON *aff = cJSON_GetObjectItemCaseSensitive(rec, "affected");
    if (!cJSON_IsArray(aff) || cJSON_GetArraySize(aff) == 0) {
        add_line(&out->problems, "receipt field affected is %s", aff ? "not a non-empty array" : "missing");
        goto done;
    }
    out->n = (size_t)cJSON_GetArraySize(aff);
    out->models = calloc(out->n, sizeof *out->models);
    jobs = calloc(out->n, sizeof *jobs);
    dc = calloc(out->n, sizeof *dc);
    if (!out->models || !jobs || !dc) { st = UL_E_NOMEM; goto done; }
    size_t i = 0;
    const cJSON *a;
    cJSON_ArrayForEach(a, aff) {
        ul_receipt_model *o = &out->models[i];
        model_job *j = &jobs[i];
        j->data = -1;
        o->forget_acc_before = o->forget_acc_after = o->retain_acc_before = o->retain_acc_after = NAN;
        if (!(o->problems = calloc(1, 1))) { st = UL_E_NOMEM; goto done; }
        const cJSON *nm = cJSON_GetObjectItemCaseSensitive(a, "model");
        const cJSON *bj = cJSON_GetObjectItemCaseSensitive(a, "before"), *aj = cJSON_GetObjectItemCaseSensitive(a, "after");
        if (!cJSON_IsString(nm) || !nm->valuestring[0] || strlen(nm->valuestring) >= UL_NET_NAME_MAX) {
            snprintf(o->name, sizeof o->name, "affected[%zu]", i);
            add_line(&o->problems, "receipt field affected[%zu].model is missing or not a model name", i);
            i++;
            continue;
        }
        snprintf(o->name, sizeof o->name, "%s", nm->valuestring);
        static const char *const keys[4] = {"forget_acc_before", "forget_acc_after", "retain_acc_before",
                                            "retain_acc_after"};
        for (int k = 0; k < 4; k++) j->want_ok[k] = num_field(a, keys[k], i, &j->want[k], &o->problems);
        const char *before = cJSON_IsString(bj) ? bj->valuestring : NULL, *after = cJSON_IsString(aj) ? aj->valuestring : NULL;
        const bool after_ok = object_ok(n, after, "safetensors", "after", &o->problems);
        const bool before_ok = object_ok(n, before, "safetensors", "before", &o->problems);
        /* the registry's versions of the model */
        ul_node *hist = NULL;
        size_t nh = 0;
        ul_status hs = ul_net_history(n, o->name, &hist, &nh);
        if (hs == UL_E_NOTFOUND) {
            add_line(&o->problems, "the network has no model named '%s'", o->name);
        } else if (hs != UL_OK) {
            st = hs;
            goto done;
        } else {
            const ul_node *made = NULL, *repl = NULL;
            for (size_t k = 0; k < nh; k++)
                if (hist[k].request == rq->id) made = &hist[k];
            for (size_t k = 0; made && k < nh; k++)
                if (hist[k].id == made->replaces) repl = &hist[k];
            o->current_version = hist[nh - 1].version;
            if (!made) {
                add_line(&o->problems, "the registry has no version of '%s' made by request %lld", o->name, (long long)rq->id);
            } else {
                o->version = made->version;
                if (hist[nh - 1].version > made->version) o->later_request = hist[nh - 1].request;
                if (after && strcmp(made->ckpt, after) != 0)
                    add_line(&o->problems, "registry version %d (made by request %lld) has checkpoint %s, the receipt's after is %s",
                             made->version, (long long)rq->id, made->ckpt, after);
                if (!repl)
                    add_line(&o->problems, "registry version %d replaced no version of '%s'", made->version, o->name);
                else if (before && strcmp(repl->ckpt, before) != 0)
                    add_line(&o->problems, "registry version %d (replaced by request %lld) has checkpoint %s, the receipt's before is %s",
                             repl->version, (long long)rq->id, repl->ckpt, before);
                j->after = *made;
                if (repl) j->before = *repl;
                j->have_after = after_ok && after;
                j->have_before = before_ok && before && repl;
                if (j->have_after) snprintf(j->after.ckpt, sizeof j->after.ckpt, "%s", after);
                if (j->have_before) snprintf(j->before.ckpt, sizeof j->before.ckpt, "%s", before);
            }
        }
        free(hist);
        /* the data to measure on */
        if (request_ok && (j->have_after || j->have_before)) {
            const char *spec = j->after.own.data;
            size_t d = 0;
            while (d < ndc && strcmp(dc[d].spec, spec) != 0) d++;
            if (d == ndc) {
                data_cache *c = &dc[ndc++];
                snprintf(c->spec, sizeof c->spec, "%s", spec);
                c->st = ul_dataset_load(spec, "test", &c->test);
                if (c->st == UL_OK) c->st = ul_view_all(c->test, &c->test_all);
                if (c->st == UL_OK && samples) {
                    c->st = ul_dataset_load(spec, j->after.own.split, &c->train);
                    if (c->st == UL_OK) c->st = ul_view_from_indices(c->train, ids, nids, &c->forget);
                }
                if (c->st != UL_OK) snprintf(c->err, sizeof c->err, "%s", ul_last_error());
                if (c->test) (void)ul_dataset_hash(c->test); /* computed once, before threads read it */
                if (c->train) (void)ul_dataset_hash(c->train);
            }
            if (dc[d].st != UL_OK) add_line(&o->problems, "its data cannot be loaded: %s", dc[d].err);
            else j->data = (int)d;
        }
        i++;
    }

    /* versions the request made that the receipt does not list */
    if ((st = ul_net_list(n, &all, &nall)) != UL_OK) goto done;
    for (size_t k = 0; k < nall; k++) {
        bool listed = false;
        for (size_t m = 0; m < out->n && !listed; m++) listed = strcmp(out->models[m].name, all[k].name) == 0;
        if (listed) continue;
        ul_node *hist = NULL;
        size_t nh = 0;
        if ((st = ul_net_history(n, all[k].name, &hist, &nh)) != UL_OK) goto done;
        for (size_t v = 0; v < nh; v++)
            if (hist[v].request == rq->id)
                add_line(&out->problems, "the registry has version %d of '%s' made by request %lld, which the receipt does not list",
                         hist[v].version, all[k].name, (long long)rq->id);
        free(hist);
    }

    /* recompute the accuracies: one model per thread, each single-threaded (as ul_forget) */
    const int nt = threads > 0 ? threads : ul_get_threads();
#pragma omp parallel for schedule(dynamic, 1) num_threads(nt)
    for (long k = 0; k < (long)out->n; k++)
        if (jobs[k].data >= 0) eval_model(n, &jobs[k], &dc[jobs[k].data], U, nU, samples, &out->models[k]);
    for (size_t k = 0; k < out->n; k++) compare_acc(&out->models[k], &jobs[k], samples);

done:
    if (st == UL_OK) {
        out->holds = out->problems && !out->problems[0];
        for (size_t k = 0; k < out->n; k++) {
            out->models[k].holds = out->models[k].problems && !out->models[k].problems[0];
            out->holds = out->holds && out->models[k].holds;
        }
    } else {
        ul_receipt_check_free(out);
    }
    if (dc)
        for (size_t d = 0; d < ndc; d++) {
            ul_view_free(dc[d].forget);
            ul_view_free(dc[d].test_all);
            ul_dataset_free(dc[d].test);
            ul_dataset_free(dc[d].train);
        }
    free(dc);
    free(jobs);
    free(all);
    free(U);
    free(ids);
    cJSON_Delete(rec);
    cJSON_Delete(reqrow);
    return st;
}
