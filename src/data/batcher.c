/* Mini-batch iterator over a view: per epoch an optional fresh shuffle (ul_rng_seed2(seed,
 * epoch)), then per sample: uint8*scale or float32 -> float, random crop with zero padding
 * (offsets dy, dx uniform in [0, 2*pad]), horizontal flip (p = 0.5), per-channel
 * (x - mean) / std. Each sample's random draws come from its own stream keyed by
 * (seed, epoch, position in epoch), so batches are identical for any OpenMP thread count.
 * Deliberately never copies the dataset, and no other augmentations (no colour jitter).
 */
#include "data/data_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define AUG_SEED_XOR 0xA5A5A5A5A5A5A5A5ULL
#define PAR_MIN_VALUES 32768 /* fill in parallel from this many floats per batch */

struct ul_batcher {
    const ul_view *v;   /* borrowed */
    size_t n;           /* view size at creation */
    size_t bs;
    bool shuffle, drop_last;
    uint64_t seed;
    int crop_pad;
    bool hflip;
    int epoch;
    size_t cursor;      /* next position in the epoch */
    int32_t *order;     /* epoch order: positions in the view */
    float *a, *b;       /* per channel: x_out = a * stored + b */
};

ul_status ul_batcher_create(const ul_view *v, int bs, bool shuffle, bool drop_last, uint64_t seed,
                            const ul_transform *tf, ul_batcher **out) {
    if (!out) return ul_fail(UL_E_ARG, "ul_batcher_create: out is NULL");
    *out = NULL;
    if (!v || !v->ds) return ul_fail(UL_E_ARG, "ul_batcher_create: NULL view");
    if (bs <= 0) return ul_fail(UL_E_ARG, "ul_batcher_create: batch size %d, expected > 0", bs);
    const ul_dataset *d = v->ds;
    int nchan = tf ? tf->nchan : 0;
    if (nchan < 0 || nchan > 4 || (nchan > 1 && nchan != d->c))
        return ul_fail(UL_E_SHAPE, "%s: transform has %d normalisation channels, dataset has %d", d->name,
                       nchan, d->c);
    for (int c = 0; c < nchan; c++)
        if (!(tf->std[c] > 0) || !isfinite(tf->std[c]) || !isfinite(tf->mean[c]))
            return ul_fail(UL_E_ARG, "%s: transform channel %d has mean %g, std %g (std must be > 0)",
                           d->name, c, (double)tf->mean[c], (double)tf->std[c]);
    if (tf && (tf->crop_pad < 0 || tf->crop_pad > 4096))
        return ul_fail(UL_E_ARG, "%s: crop padding %d, expected 0..4096", d->name, tf->crop_pad);

    ul_batcher *b = ul_calloc(1, sizeof *b);
    if (!b) return UL_E_NOMEM;
    b->order = ul_malloc(v->n, sizeof *b->order);
    b->a = ul_malloc((size_t)d->c, sizeof *b->a);
    b->b = ul_malloc((size_t)d->c, sizeof *b->b);
    if (!b->order || !b->a || !b->b) {
        ul_batcher_free(b);
        return UL_E_NOMEM;
    }
    b->v = v;
    b->n = v->n;
    b->bs = (size_t)bs;
    b->shuffle = shuffle;
    b->drop_last = drop_last;
    b->seed = seed;
    b->crop_pad = tf ? tf->crop_pad : 0;
    b->hflip = tf && tf->hflip;
    const float scale = ul_dataset_scale(d);
    for (int c = 0; c < d->c; c++) {
        if (nchan == 0) {
            b->a[c] = scale;
            b->b[c] = 0.0f;
        } else {
            int k = nchan == 1 ? 0 : c;
            b->a[c] = scale / tf->std[k];
            b->b[c] = -tf->mean[k] / tf->std[k];
        }
    }
    ul_batcher_start_epoch(b, 0);
    *out = b;
    return UL_OK;
}

void ul_batcher_free(ul_batcher *b) {
    if (!b) return;
    free(b->order);
    free(b->a);
    free(b->b);
    free(b);
}

void ul_batcher_start_epoch(ul_batcher *b, int epoch) {
    if (!b) return;
    b->epoch = epoch;
    b->cursor = 0;
    for (size_t i = 0; i < b->n; i++) b->order[i] = (int32_t)i;
    if (b->shuffle) {
        ul_rng r;
        ul_rng_seed2(&r, b->seed, (uint64_t)(int64_t)epoch);
        ul_rng_shuffle_i32(&r, b->order, b->n);
    }
}

size_t ul_batcher_batches_per_epoch(const ul_batcher *b) {
    if (!b) return 0;
    return b->drop_last ? b->n / b->bs : (b->n + b->bs - 1) / b->bs;
}

static inline float load(const ul_dataset *d, size_t off) {
    return d->type == UL_PIX_U8 ? (float)((const unsigned char *)d->pixels)[off] : ((const float *)d->pixels)[off];
}

/* Fill one sample (dataset index `di`, position `p` in the epoch) into x[c*h*w]. */
static void fill_sample(const ul_batcher *b, size_t di, size_t p, float *x) {
    const ul_dataset *d = b->v->ds;
    const int C = d->c, H = d->h, W = d->w;
    const size_t hw = (size_t)H * W, base = di * (size_t)C * hw;
    int dy = 0, dx = 0;
    bool flip = false;
    if (b->crop_pad > 0 || b->hflip) {
        ul_rng r;
        ul_rng_seed2(&r, b->seed ^ AUG_SEED_XOR, (uint64_t)(int64_t)b->epoch * b->n + p);
        if (b->crop_pad > 0) {
            dy = (int)ul_rng_below(&r, 2 * (uint64_t)b->crop_pad + 1) - b->crop_pad;
            dx = (int)ul_rng_below(&r, 2 * (uint64_t)b->crop_pad + 1) - b->crop_pad;
        }
        if (b->hflip) flip = ul_rng_below(&r, 2) == 1;
    }
    for (int c = 0; c < C; c++) {
        const float a = b->a[c], off = b->b[c];
        float *o = x + (size_t)c * hw;
        const size_t cb = base + (size_t)c * hw;
        if (!dy && !dx && !flip) {
            if (d->type == UL_PIX_U8) {
                const unsigned char *s = (const unsigned char *)d->pixels + cb;
                for (size_t j = 0; j < hw; j++) o[j] = a * (float)s[j] + off;
            } else {
                const float *s = (const float *)d->pixels + cb;
                for (size_t j = 0; j < hw; j++) o[j] = a * s[j] + off;
            }
            continue;
        }
        /* Output (y, x) reads the padded image at (y + pad + dy', x' + pad + dx') with
         * x' = flip ? W-1-x : x, i.e. the original at (y + dy, x' + dx); outside is zero. */
        for (int y = 0; y < H; y++) {
            int sy = y + dy;
            for (int xx = 0; xx < W; xx++) {
                int sx = (flip ? W - 1 - xx : xx) + dx;
                float v = 0.0f;
                if (sy >= 0 && sy < H && sx >= 0 && sx < W) v = load(d, cb + (size_t)sy * W + (size_t)sx);
                o[(size_t)y * W + xx] = a * v + off;
            }
        }
    }
}

size_t ul_batcher_next(ul_batcher *b, float *x, int32_t *y, size_t *pos) {
    if (!b || !x || !y || b->cursor >= b->n) return 0;
    size_t nb = b->n - b->cursor;
    if (nb > b->bs) nb = b->bs;
    if (nb < b->bs && b->drop_last) {
        b->cursor = b->n;
        return 0;
    }
    const ul_dataset *d = b->v->ds;
    const size_t chw = (size_t)d->c * d->h * d->w, start = b->cursor;
    const bool par = nb > 1 && nb * chw >= PAR_MIN_VALUES;
    const long long cnt = (long long)nb;
#pragma omp parallel for schedule(static) if (par)
    for (long long i = 0; i < cnt; i++) {
        size_t p = start + (size_t)i, vp = (size_t)b->order[p];
        size_t di = (size_t)b->v->idx[vp];
        fill_sample(b, di, p, x + (size_t)i * chw);
        y[i] = d->labels[di];
        if (pos) pos[i] = vp;
    }
    b->cursor += nb;
    return nb;
}
