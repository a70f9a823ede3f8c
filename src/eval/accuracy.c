/* Accuracy metrics of unlearning (sfron.md 3.2, decision 4): FA = top-1 % on the forget set,
 * UA = 100 - FA (SalUn's naming), RA on the retain set, TA on the full test set (SFR-on's
 * "retain_valid"), plus for class-wise forgetting TA on the test samples of the remaining
 * classes (SalUn removes the forgotten class from its test set) and on the forgotten classes.
 * Ties in the argmax go to the lowest class index (PyTorch's topk leaves them unspecified).
 * Per-class accuracy on one set (ul_per_class_accuracy) for reports of the test set.
 * Deliberately no top-5 and no confidence intervals.
 */
#include "unlearn/eval.h"

#include <math.h>
#include <stdlib.h>

static bool row_correct(const ul_predictions *p, size_t i) {
    const int k = p->classes;
    const int32_t y = p->labels[i];
    if (y < 0 || y >= k) return false;
    const float *z = (p->logits ? p->logits : p->probs) + i * (size_t)k;
    int b = 0;
    for (int j = 1; j < k; j++)
        if (z[j] > z[b]) b = j;
    return b == y;
}

static ul_status check_preds(const ul_predictions *p, const char *what) {
    if (!p) return ul_fail(UL_E_ARG, "%s: predictions are NULL", what);
    if (p->n == 0) return ul_fail(UL_E_ARG, "%s: the set is empty", what);
    if (p->classes < 1 || !p->probs || !p->labels) return ul_fail(UL_E_ARG, "%s: predictions are incomplete", what);
    return UL_OK;
}

ul_status ul_top1_accuracy(const ul_predictions *p, double *pct) {
    ul_status st = check_preds(p, "top-1 accuracy");
    if (st != UL_OK) return st;
    size_t c = 0;
    for (size_t i = 0; i < p->n; i++) c += row_correct(p, i);
    *pct = 100.0 * (double)c / (double)p->n;
    return UL_OK;
}

ul_status ul_per_class_accuracy(const ul_predictions *p, int classes, double *pct) {
    ul_status st = check_preds(p, "per-class accuracy");
    if (st != UL_OK) return st;
    if (classes < 1 || !pct) return ul_fail(UL_E_ARG, "per-class accuracy: %d classes or no output", classes);
    size_t *n = calloc((size_t)classes * 2, sizeof *n);
    if (!n) return ul_fail(UL_E_NOMEM, "per-class accuracy: out of memory");
    for (size_t i = 0; i < p->n; i++) {
        const int32_t y = p->labels[i];
        if (y < 0 || y >= classes) continue;
        n[2 * y]++;
        n[2 * y + 1] += row_correct(p, i);
    }
    for (int c = 0; c < classes; c++) pct[c] = n[2 * c] ? 100.0 * (double)n[2 * c + 1] / (double)n[2 * c] : NAN;
    free(n);
    return UL_OK;
}

static bool in_set(int32_t y, const int32_t *set, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (set[i] == y) return true;
    return false;
}

ul_status ul_eval_accuracies(const ul_predictions *forget, const ul_predictions *retain, const ul_predictions *test,
                             const int32_t *forget_classes, size_t nfc, ul_acc_metrics *out) {
    if (!out) return ul_fail(UL_E_ARG, "accuracies: out is NULL");
    if (nfc && !forget_classes) return ul_fail(UL_E_ARG, "accuracies: forget_classes is NULL");
    ul_status st;
    if ((st = check_preds(forget, "FA (forget set)")) != UL_OK) return st;
    if ((st = check_preds(retain, "RA (retain set)")) != UL_OK) return st;
    if ((st = check_preds(test, "TA (test set)")) != UL_OK) return st;
    ul_acc_metrics r = {0};
    ul_top1_accuracy(forget, &r.fa);
    r.ua = 100.0 - r.fa;
    ul_top1_accuracy(retain, &r.ra);
    ul_top1_accuracy(test, &r.ta);
    r.n_forget = forget->n;
    r.n_retain = retain->n;
    r.n_test = test->n;
    r.ta_remain = NAN;
    r.ta_forget = NAN;
    r.n_test_remain = test->n;
    if (nfc) {
        size_t nr = 0, cr = 0, nf = 0, cf = 0;
        for (size_t i = 0; i < test->n; i++) {
            bool ok = row_correct(test, i);
            if (in_set(test->labels[i], forget_classes, nfc)) {
                nf++;
                cf += ok;
            } else {
                nr++;
                cr += ok;
            }
        }
        if (nr == 0)
            return ul_fail(UL_E_ARG, "TA (remaining classes): all %zu test samples belong to the %zu forgotten "
                                     "class(es)", test->n, nfc);
        r.ta_remain = 100.0 * (double)cr / (double)nr;
        if (nf) r.ta_forget = 100.0 * (double)cf / (double)nf;
        r.n_test_remain = nr;
    }
    *out = r;
    return UL_OK;
}
