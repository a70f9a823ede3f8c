/* FIUn and MFIM over a model inheritance network (fiun.md decisions 2, 5-8 and §7 Q5/Q6):
 * roots and closure from the registry, forget Fishers at the roots on their own forget samples
 * before any change, per-model MFIM over R(m) = {roots that are m or its ancestors}, SSD
 * dampening of every model independently (OpenMP over models; each model's work is
 * single-threaded and identical for any thread count), new versions written to the store and
 * committed with a deletion receipt in one transaction. Label-level and sample-level requests;
 * the re-deriving baselines (retrain, sequential, finetune) live in rederive.c and the
 * gradient-ascent transfer in gatransfer.c. The phases (plan, roots, per model before / run /
 * after, commit) are exposed in forget_internal.h for the MPI driver in src/dist/.
 */
#include "unlearn/forget.h"

#include <cjson/cJSON.h>
#include <float.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unlearn/rng.h"
#include "unlearn/train.h"
#include "net/forget_internal.h"
#include "net/net_internal.h"
#include "net/rederive.h"

static const char *const method_names[UL_FORGET_METHOD_COUNT] = {"fiun", "retrain", "sequential", "ssd-local",
                                                                  "finetune", "ga-transfer"};

const char *ul_local_fisher_name(ul_local_fisher l) {
    static const char *const names[UL_LOCAL_COUNT] = {"off", "merge", "only"};
    return l < UL_LOCAL_COUNT ? names[l] : "?";
}

const char *ul_forget_method_name(ul_forget_method m) { return m < UL_FORGET_METHOD_COUNT ? method_names[m] : "?"; }

ul_status ul_forget_method_parse(const char *s, ul_forget_method *out) {
    for (int i = 0; i < UL_FORGET_METHOD_COUNT; i++)
        if (strcmp(s, method_names[i]) == 0) {
            *out = (ul_forget_method)i;
            return UL_OK;
        }
    return ul_fail(UL_E_ARG, "unknown unlearning method '%s' (known: fiun, retrain, sequential, ssd-local, finetune, ga-transfer)", s);
}

ul_forget_params ul_forget_parity_defaults(void) {
    ul_forget_params p;
    memset(&p, 0, sizeof p);
    p.method = UL_FORGET_FIUN;
    p.alpha = 1.0;
    p.lambda = 1.0;
    p.exponent = 1.0;
    p.id_floor = 0.0;
    p.mfim_c = 5.0;
    p.fisher = ul_fisher_defaults(UL_FISHER_SAMPLE);
    p.finetune_epochs = 1;
    return p;
}

ul_forget_params ul_forget_defaults(void) {
    ul_forget_params p = ul_forget_parity_defaults();
    p.alpha = UL_FIUN_DEFAULT_ALPHA;
    p.exponent = UL_FIUN_DEFAULT_EXPONENT;
    p.mfim_c = UL_FIUN_DEFAULT_MFIM_C;
    p.local_fisher = UL_LOCAL_ONLY;
    p.units = true;
    p.rel = UL_FIUN_DEFAULT_REL;
    p.share = UL_FIUN_DEFAULT_SHARE;
    return p;
}

void ul_forget_result_free(ul_forget_result *r) {
    if (!r) return;
    free(r->nodes);
    free(r->receipt);
    free(r->sweep_forget);
    free(r->sweep_retain);
    free(r->sweep_selected);
    memset(r, 0, sizeof *r);
}

/* ---- Fisher caches ----------------------------------------------------------------------- */

ul_status ul_net_fisher_put(ul_net *n, const char *ckpt_hex, const ul_fisher_params *p, const float *F, size_t P,
                            const ul_fisher_classes *cs, char hex[65]) {
    ul_st_writer *w = NULL;
    uint8_t *buf = NULL;
    size_t len = 0;
    ul_status st = ul_st_writer_create(&w);
    char num[32];
    int64_t shape[1] = {(int64_t)P};
    if (st == UL_OK) st = ul_st_writer_add(w, "fisher", UL_DT_F32, 1, shape, F);
    if (st == UL_OK) st = ul_st_writer_meta(w, "format", "unlearn-fisher");
    if (st == UL_OK) st = ul_st_writer_meta(w, "estimator", ul_fisher_estimator_name(p->estimator));
    if (st == UL_OK) st = ul_st_writer_meta(w, "scope", ul_fisher_scope_name(p->scope));
    snprintf(num, sizeof num, "%d", p->estimator == UL_FISHER_BATCH ? p->batch_size : 0);
    if (st == UL_OK) st = ul_st_writer_meta(w, "batch_size", num);
    snprintf(num, sizeof num, "%d", p->estimator == UL_FISHER_BATCH ? p->trunc : 0);
    if (st == UL_OK) st = ul_st_writer_meta(w, "trunc", num);
    if (st == UL_OK) st = ul_st_writer_meta(w, "checkpoint", ckpt_hex);
    if (st == UL_OK && cs) {
        const int64_t s2[2] = {cs->K, (int64_t)(cs->hi - cs->lo)}, s1[1] = {cs->K};
        st = ul_st_writer_add(w, "class_sums", UL_DT_F32, 2, s2, cs->sums);
        if (st == UL_OK) st = ul_st_writer_add(w, "class_counts", UL_DT_I64, 1, s1, cs->counts);
        snprintf(num, sizeof num, "%zu", cs->lo);
        if (st == UL_OK) st = ul_st_writer_meta(w, "head_lo", num);
    }
    if (st == UL_OK) st = ul_st_writer_to_buffer(w, &buf, &len);
    if (st == UL_OK) st = ul_net_put_object(n, buf, len, "fisher", hex);
    free(buf);
    ul_st_writer_free(w);
    return st;
}

ul_status ul_net_fisher_get(ul_net *n, const char *hex, const char *ckpt_hex, const ul_fisher_params *p, float *F,
                            size_t P) {
    char path[4096];
    ul_status st = ul_net_object_path(n, hex, path, sizeof path);
    if (st != UL_OK) return st;
    ul_st_file *f = NULL;
    if ((st = ul_st_read(path, &f)) != UL_OK) return st;
    char num[2][32];
    snprintf(num[0], sizeof num[0], "%d", p->estimator == UL_FISHER_BATCH ? p->batch_size : 0);
    snprintf(num[1], sizeof num[1], "%d", p->estimator == UL_FISHER_BATCH ? p->trunc : 0);
    const char *e = ul_st_meta(f, "estimator"), *s = ul_st_meta(f, "scope"), *b = ul_st_meta(f, "batch_size"),
               *t = ul_st_meta(f, "trunc"), *c = ul_st_meta(f, "checkpoint");
    const ul_st_tensor *ft = ul_st_find(f, "fisher");
    if (!e || !s || !b || !t || !c || !ft || strcmp(e, ul_fisher_estimator_name(p->estimator)) != 0 ||
        strcmp(s, ul_fisher_scope_name(p->scope)) != 0 || strcmp(b, num[0]) != 0 || strcmp(t, num[1]) != 0 ||
        strcmp(c, ckpt_hex) != 0 || ft->dtype != UL_DT_F32 || ft->ndim != 1 || (size_t)ft->shape[0] != P) {
        ul_st_free(f);
        return ul_fail(UL_E_NOTFOUND, "Fisher cache %s does not match the request", hex);
    }
    memcpy(F, ft->data, sizeof(float) * P);
    ul_st_free(f);
    for (size_t k = 0; k < P; k++)
        if (!(F[k] >= 0.0f && F[k] <= FLT_MAX))
            return ul_fail(UL_E_FORMAT, "Fisher cache %s holds negative or non-finite values (element %zu is %g)", hex, k,
                           (double)F[k]);
    return UL_OK;
}

void ul_fisher_classes_free(ul_fisher_classes *c) {
    if (!c) return;
    free(c->sums);
    free(c->counts);
    memset(c, 0, sizeof *c);
}

ul_status ul_net_fisher_get_classes(ul_net *n, const char *hex, const char *ckpt_hex, int K, size_t lo, size_t hi,
                                    ul_fisher_classes *out) {
    memset(out, 0, sizeof *out);
    char path[4096];
    ul_status st = ul_net_object_path(n, hex, path, sizeof path);
    if (st != UL_OK) return st;
    ul_st_file *f = NULL;
    if ((st = ul_st_read(path, &f)) != UL_OK) return st;
    const char *e = ul_st_meta(f, "estimator"), *s = ul_st_meta(f, "scope"), *c = ul_st_meta(f, "checkpoint"),
               *hl = ul_st_meta(f, "head_lo");
    const ul_st_tensor *ts = ul_st_find(f, "class_sums"), *tc = ul_st_find(f, "class_counts"),
                       *tf = ul_st_find(f, "fisher");
    if (tf && tf->dtype == UL_DT_F32) { /* a damaged cache is reported, whatever part is asked for */
        for (size_t k = 0; k < (size_t)(tf->end - tf->begin) / sizeof(float); k++) {
            float v;
            memcpy(&v, tf->data + k * sizeof(float), sizeof v);
            if (!(v >= 0.0f && v <= FLT_MAX)) {
                ul_st_free(f);
                return ul_fail(UL_E_FORMAT, "Fisher cache %s holds negative or non-finite values (element %zu is %g)",
                               hex, k, (double)v);
            }
        }
    }
    char lo_s[32];
    snprintf(lo_s, sizeof lo_s, "%zu", lo);
    if (!e || !s || !c || !hl || !ts || !tc || strcmp(e, "sample") != 0 || strcmp(s, "last") != 0 ||
        strcmp(c, ckpt_hex) != 0 || strcmp(hl, lo_s) != 0 || ts->dtype != UL_DT_F32 || ts->ndim != 2 ||
        ts->shape[0] != K || (size_t)ts->shape[1] != hi - lo || tc->dtype != UL_DT_I64 || tc->ndim != 1 ||
        tc->shape[0] != K) {
        ul_st_free(f);
        return ul_fail(UL_E_NOTFOUND, "Fisher cache %s has no matching per-class sums", hex);
    }
    out->sums = ul_malloc((size_t)K * (hi - lo), sizeof(float));
    out->counts = ul_malloc((size_t)K, sizeof(int64_t));
    if (!out->sums || !out->counts) {
        ul_st_free(f);
        ul_fisher_classes_free(out);
        return UL_E_NOMEM;
    }
    memcpy(out->sums, ts->data, sizeof(float) * (size_t)K * (hi - lo));
    memcpy(out->counts, tc->data, sizeof(int64_t) * (size_t)K);
    ul_st_free(f);
    out->K = K;
    out->lo = lo;
    out->hi = hi;
    for (int k = 0; k < K; k++)
        if (out->counts[k] < 0) {
            ul_fisher_classes_free(out);
            return ul_fail(UL_E_FORMAT, "Fisher cache %s: negative class count", hex);
        }
    for (size_t k = 0; k < (size_t)K * (hi - lo); k++)
        if (!(out->sums[k] >= 0.0f && out->sums[k] <= FLT_MAX)) {
            ul_fisher_classes_free(out);
            return ul_fail(UL_E_FORMAT, "Fisher cache %s holds negative or non-finite per-class values", hex);
        }
    return UL_OK;
}

ul_status ul_net_fisher_classes_compute(ul_model *m, const ul_view *own, const ul_transform *tf, ul_fisher_classes *out) {
    memset(out, 0, sizeof *out);
    const int K = ul_model_arch(m).classes;
    ul_fisher_head_range(m, &out->lo, &out->hi);
    out->K = K;
    out->sums = ul_malloc((size_t)K * (out->hi - out->lo), sizeof(float));
    out->counts = ul_malloc((size_t)K, sizeof(int64_t));
    if (!out->sums || !out->counts) {
        ul_fisher_classes_free(out);
        return UL_E_NOMEM;
    }
    ul_status st = ul_fisher_class_sums(m, own, tf, ul_fisher_defaults(UL_FISHER_SAMPLE).batch_size, out->sums, out->counts);
    if (st != UL_OK) ul_fisher_classes_free(out);
    return st;
}

/* ---- helpers -------------------------------------------------------------------------------- */

static bool in_set(const int32_t *s, size_t n, int32_t v) {
    for (size_t i = 0; i < n; i++)
        if (s[i] == v) return true;
    return false;
}

/* Accuracy of m on the test samples whose label satisfies the filter; -1 when there are none. */
static double acc_on(ul_model *m, ul_dataset *test, const ul_transform *tf, const int32_t *labels, size_t nl,
                     size_t *count) {
    ul_view *all = NULL, *v = NULL;
    *count = 0;
    if (nl == 0) return -1.0;
    if (ul_view_all(test, &all) != UL_OK) return -1.0;
    if (ul_view_filter_labels(all, labels, nl, true, &v) != UL_OK) {
        ul_view_free(all);
        return -1.0;
    }
    double acc = -1.0;
    ul_eval_result r;
    if (v->n > 0 && ul_evaluate(m, v, tf, 256, &r) == UL_OK) {
        acc = 100.0 * (double)r.correct / (double)r.n;
        *count = r.n;
        ul_eval_result_free(&r);
    }
    ul_view_free(v);
    ul_view_free(all);
    return acc;
}

/* Labels a node knows (learned and inherited), split into forget (in U) and retained (at most
 * 1024 each): shared with the receipt's verification (src/report/receipt.c). */
void ul_net_known_split(const ul_node *nd, const int32_t *U, size_t nU, int32_t *fl, size_t *nf, int32_t *rl,
                        size_t *nr) {
    *nf = *nr = 0;
    for (int pass = 0; pass < 2; pass++) {
        const char *s = pass ? nd->inherited : nd->learned;
        int32_t *lab = NULL;
        size_t k = 0;
        if (!s[0] || ul_parse_label_set(s, nd->ap.classes, &lab, &k) != UL_OK) continue;
        for (size_t i = 0; i < k && *nf < 1024 && *nr < 1024; i++) {
            if (in_set(U, nU, lab[i])) {
                if (!in_set(fl, *nf, lab[i])) fl[(*nf)++] = lab[i];
            } else if (!in_set(rl, *nr, lab[i])) {
                rl[(*nr)++] = lab[i];
            }
        }
        free(lab);
    }
}

/* The normalisation the model was trained with: the recipe's "normalize" {"mean":[..],"std":[..]}
 * (null = none); without one (models added from outside), the dataset's default. */
ul_transform ul_net_node_transform(const ul_node *nd) {
    ul_transform tf;
    memset(&tf, 0, sizeof tf);
    cJSON *j = cJSON_Parse(nd->recipe);
    const cJSON *nz = j ? cJSON_GetObjectItemCaseSensitive(j, "normalize") : NULL;
    if (!nz) {
        tf = ul_transform_default(nd->own.data);
    } else if (cJSON_IsObject(nz)) {
        const cJSON *mean = cJSON_GetObjectItemCaseSensitive(nz, "mean"), *sd = cJSON_GetObjectItemCaseSensitive(nz, "std");
        int n = cJSON_GetArraySize(mean);
        if (n > 0 && n <= 4 && n == cJSON_GetArraySize(sd)) {
            tf.nchan = n;
            for (int i = 0; i < n; i++) {
                tf.mean[i] = (float)cJSON_GetArrayItem(mean, i)->valuedouble;
                tf.std[i] = (float)cJSON_GetArrayItem(sd, i)->valuedouble;
            }
        }
    }
    cJSON_Delete(j);
    tf.crop_pad = 0;
    tf.hflip = false;
    return tf;
}

static int cmp_i32(const void *a, const void *b) {
    const int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

/* Accuracy of m on the samples of a view whose labels it knows (-1 when none). */
static double acc_view(ul_model *m, const ul_view *fsv, const int32_t *known, size_t nknown, const ul_transform *tf,
                       size_t *count) {
    ul_eval_result r;
    ul_view *v = NULL;
    double acc = -1.0;
    *count = 0;
    if (nknown && ul_view_filter_labels(fsv, known, nknown, true, &v) == UL_OK && v->n > 0 &&
        ul_evaluate(m, v, tf, 256, &r) == UL_OK) {
        acc = 100.0 * (double)r.correct / (double)r.n;
        *count = r.n;
        ul_eval_result_free(&r);
    }
    ul_view_free(v);
    return acc;
}

/* The id list of a sample request as an object (one id per line); on dry runs only its hash. */
static ul_status put_ids(ul_net *net, const int32_t *ids, size_t n, bool dry, char hex[65]) {
    char *text = ul_malloc(n ? n : 1, 12);
    if (!text) return UL_E_NOMEM;
    size_t len = 0;
    for (size_t i = 0; i < n; i++) len += (size_t)sprintf(text + len, "%d\n", (int)ids[i]);
    ul_status st = UL_OK;
    if (dry) ul_sha256_hex(text, len, hex);
    else st = ul_net_put_object(net, text, len, "ids", hex);
    free(text);
    return st;
}

/* Roots of a sample request: for each sample, the earliest models whose own data holds it (no
 * ancestor's own data does). Loads the training split (of the first model's dataset) into *train;
 * models on another dataset or split are not considered. */
static ul_status sample_roots(ul_net *net, const int32_t *ids, size_t nids, ul_dataset **train, ul_name_list *roots) {
    ul_node *all = NULL;
    size_t cnt = 0;
    memset(roots, 0, sizeof *roots);
    ul_status st = ul_net_list(net, &all, &cnt);
    if (st != UL_OK) return st;
    if (cnt == 0) {
        free(all);
        return ul_fail(UL_E_ARG, "forget: the network has no models");
    }
    ul_view **hit = ul_calloc(cnt, sizeof *hit);
    unsigned char *mark = ul_calloc(cnt, 1);
    if (!hit || !mark) st = UL_E_NOMEM;
    if (st == UL_OK) st = ul_dataset_load(all[0].own.data, all[0].own.split, train);
    for (size_t i = 0; i < nids && st == UL_OK; i++)
        if ((size_t)ids[i] >= ul_dataset_size(*train))
            st = ul_fail(UL_E_ARG, "forget: sample id %d is outside the %s split of %s (%zu samples)", (int)ids[i],
                         all[0].own.split, all[0].own.data, ul_dataset_size(*train));
    for (size_t i = 0; i < cnt && st == UL_OK; i++) {
        if (strcmp(all[i].own.data, all[0].own.data) != 0 || strcmp(all[i].own.split, all[0].own.split) != 0) continue;
        ul_view *own = NULL;
        if ((st = ul_net_own_view(net, &all[i].own, *train, &own)) == UL_OK)
            st = ul_view_filter_ids(own, ids, nids, true, &hit[i]);
        ul_view_free(own);
        if (st != UL_OK || hit[i]->n == 0) continue;
        ul_name_list anc = {0};
        if ((st = ul_net_ancestors(net, all[i].name, &anc)) != UL_OK) break;
        /* a root when some sample of its own is in no ancestor's own data */
        for (size_t s = 0; s < hit[i]->n && !mark[i]; s++) {
            bool above = false;
            for (size_t a = 0; a < anc.n && !above; a++)
                for (size_t j = 0; j < i && !above; j++)
                    if (hit[j] && hit[j]->n && strcmp(all[j].name, anc.names[a]) == 0)
                        above = bsearch(&hit[i]->idx[s], hit[j]->idx, hit[j]->n, sizeof(int32_t), cmp_i32) != NULL;
            if (!above) mark[i] = 1;
        }
        ul_name_list_free(&anc);
    }
    size_t nr = 0;
    for (size_t i = 0; i < cnt && st == UL_OK; i++) nr += mark[i];
    if (st == UL_OK && nr && !(roots->names = ul_calloc(nr, sizeof *roots->names))) st = UL_E_NOMEM;
    for (size_t i = 0; i < cnt && st == UL_OK; i++)
        if (mark[i]) snprintf(roots->names[roots->n++], UL_NET_NAME_MAX, "%s", all[i].name);
    if (hit)
        for (size_t i = 0; i < cnt; i++) ul_view_free(hit[i]);
    free(hit);
    free(mark);
    free(all);
    if (st != UL_OK) ul_name_list_free(roots);
    return st;
}

/* The forget Fisher F of one model: MFIM (divisor base c) over its roots' Fishers Fr[0..nr), with
 * its own forget Fisher Floc (NULL when it has no forget data of its own) merged in (merge) or used
 * instead (only); ssd-local: Floc alone, or zeros (nothing is dampened). */
static ul_status node_forget_fisher(bool ssd, ul_local_fisher lm, const float **Fr, int nr, const float *Floc,
                                    size_t P, double c, float *F) {
    const float **Fs = ul_malloc((size_t)nr + 1, sizeof *Fs);
    if (!Fs) return UL_E_NOMEM;
    int nf = 0;
    if (ssd || (lm == UL_LOCAL_ONLY && Floc)) {
        if (Floc) Fs[nf++] = Floc;
    } else {
        for (int j = 0; j < nr; j++) Fs[nf++] = Fr[j];
        if (lm == UL_LOCAL_MERGE && Floc) Fs[nf++] = Floc;
    }
    if (nf == 0) memset(F, 0, sizeof(float) * P);
    else ul_mfim(Fs, nf, P, c, F);
    free(Fs);
    return UL_OK;
}

/* The selection and dampening of one model. I_D may be raised by a floor: I_D[k] + id_floor *
 * mean(non-zero I_D) wherever I_D[k] or I_f[k] is non-zero (the Fisher scope), so that parameters
 * whose full-data Fisher is tiny are not selected by small forget gradients (0 = the plain rule).
 * With units and rel > 0, a unit is selected when its ratio exceeds alpha AND is at least rel times
 * the largest unit ratio of one of the forget Fishers Fsel[0 .. nsel) (the model's per-label ones
 * when it has forget data of its own; nsel 0 = F alone). With units, share > 0 and nsel > 0, the
 * alpha rule is replaced by the share rule: a unit is selected when ratio_j * rho[j] >= share and
 * ratio_j > 1 for some label j (ratio_j of Fsel[j], rho[j] that label's fraction of the model's
 * own data); rel, when on, still applies. `partial` (the model's own data lacks some forget label,
 * which it only inherited): a unit also passes by the alpha rule on F, which then holds the roots'
 * Fishers for those labels. Under the share rule the head row of label j itself (sel_label[j]) is
 * also selected whenever its ratio exceeds 1: the unit that outputs the forgotten class. The factor
 * always comes from F. Returns the number of values dampened, (size_t)-1 when out of memory. */
static size_t dampen_node(const ul_model *m, float *theta, const float *ID, const float *F, size_t P, double id_floor,
                          bool units, double rel, double share, const float *const *Fsel, const double *rho,
                          const int32_t *sel_label, int nsel, bool partial, const ul_dampen_params *dp) {
    const float *I = ID;
    float *I2 = NULL;
    if (id_floor > 0) {
        double sum = 0.0;
        size_t nz = 0;
        for (size_t k = 0; k < P; k++)
            if (ID[k] > 0) sum += ID[k], nz++;
        const float add = nz ? (float)(id_floor * sum / (double)nz) : 0.0f;
        if (!(I2 = ul_malloc(P ? P : 1, sizeof(float)))) return (size_t)-1;
        for (size_t k = 0; k < P; k++) I2[k] = (ID[k] > 0 || F[k] > 0) ? ID[k] + add : ID[k];
        I = I2;
    }
    size_t sel;
    if (!units) {
        sel = ul_dampen(theta, I, F, P, dp);
    } else if (!(rel > 0) && !(share > 0 && nsel > 0)) {
        sel = ul_dampen_units(m, theta, I, F, dp);
    } else {
        const size_t U = ul_unit_count(m);
        double *ratio = ul_malloc(U ? U : 1, sizeof(double));
        unsigned char *mark = ul_calloc(U ? U : 1, 1);
        if (!ratio || !mark) {
            free(ratio);
            free(mark);
            free(I2);
            return (size_t)-1;
        }
        const bool by_share = share > 0 && nsel > 0;
        int wt = -1, bt = -1;
        ul_model_head(m, &wt, &bt);
        const ul_tensor_info *hw = wt >= 0 ? ul_model_tensor(m, wt) : NULL;
        const int K = ul_model_arch(m).classes;
        const int passes = (nsel > 0 ? nsel : 1) + (by_share && partial ? 1 : 0);
        for (int j = 0; j < passes; j++) {
            const bool own = nsel > 0 && j < nsel; /* one own label's Fisher; else F */
            ul_unit_ratios(m, I, own ? Fsel[j] : F, ratio);
            /* the head row of this label: the unit holding its first weight */
            size_t row = (size_t)-1;
            if (by_share && own && hw && K > 0 && sel_label[j] >= 0 && sel_label[j] < K)
                row = ul_unit_of(m, hw->offset + (size_t)sel_label[j] * (hw->numel / (size_t)K));
            double mx = 0.0;
            for (size_t u = 0; u < U; u++)
                if (ratio[u] > mx) mx = ratio[u];
            for (size_t u = 0; u < U; u++) {
                const bool pass = by_share && own ? ratio[u] > 1.0 && (ratio[u] * rho[j] >= share || u == row)
                                                  : ratio[u] > dp->alpha;
                if (pass && ratio[u] >= rel * mx) mark[u] = 1;
            }
        }
        sel = ul_dampen_units_selected(m, theta, I, F, dp, mark);
        free(ratio);
        free(mark);
    }
    free(I2);
    return sel;
}

/* Sweep (dry runs): for every setting, dampen a copy of model m and evaluate it; results go to
 * fa[k * stride], ra[k * stride], sel[k * stride] for setting k. */
static ul_status sweep_node(const ul_model *m, const ul_node *nd, ul_dataset *test, const ul_view *fsv,
                            const ul_forget_params *p, const float *ID, const float **Fr, int nr, const float *Floc,
                            const float *const *Fsel, const double *rho, const int32_t *sel_label, int nsel,
                            bool partial, size_t P, double *fa,
                            double *ra, size_t *sel, size_t stride) {
    ul_model *w = NULL;
    float *F = ul_malloc(P ? P : 1, sizeof(float));
    ul_status st = F ? ul_model_clone(m, &w) : UL_E_NOMEM;
    int32_t fl[1024], rl[1024];
    size_t nfl = 0, nrl = 0, cnt;
    ul_net_known_split(nd, p->labels, p->nlabels, fl, &nfl, rl, &nrl);
    ul_transform tf = ul_net_node_transform(nd);
    for (size_t k = 0; k < p->nsweep && st == UL_OK; k++) {
        const ul_forget_setting *q = &p->sweep[k];
        if ((st = ul_model_copy_params(w, m)) != UL_OK) break;
        const ul_local_fisher lq = q->local == UL_LOCAL_ONLY && partial ? UL_LOCAL_MERGE : q->local;
        if ((st = node_forget_fisher(false, lq, Fr, nr, Floc, P, p->mfim_c, F)) != UL_OK) break;
        ul_dampen_params dp = ul_dampen_defaults(q->alpha);
        dp.lambda = p->lambda;
        dp.exponent = q->exponent;
        size_t s = dampen_node(w, ul_model_params(w), ID, F, P, q->id_floor, q->units, q->rel, q->share, Fsel, rho,
                               sel_label, nsel,
                               partial && q->local == UL_LOCAL_ONLY, &dp);
        if (s == (size_t)-1) { st = UL_E_NOMEM; break; }
        sel[k * stride] = s;
        fa[k * stride] = fsv ? acc_view(w, fsv, rl, nrl, &tf, &cnt) : acc_on(w, test, &tf, fl, nfl, &cnt);
        ra[k * stride] = acc_on(w, test, &tf, rl, nrl, &cnt);
    }
    ul_model_free(w);
    free(F);
    return st;
}

/* The per-class head sums of a model on its own data: from its Fisher cache, else computed. */
static ul_status node_classes(ul_net *net, const ul_node *nd, ul_model *m, ul_dataset *train, ul_fisher_classes *cs,
                              bool *cached) {
    size_t lo, hi;
    ul_fisher_head_range(m, &lo, &hi);
    const ul_status gs =
        nd->fisher[0] ? ul_net_fisher_get_classes(net, nd->fisher, nd->ckpt, nd->ap.classes, lo, hi, cs) : UL_E_NOTFOUND;
    *cached = gs == UL_OK;
    if (*cached) return UL_OK;
    if (gs != UL_E_NOTFOUND) ul_log(UL_LOG_WARN, "forget: model '%s': %s; recomputing its Fisher", nd->name, ul_last_error());
    ul_view *own = NULL;
    ul_transform tf = ul_net_node_transform(nd);
    ul_status st = ul_net_own_view(net, &nd->own, train, &own);
    if (st == UL_OK) st = ul_net_fisher_classes_compute(m, own, &tf, cs);
    ul_view_free(own);
    return st;
}

/* The forget Fisher of a label request from per-class sums: one label's Fisher is the mean over its
 * samples; several labels are merged by the element-wise max of the per-label Fishers (as MFIM
 * merges roots, with c = 1), not pooled: pooled, a label's own row would be diluted by the other
 * forget labels' samples and its forget/full ratio capped near 1/(share of all forget samples)
 * (about 3.3 for three of ten classes), below the selection threshold. */
static ul_status forget_fisher_classes(const ul_fisher_classes *cs, const int32_t *U, size_t nU, size_t P, float *out) {
    if (nU == 1) return ul_fisher_from_class_sums(cs->sums, cs->counts, cs->K, cs->lo, cs->hi, P, U, 1, out);
    float *tmp = ul_malloc(P ? P : 1, sizeof(float));
    if (!tmp) return UL_E_NOMEM;
    bool any = false;
    ul_status st = UL_OK;
    for (size_t i = 0; i < nU && st == UL_OK; i++) {
        if (U[i] < 0 || U[i] >= cs->K || cs->counts[U[i]] == 0) continue;
        if ((st = ul_fisher_from_class_sums(cs->sums, cs->counts, cs->K, cs->lo, cs->hi, P, &U[i], 1, any ? tmp : out)) !=
            UL_OK)
            break;
        if (any)
            for (size_t k = 0; k < P; k++)
                if (tmp[k] > out[k]) out[k] = tmp[k];
        any = true;
    }
    free(tmp);
    if (st == UL_OK && !any) st = ul_fail(UL_E_ARG, "Fisher: no samples of the requested classes");
    return st;
}

static bool classes_have_all(const ul_fisher_classes *cs, const int32_t *U, size_t nU) {
    for (size_t i = 0; i < nU; i++)
        if (!(U[i] >= 0 && U[i] < cs->K && cs->counts[U[i]] > 0)) return false;
    return true;
}

static bool classes_have(const ul_fisher_classes *cs, const int32_t *U, size_t nU) {
    for (size_t i = 0; i < nU; i++)
        if (U[i] >= 0 && U[i] < cs->K && cs->counts[U[i]] > 0) return true;
    return false;
}

/* ---- the request ------------------------------------------------------------------------------ */

typedef ul_forget_root root_fisher;

/* Write m as the new version of nd (on dry runs only hash it). */
static ul_status put_version(ul_net *net, const ul_node *nd, const ul_model *m, ul_forget_method method, bool dry,
                             char after[65]) {
    if (dry) {
        ul_model_hash(m, after);
        return UL_OK;
    }
    char prov[256];
    snprintf(prov, sizeof prov, "{\"tool\":\"unlearn\",\"method\":\"%s\",\"replaces\":\"%s\"}",
             ul_forget_method_name(method), nd->ckpt);
    ul_ckpt_meta meta = {.provenance = prov};
    return ul_net_put_model(net, m, &meta, after);
}

/* ga-transfer at one model: a root takes its ascended weights; then every other root of R(m)
 * adds its transfer delta. */
static ul_status ga_node(ul_net *net, const ul_node *nd, ul_model *m, const root_fisher *rf, const int *rm, int nr,
                         size_t P, bool dry, ul_forget_node *o) {
    float *th = ul_model_params(m);
    for (int j = 0; j < nr; j++)
        if (strcmp(rf[rm[j]].name, nd->name) == 0) {
            ul_status st = ul_model_copy_params(m, rf[rm[j]].ga);
            if (st != UL_OK) return st;
        }
    for (int j = 0; j < nr; j++) {
        const root_fisher *r = &rf[rm[j]];
        if (strcmp(r->name, nd->name) == 0) continue;
        for (size_t k = 0; k < P; k++) th[k] += r->F[k];
    }
    for (size_t k = 0; k < P; k++)
        if (!isfinite(th[k])) return ul_fail(UL_E_NUMERIC, "ga-transfer: parameter %zu became non-finite", k);
    o->selected = P;
    return put_version(net, nd, m, UL_FORGET_GA_TRANSFER, dry, o->after);
}

void ul_forget_plan_free(ul_forget_plan *pl) {
    if (!pl) return;
    if (pl->rf)
        for (size_t r = 0; r < pl->roots.n; r++) {
            free(pl->rf[r].F);
            ul_model_free(pl->rf[r].ga);
        }
    free(pl->rf);
    free(pl->res);
    if (pl->models)
        for (size_t i = 0; i < pl->closure.n; i++) ul_model_free(pl->models[i]);
    free(pl->models);
    free(pl->nodes);
    free(pl->nr);
    free(pl->rmap);
    ul_view_free(pl->fsv);
    ul_dataset_free(pl->test);
    ul_dataset_free(pl->train);
    ul_name_list_free(&pl->roots);
    ul_name_list_free(&pl->closure);
    ul_net_close(pl->net);
    memset(pl, 0, sizeof *pl);
}

ul_status ul_forget_plan_open(const char *dir, const ul_forget_params *p, ul_forget_plan *pl, ul_forget_result *out) {
    memset(pl, 0, sizeof *pl);
    memset(out, 0, sizeof *out);
    pl->p = p;
    out->fault = UL_FORGET_FAULT_REQUEST;
    if (p->method >= UL_FORGET_METHOD_COUNT) return ul_fail(UL_E_ARG, "forget: unknown method");
    if ((p->nlabels == 0) == (p->nsamples == 0))
        return ul_fail(UL_E_ARG, "forget: give the labels or the sample ids to forget (exactly one of the two)");
    for (size_t i = 1; i < p->nsamples; i++)
        if (p->samples[i] <= p->samples[i - 1]) return ul_fail(UL_E_ARG, "forget: sample ids must be sorted and unique");
    if (!(p->alpha > 0) || !(p->lambda > 0) || !(p->mfim_c >= 1) || !(p->exponent > 0) || !(p->exponent <= 64))
        return ul_fail(UL_E_ARG, "forget: alpha (%g) and lambda (%g) must be > 0, c (%g) >= 1, exponent (%g) in (0, 64]",
                       p->alpha, p->lambda, p->mfim_c, p->exponent);
    if (!(p->id_floor >= 0) || !(p->id_floor <= 1e6)) return ul_fail(UL_E_ARG, "forget: id-floor (%g) must lie in [0, 1e6]", p->id_floor);
    if (!(p->rel >= 0) || !(p->rel <= 1)) return ul_fail(UL_E_ARG, "forget: select-rel (%g) must lie in [0, 1]", p->rel);
    if (!(p->share >= 0) || !(p->share <= 1)) return ul_fail(UL_E_ARG, "forget: select-share (%g) must lie in [0, 1]", p->share);
    if (p->nsweep && (!p->dry_run || p->method != UL_FORGET_FIUN))
        return ul_fail(UL_E_ARG, "forget: a sweep needs --dry-run and the fiun method");
    for (size_t k = 0; k < p->nsweep; k++)
        if (!(p->sweep[k].alpha > 0) || !(p->sweep[k].exponent > 0) || !(p->sweep[k].exponent <= 64) ||
            !(p->sweep[k].id_floor >= 0) || p->sweep[k].local >= UL_LOCAL_COUNT || !(p->sweep[k].rel >= 0) ||
            !(p->sweep[k].rel <= 1) || !(p->sweep[k].share >= 0) || !(p->sweep[k].share <= 1))
            return ul_fail(UL_E_ARG, "forget: sweep setting %zu is out of range", k + 1);
    out->fault = UL_FORGET_FAULT_NETWORK;
    pl->t_start = ul_now();
    ul_status st = ul_net_open(dir, p->dry_run, &pl->net);
    if (st != UL_OK) return st;
    ul_net *net = pl->net;
    /* one read transaction for the whole plan: roots, closure, versions and ancestors come from one
     * snapshot, so a request committed meanwhile is seen entirely or not at all (reading the models
     * one by one could mix versions from before and after it, and the result would be refused at
     * commit with its new objects left unreferenced) */
    bool reading = false;
    if ((st = ul_net_read_begin(net, &reading)) != UL_OK) goto done;

    if (p->nsamples) {
        /* sample ids come from a file: a list that does not fit the network is bad input (3) */
        if ((st = sample_roots(net, p->samples, p->nsamples, &pl->train, &pl->roots)) != UL_OK) goto done;
        if (pl->roots.n == 0) {
            st = ul_fail(UL_E_ARG, "forget: no model in '%s' trained on any of the %zu requested samples", dir,
                         p->nsamples);
            goto done;
        }
    } else {
        if ((st = ul_net_roots(net, p->labels, p->nlabels, &pl->roots)) != UL_OK) {
            if (st == UL_E_ARG) out->fault = UL_FORGET_FAULT_REQUEST; /* a label no model can output */
            goto done;
        }
        if (pl->roots.n == 0) {
            out->fault = UL_FORGET_FAULT_REQUEST;
            ul_node *all = NULL;
            size_t cnt = 0;
            int32_t bad = -1;
            int classes = 0;
            if (ul_net_list(net, &all, &cnt) == UL_OK && cnt > 0) {
                classes = all[0].ap.classes;
                for (size_t i = 0; i < p->nlabels; i++)
                    if (p->labels[i] >= classes) bad = p->labels[i];
            }
            free(all);
            if (bad >= 0)
                st = ul_fail(UL_E_ARG, "forget: label %d is outside the models' %d classes", (int)bad, classes);
            else
                st = ul_fail(UL_E_ARG, "forget: no model in '%s' learned any of the requested labels from its own data",
                             dir);
            goto done;
        }
    }
    const ul_name_list *roots = &pl->roots, *closure = &pl->closure;
    if ((st = ul_net_closure(net, roots, &pl->closure)) != UL_OK) goto done;
    pl->nodes = ul_calloc(closure->n, sizeof *pl->nodes);
    pl->res = ul_calloc(closure->n, sizeof *pl->res);
    pl->rf = ul_calloc(roots->n, sizeof *pl->rf);
    pl->models = ul_calloc(closure->n, sizeof *pl->models);
    pl->nr = ul_calloc(closure->n, sizeof(int));
    pl->rmap = ul_calloc(closure->n * roots->n, sizeof(int));
    if (!pl->nodes || !pl->res || !pl->rf || !pl->models || !pl->nr || !pl->rmap) { st = UL_E_NOMEM; goto done; }
    ul_node *nodes = pl->nodes;
    for (size_t i = 0; i < closure->n; i++)
        if ((st = ul_net_get(net, closure->names[i], &nodes[i])) != UL_OK) goto done;
    for (size_t r = 0; r < roots->n; r++) snprintf(pl->rf[r].name, sizeof pl->rf[r].name, "%s", roots->names[r]);
    const int K = pl->K = nodes[0].ap.classes;
    for (size_t i = 1; i < closure->n; i++)
        if (strcmp(nodes[i].arch, nodes[0].arch) != 0 || nodes[i].ap.classes != K) {
            st = ul_fail(UL_E_UNSUPPORTED, "forget: models of the closure differ in architecture ('%s' vs '%s')",
                         nodes[i].arch, nodes[0].arch);
            goto done;
        }
    for (size_t i = 0; i < p->nlabels; i++)
        if (p->labels[i] < 0 || p->labels[i] >= K) {
            st = ul_fail(UL_E_ARG, "forget: label %d is outside the models' %d classes", p->labels[i], K);
            out->fault = UL_FORGET_FAULT_REQUEST;
            goto done;
        }
    if (p->nlabels) {
        /* forgetting every class leaves nothing to retain: not an unlearning request */
        size_t covered = 0;
        for (int l = 0; l < K; l++) covered += in_set(p->labels, p->nlabels, l);
        if ((int)covered == K) {
            st = ul_fail(UL_E_ARG, "forget: the labels cover all %d classes of the models, which would leave nothing to "
                                   "retain (forget a subset of the labels)", K);
            out->fault = UL_FORGET_FAULT_REQUEST;
            goto done;
        }
    }
    if ((st = ul_dataset_load(nodes[0].own.data, "test", &pl->test)) != UL_OK) goto done;
    (void)ul_dataset_hash(pl->test); /* computed once here, before threads read the dataset */
    for (size_t i = 0; i < closure->n; i++)
        if (strcmp(nodes[i].own.data, nodes[0].own.data) != 0 || strcmp(nodes[i].own.split, nodes[0].own.split) != 0) {
            st = ul_fail(UL_E_UNSUPPORTED, "forget: models of the closure train on different datasets ('%s', '%s')",
                         nodes[i].own.data, nodes[0].own.data);
            goto done;
        }
    if (!pl->train && (st = ul_dataset_load(nodes[0].own.data, nodes[0].own.split, &pl->train)) != UL_OK) goto done;
    (void)ul_dataset_hash(pl->train);
    if (p->nsamples && (st = ul_view_from_indices(pl->train, p->samples, p->nsamples, &pl->fsv)) != UL_OK) goto done;
    /* label requests with the default Fisher take every Fisher from per-class sums (cached) */
    pl->class_route = p->nlabels > 0 && p->fisher.estimator == UL_FISHER_SAMPLE && p->fisher.scope == UL_FISHER_LAST;

    /* R(m) for every model of the closure */
    for (size_t i = 0; i < closure->n && st == UL_OK; i++) {
        ul_name_list anc = {0};
        if ((st = ul_net_ancestors(net, closure->names[i], &anc)) != UL_OK) break;
        for (size_t r = 0; r < roots->n; r++) {
            bool hit = strcmp(roots->names[r], closure->names[i]) == 0;
            for (size_t a = 0; a < anc.n && !hit; a++) hit = strcmp(anc.names[a], roots->names[r]) == 0;
            if (hit) pl->rmap[i * roots->n + (size_t)pl->nr[i]++] = (int)r;
        }
        ul_name_list_free(&anc);
    }
done:
    if (reading) ul_net_read_end(net, reading);
    if (st != UL_OK) ul_forget_plan_free(pl);
    return st;
}

/* The wire form of a plan: a header, then roots' and closure's names, the nodes, nr and rmap. */
typedef struct plan_wire {
    char magic[8];
    int32_t K, class_route;
    uint64_t nroots, nclosure;
} plan_wire;

ul_status ul_forget_plan_pack(const ul_forget_plan *pl, void **buf, size_t *len) {
    const size_t nr = pl->roots.n, n = pl->closure.n;
    const size_t size = sizeof(plan_wire) + (nr + n) * UL_NET_NAME_MAX + n * sizeof(ul_node) + n * sizeof(int) +
                        n * nr * sizeof(int);
    unsigned char *b = ul_malloc(size, 1);
    if (!b) return UL_E_NOMEM;
    plan_wire h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, "ulplan1", 8);
    h.K = pl->K;
    h.class_route = pl->class_route;
    h.nroots = nr;
    h.nclosure = n;
    size_t at = 0;
#define PUT(src, bytes) (memcpy(b + at, (src), (bytes)), at += (bytes))
    PUT(&h, sizeof h);
    if (nr) PUT(pl->roots.names, nr * UL_NET_NAME_MAX);
    if (n) {
        PUT(pl->closure.names, n * UL_NET_NAME_MAX);
        PUT(pl->nodes, n * sizeof(ul_node));
        PUT(pl->nr, n * sizeof(int));
    }
    if (n > 0 && nr > 0) PUT(pl->rmap, n * nr * sizeof(int));
#undef PUT
    *buf = b;
    *len = at;
    return UL_OK;
}

ul_status ul_forget_plan_unpack(const char *dir, const ul_forget_params *p, const void *buf, size_t len,
                                ul_forget_plan *pl) {
    memset(pl, 0, sizeof *pl);
    pl->p = p;
    pl->t_start = ul_now();
    const unsigned char *b = buf;
    plan_wire h;
    if (len < sizeof h) return ul_fail(UL_E_INTERNAL, "forget: a plan of %zu bytes is truncated", len);
    memcpy(&h, b, sizeof h);
    const size_t nr = (size_t)h.nroots, n = (size_t)h.nclosure;
    if (memcmp(h.magic, "ulplan1", 8) != 0 || n == 0 || nr > n ||
        len != sizeof h + (nr + n) * UL_NET_NAME_MAX + n * sizeof(ul_node) + n * sizeof(int) + n * nr * sizeof(int))
        return ul_fail(UL_E_INTERNAL, "forget: a plan of %zu bytes does not match its header", len);
    ul_status st = ul_net_open_store(dir, !p->dry_run, &pl->net);
    if (st != UL_OK) return st;
    pl->K = h.K;
    pl->class_route = h.class_route != 0;
    pl->roots.names = ul_calloc(nr ? nr : 1, UL_NET_NAME_MAX);
    pl->closure.names = ul_calloc(n, UL_NET_NAME_MAX);
    pl->nodes = ul_calloc(n, sizeof *pl->nodes);
    pl->res = ul_calloc(n, sizeof *pl->res);
    pl->rf = ul_calloc(nr ? nr : 1, sizeof *pl->rf);
    pl->models = ul_calloc(n, sizeof *pl->models);
    pl->nr = ul_calloc(n, sizeof(int));
    pl->rmap = ul_calloc(n > 0 && nr > 0 ? n * nr : 1, sizeof(int));
    if (!pl->roots.names || !pl->closure.names || !pl->nodes || !pl->res || !pl->rf || !pl->models || !pl->nr ||
        !pl->rmap) {
        ul_forget_plan_free(pl);
        return UL_E_NOMEM;
    }
    pl->roots.n = nr;
    pl->closure.n = n;
    size_t at = sizeof h;
#define GET(dst, bytes) (memcpy((dst), b + at, (bytes)), at += (bytes))
    if (nr) GET(pl->roots.names, nr * UL_NET_NAME_MAX);
    GET(pl->closure.names, n * UL_NET_NAME_MAX);
    GET(pl->nodes, n * sizeof(ul_node));
    GET(pl->nr, n * sizeof(int));
    if (nr > 0) GET(pl->rmap, n * nr * sizeof(int));
#undef GET
    for (size_t r = 0; r < nr; r++) snprintf(pl->rf[r].name, sizeof pl->rf[r].name, "%s", pl->roots.names[r]);
    const ul_node *n0 = &pl->nodes[0];
    if ((st = ul_dataset_load(n0->own.data, "test", &pl->test)) == UL_OK) {
        (void)ul_dataset_hash(pl->test);
        if ((st = ul_dataset_load(n0->own.data, n0->own.split, &pl->train)) == UL_OK) {
            (void)ul_dataset_hash(pl->train);
            if (p->nsamples) st = ul_view_from_indices(pl->train, p->samples, p->nsamples, &pl->fsv);
        }
    }
    if (st != UL_OK) ul_forget_plan_free(pl);
    return st;
}

bool ul_forget_uses_roots(const ul_forget_params *p) {
    return p->method == UL_FORGET_FIUN || p->method == UL_FORGET_SEQUENTIAL || p->method == UL_FORGET_GA_TRANSFER;
}

long ul_forget_root_index(const ul_forget_plan *pl, size_t r) {
    for (size_t i = 0; i < pl->closure.n; i++)
        if (strcmp(pl->closure.names[i], pl->roots.names[r]) == 0) return (long)i;
    return -1;
}

/* 1. the forget Fisher of root r, on its original weights (before any change) */
ul_status ul_forget_root_fisher(ul_forget_plan *pl, size_t r) {
    const ul_forget_params *p = pl->p;
    ul_net *net = pl->net;
    root_fisher *rf = pl->rf;
    const bool ga = p->method == UL_FORGET_GA_TRANSFER;
    const long ri = ul_forget_root_index(pl, r);
    if (ri < 0) return ul_fail(UL_E_INTERNAL, "forget: root '%s' is not in the closure", pl->roots.names[r]);
    const ul_node *rnp = &pl->nodes[ri]; /* the version the request read */
    const ul_node rn = *rnp;
    ul_model *m = NULL;
    ul_view *own = NULL, *fv = NULL;
    ul_status st;
    if ((st = ul_net_load_model(net, &rn, &m)) == UL_OK &&
        (st = ul_net_own_view(net, &rn.own, pl->train, &own)) == UL_OK &&
        (st = ul_forget_view(p, own, true, &fv)) == UL_OK) {
        const size_t P = pl->P = ul_model_num_params(m);
        if (fv->n == 0) {
            st = ul_fail(UL_E_INTERNAL, "forget: root '%s' has none of the request's data in its own", rn.name);
        } else if (!(rf[r].F = ul_malloc(P, sizeof(float)))) {
            st = UL_E_NOMEM;
        } else {
            ul_transform tf = ul_net_node_transform(&rn);
            if (ga) {
                ul_ga_params gp = ul_ga_defaults();
                double acc;
                st = ul_net_ga_root(m, own, fv, &tf, 0, &gp, rf[r].F, &rf[r].ga_steps, &acc);
                if (st == UL_OK) rf[r].ga = m, m = NULL;
                else ul_fail_ctx(st, "gradient ascent at root '%s'", rn.name);
            } else if (pl->class_route) {
                ul_fisher_classes cs;
                bool cached;
                if ((st = node_classes(net, &rn, m, pl->train, &cs, &cached)) == UL_OK)
                    st = forget_fisher_classes(&cs, p->labels, p->nlabels, P, rf[r].F);
                ul_fisher_classes_free(&cs);
                if (st != UL_OK) ul_fail_ctx(st, "forget Fisher of root '%s'", rn.name);
            } else {
                st = ul_fisher(m, fv, &tf, &p->fisher, rf[r].F);
                if (st != UL_OK) ul_fail_ctx(st, "forget Fisher of root '%s'", rn.name);
            }
        }
    }
    ul_view_free(fv);
    ul_view_free(own);
    ul_model_free(m);
    return st;
}

/* 3a. load model i and evaluate it before */
ul_status ul_forget_node_before(ul_forget_plan *pl, size_t i) {
    const ul_forget_params *p = pl->p;
    ul_forget_node *o = &pl->res[i];
    const ul_node *nd = &pl->nodes[i];
    snprintf(o->name, sizeof o->name, "%s", nd->name);
    snprintf(o->before, sizeof o->before, "%s", nd->ckpt);
    o->nroots = pl->nr[i];
    for (size_t r = 0; r < pl->roots.n; r++) o->root |= strcmp(pl->roots.names[r], nd->name) == 0;
    ul_status s = ul_net_load_model(pl->net, nd, &pl->models[i]);
    if (s != UL_OK) return s;
    int32_t fl[1024], rl[1024];
    size_t nfl = 0, nrl = 0;
    ul_net_known_split(nd, p->labels, p->nlabels, fl, &nfl, rl, &nrl);
    ul_transform tf = ul_net_node_transform(nd);
    o->forget_acc_before = pl->fsv ? acc_view(pl->models[i], pl->fsv, rl, nrl, &tf, &o->forget_test_n)
                                   : acc_on(pl->models[i], pl->test, &tf, fl, nfl, &o->forget_test_n);
    o->retain_acc_before = acc_on(pl->models[i], pl->test, &tf, rl, nrl, &o->retain_test_n);
    return UL_OK;
}

bool ul_forget_node_dampened(const ul_forget_plan *pl, size_t i) {
    const ul_forget_method m = pl->p->method;
    const bool any_fiun = m == UL_FORGET_FIUN || m == UL_FORGET_SEQUENTIAL || m == UL_FORGET_SSD_LOCAL;
    return any_fiun && !(m == UL_FORGET_SEQUENTIAL && !pl->res[i].root);
}

/* 3b. I_D (cache or compute), MFIM, dampening, writing the new version of model i */
ul_status ul_forget_node_run(ul_forget_plan *pl, size_t i, ul_forget_result *out) {
    const ul_forget_params *p = pl->p;
    ul_net *net = pl->net;
    const size_t nroots = pl->roots.n;
    const int nri = pl->nr[i];
    const double ts = ul_now();
    ul_forget_node *o = &pl->res[i];
    const ul_node *nd = &pl->nodes[i];
    ul_model *m = pl->models[i];
    const size_t P = ul_model_num_params(m);
    ul_status s = UL_OK;
    ul_view *own = NULL;
    float *ID = ul_malloc(P, sizeof(float)), *F = ul_malloc(P, sizeof(float));
    const float **Fs = ul_malloc((size_t)nri + 1, sizeof *Fs);
    float *Floc = NULL;
    float **Fsel = NULL; /* the model's per-label forget Fishers (relative and share selection) */
    double *rho = NULL;  /* each one's label's fraction of the model's own data */
    int32_t *sel_label = NULL; /* and the label itself */
    int nsel = 0;
    bool partial = false; /* its own data lacks some forget label (which it only inherited) */
    if (!ID || !F || !Fs) s = UL_E_NOMEM;
    ul_transform tf = ul_net_node_transform(nd);
    const bool ssd = p->method == UL_FORGET_SSD_LOCAL;
    bool want_local = ssd || (!o->root && p->local_fisher != UL_LOCAL_OFF);
    for (size_t k = 0; k < p->nsweep && !o->root; k++) want_local |= p->sweep[k].local != UL_LOCAL_OFF;
    if (s == UL_OK && pl->class_route) {
        ul_fisher_classes cs;
        const double tf0 = ul_now();
        if ((s = node_classes(net, nd, m, pl->train, &cs, &o->fisher_d_cached)) == UL_OK) {
            s = ul_fisher_from_class_sums(cs.sums, cs.counts, cs.K, cs.lo, cs.hi, P, NULL, 0, ID);
            if (s == UL_OK && want_local && classes_have(&cs, p->labels, p->nlabels)) {
                if (!(Floc = ul_malloc(P, sizeof(float)))) s = UL_E_NOMEM;
                else s = forget_fisher_classes(&cs, p->labels, p->nlabels, P, Floc);
                partial = !o->root && !classes_have_all(&cs, p->labels, p->nlabels);
            }
            /* relative selection: the model's own per-label forget Fishers */
            bool want_rel = p->rel > 0 || p->share > 0;
            for (size_t k = 0; k < p->nsweep; k++) want_rel |= p->sweep[k].rel > 0 || p->sweep[k].share > 0;
            if (s == UL_OK && want_rel && classes_have(&cs, p->labels, p->nlabels)) {
                int64_t total = 0;
                for (int k = 0; k < cs.K; k++) total += cs.counts[k];
                if (!(Fsel = ul_calloc(p->nlabels, sizeof *Fsel)) || !(rho = ul_calloc(p->nlabels, sizeof *rho)) ||
                    !(sel_label = ul_calloc(p->nlabels, sizeof *sel_label)))
                    s = UL_E_NOMEM;
                for (size_t q = 0; q < p->nlabels && s == UL_OK; q++) {
                    const int32_t u = p->labels[q];
                    if (u < 0 || u >= cs.K || cs.counts[u] == 0) continue;
                    if (!(Fsel[nsel] = ul_malloc(P, sizeof(float)))) s = UL_E_NOMEM;
                    else if ((s = ul_fisher_from_class_sums(cs.sums, cs.counts, cs.K, cs.lo, cs.hi, P, &u, 1,
                                                            Fsel[nsel])) == UL_OK)
                        sel_label[nsel] = u, rho[nsel++] = total > 0 ? (double)cs.counts[u] / (double)total : 0.0;
                }
            }
        }
        if (!o->fisher_d_cached) o->fisher_d_seconds = ul_now() - tf0;
        ul_fisher_classes_free(&cs);
    } else if (s == UL_OK) {
        if (nd->fisher[0] && ul_net_fisher_get(net, nd->fisher, nd->ckpt, &p->fisher, ID, P) == UL_OK) {
            o->fisher_d_cached = true;
        } else {
            const double tf0 = ul_now();
            if ((s = ul_net_own_view(net, &nd->own, pl->train, &own)) == UL_OK) s = ul_fisher(m, own, &tf, &p->fisher, ID);
            o->fisher_d_seconds = ul_now() - tf0;
        }
    }
    if (s == UL_OK)
        for (int j = 0; j < nri; j++) Fs[j] = pl->rf[pl->rmap[i * nroots + (size_t)j]].F;
    if (s == UL_OK && want_local && !pl->class_route) {
        /* its own forget samples, when it trained on forget data itself */
        ul_view *fv = NULL;
        if (!own) s = ul_net_own_view(net, &nd->own, pl->train, &own);
        if (s == UL_OK) s = ul_forget_view(p, own, true, &fv);
        if (s == UL_OK && fv->n > 0) {
            if (!(Floc = ul_malloc(P, sizeof(float)))) s = UL_E_NOMEM;
            else s = ul_fisher(m, fv, &tf, &p->fisher, Floc);
        }
        ul_view_free(fv);
    }
    if (s == UL_OK && p->nsweep)
        s = sweep_node(m, nd, pl->test, pl->fsv, p, ID, Fs, nri, Floc, (const float *const *)Fsel, rho, sel_label, nsel, partial, P,
                       out->sweep_forget + i,
                       out->sweep_retain + i, out->sweep_selected + i, pl->closure.n);
    if (s == UL_OK) {
        ul_local_fisher lm = ssd ? UL_LOCAL_ONLY : o->root ? UL_LOCAL_OFF : p->local_fisher;
        /* a model that trained on some forget labels itself and only inherited the others: its own
         * Fisher for the first, the roots' for the rest (merge instead of only) */
        if (!ssd && lm == UL_LOCAL_ONLY && partial) lm = UL_LOCAL_MERGE;
        o->local = Floc && lm != UL_LOCAL_OFF;
        if ((s = node_forget_fisher(ssd, lm, Fs, nri, Floc, P, p->mfim_c, F)) == UL_OK) {
            ul_dampen_params dp = ul_dampen_defaults(p->alpha);
            dp.lambda = p->lambda;
            dp.exponent = p->exponent;
            o->selected = dampen_node(m, ul_model_params(m), ID, F, P, p->id_floor, p->units, p->rel, p->share,
                                      (const float *const *)Fsel, rho, sel_label, nsel,
                                      partial && !ssd && p->local_fisher == UL_LOCAL_ONLY, &dp);
            int bad_t = -1;
            if (o->selected == (size_t)-1) {
                s = UL_E_NOMEM;
            } else if (ul_model_find_nonfinite(m, &bad_t) >= 0) {
                s = ul_fail(UL_E_NUMERIC, "dampening produced a non-finite value in tensor '%s'",
                            bad_t >= 0 ? ul_model_tensor(m, bad_t)->name : "?");
#pragma omp atomic write
                out->fault = UL_FORGET_FAULT_RESULT;
            } else {
                s = put_version(net, nd, m, p->method, p->dry_run, o->after);
            }
        }
    }
    o->seconds = ul_now() - ts;
    free(ID);
    free(F);
    free(Fs);
    free(Floc);
    if (Fsel)
        for (size_t q = 0; q < p->nlabels; q++) free(Fsel[q]);
    free(Fsel);
    free(rho);
    free(sel_label);
    ul_view_free(own);
    return s;
}

/* 3c. evaluate model i after */
void ul_forget_node_after(ul_forget_plan *pl, size_t i) {
    const ul_forget_params *p = pl->p;
    ul_forget_node *o = &pl->res[i];
    int32_t fl[1024], rl[1024];
    size_t nfl = 0, nrl = 0;
    ul_net_known_split(&pl->nodes[i], p->labels, p->nlabels, fl, &nfl, rl, &nrl);
    ul_transform tf = ul_net_node_transform(&pl->nodes[i]);
    o->forget_acc_after = pl->fsv ? acc_view(pl->models[i], pl->fsv, rl, nrl, &tf, &o->forget_test_n)
                                  : acc_on(pl->models[i], pl->test, &tf, fl, nfl, &o->forget_test_n);
    o->retain_acc_after = acc_on(pl->models[i], pl->test, &tf, rl, nrl, &o->retain_test_n);
}

/* 4. the receipt and one transaction */
ul_status ul_forget_plan_commit(ul_forget_plan *pl, int threads, int ranks, ul_forget_result *out) {
    const ul_forget_params *p = pl->p;
    const ul_forget_node *res = pl->res;
    const ul_node *nodes = pl->nodes;
    const size_t n = pl->closure.n;
    ul_status st = UL_OK;
    ul_net_txn *txn = NULL;
    cJSON *rec = cJSON_CreateObject();
    cJSON *req = cJSON_AddObjectToObject(rec, "request");
    if (p->nsamples) {
        char idhex[65];
        if ((st = put_ids(pl->net, p->samples, p->nsamples, p->dry_run, idhex)) != UL_OK) {
            cJSON_Delete(rec);
            return st;
        }
        cJSON *js = cJSON_AddObjectToObject(req, "samples");
        cJSON_AddNumberToObject(js, "count", (double)p->nsamples);
        cJSON_AddStringToObject(js, "ids", idhex);
        cJSON_AddStringToObject(js, "split", nodes[0].own.split);
    } else {
        cJSON *lab = cJSON_AddArrayToObject(req, "labels");
        for (size_t i = 0; i < p->nlabels; i++) cJSON_AddItemToArray(lab, cJSON_CreateNumber(p->labels[i]));
    }
    cJSON_AddStringToObject(rec, "method", ul_forget_method_name(p->method));
    cJSON *par = cJSON_AddObjectToObject(rec, "parameters");
    cJSON_AddNumberToObject(par, "alpha", p->alpha);
    cJSON_AddNumberToObject(par, "lambda", p->lambda);
    cJSON_AddNumberToObject(par, "exponent", p->exponent);
    cJSON_AddNumberToObject(par, "id_floor", p->id_floor);
    cJSON_AddStringToObject(par, "granularity", p->units ? "unit" : "element");
    cJSON_AddNumberToObject(par, "select_rel", p->rel);
    cJSON_AddNumberToObject(par, "select_share", p->share);
    cJSON_AddNumberToObject(par, "mfim_c", p->mfim_c);
    cJSON_AddStringToObject(par, "estimator", ul_fisher_estimator_name(p->fisher.estimator));
    cJSON_AddStringToObject(par, "scope", ul_fisher_scope_name(p->fisher.scope));
    cJSON_AddStringToObject(par, "local_fisher", ul_local_fisher_name(p->local_fisher));
    cJSON_AddNumberToObject(par, "threads", threads);
    if (ranks > 0) cJSON_AddNumberToObject(par, "ranks", ranks);
    cJSON *jr = cJSON_AddArrayToObject(rec, "roots");
    for (size_t r = 0; r < pl->roots.n; r++) cJSON_AddItemToArray(jr, cJSON_CreateString(pl->roots.names[r]));
    cJSON *ja = cJSON_AddArrayToObject(rec, "affected");
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", res[i].name);
        cJSON_AddBoolToObject(o, "root", res[i].root);
        cJSON_AddNumberToObject(o, "roots_merged", res[i].nroots);
        cJSON_AddBoolToObject(o, "local_fisher", res[i].local);
        cJSON_AddStringToObject(o, "before", res[i].before);
        cJSON_AddStringToObject(o, "after", res[i].after);
        cJSON_AddNumberToObject(o, "forget_acc_before", res[i].forget_acc_before);
        cJSON_AddNumberToObject(o, "forget_acc_after", res[i].forget_acc_after);
        cJSON_AddNumberToObject(o, "retain_acc_before", res[i].retain_acc_before);
        cJSON_AddNumberToObject(o, "retain_acc_after", res[i].retain_acc_after);
        cJSON_AddNumberToObject(o, "selected", (double)res[i].selected);
        cJSON_AddBoolToObject(o, "fisher_d_cached", res[i].fisher_d_cached);
        cJSON_AddNumberToObject(o, "seconds", res[i].seconds);
        cJSON_AddItemToArray(ja, o);
    }
    cJSON *tm = cJSON_AddObjectToObject(rec, "timings");
    cJSON_AddNumberToObject(tm, "roots_fisher_seconds", out->roots_seconds);
    cJSON_AddNumberToObject(tm, "makespan_seconds", out->makespan_seconds);
    cJSON_AddNumberToObject(tm, "sum_seconds", out->sum_seconds);
    cJSON_AddStringToObject(rec, "tool_version", UL_VERSION_STRING);
#ifdef UL_GIT_COMMIT
    cJSON_AddStringToObject(rec, "git_commit", UL_GIT_COMMIT);
#endif
    /* the edges into the affected models, as they were when the request ran (for reports) */
    cJSON *je = cJSON_AddArrayToObject(rec, "edges");
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < nodes[i].nparents; k++) {
            cJSON *e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "parent", nodes[i].parents[k]);
            cJSON_AddStringToObject(e, "child", nodes[i].name);
            cJSON_AddStringToObject(e, "type", ul_edge_name(nodes[i].edge));
            cJSON_AddItemToArray(je, e);
        }
    char *req_json = cJSON_PrintUnformatted(req);
    if (!p->dry_run) {
        if ((st = ul_net_begin(pl->net, "forget", req_json ? req_json : "{}", &txn)) == UL_OK) {
            for (size_t i = 0; i < n && st == UL_OK; i++)
                st = ul_net_txn_replace_from(txn, res[i].name, nodes[i].id, res[i].after, NULL,
                                             res[i].retain_acc_after < 0 ? -1.0 : res[i].retain_acc_after / 100.0,
                                             &pl->res[i].new_version);
            out->total_seconds = ul_now() - pl->t_start;
            cJSON_AddNumberToObject(tm, "total_seconds", out->total_seconds);
            char *rj = cJSON_PrintUnformatted(rec);
            if (st == UL_OK) st = ul_net_commit(txn, rj ? rj : "{}", &out->request_id);
            else ul_net_abort(txn);
            txn = NULL;
            free(rj);
        }
    } else {
        out->total_seconds = ul_now() - pl->t_start;
        cJSON_AddNumberToObject(tm, "total_seconds", out->total_seconds);
    }
    free(req_json);
    if (st == UL_OK) {
        cJSON_AddNumberToObject(rec, "request_id", (double)out->request_id);
        out->receipt = cJSON_Print(rec);
        out->nodes = pl->res;
        out->n = n;
        pl->res = NULL;
    }
    cJSON_Delete(rec);
    return st;
}

ul_status ul_forget(const char *dir, const ul_forget_params *p, ul_forget_result *out) {
    ul_forget_plan pl;
    ul_status st = ul_forget_plan_open(dir, p, &pl, out);
    if (st != UL_OK) return st;
    ul_net *net = pl.net;
    const ul_name_list *roots = &pl.roots, *closure = &pl.closure;
    ul_node *nodes = pl.nodes;
    ul_forget_node *res = pl.res;
    root_fisher *rf = pl.rf;
    ul_model **models = pl.models;
    const int *nr = pl.nr, *rmap = pl.rmap;
    ul_dataset *train = pl.train;

    /* 1. forget Fishers at the roots, on their original weights (before any change) */
    double t0 = ul_now();
    const bool ga = p->method == UL_FORGET_GA_TRANSFER;
    for (size_t r = 0; r < roots->n && ul_forget_uses_roots(p); r++)
        if ((st = ul_forget_root_fisher(&pl, r)) != UL_OK) goto done;
    out->roots_seconds = ul_now() - t0;

    /* 3. every model independently, in parallel. Evaluation (before and after) runs in phases
     * of its own so that the timed phase holds only the unlearning work. */
    char err_msg[1024] = "";
    ul_status par_st = UL_OK;
    const int threads = p->threads > 0 ? p->threads : ul_get_threads();
#define UL_PAR_FAIL(s_, name_)                                                                     \
    do {                                                                                           \
        _Pragma("omp critical(ul_forget_err)") if (par_st == UL_OK) {                              \
            par_st = (s_);                                                                         \
            snprintf(err_msg, sizeof err_msg, "model '%s': %s", (name_), ul_last_error());         \
        }                                                                                          \
    } while (0)
    /* 3a. load and evaluate before */
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long i = 0; i < (long)closure->n; i++) {
        ul_status s = ul_forget_node_before(&pl, (size_t)i);
        if (s != UL_OK) UL_PAR_FAIL(s, nodes[i].name);
    }
    if (par_st != UL_OK) {
        st = ul_fail(par_st, "forget: %s (nothing committed)", err_msg);
        goto done;
    }
    pl.P = ul_model_num_params(models[0]);
    const size_t P = pl.P;
    if (p->nsweep) {
        out->sweep_forget = ul_calloc(p->nsweep * closure->n, sizeof(double));
        out->sweep_retain = ul_calloc(p->nsweep * closure->n, sizeof(double));
        out->sweep_selected = ul_calloc(p->nsweep * closure->n, sizeof(size_t));
        if (!out->sweep_forget || !out->sweep_retain || !out->sweep_selected) {
            st = UL_E_NOMEM;
            goto done;
        }
        out->nsweep = p->nsweep;
    }
    /* 3b. the timed phase: I_D (cache or compute), MFIM, dampening, writing the new version; for
     * retrain and sequential, the re-derivation in creation order after it */
    const double t1 = ul_now();
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long i = 0; i < (long)closure->n; i++) {
        if (ga) {
            const double ts = ul_now();
            ul_status s = ga_node(net, &nodes[i], models[i], rf, rmap + (size_t)i * roots->n, nr[i], P, p->dry_run,
                                  &res[i]);
            res[i].seconds = ul_now() - ts;
            if (s != UL_OK) UL_PAR_FAIL(s, nodes[i].name);
            continue;
        }
        if (!ul_forget_node_dampened(&pl, (size_t)i)) continue;
        ul_status s = ul_forget_node_run(&pl, (size_t)i, out);
        if (s != UL_OK) UL_PAR_FAIL(s, nodes[i].name);
    }
    if (par_st == UL_OK && p->method == UL_FORGET_FINETUNE) {
        double *secs = ul_calloc(closure->n, sizeof *secs);
        if (!secs) par_st = UL_E_NOMEM;
        else if ((par_st = ul_net_finetune(net, nodes, closure->n, p, train, p->finetune_epochs, models, secs)) != UL_OK) {
            snprintf(err_msg, sizeof err_msg, "%s", ul_last_error());
            if (par_st == UL_E_NUMERIC) out->fault = UL_FORGET_FAULT_RESULT; /* fine-tuning diverged */
        }
        for (size_t i = 0; i < closure->n && par_st == UL_OK; i++) {
            res[i].seconds = secs[i];
            if ((par_st = put_version(net, &nodes[i], models[i], p->method, p->dry_run, res[i].after)) != UL_OK)
                snprintf(err_msg, sizeof err_msg, "model '%s': %s", nodes[i].name, ul_last_error());
        }
        free(secs);
    }
    if (par_st == UL_OK && (p->method == UL_FORGET_RETRAIN || p->method == UL_FORGET_SEQUENTIAL)) {
        ul_model **given = ul_calloc(closure->n, sizeof *given), **fresh = ul_calloc(closure->n, sizeof *fresh);
        double *secs = ul_calloc(closure->n, sizeof *secs);
        if (!given || !fresh || !secs) {
            par_st = UL_E_NOMEM;
        } else {
            for (size_t i = 0; i < closure->n; i++)
                if (p->method == UL_FORGET_SEQUENTIAL && res[i].root) given[i] = models[i];
            par_st = ul_net_rederive(net, nodes, closure->n, p, train, given, fresh, secs);
            if (par_st != UL_OK) snprintf(err_msg, sizeof err_msg, "%s", ul_last_error());
            if (par_st == UL_E_NUMERIC) out->fault = UL_FORGET_FAULT_RESULT; /* re-training diverged */
            for (size_t i = 0; i < closure->n && par_st == UL_OK; i++) {
                if (given[i]) {
                    ul_model_free(fresh[i]);
                    continue;
                }
                ul_model_free(models[i]);
                models[i] = fresh[i];
                res[i].seconds = secs[i];
                if ((par_st = put_version(net, &nodes[i], models[i], p->method, p->dry_run, res[i].after)) != UL_OK)
                    snprintf(err_msg, sizeof err_msg, "model '%s': %s", nodes[i].name, ul_last_error());
            }
        }
        free(given);
        free(fresh);
        free(secs);
    }
    out->makespan_seconds = ul_now() - t1;
    /* 3c. evaluate after */
    if (par_st == UL_OK) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
        for (long i = 0; i < (long)closure->n; i++) ul_forget_node_after(&pl, (size_t)i);
    }
#undef UL_PAR_FAIL
    if (par_st != UL_OK) {
        st = ul_fail(par_st, "forget: %s (nothing committed)", err_msg);
        goto done;
    }
    for (size_t i = 0; i < closure->n; i++) out->sum_seconds += res[i].seconds;

    /* 4. the receipt and one transaction */
    st = ul_forget_plan_commit(&pl, threads, 0, out);
done:
    if (st != UL_OK) {
        const ul_forget_fault fault = out->fault;
        ul_forget_result_free(out);
        out->fault = fault;
    }
    ul_forget_plan_free(&pl);
    return st;
}
