/* Seeded RNG: xoshiro256** (Blackman & Vigna 2018) seeded by splitmix64.
 * Uniform doubles use the top 53 bits; bounded integers use rejection (Lemire-free, simple
 * modulo rejection) so streams are exact and platform-independent. Not cryptographic, and
 * not CPython's Mersenne Twister (that one lives with the split code that needs it).
 */
#include "unlearn/rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void ul_rng_seed(ul_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
}

void ul_rng_seed2(ul_rng *r, uint64_t seed, uint64_t stream) {
    uint64_t x = seed ^ (0xd1b54a32d192ed03ULL * (stream + 1));
    uint64_t m = splitmix64(&x);
    ul_rng_seed(r, m ^ seed);
}

static inline uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t ul_rng_u64(ul_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t ul_rng_below(ul_rng *r, uint64_t n) {
    if (n <= 1) return 0;
    uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
    uint64_t x;
    do {
        x = ul_rng_u64(r);
    } while (x >= limit);
    return x % n;
}

double ul_rng_uniform(ul_rng *r) { return (double)(ul_rng_u64(r) >> 11) * 0x1.0p-53; }

double ul_rng_normal(ul_rng *r) {
    double u1 = ul_rng_uniform(r), u2 = ul_rng_uniform(r);
    if (u1 < 1e-300) u1 = 1e-300;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * 3.14159265358979323846 * u2);
}

void ul_rng_shuffle_i32(ul_rng *r, int32_t *idx, size_t n) {
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)ul_rng_below(r, i);
        int32_t t = idx[i - 1];
        idx[i - 1] = idx[j];
        idx[j] = t;
    }
}
