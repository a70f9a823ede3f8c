/* The SFR-on evaluation protocol for one model or one method (spec sfron.md §3, decision 4):
 * predictions on D_f, D_r and the test set, FA/UA/RA/TA, mia_entropy_lr, mia_svc_confidence,
 * KL/JS to the retrained model on D_f, and the Avg. Gap; ul_protocol_run clones the original and
 * times ul_unlearn alone (evaluation excluded). It computes nothing of its own beyond routing:
 * every formula lives in src/eval/. Deliberately no training of originals or oracles, no caching
 * and no aggregation over seeds (the bench driver's job), and no model selection.
 */
#include "unlearn/protocol.h"

#include <math.h>
#include <string.h>

static ul_status check_task(const ul_model *m, const ul_protocol_task *t) {
    if (!t || !m) return ul_fail(UL_E_ARG, "protocol: NULL task or model");
    if (!t->forget || !t->retain || !t->test) return ul_fail(UL_E_ARG, "protocol: the task lacks a forget, retain or test view");
    if (t->forget->n == 0) return ul_fail(UL_E_ARG, "protocol: the forget set is empty");
    if (t->retain->n == 0) return ul_fail(UL_E_ARG, "protocol: the retain set is empty");
    if (t->test->n == 0) return ul_fail(UL_E_ARG, "protocol: the test set is empty");
    const int K = ul_model_arch(m).classes;
    if (t->classes != K)
        return ul_fail(UL_E_SHAPE, "protocol: the task has %d classes but model '%s' has %d outputs", t->classes,
                       ul_model_spec(m), K);
    if (t->nforget_classes > 0 && !t->forget_classes) return ul_fail(UL_E_ARG, "protocol: forget classes counted but NULL");
    return UL_OK;
}

static void clear_metrics(ul_protocol_metrics *out) {
    memset(out, 0, sizeof *out);
    for (int c = 0; c < UL_PROTOCOL_MAX_CLASSES; c++) out->per_class_ta[c] = NAN;
    out->mia_entropy_lr = NAN;
    out->mia_svc_confidence = NAN;
    out->kl = NAN;
    out->js = NAN;
}

/* The evaluation proper, threads already set. */
static ul_status eval_model(ul_model *m, const ul_protocol_task *t, const ul_predictions *ref_forget,
                            ul_predictions *forget_out, ul_protocol_metrics *out) {
    const double t0 = ul_now();
    ul_predictions pf, pr, pt;
    memset(&pf, 0, sizeof pf);
    memset(&pr, 0, sizeof pr);
    memset(&pt, 0, sizeof pt);
    ul_status st;
    if ((st = ul_predict(m, t->forget, &t->eval_tf, t->eval_batch, &pf)) != UL_OK) {
        ul_fail_ctx(st, "predictions on the forget set");
        goto done;
    }
    if ((st = ul_predict(m, t->retain, &t->eval_tf, t->eval_batch, &pr)) != UL_OK) {
        ul_fail_ctx(st, "predictions on the retain set");
        goto done;
    }
    if ((st = ul_predict(m, t->test, &t->eval_tf, t->eval_batch, &pt)) != UL_OK) {
        ul_fail_ctx(st, "predictions on the test set");
        goto done;
    }
    if ((st = ul_eval_accuracies(&pf, &pr, &pt, t->forget_classes, t->nforget_classes, &out->acc)) != UL_OK) goto done;
    if (t->classes <= UL_PROTOCOL_MAX_CLASSES) {
        if ((st = ul_per_class_accuracy(&pt, t->classes, out->per_class_ta)) != UL_OK) goto done;
        out->n_per_class = t->classes;
    }
    ul_mia_lr_result lr;
    if ((st = ul_mia_entropy_lr(&pr, &pf, &pt, &lr)) != UL_OK) goto done;
    out->mia_entropy_lr = lr.rate;
    if (t->svc_mia) {
        ul_mia_svc_result svc;
        if ((st = ul_mia_svc_confidence(&pr, &pf, &pt, NULL, &svc)) != UL_OK) goto done;
        out->mia_svc_confidence = svc.rate;
    }
    if (ref_forget) {
        if ((st = ul_kl_div(ref_forget, &pf, &out->kl)) != UL_OK) {
            ul_fail_ctx(st, "KL to the reference on the forget set");
            goto done;
        }
        if ((st = ul_js_div(ref_forget, &pf, &out->js)) != UL_OK) {
            ul_fail_ctx(st, "JS to the reference on the forget set");
            goto done;
        }
    }
    ul_model_hash(m, out->model_hash);
    out->eval_seconds = ul_now() - t0;
    if (forget_out) {
        *forget_out = pf;
        memset(&pf, 0, sizeof pf);
    }
done:
    ul_predictions_free(&pf);
    ul_predictions_free(&pr);
    ul_predictions_free(&pt);
    return st;
}

ul_status ul_protocol_eval(ul_model *m, const ul_protocol_task *t, const ul_predictions *ref_forget,
                           ul_predictions *forget_out, ul_protocol_metrics *out) {
    if (forget_out) memset(forget_out, 0, sizeof *forget_out);
    if (!out) return ul_fail(UL_E_ARG, "protocol: NULL output");
    clear_metrics(out);
    ul_status st = check_task(m, t);
    if (st != UL_OK) return st;
    const int prev = ul_get_threads();
    const bool set = t->threads > 0 && t->threads != prev;
    if (set) ul_set_threads(t->threads);
    ul_protocol_metrics r;
    clear_metrics(&r);
    st = eval_model(m, t, ref_forget, forget_out, &r);
    if (set) ul_set_threads(prev);
    if (st == UL_OK) *out = r;
    return st;
}

ul_status ul_protocol_run(const ul_protocol_task *t, const ul_unlearn_params *params, uint64_t seed,
                          const ul_predictions *ref_forget, ul_protocol_metrics *out, ul_model **model_out) {
    if (model_out) *model_out = NULL;
    if (!out || !params) return ul_fail(UL_E_ARG, "protocol: NULL parameters or output");
    clear_metrics(out);
    ul_status st = check_task(t ? t->original : NULL, t);
    if (st != UL_OK) return st;
    ul_model *m = NULL;
    if ((st = ul_model_clone(t->original, &m)) != UL_OK) return st;
    ul_unlearn_task ut = {.model = m, .forget = t->forget, .retain = t->retain, .transform = t->train_tf,
                          .classes = t->classes, .seed = seed, .threads = t->threads};
    ul_unlearn_result res;
    if ((st = ul_unlearn(&ut, params, &res)) != UL_OK) {
        ul_model_free(m);
        return st;
    }
    ul_protocol_metrics r;
    if ((st = ul_protocol_eval(m, t, ref_forget, NULL, &r)) != UL_OK) {
        ul_fail_ctx(st, "evaluating %s", ul_unlearn_method_name(params->method));
        ul_model_free(m);
        return st;
    }
    r.seconds = res.seconds;
    r.prep_seconds = res.prep_seconds;
    r.steps = res.steps;
    r.forget_steps = res.forget_steps;
    r.mask_kept = res.mask_kept;
    r.mask_total = res.mask_total;
    *out = r;
    if (model_out) *model_out = m;
    else ul_model_free(m);
    return UL_OK;
}

ul_status ul_protocol_gap(const ul_protocol_metrics *m, const ul_protocol_metrics *rt, double *gap) {
    if (!m || !rt || !gap) return ul_fail(UL_E_ARG, "protocol gap: NULL argument");
    const ul_gap_metrics a = {.ua = m->acc.ua, .ra = m->acc.ra, .ta = m->acc.ta, .mia = m->mia_entropy_lr};
    const ul_gap_metrics b = {.ua = rt->acc.ua, .ra = rt->acc.ra, .ta = rt->acc.ta, .mia = rt->mia_entropy_lr};
    return ul_avg_gap(&a, &b, gap);
}
