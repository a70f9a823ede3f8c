/* CPython 3.11's random module, bit-compatible: MT19937 (Matsumoto-Nishimura 2002 init_by_array,
 * as Modules/_randommodule.c), random_seed's int-to-key conversion, getrandbits,
 * Random._randbelow_with_getrandbits, random() and Random.shuffle; and the SFR-on random split
 * built on them (sfron.md 3.1: shuffle list(range(n)), forget = perm[:int(n * frac)]).
 * Deliberately not here: seeding from str/bytes (SHA-512 path), random.sample/choice/randrange,
 * NumPy's RandomState (a different seeding), and Python versions whose shuffle differs.
 */
#include "unlearn/pyrandom.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MT_M 397
#define MT_MATRIX_A 0x9908b0dfU
#define MT_UPPER 0x80000000U
#define MT_LOWER 0x7fffffffU

static void init_genrand(ul_pyrandom *r, uint32_t s) {
    uint32_t *mt = r->mt;
    mt[0] = s;
    for (int i = 1; i < UL_PYRANDOM_N; i++)
        mt[i] = 1812433253U * (mt[i - 1] ^ (mt[i - 1] >> 30)) + (uint32_t)i;
    r->mti = UL_PYRANDOM_N;
}

static void init_by_array(ul_pyrandom *r, const uint32_t *key, size_t klen) {
    uint32_t *mt = r->mt;
    init_genrand(r, 19650218U);
    size_t i = 1, j = 0;
    size_t k = UL_PYRANDOM_N > klen ? UL_PYRANDOM_N : klen;
    for (; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1664525U)) + key[j] + (uint32_t)j;
        i++;
        j++;
        if (i >= UL_PYRANDOM_N) {
            mt[0] = mt[UL_PYRANDOM_N - 1];
            i = 1;
        }
        if (j >= klen) j = 0;
    }
    for (k = UL_PYRANDOM_N - 1; k; k--) {
        mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) * 1566083941U)) - (uint32_t)i;
        i++;
        if (i >= UL_PYRANDOM_N) {
            mt[0] = mt[UL_PYRANDOM_N - 1];
            i = 1;
        }
    }
    mt[0] = 0x80000000U; /* MSB is 1, assuring a non-zero initial array */
}

void ul_pyrandom_seed_key(ul_pyrandom *r, const uint32_t *key, size_t nkey) {
    static const uint32_t zero = 0;
    if (nkey == 0 || !key) {
        key = &zero;
        nkey = 1;
    }
    init_by_array(r, key, nkey);
}

void ul_pyrandom_seed(ul_pyrandom *r, uint64_t seed) {
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    ul_pyrandom_seed_key(r, key, key[1] ? 2 : 1);
}

uint32_t ul_pyrandom_u32(ul_pyrandom *r) {
    static const uint32_t mag01[2] = {0U, MT_MATRIX_A};
    uint32_t *mt = r->mt, y;
    if (r->mti >= UL_PYRANDOM_N) {
        int kk;
        for (kk = 0; kk < UL_PYRANDOM_N - MT_M; kk++) {
            y = (mt[kk] & MT_UPPER) | (mt[kk + 1] & MT_LOWER);
            mt[kk] = mt[kk + MT_M] ^ (y >> 1) ^ mag01[y & 1U];
        }
        for (; kk < UL_PYRANDOM_N - 1; kk++) {
            y = (mt[kk] & MT_UPPER) | (mt[kk + 1] & MT_LOWER);
            mt[kk] = mt[kk + (MT_M - UL_PYRANDOM_N)] ^ (y >> 1) ^ mag01[y & 1U];
        }
        y = (mt[UL_PYRANDOM_N - 1] & MT_UPPER) | (mt[0] & MT_LOWER);
        mt[UL_PYRANDOM_N - 1] = mt[MT_M - 1] ^ (y >> 1) ^ mag01[y & 1U];
        r->mti = 0;
    }
    y = mt[r->mti++];
    y ^= (y >> 11);
    y ^= (y << 7) & 0x9d2c5680U;
    y ^= (y << 15) & 0xefc60000U;
    y ^= (y >> 18);
    return y;
}

void ul_pyrandom_getrandbits(ul_pyrandom *r, unsigned k, uint32_t *out) {
    /* CPython fills the words from least to most significant; every word consumes one output
     * and a final partial word keeps the top bits of its output. For k <= 32 this is the fast
     * path genrand_uint32() >> (32 - k). */
    for (size_t i = 0; k > 0; i++) {
        uint32_t w = ul_pyrandom_u32(r);
        if (k < 32) {
            w >>= (32 - k);
            k = 0;
        } else {
            k -= 32;
        }
        out[i] = w;
    }
}

uint64_t ul_pyrandom_bits64(ul_pyrandom *r, unsigned k) {
    if (k > 64) k = 64;
    uint32_t w[2] = {0, 0};
    ul_pyrandom_getrandbits(r, k, w);
    return (uint64_t)w[0] | ((uint64_t)w[1] << 32);
}

uint64_t ul_pyrandom_below(ul_pyrandom *r, uint64_t n) {
    if (n == 0) return 0;
    unsigned k = 0;
    for (uint64_t t = n; t; t >>= 1) k++; /* n.bit_length() */
    uint64_t v = ul_pyrandom_bits64(r, k);
    while (v >= n) v = ul_pyrandom_bits64(r, k);
    return v;
}

double ul_pyrandom_random(ul_pyrandom *r) {
    uint32_t a = ul_pyrandom_u32(r) >> 5, b = ul_pyrandom_u32(r) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

void ul_pyrandom_shuffle_i64(ul_pyrandom *r, int64_t *x, size_t n) {
    for (size_t i = n; i-- > 1;) {
        size_t j = (size_t)ul_pyrandom_below(r, (uint64_t)i + 1);
        int64_t t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

void ul_pyrandom_shuffle_i32(ul_pyrandom *r, int32_t *x, size_t n) {
    for (size_t i = n; i-- > 1;) {
        size_t j = (size_t)ul_pyrandom_below(r, (uint64_t)i + 1);
        int32_t t = x[i];
        x[i] = x[j];
        x[j] = t;
    }
}

static int cmp_i32(const void *a, const void *b) {
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

ul_status ul_forget_split_random(size_t n, double frac, uint64_t seed, ul_split_order order, int32_t **forget,
                                 size_t *nforget, int32_t **retain, size_t *nretain) {
    if (forget) *forget = NULL;
    if (retain) *retain = NULL;
    if (nforget) *nforget = 0;
    if (nretain) *nretain = 0;
    if (!isfinite(frac) || frac < 0.0 || frac > 1.0)
        return ul_fail(UL_E_ARG, "random forget split: fraction %g is not in [0, 1] (pass 0.1 for 10%%)", frac);
    if (n > (size_t)INT32_MAX)
        return ul_fail(UL_E_ARG, "random forget split: %zu samples exceed the int32 index range", n);
    if ((int)order < 0 || order >= UL_SPLIT_ORDER_COUNT)
        return ul_fail(UL_E_ARG, "random forget split: unknown order %d", (int)order);
    /* int(len * perc) in Python: the double product truncated toward zero. */
    double prod = (double)n * frac;
    size_t k = (size_t)prod;
    if (k > n) k = n;

    int32_t *perm = ul_malloc(n, sizeof *perm);
    if (!perm) return UL_E_NOMEM;
    for (size_t i = 0; i < n; i++) perm[i] = (int32_t)i;
    ul_pyrandom r;
    ul_pyrandom_seed(&r, seed);
    ul_pyrandom_shuffle_i32(&r, perm, n);

    int32_t *f = NULL, *t = NULL;
    if (forget) {
        f = ul_malloc(k, sizeof *f);
        if (!f) goto nomem;
        if (k) memcpy(f, perm, k * sizeof *f);
        if (order == UL_SPLIT_ORDER_SORTED) qsort(f, k, sizeof *f, cmp_i32);
    }
    if (retain) {
        t = ul_malloc(n - k, sizeof *t);
        if (!t) goto nomem;
        if (n - k) memcpy(t, perm + k, (n - k) * sizeof *t);
        if (order == UL_SPLIT_ORDER_SORTED) qsort(t, n - k, sizeof *t, cmp_i32);
    }
    free(perm);
    if (forget) *forget = f;
    if (retain) *retain = t;
    if (nforget) *nforget = k;
    if (nretain) *nretain = n - k;
    return UL_OK;
nomem:
    free(perm);
    free(f);
    free(t);
    return UL_E_NOMEM;
}
