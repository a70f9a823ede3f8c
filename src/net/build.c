/* src/net/build.c: ul_net_build, the scenario builders of `unlearn net build`.
 *
 * A scenario (scenarios.c) is a table of nodes in creation order. Each node is trained as follows:
 *  - own data: a selector = the dataset's training split, the node's label set, and shard `slot`
 *    of N of the label-filtered samples (N = the scenario's number of data owners, raised so that
 *    no shard exceeds max_samples), all shards drawn with one seed derived from the build seed;
 *  - start weights by edge: none = ul_model_create (seed derived from (seed, node index)); avg =
 *    the element-wise mean of the parents' whole parameter blocks, BN buffers included
 *    (fiun.md §1.3); continue/finetune = a copy of the parent; transfer = a copy of the parent,
 *    then only the final linear layer trains (head_only);
 *  - ul_train with ul_train_defaults() (epochs from the scenario, default 2; lr 0.01 for
 *    continue/transfer/finetune), shuffling seed derived from (seed, node index);
 *  - test accuracy on the test split restricted to the labels the node knows (learned from its
 *    own data, or inherited = the union of its parents' learned and inherited labels minus its own);
 *  - the checkpoint goes into the store (provenance includes the recipe), then one ul_net_add.
 * Parents are always read back from the store, so a resumed build trains exactly what an
 * uninterrupted one would: same seed and thread count, same checkpoint hashes.
 *
 * Resume: a model already present is kept when its architecture, edge, parents, data selector and
 * recipe (minus "parent_versions", which follow later unlearning) equal what this build would
 * make; anything else present under that name is an error naming the model and the field.
 * The steps (make a model apart from registering it) are exposed in build_internal.h for the MPI
 * driver in src/dist/, which makes models on several ranks and registers them here in creation order.
 */
#include "unlearn/data.h"
#include "unlearn/train.h"
#include "unlearn/forget.h"
#include "unlearn/net.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

#include "net/build_internal.h"
#include "net/net_internal.h"
#include "net/scenarios.h"

enum { SEED_INIT = 1, SEED_TRAIN = 2, SEED_SHARD = 3 };

/* A seed derived from (build seed, node index, purpose); below 2^53 so JSON keeps it exact. */
static uint64_t derive_seed(uint64_t seed, uint64_t node, uint64_t purpose) {
    ul_rng r;
    ul_rng_seed2(&r, seed, node * 16 + purpose);
    return ul_rng_u64(&r) >> 11;
}


typedef struct build_ctx {
    const ul_build_params *p;
    ul_net *net;
    ul_dataset *train, *test;
    ul_view *train_all, *test_all;
    int K;
    ul_arch_params ap;
    char spec[128];        /* canonical */
    ul_transform tf;       /* normalisation shared by every node */
    uint64_t shard_seed;
    const ul_scenario *sc;
    bool *in;              /* scratch: K flags */
    ul_node *rows;         /* a helper's registry rows (store-only handle): from ul_build_run_set_rows */
    size_t nrows;
    bool helper;
} build_ctx;

/* The current version of a model: from the registry, or a helper's row table. */
static ul_status get_row(const build_ctx *c, const char *name, ul_node *out) {
    if (!c->helper) return ul_net_get(c->net, name, out);
    for (size_t k = 0; k < c->nrows; k++)
        if (strcmp(c->rows[k].name, name) == 0) {
            *out = c->rows[k];
            return UL_OK;
        }
    return ul_fail(UL_E_NOTFOUND, "network '%s': no model named '%s'", ul_net_dir(c->net), name);
}

/* The "normalize" value of recipes and provenance: {"mean":[..],"std":[..]} or null. */
static cJSON *normalize_json(const ul_transform *tf) {
    if (tf->nchan == 0) return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject(), *m = cJSON_AddArrayToObject(o, "mean"), *s = cJSON_AddArrayToObject(o, "std");
    for (int i = 0; i < tf->nchan; i++) {
        cJSON_AddItemToArray(m, cJSON_CreateNumber(ul_float_shortest(tf->mean[i])));
        cJSON_AddItemToArray(s, cJSON_CreateNumber(ul_float_shortest(tf->std[i])));
    }
    return o;
}

/* Canonical text of the labels flagged in in[0..K). */
static ul_status labels_text(const build_ctx *c, const bool *in, char *buf, size_t cap) {
    int32_t *l = ul_malloc((size_t)c->K, sizeof *l);
    if (!l) return UL_E_NOMEM;
    size_t n = 0;
    for (int i = 0; i < c->K; i++)
        if (in[i]) l[n++] = i;
    bool ok = ul_net_format_labels(l, n, buf, cap);
    free(l);
    return ok ? UL_OK : ul_fail(UL_E_ARG, "label set too long for the registry (%zu labels)", n);
}

/* Parse a canonical label text into flags (added to in[]). */
static ul_status labels_or(const build_ctx *c, const char *text, bool *in) {
    int32_t *l = NULL;
    size_t n = 0;
    ul_status st = ul_net_parse_labels(text, c->K, &l, &n);
    if (st != UL_OK) return st;
    for (size_t i = 0; i < n; i++) in[l[i]] = true;
    free(l);
    return UL_OK;
}

/* The optimizer and schedule of a config as JSON (same keys as `unlearn train`'s provenance). */
static void add_recipe_optim(cJSON *j, const ul_train_config *cfg) {
    cJSON *o = cJSON_AddObjectToObject(j, "optimizer");
    cJSON_AddStringToObject(o, "name", cfg->optim.kind == UL_OPT_ADAMW ? "adamw" : "sgd");
    cJSON_AddNumberToObject(o, "lr", cfg->optim.lr);
    cJSON_AddNumberToObject(o, "momentum", cfg->optim.momentum);
    cJSON_AddNumberToObject(o, "dampening", cfg->optim.dampening);
    cJSON_AddBoolToObject(o, "nesterov", cfg->optim.nesterov);
    cJSON_AddNumberToObject(o, "weight_decay", cfg->optim.weight_decay);
    cJSON *s = cJSON_AddObjectToObject(j, "schedule");
    cJSON_AddStringToObject(s, "name", cfg->sched == UL_SCHED_COSINE ? "cosine" : cfg->sched == UL_SCHED_MULTISTEP ? "multistep" : "const");
    cJSON_AddStringToObject(s, "step", "iteration");
    cJSON_AddNumberToObject(s, "eta_min", cfg->eta_min);
}

static const char *init_name(ul_edge_type e) {
    return e == UL_EDGE_NONE ? "scratch" : e == UL_EDGE_AVG ? "mean" : "copy";
}

/* The recipe of node i (see docs/net.md). */
static cJSON *make_recipe(const build_ctx *c, int i, const ul_node *parents, const ul_train_config *cfg,
                          uint64_t init_seed, size_t samples) {
    const ul_scen_node *sn = &c->sc->nodes[i];
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "scenario", c->sc->name);
    cJSON_AddStringToObject(j, "edge", ul_edge_name(sn->edge));
    cJSON *pa = cJSON_AddArrayToObject(j, "parents"), *pv = cJSON_AddArrayToObject(j, "parent_versions");
    for (int k = 0; k < sn->nparents; k++) {
        cJSON_AddItemToArray(pa, cJSON_CreateString(parents[k].name));
        cJSON_AddItemToArray(pv, cJSON_CreateNumber((double)parents[k].id));
    }
    cJSON_AddStringToObject(j, "init", init_name(sn->edge));
    if (sn->edge == UL_EDGE_NONE) cJSON_AddNumberToObject(j, "init_seed", (double)init_seed);
    add_recipe_optim(j, cfg);
    cJSON_AddNumberToObject(j, "epochs", cfg->epochs);
    cJSON_AddNumberToObject(j, "batch", cfg->batch_size);
    cJSON_AddNumberToObject(j, "clip_norm", cfg->clip_norm);
    cJSON_AddNumberToObject(j, "seed", (double)cfg->seed);
    cJSON_AddBoolToObject(j, "head_only", cfg->head_only);
    cJSON_AddBoolToObject(j, "augment", false);
    cJSON_AddItemToObject(j, "normalize", normalize_json(&c->tf));
    cJSON_AddNumberToObject(j, "max_samples", (double)c->p->max_samples);
    cJSON_AddNumberToObject(j, "samples", (double)samples);
    return j;
}

/* The first top-level key where two recipes differ (parent_versions ignored), or NULL. */
static const char *recipe_diff(const cJSON *a, const cJSON *b) {
    const cJSON *x;
    cJSON_ArrayForEach(x, a) {
        if (strcmp(x->string, "parent_versions") == 0) continue;
        const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
        if (!y || !cJSON_Compare(x, y, true)) return x->string;
    }
    cJSON_ArrayForEach(x, b) {
        if (strcmp(x->string, "parent_versions") == 0) continue;
        if (!cJSON_GetObjectItemCaseSensitive(a, x->string)) return x->string;
    }
    return NULL;
}

/* Why an existing model differs from what this build would make, or NULL when it is the same. */
static const char *existing_diff(const ul_node *old, const ul_node *want, const cJSON *recipe, char *buf, size_t cap) {
    if (!ul_net_same_arch(old->arch, &old->ap, want->arch, &want->ap)) {
        snprintf(buf, cap, "architecture %s, this build uses %s", old->arch, want->arch);
        return buf;
    }
    if (old->edge != want->edge) {
        snprintf(buf, cap, "edge %s, this build uses %s", ul_edge_name(old->edge), ul_edge_name(want->edge));
        return buf;
    }
    bool same_parents = old->nparents == want->nparents;
    for (int k = 0; same_parents && k < want->nparents; k++) same_parents = strcmp(old->parents[k], want->parents[k]) == 0;
    if (!same_parents) {
        snprintf(buf, cap, "other parents");
        return buf;
    }
    const ul_data_selector *a = &old->own, *b = &want->own;
    if (strcmp(a->data, b->data) || strcmp(a->split, b->split) || strcmp(a->labels, b->labels) || a->shard != b->shard ||
        a->nshards != b->nshards || a->shard_seed != b->shard_seed || strcmp(a->exclude, b->exclude)) {
        snprintf(buf, cap, "own data %s/%s labels %s shard %d/%d, this build uses %s/%s labels %s shard %d/%d", a->data,
                 a->split, a->labels, a->shard, a->nshards, b->data, b->split, b->labels, b->shard, b->nshards);
        return buf;
    }
    cJSON *o = cJSON_Parse(old->recipe);
    if (!o) {
        snprintf(buf, cap, "a recipe that is not JSON");
        return buf;
    }
    const char *k = recipe_diff(o, recipe);
    if (k) {
        const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k), *y = cJSON_GetObjectItemCaseSensitive(recipe, k);
        char *xs = x ? cJSON_PrintUnformatted(x) : NULL, *ys = y ? cJSON_PrintUnformatted(y) : NULL;
        snprintf(buf, cap, "recipe \"%s\": %s, this build uses %s", k, xs ? xs : "(absent)", ys ? ys : "(absent)");
        free(xs);
        free(ys);
    }
    cJSON_Delete(o);
    return k ? buf : NULL;
}

/* The node's full-data diagonal Fisher (fiun.md decision 5: I_D on the node's own training data,
 * forget labels included), computed once when the node is created with the default estimator
 * (per-sample, last layer) and cached beside the checkpoint as an object of extension "fisher",
 * together with its per-class sums (from which it is derived), so that a label request finds its
 * forget Fishers there too.
 * Requests with other Fisher settings recompute it (forget.c). */
static ul_status node_fisher(build_ctx *c, ul_model *m, const ul_view *own, const char *ckpt, char fisher[65]) {
    const ul_fisher_params fp = ul_fisher_defaults(UL_FISHER_SAMPLE);
    const size_t P = ul_model_num_params(m);
    float *F = ul_malloc(P, sizeof(float));
    if (!F) return UL_E_NOMEM;
    ul_fisher_classes cs;
    ul_status st = ul_net_fisher_classes_compute(m, own, &c->tf, &cs);
    if (st == UL_OK) st = ul_fisher_from_class_sums(cs.sums, cs.counts, cs.K, cs.lo, cs.hi, P, NULL, 0, F);
    if (st == UL_OK) st = ul_net_fisher_put(c->net, ckpt, &fp, F, P, &cs, fisher);
    ul_fisher_classes_free(&cs);
    free(F);
    if (st != UL_OK) fisher[0] = '\0';
    return st;
}

/* The starting weights of a node. parents: the parents' current versions. */
static ul_status start_model(build_ctx *c, int i, const ul_node *parents, uint64_t init_seed, ul_model **out) {
    const ul_scen_node *sn = &c->sc->nodes[i];
    *out = NULL;
    if (sn->edge == UL_EDGE_NONE) return ul_model_create(c->spec, &c->ap, init_seed, out);
    ul_model *m = NULL;
    ul_status st = ul_net_load_model(c->net, &parents[0], &m);
    if (st != UL_OK) return ul_fail_ctx(st, "model '%s': loading parent '%s'", sn->name, parents[0].name);
    if (sn->edge == UL_EDGE_AVG) {
        const size_t nv = ul_model_num_values(m);
        double *sum = ul_malloc(nv, sizeof *sum);
        if (!sum) {
            ul_model_free(m);
            return UL_E_NOMEM;
        }
        const float *w = ul_model_params_const(m);
        for (size_t k = 0; k < nv; k++) sum[k] = w[k];
        for (int q = 1; q < sn->nparents && st == UL_OK; q++) {
            ul_model *pm = NULL;
            st = ul_net_load_model(c->net, &parents[q], &pm);
            if (st != UL_OK) {
                st = ul_fail_ctx(st, "model '%s': loading parent '%s'", sn->name, parents[q].name);
                break;
            }
            if (ul_model_num_values(pm) != nv || strcmp(ul_model_spec(pm), ul_model_spec(m)) != 0) {
                st = ul_fail(UL_E_SHAPE, "model '%s': parents '%s' (%s) and '%s' (%s) differ in architecture", sn->name,
                             parents[0].name, ul_model_spec(m), parents[q].name, ul_model_spec(pm));
            } else {
                const float *x = ul_model_params_const(pm);
                for (size_t k = 0; k < nv; k++) sum[k] += x[k];
            }
            ul_model_free(pm);
        }
        if (st == UL_OK) {
            float *dst = ul_model_params(m);
            for (size_t k = 0; k < nv; k++) dst[k] = (float)(sum[k] / sn->nparents);
        }
        free(sum);
        if (st != UL_OK) {
            ul_model_free(m);
            return st;
        }
    }
    *out = m;
    return UL_OK;
}

typedef struct prog_wrap {
    const ul_build_params *p;
    bool have;
    ul_train_progress last;
} prog_wrap;

static void prog_cb(const ul_train_progress *tp, void *user) {
    prog_wrap *w = user;
    w->last = *tp;
    w->have = true;
    if (w->p->progress) w->p->progress(tp, w->p->progress_user);
}

static char *provenance_json(const build_ctx *c, const ul_node *node, const cJSON *recipe, size_t samples,
                             const prog_wrap *pw) {
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON_AddStringToObject(j, "tool", "unlearn");
    cJSON_AddStringToObject(j, "version", UL_VERSION_STRING);
    cJSON_AddStringToObject(j, "command", "net build");
    cJSON_AddStringToObject(j, "scenario", c->sc->name);
    cJSON_AddStringToObject(j, "model", node->name);
    cJSON_AddStringToObject(j, "arch", c->spec);
    cJSON_AddStringToObject(j, "data", ul_dataset_name(c->train));
    cJSON_AddStringToObject(j, "data_hash", ul_dataset_hash(c->train));
    cJSON_AddStringToObject(j, "split", "train");
    cJSON_AddStringToObject(j, "classes", node->own.labels);
    cJSON_AddStringToObject(j, "own_hash", node->own_hash);
    cJSON_AddNumberToObject(j, "n_train", (double)samples);
    cJSON_AddItemToObject(j, "normalize", normalize_json(&c->tf));
    if (pw->have) {
        char b[32];
        snprintf(b, sizeof b, "%.6g", pw->last.loss);
        cJSON_AddNumberToObject(j, "train_loss", strtod(b, NULL));
        snprintf(b, sizeof b, "%.6g", pw->last.acc);
        cJSON_AddNumberToObject(j, "train_acc", strtod(b, NULL));
    }
    cJSON_AddItemToObject(j, "recipe", cJSON_Duplicate(recipe, true));
    /* no wall time, thread count or git commit: equal builds must give byte-identical objects */
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return s;
}

/* The node's own data selector (labels, shard) and the label-filtered sample count. */
static ul_status node_selector(build_ctx *c, const ul_scen_node *sn, ul_data_selector *sel, size_t *filtered) {
    memset(sel, 0, sizeof *sel);
    ul_scenario_labels(sn->tenths, c->K, c->in);
    ul_status st = labels_text(c, c->in, sel->labels, sizeof sel->labels);
    if (st != UL_OK) return st;
    if (strlen(c->p->data) >= sizeof sel->data) return ul_fail(UL_E_ARG, "dataset spec '%s' is too long", c->p->data);
    snprintf(sel->data, sizeof sel->data, "%s", c->p->data);
    snprintf(sel->split, sizeof sel->split, "train");
    const int32_t *lab = ul_dataset_labels(c->train);
    size_t nf = 0, n = ul_dataset_size(c->train);
    for (size_t k = 0; k < n; k++) nf += c->in[lab[k]];
    if (nf == 0) return ul_fail(UL_E_ARG, "model '%s': no training sample carries its labels %s", sn->name, sel->labels);
    size_t ns = (size_t)c->sc->nslots;
    if (c->p->max_samples > 0 && nf > c->p->max_samples * ns) ns = (nf + c->p->max_samples - 1) / c->p->max_samples;
    if (ns > (size_t)INT32_MAX) ns = (size_t)INT32_MAX;
    if (ns > 1) {
        sel->shard = sn->slot;
        sel->nshards = (int)ns;
        sel->shard_seed = c->shard_seed;
    }
    *filtered = nf;
    return UL_OK;
}

/* Make node i: train it and store its checkpoint and Fisher cache (objects only), filling *node
 * with the registry row to add; or find it already present and identical (*kept, *node = the
 * stored row). Registering is build_add's job. */
static ul_status build_make(build_ctx *c, int i, ul_node *out, bool *kept, double *seconds) {
    const ul_scen_node *sn = &c->sc->nodes[i];
    const ul_build_params *p = c->p;
    const double t0 = ul_now();
    ul_node *parents = NULL, *node = NULL, *old = NULL;
    ul_view *own = NULL, *testv = NULL;
    ul_model *m = NULL;
    cJSON *recipe = NULL;
    char *recipe_text = NULL, *prov = NULL;
    int32_t *known = NULL;
    ul_status st = UL_OK;
    *kept = false;
    *seconds = 0.0;

    parents = ul_calloc((size_t)(sn->nparents ? sn->nparents : 1), sizeof *parents);
    node = ul_calloc(1, sizeof *node);
    old = ul_calloc(1, sizeof *old);
    known = ul_malloc((size_t)c->K, sizeof *known);
    if (!parents || !node || !old || !known) {
        st = UL_E_NOMEM;
        goto done;
    }
    for (int k = 0; k < sn->nparents; k++) {
        const char *pn = c->sc->nodes[sn->parents[k]].name;
        if ((st = get_row(c, pn, &parents[k])) != UL_OK) {
            st = ul_fail_ctx(st, "model '%s': parent '%s'", sn->name, pn);
            goto done;
        }
    }

    /* what this build makes: selector, labels, training config, recipe */
    size_t filtered = 0;
    if ((st = node_selector(c, sn, &node->own, &filtered)) != UL_OK) goto done;
    if ((st = ul_net_own_view(c->net, &node->own, c->train, &own)) != UL_OK) {
        st = ul_fail_ctx(st, "model '%s': resolving its own data", sn->name);
        goto done;
    }
    if (own->n == 0) {
        st = ul_fail(UL_E_ARG, "model '%s': its own data (labels %s, shard %d of %d) is empty; the dataset is too small for this scenario",
                     sn->name, node->own.labels, node->own.shard, node->own.nshards);
        goto done;
    }
    ul_selector_hash(own, node->own_hash);
    snprintf(node->learned, sizeof node->learned, "%s", node->own.labels);
    memset(c->in, 0, (size_t)c->K * sizeof *c->in);
    for (int k = 0; k < sn->nparents; k++) {
        if ((st = labels_or(c, parents[k].learned, c->in)) != UL_OK) goto done;
        if ((st = labels_or(c, parents[k].inherited, c->in)) != UL_OK) goto done;
    }
    bool *own_in = ul_calloc((size_t)c->K, sizeof *own_in);
    if (!own_in) {
        st = UL_E_NOMEM;
        goto done;
    }
    st = labels_or(c, node->learned, own_in);
    size_t nknown = 0;
    for (int l = 0; l < c->K; l++) {
        if (own_in[l] || c->in[l]) known[nknown++] = l;
        if (own_in[l]) c->in[l] = false; /* inherited = ancestors' labels minus own */
    }
    free(own_in);
    if (st != UL_OK || (st = labels_text(c, c->in, node->inherited, sizeof node->inherited)) != UL_OK) goto done;

    snprintf(node->name, sizeof node->name, "%s", sn->name);
    snprintf(node->arch, sizeof node->arch, "%s", c->spec);
    node->ap = c->ap;
    node->edge = sn->edge;
    node->nparents = sn->nparents;
    for (int k = 0; k < sn->nparents; k++) snprintf(node->parents[k], sizeof node->parents[k], "%s", parents[k].name);

    ul_train_config cfg = ul_train_defaults();
    cfg.epochs = p->epochs > 0 ? p->epochs : sn->epochs > 0 ? sn->epochs : 2;
    cfg.seed = derive_seed(p->seed, (uint64_t)i, SEED_TRAIN);
    cfg.transform = c->tf;
    cfg.head_only = sn->edge == UL_EDGE_TRANSFER;
    if (sn->edge == UL_EDGE_CONTINUE || sn->edge == UL_EDGE_TRANSFER || sn->edge == UL_EDGE_FINETUNE) cfg.optim.lr = 0.01;
    const uint64_t init_seed = derive_seed(p->seed, (uint64_t)i, SEED_INIT);
    recipe = make_recipe(c, i, parents, &cfg, init_seed, own->n);
    recipe_text = recipe ? cJSON_PrintUnformatted(recipe) : NULL;
    if (!recipe_text) {
        st = ul_fail(UL_E_NOMEM, "model '%s': out of memory writing its recipe", sn->name);
        goto done;
    }
    if (strlen(recipe_text) >= sizeof node->recipe) {
        st = ul_fail(UL_E_ARG, "model '%s': recipe of %zu bytes exceeds the registry's %zu", sn->name, strlen(recipe_text),
                     sizeof node->recipe - 1);
        goto done;
    }
    snprintf(node->recipe, sizeof node->recipe, "%s", recipe_text);

    /* resume: keep an identical model, refuse a different one */
    st = get_row(c, sn->name, old);
    if (st == UL_OK) {
        char why[1024];
        if (existing_diff(old, node, recipe, why, sizeof why)) {
            st = ul_fail(UL_E_ARG, "network '%s': model '%s' already exists with %s; build into a new directory",
                         ul_net_dir(c->net), sn->name, why);
            goto done;
        }
        *out = *old;
        *kept = true;
        goto done;
    }
    if (st != UL_E_NOTFOUND) goto done;
    ul_clear_error();
    st = UL_OK;

    /* train */
    if ((st = start_model(c, i, parents, init_seed, &m)) != UL_OK) goto done;
    prog_wrap pw = {.p = p};
    cfg.progress = prog_cb;
    cfg.progress_user = &pw;
    if ((st = ul_train(m, own, &cfg)) != UL_OK) {
        st = ul_fail_ctx(st, "model '%s'", sn->name);
        goto done;
    }

    /* evaluate on the test samples of the labels it knows */
    ul_eval_result er;
    if ((st = ul_view_filter_labels(c->test_all, known, nknown, true, &testv)) != UL_OK) goto done;
    if ((st = ul_evaluate(m, testv, &c->tf, 256, &er)) != UL_OK) goto done;
    node->test_acc = er.n ? (double)er.correct / (double)er.n : -1.0;
    ul_eval_result_free(&er);

    /* store: checkpoint object, Fisher cache (hook), registry row */
    if (!(prov = provenance_json(c, node, recipe, own->n, &pw))) {
        st = ul_fail(UL_E_NOMEM, "model '%s': out of memory writing its provenance", sn->name);
        goto done;
    }
    ul_ckpt_meta meta = {.class_names = NULL, .provenance = prov};
    if ((st = ul_net_put_model(c->net, m, &meta, node->ckpt)) != UL_OK) goto done;
    if ((st = node_fisher(c, m, own, node->ckpt, node->fisher)) != UL_OK) goto done;
    *out = *node;
    *seconds = ul_now() - t0;

done:
    ul_model_free(m);
    ul_view_free(own);
    ul_view_free(testv);
    cJSON_Delete(recipe);
    free(recipe_text);
    free(prov);
    free(known);
    free(parents);
    free(node);
    free(old);
    return st;
}

/* Register a made node (one ul_net_add transaction) and report it; a kept node is only reported. */
static ul_status build_add(build_ctx *c, ul_node *node, bool kept, double seconds) {
    const ul_build_params *p = c->p;
    if (kept) {
        if (p->node_done) p->node_done(node, -1.0, p->node_user);
        return UL_OK;
    }
    const double t0 = ul_now();
    ul_status st = ul_net_add(c->net, node);
    if (st == UL_OK && p->node_done) p->node_done(node, seconds + (ul_now() - t0), p->node_user);
    return st;
}

/* Normalisation shared by every node: the dataset's published constants, or mean/std of the whole
 * training split for an unknown directory (as `unlearn train` does for its training view). */
static ul_status shared_transform(build_ctx *c) {
    memset(&c->tf, 0, sizeof c->tf);
    c->tf = ul_transform_default(ul_dataset_name(c->train));
    c->tf.crop_pad = 0;
    c->tf.hflip = false;
    const int C = ul_dataset_channels(c->train);
    if (c->tf.nchan == 0 && C <= 4) {
        ul_status st = ul_view_channel_stats(c->train_all, c->tf.mean, c->tf.std);
        if (st != UL_OK) return st;
        c->tf.nchan = C;
        for (int i = 0; i < C; i++)
            if (!(c->tf.std[i] > 0.0f)) c->tf.std[i] = 1.0f;
    }
    for (int i = 0; i < c->tf.nchan; i++) {
        c->tf.mean[i] = (float)ul_float_shortest(c->tf.mean[i]);
        c->tf.std[i] = (float)ul_float_shortest(c->tf.std[i]);
    }
    return UL_OK;
}

static void log_event(ul_net *n, cJSON *j) {
    char *s = cJSON_PrintUnformatted(j);
    if (s) {
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", ul_last_error());
        if (ul_net_log(n, "build", s) != UL_OK) ul_log(UL_LOG_WARN, "net build: could not log: %s", ul_last_error());
        if (saved[0]) ul_fail(UL_E_ARG, "%s", saved); /* keep the message of the failure being logged */
        else ul_clear_error();
        free(s);
    }
    cJSON_Delete(j);
}

static cJSON *build_event(const build_ctx *c, const char *phase) {
    const ul_build_params *p = c->p;
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "phase", phase);
    cJSON_AddStringToObject(j, "scenario", c->sc->name);
    cJSON_AddStringToObject(j, "data", p->data);
    cJSON_AddStringToObject(j, "arch", c->spec);
    return j;
}

struct ul_build_run {
    build_ctx c;
    ul_scenario sc;
    ul_model *probe;
    double t0;
    int nbuilt, nkept;
    bool writer;         /* attached with ul_build_run_attach: logs the build's events */
};

ul_status ul_build_run_new(const ul_build_params *p, ul_build_run **out) {
    *out = NULL;
    if (!p || !p->scenario || !p->data || !p->arch)
        return ul_fail(UL_E_ARG, "ul_net_build: directory, scenario, data and arch are required");
    if (p->width < 0.0f || !isfinite(p->width)) return ul_fail(UL_E_ARG, "net build: width %g must be positive", (double)p->width);
    if (p->epochs < 0) return ul_fail(UL_E_ARG, "net build: epochs %d must be >= 0", p->epochs);
    ul_build_run *r = ul_calloc(1, sizeof *r);
    if (!r) return UL_E_NOMEM;
    build_ctx *c = &r->c;
    c->p = p;
    ul_status st = ul_scenario_make(p->scenario, p->depth, p->seed, &r->sc);
    if (st != UL_OK) {
        free(r);
        return st;
    }
    c->sc = &r->sc;
    r->t0 = ul_now();

    /* data, architecture, normalisation: everything checkable before touching the directory */
    if ((st = ul_dataset_load(p->data, "train", &c->train)) != UL_OK) goto done;
    if ((st = ul_dataset_load(p->data, "test", &c->test)) != UL_OK) goto done;
    c->K = ul_dataset_classes(c->train);
    if (c->K < 10) {
        st = ul_fail(UL_E_ARG, "net build: dataset '%s' has %d classes; the scenarios need at least 10 (label sets are "
                               "defined over tenths of the label range)", ul_dataset_name(c->train), c->K);
        goto done;
    }
    c->ap = (ul_arch_params){.in_c = ul_dataset_channels(c->train), .in_h = ul_dataset_height(c->train),
                             .in_w = ul_dataset_width(c->train), .classes = c->K, .width = p->width};
    if ((st = ul_model_create(p->arch, &c->ap, 0, &r->probe)) != UL_OK) {
        st = ul_fail_ctx(st, "net build: architecture '%s' for %dx%dx%d inputs and %d classes", p->arch, c->ap.in_c,
                         c->ap.in_h, c->ap.in_w, c->K);
        goto done;
    }
    snprintf(c->spec, sizeof c->spec, "%s", ul_model_spec(r->probe));
    c->ap = ul_model_arch(r->probe);
    if ((st = ul_view_all(c->train, &c->train_all)) != UL_OK || (st = ul_view_all(c->test, &c->test_all)) != UL_OK)
        goto done;
    if ((st = shared_transform(c)) != UL_OK) goto done;
    c->shard_seed = derive_seed(p->seed, 0, SEED_SHARD);
    if (!(c->in = ul_calloc((size_t)c->K, sizeof *c->in))) st = UL_E_NOMEM;
done:
    if (st != UL_OK) ul_build_run_free(r);
    else *out = r;
    return st;
}

ul_status ul_build_run_attach(ul_build_run *r, const char *dir, int ranks) {
    build_ctx *c = &r->c;
    const ul_build_params *p = c->p;
    if (!dir) return ul_fail(UL_E_ARG, "ul_net_build: directory, scenario, data and arch are required");
    /* open the network, or create it */
    char db[4200];
    struct stat sb;
    snprintf(db, sizeof db, "%s/%s", dir, UL_NET_DB);
    ul_status st;
    if (stat(db, &sb) == 0) st = ul_net_open(dir, false, &c->net); /* removes stale temporary files */
    else st = ul_net_create(dir, &c->net);
    if (st != UL_OK) return st;
    r->writer = true;
    cJSON *ev = build_event(c, "start");
    cJSON_AddNumberToObject(ev, "models", r->sc.n);
    cJSON_AddNumberToObject(ev, "depth", p->depth);
    cJSON_AddNumberToObject(ev, "epochs", p->epochs);
    cJSON_AddNumberToObject(ev, "max_samples", (double)p->max_samples);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)p->seed);
    cJSON_AddStringToObject(ev, "seed", seed);
    cJSON_AddNumberToObject(ev, "threads", ul_get_threads());
    if (ranks > 0) cJSON_AddNumberToObject(ev, "ranks", ranks);
    cJSON_AddStringToObject(ev, "version", UL_VERSION_STRING);
#ifdef UL_GIT_COMMIT
    cJSON_AddStringToObject(ev, "git_commit", UL_GIT_COMMIT);
#endif
    log_event(c->net, ev);
    return UL_OK;
}

ul_status ul_build_run_attach_store(ul_build_run *r, const char *dir) {
    ul_status st = ul_net_open_store(dir, true, &r->c.net);
    if (st == UL_OK) r->c.helper = true;
    return st;
}

ul_net *ul_build_run_net(ul_build_run *r) { return r->c.net; }

ul_status ul_build_run_set_rows(ul_build_run *r, const ul_node *rows, size_t n) {
    build_ctx *c = &r->c;
    for (size_t k = 0; k < n; k++) {
        size_t at = 0;
        while (at < c->nrows && strcmp(c->rows[at].name, rows[k].name) != 0) at++;
        if (at == c->nrows) {
            ul_node *g = realloc(c->rows, (c->nrows + 1) * sizeof *g);
            if (!g) return ul_fail(UL_E_NOMEM, "net build: out of memory for %zu registry rows", c->nrows + 1);
            c->rows = g;
            c->nrows++;
        }
        c->rows[at] = rows[k];
    }
    return UL_OK;
}

int ul_build_run_count(const ul_build_run *r) { return r->sc.n; }

int ul_build_run_parents(const ul_build_run *r, int i, int parents[UL_NET_MAX_PARENTS]) {
    const ul_scen_node *sn = &r->sc.nodes[i];
    for (int k = 0; k < sn->nparents; k++) parents[k] = sn->parents[k];
    return sn->nparents;
}

double ul_build_run_cost(ul_build_run *r, int i) {
    build_ctx *c = &r->c;
    const ul_scen_node *sn = &r->sc.nodes[i];
    ul_data_selector sel;
    size_t filtered = 0;
    if (node_selector(c, sn, &sel, &filtered) != UL_OK) {
        ul_clear_error();
        return 1.0;
    }
    const int epochs = c->p->epochs > 0 ? c->p->epochs : sn->epochs > 0 ? sn->epochs : 2;
    return 1.0 + (double)epochs * (double)filtered / (double)(sel.nshards > 0 ? sel.nshards : 1);
}

ul_status ul_build_run_make(ul_build_run *r, int i, ul_node *node, bool *kept, double *seconds) {
    return build_make(&r->c, i, node, kept, seconds);
}

ul_status ul_build_run_add(ul_build_run *r, ul_node *node, bool kept, double seconds) {
    ul_status st = build_add(&r->c, node, kept, seconds);
    if (st == UL_OK) {
        r->nbuilt += !kept;
        r->nkept += kept;
    }
    return st;
}

void ul_build_run_end(ul_build_run *r, ul_status st) {
    if (!r->writer || !r->c.net) return;
    cJSON *ev = build_event(&r->c, st == UL_OK ? "done" : "failed");
    cJSON_AddNumberToObject(ev, "built", r->nbuilt);
    cJSON_AddNumberToObject(ev, "kept", r->nkept);
    char secs[32];
    snprintf(secs, sizeof secs, "%.3f", ul_now() - r->t0);
    cJSON_AddNumberToObject(ev, "seconds", strtod(secs, NULL));
    if (st != UL_OK) cJSON_AddStringToObject(ev, "error", ul_last_error());
    log_event(r->c.net, ev);
}

void ul_build_run_free(ul_build_run *r) {
    if (!r) return;
    build_ctx *c = &r->c;
    ul_model_free(r->probe);
    ul_net_close(c->net);
    ul_view_free(c->train_all);
    ul_view_free(c->test_all);
    ul_dataset_free(c->train);
    ul_dataset_free(c->test);
    free(c->in);
    free(c->rows);
    ul_scenario_free(&r->sc);
    free(r);
}

ul_status ul_net_build(const char *dir, const ul_build_params *p) {
    if (!dir || !p || !p->scenario || !p->data || !p->arch)
        return ul_fail(UL_E_ARG, "ul_net_build: directory, scenario, data and arch are required");
    ul_build_run *r = NULL;
    ul_status st = ul_build_run_new(p, &r);
    if (st != UL_OK) return st;
    if ((st = ul_build_run_attach(r, dir, 0)) == UL_OK) {
        for (int i = 0; i < r->sc.n && st == UL_OK; i++) {
            ul_node node;
            bool kept;
            double secs;
            if ((st = ul_build_run_make(r, i, &node, &kept, &secs)) == UL_OK) st = ul_build_run_add(r, &node, kept, secs);
        }
        ul_build_run_end(r, st);
    }
    ul_build_run_free(r);
    return st;
}
