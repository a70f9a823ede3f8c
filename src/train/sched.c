/* Learning-rate schedules as closed forms of the step index: constant, cosine annealing
 * (torch CosineAnnealingLR's closed form, but held at eta_min for t >= total instead of rising
 * again), multi-step decay (torch MultiStepLR: gamma^(milestones <= t)), each optionally
 * multiplied by a linear warm-up factor (t+1)/warmup for t < warmup.
 * A pure function: it validates nothing and keeps no state (no chained/recursive forms, no
 * restarts, no plateau detection).
 */
#include "unlearn/train.h"

#include <math.h>

static const double UL_PI = 3.14159265358979323846;

double ul_sched_lr(const ul_sched *s, int64_t t) {
    if (!s) return 0.0;
    if (t < 0) t = 0;
    double lr = s->base_lr;
    switch (s->kind) {
    case UL_SCHED_COSINE:
        if (s->total > 0) {
            const int64_t tc = t < s->total ? t : s->total;
            lr = s->eta_min +
                 (s->base_lr - s->eta_min) * (1.0 + cos(UL_PI * (double)tc / (double)s->total)) / 2.0;
        }
        break;
    case UL_SCHED_MULTISTEP: {
        int nm = s->nmilestones;
        if (nm < 0) nm = 0;
        if (nm > 8) nm = 8;
        int k = 0;
        for (int i = 0; i < nm; i++)
            if (t >= s->milestones[i]) k++;
        lr = s->base_lr * pow(s->gamma, (double)k);
        break;
    }
    case UL_SCHED_CONST:
    default:
        break;
    }
    if (s->warmup > 0 && t < s->warmup) lr *= (double)(t + 1) / (double)s->warmup;
    return lr;
}
