/* unlearn/pyrandom.h: CPython's `random` module, bit for bit, and the SFR-on random split.
 *
 * ul_pyrandom is the Mersenne Twister (MT19937) state of CPython 3.11's random.Random, seeded
 * exactly as `random.seed(s)` seeds it for an int s, with getrandbits, _randbelow, random()
 * and shuffle drawing the same numbers in the same order. It exists so that a forget set drawn
 * by the reference Python code (`random.seed(0); random.shuffle(list(range(n)))`) can be
 * rebuilt here without Python. For the project's own randomness use ul_rng (rng.h), which is
 * faster; this generator is for compatibility only.
 *
 * Ownership: ul_pyrandom is a plain caller-owned struct (no allocation, no global state).
 * ul_forget_split_random returns arrays the caller frees with free().
 */
#ifndef UNLEARN_PYRANDOM_H
#define UNLEARN_PYRANDOM_H

#include "unlearn/base.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UL_PYRANDOM_N 624

typedef struct ul_pyrandom {
    uint32_t mt[UL_PYRANDOM_N];
    int mti;
} ul_pyrandom;

/* random.seed(seed) for a non-negative int seed < 2^64: init_by_array with the 32-bit words of
 * the seed, least significant word first, as many words as its bit length needs (seed 0 uses
 * the key [0]). A negative Python seed s seeds as |s|, so pass its absolute value. */
void ul_pyrandom_seed(ul_pyrandom *r, uint64_t seed);

/* random.seed(s) for any non-negative int s given as its 32-bit words key[0..nkey), least
 * significant first, without leading zero words (the form CPython passes to init_by_array).
 * nkey == 0 seeds as the key [0], i.e. s = 0. */
void ul_pyrandom_seed_key(ul_pyrandom *r, const uint32_t *key, size_t nkey);

/* genrand_uint32: the next 32-bit output of the generator. */
uint32_t ul_pyrandom_u32(ul_pyrandom *r);

/* random.getrandbits(k) for any k >= 0, written as ceil(k/32) 32-bit words into out, least
 * significant word first (k = 0 writes nothing and draws nothing). Each word consumes one
 * 32-bit output; the last word keeps the top k mod 32 bits of its output, as CPython does. */
void ul_pyrandom_getrandbits(ul_pyrandom *r, unsigned k, uint32_t *out);

/* random.getrandbits(k) for 0 <= k <= 64 as an integer (k > 64 is treated as 64). */
uint64_t ul_pyrandom_bits64(ul_pyrandom *r, unsigned k);

/* Random._randbelow(n) (the getrandbits variant): k = n.bit_length(), draw getrandbits(k) until
 * the value is < n. n must be > 0; n == 0 returns 0 and draws nothing (CPython would loop
 * forever). */
uint64_t ul_pyrandom_below(ul_pyrandom *r, uint64_t n);

/* random.random(): a double in [0, 1) from two outputs, (a >> 5) * 2^26 + (b >> 6), over 2^53. */
double ul_pyrandom_random(ul_pyrandom *r);

/* random.shuffle(x) of Python 3.11 on x[0..n): for i = n-1 down to 1, j = _randbelow(i + 1),
 * swap x[i] and x[j]. */
void ul_pyrandom_shuffle_i64(ul_pyrandom *r, int64_t *x, size_t n);
void ul_pyrandom_shuffle_i32(ul_pyrandom *r, int32_t *x, size_t n);

/* ---- the SFR-on random-forgetting split (sfron.md section 3.1) ------------------------- */

typedef enum ul_split_order {
    UL_SPLIT_ORDER_CODE = 0,   /* the permutation's order, as the reference code holds the sets
                                  (SFR-on's forget/retain datasets are x[perm[:k]], x[perm[k:]]) */
    UL_SPLIT_ORDER_SORTED = 1, /* ascending dataset indices (the order of a boolean-mask split,
                                  as SalUn's retain set, whose first |test| samples its SVC MIA
                                  takes) */
    UL_SPLIT_ORDER_COUNT
} ul_split_order;

/* The random forget/retain split of n samples exactly as the official SFR-on code draws it
 * (dataset/cifar10.py RandomUnlearnCIFAR10.random_split with main_random.py's seeding):
 *     random.seed(seed); perm = list(range(n)); random.shuffle(perm)
 *     k = int(n * frac)                 # IEEE double product, truncated toward zero
 *     forget = perm[:k]; retain = perm[k:]
 * `frac` is the reference's --forget_perc as a fraction (0.1 for 10%; pass p / 100.0 for a
 * percentage p). The truncation is kept on purpose: n = 100, frac = 0.29 gives k = 28, because
 * 100 * 0.29 = 28.999999999999996 in double. The same seed gives nested forget sets for growing
 * frac (prefixes of one permutation). `order` picks the order of both outputs (see above).
 * On success *forget holds *nforget indices and *retain holds n - *nforget (either array pointer
 * may be NULL to skip that set); the caller frees them with free(). Fails with UL_E_ARG for
 * frac outside [0, 1] or not finite, n > INT32_MAX (indices are int32 like ul_view's), or a bad
 * order; UL_E_NOMEM when allocation fails. Outputs are NULL/0 on failure. */
ul_status ul_forget_split_random(size_t n, double frac, uint64_t seed, ul_split_order order,
                                 int32_t **forget, size_t *nforget, int32_t **retain, size_t *nretain);

#ifdef __cplusplus
}
#endif
#endif
