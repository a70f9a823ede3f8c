/* Re-deriving models from their recipes with some labels removed from every model's own data:
 * the `retrain` baseline of a forget request (fiun.md decision 9: the exact answer), and the
 * descendants' half of `sequential`. Models are processed in creation order; a parent inside the
 * request's closure contributes its re-derived weights, one outside it its current version. The
 * starting weights follow the edge (scratch with the recorded init seed, mean of the parents,
 * copy); training follows the recipe (optimizer, schedule, epochs, batch, seed, head-only,
 * normalisation). Also the `finetune` baseline: each model trained further on its own data
 * without the forget data. The forget data is a label set or a sample-id list; selector
 * exclusions are applied. No data augmentation (the builders use none).
 */
#include "net/rederive.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static double num(const cJSON *o, const char *k, double def) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) ? x->valuedouble : def;
}

/* The training configuration a recipe records. */
static ul_status recipe_config(const ul_node *nd, cJSON *r, ul_train_config *cfg, uint64_t *init_seed) {
    *cfg = ul_train_defaults();
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(r, "optimizer");
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(r, "schedule");
    if (!cJSON_IsObject(o) || !cJSON_IsObject(s) || !cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(r, "epochs")))
        return ul_fail(UL_E_FORMAT, "model '%s': its recipe lacks optimizer, schedule or epochs: it cannot be re-derived",
                       nd->name);
    const cJSON *on = cJSON_GetObjectItemCaseSensitive(o, "name");
    cfg->optim = ul_optim_defaults(cJSON_IsString(on) && strcmp(on->valuestring, "adamw") == 0 ? UL_OPT_ADAMW : UL_OPT_SGD);
    cfg->optim.lr = num(o, "lr", cfg->optim.lr);
    cfg->optim.momentum = num(o, "momentum", cfg->optim.momentum);
    cfg->optim.dampening = num(o, "dampening", cfg->optim.dampening);
    cfg->optim.weight_decay = num(o, "weight_decay", cfg->optim.weight_decay);
    cfg->optim.nesterov = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "nesterov"));
    const cJSON *sn = cJSON_GetObjectItemCaseSensitive(s, "name");
    cfg->sched = !cJSON_IsString(sn) ? UL_SCHED_COSINE
                 : strcmp(sn->valuestring, "cosine") == 0 ? UL_SCHED_COSINE
                 : strcmp(sn->valuestring, "multistep") == 0 ? UL_SCHED_MULTISTEP
                                                             : UL_SCHED_CONST;
    cfg->eta_min = num(s, "eta_min", 0.0);
    cfg->epochs = (int)num(r, "epochs", 2);
    cfg->batch_size = (int)num(r, "batch", 128);
    cfg->clip_norm = num(r, "clip_norm", 0.0);
    cfg->seed = (uint64_t)num(r, "seed", 0);
    cfg->head_only = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(r, "head_only"));
    *init_seed = (uint64_t)num(r, "init_seed", 0);
    const cJSON *nz = cJSON_GetObjectItemCaseSensitive(r, "normalize");
    memset(&cfg->transform, 0, sizeof cfg->transform);
    if (cJSON_IsObject(nz)) {
        const cJSON *mean = cJSON_GetObjectItemCaseSensitive(nz, "mean"), *sd = cJSON_GetObjectItemCaseSensitive(nz, "std");
        int n = cJSON_GetArraySize(mean);
        if (n < 1 || n > 4 || n != cJSON_GetArraySize(sd))
            return ul_fail(UL_E_FORMAT, "model '%s': recipe field normalize is malformed", nd->name);
        cfg->transform.nchan = n;
        for (int i = 0; i < n; i++) {
            cfg->transform.mean[i] = (float)cJSON_GetArrayItem(mean, i)->valuedouble;
            cfg->transform.std[i] = (float)cJSON_GetArrayItem(sd, i)->valuedouble;
        }
    }
    return UL_OK;
}

ul_status ul_forget_view(const ul_forget_params *fp, const ul_view *own, bool forget, ul_view **out) {
    return fp->nsamples ? ul_view_filter_ids(own, fp->samples, fp->nsamples, forget, out)
                        : ul_view_filter_labels(own, fp->labels, fp->nlabels, forget, out);
}

ul_status ul_net_rederive(ul_net *net, const ul_node *nodes, size_t n, const ul_forget_params *fp,
                          ul_dataset *train, ul_model **given, ul_model **out, double *seconds) {
    ul_status st = UL_OK;
    for (size_t i = 0; i < n && st == UL_OK; i++) {
        const ul_node *nd = &nodes[i];
        const double t0 = ul_now();
        out[i] = NULL;
        if (given && given[i]) { /* already unlearned (sequential: the roots) */
            st = ul_model_clone(given[i], &out[i]);
            seconds[i] = 0.0;
            continue;
        }
        cJSON *r = cJSON_Parse(nd->recipe);
        ul_train_config cfg;
        uint64_t init_seed = 0;
        ul_model *m = NULL;
        ul_view *own = NULL, *kept = NULL;
        if (!r) st = ul_fail(UL_E_FORMAT, "model '%s': its recipe is not JSON", nd->name);
        if (st == UL_OK) st = recipe_config(nd, r, &cfg, &init_seed);
        /* starting weights */
        if (st == UL_OK && nd->nparents == 0) st = ul_model_create(nd->arch, &nd->ap, init_seed, &m);
        double *sum = NULL;
        for (int k = 0; k < nd->nparents && st == UL_OK; k++) {
            ul_model *pm = NULL;
            const ul_model *src = NULL;
            for (size_t j = 0; j < i; j++)
                if (strcmp(nodes[j].name, nd->parents[k]) == 0) src = out[j];
            if (!src) {
                ul_node pn;
                if ((st = ul_net_get(net, nd->parents[k], &pn)) == UL_OK) st = ul_net_load_model(net, &pn, &pm);
                src = pm;
            }
            if (st == UL_OK && k == 0) st = ul_model_clone(src, &m);
            if (st == UL_OK && nd->edge == UL_EDGE_AVG) {
                const size_t nv = ul_model_num_values(m);
                if (!sum && !(sum = ul_calloc(nv, sizeof *sum))) st = UL_E_NOMEM;
                else if (ul_model_num_values(src) != nv)
                    st = ul_fail(UL_E_SHAPE, "model '%s': parents differ in size", nd->name);
                else
                    for (size_t q = 0; q < nv; q++) sum[q] += ul_model_params_const(src)[q];
            }
            ul_model_free(pm);
        }
        if (st == UL_OK && sum) {
            float *dst = ul_model_params(m);
            for (size_t q = 0; q < ul_model_num_values(m); q++) dst[q] = (float)(sum[q] / nd->nparents);
        }
        free(sum);
        /* training on its own data without the forget labels */
        if (st == UL_OK) st = ul_net_own_view(net, &nd->own, train, &own);
        if (st == UL_OK) st = ul_forget_view(fp, own, false, &kept);
        if (st == UL_OK && kept->n > 0) st = ul_train(m, kept, &cfg);
        if (st != UL_OK) ul_fail_ctx(st, "re-deriving model '%s'", nd->name);
        ul_view_free(kept);
        ul_view_free(own);
        cJSON_Delete(r);
        if (st == UL_OK) out[i] = m;
        else ul_model_free(m);
        seconds[i] = ul_now() - t0;
    }
    if (st != UL_OK)
        for (size_t i = 0; i < n; i++) {
            ul_model_free(out[i]);
            out[i] = NULL;
        }
    return st;
}

ul_status ul_net_finetune(ul_net *net, const ul_node *nodes, size_t n, const ul_forget_params *fp,
                          ul_dataset *train, int epochs, ul_model **models, double *seconds) {
    ul_status st = UL_OK;
    for (size_t i = 0; i < n && st == UL_OK; i++) {
        const ul_node *nd = &nodes[i];
        const double t0 = ul_now();
        cJSON *r = cJSON_Parse(nd->recipe);
        ul_train_config cfg;
        uint64_t init_seed;
        ul_view *own = NULL, *kept = NULL;
        st = r ? recipe_config(nd, r, &cfg, &init_seed) : ul_fail(UL_E_FORMAT, "model '%s': its recipe is not JSON", nd->name);
        if (st == UL_OK) {
            cfg.epochs = epochs;
            cfg.optim.lr = 0.01;
            cfg.sched = UL_SCHED_COSINE;
            st = ul_net_own_view(net, &nd->own, train, &own);
        }
        if (st == UL_OK) st = ul_forget_view(fp, own, false, &kept);
        if (st == UL_OK && kept->n > 0 && epochs > 0) st = ul_train(models[i], kept, &cfg);
        if (st != UL_OK) ul_fail_ctx(st, "fine-tuning model '%s'", nd->name);
        ul_view_free(kept);
        ul_view_free(own);
        cJSON_Delete(r);
        seconds[i] = ul_now() - t0;
    }
    return st;
}
