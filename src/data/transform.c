/* Normalisation constants and per-channel statistics. ul_transform_default knows the
 * published mean/std of Fashion-MNIST, MNIST, CIFAR-10 and CIFAR-100 (matched by name prefix,
 * ignoring case, '-' and '_'); any other name, including a folder path, gets no
 * normalisation. ul_view_channel_stats computes mean and population std in double precision
 * (exact integer sums for uint8). Deliberately no augmentation defaults (off for all).
 */
#include "data/data_internal.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Lowercase `s` without '-' and '_' into buf; false if it looks like a path. */
static bool squash(const char *s, char *buf, size_t cap) {
    size_t k = 0;
    for (; *s && k + 1 < cap; s++) {
        if (*s == '/') return false;
        if (*s == '-' || *s == '_') continue;
        buf[k++] = (char)tolower((unsigned char)*s);
    }
    buf[k] = '\0';
    return true;
}

static bool starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

ul_transform ul_transform_default(const char *dataset_name) {
    ul_transform t;
    memset(&t, 0, sizeof t);
    char nm[64];
    if (!dataset_name || !squash(dataset_name, nm, sizeof nm)) return t;
    if (starts(nm, "fashionmnist") || starts(nm, "fmnist")) {
        t.nchan = 1;
        t.mean[0] = 0.2860f;
        t.std[0] = 0.3530f;
    } else if (starts(nm, "mnist")) {
        t.nchan = 1;
        t.mean[0] = 0.1307f;
        t.std[0] = 0.3081f;
    } else if (starts(nm, "cifar100")) {
        static const float m[3] = {0.5071f, 0.4865f, 0.4409f}, s[3] = {0.2673f, 0.2564f, 0.2762f};
        t.nchan = 3;
        memcpy(t.mean, m, sizeof m);
        memcpy(t.std, s, sizeof s);
    } else if (starts(nm, "cifar10")) {
        static const float m[3] = {0.4914f, 0.4822f, 0.4465f}, s[3] = {0.2470f, 0.2435f, 0.2616f};
        t.nchan = 3;
        memcpy(t.mean, m, sizeof m);
        memcpy(t.std, s, sizeof s);
    }
    return t;
}

ul_status ul_view_channel_stats(const ul_view *v, float *mean, float *std) {
    if (!v || !v->ds || !mean || !std) return ul_fail(UL_E_ARG, "ul_view_channel_stats: NULL argument");
    const ul_dataset *d = v->ds;
    if (v->n == 0) return ul_fail(UL_E_ARG, "%s: channel statistics of an empty view", d->name);
    const size_t hw = (size_t)d->h * (size_t)d->w, chw = (size_t)d->c * hw;
    const double cnt = (double)v->n * (double)hw;
    for (int c = 0; c < d->c; c++) {
        double m, var;
        if (d->type == UL_PIX_U8) {
            uint64_t s1 = 0, s2 = 0; /* exact: n*hw*255^2 < 2^64 for any dataset that fits */
            for (size_t i = 0; i < v->n; i++) {
                const unsigned char *p = (const unsigned char *)d->pixels + (size_t)v->idx[i] * chw + c * hw;
                for (size_t j = 0; j < hw; j++) {
                    s1 += p[j];
                    s2 += (uint64_t)p[j] * p[j];
                }
            }
            m = (double)s1 / cnt;
            var = (double)s2 / cnt - m * m;
            m /= 255.0;
            var /= 255.0 * 255.0;
        } else {
            double s1 = 0, s2 = 0;
            for (size_t i = 0; i < v->n; i++) {
                const float *p = (const float *)d->pixels + (size_t)v->idx[i] * chw + c * hw;
                for (size_t j = 0; j < hw; j++) s1 += p[j];
            }
            m = s1 / cnt;
            for (size_t i = 0; i < v->n; i++) { /* second pass: no cancellation */
                const float *p = (const float *)d->pixels + (size_t)v->idx[i] * chw + c * hw;
                for (size_t j = 0; j < hw; j++) s2 += ((double)p[j] - m) * ((double)p[j] - m);
            }
            var = s2 / cnt;
        }
        mean[c] = (float)m;
        std[c] = (float)sqrt(var > 0 ? var : 0);
    }
    return UL_OK;
}
